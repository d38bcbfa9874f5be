#include "switchyard/server/gateway.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <random>
#include <variant>

#include "switchyard/api/errors.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/core/log.h"
#include "switchyard/core/version.h"
#include "switchyard/http/sse.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/server/anthropic_routes.h"
#include "switchyard/server/extensions.h"
#include "switchyard/server/ollama_routes.h"
#include "switchyard/server/responses_routes.h"

namespace switchyard::server {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace codec = api::openai;
using namespace boost::asio::experimental::awaitable_operators;
using pipeline::RequestContext;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kJson = "application/json";

// Request ids: 16 hex digits from a per-thread generator; no locks, no syscalls.
std::string newRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) id[i] = kHex[v & 0xf];
  return id;
}

bool acceptableRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

double millisBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class BeastHeaders final : public pipeline::RequestHeaders {
 public:
  explicit BeastHeaders(const http::Request& req) : req_(req) {}
  std::string_view get(std::string_view name) const override {
    auto it = req_.find(name);
    return it == req_.end() ? std::string_view() : std::string_view(it->value());
  }

 private:
  const http::Request& req_;
};

}  // namespace

// All request handling. One instance, shared by every worker; holds only immutable state.
class Gateway::Handlers final : public RouteSupport {
 public:
  Handlers(const config::Config& config, providers::Registry registry)
      : config_(config), registry_(std::move(registry)), router_(config) {
    models_body_ = renderModels();
  }

  void setServer(http::Server* server) { server_ = server; }
  void setExtensions(Extensions ext) { ext_ = std::move(ext); }
  providers::Registry& providerRegistry() { return registry_; }
  const routing::Router& router() const { return router_; }
  const config::Config& gatewayConfig() const override { return config_; }

  asio::awaitable<void> handle(http::Request& req, http::ResponseWriter& writer,
                               http::ConnectionInfo& conn) {
    RequestContext ctx;
    ctx.received = Clock::now();
    if (auto it = req.find("x-request-id");
        it != req.end() && acceptableRequestId(it->value())) {
      ctx.request_id = std::string(it->value());
    } else {
      ctx.request_id = newRequestId();
    }

    std::string_view target = req.target();
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    const auto method = req.method();

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
    } else if (target == "/v1/models" || target == "/models") {
      if (method != bhttp::verb::get) co_return co_await methodNotAllowed(writer, ctx, "GET");
      (void)co_await writer.send(200, kJson, models_body_, responseHeaders(ctx));
    } else if (target == "/healthz") {
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
                     http::ResponseWriter::Headers headers)
        : writer_(writer),
          ctx_(ctx),
          client_wants_usage_(client_wants_usage),
          headers_(std::move(headers)) {}

