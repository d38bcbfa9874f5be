#include "switchyard/server/gateway.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <variant>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_writer.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/core/allocator.h"
#include "switchyard/core/log.h"
#include "switchyard/core/version.h"
#include "switchyard/http/sse.h"
#include "switchyard/pipeline/context.h"
#if SY_WITH_LLAMA
#include "switchyard/providers/local/local_provider.h"
#endif
#include "switchyard/routing/dispatcher.h"
#include "switchyard/routing/task_examples.h"
#include "switchyard/server/admin_routes.h"
#include "switchyard/server/anthropic_routes.h"
#include "switchyard/server/beast_headers.h"
#include "switchyard/server/cors.h"
#include "switchyard/server/extensions.h"
#include "switchyard/server/filtering_sink.h"
#include "switchyard/server/ollama_routes.h"
#include "switchyard/server/reporting_sink.h"
#include "switchyard/server/response_caching.h"
#include "switchyard/server/responses_routes.h"
#include "switchyard/store/database.h"
#include "switchyard/telemetry/trace_content.h"

namespace switchyard::server {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace codec = api::openai;
using namespace boost::asio::experimental::awaitable_operators;
using pipeline::RequestContext;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kJson = "application/json";

}  // namespace

// Request ids: 24 hex digits, the first 12 the Unix time in milliseconds and the rest from a
// per-thread generator (no locks, no syscalls). Ids made later sort later, so the request log's
// index on them grows at its end: random ids put every row on a different index page, and each
// batch then rewrote (and the WAL copied) hundreds of pages.
std::string newRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string id(24, '0');
  std::uint64_t v = static_cast<std::uint64_t>(ms);
  for (int i = 11; i >= 0; --i, v >>= 4) id[i] = kHex[v & 0xf];
  v = rng();
  for (int i = 23; i >= 12; --i, v >>= 4) id[i] = kHex[v & 0xf];
  return id;
}

namespace {

bool acceptableRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Without a `rag:` section: a request that names a collection (the body's "rag", the
// x-switchyard-rag header) gets a 400, not an ungrounded answer (and the body's field is not
// forwarded upstream as an unknown one).
Status refuseRag(const http::Request& req, const api::ChatRequest* chat) {
  const bool in_body = chat != nullptr && chat->extra.contains("rag");
  if (!in_body && req.find("x-switchyard-rag") == req.end()) return Status::ok();
  const std::string where = in_body ? "rag" : "x-switchyard-rag";
  return Status(ErrorCode::kInvalidArgument,
                where +
                    ": retrieval is not enabled on this gateway (its config has no rag: "
                    "section; see docs/rag.md)")
      .withParam(where)
      .withErrorType("rag_not_enabled");
}

double millisBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One model object of GET /v1/models, as OpenAI writes it. `created` is when this gateway's
// listing was loaded (start-up or the last reload), as Ollama's modified_at; 0 would read as 1970.
void appendModel(std::string& body, const routing::ModelListing& m, std::int64_t created) {
  body += R"({"id":")";
  appendJsonEscaped(body, m.id);
  body += R"(","object":"model","created":)";
  body += std::to_string(created);
  body += R"(,"owned_by":")";
  appendJsonEscaped(body, m.owned_by);
  body += "\"}";
}

std::string renderModels(const routing::Router& router, std::int64_t created) {
  std::string body = R"({"object":"list","data":[)";
  bool first = true;
  for (const auto& m : router.models()) {
    if (!first) body += ',';
    first = false;
    appendModel(body, m, created);
  }
  body += "]}";
  return body;
}

// Evaluation scores (`switchyard eval --update-routing`) for the quality strategy, when the
// store has them. Read at start-up and on reload, never on the request path.
routing::QualityScores readQualityScores(const config::Config& config) {
  routing::QualityScores scores;
  if (!config.routing.quality_from_store || !config.storage_url.starts_with("sqlite://")) {
    return scores;  // a fresh SQLite file is not created just to look
  }
  if (!std::filesystem::exists(config.storage_url.substr(9))) return scores;
  auto db = store::openDatabase(config.storage_url);
  if (!db) return scores;
  auto rows = (*db)->query("SELECT target, task_type, score FROM quality_scores");
  if (!rows) return scores;  // no evaluations yet
  for (const auto& row : *rows) scores[row.text(0)][row.text(1)] = row.real(2);
  return scores;
}

}  // namespace

// What a config reload replaces as one: the config, the providers built from it, the router and
// the model listing. A request holds the Runtime it started with (ctx.runtime) to its end, so a
// reload never pulls anything from under an in-flight request.
struct Gateway::Runtime {
  config::Config config;
  providers::Registry registry;
  std::unique_ptr<routing::Router> router;
  // The nearest-neighbour task classifier (routing.classifier); null when not configured.
  std::unique_ptr<routing::ExampleClassifier> task_examples;
  std::string models_body;
  std::int64_t listed_at = 0;  // Unix seconds: when this runtime was built

  static Result<std::shared_ptr<Runtime>> build(config::Config config, bool progress,
                                                const Runtime* previous,
                                                routing::HealthBoard& health,
                                                const pipeline::Pricing* pricing) {
    auto rt = std::make_shared<Runtime>();
    rt->config = std::move(config);
    auto registry = providers::Registry::create(rt->config, progress,
                                                previous ? &previous->registry : nullptr);
    if (!registry) return fail(std::move(registry.error()));
    rt->registry = std::move(*registry);
    rt->router = std::make_unique<routing::Router>(rt->config, health,
                                                   readQualityScores(rt->config));
    rt->router->setPricing(pricing);
    if (!rt->config.routing.classifier.embedding_model.empty()) {
      const auto started = std::chrono::steady_clock::now();
      auto examples = routing::ExampleClassifier::create(
          rt->config, *rt->router, rt->registry, previous ? previous->task_examples.get() : nullptr);
      if (!examples) return fail(std::move(examples.error()));
      rt->task_examples = std::move(*examples);
      const auto& c = *rt->task_examples;
      if (c.ready()) {
        logEvent(spdlog::level::info, "task_classifier_ready",
                 {{"examples", static_cast<long long>(c.settings().examples.size())},
                  {"embedding_model", c.settings().embedding_model},
                  {"ms", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::chrono::steady_clock::now() - started)
                                                    .count())}});
      } else {
        logEvent(spdlog::level::warn, "task_classifier_unavailable",
                 {{"error", c.indexError()},
                  {"note", "the built-in classifier decides until a reload embeds the examples"}});
      }
    }
    rt->listed_at = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    rt->models_body = renderModels(*rt->router, rt->listed_at);
    return rt;
  }
};

// All request handling. One instance, shared by every worker. The routing state it serves
// (Runtime) is swapped atomically by reloads.
class Gateway::Handlers final : public RouteSupport {
 public:
  Handlers(const config::Config& config, std::shared_ptr<const Runtime> runtime,
           std::function<Status()> reload)
      : config_(config),
        runtime_(std::move(runtime)),
        reload_(std::move(reload)),
        cors_(config.server.cors_origins) {
    if (config.telemetry.request_log.enabled) {
      payload_routes_.insert(config.telemetry.request_log.payload_routes.begin(),
                             config.telemetry.request_log.payload_routes.end());
    }
  }

  void setServer(http::Server* server) { server_ = server; }
  void setExtensions(Extensions ext) { ext_ = std::move(ext); }
  // Stored responses of the Responses API (responses.enabled), in the store.
  Status openResponseStore(const config::Config& config) {
    auto db = store::openDatabase(config.storage_url);
    if (!db) return Status(db.error().code(), "storage.url: " + db.error().message());
    responses::ResponseStoreOptions options;
    options.max_age = config.responses.max_age;
    auto opened = responses::ResponseStore::open(std::move(*db), options);
    if (!opened) {
      return Status(opened.error().code(), "responses: " + opened.error().message());
    }
    responses_.setStore(std::move(*opened), config.responses.store_by_default);
    return Status::ok();
  }
  // The response cache (cache.enabled).
  void enableCache(const config::CacheConfig& config) {
    caching_ = std::make_unique<ResponseCaching>(config);
  }
  const Extensions& extensions() const { return ext_; }
  // The start-up configuration (server, log and extension sections are not reloaded).
  const config::Config& gatewayConfig() const override { return config_; }
  routing::HealthBoard& health() { return health_; }
  std::shared_ptr<const Runtime> runtime() const { return runtime_.load(); }
  void setRuntime(std::shared_ptr<const Runtime> runtime) {
    ollama_.setModels(runtime->config, *runtime->router);
    runtime_.store(std::move(runtime));
  }

