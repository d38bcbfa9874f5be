#include "switchyard/server/ollama_routes.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <variant>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_writer.h"
#include "switchyard/api/ollama/ollama_stream.h"
#include "switchyard/core/version.h"
#include "switchyard/routing/router.h"
#if SY_WITH_LLAMA
#include "switchyard/engine/model_maker.h"
#endif

namespace switchyard::server {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace codec = api::ollama;
using pipeline::RequestContext;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kJson = "application/json; charset=utf-8";
constexpr std::string_view kNdjson = "application/x-ndjson";
constexpr std::string_view kLatest = ":latest";

std::int64_t nanosBetween(Clock::time_point a, Clock::time_point b) {
  return std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

std::string now() { return codec::formatTimestamp(std::chrono::system_clock::now()); }

bool isModelManagement(std::string_view path) {
  return path == "/api/pull" || path == "/api/push" || path == "/api/create" ||
         path == "/api/copy" || path == "/api/delete" || path.starts_with("/api/blobs/");
}

// Streams native chunks to the client as NDJSON lines, starting the response with the first
// line so that a failure before it can still be a plain HTTP error. The lines of one upstream
// read leave in one socket write.
class NdjsonWriter {
 public:
  NdjsonWriter(http::ResponseWriter& writer, RequestContext& ctx,
               codec::NdjsonStreamEncoder::Mode mode, std::string model,
               std::function<http::ResponseWriter::Headers()> headers)
      : writer_(writer),
        ctx_(ctx),
        encoder_(mode, std::move(model)),
        headers_(std::move(headers)) {}

  template <typename Chunk>
  asio::awaitable<Status> onChunk(const Chunk& chunk) {
    if (chunk.usage) ctx_.usage = *chunk.usage;
    buffer_.clear();
    if constexpr (std::is_same_v<Chunk, api::ChatChunk>) {
      encoder_.onChunk(chunk, buffer_);
    } else {
      encoder_.onCompletionChunk(chunk, buffer_);
    }
    if (buffer_.empty()) co_return Status::ok();
    if (!writer_.started()) {
      ctx_.first_byte = Clock::now();
      Status s = co_await writer_.startStream(200, kNdjson, headers_());
      if (!s.isOk()) co_return s;
      if (!ctx_.citations_json.empty()) {  // on the first line
        api::spliceMember(buffer_, "citations", ctx_.citations_json, buffer_.find('\n'));
      }
    }
    writer_.append(buffer_);
    if (batching_) co_return Status::ok();
    co_return co_await writer_.flush();
  }

  void beginBatch() { batching_ = true; }
  asio::awaitable<Status> endBatch() {
    batching_ = false;
    if (!writer_.started()) co_return Status::ok();
    co_return co_await writer_.flush();
  }

  // The final `done: true` line, or an `{"error":...}` line.
  asio::awaitable<void> finish(const Status& status, const codec::Timings& timings) {
    buffer_.clear();
    if (status.isOk()) {
      encoder_.finish(timings, buffer_);
    } else {
      encoder_.fail(status, buffer_);
    }
    if (!writer_.started()) {
      ctx_.first_byte = Clock::now();
      (void)co_await writer_.startStream(200, kNdjson, headers_());
    }
    writer_.append(buffer_);
    (void)co_await writer_.finish();
  }

 private:
  http::ResponseWriter& writer_;
  RequestContext& ctx_;
  codec::NdjsonStreamEncoder encoder_;
  std::function<http::ResponseWriter::Headers()> headers_;
  std::string buffer_;
  bool batching_ = false;
};

class ChatNdjsonSink final : public providers::ChatSink {
 public:
  explicit ChatNdjsonSink(NdjsonWriter& out) : out_(out) {}
  asio::awaitable<Status> onChunk(const api::ChatChunk& chunk) override {
    co_return co_await out_.onChunk(chunk);
  }
  void beginBatch() override { out_.beginBatch(); }
  asio::awaitable<Status> endBatch() override { co_return co_await out_.endBatch(); }

 private:
  NdjsonWriter& out_;
};

class CompletionNdjsonSink final : public providers::CompletionSink {
 public:
  explicit CompletionNdjsonSink(NdjsonWriter& out) : out_(out) {}
  asio::awaitable<Status> onChunk(const api::CompletionResponse& chunk) override {
    co_return co_await out_.onChunk(chunk);
  }
  void beginBatch() override { out_.beginBatch(); }
  asio::awaitable<Status> endBatch() override { co_return co_await out_.endBatch(); }

 private:
  NdjsonWriter& out_;
};

// Family, size, quantization, dimensions and chat template of a local model from its GGUF
// header (no weights read); left empty when the file cannot be read (the provider reports that
// itself).
void describeGguf([[maybe_unused]] const std::string& path, [[maybe_unused]] codec::ModelInfo& info) {
#if SY_WITH_LLAMA
  auto gguf = engine::inspectModel(path, /*hash_file=*/false);
  if (!gguf) return;
  info.family = gguf->architecture;
  info.parameter_count = gguf->n_params;
  info.quantization_level = codec::quantizationLevel(gguf->file_type);
  info.size_bytes = gguf->file_bytes;
  info.context_length = gguf->n_ctx_train;
  info.embedding_length = gguf->n_embd;
  info.chat_template = gguf->chat_template;
#endif
}

}  // namespace

OllamaRoutes::OllamaRoutes(RouteSupport& support) : support_(support) {}

void OllamaRoutes::setModels(const config::Config& cfg, const routing::Router& router) {
  auto listing = std::make_shared<Listing>();
  routing::RequestSignals signals;
  for (const auto& entry : router.models()) {
    RequestContext ctx;
    if (!router.plan(entry.id, signals, ctx).isOk() || ctx.plan.empty()) continue;
    codec::ModelInfo info;
    info.name = entry.id;
    info.provider = ctx.plan.front().provider;
    info.upstream_model = ctx.plan.front().model;
    for (const auto& p : cfg.providers) {
      if (p.name != info.provider) continue;
      info.provider_kind = p.kind;
      if (p.kind == "local") info.format = "gguf";
      for (const auto& m : p.models) {
        if (m.name != info.upstream_model) continue;
        info.context_window = m.context_window;
        if (p.kind == "local") {
          if (info.context_window == 0) info.context_window = m.local.context;
          info.embedding = m.local.embeddings;
          describeGguf(m.local.path, info);
        }
      }
    }
    listing->models.push_back(std::move(info));
  }
  listing->loaded_at = now();
  listing->tags_body = codec::encodeTags(listing->models, listing->loaded_at);
  listing_.store(std::move(listing));
  std::lock_guard lock(digests_mu_);  // a reload may point a name at another file
  digests_.clear();
}

std::string OllamaRoutes::tagsBody() {
  const auto listing = listing_.load();
  const std::vector<RouteSupport::LoadedLocalModel> loaded = support_.loadedLocalModels();
  std::lock_guard lock(digests_mu_);
  for (const RouteSupport::LoadedLocalModel& l : loaded) {
    if (!l.state.info.sha256.empty()) {
      digests_[l.provider + "/" + l.state.name] = l.state.info.sha256;
    }
  }
  if (digests_.empty()) return listing->tags_body;
  std::vector<codec::ModelInfo> models = listing->models;
  for (codec::ModelInfo& m : models) {
    if (m.provider_kind != "local") continue;
    if (auto it = digests_.find(m.provider + "/" + m.upstream_model); it != digests_.end()) {
      m.digest = it->second;
    }
  }
  return codec::encodeTags(models, listing->loaded_at);
}

// The listing's local models whose engine is loaded now, under each public name that reaches
// them first.
std::string OllamaRoutes::psBody() const {
  const auto listing = listing_.load();
  const std::vector<RouteSupport::LoadedLocalModel> loaded = support_.loadedLocalModels();
  const auto steady_now = std::chrono::steady_clock::now();
  const auto system_now = std::chrono::system_clock::now();
  std::vector<codec::RunningModel> running;
  for (const codec::ModelInfo& m : listing->models) {
    if (m.provider_kind != "local") continue;
    for (const RouteSupport::LoadedLocalModel& l : loaded) {
      if (l.provider != m.provider || l.state.name != m.upstream_model) continue;
      const engine::ModelInfo& info = l.state.info;
      codec::RunningModel r;
      r.model = &m;
      r.digest = info.sha256;
      r.size_bytes = info.tensor_bytes;
      // The weights of the offloaded layers, in proportion (the output layer counts as one).
      if (info.gpu_layers > 0) {
        r.vram_bytes = info.tensor_bytes * static_cast<std::uint64_t>(info.gpu_layers) /
                       static_cast<std::uint64_t>(info.n_layer + 1);
      }
      r.context_length = static_cast<std::int64_t>(l.state.stats.kv_cells_total);
      // Never unloaded: far ahead, as Ollama shows a model it keeps forever. In use: the idle
      // time starts now.
      if (!l.state.unload_after) {
        r.expires_at = system_now + std::chrono::years(100);
      } else {
        const auto last = l.state.leases > 0 ? steady_now : l.state.last_used;
        r.expires_at = system_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                        last + *l.state.unload_after - steady_now);
      }
      running.push_back(std::move(r));
    }
  }
  return codec::encodePs(running);
}

