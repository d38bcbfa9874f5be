#include "switchyard/providers/anthropic/anthropic_provider.h"

#include <algorithm>
#include <ctime>

#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/anthropic/messages_stream.h"
#include "switchyard/http/sse.h"

namespace switchyard::providers {

namespace asio = boost::asio;
namespace codec = api::anthropic;

namespace {

bool hasHeader(const std::map<std::string, std::string>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& kv) {
    return std::equal(kv.first.begin(), kv.first.end(), name.begin(), name.end(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  });
}

std::vector<http::Header> defaultHeaders(const config::ProviderConfig& config) {
  std::vector<http::Header> headers;
  if (!config.api_key.empty()) headers.emplace_back("x-api-key", config.api_key);
  // A configured anthropic-version (or anthropic-beta) wins over our default.
  if (!hasHeader(config.headers, "anthropic-version")) {
    headers.emplace_back("anthropic-version", std::string(codec::kApiVersion));
  }
  return headers;
}

Status decodeError(unsigned http_status, std::string_view body, std::string_view) {
  return codec::decodeUpstreamError(http_status, body);
}

}  // namespace

AnthropicProvider::AnthropicProvider(const config::ProviderConfig& config, http::Origin origin)
    : Provider(config.name), upstream_(std::move(origin), defaultHeaders(config), config) {}

Result<ProviderPtr> AnthropicProvider::create(const config::ProviderConfig& config) {
  auto origin = HttpUpstream::parseOrigin(config);
  if (!origin) return fail(std::move(origin.error()));
  return ProviderPtr(new AnthropicProvider(config, std::move(*origin)));
}

asio::awaitable<Result<std::string>> AnthropicProvider::post(std::string_view path,
                                                             std::string body,
                                                             CallContext& ctx) const {
  co_return co_await upstream_.postJson(path, std::move(body), ctx, decodeError);
}

asio::awaitable<Result<api::ChatResponse>> AnthropicProvider::chat(
    const api::ChatRequest& request, CallContext& ctx) {
  api::ChatRequest plain = request;
  plain.stream = false;
  auto encoded = codec::encodeMessagesRequest(plain, name());
  if (!encoded) co_return fail(std::move(encoded.error()));
  auto body = co_await post("/v1/messages", std::move(*encoded), ctx);
  if (!body) co_return fail(std::move(body.error()));
  auto response = codec::decodeMessagesResponse(*body);
  if (!response) {
    Status s = std::move(response.error());
    if (!s.errorType().empty()) co_return fail(std::move(s));  // a 200 carrying an error
    co_return fail(ErrorCode::kUpstream,
                   "upstream '" + name() + "' sent an invalid message: " + s.message());
  }
  response->created = static_cast<std::int64_t>(std::time(nullptr));
  co_return response;
}

asio::awaitable<StreamOutcome> AnthropicProvider::chatStream(const api::ChatRequest& request,
                                                             ChatSink& sink, CallContext& ctx) {
  api::ChatRequest streamed = request;
  streamed.stream = true;
  auto encoded = codec::encodeMessagesRequest(streamed, name());
  if (!encoded) co_return StreamOutcome{std::move(encoded.error()), false};
  auto opened =
      co_await upstream_.openStream("/v1/messages", std::move(*encoded), ctx, decodeError);
  if (!opened) co_return StreamOutcome{std::move(opened.error()), false};
  http::ResponseStream& stream = **opened;

  http::SseParser parser;
  codec::MessagesStreamDecoder decoder(static_cast<std::int64_t>(std::time(nullptr)));
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
      event_status = decoder.onEvent(event.event, event.data, chunks);
    };
    if (piece->empty()) {
      parser.finish(on_event);
    } else {
      parser.feed(*piece, on_event);
    }
    // Chunks decoded before an error event still go out, then the error.
    for (const auto& chunk : chunks) {
      Status status = co_await sink.onChunk(chunk);
      if (!status.isOk()) co_return StreamOutcome{std::move(status), delivered};
      delivered = true;
    }
    if (!event_status.isOk()) co_return StreamOutcome{std::move(event_status), delivered};
    if (decoder.done()) co_return StreamOutcome{Status::ok(), delivered};
    if (piece->empty()) {
      // Anthropic always ends with message_stop; a body that ends before it was cut.
      co_return StreamOutcome{Status(ErrorCode::kUpstream, "upstream '" + name() +
                                                               "' ended the stream before "
                                                               "message_stop"),
                              delivered};
    }
  }
}

asio::awaitable<Result<std::int64_t>> AnthropicProvider::countTokens(
    const api::ChatRequest& request, CallContext& ctx) {
  auto encoded = codec::encodeCountTokensRequest(request, name());
  if (!encoded) co_return fail(std::move(encoded.error()));
  auto body = co_await post("/v1/messages/count_tokens", std::move(*encoded), ctx);
  if (!body) co_return fail(std::move(body.error()));
  auto tokens = codec::decodeCountTokensResponse(*body);
  if (!tokens) {
    co_return fail(ErrorCode::kUpstream, "upstream '" + name() + "' sent an invalid token "
                                         "count: " + tokens.error().message());
  }
  co_return *tokens;
}

}  // namespace switchyard::providers
