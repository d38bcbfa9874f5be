#include "switchyard/api/errors.h"

namespace switchyard::api {

namespace {

unsigned httpStatusForCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnprocessable:
      return 400;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kUpstream:
      return 502;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
    case ErrorCode::kCancelled:
      return 499;
  }
  return 500;
}

}  // namespace

unsigned httpStatusFor(const Status& status) {
  const int http = status.httpStatus();
  if (http >= 100 && http <= 599) return static_cast<unsigned>(http);
  return httpStatusForCode(status.code());
}

std::string_view openaiErrorType(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return "";
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kUnprocessable:
      return "invalid_request_error";
    case ErrorCode::kUnauthenticated:
      return "authentication_error";
    case ErrorCode::kPermissionDenied:
      return "permission_error";
    case ErrorCode::kNotFound:
      return "not_found_error";
    case ErrorCode::kRateLimited:
      return "rate_limit_error";
    case ErrorCode::kInternal:
      return "api_error";
    case ErrorCode::kUpstream:
      return "upstream_error";
    case ErrorCode::kUnavailable:
      return "service_unavailable_error";
    case ErrorCode::kDeadlineExceeded:
      return "timeout_error";
    case ErrorCode::kCancelled:
      return "request_cancelled";
  }
  return "api_error";
}

ErrorCode errorCodeForHttpStatus(unsigned http_status) {
  switch (http_status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 402:  // payment required: the account behind the upstream key is out of credit
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 408:
      return ErrorCode::kDeadlineExceeded;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 422:
      return ErrorCode::kUnprocessable;
    case 429:
      return ErrorCode::kRateLimited;
    case 503:
    case 529:  // "overloaded" (Anthropic)
      return ErrorCode::kUnavailable;
    case 504:
      return ErrorCode::kDeadlineExceeded;
    default:
      break;
  }
  if (http_status >= 400 && http_status < 500) return ErrorCode::kInvalidArgument;
  return ErrorCode::kUpstream;
}

}  // namespace switchyard::api