bool OllamaRoutes::serves(std::string_view path) {
  return path == "/" || path == "/api/chat" || path == "/api/generate" || path == "/api/embed" ||
         path == "/api/embeddings" || path == "/api/tags" || path == "/api/show" ||
         path == "/api/ps" || path == "/api/version" || isModelManagement(path);
}

asio::awaitable<void> OllamaRoutes::handle(std::string_view path, http::Request& req,
                                           http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                           RequestContext& ctx) {
  const auto method = req.method();
  const bool get = method == bhttp::verb::get || method == bhttp::verb::head;
  const bool post = method == bhttp::verb::post;
  auto wrongMethod = [&](std::string allowed) -> asio::awaitable<void> {
    ctx.http_status = 405;
    http::ResponseWriter::Headers allow{{std::string("Allow"), allowed}};
    (void)co_await writer.send(405, kJson, codec::encodeError("method not allowed: use " + allowed),
                               allow);
  };

  if (path == "/") {
    if (!get) co_return co_await wrongMethod("GET, HEAD");
    ctx.http_status = 200;
    // Clients probe the server with this; Ollama answers it in plain text.
    std::string body;
    if (method != bhttp::verb::head) body = "Ollama is running";
    (void)co_await writer.send(200, "text/plain; charset=utf-8", std::move(body));
    co_return;
  }
  if (path == "/api/pull" && post) co_return co_await pull(req, writer, ctx);
  if (isModelManagement(path)) {
    Status status = Status(ErrorCode::kUnprocessable,
                           std::string(path) +
                               " is not supported: Switchyard does not manage models; its "
                               "models come from the gateway's configuration (GET /api/tags "
                               "lists them)")
                        .withHttpStatus(501);
    co_return co_await sendError(writer, ctx, std::move(status));
  }
  if (path == "/api/tags" || path == "/api/ps" || path == "/api/version") {
    if (!get) co_return co_await wrongMethod("GET");
    ctx.http_status = 200;
    std::string body;
    if (path == "/api/tags") {
      body = tagsBody();
    } else if (path == "/api/ps") {
      body = psBody();
    } else {
      body = codec::encodeVersion(kVersion);
    }
    (void)co_await writer.send(200, kJson, std::move(body), support_.responseHeaders(ctx));
    co_return;
  }
  if (!post) co_return co_await wrongMethod("POST");
  if (path == "/api/show") co_return co_await show(req, writer, ctx);
  KeepAlive keep_alive;
  if (path == "/api/chat") {
    ctx.endpoint = pipeline::Endpoint::kChat;
    co_await chat(req, writer, conn, ctx, keep_alive);
  } else if (path == "/api/generate") {
    ctx.endpoint = pipeline::Endpoint::kChat;
    co_await generate(req, writer, conn, ctx, keep_alive);
  } else {
    ctx.endpoint = pipeline::Endpoint::kEmbeddings;
    co_await embed(req, writer, conn, ctx, path == "/api/embeddings", keep_alive);
  }
  // As Ollama: every request sets how long its model stays loaded, one without keep_alive
  // the default. ctx.provider is the one that answered (empty when none was planned).
  support_.keepAlive(ctx, keep_alive);
}

