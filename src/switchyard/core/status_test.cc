#include "switchyard/core/status.h"

#include <gtest/gtest.h>

namespace switchyard {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return fail(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.isOk());
  EXPECT_EQ(s.toString(), "ok");
}

TEST(StatusTest, CarriesCodeMessageAndDetails) {
  Status s = Status(ErrorCode::kRateLimited, "slow down")
                 .withParam("model")
                 .withRetryAfter(3)
                 .withHttpStatus(429)
                 .withErrorType("rate_limit_exceeded");
  EXPECT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), ErrorCode::kRateLimited);
  EXPECT_EQ(s.param(), "model");
  EXPECT_EQ(s.retryAfterSeconds(), 3);
  EXPECT_EQ(s.httpStatus(), 429);
  EXPECT_EQ(s.errorType(), "rate_limit_exceeded");
  EXPECT_EQ(s.toString(), "rate_limited: slow down");
}

TEST(ResultTest, ValueOrError) {
  auto ok = half(4);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 2);
  auto bad = half(3);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "odd");
}

TEST(StatusTest, ReassigningThroughARvalueSetterKeepsEverything) {
  Status s = Status(ErrorCode::kRateLimited, "upstream returned 429: slow down")
                 .withErrorType("rate_limit_error")
                 .withHttpStatus(429);
  s = std::move(s).withRetryAfter(7);  // was a self-move assignment that emptied the strings
  EXPECT_EQ(s.message(), "upstream returned 429: slow down");
  EXPECT_EQ(s.errorType(), "rate_limit_error");
  EXPECT_EQ(s.httpStatus(), 429);
  EXPECT_EQ(s.retryAfterSeconds(), 7);
  s = std::move(s).withParam("messages");
  EXPECT_EQ(s.param(), "messages");
  EXPECT_EQ(s.message(), "upstream returned 429: slow down");
}

}  // namespace
}  // namespace switchyard
