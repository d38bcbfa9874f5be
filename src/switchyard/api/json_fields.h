#pragma once
// Small read helpers over Boost.JSON values shared by the wire codecs in api/ and the modules
// that read JSON bodies of their own (not part of any codec's interface). Pure functions:
// thread-safe.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace switchyard::api {

// The JSON type of `v` as error messages name it ("integer", "object", ...).
inline std::string_view kindName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "integer";
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::object:
      return "object";
  }
  return "unknown";
}

// Whether every number in `v` is finite. Boost.JSON 1.81 reads a literal beyond a double's range
// as ±infinity and one such as 0e400 as NaN; JSON has neither, a NaN passes every range check,
// and neither can be written back. Decoders of client bodies reject such input
// (kNumberOutOfRange says why).
inline bool allNumbersFinite(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      return std::isfinite(v.get_double());
    case boost::json::kind::array:
      for (const auto& e : v.get_array()) {
        if (!allNumbersFinite(e)) return false;
      }
      return true;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!allNumbersFinite(kv.value())) return false;
      }
      return true;
    default:
      return true;
  }
}
inline constexpr std::string_view kNumberOutOfRange =
    "a number is out of range (beyond what a double holds, or an exponent too large to read)";

// `v` as an int64 when it is a number that one holds exactly (7, 7.0, 7e2), else nullopt (7.5,
// 1e300, 2^63, or not a number). Boost.JSON's to_number<std::int64_t>() throws for those: never
// call it on input.
inline std::optional<std::int64_t> exactInt64(const boost::json::value& v) {
  boost::system::error_code ec;
  const auto n = v.to_number<std::int64_t>(ec);
  if (ec) return std::nullopt;
  return n;
}

// A count an upstream reports (tokens, say), read leniently and never into undefined behaviour:
// an integer as it is (a uint64 past int64's range saturates), a number truncated toward zero
// when int64 holds it, a string of decimal digits (proto3's JSON form of int64) saturating at
// int64's largest; anything else, absent (null `v`) included, is 0.
inline std::int64_t upstreamCount(const boost::json::value* v) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    return v->get_uint64() > static_cast<std::uint64_t>(kMax)
               ? kMax
               : static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_double()) {
    const double d = v->get_double();  // NaN fails both comparisons
    return d >= -9.2e18 && d <= 9.2e18 ? static_cast<std::int64_t>(d) : 0;
  }
  if (const boost::json::string* s = v->if_string(); s != nullptr && !s->empty()) {
    std::int64_t n = 0;
    for (const char c : *s) {
      if (c < '0' || c > '9') return 0;
      const int digit = c - '0';
      n = n > (kMax - digit) / 10 ? kMax : n * 10 + digit;
    }
    return n;
  }
  return 0;
}
inline std::int64_t upstreamCount(const boost::json::object& o, std::string_view key) {
  return upstreamCount(o.if_contains(key));
}

// The string at o[key], or `dflt` when the key is absent or not a string. The view points
// into `o`.
inline std::string_view stringOr(const boost::json::object& o, std::string_view key,
                                 std::string_view dflt = {}) {
  if (const boost::json::value* v = o.if_contains(key)) {
    if (const boost::json::string* s = v->if_string()) return *s;
  }
  return dflt;
}

}  // namespace switchyard::api
