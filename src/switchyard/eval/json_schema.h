#pragma once
// A small JSON Schema validator over boost::json for the keywords evaluations need: type (one or
// a list), enum, const, properties, required, additionalProperties (bool or schema), items,
// minItems/maxItems, minimum/maximum (+ exclusive), minLength/maxLength, pattern (RE2), anyOf,
// allOf, oneOf. Other keywords are ignored. Stateless functions: thread-safe.

#include <boost/json/value.hpp>

#include <string>

namespace switchyard::eval {

// Empty when `instance` is valid against `schema`; else the first violation, with its JSON path
// ("$.items[2].name: expected integer, got string").
std::string validateJsonSchema(const boost::json::value& schema,
                               const boost::json::value& instance);

}  // namespace switchyard::eval
