#include "switchyard/dashboard/display_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <limits>

namespace switchyard::dashboard {
namespace {

namespace json = boost::json;

TEST(DisplayJsonTest, NumbersArePlainAndRoundedForDisplay) {
  // What Boost.JSON writes on its own, for the record: the exponent form this avoids.
  ASSERT_EQ(json::serialize(json::value(60.0)), "6E1");

  EXPECT_EQ(displayNumber(60.0, false), "60");
  EXPECT_EQ(displayNumber(0.25, false), "0.25");
  EXPECT_EQ(displayNumber(12.345678, false), "12.346");  // milliseconds: 3 decimals
  EXPECT_EQ(displayNumber(1234.5, false), "1234.5");
  EXPECT_EQ(displayNumber(0.000123456, false), "0.000123");  // 3 significant digits below 1
  EXPECT_EQ(displayNumber(-2.5, false), "-2.5");
  EXPECT_EQ(displayNumber(0.0, false), "0");
  EXPECT_EQ(displayNumber(-0.0001, false), "-0.0001");
  EXPECT_EQ(displayNumber(1e-15, false), "0");
  EXPECT_EQ(displayNumber(std::numeric_limits<double>::quiet_NaN(), false), "null");
  EXPECT_EQ(displayNumber(std::numeric_limits<double>::infinity(), true), "null");

  // Money keeps 6 significant digits: small per-request costs still show.
  EXPECT_EQ(displayNumber(0.0000123456789, true), "0.0000123457");
  EXPECT_EQ(displayNumber(12.3456789, true), "12.3457");
  EXPECT_EQ(displayNumber(1500.0, true), "1500");
  EXPECT_EQ(displayNumber(1e9 + 0.4, true), "1000000000");
}

TEST(DisplayJsonTest, DocumentsKeepTheirShapeAndMoneyKeys) {
  const json::value v = json::parse(R"({
    "total_ms": 60.0, "rps": 16.666666667, "requests": 7, "ok": true, "name": "a\"b",
    "cost_usd": 0.0000123456789, "by_model": [{"cost_usd": 3.0, "share": 0.3333333}],
    "series": {"cost_usd": [0.00012345678, 2.5], "p50": [1.23456, null]}, "empty": []})");
  const std::string out = displayJson(v);
  EXPECT_EQ(out,
            R"({"total_ms":60,"rps":16.667,"requests":7,"ok":true,"name":"a\"b",)"
            R"("cost_usd":0.0000123457,"by_model":[{"cost_usd":3,"share":0.333}],)"
            R"("series":{"cost_usd":[0.000123457,2.5],"p50":[1.235,null]},"empty":[]})");
  EXPECT_EQ(out.find('E'), std::string::npos);
  // Still JSON, with the same numbers up to the rounding.
  const json::value back = json::parse(out);
  EXPECT_EQ(back.at("total_ms").to_number<double>(), 60.0);
  EXPECT_NEAR(back.at("cost_usd").to_number<double>(), 0.0000123456789, 0.0000123456789 * 1e-5);
}

}  // namespace
}  // namespace switchyard::dashboard
