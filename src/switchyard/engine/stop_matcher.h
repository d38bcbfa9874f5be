#pragma once
// Text assembly for streamed generation: token pieces in, safe-to-send text out. Holds back
// bytes of an unfinished UTF-8 character and any tail that could still become a stop string,
// so a stop string split across tokens never leaks its first half. Not thread-safe (one per
// request, used on the engine thread).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::engine {

// Number of bytes at the end of `s` that belong to an incomplete UTF-8 sequence (0..3).
std::size_t incompleteUtf8Tail(std::string_view s);

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Output {
    std::string text;      // may be sent now
    bool stopped = false;  // a stop string was found; `text` ends right before it
  };

  // Appends a token's bytes. After `stopped`, further input is ignored.
  Output feed(std::string_view piece);

  // End of generation: everything still held back (an unfinished stop-string prefix, stray
  // bytes of a broken UTF-8 character).
  std::string flush();

  bool stopped() const { return stopped_; }
  // The stop string that was found (the earliest in the text; of two at one place, the one
  // listed first); empty before.
  std::string_view matched() const {
    return stopped_ ? std::string_view(stops_[matched_]) : std::string_view();
  }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  std::size_t matched_ = 0;
  bool stopped_ = false;
};

}  // namespace switchyard::engine
