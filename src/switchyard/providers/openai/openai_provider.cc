#include "switchyard/providers/openai/openai_provider.h"

#include <algorithm>

#include "switchyard/api/openai/codec.h"
#include "switchyard/http/sse.h"

namespace switchyard::providers {

namespace asio = boost::asio;
namespace codec = api::openai;

namespace {

// Upstream error bodies are small JSON documents; anything bigger is cut when read.
constexpr std::size_t kMaxErrorBody = 64 * 1024;

bool looksLikeStreamError(std::string_view data) {
  const auto start = data.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && data.substr(start).starts_with("{\"error\"");
}

}  // namespace

OpenAIProvider::OpenAIProvider(const config::ProviderConfig& config, http::Origin origin)
    : Provider(config.name), origin_(std::move(origin)) {
  if (!config.api_key.empty()) headers_.emplace_back("Authorization", "Bearer " + config.api_key);
  for (const auto& [name, value] : config.headers) headers_.emplace_back(name, value);
  timeouts_.connect = config.timeouts.connect;
  timeouts_.first_byte = config.timeouts.first_byte;
  timeouts_.idle = config.timeouts.idle;
}

Result<ProviderPtr> OpenAIProvider::create(const config::ProviderConfig& config) {
  auto origin = http::Origin::parse(config.base_url);
  if (!origin) {
    return fail(ErrorCode::kInvalidArgument,
                "provider '" + config.name + "': " + origin.error().message());
  }
  return ProviderPtr(new OpenAIProvider(config, std::move(*origin)));
}

http::ClientRequest OpenAIProvider::makeRequest(std::string_view path, std::string body,
                                                bool stream) const {
  http::ClientRequest req;
  req.method = boost::beast::http::verb::post;
  req.target.reserve(origin_.base_path.size() + path.size());
  req.target = origin_.base_path;
  req.target += path;
  req.headers = headers_;
  req.headers.emplace_back("Content-Type", "application/json");
  if (stream) req.headers.emplace_back("Accept", "text/event-stream");
  req.body = std::move(body);
  return req;
}

http::Timeouts OpenAIProvider::timeoutsFor(const CallContext& ctx) const {
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

asio::awaitable<Result<std::string>> OpenAIProvider::post(std::string_view path,
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

template <typename OnData>
asio::awaitable<StreamOutcome> OpenAIProvider::streamSse(std::string_view path, std::string body,
                                                         CallContext& ctx, StreamSink& sink,
                                                         OnData on_data) const {
  auto opened = co_await ctx.http.stream(origin_, makeRequest(path, std::move(body), true),
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
    co_return StreamOutcome{codec::decodeUpstreamError(stream.status(), error_body), false};
  }

  http::SseParser parser;
  // The data of the events one read completed, back to back, and where each one ends: reused
  // for every read, so a long stream does not allocate per event.
  std::string payloads;
  std::vector<std::size_t> ends;
  auto collect = [&](const http::SseEvent& event) {
    payloads += event.data;
    ends.push_back(payloads.size());
  };
  bool delivered = false;
  for (;;) {
    auto piece = co_await stream.read();
    if (!piece) {
      Status status = std::move(piece.error());
      co_return StreamOutcome{
          Status(status.code(), "upstream stream from '" + name() + "' broke: " + status.message()),
          delivered};
    }
    payloads.clear();
    ends.clear();
    if (piece->empty()) {
      parser.finish(collect);
    } else {
      parser.feed(*piece, collect);
    }
    // The events of one read are written to the client together. Returning mid-batch leaves
    // the held bytes to the caller's finish (which writes them with the end of the stream).
    if (!ends.empty()) sink.beginBatch();
    std::size_t begin = 0;
    for (const std::size_t end : ends) {
      const std::string_view data(payloads.data() + begin, end - begin);
      begin = end;
      if (data == "[DONE]") co_return StreamOutcome{Status::ok(), delivered};
      if (looksLikeStreamError(data)) {
        co_return StreamOutcome{codec::decodeUpstreamError(500, data), delivered};
      }
      Status status = co_await on_data(data);
      if (!status.isOk()) co_return StreamOutcome{std::move(status), delivered};
      delivered = true;
    }
    if (!ends.empty()) {
      Status status = co_await sink.endBatch();
      if (!status.isOk()) co_return StreamOutcome{std::move(status), delivered};
    }
    if (piece->empty()) {
      // The body ended without [DONE]: accept it when the stream carried anything at all, as
      // some OpenAI-compatible servers omit the terminator.
      if (delivered) co_return StreamOutcome{Status::ok(), true};
      co_return StreamOutcome{Status(ErrorCode::kUpstream, "upstream '" + name() +
                                                               "' ended the stream without data"),
                              false};
    }
  }
}

asio::awaitable<Result<api::ChatResponse>> OpenAIProvider::chat(const api::ChatRequest& request,
                                                                CallContext& ctx) {
  auto body = co_await post("/chat/completions", codec::encodeChatRequest(request), ctx);
  if (!body) co_return fail(std::move(body.error()));
  auto response = codec::decodeChatResponse(*body);
  if (!response) {
    co_return fail(ErrorCode::kUpstream, "upstream '" + name() + "' sent an invalid chat "
                                         "completion: " + response.error().message());
  }
  co_return response;
}

asio::awaitable<StreamOutcome> OpenAIProvider::chatStream(const api::ChatRequest& request,
                                                          ChatSink& sink, CallContext& ctx) {
  co_return co_await streamSse(
      "/chat/completions", codec::encodeChatRequest(request), ctx, sink,
      [&](std::string_view data) -> asio::awaitable<Status> {
        auto chunk = codec::decodeChatChunk(data);
        if (!chunk) {
          co_return Status(ErrorCode::kUpstream, "upstream '" + name() +
                                                     "' sent an invalid stream chunk: " +
                                                     chunk.error().message());
        }
        co_return co_await sink.onChunk(*chunk);
      });
}

asio::awaitable<Result<api::CompletionResponse>> OpenAIProvider::complete(
    const api::CompletionRequest& request, CallContext& ctx) {
  auto body = co_await post("/completions", codec::encodeCompletionRequest(request), ctx);
  if (!body) co_return fail(std::move(body.error()));
  auto response = codec::decodeCompletionResponse(*body);
  if (!response) {
    co_return fail(ErrorCode::kUpstream, "upstream '" + name() + "' sent an invalid completion: " +
                                             response.error().message());
  }
  co_return response;
}

asio::awaitable<StreamOutcome> OpenAIProvider::completeStream(
    const api::CompletionRequest& request, CompletionSink& sink, CallContext& ctx) {
  co_return co_await streamSse(
      "/completions", codec::encodeCompletionRequest(request), ctx, sink,
      [&](std::string_view data) -> asio::awaitable<Status> {
        auto chunk = codec::decodeCompletionResponse(data);
        if (!chunk) {
          co_return Status(ErrorCode::kUpstream, "upstream '" + name() +
                                                     "' sent an invalid stream chunk: " +
                                                     chunk.error().message());
        }
        co_return co_await sink.onChunk(*chunk);
      });
}

asio::awaitable<Result<api::EmbeddingResponse>> OpenAIProvider::embed(
    const api::EmbeddingRequest& request, CallContext& ctx) {
  auto body = co_await post("/embeddings", codec::encodeEmbeddingRequest(request), ctx);
  if (!body) co_return fail(std::move(body.error()));
  auto response = codec::decodeEmbeddingResponse(*body);
  if (!response) {
    co_return fail(ErrorCode::kUpstream, "upstream '" + name() + "' sent invalid embeddings: " +
                                             response.error().message());
  }
  co_return response;
}

}  // namespace switchyard::providers
