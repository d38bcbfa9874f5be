#pragma once
// The one map from Status to what a client sees: the HTTP status and the OpenAI error `type`,
// and back from an upstream's HTTP status to an ErrorCode. Pure functions, thread-safe.

#include <string_view>

#include "switchyard/core/status.h"

namespace switchyard::api {

// Status::httpStatus() when set (an upstream's own status is passed through), else the
// status for the error code. kUnprocessable maps to 400: OpenAI clients expect 400 for
// unsupported parameters. kCancelled maps to 499 (nginx's "client closed request").
unsigned httpStatusFor(const Status& status);

// OpenAI's error `type` string ("invalid_request_error", "rate_limit_error", ...).
std::string_view openaiErrorType(const Status& status);

// The code for an upstream's HTTP status. 5xx other than 503/504 mean the upstream failed
// (kUpstream), so callers may retry elsewhere; 2xx/3xx here are unexpected and also kUpstream.
ErrorCode errorCodeForHttpStatus(unsigned http_status);

}  // namespace switchyard::api
