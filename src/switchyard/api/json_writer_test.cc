#include "switchyard/api/json_writer.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace switchyard::api {
namespace {

TEST(SpliceMember, AddsTheLastMemberOfAWholeObject) {
  std::string body = R"({"id":"x","choices":[{"index":0}]})";
  ASSERT_TRUE(spliceMember(body, "citations", R"([{"index":1}])"));
  const auto v = boost::json::parse(body);
  EXPECT_EQ(v.at("id").as_string(), "x");
  EXPECT_EQ(v.at("citations").at(0).at("index").as_int64(), 1);
  EXPECT_EQ(body, R"({"id":"x","choices":[{"index":0}],"citations":[{"index":1}]})");
}

TEST(SpliceMember, EmptyObjectTakesNoComma) {
  std::string body = "{ }";
  ASSERT_TRUE(spliceMember(body, "k", "true"));
  EXPECT_EQ(body, R"({"k":true })");
  EXPECT_TRUE(boost::json::parse(body).at("k").as_bool());
}

TEST(SpliceMember, SseEventKeepsItsFraming) {
  std::string event = "data: {\"a\":1}\n\n";
  ASSERT_TRUE(spliceMember(event, "b", "2"));
  EXPECT_EQ(event, "data: {\"a\":1,\"b\":2}\n\n");
}

TEST(SpliceMember, LimitPicksTheFirstOfSeveralLines) {
  std::string lines = "{\"n\":1}\n{\"n\":2}\n";
  ASSERT_TRUE(spliceMember(lines, "c", "[]", lines.find('\n')));
  EXPECT_EQ(lines, "{\"n\":1,\"c\":[]}\n{\"n\":2}\n");
}

TEST(SpliceMember, NoObjectIsRefused) {
  std::string text = "[1,2]";
  EXPECT_FALSE(spliceMember(text, "c", "1"));
  EXPECT_EQ(text, "[1,2]");
  std::string empty;
  EXPECT_FALSE(spliceMember(empty, "c", "1"));
}

}  // namespace
}  // namespace switchyard::api