    asio::awaitable<Status> onChunk(const api::ChatChunk& chunk) override {
      if (chunk.usage) ctx_.usage = *chunk.usage;
      const bool forward_usage = client_wants_usage_ || !chunk.usage;
      if (!forward_usage && chunk.choices.empty()) co_return Status::ok();
      if (!writer_.started()) {
        ctx_.first_byte = Clock::now();
        Status s = co_await writer_.startStream(200, "text/event-stream", headers_);
        if (!s.isOk()) co_return s;
      }
      buffer_.clear();
      buffer_ += "data: ";
      if (forward_usage) {
        codec::appendChatChunk(chunk, buffer_);
      } else {
        api::ChatChunk copy = chunk;
        copy.usage.reset();
        codec::appendChatChunk(copy, buffer_);
      }
      buffer_ += "\n\n";
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
    http::ResponseWriter::Headers headers_;
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
    providers::Provider* provider = nullptr;
    if (Status s = resolve(request.model, ctx, provider); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    request.model = ctx.model;
    providers::CallContext call{conn.client, ctx.request_id,
                                ctx.received + config_.server.request_timeout};
    ctx.upstream_start = Clock::now();
    ctx.attempts = 1;

    if (!request.stream) {
      auto outcome = co_await writer.unlessClientGone(provider->chat(request, call));
      if (outcome.index() == 1) co_return finishCancelled(ctx);
      auto& result = std::get<0>(outcome);
      if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
      if (result->usage) ctx.usage = *result->usage;
      ctx.first_byte = Clock::now();
      co_await sendOk(writer, ctx, codec::encodeChatResponse(*result));
      co_return;
    }

    // Always ask for usage upstream so the log has it; strip it if the client did not ask.
    const bool client_wants_usage = request.include_usage;
    request.include_usage = true;
    ChatStreamWriter sink(writer, ctx, client_wants_usage, responseHeaders(ctx));
    auto outcome = co_await writer.unlessClientGone(provider->chatStream(request, sink, call));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    co_await finishStream(writer, ctx, std::move(std::get<0>(outcome)));
  }

  // ---- text completions --------------------------------------------------------------------

  class CompletionStreamWriter final : public providers::CompletionSink {
   public:
    CompletionStreamWriter(http::ResponseWriter& writer, RequestContext& ctx,
                           http::ResponseWriter::Headers headers)
        : writer_(writer), ctx_(ctx), headers_(std::move(headers)) {}

    asio::awaitable<Status> onChunk(const api::CompletionResponse& chunk) override {
      if (chunk.usage) ctx_.usage = *chunk.usage;
      if (!writer_.started()) {
        ctx_.first_byte = Clock::now();
        Status s = co_await writer_.startStream(200, "text/event-stream", headers_);
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
    http::ResponseWriter::Headers headers_;
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
    providers::Provider* provider = nullptr;
    if (Status s = resolve(request.model, ctx, provider); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    request.model = ctx.model;
    providers::CallContext call{conn.client, ctx.request_id,
                                ctx.received + config_.server.request_timeout};
    ctx.upstream_start = Clock::now();
    ctx.attempts = 1;

    if (!request.stream) {
      auto outcome = co_await writer.unlessClientGone(provider->complete(request, call));
      if (outcome.index() == 1) co_return finishCancelled(ctx);
      auto& result = std::get<0>(outcome);
      if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
      if (result->usage) ctx.usage = *result->usage;
      ctx.first_byte = Clock::now();
      co_await sendOk(writer, ctx, codec::encodeCompletionResponse(*result, false));
      co_return;
    }
    CompletionStreamWriter sink(writer, ctx, responseHeaders(ctx));
    auto outcome =
        co_await writer.unlessClientGone(provider->completeStream(request, sink, call));
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
    providers::Provider* provider = nullptr;
    if (Status s = resolve(request.model, ctx, provider); !s.isOk()) {
      co_return co_await sendError(writer, ctx, std::move(s));
    }
    request.model = ctx.model;
    const std::string encoding = request.encoding_format;
    providers::CallContext call{conn.client, ctx.request_id,
                                ctx.received + config_.server.request_timeout};
    ctx.upstream_start = Clock::now();
    ctx.attempts = 1;
    auto outcome = co_await writer.unlessClientGone(provider->embed(request, call));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    auto& result = std::get<0>(outcome);
    if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
    ctx.usage = result->usage;
    ctx.first_byte = Clock::now();
    co_await sendOk(writer, ctx, codec::encodeEmbeddingResponse(*result, encoding));
  }

  // ---- shared steps ------------------------------------------------------------------------

  asio::awaitable<Status> admitPayload(const http::Request& req, RequestContext& ctx,
                                       api::ChatRequest* chat, api::CompletionRequest* completion,
                                       api::EmbeddingRequest* embedding) override {
    if (ext_.stages.empty()) co_return Status::ok();
    BeastHeaders headers(req);
    pipeline::StageInput in{headers, ctx, chat, completion, embedding};
    for (const auto& stage : ext_.stages) {
      Status verdict = co_await stage->admit(in);
      if (!verdict.isOk()) co_return verdict;
      ++ctx.stages_admitted;
    }
    co_return Status::ok();
  }

  Status resolve(std::string_view model, RequestContext& ctx,
                 providers::Provider*& provider) override {
    ctx.requested_model = std::string(model);
    if (Status s = router_.route(model, ctx); !s.isOk()) return s;
    const auto& target = ctx.plan.front();
    provider = registry_.find(target.provider);
    if (provider == nullptr) {
      return Status(ErrorCode::kInternal, "route for '" + std::string(model) +
                                              "' names unknown provider '" + target.provider +
                                              "'");
    }
    ctx.provider = target.provider;
    ctx.model = target.model;
    return Status::ok();
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
      writer.setKeepAlive(false);
    }
    (void)co_await writer.finish();
    logRequest(ctx);
  }

  void finishCancelled(RequestContext& ctx) {
    ctx.http_status = 499;
    ctx.error = Status(ErrorCode::kCancelled, "client disconnected");
    logRequest(ctx);
  }

  // The log phase: settle the stages that admitted the request (last first), hand it to the
  // observers, then one structured line per request.
  void logRequest(RequestContext& ctx) const override {
    if (ext_.pricing && !ctx.provider.empty()) {
      ctx.cost_usd = ext_.pricing->cost(ctx.provider, ctx.model, ctx.usage);
    }
    for (int i = std::min<int>(ctx.stages_admitted, static_cast<int>(ext_.stages.size())) - 1;
         i >= 0; --i) {
      ext_.stages[static_cast<std::size_t>(i)]->complete(ctx);
    }
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
              {"cached_tokens", static_cast<long long>(ctx.usage.cached_tokens)}});
  }

  std::string renderModels() const {
    std::string body = R"({"object":"list","data":[)";
    bool first = true;
    for (const auto& m : router_.models()) {
      if (!first) body += ',';
      first = false;
      body += R"({"id":")";
      appendJsonEscaped(body, m.id);
      body += R"(","object":"model","created":0,"owned_by":")";
      appendJsonEscaped(body, m.owned_by);
      body += "\"}";
    }
    body += "]}";
    return body;
  }

  const config::Config& config_;
  providers::Registry registry_;
  routing::Router router_;
  std::string models_body_;
  http::Server* server_ = nullptr;
  Extensions ext_;
  AnthropicRoutes anthropic_{*this};
  OllamaRoutes ollama_{*this};
  ResponsesRoutes responses_{*this};
};

// ---------------------------------------------------------------------------------------------

Gateway::Gateway(config::Config config) : config_(std::move(config)) {}

Gateway::~Gateway() { shutdown(); }

Result<std::unique_ptr<Gateway>> Gateway::create(config::Config config, bool progress) {
  std::unique_ptr<Gateway> gateway(new Gateway(std::move(config)));
  const auto& cfg = gateway->config_;
  auto registry = providers::Registry::create(cfg, progress);
  if (!registry) return fail(std::move(registry.error()));
  gateway->handlers_ = std::make_unique<Handlers>(cfg, std::move(*registry));
  {
    Handlers& h = *gateway->handlers_;
    GatewayServices services{cfg, h.providerRegistry(), h.router(), h};
    auto ext = buildExtensions(services);
    if (!ext) return fail(std::move(ext.error()));
    h.setExtensions(std::move(*ext));
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

int Gateway::run() {
  asio::io_context signals_io(1);
  asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (!ec) received = signo;
  });
  signals_io.run();
  logEvent(spdlog::level::info, "signal", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
  shutdown();
  return 0;
}

}  // namespace switchyard::server
