#pragma once
// Small read helpers over Boost.JSON values shared by the wire codecs in api/ and the modules
// that read JSON bodies of their own (not part of any codec's interface). Pure functions:
// thread-safe.

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
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

// `v` as an int64 when it is a number that one holds exactly (7, 7.0, 7e2), else nullopt (7.5,
// 1e300, 2^63, or not a number). Boost.JSON's to_number<std::int64_t>() throws for those: never
// call it on input.
inline std::optional<std::int64_t> exactInt64(const boost::json::value& v) {
  boost::system::error_code ec;
  const auto n = v.to_number<std::int64_t>(ec);
  if (ec) return std::nullopt;
  return n;
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