  asio::awaitable<void> handle(http::Request& req, http::ResponseWriter& writer,
                               http::ConnectionInfo& conn) {
    RequestContext ctx;
    ctx.received = Clock::now();
    ctx.runtime = runtime_.load();
    if (auto it = req.find("x-request-id");
        it != req.end() && acceptableRequestId(it->value())) {
      ctx.request_id = std::string(it->value());
    } else {
      ctx.request_id = newRequestId();
    }

    std::string_view target = req.target();
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    const auto method = req.method();
    if (cors_.enabled()) {
      if (auto origin = req.find(bhttp::field::origin); origin != req.end()) {
        if (applyCors(req, writer, target, origin->value())) {  // a preflight: answered here
          (void)co_await writer.send(204, "text/plain", "");
          co_return;
        }
      }
    }

    if (target == "/v1/chat/completions" || target == "/chat/completions") {
      if (method != bhttp::verb::post) co_return co_await methodNotAllowed(writer, ctx, "POST");
      ctx.endpoint = pipeline::Endpoint::kChat;
      co_await chat(req, writer, conn, ctx);
    } else if (target == "/v1/completions" || target == "/completions") {
      if (method != bhttp::verb::post) co_return co_await methodNotAllowed(writer, ctx, "POST");
      ctx.endpoint = pipeline::Endpoint::kCompletions;
      co_await completions(req, writer, conn, ctx);
    } else if (target == "/v1/embeddings" || target == "/embeddings") {
      if (method != bhttp::verb::post) co_return co_await methodNotAllowed(writer, ctx, "POST");
      ctx.endpoint = pipeline::Endpoint::kEmbeddings;
      co_await embeddings(req, writer, conn, ctx);
    } else if (AnthropicRoutes::serves(target)) {
      co_await anthropic_.handle(target, req, writer, conn, ctx);
    } else if (ResponsesRoutes::serves(target)) {
      co_await responses_.handle(target, req, writer, conn, ctx);
    } else if (target == "/admin/reload") {
      if (method != bhttp::verb::post) co_return co_await methodNotAllowed(writer, ctx, "POST");
      co_await adminReload(req, writer, ctx);
    } else if (target == "/admin/cache") {
      if (method != bhttp::verb::get && method != bhttp::verb::delete_) {
        co_return co_await methodNotAllowed(writer, ctx, "GET, DELETE");
      }
      co_await adminCache(req, method == bhttp::verb::delete_, writer, ctx);
    } else if (target == "/v1/route/explain") {
      if (method != bhttp::verb::post) co_return co_await methodNotAllowed(writer, ctx, "POST");
      co_await explain(req, writer, ctx);
    } else if (target == "/v1/models" || target == "/models") {
      if (method != bhttp::verb::get) co_return co_await methodNotAllowed(writer, ctx, "GET");
      (void)co_await writer.send(200, kJson, rt(ctx).models_body, responseHeaders(ctx));
    } else if (target.starts_with("/v1/models/") || target.starts_with("/models/")) {
      if (method != bhttp::verb::get) co_return co_await methodNotAllowed(writer, ctx, "GET");
      co_await retrieveModel(target.substr(target.find("/models/") + 8), writer, ctx);
    } else if (target == "/healthz" || target == "/health") {  // /health: llama-server, vLLM
      (void)co_await writer.send(200, kJson, R"({"status":"ok"})");
    } else if (target == "/readyz") {
      const bool ready = server_ == nullptr || !server_->draining();
      (void)co_await writer.send(ready ? 200 : 503, kJson,
                                 ready ? R"({"status":"ready"})" : R"({"status":"draining"})");
    } else if (OllamaRoutes::serves(target)) {
      co_await ollama_.handle(target, req, writer, conn, ctx);
    } else if (RouteModule* module = moduleFor(target)) {
      co_await module->handle(target, req, writer, conn, ctx);
    } else {
      Status status = Status(ErrorCode::kNotFound, "Unknown request URL: " +
                                                       std::string(req.method_string()) + " " +
                                                       std::string(target) +
                                                       ". See the API reference for the "
                                                       "endpoints this gateway serves.")
                          .withErrorType("unknown_url");
      co_await sendError(writer, ctx, std::move(status));
    }
  }

 private:
  static const Runtime& rt(const RequestContext& ctx) {
    return *static_cast<const Runtime*>(ctx.runtime.get());
  }

