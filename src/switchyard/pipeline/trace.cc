#include "switchyard/pipeline/trace.h"

#include <algorithm>
#include <random>

namespace switchyard::pipeline {
namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}

template <std::size_t N>
void fillRandom(std::array<std::uint8_t, N>& out) {
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t v = rng()();
      for (std::size_t j = 0; j < 8 && i + j < N; ++j, v >>= 8) {
        out[i + j] = static_cast<std::uint8_t>(v);
      }
    }
  } while (std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0; }));
}

template <std::size_t N>
std::string hexOf(const std::array<std::uint8_t, N>& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(N * 2, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kHex[id[i] >> 4];
    out[2 * i + 1] = kHex[id[i] & 0xf];
  }
  return out;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // W3C: lower-case hex only
}

template <std::size_t N>
bool parseHex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != N * 2) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hexDigit(text[2 * i]);
    const int lo = hexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

TraceId newTraceId() {
  TraceId id;
  fillRandom(id);
  return id;
}

SpanId newSpanId() {
  SpanId id;
  fillRandom(id);
  return id;
}

bool isZero(const TraceId& id) {
  return std::all_of(id.begin(), id.end(), [](std::uint8_t b) { return b == 0; });
}
bool isZero(const SpanId& id) {
  return std::all_of(id.begin(), id.end(), [](std::uint8_t b) { return b == 0; });
}

std::string toHex(const TraceId& id) { return hexOf(id); }
std::string toHex(const SpanId& id) { return hexOf(id); }

std::optional<TraceParent> parseTraceParent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters;
  // versions after 00 may append fields after another '-'.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') {
    return std::nullopt;
  }
  std::array<std::uint8_t, 1> version{};
  std::array<std::uint8_t, 1> flags{};
  TraceParent tp;
  if (!parseHex(header.substr(0, 2), version) || version[0] == 0xff ||
      !parseHex(header.substr(3, 32), tp.trace_id) ||
      !parseHex(header.substr(36, 16), tp.parent_id) || !parseHex(header.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (header.size() > 55 && (version[0] == 0 || header[55] != '-')) return std::nullopt;
  if (isZero(tp.trace_id) || isZero(tp.parent_id)) return std::nullopt;
  tp.sampled = (flags[0] & 0x01) != 0;
  return tp;
}

std::string formatTraceParent(const TraceId& trace, const SpanId& span, bool sampled) {
  std::string out;
  out.reserve(55);
  out += "00-";
  out += hexOf(trace);
  out += '-';
  out += hexOf(span);
  out += sampled ? "-01" : "-00";
  return out;
}

}  // namespace switchyard::pipeline
