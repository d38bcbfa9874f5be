#include "switchyard/providers/openai/openai_provider.h"

#include <cctype>

#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/rerank_codec.h"
#include "switchyard/http/sse.h"

namespace switchyard::providers {

namespace asio = boost::asio;
namespace codec = api::openai;

namespace {

bool looksLikeStreamError(std::string_view data) {
  const auto start = data.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && data.substr(start).starts_with("{\"error\"");
}

std::vector<http::Header> authHeaders(const config::ProviderConfig& config) {
  std::vector<http::Header> headers;
  if (config.api_key.empty()) return headers;
  if (config.kind == "azure") {
    headers.emplace_back("api-key", config.api_key);  // Azure OpenAI's key header
  } else {
    headers.emplace_back("Authorization", "Bearer " + config.api_key);
  }
  return headers;
}

// A deployment name as one URL path segment.
void appendPathSegment(std::string& out, std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
}

Status decodeError(unsigned http_status, std::string_view body, std::string_view) {
  return codec::decodeUpstreamError(http_status, body);
}

}  // namespace

OpenAIProvider::OpenAIProvider(const config::ProviderConfig& config, http::Origin origin)
    : Provider(config.name),
      upstream_(std::move(origin), authHeaders(config), config),
      azure_api_version_(config.kind == "azure" ? config.api_version : std::string()) {
  for (const config::ModelConfig& m : config.models) {
    if (m.rerank) rerank_models_.insert(m.name);
  }
}

std::string_view OpenAIProvider::pathFor(std::string_view endpoint, std::string_view model,
                                         std::string& buffer) const {
  if (azure_api_version_.empty()) return endpoint;
  buffer = "/openai/deployments/";
  appendPathSegment(buffer, model);
  buffer += endpoint;
  buffer += "?api-version=";
  buffer += azure_api_version_;
  return buffer;
}

Result<ProviderPtr> OpenAIProvider::create(const config::ProviderConfig& config) {
  auto origin = HttpUpstream::parseOrigin(config);
  if (!origin) return fail(std::move(origin.error()));
  return ProviderPtr(new OpenAIProvider(config, std::move(*origin)));
}

asio::awaitable<Result<std::string>> OpenAIProvider::post(std::string_view path,
                                                          std::string body,
                                                          CallContext& ctx) const {
  co_return co_await upstream_.postJson(path, std::move(body), ctx, decodeError);
}

template <typename OnData>
asio::awaitable<StreamOutcome> OpenAIProvider::streamSse(std::string_view path, std::string body,
                                                         CallContext& ctx, StreamSink& sink,
                                                         OnData on_data) const {
  auto opened = co_await upstream_.openStream(path, std::move(body), ctx, decodeError);
  if (!opened) co_return StreamOutcome{std::move(opened.error()), false};
  http::ResponseStream& stream = **opened;

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
  std::string buffer;
  const std::string_view path = pathFor("/chat/completions", request.model, buffer);
  auto body = co_await post(path, codec::encodeChatRequest(request), ctx);
  if (!body) co_return fail(std::move(body.error()));
  auto response = codec::decodeChatResponse(*body);
  if (!response) {
    co_return fail(ErrorCode::kUpstream, "upstream '" + name() + "' sent an invalid chat "
                                         "completion: " + response.error().message());
  }
  response->upstream_json = std::move(*body);
  co_return response;
}

asio::awaitable<StreamOutcome> OpenAIProvider::chatStream(const api::ChatRequest& request,
                                                          ChatSink& sink, CallContext& ctx) {
  std::string buffer;
  const std::string_view path = pathFor("/chat/completions", request.model, buffer);
  co_return co_await streamSse(
      path, codec::encodeChatRequest(request), ctx, sink,
      [&](std::string_view data) -> asio::awaitable<Status> {
        auto chunk = codec::decodeChatChunk(data);
        if (!chunk) {
          co_return Status(ErrorCode::kUpstream, "upstream '" + name() +
                                                     "' sent an invalid stream chunk: " +
                                                     chunk.error().message());
        }
        // One event's data lines arrive joined by '\n', which the client's framing would split.
        if (data.find('\n') == std::string_view::npos) chunk->upstream_json = data;
        co_return co_await sink.onChunk(*chunk);
      });
}

asio::awaitable<Result<api::CompletionResponse>> OpenAIProvider::complete(
    const api::CompletionRequest& request, CallContext& ctx) {
  std::string buffer;
  const std::string_view path = pathFor("/completions", request.model, buffer);
  auto body = co_await post(path, codec::encodeCompletionRequest(request), ctx);
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
  std::string buffer;
  const std::string_view path = pathFor("/completions", request.model, buffer);
  co_return co_await streamSse(
      path, codec::encodeCompletionRequest(request), ctx, sink,
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
  std::string buffer;
  const std::string_view path = pathFor("/embeddings", request.model, buffer);
  auto body = co_await post(path, codec::encodeEmbeddingRequest(request), ctx);
  if (!body) co_return fail(std::move(body.error()));
  auto response = codec::decodeEmbeddingResponse(*body);
  if (!response) {
    co_return fail(ErrorCode::kUpstream, "upstream '" + name() + "' sent invalid embeddings: " +
                                             response.error().message());
  }
  co_return response;
}

asio::awaitable<Result<api::RerankResponse>> OpenAIProvider::rerank(
    const api::RerankRequest& request, CallContext& ctx) {
  if (!rerank_models_.contains(request.model)) {
    co_return fail(Status(ErrorCode::kUnprocessable,
                          "model '" + request.model + "' of provider '" + name() +
                              "' is not a reranker: mark it 'rerank: true' in the config if "
                              "the server serves it at /rerank")
                       .withParam("model"));
  }
  auto body = co_await post("/rerank", api::openai::encodeRerankRequest(request), ctx);
  if (!body) co_return fail(std::move(body.error()));
  auto response = api::openai::decodeRerankResponse(*body, request.documents.size());
  if (!response) {
    co_return fail(ErrorCode::kUpstream,
                   "upstream '" + name() + "' sent " + response.error().message());
  }
  co_return response;
}

}  // namespace switchyard::providers
