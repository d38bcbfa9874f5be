#include "switchyard/api/errors.h"

#include <gtest/gtest.h>

namespace switchyard::api {
namespace {

TEST(HttpStatusFor, MapsEveryCode) {
  const std::pair<ErrorCode, unsigned> cases[] = {
      {ErrorCode::kOk, 200},
      {ErrorCode::kInvalidArgument, 400},
      {ErrorCode::kUnauthenticated, 401},
      {ErrorCode::kPermissionDenied, 403},
      {ErrorCode::kNotFound, 404},
      {ErrorCode::kPayloadTooLarge, 413},
      {ErrorCode::kUnprocessable, 400},  // OpenAI clients expect 400 for unsupported params
      {ErrorCode::kRateLimited, 429},
      {ErrorCode::kInternal, 500},
      {ErrorCode::kUpstream, 502},
      {ErrorCode::kUnavailable, 503},
      {ErrorCode::kDeadlineExceeded, 504},
      {ErrorCode::kCancelled, 499},
  };
  for (const auto& [code, http] : cases) {
    EXPECT_EQ(httpStatusFor(Status(code, "x")), http) << errorCodeName(code);
  }
}

TEST(HttpStatusFor, UpstreamStatusWins) {
  EXPECT_EQ(httpStatusFor(Status(ErrorCode::kNotFound, "x").withHttpStatus(410)), 410u);
  EXPECT_EQ(httpStatusFor(Status(ErrorCode::kUpstream, "x").withHttpStatus(529)), 529u);
  // Nonsense statuses are ignored rather than sent to a client.
  EXPECT_EQ(httpStatusFor(Status(ErrorCode::kUpstream, "x").withHttpStatus(42)), 502u);
  EXPECT_EQ(httpStatusFor(Status(ErrorCode::kUpstream, "x").withHttpStatus(1000)), 502u);
}

TEST(OpenaiErrorType, FollowsTheOpenAiVocabulary) {
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kInvalidArgument, "x")), "invalid_request_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kUnprocessable, "x")), "invalid_request_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kPayloadTooLarge, "x")), "invalid_request_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kUnauthenticated, "x")), "authentication_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kPermissionDenied, "x")), "permission_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kNotFound, "x")), "not_found_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kRateLimited, "x")), "rate_limit_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kInternal, "x")), "api_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kUpstream, "x")), "upstream_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kUnavailable, "x")), "service_unavailable_error");
  EXPECT_EQ(openaiErrorType(Status(ErrorCode::kDeadlineExceeded, "x")), "timeout_error");
}

TEST(ErrorCodeForHttpStatus, MapsUpstreamStatuses) {
  EXPECT_EQ(errorCodeForHttpStatus(400), ErrorCode::kInvalidArgument);
  EXPECT_EQ(errorCodeForHttpStatus(401), ErrorCode::kUnauthenticated);
  EXPECT_EQ(errorCodeForHttpStatus(403), ErrorCode::kPermissionDenied);
  EXPECT_EQ(errorCodeForHttpStatus(404), ErrorCode::kNotFound);
  EXPECT_EQ(errorCodeForHttpStatus(408), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(errorCodeForHttpStatus(413), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(errorCodeForHttpStatus(422), ErrorCode::kUnprocessable);
  EXPECT_EQ(errorCodeForHttpStatus(429), ErrorCode::kRateLimited);
  EXPECT_EQ(errorCodeForHttpStatus(418), ErrorCode::kInvalidArgument);
  EXPECT_EQ(errorCodeForHttpStatus(500), ErrorCode::kUpstream);
  EXPECT_EQ(errorCodeForHttpStatus(502), ErrorCode::kUpstream);
  EXPECT_EQ(errorCodeForHttpStatus(503), ErrorCode::kUnavailable);
  EXPECT_EQ(errorCodeForHttpStatus(529), ErrorCode::kUnavailable);
  EXPECT_EQ(errorCodeForHttpStatus(504), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(errorCodeForHttpStatus(200), ErrorCode::kUpstream);
}

TEST(ErrorMapping, ClientCodesRoundTripThroughHttp) {
  for (ErrorCode code :
       {ErrorCode::kInvalidArgument, ErrorCode::kUnauthenticated, ErrorCode::kPermissionDenied,
        ErrorCode::kNotFound, ErrorCode::kPayloadTooLarge, ErrorCode::kRateLimited,
        ErrorCode::kUnavailable, ErrorCode::kDeadlineExceeded}) {
    EXPECT_EQ(errorCodeForHttpStatus(httpStatusFor(Status(code, "x"))), code)
        << errorCodeName(code);
  }
}

}  // namespace
}  // namespace switchyard::api
