#pragma once
// Small read helpers over Boost.JSON values shared by the wire codecs in api/ (internal to
// api/; not part of any codec's interface). Pure functions: thread-safe.

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

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
