#pragma once
// LocalProvider: open models in this process, through the llama.cpp engine. Each configured
// model is loaded on first use (or at start-up with `preload`) by an engine::ModelRegistry;
// requests are translated to engine::GenerationRequest and the engine's tokens are relayed to the
// caller's coroutine without blocking its I/O thread. Thread-safe.

#include <memory>
#include <string>
#include <type_traits>

#include "switchyard/config/config.h"
#include "switchyard/engine/engine.h"
#include "switchyard/engine/model_registry.h"
#include "switchyard/providers/local/engine_metrics.h"
#include "switchyard/providers/provider.h"

namespace switchyard::providers {

class LocalProvider final : public Provider {
 public:
  // Checks every model file (a missing or corrupt GGUF is an error naming it) and loads the
  // models marked `preload`, drawing a progress bar on stderr when `progress` is set.
  static Result<ProviderPtr> create(const config::ProviderConfig& config, bool progress = false);
  ~LocalProvider() override;

  boost::asio::awaitable<Result<api::ChatResponse>> chat(const api::ChatRequest& request,
                                                         CallContext& ctx) override;
  boost::asio::awaitable<StreamOutcome> chatStream(const api::ChatRequest& request, ChatSink& sink,
                                                   CallContext& ctx) override;
  boost::asio::awaitable<Result<api::CompletionResponse>> complete(
      const api::CompletionRequest& request, CallContext& ctx) override;
  boost::asio::awaitable<StreamOutcome> completeStream(const api::CompletionRequest& request,
                                                       CompletionSink& sink,
                                                       CallContext& ctx) override;
  boost::asio::awaitable<Result<api::EmbeddingResponse>> embed(const api::EmbeddingRequest& request,
                                                               CallContext& ctx) override;
  // Through Engine::rerank: the model must be a reranker GGUF served with `embeddings: true`.
  boost::asio::awaitable<Result<api::RerankResponse>> rerank(const api::RerankRequest& request,
                                                             CallContext& ctx) override;
  // Exact: the request rendered with the model's chat template and tokenized, as generation
  // would (loads the model when it is not loaded).
  boost::asio::awaitable<Result<std::int64_t>> countTokens(const api::ChatRequest& request,
                                                           CallContext& ctx) override;

  engine::ModelRegistry& models() { return *registry_; }
  // Loads `model` unless it is loaded (Ollama's load probe), awaiting the load without
  // blocking the calling I/O thread. kNotFound for a model this provider does not serve.
  boost::asio::awaitable<Status> preload(const std::string& model);

  // Translation of OpenAI-shaped requests into the engine's (exposed for tests).
  static Result<engine::GenerationRequest> toGeneration(const api::ChatRequest& request,
                                                        const std::string& provider);
  // A legacy completion: one generation for each of `prompts` times `n` (raw_prompt left empty),
  // the prompt before each text with `echo`.
  struct CompletionJob {
    engine::GenerationRequest generation;
    std::vector<std::string> prompts;
    std::size_t n = 1;
    bool echo = false;
  };
  static Result<CompletionJob> toCompletionJob(const api::CompletionRequest& request,
                                               const std::string& provider);

 private:
  LocalProvider(std::string name, std::unique_ptr<engine::ModelRegistry> registry);

  // Loads (or finds) the model's engine without blocking the calling I/O thread.
  // With `report`, a wait for the model's load is reported as its load_ms.
  boost::asio::awaitable<Result<engine::ModelRegistry::Lease>> lease(const std::string& model,
                                                                     CallReport* report = nullptr);

  // Runs one generation, calling `on_events` with every batch of engine events as they arrive.
  template <typename OnEvents>
  boost::asio::awaitable<Status> generate(const std::string& model,
                                          engine::GenerationRequest request, CallContext& ctx,
                                          OnEvents on_events);
  // Runs several side by side (the engine batches them; n choices of one prompt share its KV),
  // calling `on_events` with every batch of their events, each tagged with its request's
  // position; done when every one has ended. Whatever ends it early cancels those still going.
  template <typename OnEvents>
  boost::asio::awaitable<Status> generateTagged(const std::string& model,
                                                std::vector<engine::GenerationRequest> requests,
                                                CallContext& ctx, OnEvents on_events);

  // A whole (non-streamed) answer: every token event merged into one delta, then how it ended.
  struct Whole {
    api::ChoiceDelta merged;
    std::vector<engine::TokenLogprob> logprobs;
    std::vector<engine::TokenLogprob> prompt_logprobs;  // echo with logprobs
    engine::FinishReason finish = engine::FinishReason::kNone;
    std::string stop_sequence;  // the request's stop string that ended it, if one did
    engine::Usage usage;
  };
  // Runs the requests side by side (the engine batches them) and returns their results in
  // order; the first failure, if any, instead.
  boost::asio::awaitable<Result<std::vector<Whole>>> generateAll(
      const std::string& model, std::vector<engine::GenerationRequest> requests, CallContext& ctx);
  boost::asio::awaitable<Result<Whole>> generateWhole(const std::string& model,
                                                      engine::GenerationRequest request,
                                                      CallContext& ctx);

  // Runs `work` on the provider's preparation threads and resumes the calling coroutine on its
  // own executor with the result. A prompt's chat template and tokenization (and a JSON
  // schema's grammar) cost about a millisecond per thousand tokens here, seconds for a body at
  // the size limit: on an I/O thread that would stall every other connection it serves.
  template <typename F>
  boost::asio::awaitable<std::invoke_result_t<F&>> offload(F work);

  struct PrepThreads;

  std::unique_ptr<engine::ModelRegistry> registry_;
  std::unique_ptr<EngineMetrics> metrics_;  // after registry_: unregistered before it goes
  std::unique_ptr<PrepThreads> prep_;       // last: its queued work finishes before the rest goes
};

}  // namespace switchyard::providers
