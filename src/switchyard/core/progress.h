#pragma once
// ProgressBar: one line on stderr for long work (model load, quantization, ingestion,
// evaluation). Drawn in place when stderr is a terminal; otherwise a plain line at start, each
// quarter and the end, so logs and CI output stay readable. Not thread-safe: one owner updates it.

#include <chrono>
#include <cstdint>
#include <string>

namespace switchyard {

class ProgressBar {
 public:
  // `total` is the amount of work in `unit`s (e.g. bytes, cases); 0 when only fractions are known.
  explicit ProgressBar(std::string label, std::uint64_t total = 0, std::string unit = "");
  ~ProgressBar();  // without done(): ends the line with where it stopped

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(double fraction);        // [0, 1]
  void set(std::uint64_t done_units);  // against `total`
  void done(const std::string& summary = "");

  // Forces the terminal/plain choice (tests).
  void setInteractive(bool interactive) { interactive_ = interactive; }

 private:
  void draw(double fraction);

  std::string label_;
  std::uint64_t total_;
  std::string unit_;
  bool interactive_;
  bool finished_ = false;
  int last_quarter_ = -1;
  int last_permille_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace switchyard