template <typename Encode>
asio::awaitable<void> OllamaRoutes::loadOnly(http::ResponseWriter& writer, RequestContext& ctx,
                                             const KeepAlive& keep_alive, Encode body) {
  if (keep_alive && keep_alive->count() == 0) {
    co_return co_await sendOk(writer, ctx, body("unload"));
  }
  if (Status s = co_await support_.preload(ctx); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  co_await sendOk(writer, ctx, body("load"));
}

asio::awaitable<void> OllamaRoutes::chat(http::Request& req, http::ResponseWriter& writer,
                                         http::ConnectionInfo& conn, RequestContext& ctx,
                                         KeepAlive& keep_alive) {
  auto decoded = codec::decodeChatRequest(req.body(), &keep_alive);
  if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
  api::ChatRequest& request = *decoded;
  const std::string model = request.model;
  ctx.stream = request.stream;
  if (Status s = co_await support_.admit(req, ctx, request); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  if (Status s = resolve(model, request, ctx); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  if (request.messages.empty()) {
    co_return co_await loadOnly(writer, ctx, keep_alive, [&](std::string_view reason) {
      return codec::encodeChatLoadResponse(model, now(), reason);
    });
  }

  if (!request.stream) {
    auto outcome = co_await writer.unlessClientGone(support_.chat(request, ctx, conn.client));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    auto& result = std::get<0>(outcome);
    if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
    if (result->usage) ctx.usage = *result->usage;
    ctx.first_byte = Clock::now();
    std::string body = codec::encodeChatResponse(*result, model, now(), timings(ctx));
    if (!ctx.citations_json.empty()) api::spliceMember(body, "citations", ctx.citations_json);
    co_await sendOk(writer, ctx, std::move(body));
    co_return;
  }

  NdjsonWriter out(writer, ctx, codec::NdjsonStreamEncoder::Mode::kChat, model,
                   [this, &ctx] { return support_.responseHeaders(ctx); });
  ChatNdjsonSink sink(out);
  auto outcome =
      co_await writer.unlessClientGone(support_.chatStream(request, sink, ctx, conn.client));
  if (outcome.index() == 1) co_return finishCancelled(ctx);
  providers::StreamOutcome& result = std::get<0>(outcome);
  if (result.status.code() == ErrorCode::kCancelled) co_return finishCancelled(ctx);
  if (!result.status.isOk() && !writer.started()) {
    co_return co_await sendError(writer, ctx, std::move(result.status));
  }
  ctx.http_status = 200;
  co_await out.finish(result.status, timings(ctx));
  if (!result.status.isOk()) ctx.error = std::move(result.status);
  support_.logRequest(ctx);
}

asio::awaitable<void> OllamaRoutes::generate(http::Request& req, http::ResponseWriter& writer,
                                             http::ConnectionInfo& conn, RequestContext& ctx,
                                             KeepAlive& keep_alive) {
  auto decoded = codec::decodeGenerateRequest(req.body());
  if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
  codec::GenerateRequest& request = *decoded;
  keep_alive = request.keep_alive;
  const std::string model = request.raw ? request.completion.model : request.chat.model;
  ctx.stream = request.raw ? request.completion.stream : request.chat.stream;
  Status admitted = Status::ok();
  if (request.raw) {
    admitted = co_await support_.admit(req, ctx, request.completion);
  } else {
    admitted = co_await support_.admit(req, ctx, request.chat);
  }
  if (!admitted.isOk()) co_return co_await sendError(writer, ctx, std::move(admitted));
  Status planned = Status::ok();
  if (request.raw) {
    planned = resolve(model, request.completion, ctx);
  } else {
    planned = resolve(model, request.chat, ctx);
  }
  if (!planned.isOk()) co_return co_await sendError(writer, ctx, std::move(planned));
  if (request.load_only) {
    co_return co_await loadOnly(writer, ctx, keep_alive, [&](std::string_view reason) {
      return codec::encodeGenerateResponse(model, now(), "", "", reason, {}, {});
    });
  }
  if (!ctx.stream) {
    std::string text, thinking;
    api::FinishReason reason = api::FinishReason::kStop;
    boost::json::value logprobs;
    if (request.raw) {
      ctx.endpoint = pipeline::Endpoint::kCompletions;
      auto outcome = co_await writer.unlessClientGone(
          support_.complete(request.completion, ctx, conn.client));
      if (outcome.index() == 1) co_return finishCancelled(ctx);
      auto& result = std::get<0>(outcome);
      if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
      if (result->usage) ctx.usage = *result->usage;
      if (!result->choices.empty()) {
        text = result->choices.front().text;
        reason = result->choices.front().finish_reason;
        logprobs = std::move(result->choices.front().logprobs);
      }
    } else {
      auto outcome =
          co_await writer.unlessClientGone(support_.chat(request.chat, ctx, conn.client));
      if (outcome.index() == 1) co_return finishCancelled(ctx);
      auto& result = std::get<0>(outcome);
      if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
      if (result->usage) ctx.usage = *result->usage;
      if (!result->choices.empty()) {
        const auto& choice = result->choices.front();
        text = choice.message.text();
        thinking = choice.message.reasoning_content;
        reason = choice.finish_reason;
        logprobs = choice.logprobs;
      }
    }
    ctx.first_byte = Clock::now();
    co_await sendOk(
        writer, ctx,
        codec::encodeGenerateResponse(model, now(), text, thinking, codec::doneReason(reason),
                                      ctx.usage, timings(ctx), logprobs));
    co_return;
  }

  NdjsonWriter out(writer, ctx, codec::NdjsonStreamEncoder::Mode::kGenerate, model,
                   [this, &ctx] { return support_.responseHeaders(ctx); });
  std::variant<providers::StreamOutcome, Status> outcome;
  if (request.raw) {
    ctx.endpoint = pipeline::Endpoint::kCompletions;
    CompletionNdjsonSink sink(out);
    outcome = co_await writer.unlessClientGone(
        support_.completeStream(request.completion, sink, ctx, conn.client));
  } else {
    ChatNdjsonSink sink(out);
    outcome = co_await writer.unlessClientGone(
        support_.chatStream(request.chat, sink, ctx, conn.client));
  }
  if (outcome.index() == 1) co_return finishCancelled(ctx);
  providers::StreamOutcome& result = std::get<0>(outcome);
  if (result.status.code() == ErrorCode::kCancelled) co_return finishCancelled(ctx);
  if (!result.status.isOk() && !writer.started()) {
    co_return co_await sendError(writer, ctx, std::move(result.status));
  }
  ctx.http_status = 200;
  co_await out.finish(result.status, timings(ctx));
  if (!result.status.isOk()) ctx.error = std::move(result.status);
  support_.logRequest(ctx);
}

asio::awaitable<void> OllamaRoutes::embed(http::Request& req, http::ResponseWriter& writer,
                                          http::ConnectionInfo& conn, RequestContext& ctx,
                                          bool legacy, KeepAlive& keep_alive) {
  // No conditional operator over Result temporaries here: g++ 12 destroys them twice inside
  // coroutines.
  Result<api::EmbeddingRequest> decoded = fail(ErrorCode::kInternal, "not decoded");
  if (legacy) {
    decoded = codec::decodeEmbeddingsRequest(req.body(), &keep_alive);
  } else {
    decoded = codec::decodeEmbedRequest(req.body(), &keep_alive);
  }
  if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
  api::EmbeddingRequest& request = *decoded;
  const std::string model = request.model;
  if (Status s = co_await support_.admit(req, ctx, request); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  if (Status s = resolve(model, request, ctx); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  auto outcome = co_await writer.unlessClientGone(support_.embed(request, ctx, conn.client));
  if (outcome.index() == 1) co_return finishCancelled(ctx);
  auto& result = std::get<0>(outcome);
  if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
  ctx.usage = result->usage;
  ctx.first_byte = Clock::now();
  std::string body;
  if (legacy) {
    body = codec::encodeEmbeddingsResponse(*result);
  } else {
    body = codec::encodeEmbedResponse(*result, model, timings(ctx));
  }
  co_await sendOk(writer, ctx, std::move(body));
}

asio::awaitable<void> OllamaRoutes::pull(http::Request& req, http::ResponseWriter& writer,
                                         RequestContext& ctx) {
  auto request = codec::decodePullRequest(req.body());
  if (!request) co_return co_await sendError(writer, ctx, std::move(request.error()));
  if (findModel(*listing_.load(), request->model) == nullptr) {
    co_return co_await sendError(
        writer, ctx,
        Status(ErrorCode::kNotFound,
               "model '" + request->model +
                   "' is not served by this gateway, and Switchyard does not download models: "
                   "its models come from its configuration (GET /api/tags lists them)"));
  }
  ctx.http_status = 200;
  // What Ollama's last line says once a model is present (its pull of an up-to-date model
  // reports the layers it checked first).
  (void)co_await writer.send(
      200, request->stream ? "application/x-ndjson" : kJson,
      request->stream ? "{\"status\":\"success\"}\n" : "{\"status\":\"success\"}",
      support_.responseHeaders(ctx));
}

asio::awaitable<void> OllamaRoutes::show(http::Request& req, http::ResponseWriter& writer,
                                         RequestContext& ctx) {
  auto name = codec::decodeShowRequest(req.body());
  if (!name) co_return co_await sendError(writer, ctx, std::move(name.error()));
  const std::shared_ptr<const Listing> listing = listing_.load();
  const codec::ModelInfo* info = findModel(*listing, *name);
  if (info == nullptr) {
    co_return co_await sendError(writer, ctx,
                                 Status(ErrorCode::kNotFound, "model '" + *name + "' not found"));
  }
  ctx.http_status = 200;
  (void)co_await writer.send(200, kJson, codec::encodeShow(*info, listing->loaded_at),
                             support_.responseHeaders(ctx));
}

// ---- shared steps -------------------------------------------------------------------------

const codec::ModelInfo* OllamaRoutes::findModel(const Listing& listing, std::string_view name) {
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& m : listing.models) {
      if (m.name == name) return &m;
    }
    if (!name.ends_with(kLatest)) break;
    name.remove_suffix(kLatest.size());
  }
  return nullptr;
}

template <typename Request>
Status OllamaRoutes::resolve(std::string_view model, const Request& request,
                             RequestContext& ctx) {
  // plan() reads "name:latest" as "name" for every API; only the message is Ollama's own.
  Status s = support_.plan(model, request, ctx);
  if (s.code() == ErrorCode::kNotFound) {
    return Status(ErrorCode::kNotFound, "model '" + std::string(model) + "' not found");
  }
  return s;
}

codec::Timings OllamaRoutes::timings(const RequestContext& ctx) const {
  codec::Timings t;
  const auto end = Clock::now();
  t.total_ns = nanosBetween(ctx.received, end);
  if (ctx.load_ms) t.load_ns = std::llround(*ctx.load_ms * 1e6);
  if (ctx.prompt_ms && ctx.decode_ms) {
    // A local model: the engine timed both phases itself (as Ollama's runner does).
    t.prompt_eval_ns = std::llround(*ctx.prompt_ms * 1e6);
    t.eval_ns = std::llround(*ctx.decode_ms * 1e6);
  } else if (ctx.stream && ctx.upstream_start && ctx.first_byte) {
    t.prompt_eval_ns = nanosBetween(*ctx.upstream_start, *ctx.first_byte);
    t.eval_ns = nanosBetween(*ctx.first_byte, end);
  } else if (ctx.upstream_start) {
    // A whole answer from an API: its two phases cannot be told apart from outside. All of it
    // counts as generation, so eval_count / eval_duration is the rate the client saw rather
    // than an infinite one.
    t.eval_ns = nanosBetween(*ctx.upstream_start, ctx.first_byte.value_or(end));
  }
  return t;
}

asio::awaitable<void> OllamaRoutes::sendOk(http::ResponseWriter& writer, RequestContext& ctx,
                                           std::string body) {
  ctx.http_status = 200;
  (void)co_await writer.send(200, kJson, std::move(body), support_.responseHeaders(ctx));
  support_.logRequest(ctx);
}

asio::awaitable<void> OllamaRoutes::sendError(http::ResponseWriter& writer, RequestContext& ctx,
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

void OllamaRoutes::finishCancelled(RequestContext& ctx) const {
  ctx.http_status = 499;
  ctx.error = Status(ErrorCode::kCancelled, "client disconnected");
  support_.logRequest(ctx);
}

}  // namespace switchyard::server