  // POST /admin/reload: re-reads the config file and swaps in new providers and routes; a bad
  // config is rejected (400, with file:line) and the running one keeps serving. Needs the admin
  // key (admin_key or SWITCHYARD_ADMIN_KEY), like every /admin endpoint.
  asio::awaitable<void> adminReload(http::Request& req, http::ResponseWriter& writer,
                                    RequestContext& ctx) {
    if (Status s = checkAdmin(req, config_); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    // Loading and building providers does file I/O (and may load models): off the I/O thread.
    Status result = co_await asio::co_spawn(
        reload_pool_.get_executor(),
        [this]() -> asio::awaitable<Status> { co_return reload_(); }, asio::use_awaitable);
    if (!result.isOk()) co_return co_await sendError(writer, ctx, std::move(result));
    ctx.http_status = 200;
    (void)co_await writer.send(200, kJson, R"({"status":"reloaded"})", responseHeaders(ctx));
  }

  // GET /admin/cache: the response cache's settings and counters; DELETE drops every answer in
  // it. Both need the admin key.
  asio::awaitable<void> adminCache(http::Request& req, bool flush, http::ResponseWriter& writer,
                                   RequestContext& ctx) {
    if (Status s = checkAdmin(req, config_); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    if (!caching_) {
      co_return co_await sendError(
          writer, ctx,
          Status(ErrorCode::kNotFound, "the response cache is off (cache.enabled: false)")
              .withErrorType("cache_disabled"));
    }
    ctx.http_status = 200;
    std::string body;
    api::JsonWriter w(body);
    w.beginObject().key("object").string("cache");
    if (flush) {
      auto flushing = caching_->flush();
      const ResponseCaching::Flushed flushed = co_await std::move(flushing);
      w.key("flushed").unsignedInteger(flushed.memory);
      if (flushed.shared && *flushed.shared) {
        w.key("redis_flushed").unsignedInteger(**flushed.shared);
        logEvent(spdlog::level::info, "cache_flushed",
                 {{"entries", static_cast<long long>(flushed.memory)},
                  {"redis_entries", static_cast<long long>(**flushed.shared)}});
      } else if (flushed.shared) {
        w.key("redis_error").string(flushed.shared->error().message());
        logEvent(spdlog::level::warn, "cache_flushed",
                 {{"entries", static_cast<long long>(flushed.memory)},
                  {"redis_error", flushed.shared->error().message()}});
      } else {
        logEvent(spdlog::level::info, "cache_flushed",
                 {{"entries", static_cast<long long>(flushed.memory)}});
      }
    } else {
      const cache::CacheStats s = caching_->cache().stats();
      const auto& o = caching_->cache().options();
      w.key("ttl_ms").integer(o.ttl.count());
      w.key("max_bytes").unsignedInteger(o.max_bytes);
      w.key("scope").string(config_.cache.scope);
      w.key("entries").unsignedInteger(s.entries);
      w.key("bytes").unsignedInteger(s.bytes);
      w.key("hits").unsignedInteger(caching_->hits());
      w.key("misses").unsignedInteger(caching_->misses());
      w.key("inserts").unsignedInteger(s.inserts);
      w.key("evictions").unsignedInteger(s.evictions);
      if (const cache::SharedTier* shared = caching_->shared()) {
        const cache::SharedTier::Stats r = shared->stats();
        w.key("redis").beginObject();
        w.key("url").string(shared->options().redis.display());
        w.key("up").boolean(r.up);
        w.key("timeout_ms").integer(shared->options().timeout.count());
        w.key("hits").unsignedInteger(r.hits);
        w.key("misses").unsignedInteger(r.misses);
        w.key("errors").unsignedInteger(r.errors);
        w.key("writes").unsignedInteger(r.writes);
        w.key("dropped").unsignedInteger(r.dropped);
        w.endObject();
      }
    }
    w.endObject();
    (void)co_await writer.send(200, kJson, std::move(body), responseHeaders(ctx));
  }

  // The stages that admitted the request settle, last first (budgets, rate limits).
  void settleStages(RequestContext& ctx) const {
    for (int i = std::min<int>(ctx.stages_admitted, static_cast<int>(ext_.stages.size())) - 1;
         i >= 0; --i) {
      ext_.stages[static_cast<std::size_t>(i)]->complete(ctx);
    }
  }

  // GET /v1/models/{model}: one entry of the list (an id with a '/' is written as is or
  // percent-encoded), or 404 naming it.
  asio::awaitable<void> retrieveModel(std::string_view encoded, http::ResponseWriter& writer,
                                      RequestContext& ctx) {
    std::string id(encoded);
    if (auto pct = boost::urls::make_pct_string_view(encoded)) id = pct->decode();
    for (const auto& m : rt(ctx).router->models()) {
      if (m.id != id) continue;
      std::string body;
      appendModel(body, m, rt(ctx).listed_at);
      ctx.http_status = 200;
      (void)co_await writer.send(200, kJson, std::move(body), responseHeaders(ctx));
      co_return;
    }
    co_await sendError(
        writer, ctx,
        Status(ErrorCode::kNotFound, "The model '" + id +
                                         "' does not exist or is not served by this gateway (GET "
                                         "/v1/models lists the available models)")
            .withParam("model")
            .withErrorType("model_not_found"));
  }

  // A browser's request from another origin: an allowed origin gets the CORS headers on the
  // response, whatever answers it; true for a preflight (OPTIONS with
  // Access-Control-Request-Method), which the caller answers with 204 and these headers. The
  // admin API and the dashboard are same-origin only.
  bool applyCors(const http::Request& req, http::ResponseWriter& writer, std::string_view target,
                 std::string_view origin) const {
    if (target.starts_with("/admin") || target.starts_with("/ui")) return false;
    std::optional<std::string> allow = cors_.allow(origin);
    if (!allow) return false;
    const bool any = *allow == "*";
    writer.addHeader("Access-Control-Allow-Origin", std::move(*allow));
    if (!any) writer.addHeader("Vary", "Origin");
    const auto requested = req.find(bhttp::field::access_control_request_method);
    if (req.method() != bhttp::verb::options || requested == req.end()) {
      writer.addHeader("Access-Control-Expose-Headers",
                       "x-request-id, x-switchyard-route, x-switchyard-provider, "
                       "x-switchyard-model, x-switchyard-decision, retry-after");
      return false;
    }
    writer.addHeader("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    const auto headers = req.find(bhttp::field::access_control_request_headers);
    writer.addHeader("Access-Control-Allow-Headers",
                     headers != req.end() && !headers->value().empty()
                         ? std::string(headers->value())
                         : std::string("authorization, content-type, x-api-key"));
    writer.addHeader("Access-Control-Max-Age", "600");
    return true;
  }

  RouteModule* moduleFor(std::string_view path) const {
    for (const auto& module : ext_.routes) {
      if (module->serves(path)) return module.get();
    }
    return nullptr;
  }

  // ---- chat completions --------------------------------------------------------------------

  class ChatStreamWriter final : public providers::ChatSink {
   public:
    ChatStreamWriter(http::ResponseWriter& writer, RequestContext& ctx, bool client_wants_usage,
                     const RouteSupport& support)
        : writer_(writer),
          ctx_(ctx),
          client_wants_usage_(client_wants_usage),
          support_(support) {}

    asio::awaitable<Status> onChunk(const api::ChatChunk& chunk) override {
      if (chunk.usage) ctx_.usage = *chunk.usage;
      const bool forward_usage = client_wants_usage_ || !chunk.usage;
      if (!forward_usage && chunk.choices.empty()) co_return Status::ok();
      if (!writer_.started()) {
        ctx_.first_byte = Clock::now();
        Status s =
            co_await writer_.startStream(200, "text/event-stream", support_.responseHeaders(ctx_));
        if (!s.isOk()) co_return s;
      }
      buffer_.clear();
      buffer_ += "data: ";
      const bool splice_citations = !citations_sent_ && !ctx_.citations_json.empty();
      if (forward_usage && !chunk.upstream_json.empty() && !splice_citations) {
        buffer_ += chunk.upstream_json;  // as the upstream wrote it
      } else if (forward_usage) {
        codec::appendChatChunk(chunk, buffer_);
      } else {
        api::ChatChunk copy = chunk;
        copy.usage.reset();
        codec::appendChatChunk(copy, buffer_);
      }
      buffer_ += "\n\n";
      if (splice_citations) {
        api::spliceMember(buffer_, "citations", ctx_.citations_json);  // on the first chunk
        citations_sent_ = true;
      }
      writer_.append(buffer_);
      if (batching_) co_return Status::ok();
      co_return co_await writer_.flush();
    }

    // The chunks of one upstream read leave in one socket write.
    void beginBatch() override { batching_ = true; }
    asio::awaitable<Status> endBatch() override {
      batching_ = false;
      co_return co_await writer_.flush();
    }

   private:
    http::ResponseWriter& writer_;
    RequestContext& ctx_;
    bool client_wants_usage_;
    bool batching_ = false;
    bool citations_sent_ = false;
    const RouteSupport& support_;
    std::string buffer_;
  };

  asio::awaitable<void> chat(http::Request& req, http::ResponseWriter& writer,
                             http::ConnectionInfo& conn, RequestContext& ctx) {
    auto decoded = codec::decodeChatRequest(req.body());
    if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
    api::ChatRequest& request = *decoded;
    ctx.stream = request.stream;
    if (Status s = co_await admit(req, ctx, request); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    if (Status s = plan(request.model, request, ctx); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }

    if (!request.stream) {
      auto outcome = co_await writer.unlessClientGone(chat(request, ctx, conn.client));
      if (outcome.index() == 1) co_return finishCancelled(ctx);
      auto& result = std::get<0>(outcome);
      if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
      if (result->usage) ctx.usage = *result->usage;
      ctx.first_byte = Clock::now();
      // The upstream's body as it came when nothing changes it; re-encoded with citations (an
      // upstream may send a "citations" member of its own).
      std::string body;
      if (!ctx.citations_json.empty()) {
        body = codec::encodeChatResponse(*result);
        api::spliceMember(body, "citations", ctx.citations_json);
      } else if (!result->upstream_json.empty()) {
        body = std::move(result->upstream_json);
      } else {
        body = codec::encodeChatResponse(*result);
      }
      co_await sendOk(writer, ctx, std::move(body));
      co_return;
    }

    // Always ask for usage upstream so the log has it; strip it if the client did not ask.
    const bool client_wants_usage = request.include_usage;
    request.include_usage = true;
    ChatStreamWriter sink(writer, ctx, client_wants_usage, *this);
    auto outcome =
        co_await writer.unlessClientGone(chatStream(request, sink, ctx, conn.client));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    co_await finishStream(writer, ctx, std::move(std::get<0>(outcome)));
  }

  // ---- text completions --------------------------------------------------------------------

  class CompletionStreamWriter final : public providers::CompletionSink {
   public:
    CompletionStreamWriter(http::ResponseWriter& writer, RequestContext& ctx,
                           const RouteSupport& support)
        : writer_(writer), ctx_(ctx), support_(support) {}

    asio::awaitable<Status> onChunk(const api::CompletionResponse& chunk) override {
      if (chunk.usage) ctx_.usage = *chunk.usage;
      if (!writer_.started()) {
        ctx_.first_byte = Clock::now();
        Status s =
            co_await writer_.startStream(200, "text/event-stream", support_.responseHeaders(ctx_));
        if (!s.isOk()) co_return s;
      }
      buffer_ = "data: ";
      buffer_ += codec::encodeCompletionResponse(chunk, true);
      buffer_ += "\n\n";
      writer_.append(buffer_);
      if (batching_) co_return Status::ok();
      co_return co_await writer_.flush();
    }

    void beginBatch() override { batching_ = true; }
    asio::awaitable<Status> endBatch() override {
      batching_ = false;
      co_return co_await writer_.flush();
    }

   private:
    http::ResponseWriter& writer_;
    RequestContext& ctx_;
    bool batching_ = false;
    const RouteSupport& support_;
    std::string buffer_;
  };

  asio::awaitable<void> completions(http::Request& req, http::ResponseWriter& writer,
                                    http::ConnectionInfo& conn, RequestContext& ctx) {
    auto decoded = codec::decodeCompletionRequest(req.body());
    if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
    api::CompletionRequest& request = *decoded;
    ctx.stream = request.stream;
    if (Status s = co_await admit(req, ctx, request); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    if (Status s = plan(request.model, request, ctx); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }

    if (!request.stream) {
      auto outcome = co_await writer.unlessClientGone(complete(request, ctx, conn.client));
      if (outcome.index() == 1) co_return finishCancelled(ctx);
      auto& result = std::get<0>(outcome);
      if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
      if (result->usage) ctx.usage = *result->usage;
      ctx.first_byte = Clock::now();
      co_await sendOk(writer, ctx, codec::encodeCompletionResponse(*result, false));
      co_return;
    }
    CompletionStreamWriter sink(writer, ctx, *this);
    auto outcome =
        co_await writer.unlessClientGone(completeStream(request, sink, ctx, conn.client));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    co_await finishStream(writer, ctx, std::move(std::get<0>(outcome)));
  }

  // ---- embeddings --------------------------------------------------------------------------

  asio::awaitable<void> embeddings(http::Request& req, http::ResponseWriter& writer,
                                   http::ConnectionInfo& conn, RequestContext& ctx) {
    auto decoded = codec::decodeEmbeddingRequest(req.body());
    if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
    api::EmbeddingRequest& request = *decoded;
    if (Status s = co_await admit(req, ctx, request); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    if (Status s = plan(request.model, request, ctx); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    const std::string encoding = request.encoding_format;
    auto outcome = co_await writer.unlessClientGone(embed(request, ctx, conn.client));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    auto& result = std::get<0>(outcome);
    if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
    ctx.usage = result->usage;
    ctx.first_byte = Clock::now();
    co_await sendOk(writer, ctx, codec::encodeEmbeddingResponse(*result, encoding));
  }

  // ---- shared steps ------------------------------------------------------------------------

  Status identify(const http::Request& req, RequestContext& ctx) override {
    if (!ext_.authenticate) return Status::ok();
    return ext_.authenticate(req, ctx, {});
  }

  asio::awaitable<Status> admitPayload(const http::Request& req, RequestContext& ctx,
                                       api::ChatRequest* chat, api::CompletionRequest* completion,
                                       api::EmbeddingRequest* embedding) override {
    if (auto risk = req.find("x-switchyard-risk"); risk != req.end()) {
      const std::string_view tier = risk->value();
      if (tier.empty() || tier.size() > 32 ||
          !std::all_of(tier.begin(), tier.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
          })) {
        co_return Status(ErrorCode::kInvalidArgument,
                         "x-switchyard-risk must be a short risk tier name such as low or high")
            .withErrorType("invalid_header");
      }
      ctx.risk_tier = std::string(tier);
    }
    if (!ext_.rag) {
      if (Status s = refuseRag(req, chat); !s.isOk()) co_return s;
    }
    ctx.inbound_body = req.body();
    if (caching_ && completion == nullptr) {
      if (auto cc = req.find(bhttp::field::cache_control); cc != req.end()) {
        ResponseCaching::readDirectives(cc->value(), ctx);
      }
    }
    // The body's `cache` controls are taken out whether or not the cache is on: an upstream
    // would refuse the unknown field.
    boost::json::object* extra = chat         ? &chat->extra
                                 : embedding  ? &embedding->extra
                                 : completion ? &completion->extra
                                              : nullptr;
    if (extra != nullptr && !extra->empty()) {
      const bool apply = caching_ && completion == nullptr;
      if (Status s = ResponseCaching::takeBodyControls(*extra, ctx, apply); !s.isOk()) {
        co_return s;
      }
    }
    BeastHeaders headers(req);
    if (ext_.tracing && !ctx.trace) startTrace(req, headers, ctx, chat, completion, embedding);
    if (!ext_.stages.empty()) {
      pipeline::StageInput in{headers, ctx, chat, completion, embedding, req.target()};
      for (const auto& stage : ext_.stages) {
        const auto started = ctx.trace ? Clock::now() : Clock::time_point{};
        Status verdict = co_await stage->admit(in);
        if (ctx.trace) recordStageSpan(ctx, stage->name(), started, verdict);
        if (!verdict.isOk()) co_return verdict;
        ++ctx.stages_admitted;
      }
    }
    if (rt(ctx).task_examples && chat != nullptr) {
      std::string text = routing::lastUserText(*chat);
      co_await classifyByExamples(chat->model, std::move(text), ctx);
    } else if (rt(ctx).task_examples && completion != nullptr) {
      std::string text = routing::promptText(*completion);
      co_await classifyByExamples(completion->model, std::move(text), ctx);
    }
    co_return Status::ok();
  }

  // Traces: the trace context of a sampled request, and the spans of its stages and routing.
  void startTrace(const http::Request& req, const BeastHeaders& headers, RequestContext& ctx,
                  const api::ChatRequest* chat, const api::CompletionRequest* completion,
                  const api::EmbeddingRequest* embedding) {
    ctx.trace = ext_.tracing->start(headers);
    if (!ctx.trace) return;
    std::string_view target = req.target();
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    ctx.trace->http_route = std::string(target);
    ctx.trace->http_method = std::string(req.method_string());
    if (chat != nullptr) {
      ctx.trace->request_model = chat->model;
      ctx.trace->max_tokens = chat->max_tokens;
      ctx.trace->temperature = chat->temperature;
    } else if (completion != nullptr) {
      ctx.trace->request_model = completion->model;
      ctx.trace->max_tokens = completion->max_tokens;
      ctx.trace->temperature = completion->temperature;
    } else if (embedding != nullptr) {
      ctx.trace->request_model = embedding->model;
    }
  }

  static void recordStageSpan(RequestContext& ctx, std::string_view name,
                              Clock::time_point started, const Status& verdict) {
    pipeline::SpanRecord span;
    span.name = std::string(name);
    span.span_id = pipeline::newSpanId();
    span.start = started;
    span.end = Clock::now();
    span.attrs.push_back({"switchyard.stage", span.name});
    if (!verdict.isOk()) {
      span.error = true;
      span.error_type = verdict.errorType().empty() ? std::string(errorCodeName(verdict.code()))
                                                    : verdict.errorType();
      span.attrs.push_back({"error.type", span.error_type});
      span.attrs.push_back(
          {"http.response.status_code", static_cast<std::int64_t>(api::httpStatusFor(verdict))});
    }
    if (name == "guard" && !ctx.guard_summary.empty()) {
      span.attrs.push_back({"switchyard.guard.summary", ctx.guard_summary});  // counts, no values
    }
    if (name == "rag" && !ctx.rag_collection.empty()) {
      span.attrs.push_back({"switchyard.rag.collection", ctx.rag_collection});
    }
    ctx.trace->spans.push_back(std::move(span));
  }

  static void recordRoutingSpan(RequestContext& ctx, Clock::time_point started,
                                const Status& status) {
    pipeline::SpanRecord span;
    span.name = "route";
    span.span_id = pipeline::newSpanId();
    span.start = started;
    span.end = Clock::now();
    auto& a = span.attrs;
    a.push_back({"switchyard.route", ctx.route});
    if (ctx.policy) {
      a.push_back({"switchyard.routing.strategy",
                   std::string(routing::strategyName(ctx.policy->strategy))});
    }
    a.push_back({"switchyard.routing.decision", ctx.decision});
    a.push_back({"switchyard.routing.candidates", static_cast<std::int64_t>(ctx.plan.size())});
    if (!ctx.task_type.empty()) a.push_back({"switchyard.task_type", ctx.task_type});
    if (!ctx.risk_tier.empty()) a.push_back({"switchyard.risk_tier", ctx.risk_tier});
    a.push_back({"switchyard.local_only", ctx.local_only});
    if (!status.isOk()) {
      span.error = true;
      span.error_type = status.errorType().empty() ? std::string(errorCodeName(status.code()))
                                                   : status.errorType();
      a.push_back({"error.type", span.error_type});
    }
    ctx.trace->spans.push_back(std::move(span));
  }

  // Payload capture for routes that opted in. Bodies that the guard had to act on are withheld:
  // they hold the very values it kept from the upstream.
  void capturePayload(RequestContext& ctx) const {
    if (payload_routes_.empty() || ctx.route.empty() || !payload_routes_.contains(ctx.route)) {
      return;
    }
    if (!ctx.guard_summary.empty()) {
      ctx.request_payload = "[withheld: guard intervened (" + ctx.guard_summary + ")]";
      ctx.response_payload = ctx.request_payload;
      return;
    }
    ctx.capture_payload = true;
    ctx.request_payload.assign(
        ctx.inbound_body.substr(0, config_.telemetry.request_log.max_payload_bytes));
  }
  // Trace content capture (telemetry.traces.capture_content): the prompt as the guard left it.
  // Like payload capture it never takes values the guard kept from an upstream: not for masked
  // requests (the vault's values come back in the answer) nor local-only ones (private data or
  // a private RAG collection, which must not leave for a collector either). Blocked requests
  // never get here.
  template <typename Request>
  void captureTraceInput(RequestContext& ctx, const Request& request) const {
    const config::TracesConfig& traces = config_.telemetry.traces;
    if (!traces.capture_content) return;
    if (ctx.local_only) {
      ctx.trace->content_withheld = "local_only (" + ctx.local_only_reason + ")";
      return;
    }
    if (ctx.guard_summary.find(":mask:") != std::string::npos) {
      ctx.trace->content_withheld = "guard masked (" + ctx.guard_summary + ")";
      return;
    }
    ctx.trace->capture_content = true;
    ctx.trace->input_messages = telemetry::inputMessagesJson(request, traces.max_content_bytes);
  }
  static bool capturingContent(const RequestContext& ctx) {
    return ctx.trace && ctx.trace->capture_content;
  }
  // The streamed answer for the trace, or null when not captured.
  std::unique_ptr<telemetry::StreamedOutput> streamedOutput(const RequestContext& ctx) const {
    if (!capturingContent(ctx)) return nullptr;
    return std::make_unique<telemetry::StreamedOutput>(
        config_.telemetry.traces.max_content_bytes);
  }

  void captureResponse(RequestContext& ctx, std::string body) const {
    if (!ctx.capture_payload) return;
    body.resize(std::min(body.size(), config_.telemetry.request_log.max_payload_bytes));
    ctx.response_payload = std::move(body);
  }

  // The nearest-neighbour task classifier, for routes whose decision depends on the task type,
  // after the stages (it sees redacted text) and only where the config's task rules are silent.
  // Its answer reaches routing through ctx.task_type/task_reason; when it cannot decide (no
  // example similar enough, the embedding call failed or timed out) the built-in classifier
  // does, as without it. Text of a local-only request goes only to an on-prem embedding model.
  asio::awaitable<void> classifyByExamples(std::string_view model, std::string text,
                                           RequestContext& ctx) {
    const Runtime& runtime = rt(ctx);
    const routing::ExampleClassifier& examples = *runtime.task_examples;
    if (!examples.ready() || !runtime.router->usesTaskType(model) || text.empty()) co_return;
    if (ctx.local_only && !examples.onPrem()) co_return;
    if (runtime.router->classifier().matchesTaskRule(text)) co_return;
    auto vote = co_await examples.classify(std::move(text));
    if (!vote) {
      logEvent(spdlog::level::debug, "task_classifier_failed",
               {{"request_id", ctx.request_id}, {"error", vote.error().message()}});
      co_return;
    }
    if (!*vote) co_return;
    const routing::TaskVote& v = **vote;
    ctx.task_type = v.task;
    char similarity[16];
    std::snprintf(similarity, sizeof similarity, "%.2f", v.similarity);
    ctx.task_reason = "nearest examples: " + v.task + " (similarity " + similarity + ", " +
                      std::to_string(v.votes) + " of " + std::to_string(v.k) + ")";
  }

  // ---- routing and dispatch ------------------------------------------------------------

  // POST /v1/route/explain: a chat request in, the routing decision out, no model called. The
  // admission stages run first (auth, guard verdicts), exactly as for the real request.
  asio::awaitable<void> explain(http::Request& req, http::ResponseWriter& writer,
                                RequestContext& ctx) {
    auto decoded = codec::decodeChatRequest(req.body());
    if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
    api::ChatRequest& request = *decoded;
    if (Status s = co_await admit(req, ctx, request); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    routing::RequestSignals signals =
        routing::signalsOf(request, &rt(ctx).router->classifier(), ctx.risk_tier, true);
    routing::Explanation explanation;
    (void)planWith(request.model, signals, ctx, &explanation);
    ctx.http_status = 200;
    (void)co_await writer.send(200, kJson, routing::explanationJson(explanation),
                               responseHeaders(ctx));
    // Not a model request: nothing to log, but the stages that admitted it settle.
    settleStages(ctx);
  }

  Status plan(std::string_view model, const api::ChatRequest& request,
              RequestContext& ctx) override {
    routing::RequestSignals signals = routing::signalsOf(
        request, rt(ctx).router->classifierFor(model), ctx.risk_tier);
    Status planned = planWith(model, signals, ctx);
    if (planned.isOk() && ctx.trace) captureTraceInput(ctx, request);
    return planned;
  }
  Status plan(std::string_view model, const api::CompletionRequest& request,
              RequestContext& ctx) override {
    routing::RequestSignals signals = routing::signalsOf(
        request, rt(ctx).router->classifierFor(model), ctx.risk_tier);
    Status planned = planWith(model, signals, ctx);
    if (planned.isOk() && ctx.trace) captureTraceInput(ctx, request);
    return planned;
  }
  Status plan(std::string_view model, const api::EmbeddingRequest& request,
              RequestContext& ctx) override {
    routing::RequestSignals signals = routing::signalsOf(request);
    return planWith(model, signals, ctx);
  }

  // What the admission stages decided (guard verdict, key scope, budget) joins the request's
  // own signals; the same path serves real requests and explain.
  Status planWith(std::string_view model, routing::RequestSignals& signals, RequestContext& ctx,
                  routing::Explanation* explanation = nullptr) {
    ctx.requested_model = std::string(model);
    if (!ctx.task_reason.empty()) {  // the nearest-neighbour classifier decided
      signals.task_type = ctx.task_type;
      signals.task_reason = ctx.task_reason;
    }
    signals.local_only = ctx.local_only;
    signals.local_only_reason = ctx.local_only_reason;
    if (!ctx.allowed_providers.empty()) signals.allowed_providers = &ctx.allowed_providers;
    signals.budget_remaining = ctx.budget_remaining;
    const auto started = ctx.trace ? Clock::now() : Clock::time_point{};
    Status planned = rt(ctx).router->plan(model, signals, ctx, explanation);
    // "name:latest" is Ollama's spelling of "name" (clients moved from Ollama's /v1 send it).
    constexpr std::string_view kLatest = ":latest";
    if (planned.code() == ErrorCode::kNotFound && model.ends_with(kLatest) &&
        model.size() > kLatest.size()) {
      Status bare = rt(ctx).router->plan(model.substr(0, model.size() - kLatest.size()), signals,
                                         ctx, explanation);
      if (bare.code() != ErrorCode::kNotFound) planned = std::move(bare);
    }
    if (ctx.trace) recordRoutingSpan(ctx, started, planned);
    if (!planned.isOk()) return planned;
    ctx.provider = ctx.plan.front().provider;
    ctx.model = ctx.plan.front().model;
    capturePayload(ctx);
    return Status::ok();
  }

  Clock::time_point deadlineOf(const RequestContext& ctx) const {
    return ctx.received + config_.server.request_timeout;
  }

  asio::awaitable<Result<api::ChatResponse>> chat(api::ChatRequest& request, RequestContext& ctx,
                                                  http::HttpClient& http) override {
    // The response cache keeps the upstream's answer before the output filter runs.
    ResponseCaching::Lookup cached;
    if (caching_) cached = caching_->lookUp(ctx, request, false);
    if (cached.ask_shared) {
      auto asked = caching_->askShared(ctx, cached);
      co_await std::move(asked);
    }
    Result<api::ChatResponse> result = api::ChatResponse{};
    if (const auto* answer =
            cached.hit ? std::get_if<api::ChatResponse>(&cached.hit->value) : nullptr) {
      *result = *answer;
    } else {
      result =
          co_await routing::Dispatcher(rt(ctx).registry)
              .call<api::ChatResponse>(ctx, http, deadlineOf(ctx),
                                       [&request](providers::Provider& p, const pipeline::Target& t,
                                                  providers::CallContext& call) {
                                         request.model = t.model;
                                         return p.chat(request, call);
                                       });
      if (result && cached.key && ResponseCaching::complete(*result)) {
        caching_->store(*cached.key, ctx, *result);
      }
    }
    if (result && ctx.output_filter) {
      result->upstream_json.clear();  // the text changes
      for (auto& choice : result->choices) {
        for (auto& part : choice.message.content) {
          if (part.kind != api::ContentPart::Kind::kText) continue;
          std::string text = ctx.output_filter->write(choice.index, part.text);
          text += ctx.output_filter->flush(choice.index);
          part.text = std::move(text);
        }
      }
    }
    if (result && ctx.capture_payload) {
      captureResponse(ctx, result->upstream_json.empty() ? codec::encodeChatResponse(*result)
                                                         : result->upstream_json);
    }
    if (result && capturingContent(ctx)) {
      ctx.trace->output_messages =
          telemetry::outputMessagesJson(*result, config_.telemetry.traces.max_content_bytes);
    }
    co_return result;
  }

  asio::awaitable<providers::StreamOutcome> chatStream(api::ChatRequest& request,
                                                       providers::ChatSink& sink,
                                                       RequestContext& ctx,
                                                       http::HttpClient& http) override {
    // Payloads and trace content are captured after the output filter (what the client got);
    // the model's reports are read before it.
    // Without capture the chain has no capturing link.
    auto streamed = streamedOutput(ctx);
    ReportingChatSink captured(sink, ctx.capture_payload ? &ctx.response_payload : nullptr,
                               config_.telemetry.request_log.max_payload_bytes, streamed.get());
    providers::ChatSink& client_sink =
        ctx.capture_payload || streamed ? static_cast<providers::ChatSink&>(captured) : sink;
    FilteringChatSink filtered(client_sink, ctx.output_filter.get());
    providers::ChatSink& target_sink =
        ctx.output_filter ? static_cast<providers::ChatSink&>(filtered) : client_sink;
    // The response cache: a hit replays the stored chunks (through the output filter, as the
    // upstream's would go); a miss records them on their way (before the filter).
    ResponseCaching::Lookup cached;
    if (caching_) cached = caching_->lookUp(ctx, request, true);
    if (cached.ask_shared) {
      auto asked = caching_->askShared(ctx, cached);
      co_await std::move(asked);
    }
    if (const auto* chunks = cached.hit
                                 ? std::get_if<std::vector<cache::StoredChunk>>(&cached.hit->value)
                                 : nullptr) {
      auto replayed = replayChunks(*chunks, target_sink);
      auto outcome = co_await std::move(replayed);
      if (streamed) ctx.trace->output_messages = streamed->json();
      co_return outcome;
    }
    const bool recording = cached.key.has_value();
    RecordingChatSink recorder(target_sink, caching_ ? caching_->maxEntryBytes() : 0);
    ReportingChatSink reporting(
        recording ? static_cast<providers::ChatSink&>(recorder) : target_sink, nullptr, 0);
    auto outcome = co_await routing::Dispatcher(rt(ctx).registry).stream(
        ctx, http, deadlineOf(ctx),
        [&request, &reporting](providers::Provider& p, const pipeline::Target& t,
                               providers::CallContext& call) {
          request.model = t.model;
          reporting.reportTo(call);
          return p.chatStream(request, reporting, call);
        });
    if (recording && outcome.status.isOk() && recorder.complete()) {
      caching_->store(*cached.key, ctx, recorder.take());
    }
    if (streamed) ctx.trace->output_messages = streamed->json();
    co_return outcome;
  }

  asio::awaitable<Result<api::CompletionResponse>> complete(api::CompletionRequest& request,
                                                            RequestContext& ctx,
                                                            http::HttpClient& http) override {
    auto result = co_await routing::Dispatcher(rt(ctx).registry).call<api::CompletionResponse>(
        ctx, http, deadlineOf(ctx),
        [&request](providers::Provider& p, const pipeline::Target& t,
                   providers::CallContext& call) {
          request.model = t.model;
          return p.complete(request, call);
        });
    if (result && ctx.output_filter) {
      for (auto& choice : result->choices) {
        std::string text = ctx.output_filter->write(choice.index, choice.text);
        text += ctx.output_filter->flush(choice.index);
        choice.text = std::move(text);
      }
    }
    if (result && ctx.capture_payload) {
      captureResponse(ctx, codec::encodeCompletionResponse(*result, false));
    }
    if (result && capturingContent(ctx)) {
      ctx.trace->output_messages =
          telemetry::outputMessagesJson(*result, config_.telemetry.traces.max_content_bytes);
    }
    co_return result;
  }

  asio::awaitable<providers::StreamOutcome> completeStream(api::CompletionRequest& request,
                                                           providers::CompletionSink& sink,
                                                           RequestContext& ctx,
                                                           http::HttpClient& http) override {
    // As for chat: captured after the output filter, reported before it.
    auto streamed = streamedOutput(ctx);
    ReportingCompletionSink captured(sink,
                                     ctx.capture_payload ? &ctx.response_payload : nullptr,
                                     config_.telemetry.request_log.max_payload_bytes,
                                     streamed.get());
    providers::CompletionSink& client_sink =
        ctx.capture_payload || streamed ? static_cast<providers::CompletionSink&>(captured)
                                        : sink;
    FilteringCompletionSink filtered(client_sink, ctx.output_filter.get());
    providers::CompletionSink& target_sink =
        ctx.output_filter ? static_cast<providers::CompletionSink&>(filtered) : client_sink;
    ReportingCompletionSink reporting(target_sink, nullptr, 0);
    auto outcome = co_await routing::Dispatcher(rt(ctx).registry).stream(
        ctx, http, deadlineOf(ctx),
        [&request, &reporting](providers::Provider& p, const pipeline::Target& t,
                               providers::CallContext& call) {
          request.model = t.model;
          reporting.reportTo(call);
          return p.completeStream(request, reporting, call);
        });
    if (streamed) ctx.trace->output_messages = streamed->json();
    co_return outcome;
  }

  asio::awaitable<Result<api::EmbeddingResponse>> embed(api::EmbeddingRequest& request,
                                                        RequestContext& ctx,
                                                        http::HttpClient& http) override {
    ResponseCaching::Lookup cached;
    if (caching_) cached = caching_->lookUp(ctx, request);
    if (cached.ask_shared) {
      auto asked = caching_->askShared(ctx, cached);
      co_await std::move(asked);
    }
    if (const auto* answer =
            cached.hit ? std::get_if<api::EmbeddingResponse>(&cached.hit->value) : nullptr) {
      co_return *answer;
    }
    auto result = co_await routing::Dispatcher(rt(ctx).registry)
                      .call<api::EmbeddingResponse>(
                          ctx, http, deadlineOf(ctx),
                          [&request](providers::Provider& p, const pipeline::Target& t,
                                     providers::CallContext& call) {
                            request.model = t.model;
                            return p.embed(request, call);
                          });
    if (result && cached.key) caching_->store(*cached.key, ctx, *result);
    co_return result;
  }

  asio::awaitable<Result<std::int64_t>> countTokens(api::ChatRequest& request,
                                                    RequestContext& ctx,
                                                    http::HttpClient& http) override {
    co_return co_await routing::Dispatcher(rt(ctx).registry).call<std::int64_t>(
        ctx, http, deadlineOf(ctx),
        [&request](providers::Provider& p, const pipeline::Target& t,
                   providers::CallContext& call) {
          request.model = t.model;
          return p.countTokens(request, call);
        });
  }

  http::ResponseWriter::Headers responseHeaders(const RequestContext& ctx) const override {
    http::ResponseWriter::Headers headers;
    headers.reserve(5);
    headers.emplace_back("x-request-id", ctx.request_id);
    if (!ctx.provider.empty()) {
      headers.emplace_back("x-switchyard-provider", ctx.provider);
      headers.emplace_back("x-switchyard-model", ctx.model);
      if (!ctx.route.empty()) headers.emplace_back("x-switchyard-route", ctx.route);
      headers.emplace_back("x-switchyard-decision", ctx.decision);
    }
    for (const auto& h : ctx.response_headers) headers.push_back(h);
    return headers;
  }

  asio::awaitable<void> sendOk(http::ResponseWriter& writer, RequestContext& ctx,
                               std::string body) {
    ctx.http_status = 200;
    (void)co_await writer.send(200, kJson, std::move(body), responseHeaders(ctx));
    logRequest(ctx);
  }

  asio::awaitable<void> sendError(http::ResponseWriter& writer, RequestContext& ctx,
                                  Status status) {
    ctx.http_status = api::httpStatusFor(status);
    auto headers = responseHeaders(ctx);
    if (status.retryAfterSeconds() > 0) {
      headers.emplace_back("Retry-After", std::to_string(status.retryAfterSeconds()));
    }
    (void)co_await writer.send(ctx.http_status, kJson, codec::encodeError(status), headers);
    ctx.error = std::move(status);
    logRequest(ctx);
  }

  asio::awaitable<void> methodNotAllowed(http::ResponseWriter& writer, RequestContext& ctx,
                                         std::string_view allowed) {
    Status status = Status(ErrorCode::kInvalidArgument,
                           "method not allowed: use " + std::string(allowed))
                        .withHttpStatus(405)
                        .withErrorType("method_not_allowed");
    ctx.http_status = 405;
    http::ResponseWriter::Headers headers{{std::string("Allow"), std::string(allowed)}};
    (void)co_await writer.send(405, kJson, codec::encodeError(status), headers);
  }

  // Ends a stream: [DONE] on success; on failure either a normal error response (nothing was
  // sent yet) or an error event inside the stream, in OpenAI's format.
  asio::awaitable<void> finishStream(http::ResponseWriter& writer, RequestContext& ctx,
                                     providers::StreamOutcome outcome) {
    if (outcome.status.code() == ErrorCode::kCancelled) co_return finishCancelled(ctx);
    if (!outcome.status.isOk() && !writer.started()) {
      co_return co_await sendError(writer, ctx, std::move(outcome.status));
    }
    if (!writer.started()) {
      ctx.first_byte = Clock::now();
      (void)co_await writer.startStream(200, "text/event-stream", responseHeaders(ctx));
    }
    ctx.http_status = 200;
    // The end of the stream leaves with whatever the last batch still holds, in one write.
    if (outcome.status.isOk()) {
      writer.append("data: [DONE]\n\n");
    } else {
      std::string event = "data: ";
      event += codec::encodeError(outcome.status);
      event += "\n\n";
      writer.append(event);
      ctx.error = std::move(outcome.status);
    }
    (void)co_await writer.finish();
    logRequest(ctx);
  }

  void finishCancelled(RequestContext& ctx) {
    ctx.http_status = 499;
    ctx.error = Status(ErrorCode::kCancelled, "client disconnected");
    logRequest(ctx);
  }

#if SY_WITH_LLAMA
  // The `local` provider of that name in `rt`, or null (unknown, or another kind).
  static providers::LocalProvider* localProvider(const Runtime& rt, std::string_view name) {
    return dynamic_cast<providers::LocalProvider*>(rt.registry.find(name));
  }
#endif

  std::vector<LoadedLocalModel> loadedLocalModels() const override {
    std::vector<LoadedLocalModel> loaded;
#if SY_WITH_LLAMA
    const auto rt = runtime_.load();
    for (const config::ProviderConfig& pc : rt->config.providers) {
      auto* local = localProvider(*rt, pc.name);
      if (local == nullptr) continue;
      for (engine::ModelState& state : local->models().states()) {
        if (state.loaded) loaded.push_back({pc.name, std::move(state)});
      }
    }
#endif
    return loaded;
  }

  void keepAlive(const RequestContext& ctx,
                 std::optional<std::chrono::milliseconds> keep) const override {
#if SY_WITH_LLAMA
    if (ctx.provider.empty()) return;
    if (auto* local = localProvider(*runtime_.load(), ctx.provider)) {
      local->models().setKeepAlive(ctx.model, keep);
    }
#else
    (void)ctx;
    (void)keep;
#endif
  }

  asio::awaitable<Status> preload(const RequestContext& ctx) const override {
#if SY_WITH_LLAMA
    if (ctx.provider.empty()) co_return Status::ok();
    const auto rt = runtime_.load();  // held across the load: the provider stays alive
    if (auto* local = localProvider(*rt, ctx.provider)) {
      co_return co_await local->preload(ctx.model);
    }
#else
    (void)ctx;
#endif
    co_return Status::ok();
  }

  // The log phase: settle the stages that admitted the request (last first), hand it to the
  // observers, then one structured line per request.
  void logRequest(RequestContext& ctx) const override {
    if (ext_.pricing && !ctx.provider.empty() && !ctx.cacheHit()) {
      ctx.cost_usd = ext_.pricing->cost(ctx.provider, ctx.model, ctx.usage);
    }
    settleStages(ctx);
    for (const auto& observer : ext_.observers) observer->onRequestDone(ctx);
    if (!config_.log.access_log) return;
    const auto now = Clock::now();
    const double total_ms = millisBetween(ctx.received, now);
    const double ttft_ms =
        ctx.first_byte && ctx.upstream_start ? millisBetween(*ctx.upstream_start, *ctx.first_byte)
                                             : 0.0;
    const auto level = ctx.http_status >= 500 ? spdlog::level::warn : spdlog::level::info;
    logEvent(level, "request",
             {{"id", ctx.request_id},
              {"endpoint", pipeline::endpointName(ctx.endpoint)},
              {"stream", ctx.stream},
              {"model", ctx.requested_model},
              {"route", ctx.route},
              {"provider", ctx.provider},
              {"upstream_model", ctx.model},
              {"status", static_cast<long long>(ctx.http_status)},
              {"error", ctx.error.isOk() ? std::string_view() : errorCodeName(ctx.error.code())},
              {"ms", total_ms},
              {"ttft_ms", ttft_ms},
              {"prompt_tokens", static_cast<long long>(ctx.usage.prompt_tokens)},
              {"completion_tokens", static_cast<long long>(ctx.usage.completion_tokens)},
              {"cached_tokens", static_cast<long long>(ctx.usage.cached_tokens)},
              {"cache", ctx.cache_status}});
  }

  const config::Config& config_;
  // Routes whose bodies go into the request log (telemetry.request_log.payload_routes).
  std::set<std::string, std::less<>> payload_routes_;
  routing::HealthBoard health_;
  std::atomic<std::shared_ptr<const Runtime>> runtime_;
  std::function<Status()> reload_;
  std::unique_ptr<ResponseCaching> caching_;  // null: cache.enabled is false
  CorsPolicy cors_;  // server.cors_origins
  asio::thread_pool reload_pool_{1};
  http::Server* server_ = nullptr;
  Extensions ext_;
  AnthropicRoutes anthropic_{*this};
  OllamaRoutes ollama_{*this};
  ResponsesRoutes responses_{*this};
};

// ---------------------------------------------------------------------------------------------

Gateway::Gateway(config::Config config) : config_(std::move(config)) {}

Gateway::~Gateway() {
  shutdown();
  // The handlers' own threads (reload, admin and RAG pools, the task classifier's and the
  // engines' threads) hand results to the I/O workers' executors and touch them for a moment
  // after; they are joined here, before the server (and its workers' io_contexts) goes.
  handlers_.reset();
  initial_runtime_.reset();
}

Result<std::unique_ptr<Gateway>> Gateway::create(config::Config config, bool progress) {
  std::unique_ptr<Gateway> gateway(new Gateway(std::move(config)));
  const auto& cfg = gateway->config_;
  Gateway* self = gateway.get();
  gateway->handlers_ = std::make_unique<Handlers>(cfg, nullptr, [self] { return self->reload(); });
  // A port already taken is reported before models load (which can take minutes).
  if (Status s = http::Server::checkAddress(cfg.server.host, cfg.server.port); !s.isOk()) {
    return fail(std::move(s));
  }
  {
    Handlers& h = *gateway->handlers_;
    auto runtime = Runtime::build(cfg, progress, nullptr, h.health(), nullptr);
    if (!runtime) return fail(std::move(runtime.error()));
    gateway->initial_runtime_ = *runtime;
    GatewayServices services{cfg, (*runtime)->registry, *(*runtime)->router, h, &h.health()};
    auto ext = buildExtensions(services);
    if (!ext) return fail(std::move(ext.error()));
    (*runtime)->router->setPricing(ext->pricing.get());
    h.setExtensions(std::move(*ext));
    if (cfg.responses.enabled) {
      if (Status s = h.openResponseStore(cfg); !s.isOk()) return fail(std::move(s));
    }
    if (cfg.cache.enabled) h.enableCache(cfg.cache);
    h.setRuntime(std::move(*runtime));
  }

  http::ServerOptions options;
  options.host = cfg.server.host;
  options.port = cfg.server.port;
  options.workers = cfg.server.workers;
  options.max_body_bytes = cfg.server.max_body_bytes;
  options.max_header_bytes = cfg.server.max_header_bytes;
  options.max_connections = cfg.server.max_connections;
  options.header_timeout = cfg.server.header_timeout;
  options.idle_timeout = cfg.server.idle_timeout;
  options.busy_poll = std::chrono::microseconds(cfg.server.busy_poll_us);
  if (!cfg.server.proxy.empty()) {
    options.client.proxy = std::make_shared<const http::ProxySettings>(cfg.server.proxy);
  }
  Handlers* handlers = gateway->handlers_.get();
  auto server = http::Server::create(
      options, [handlers](http::Request& req, http::ResponseWriter& writer,
                          http::ConnectionInfo& conn) { return handlers->handle(req, writer, conn); });
  if (!server) return fail(std::move(server.error()));
  gateway->server_ = std::move(*server);
  handlers->setServer(gateway->server_.get());
  return gateway;
}

void Gateway::start() {
  server_->start();
  logEvent(spdlog::level::info, "listening",
           {{"host", server_->host()},
            {"port", static_cast<long long>(server_->port())},
            {"version", kVersion},
            {"allocator", allocatorName()},
            {"config", config_.source}});
}

void Gateway::shutdown() {
  if (!server_ || shut_down_.exchange(true)) return;
  logEvent(spdlog::level::info, "shutting_down",
           {{"in_flight", static_cast<long long>(server_->inFlight())},
            {"drain_timeout_ms", static_cast<long long>(config_.server.drain_timeout.count())}});
  const std::size_t abandoned = server_->shutdown(config_.server.drain_timeout);
  logEvent(abandoned ? spdlog::level::warn : spdlog::level::info, "stopped",
           {{"abandoned_requests", static_cast<long long>(abandoned)}});
  spdlog::default_logger()->flush();
}

Status Gateway::reload() {
  std::lock_guard lock(reload_mu_);
  const bool embedded = config_.source == "<embedded>";
  auto next = embedded ? config::embeddedDefaultConfig() : config::loadConfigFile(config_.source);
  if (!next) {
    logEvent(spdlog::level::warn, "config_reload_rejected",
             {{"config", config_.source}, {"error", next.error().message()}});
    return Status(ErrorCode::kInvalidArgument,
                  "config not reloaded (the running one keeps serving): " + next.error().message())
        .withErrorType("invalid_config");
  }
  if (config_.server.listen_from_cli) {
    next->server.host = config_.server.host;
    next->server.port = config_.server.port;
    next->server.listen_from_cli = true;
  }
  const auto previous = handlers_->runtime();
  auto runtime = Runtime::build(std::move(*next), false, previous.get(), handlers_->health(),
                                handlers_->extensions().pricing.get());
  if (!runtime) {
    logEvent(spdlog::level::warn, "config_reload_rejected",
             {{"config", config_.source}, {"error", runtime.error().message()}});
    return Status(ErrorCode::kInvalidArgument,
                  "config not reloaded (the running one keeps serving): " +
                      runtime.error().message())
        .withErrorType("invalid_config");
  }
  const auto& cfg = (*runtime)->config;
  if (cfg.server.host != config_.server.host || cfg.server.port != config_.server.port) {
    logEvent(spdlog::level::warn, "config_reload_partial",
             {{"note", "server.listen changes take effect after a restart"}});
  }
  if (cfg.server.proxy != config_.server.proxy) {
    logEvent(spdlog::level::warn, "config_reload_partial",
             {{"note",
               "proxy changes (server.https_proxy, http_proxy, no_proxy, or their "
               "environment variables) take effect after a restart"}});
  }
  if (cfg.responses.enabled != config_.responses.enabled ||
      cfg.responses.store_by_default != config_.responses.store_by_default ||
      cfg.responses.max_age != config_.responses.max_age) {
    logEvent(spdlog::level::warn, "config_reload_partial",
             {{"note", "responses.* changes take effect after a restart"}});
  }
  if (cfg.cache.enabled != config_.cache.enabled || cfg.cache.ttl != config_.cache.ttl ||
      cfg.cache.max_bytes != config_.cache.max_bytes || cfg.cache.scope != config_.cache.scope ||
      cfg.cache.redis.url != config_.cache.redis.url ||
      cfg.cache.redis_timeout != config_.cache.redis_timeout) {
    logEvent(spdlog::level::warn, "config_reload_partial",
             {{"note", "cache.* changes take effect after a restart"}});
  }
  for (const auto& reload_module : handlers_->extensions().reloaders) {
    if (Status st = reload_module(cfg); !st.isOk()) {
      logEvent(spdlog::level::warn, "config_reload_partial",
               {{"note", "a module keeps its previous settings"}, {"error", st.message()}});
    }
  }
  handlers_->setRuntime(std::move(*runtime));
  logEvent(spdlog::level::info, "config_reloaded",
           {{"config", config_.source},
            {"providers", static_cast<long long>(cfg.providers.size())},
            {"routes", static_cast<long long>(cfg.routes.size())}});
  return Status::ok();
}

int Gateway::run() {
  asio::io_context signals_io(1);
  asio::signal_set signals(signals_io, SIGINT, SIGTERM, SIGHUP);
  int received = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          logEvent(spdlog::level::info, "signal", {{"signal", "SIGHUP"}});
          (void)reload();  // logs its own outcome
          signals.async_wait(on_signal);
          return;
        }
        received = signo;
      };
  signals.async_wait(on_signal);
  signals_io.run();
  logEvent(spdlog::level::info, "signal", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
  shutdown();
  return 0;
}

}  // namespace switchyard::server
