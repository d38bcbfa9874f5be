#include "switchyard/dashboard/display_json.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace switchyard::dashboard {

namespace json = boost::json;

namespace {

constexpr int kMaxDecimals = 12;

bool isMoney(std::string_view key) {
  return key.find("usd") != std::string_view::npos || key.find("cost") != std::string_view::npos;
}

void write(std::string& out, const json::value& v, bool money) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string_view(kv.key()));
        out += ':';
        write(out, kv.value(), isMoney(kv.key()));
      }
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write(out, item, money);  // a series keeps its key's kind
      }
      out += ']';
      break;
    }
    case json::kind::double_: out += displayNumber(v.get_double(), money); break;
    default: out += json::serialize(v); break;  // strings, integers, bools, null
  }
}

}  // namespace

std::string displayNumber(double value, bool money) {
  if (!std::isfinite(value)) return "null";
  const double magnitude = std::fabs(value);
  int decimals = 3;
  if (magnitude > 0) {
    // Digits after the point that keep `significant` digits of the value.
    const int significant = money ? 6 : 3;
    const int exponent = static_cast<int>(std::floor(std::log10(magnitude)));
    decimals = std::max(money ? 0 : 3, significant - 1 - exponent);
    if (!money) decimals = magnitude >= 1 ? 3 : decimals;
  }
  decimals = std::clamp(decimals, 0, kMaxDecimals);
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
  if (ec != std::errc()) return "null";  // beyond 1e50: not a number a dashboard shows
  std::string text(buf, end);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

std::string displayJson(const json::value& value) {
  std::string out;
  write(out, value, false);
  return out;
}

}  // namespace switchyard::dashboard
