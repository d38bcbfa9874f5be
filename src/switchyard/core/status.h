#pragma once
// Status and Result<T>: the error currency of Switchyard. No exceptions cross module
// boundaries on the request path; fallible calls return Result<T>. Value types, thread-compatible.

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace switchyard {

// Error codes map one-to-one onto an HTTP status and onto each wire format's error type
// (see api/errors.h). Keep this list short: callers branch on it.
enum class ErrorCode {
  kOk,
  kInvalidArgument,   // 400: the client sent something we cannot accept
  kUnauthenticated,   // 401
  kPermissionDenied,  // 403
  kNotFound,          // 404: unknown model, path or object
  kPayloadTooLarge,   // 413
  kUnprocessable,     // 422: well-formed but semantically unsupported
  kRateLimited,       // 429
  kInternal,          // 500
  kUpstream,          // 502: an upstream answered with garbage or failed
  kUnavailable,       // 503: overloaded, draining, breaker open
  kDeadlineExceeded,  // 504: an upstream timed out
  kCancelled,         // the client went away; never sent to anybody
};

std::string_view errorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The rvalue `with...` setters return a new Status (moved from this one), never a reference
  // to this one: `s = std::move(s).withRetryAfter(5)` must not assign a Status to itself.

  // Which request field was at fault (OpenAI's `param`), when one was.
  const std::string& param() const { return param_; }
  Status& withParam(std::string param) & {
    param_ = std::move(param);
    return *this;
  }
  Status withParam(std::string param) && {
    param_ = std::move(param);
    return std::move(*this);
  }

  // An upstream's own HTTP status, kept so that e.g. an upstream 404 stays a 404.
  int httpStatus() const { return http_status_; }
  Status withHttpStatus(int status) && {
    http_status_ = status;
    return std::move(*this);
  }

  // Seconds the client should wait before retrying (429/503), 0 when unknown.
  int retryAfterSeconds() const { return retry_after_s_; }
  Status withRetryAfter(int seconds) && {
    retry_after_s_ = seconds;
    return std::move(*this);
  }

  // Machine-readable error code for the client body (e.g. "model_not_found").
  const std::string& errorType() const { return error_type_; }
  Status withErrorType(std::string type) && {
    error_type_ = std::move(type);
    return std::move(*this);
  }

  std::string toString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string param_;
  std::string error_type_;
  int http_status_ = 0;
  int retry_after_s_ = 0;
};

template <typename T>
using Result = std::expected<T, Status>;

// Shorthand for returning an error from a function that returns Result<T>.
inline std::unexpected<Status> fail(ErrorCode code, std::string message) {
  return std::unexpected<Status>(Status(code, std::move(message)));
}
inline std::unexpected<Status> fail(Status status) {
  return std::unexpected<Status>(std::move(status));
}

}  // namespace switchyard
