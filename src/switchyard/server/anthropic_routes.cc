#include "switchyard/server/anthropic_routes.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <variant>

#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/anthropic/messages_stream.h"
#include "switchyard/api/errors.h"
#include "switchyard/api/json_writer.h"
#include "switchyard/server/encoded_stream_writer.h"

namespace switchyard::server {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace codec = api::anthropic;
using namespace boost::asio::experimental::awaitable_operators;
using pipeline::RequestContext;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kMessagesPath = "/v1/messages";
constexpr std::string_view kCountTokensPath = "/v1/messages/count_tokens";

std::string partType(const api::ContentPart& part) {
  if (const auto* o = part.raw.if_object()) {
    if (const auto* t = o->if_contains("type"); t && t->is_string()) {
      return std::string(t->get_string());
    }
  }
  return "unknown";
}

// What only an Anthropic upstream can serve: its own server tools and block types (document,
// search_result, ...). Other providers reject them here with a 400 that names the feature,
// rather than dropping them.
Status checkPortable(const api::ChatRequest& r, const std::string& provider,
                     std::string_view kind) {
  auto unsupported = [&](std::string what) {
    return Status(ErrorCode::kUnprocessable, "provider '" + provider + "' (kind " +
                                                 std::string(kind) + ") does not support " + what)
        .withErrorType("unsupported_parameter");
  };
  for (const auto& tool : r.tools) {
    if (tool.native.is_null()) continue;
    std::string type = "unknown";
    if (const auto* t = tool.native.as_object().if_contains("type"); t && t->is_string()) {
      type = std::string(t->get_string());
    }
    return unsupported("Anthropic server tool '" + type + "' (tools: " + tool.name + ")");
  }
  for (const auto& m : r.messages) {
    for (const auto& part : m.content) {
      if (part.kind == api::ContentPart::Kind::kOther) {
        return unsupported("Anthropic content block '" + partType(part) + "'");
      }
    }
  }
  return Status::ok();
}

using MessagesStreamWriter = EncodedStreamWriter<codec::MessagesStreamEncoder>;

}  // namespace

bool AnthropicRoutes::serves(std::string_view path) {
  return path == kMessagesPath || path == kCountTokensPath;
}

asio::awaitable<void> AnthropicRoutes::handle(std::string_view path, http::Request& req,
                                              http::ResponseWriter& writer,
                                              http::ConnectionInfo& conn, RequestContext& ctx) {
  ctx.format = pipeline::WireFormat::kAnthropic;
  ctx.endpoint =
      path == kMessagesPath ? pipeline::Endpoint::kMessages : pipeline::Endpoint::kCountTokens;
  if (req.method() != bhttp::verb::post) {
    Status status =
        Status(ErrorCode::kInvalidArgument, "method not allowed: use POST").withHttpStatus(405);
    ctx.http_status = 405;
    http::ResponseWriter::Headers allow{{std::string("Allow"), std::string("POST")}};
    (void)co_await writer.send(405, kJson, codec::encodeError(status), allow);
    co_return;
  }
  // Clients send x-api-key and anthropic-version; both are accepted as they are. The upstream
  // call uses the provider's own key and the version this codec speaks.
  if (path == kMessagesPath) {
    co_await messages(req, writer, conn, ctx);
  } else {
    co_await countTokens(req, writer, conn, ctx);
  }
}

