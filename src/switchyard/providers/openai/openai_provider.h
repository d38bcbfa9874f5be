#pragma once
// OpenAIProvider: any server that speaks OpenAI's chat completions wire format (OpenAI, vLLM,
// llama-server, Ollama's /v1, Groq, Together ...). Stateless apart from config: thread-safe.

#include <set>
#include <string>

#include "switchyard/config/config.h"
#include "switchyard/providers/http_upstream.h"
#include "switchyard/providers/provider.h"

namespace switchyard::providers {

class OpenAIProvider final : public Provider {
 public:
  static Result<ProviderPtr> create(const config::ProviderConfig& config);

  boost::asio::awaitable<Result<api::ChatResponse>> chat(const api::ChatRequest& request,
                                                         CallContext& ctx) override;
  boost::asio::awaitable<StreamOutcome> chatStream(const api::ChatRequest& request,
                                                   ChatSink& sink, CallContext& ctx) override;
  boost::asio::awaitable<Result<api::CompletionResponse>> complete(
      const api::CompletionRequest& request, CallContext& ctx) override;
  boost::asio::awaitable<StreamOutcome> completeStream(const api::CompletionRequest& request,
                                                       CompletionSink& sink,
                                                       CallContext& ctx) override;
  boost::asio::awaitable<Result<api::EmbeddingResponse>> embed(
      const api::EmbeddingRequest& request, CallContext& ctx) override;
  // POST {base_url}/rerank, for models marked `rerank: true` (vLLM, llama-server, Infinity,
  // Jina / Cohere-compatible servers); other models answer kUnprocessable.
  boost::asio::awaitable<Result<api::RerankResponse>> rerank(const api::RerankRequest& request,
                                                             CallContext& ctx) override;

 private:
  OpenAIProvider(const config::ProviderConfig& config, http::Origin origin);

  // Sends a request whose response is one JSON document; maps HTTP errors to Status.
  boost::asio::awaitable<Result<std::string>> post(std::string_view path, std::string body,
                                                   CallContext& ctx) const;

  // Opens an SSE stream and calls `on_data` for each `data:` payload until [DONE].
  // Calls on_data for every event; the events of one upstream read form one batch of `sink`.
  template <typename OnData>
  boost::asio::awaitable<StreamOutcome> streamSse(std::string_view path, std::string body,
                                                  CallContext& ctx, StreamSink& sink,
                                                  OnData on_data) const;

  // The upstream path of an endpoint ("/chat/completions"): as is, or for Azure OpenAI
  // "/openai/deployments/<model>/chat/completions?api-version=<v>", built in `buffer`.
  std::string_view pathFor(std::string_view endpoint, std::string_view model,
                           std::string& buffer) const;

  HttpUpstream upstream_;  // auth + configured extras
  std::string azure_api_version_;  // non-empty: Azure OpenAI (deployment = model)
  std::set<std::string, std::less<>> rerank_models_;  // models marked `rerank: true`
};

}  // namespace switchyard::providers
