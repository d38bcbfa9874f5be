#include "switchyard/http/sse.h"

#include <charconv>
#include <cstring>

namespace switchyard::http {

namespace {

constexpr unsigned char kBom[3] = {0xEF, 0xBB, 0xBF};
constexpr std::uint8_t kBomDone = 3;

// Position of the first '\r' or '\n' in `s`, or npos. Two memchr passes beat a byte loop.
std::size_t findLineEnd(std::string_view s) {
  const char* begin = s.data();
  const char* end = begin + s.size();
  const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', s.size()));
  const char* limit = lf != nullptr ? lf : end;
  const auto* cr = static_cast<const char*>(std::memchr(begin, '\r', limit - begin));
  const char* hit = cr != nullptr ? cr : lf;
  return hit == nullptr ? std::string_view::npos : static_cast<std::size_t>(hit - begin);
}

}  // namespace

void SseParser::reset() {
  event_ = SseEvent{};
  line_.clear();
  event_dispatched_ = false;
  data_seen_ = false;
  skip_lf_ = false;
  bom_checked_ = 0;
}

void SseParser::startNextEvent() {
  event_.event.clear();
  event_.data.clear();
  event_.retry.reset();
  data_seen_ = false;
  event_dispatched_ = false;
}

bool SseParser::consume(std::string_view& input) {
  if (event_dispatched_) startNextEvent();

  // A UTF-8 byte order mark may open the stream; it is not part of the first line.
  while (bom_checked_ < kBomDone && !input.empty()) {
    if (static_cast<unsigned char>(input.front()) == kBom[bom_checked_]) {
      ++bom_checked_;
      input.remove_prefix(1);
      continue;
    }
    line_.append(reinterpret_cast<const char*>(kBom), bom_checked_);
    bom_checked_ = kBomDone;
  }
  if (input.empty()) return false;

  if (skip_lf_) {
    skip_lf_ = false;
    if (input.front() == '\n') {
      input.remove_prefix(1);
      return false;
    }
  }

  const std::size_t pos = findLineEnd(input);
  if (pos == std::string_view::npos) {
    line_.append(input);
    input = {};
    return false;
  }
  const std::string_view line = input.substr(0, pos);
  const char terminator = input[pos];
  input.remove_prefix(pos + 1);
  if (terminator == '\r') {
    if (input.empty()) {
      skip_lf_ = true;
    } else if (input.front() == '\n') {
      input.remove_prefix(1);
    }
  }

  if (line_.empty()) return processLine(line);
  line_.append(line);
  const bool done = processLine(line_);
  line_.clear();
  return done;
}

bool SseParser::processLine(std::string_view line) {
  if (line.empty()) return dispatch();
  if (line.front() == ':') return false;  // comment (often a keep-alive ping)

  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }

  if (field == "data") {
    if (data_seen_) event_.data += '\n';
    event_.data.append(value);
    data_seen_ = true;
  } else if (field == "event") {
    event_.event.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) event_.id.assign(value);
  } else if (field == "retry") {
    std::uint64_t ms = 0;
    const char* end = value.data() + value.size();
    auto [ptr, ec] = std::from_chars(value.data(), end, ms);
    if (!value.empty() && ec == std::errc() && ptr == end) event_.retry = ms;
  }
  // Other field names are ignored, as the format requires.
  return false;
}

bool SseParser::dispatch() {
  if (!data_seen_) {
    // No data: nothing to deliver, and the event name does not carry over.
    event_.event.clear();
    event_.retry.reset();
    return false;
  }
  event_dispatched_ = true;
  return true;
}

bool SseParser::flush() {
  if (event_dispatched_) startNextEvent();
  if (bom_checked_ < kBomDone) {
    line_.append(reinterpret_cast<const char*>(kBom), bom_checked_);
    bom_checked_ = kBomDone;
  }
  skip_lf_ = false;
  if (!line_.empty()) {
    // A non-blank line never completes an event by itself.
    (void)processLine(line_);
    line_.clear();
  }
  return dispatch();
}

void appendSseEvent(std::string& out, std::string_view data, std::string_view event) {
  out.reserve(out.size() + data.size() + event.size() + 16);
  if (!event.empty()) {
    out += "event: ";
    for (char c : event) {
      if (c != '\r' && c != '\n') out += c;
    }
    out += '\n';
  }
  for (;;) {
    const std::size_t pos = findLineEnd(data);
    out += "data: ";
    if (pos == std::string_view::npos) {
      out.append(data);
      out += '\n';
      break;
    }
    out.append(data.substr(0, pos));
    out += '\n';
    const bool crlf = data[pos] == '\r' && pos + 1 < data.size() && data[pos + 1] == '\n';
    data.remove_prefix(pos + (crlf ? 2 : 1));
  }
  out += '\n';
}

}  // namespace switchyard::http