asio::awaitable<void> AnthropicRoutes::messages(http::Request& req, http::ResponseWriter& writer,
                                                http::ConnectionInfo& conn, RequestContext& ctx) {
  auto decoded = codec::decodeMessagesRequest(req.body());
  if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
  api::ChatRequest& request = *decoded;
  ctx.stream = request.stream;
  if (Status s = co_await support_.admit(req, ctx, request); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  if (Status s = support_.plan(request.model, request, ctx); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  const std::string_view kind = providerKind(ctx.provider);
  if (kind != "anthropic") {
    if (Status s = checkPortable(request, ctx.provider, kind); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
  }

  if (!request.stream) {
    auto outcome = co_await writer.unlessClientGone(support_.chat(request, ctx, conn.client));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    auto& result = std::get<0>(outcome);
    if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
    if (result->usage) ctx.usage = *result->usage;
    ctx.first_byte = Clock::now();
    std::string body = codec::encodeMessagesResponse(*result);
    if (!ctx.citations_json.empty()) api::spliceMember(body, "citations", ctx.citations_json);
    co_await sendOk(writer, ctx, std::move(body));
    co_return;
  }

  codec::MessagesStreamEncoder encoder(ctx.model);
  if (!ctx.citations_json.empty()) encoder.setCitations(ctx.citations_json);
  MessagesStreamWriter sink(writer, ctx, std::move(encoder), [this, &ctx] { return headers(ctx); });
  auto outcome =
      co_await writer.unlessClientGone(support_.chatStream(request, sink, ctx, conn.client));
  if (outcome.index() == 1) co_return finishCancelled(ctx);
  providers::StreamOutcome& result = std::get<0>(outcome);
  if (result.status.code() == ErrorCode::kCancelled) co_return finishCancelled(ctx);
  if (!result.status.isOk() && !writer.started()) {
    co_return co_await sendError(writer, ctx, std::move(result.status));
  }
  ctx.http_status = 200;
  co_await sink.finish(result.status);
  if (!result.status.isOk()) ctx.error = std::move(result.status);
  support_.logRequest(ctx);
}

asio::awaitable<void> AnthropicRoutes::countTokens(http::Request& req, http::ResponseWriter& writer,
                                                   http::ConnectionInfo& conn,
                                                   RequestContext& ctx) {
  auto decoded = codec::decodeMessagesRequest(req.body(), /*for_count_tokens=*/true);
  if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
  api::ChatRequest& request = *decoded;
  if (Status s = co_await support_.admit(req, ctx, request); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  if (Status s = support_.plan(request.model, request, ctx); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  auto outcome =
      co_await writer.unlessClientGone(support_.countOrEstimate(request, ctx, conn.client));
  if (outcome.index() == 1) co_return finishCancelled(ctx);
  auto& result = std::get<0>(outcome);
  if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
  const std::int64_t tokens = result->tokens;
  const std::string source = result->estimated ? "estimate" : "upstream";
  ctx.usage.prompt_tokens = tokens;
  ctx.first_byte = Clock::now();
  http::ResponseWriter::Headers extra{{std::string("x-switchyard-token-count"), source}};
  co_await sendOk(writer, ctx, codec::encodeCountTokensResponse(tokens), std::move(extra));
}

// ---- shared steps -------------------------------------------------------------------------

http::ResponseWriter::Headers AnthropicRoutes::headers(const RequestContext& ctx) const {
  auto h = support_.responseHeaders(ctx);
  h.emplace_back("request-id", ctx.request_id);  // where Anthropic's SDKs look for it
  return h;
}

asio::awaitable<void> AnthropicRoutes::sendOk(http::ResponseWriter& writer, RequestContext& ctx,
                                              std::string body,
                                              http::ResponseWriter::Headers extra) {
  ctx.http_status = 200;
  auto h = headers(ctx);
  for (auto& e : extra) h.push_back(std::move(e));
  (void)co_await writer.send(200, kJson, std::move(body), h);
  support_.logRequest(ctx);
}

asio::awaitable<void> AnthropicRoutes::sendError(http::ResponseWriter& writer, RequestContext& ctx,
                                                 Status status) {
  ctx.http_status = api::httpStatusFor(status);
  auto h = headers(ctx);
  if (status.retryAfterSeconds() > 0) {
    h.emplace_back("Retry-After", std::to_string(status.retryAfterSeconds()));
  }
  (void)co_await writer.send(ctx.http_status, kJson, codec::encodeError(status), h);
  ctx.error = std::move(status);
  support_.logRequest(ctx);
}

std::string_view AnthropicRoutes::providerKind(std::string_view provider) const {
  for (const auto& p : support_.gatewayConfig().providers) {
    if (p.name == provider) return p.kind;
  }
  return {};
}

void AnthropicRoutes::finishCancelled(RequestContext& ctx) const {
  ctx.http_status = 499;
  ctx.error = Status(ErrorCode::kCancelled, "client disconnected");
  support_.logRequest(ctx);
}

}  // namespace switchyard::server
