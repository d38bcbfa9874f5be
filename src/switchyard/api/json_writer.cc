#include "switchyard/api/json_writer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace switchyard::api {

namespace {

namespace json = boost::json;

// 0: copy as is; 1: ASCII that must be escaped; 2: lead byte of a multi-byte UTF-8 sequence.
constexpr std::array<std::uint8_t, 256> kCharClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  for (int c = 0x80; c < 0x100; ++c) t[c] = 2;
  return t;
}();

}  // namespace

std::size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  const std::size_t left = static_cast<std::size_t>(end - p);
  auto cont = [&](std::size_t i) { return (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;
    if (c == 0xED && p[1] > 0x9F) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;
    if (c == 0xF4 && p[1] > 0x8F) return 0;
    return 4;
  }
  return 0;
}

boost::json::array byteArray(std::string_view text) {
  boost::json::array out;
  out.reserve(text.size());
  for (const char c : text) out.emplace_back(static_cast<unsigned char>(c));
  return out;
}

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  const auto* run = p;
  while (p < end) {
    // Skip 8 plain bytes at a time. A high bit in the sum marks a byte below 0x20, a '"' or
    // '\\' (a zero byte after the xor borrows), or a byte >= 0x80; a borrow only spreads
    // from a byte that is itself special, so the test is exact.
    while (end - p >= 8) {
      constexpr std::uint64_t kOnes = 0x0101010101010101ull;
      std::uint64_t x;
      std::memcpy(&x, p, sizeof x);
      const std::uint64_t quote = x ^ (kOnes * '"');
      const std::uint64_t backslash = x ^ (kOnes * '\\');
      if ((((x - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes) | x) & (kOnes * 0x80)) !=
          0) {
        break;
      }
      p += 8;
    }
    if (p >= end) break;
    const std::uint8_t cls = kCharClass[*p];
    if (cls == 0) {
      ++p;
      continue;
    }
    if (cls == 2) {
      if (std::size_t n = utf8SequenceLength(p, end); n != 0) {
        p += n;
        continue;
      }
      out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
      out += "\xEF\xBF\xBD";
      run = ++p;
      continue;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    const unsigned char c = *p;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
    run = ++p;
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
}

JsonWriter& JsonWriter::beginObject() {
  sep();
  out_ += '{';
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::endObject() {
  out_ += '}';
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::beginArray() {
  sep();
  out_ += '[';
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::endArray() {
  out_ += ']';
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  // One append per key (encoders write many): `,"key":` assembled on the stack.
  char buf[64];
  if (k.size() + 4 > sizeof buf) {
    sep();
    out_ += '"';
    out_ += k;
    out_ += "\":";
    after_key_ = true;
    return *this;
  }
  char* p = buf;
  if (!after_key_ && need_comma_) *p++ = ',';
  *p++ = '"';
  std::memcpy(p, k.data(), k.size());
  p += k.size();
  *p++ = '"';
  *p++ = ':';
  out_.append(buf, static_cast<std::size_t>(p - buf));
  need_comma_ = true;
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::escapedKey(std::string_view k) {
  sep();
  out_ += '"';
  appendJsonString(out_, k);
  out_ += "\":";
  after_key_ = true;
  return *this;
}

void JsonWriter::string(std::string_view s) {
  sep();
  out_ += '"';
  appendJsonString(out_, s);
  out_ += '"';
}

void JsonWriter::integer(std::int64_t v) {
  sep();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out_.append(buf, end);
}

void JsonWriter::unsignedInteger(std::uint64_t v) {
  sep();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out_.append(buf, end);
}

void JsonWriter::number(double v) {
  sep();
  if (!std::isfinite(v)) {
    out_ += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out_.append(buf, end);
  if (std::find_if(buf, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
    out_ += ".0";
  }
}

void JsonWriter::floatNumber(float v) {
  sep();
  if (!std::isfinite(v)) {
    out_ += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out_.append(buf, end);
}

void JsonWriter::boolean(bool v) {
  sep();
  out_ += v ? "true" : "false";
}

void JsonWriter::null() {
  sep();
  out_ += "null";
}

void JsonWriter::raw(std::string_view text) {
  sep();
  out_ += text;
}

void JsonWriter::value(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      null();
      break;
    case json::kind::bool_:
      boolean(v.get_bool());
      break;
    case json::kind::int64:
      integer(v.get_int64());
      break;
    case json::kind::uint64:
      unsignedInteger(v.get_uint64());
      break;
    case json::kind::double_:
      number(v.get_double());
      break;
    case json::kind::string:
      string(v.get_string());
      break;
    case json::kind::array:
      beginArray();
      for (const auto& e : v.get_array()) value(e);
      endArray();
      break;
    case json::kind::object:
      object(v.get_object());
      break;
  }
}

void JsonWriter::object(const json::object& o) {
  beginObject();
  members(o);
  endObject();
}

void JsonWriter::members(const json::object& o, std::string_view skip) {
  for (const auto& kv : o) {
    if (!skip.empty() && kv.key() == skip) continue;
    escapedKey(kv.key());
    value(kv.value());
  }
}

void JsonWriter::sep() {
  if (after_key_) {
    after_key_ = false;
  } else if (need_comma_) {
    out_ += ',';
  }
  need_comma_ = true;
}

bool spliceMember(std::string& text, std::string_view key, std::string_view raw_value,
                  std::size_t limit) {
  if (limit == 0) return false;
  const std::size_t close = text.rfind('}', limit == std::string::npos ? limit : limit - 1);
  if (close == std::string::npos) return false;
  std::size_t before = close;
  while (before > 0 && (text[before - 1] == ' ' || text[before - 1] == '\n' ||
                        text[before - 1] == '\t' || text[before - 1] == '\r')) {
    --before;
  }
  const bool empty_object = before > 0 && text[before - 1] == '{';
  std::string member;
  member.reserve(key.size() + raw_value.size() + 4);
  if (!empty_object) member += ',';
  member += '"';
  appendJsonString(member, key);
  member += "\":";
  member += raw_value;
  text.insert(before, member);
  return true;
}

}  // namespace switchyard::api
