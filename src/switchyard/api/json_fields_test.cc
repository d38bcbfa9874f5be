#include "switchyard/api/json_fields.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <limits>

#include "switchyard/api/types.h"

namespace switchyard::api {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

std::int64_t countOf(std::string_view value) {
  const json::value v = json::parse(R"({"n":)" + std::string(value) + "}");
  return upstreamCount(v.as_object(), "n");
}

// Whatever an upstream puts where a token count belongs, the count is defined. tests/fuzz found
// an Anthropic stream's usage of -2147483649e10 (a double past int64) undefined; Gemini's
// digit strings overflowed the same way when longer than int64.
TEST(UpstreamCountTest, ReadsEveryNumberShapeAndNeverOverflows) {
  EXPECT_EQ(countOf("12"), 12);
  EXPECT_EQ(countOf("12.0"), 12);
  EXPECT_EQ(countOf("12.9"), 12);
  EXPECT_EQ(countOf("-3"), -3);
  EXPECT_EQ(countOf("\"4096\""), 4096);  // proto3's int64-as-string (Gemini)
  EXPECT_EQ(countOf("9223372036854775807"), kMax);
  EXPECT_EQ(countOf("18446744073709551615"), kMax);         // uint64: saturates
  EXPECT_EQ(countOf("\"99999999999999999999999\""), kMax);  // saturates
  EXPECT_EQ(countOf("1e300"), 0);                           // no int64 holds it
  EXPECT_EQ(countOf("-1e300"), 0);
  EXPECT_EQ(countOf("\"12a\""), 0);
  EXPECT_EQ(countOf("\"\""), 0);
  EXPECT_EQ(countOf("null"), 0);
  EXPECT_EQ(countOf("[1]"), 0);
  EXPECT_EQ(upstreamCount(json::object{}, "n"), 0);
}

TEST(AddTokensTest, SaturatesAtTheLimits) {
  EXPECT_EQ(addTokens(2, 3), 5);
  EXPECT_EQ(addTokens(kMax, 1), kMax);
  EXPECT_EQ(addTokens(kMax, kMax), kMax);
  EXPECT_EQ(addTokens(kMin, -1), kMin);
  EXPECT_EQ(addTokens(kMax, kMin), -1);
}

}  // namespace
}  // namespace switchyard::api
