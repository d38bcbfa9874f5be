#include "switchyard/telemetry/feedback.h"

#include <boost/json.hpp>

#include <chrono>
#include <cmath>

namespace switchyard::telemetry {
namespace {

namespace json = boost::json;

Status invalid(std::string message, std::string param) {
  return Status(ErrorCode::kInvalidArgument, std::move(message)).withParam(std::move(param));
}

// A string field up to `max` bytes; absent or null leaves `out` empty.
Status stringField(const json::object& o, std::string_view key, std::size_t max,
                   std::string& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return Status::ok();
  if (!v->is_string()) return invalid(std::string(key) + " must be a string", std::string(key));
  if (v->as_string().size() > max) {
    return invalid(std::string(key) + " is longer than " + std::to_string(max) + " bytes",
                   std::string(key));
  }
  out = std::string(v->as_string());
  return Status::ok();
}

}  // namespace

Result<FeedbackRecord> parseFeedback(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return fail(invalid("request body is not valid JSON: " + ec.message(), ""));
  if (!doc.is_object()) return fail(invalid("request body must be a JSON object", ""));
  const json::object& o = doc.as_object();
  for (const auto& [key, value] : o) {
    if (key != "request_id" && key != "score" && key != "label" && key != "comment") {
      return fail(invalid("unknown field '" + std::string(key) +
                              "' (expected request_id, score, label, comment)",
                          std::string(key)));
    }
  }
  FeedbackRecord f;
  if (Status s = stringField(o, "request_id", 128, f.request_id); !s.isOk()) return fail(std::move(s));
  if (f.request_id.empty()) {
    return fail(invalid("request_id is required (the x-request-id of the answer)", "request_id"));
  }
  if (Status s = stringField(o, "label", 128, f.label); !s.isOk()) return fail(std::move(s));
  if (Status s = stringField(o, "comment", 4096, f.comment); !s.isOk()) return fail(std::move(s));
  if (const json::value* score = o.if_contains("score"); score != nullptr && !score->is_null()) {
    if (!score->is_number()) return fail(invalid("score must be a number", "score"));
    const double v = score->to_number<double>();
    if (!std::isfinite(v) || std::fabs(v) > 1e9) {
      return fail(invalid("score must be a finite number", "score"));
    }
    f.score = v;
  }
  if (!f.score && f.label.empty()) {
    return fail(invalid("give a score, a label, or both", "score"));
  }
  f.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return f;
}

}  // namespace switchyard::telemetry
