#include "switchyard/server/responses_routes.h"

#include <chrono>
#include <variant>

#include "switchyard/api/errors.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/responses_codec.h"
#include "switchyard/api/openai/responses_stream.h"
#include "switchyard/server/encoded_stream_writer.h"

namespace switchyard::server {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace codec = api::openai;
using pipeline::RequestContext;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kResponsesPath = "/v1/responses";
constexpr std::string_view kResponsesPathNoVersion = "/responses";

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using ResponsesStreamWriter = EncodedStreamWriter<codec::ResponsesStreamEncoder>;

}  // namespace

bool ResponsesRoutes::serves(std::string_view path) {
  return path == kResponsesPath || path == kResponsesPathNoVersion;
}

asio::awaitable<void> ResponsesRoutes::handle(std::string_view /*path*/, http::Request& req,
                                              http::ResponseWriter& writer,
                                              http::ConnectionInfo& conn, RequestContext& ctx) {
  ctx.format = pipeline::WireFormat::kOpenAI;
  ctx.endpoint = pipeline::Endpoint::kResponses;
  if (req.method() != bhttp::verb::post) {
    // GET /v1/responses/{id} and friends need stored responses; this path only takes POST.
    Status status = Status(ErrorCode::kInvalidArgument, "method not allowed: use POST")
                        .withHttpStatus(405)
                        .withErrorType("method_not_allowed");
    ctx.http_status = 405;
    http::ResponseWriter::Headers allow{{std::string("Allow"), std::string("POST")}};
    (void)co_await writer.send(405, kJson, codec::encodeError(status), allow);
    co_return;
  }

  auto decoded = codec::decodeResponsesRequest(req.body());
  if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
  api::ChatRequest& request = decoded->chat;
  ctx.stream = request.stream;
  if (Status s = co_await support_.admit(req, ctx, request); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  if (Status s = support_.plan(request.model, request, ctx); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  codec::ResponseMeta meta{ctx.request_id, unixNow(), ctx.model, std::move(decoded->echo),
                          ctx.citations_json};

  if (!request.stream) {
    auto outcome = co_await writer.unlessClientGone(support_.chat(request, ctx, conn.client));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    auto& result = std::get<0>(outcome);
    if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
    if (result->usage) ctx.usage = *result->usage;
    ctx.first_byte = Clock::now();
    ctx.http_status = 200;
    (void)co_await writer.send(200, kJson, codec::encodeResponse(*result, meta),
                               support_.responseHeaders(ctx));
    support_.logRequest(ctx);
    co_return;
  }

  ResponsesStreamWriter sink(writer, ctx, codec::ResponsesStreamEncoder(std::move(meta)),
                             [this, &ctx] { return support_.responseHeaders(ctx); });
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

asio::awaitable<void> ResponsesRoutes::sendError(http::ResponseWriter& writer, RequestContext& ctx,
                                                 Status status) {
  ctx.http_status = api::httpStatusFor(status);
  auto h = support_.responseHeaders(ctx);
  if (status.retryAfterSeconds() > 0) {
    h.emplace_back("Retry-After", std::to_string(status.retryAfterSeconds()));
  }
  (void)co_await writer.send(ctx.http_status, kJson, codec::encodeError(status), h);
  ctx.error = std::move(status);
  support_.logRequest(ctx);
}

void ResponsesRoutes::finishCancelled(RequestContext& ctx) const {
  ctx.http_status = 499;
  ctx.error = Status(ErrorCode::kCancelled, "client disconnected");
  support_.logRequest(ctx);
}

}  // namespace switchyard::server
