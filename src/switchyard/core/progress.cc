#include "switchyard/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace switchyard {

using Clock = std::chrono::steady_clock;

ProgressBar::ProgressBar(std::string label, std::uint64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      interactive_(::isatty(STDERR_FILENO) == 1),
      start_(Clock::now()) {}

ProgressBar::~ProgressBar() {
  if (finished_ || last_permille_ < 0) return;
  // Abandoned part-way (an error, an interrupt): say where it stopped, not that it finished.
  if (interactive_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s: stopped at %d%%\n", label_.c_str(), last_permille_ / 10);
  std::fflush(stderr);
}

void ProgressBar::set(std::uint64_t done_units) {
  update(total_ == 0 ? 0.0 : static_cast<double>(done_units) / static_cast<double>(total_));
}

void ProgressBar::update(double fraction) {
  if (finished_) return;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int permille = static_cast<int>(fraction * 1000);
  if (interactive_) {
    // Redraw at most ~20 times a second, and only when the number shown changes.
    const auto now = Clock::now();
    if (permille == last_permille_ || (now - last_draw_ < std::chrono::milliseconds(50) &&
                                       last_permille_ >= 0 && permille < 1000)) {
      return;
    }
    last_draw_ = now;
  } else {
    const int quarter = permille / 250;
    if (quarter == last_quarter_) return;
    last_quarter_ = quarter;
  }
  last_permille_ = permille;
  draw(fraction);
}

void ProgressBar::done(const std::string& summary) {
  if (finished_) return;
  if (last_permille_ < 1000) draw(1.0);
  finished_ = true;
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string line = fmt::format("{}: done in {:.1f}s", label_, seconds);
  if (!summary.empty()) line += " (" + summary + ")";
  if (interactive_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void ProgressBar::draw(double fraction) {
  std::string amount;
  if (total_ > 0) {
    amount = fmt::format(" {}/{}{}", static_cast<std::uint64_t>(fraction * total_), total_,
                         unit_.empty() ? "" : " " + unit_);
  }
  if (interactive_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.append(kWidth - filled, ' ');
    std::fprintf(stderr, "\r\033[K%s [%s] %3d%%%s", label_.c_str(), bar.c_str(),
                 static_cast<int>(fraction * 100), amount.c_str());
  } else {
    std::fprintf(stderr, "%s: %3d%%%s\n", label_.c_str(), static_cast<int>(fraction * 100),
                 amount.c_str());
  }
  std::fflush(stderr);
}

}  // namespace switchyard
