#include "switchyard/eval/json_schema.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace switchyard::eval {
namespace {

namespace json = boost::json;

std::string check(std::string_view schema, std::string_view instance) {
  return validateJsonSchema(json::parse(schema), json::parse(instance));
}

TEST(JsonSchemaTest, CommonKeywords) {
  const char* schema = R"({
    "type": "object", "required": ["name", "age"], "additionalProperties": false,
    "properties": {
      "name": {"type": "string", "minLength": 2, "pattern": "^[A-Z]"},
      "age": {"type": "integer", "minimum": 0, "maximum": 150},
      "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
      "score": {"type": ["number", "null"]}
    }})";
  EXPECT_EQ(check(schema, R"({"name":"Al","age":30,"tags":["a"],"score":null})"), "");
  EXPECT_EQ(check(schema, R"({"name":"Al","age":30.0,"score":1.5})"), "");
  EXPECT_EQ(check(schema, R"({"name":"Al"})"), "$: missing required property 'age'");
  EXPECT_EQ(check(schema, R"({"name":"Al","age":"x"})"), "$.age: expected integer, got string");
  EXPECT_EQ(check(schema, R"({"name":"Al","age":1.5})"), "$.age: expected integer, got number");
  EXPECT_NE(check(schema, R"({"name":"Al","age":200})").find("maximum"), std::string::npos);
  EXPECT_NE(check(schema, R"({"name":"al","age":2})").find("does not match"), std::string::npos);
  EXPECT_NE(check(schema, R"({"name":"A","age":2})").find("shorter"), std::string::npos);
  EXPECT_EQ(check(schema, R"({"name":"Al","age":2,"x":1})"), "$: unexpected property 'x'");
  EXPECT_NE(check(schema, R"({"name":"Al","age":2,"tags":["c"]})").find("$.tags[0]"),
            std::string::npos);
  EXPECT_NE(check(schema, R"({"name":"Al","age":2,"tags":["a","a","b"]})").find("more than"),
            std::string::npos);
  EXPECT_EQ(check(schema, "[1]"), "$: expected object, got array");
}

TEST(JsonSchemaTest, Combinators) {
  EXPECT_EQ(check(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", "3"), "");
  EXPECT_NE(check(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", "true"), "");
  EXPECT_NE(check(R"({"oneOf":[{"type":"number"},{"type":"integer"}]})", "3"), "");
  EXPECT_EQ(check(R"({"allOf":[{"minimum":1},{"maximum":5}]})", "3"), "");
  EXPECT_EQ(check(R"({"additionalProperties":{"type":"integer"}})", R"({"a":1})"), "");
  EXPECT_NE(check(R"({"additionalProperties":{"type":"integer"}})", R"({"a":"x"})"), "");
  EXPECT_EQ(check(R"({"const":"x"})", R"("x")"), "");
  EXPECT_NE(check(R"({"const":"x"})", R"("y")"), "");
}

}  // namespace
}  // namespace switchyard::eval
