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

constexpr std::size_t kMaxErrorBody = 64 * 1024;

bool hasHeader(const std::map<std::string, std::string>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& kv) {
    return std::equal(kv.first.begin(), kv.first.end(), name.begin(), name.end(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  });
}

}  // namespace

AnthropicProvider::AnthropicProvider(const config::ProviderConfig& config, http::Origin origin)
    : Provider(config.name), origin_(std::move(origin)) {
  if (!config.api_key.empty()) headers_.emplace_back("x-api-key", config.api_key);
  // A configured anthropic-version (or anthropic-beta) wins over our default.
  if (!hasHeader(config.headers, "anthropic-version")) {
    headers_.emplace_back("anthropic-version", std::string(codec::kApiVersion));
  }
  for (const auto& [name, value] : config.headers) headers_.emplace_back(name, value);
  timeouts_.connect = config.timeouts.connect;
  timeouts_.first_byte = config.timeouts.first_byte;
  timeouts_.idle = config.timeouts.idle;
}

Result<ProviderPtr> AnthropicProvider::create(const config::ProviderConfig& config) {
  auto origin = http::Origin::parse(config.base_url);
  if (!origin) {
    return fail(ErrorCode::kInvalidArgument,
                "provider '" + config.name + "': " + origin.error().message());
  }
  return ProviderPtr(new AnthropicProvider(config, std::move(*origin)));
}

http::ClientRequest AnthropicProvider::makeRequest(std::string_view path, std::string body,
                                                   bool stream) const {
  http::ClientRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = origin_.base_path;
  req.target += path;
  req.headers = headers_;
  req.headers.emplace_back("Content-Type", "application/json");
  if (stream) req.headers.emplace_back("Accept", "text/event-stream");
  req.body = std::move(body);
  return req;
}

http::Timeouts AnthropicProvider::timeoutsFor(const CallContext& ctx) const {
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

asio::awaitable<Result<std::string>> AnthropicProvider::post(std::string_view path,
                                                             std::string body,
                                                             CallContext& ctx) const {
  auto res = co_await ctx.http.send(origin_, makeRequest(path, std::move(body), false),
                                    timeoutsFor(ctx));
  if (!res) co_return fail(std::move(res.error()));
  if (res->status < 200 || res->status >= 300) {
    co_return fail(codec::decodeUpstreamError(res->status, res->body));
  }
  co_return std::move(res->body);
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
  auto opened = co_await ctx.http.stream(
      origin_, makeRequest("/v1/messages", std::move(*encoded), true), timeoutsFor(ctx));
  if (!opened) co_return StreamOutcome{std::move(opened.error()), false};
  http::ResponseStream& stream = **opened;

  if (stream.status() < 200 || stream.status() >= 300) {
    std::string error_body;
    while (error_body.size() < kMaxErrorBody) {
      auto piece = co_await stream.read();
      if (!piece || piece->empty()) break;
      error_body += *piece;
    }
    co_return StreamOutcome{codec::decodeUpstreamError(stream.status(), error_body), false};
  }

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
