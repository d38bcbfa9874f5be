#pragma once
// RouteSupport: the steps every endpoint shares (routing a model to a provider, the common
// response headers, the log phase), offered by the gateway's request handlers to route files
// that live outside gateway.cc (anthropic_routes.cc, ...). Implementations are immutable after
// start-up and called from every worker: thread-safe.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/engine/model_registry.h"
#include "switchyard/http/server.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/pipeline/stage.h"
#include "switchyard/providers/provider.h"

namespace switchyard::server {

// A new request id: 24 hex digits, the Unix time in milliseconds then 48 random bits, so ids made
// later sort later. Thread-safe (a generator per thread).
std::string newRequestId();

class RouteSupport {
 public:
  virtual ~RouteSupport() = default;

  virtual const config::Config& gatewayConfig() const = 0;

  // Runs the admission stages (auth, limits, guard, rag) on a decoded model request, before
  // resolve(). A non-ok status is the client's error; send it in the client's format.
  boost::asio::awaitable<Status> admit(const http::Request& req, pipeline::RequestContext& ctx,
                                       api::ChatRequest& chat) {
    return admitPayload(req, ctx, &chat, nullptr, nullptr);
  }
  boost::asio::awaitable<Status> admit(const http::Request& req, pipeline::RequestContext& ctx,
                                       api::CompletionRequest& completion) {
    return admitPayload(req, ctx, nullptr, &completion, nullptr);
  }
  boost::asio::awaitable<Status> admit(const http::Request& req, pipeline::RequestContext& ctx,
                                       api::EmbeddingRequest& embedding) {
    return admitPayload(req, ctx, nullptr, nullptr, &embedding);
  }

  // Identifies the caller as the auth stage will (ctx.key_id, key_name, team; ctx.admin for the
  // admin key) before a request is decoded: 401 for a missing or unknown key when keys are
  // required, and for a revoked key. Anonymous when the gateway has no key store.
  virtual Status identify(const http::Request& req, pipeline::RequestContext& ctx) = 0;

  // Plans the request for `model` (usually request.model): fills ctx.route, plan, policy,
  // decision, and ctx.provider/model with the first candidate (dispatch updates them when it
  // falls back). A non-ok status is the client's error.
  virtual Status plan(std::string_view model, const api::ChatRequest& request,
                      pipeline::RequestContext& ctx) = 0;
  virtual Status plan(std::string_view model, const api::CompletionRequest& request,
                      pipeline::RequestContext& ctx) = 0;
  virtual Status plan(std::string_view model, const api::EmbeddingRequest& request,
                      pipeline::RequestContext& ctx) = 0;

  // Dispatch: runs the plan with retries, breakers and fallbacks (request.model is set to each
  // candidate's model in turn) and applies the output filter (ctx.output_filter) to chat text.
  virtual boost::asio::awaitable<Result<api::ChatResponse>> chat(
      api::ChatRequest& request, pipeline::RequestContext& ctx, http::HttpClient& http) = 0;
  virtual boost::asio::awaitable<providers::StreamOutcome> chatStream(
      api::ChatRequest& request, providers::ChatSink& sink, pipeline::RequestContext& ctx,
      http::HttpClient& http) = 0;
  virtual boost::asio::awaitable<Result<api::CompletionResponse>> complete(
      api::CompletionRequest& request, pipeline::RequestContext& ctx, http::HttpClient& http) = 0;
  virtual boost::asio::awaitable<providers::StreamOutcome> completeStream(
      api::CompletionRequest& request, providers::CompletionSink& sink,
      pipeline::RequestContext& ctx, http::HttpClient& http) = 0;
  virtual boost::asio::awaitable<Result<api::EmbeddingResponse>> embed(
      api::EmbeddingRequest& request, pipeline::RequestContext& ctx, http::HttpClient& http) = 0;
  virtual boost::asio::awaitable<Result<std::int64_t>> countTokens(
      api::ChatRequest& request, pipeline::RequestContext& ctx, http::HttpClient& http) = 0;
  // The input tokens of a planned request: countTokens(), or, when its provider cannot count
  // (kUnprocessable from any provider but an Anthropic one, whose 422s are real errors), the
  // gateway's documented estimate (api::anthropic::estimateInputTokens, as LiteLLM falls back
  // to a local tokenizer).
  struct TokenCount {
    std::int64_t tokens = 0;
    bool estimated = false;  // x-switchyard-token-count: estimate (else upstream)
  };
  boost::asio::awaitable<Result<TokenCount>> countOrEstimate(api::ChatRequest& request,
                                                             pipeline::RequestContext& ctx,
                                                             http::HttpClient& http);
  // x-request-id and the x-switchyard-* routing headers.
  virtual http::ResponseWriter::Headers responseHeaders(
      const pipeline::RequestContext& ctx) const = 0;
  // The log phase, once per request: settles the stages that admitted it, then the observers
  // (request log, metrics) and the access-log line.
  virtual void logRequest(pipeline::RequestContext& ctx) const = 0;

  // The models of `local` providers loaded in memory now (Ollama's GET /api/ps), each with its
  // provider's name.
  struct LoadedLocalModel {
    std::string provider;
    engine::ModelState state;  // state.unload_after: its idle time before unloading
  };
  virtual std::vector<LoadedLocalModel> loadedLocalModels() const = 0;

  // Ollama's keep_alive for the local model ctx was planned to (ctx.provider, ctx.model): how
  // long it stays loaded once idle (engine::ModelRegistry::setKeepAlive; nullopt: the configured
  // idle time). No effect on other providers' models, nor before plan().
  virtual void keepAlive(const pipeline::RequestContext& ctx,
                         std::optional<std::chrono::milliseconds> keep) const = 0;
  // Ollama's load probe: loads that local model now, awaiting the load without blocking the I/O
  // thread (the load's error if it fails). Ok at once for other providers' models.
  virtual boost::asio::awaitable<Status> preload(const pipeline::RequestContext& ctx) const = 0;

 protected:
  virtual boost::asio::awaitable<Status> admitPayload(const http::Request& req,
                                                      pipeline::RequestContext& ctx,
                                                      api::ChatRequest* chat,
                                                      api::CompletionRequest* completion,
                                                      api::EmbeddingRequest* embedding) = 0;
};

}  // namespace switchyard::server
