#include "switchyard/server/telemetry_routes.h"

#include <openssl/crypto.h>

#include <cstdlib>

#include "switchyard/api/errors.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/core/log.h"
#include "switchyard/telemetry/feedback.h"

namespace switchyard::server {
namespace {

namespace bhttp = boost::beast::http;
constexpr std::string_view kJson = "application/json";

// Constant-time comparison, so response timing does not reveal the token.
bool tokenMatches(std::string_view header, const std::string& token) {
  constexpr std::string_view kBearer = "Bearer ";
  if (!header.starts_with(kBearer)) return false;
  const std::string_view given = header.substr(kBearer.size());
  return given.size() == token.size() &&
         CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

// Parameters by value: they live in the coroutine frame until the send completes.
boost::asio::awaitable<void> sendError(http::ResponseWriter& writer, Status status,
                                       http::ResponseWriter::Headers headers) {
  if (status.retryAfterSeconds() > 0) {
    headers.emplace_back("Retry-After", std::to_string(status.retryAfterSeconds()));
  }
  (void)co_await writer.send(api::httpStatusFor(status), kJson, api::openai::encodeError(status),
                             headers);
}

}  // namespace

TelemetryRoutes::TelemetryRoutes(telemetry::Registry& registry, bool metrics,
                                 std::string metrics_token,
                                 std::shared_ptr<telemetry::RequestLog> log)
    : registry_(registry),
      metrics_(metrics),
      metrics_token_(std::move(metrics_token)),
      log_(std::move(log)) {}

bool TelemetryRoutes::serves(std::string_view path) const {
  return (metrics_ && path == "/metrics") ||
         (log_ != nullptr && (path == "/v1/feedback" || path == "/feedback"));
}

boost::asio::awaitable<void> TelemetryRoutes::handle(std::string_view path, http::Request& req,
                                                     http::ResponseWriter& writer,
                                                     http::ConnectionInfo& /*conn*/,
                                                     pipeline::RequestContext& ctx) {
  const http::ResponseWriter::Headers id{{"x-request-id", ctx.request_id}};
  const bool is_metrics = path == "/metrics";
  const auto wanted = is_metrics ? bhttp::verb::get : bhttp::verb::post;
  if (req.method() != wanted) {
    auto headers = id;
    headers.emplace_back("Allow", is_metrics ? "GET" : "POST");
    co_await sendError(writer, Status(ErrorCode::kInvalidArgument, std::string("method not allowed: use ") +
                                                                 (is_metrics ? "GET" : "POST"))
                             .withHttpStatus(405)
                             .withErrorType("method_not_allowed"),
                         headers);
    co_return;
  }
  if (is_metrics) {
    if (!metrics_token_.empty()) {
      auto it = req.find(bhttp::field::authorization);
      std::string_view given;
      if (it != req.end()) given = it->value();
      // The admin key (SWITCHYARD_ADMIN_KEY) opens every admin surface, metrics included.
      const char* admin = std::getenv("SWITCHYARD_ADMIN_KEY");
      const bool admin_ok = admin != nullptr && *admin != '\0' && tokenMatches(given, admin);
      if (!admin_ok && !tokenMatches(given, metrics_token_)) {
        auto headers = id;
        headers.emplace_back("WWW-Authenticate", "Bearer");
        co_await sendError(writer, Status(ErrorCode::kUnauthenticated,
                                    "metrics need Authorization: Bearer <telemetry.metrics.token>")
                                 .withErrorType("invalid_api_key"),
                             headers);
        co_return;
      }
    }
    (void)co_await writer.send(200, telemetry::Registry::kContentType, registry_.render(), id);
    co_return;
  }
  auto feedback = telemetry::parseFeedback(req.body());
  if (!feedback) {
    co_await sendError(writer, std::move(feedback.error()), id);
    co_return;
  }
  const std::string request_id = feedback->request_id;
  if (!log_->enqueueFeedback(std::move(*feedback))) {
    co_await sendError(writer, Status(ErrorCode::kUnavailable, "feedback queue is full; retry later")
                             .withRetryAfter(1),
                         id);
    co_return;
  }
  std::string body = R"({"object":"feedback","status":"accepted","request_id":")";
  appendJsonEscaped(body, request_id);
  body += "\"}";
  (void)co_await writer.send(202, kJson, std::move(body), id);
}

}  // namespace switchyard::server
