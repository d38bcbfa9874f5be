#include "switchyard/providers/gemini/gemini_provider.h"

#include <ctime>

#include "switchyard/api/gemini/gemini_codec.h"
#include "switchyard/api/gemini/gemini_stream.h"
#include "switchyard/http/sse.h"

namespace switchyard::providers {

namespace asio = boost::asio;
namespace codec = api::gemini;

namespace {

std::vector<http::Header> authHeaders(const config::ProviderConfig& config) {
  std::vector<http::Header> headers;
  if (!config.api_key.empty()) headers.emplace_back("x-goog-api-key", config.api_key);
  return headers;
}

}  // namespace

GeminiProvider::GeminiProvider(const config::ProviderConfig& config, http::Origin origin)
    : Provider(config.name), upstream_(std::move(origin), authHeaders(config), config) {}

Result<ProviderPtr> GeminiProvider::create(const config::ProviderConfig& config) {
  auto origin = HttpUpstream::parseOrigin(config);
  if (!origin) return fail(std::move(origin.error()));
  return ProviderPtr(new GeminiProvider(config, std::move(*origin)));
}

asio::awaitable<Result<api::ChatResponse>> GeminiProvider::chat(const api::ChatRequest& request,
                                                               CallContext& ctx) {
  auto encoded = codec::encodeGenerateContentRequest(request, name());
  if (!encoded) co_return fail(std::move(encoded.error()));
  auto body = co_await upstream_.postJson(codec::methodPath(request.model, false),
                                          std::move(*encoded), ctx, codec::decodeUpstreamError);
  if (!body) co_return fail(std::move(body.error()));
  auto response = codec::decodeGenerateContentResponse(*body, ctx.request_id);
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

asio::awaitable<Result<api::EmbeddingResponse>> GeminiProvider::embed(
    const api::EmbeddingRequest& request, CallContext& ctx) {
  auto encoded = codec::encodeBatchEmbedRequest(request, name());
  if (!encoded) co_return fail(std::move(encoded.error()));
  auto body = co_await upstream_.postJson(codec::embedPath(request.model), std::move(*encoded),
                                          ctx, codec::decodeUpstreamError);
  if (!body) co_return fail(std::move(body.error()));
  auto response = codec::decodeBatchEmbedResponse(*body, request.texts);
  if (!response) {
    co_return fail(ErrorCode::kUpstream, "upstream '" + name() + "' sent an invalid response: " +
                                             response.error().message());
  }
  response->model = request.model;
  co_return response;
}

asio::awaitable<StreamOutcome> GeminiProvider::chatStream(const api::ChatRequest& request,
                                                          ChatSink& sink, CallContext& ctx) {
  auto encoded = codec::encodeGenerateContentRequest(request, name());
  if (!encoded) co_return StreamOutcome{std::move(encoded.error()), false};
  auto opened = co_await upstream_.openStream(codec::methodPath(request.model, true),
                                              std::move(*encoded), ctx,
                                              codec::decodeUpstreamError);
  if (!opened) co_return StreamOutcome{std::move(opened.error()), false};
  http::ResponseStream& stream = **opened;

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
