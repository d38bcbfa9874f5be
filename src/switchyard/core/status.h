#pragma once
// Status and Result<T>: the error currency of Switchyard. No exceptions cross module
// boundaries on the request path; fallible calls return Result<T>. Value types, thread-compatible.

#include <expected>
#include <memory>
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

// An ok Status is one null pointer (free to create, move and destroy on the hot path, where
// every awaited step returns one); an error holds its fields on the heap.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message)
      : rep_(code == ErrorCode::kOk && message.empty()
                 ? nullptr
                 : std::make_unique<Rep>(Rep{code, std::move(message), {}, {}, 0, 0})) {}
  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status ok() { return {}; }

  bool isOk() const { return !rep_ || rep_->code == ErrorCode::kOk; }
  ErrorCode code() const { return rep_ ? rep_->code : ErrorCode::kOk; }
  const std::string& message() const { return rep_ ? rep_->message : empty(); }

  // The rvalue `with...` setters return a new Status (moved from this one), never a reference
  // to this one: `s = std::move(s).withRetryAfter(5)` must not assign a Status to itself.

  // Which request field was at fault (OpenAI's `param`), when one was.
  const std::string& param() const { return rep_ ? rep_->param : empty(); }
  Status& withParam(std::string param) & {
    rep().param = std::move(param);
    return *this;
  }
  Status withParam(std::string param) && {
    rep().param = std::move(param);
    return std::move(*this);
  }

  // An upstream's own HTTP status, kept so that e.g. an upstream 404 stays a 404.
  int httpStatus() const { return rep_ ? rep_->http_status : 0; }
  Status withHttpStatus(int status) && {
    rep().http_status = status;
    return std::move(*this);
  }

  // Seconds the client should wait before retrying (429/503), 0 when unknown.
  int retryAfterSeconds() const { return rep_ ? rep_->retry_after_s : 0; }
  Status withRetryAfter(int seconds) && {
    rep().retry_after_s = seconds;
    return std::move(*this);
  }

  // Machine-readable error code for the client body (e.g. "model_not_found").
  const std::string& errorType() const { return rep_ ? rep_->error_type : empty(); }
  Status withErrorType(std::string type) && {
    rep().error_type = std::move(type);
    return std::move(*this);
  }

  std::string toString() const;

 private:
  struct Rep {
    ErrorCode code = ErrorCode::kOk;
    std::string message;
    std::string param;
    std::string error_type;
    int http_status = 0;
    int retry_after_s = 0;
  };

  Rep& rep() {
    if (!rep_) rep_ = std::make_unique<Rep>();
    return *rep_;
  }
  static const std::string& empty();

  std::unique_ptr<Rep> rep_;  // null: ok
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
