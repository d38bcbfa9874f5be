#include "switchyard/core/status.h"

namespace switchyard {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kPayloadTooLarge: return "payload_too_large";
    case ErrorCode::kUnprocessable: return "unprocessable";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kUpstream: return "upstream_error";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorCode::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string Status::toString() const {
  if (isOk()) return "ok";
  std::string out(errorCodeName(code()));
  out += ": ";
  out += message();
  return out;
}

const std::string& Status::empty() {
  static const std::string kEmpty;
  return kEmpty;
}

}  // namespace switchyard
