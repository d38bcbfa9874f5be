#include "switchyard/engine/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace switchyard::engine {

std::size_t incompleteUtf8Tail(std::string_view s) {
  // Walk back over at most 3 continuation bytes to the lead byte of the last character.
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(4, n); ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    std::size_t need = 1;
    if ((c & 0xE0) == 0xC0) {
      need = 2;
    } else if ((c & 0xF0) == 0xE0) {
      need = 3;
    } else if ((c & 0xF8) == 0xF0) {
      need = 4;
    }
    return need > back ? back : 0;
  }
  return 0;  // only continuation bytes: malformed, let it through
}

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

StopMatcher::Output StopMatcher::feed(std::string_view piece) {
  Output out;
  if (stopped_) return out;
  held_.append(piece);

  // Earliest complete stop string wins.
  std::size_t cut = std::string::npos;
  for (std::size_t i = 0; i < stops_.size(); ++i) {
    const auto pos = held_.find(stops_[i]);
    if (pos < cut) {
      cut = pos;
      matched_ = i;
    }
  }
  if (cut != std::string::npos) {
    out.text = held_.substr(0, cut);
    out.stopped = stopped_ = true;
    held_.clear();
    return out;
  }

  // Keep the longest tail that is a proper prefix of some stop string.
  std::size_t keep = 0;
  for (const auto& stop : stops_) {
    const std::size_t max_len = std::min(stop.size() - 1, held_.size());
    for (std::size_t len = max_len; len > keep; --len) {
      if (std::string_view(held_).substr(held_.size() - len) ==
          std::string_view(stop).substr(0, len)) {
        keep = len;
        break;
      }
    }
  }
  std::size_t send = held_.size() - keep;
  send -= incompleteUtf8Tail(std::string_view(held_).substr(0, send));
  out.text = held_.substr(0, send);
  held_.erase(0, send);
  return out;
}

std::string StopMatcher::flush() {
  if (stopped_) return {};
  return std::exchange(held_, {});
}

}  // namespace switchyard::engine
