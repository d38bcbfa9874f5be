#include "switchyard/providers/gemini/gemini_provider.h"

#include <algorithm>
#include <ctime>

#include "switchyard/api/gemini/gemini_codec.h"
#include "switchyard/api/gemini/gemini_stream.h"
#include "switchyard/http/sse.h"

namespace switchyard::providers {

namespace asio = boost::asio;
namespace codec = api::gemini;

namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

}  // namespace

GeminiProvider::GeminiProvider(const config::ProviderConfig& config, http::Origin origin)
    : Provider(config.name), origin_(std::move(origin)) {
  if (!config.api_key.empty()) headers_.emplace_back("x-goog-api-key", config.api_key);
  for (const auto& [name, value] : config.headers) headers_.emplace_back(name, value);
  timeouts_.connect = config.timeouts.connect;
  timeouts_.first_byte = config.timeouts.first_byte;
  timeouts_.idle = config.timeouts.idle;
}

Result<ProviderPtr> GeminiProvider::create(const config::ProviderConfig& config) {
  auto origin = http::Origin::parse(config.base_url);
  if (!origin) {
    return fail(ErrorCode::kInvalidArgument,
                "provider '" + config.name + "': " + origin.error().message());
  }
  return ProviderPtr(new GeminiProvider(config, std::move(*origin)));
}

http::ClientRequest GeminiProvider::makeRequest(std::string path, std::string body,
                                                bool stream) const {
  http::ClientRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = origin_.base_path + path;
  req.headers = headers_;
  req.headers.emplace_back("Content-Type", "application/json");
  if (stream) req.headers.emplace_back("Accept", "text/event-stream");
  req.body = std::move(body);
  return req;
}

http::Timeouts GeminiProvider::timeoutsFor(const CallContext& ctx) const {
  http::Timeouts t = timeouts_;
  if (ctx.deadline != std::chrono::steady_clock::time_point{}) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        ctx.deadline - std::chrono::steady_clock::now());
    left = std::max(left, std::chrono::milliseconds(1));
    t.connect = std::min(t.connect, left);
    t.first_byte = std::min(t.first_byte, left);
    t.idle = std::min(t.idle, left);
  }
  return t;
}

asio::awaitable<Result<api::ChatResponse>> GeminiProvider::chat(const api::ChatRequest& request,
                                                               CallContext& ctx) {
  auto encoded = codec::encodeGenerateContentRequest(request, name());
  if (!encoded) co_return fail(std::move(encoded.error()));
  auto res = co_await ctx.http.send(
      origin_, makeRequest(codec::methodPath(request.model, false), std::move(*encoded), false),
      timeoutsFor(ctx));
  if (!res) co_return fail(std::move(res.error()));
  if (res->status < 200 || res->status >= 300) {
    co_return fail(codec::decodeUpstreamError(res->status, res->body, res->header("retry-after")));
  }
  auto response = codec::decodeGenerateContentResponse(res->body, ctx.request_id);
  if (!response) {
    Status s = std::move(response.error());
    if (s.code() != ErrorCode::kUpstream || !s.errorType().empty()) co_return fail(std::move(s));
    co_return fail(ErrorCode::kUpstream,
                   "upstream '" + name() + "' sent an invalid response: " + s.message());
  }
  if (response->id.empty()) response->id = "chatcmpl-" + ctx.request_id;
  if (response->model.empty()) response->model = request.model;
  response->created = static_cast<std::int64_t>(std::time(nullptr));
  co_return response;
}

asio::awaitable<StreamOutcome> GeminiProvider::chatStream(const api::ChatRequest& request,
                                                          ChatSink& sink, CallContext& ctx) {
  auto encoded = codec::encodeGenerateContentRequest(request, name());
  if (!encoded) co_return StreamOutcome{std::move(encoded.error()), false};
  auto opened = co_await ctx.http.stream(
      origin_, makeRequest(codec::methodPath(request.model, true), std::move(*encoded), true),
      timeoutsFor(ctx));
  if (!opened) co_return StreamOutcome{std::move(opened.error()), false};
  http::ResponseStream& stream = **opened;

  if (stream.status() < 200 || stream.status() >= 300) {
    std::string error_body;
    while (error_body.size() < kMaxErrorBody) {
      auto piece = co_await stream.read();
      if (!piece || piece->empty()) break;
      error_body += *piece;
    }
    co_return StreamOutcome{codec::decodeUpstreamError(stream.status(), error_body,
                                                       stream.header("retry-after")),
                            false};
  }

  http::SseParser parser;
  codec::GenerateContentStreamDecoder decoder(static_cast<std::int64_t>(std::time(nullptr)),
                                              ctx.request_id);
  std::vector<api::ChatChunk> chunks;
  Status event_status;
  bool delivered = false;
  for (;;) {
    auto piece = co_await stream.read();
    if (!piece) {
      Status status = std::move(piece.error());
      co_return StreamOutcome{
          Status(status.code(), "upstream stream from '" + name() + "' broke: " + status.message()),
          delivered};
    }
    chunks.clear();
    auto on_event = [&](const http::SseEvent& event) {
      if (!event_status.isOk()) return;
      event_status = decoder.onEvent(event.data, chunks);
    };
    const bool ended = piece->empty();
    if (ended) {
      parser.finish(on_event);
      if (event_status.isOk()) event_status = decoder.finish(chunks);
    } else {
      parser.feed(*piece, on_event);
    }
    // Chunks decoded before an error event still go out, then the error.
    if (!chunks.empty()) sink.beginBatch();
    for (auto& chunk : chunks) {
      if (chunk.id.empty()) chunk.id = "chatcmpl-" + ctx.request_id;
      if (chunk.model.empty()) chunk.model = request.model;
      Status status = co_await sink.onChunk(chunk);
      if (!status.isOk()) co_return StreamOutcome{std::move(status), delivered};
      delivered = true;
    }
    if (!chunks.empty()) {
      Status status = co_await sink.endBatch();
      if (!status.isOk()) co_return StreamOutcome{std::move(status), delivered};
    }
    if (!event_status.isOk()) {
      Status s = std::move(event_status);
      if (s.code() == ErrorCode::kUpstream && s.errorType().empty()) {
        s = Status(ErrorCode::kUpstream, "upstream '" + name() + "': " + s.message());
      }
      co_return StreamOutcome{std::move(s), delivered};
    }
    if (ended) co_return StreamOutcome{Status::ok(), delivered};
  }
}

}  // namespace switchyard::providers
