#pragma once
// GeminiProvider: Google's Gemini API (POST {base_url}/models/{model}:generateContent,
// :streamGenerateContent?alt=sse for streams, :batchEmbedContents for embeddings), authenticated with the `x-goog-api-key` header
// (never a `key=` query parameter, so the key stays out of URLs and logs). Stateless apart from
// config: thread-safe.

#include <string>

#include "switchyard/config/config.h"
#include "switchyard/providers/http_upstream.h"
#include "switchyard/providers/provider.h"

namespace switchyard::providers {

class GeminiProvider final : public Provider {
 public:
  static Result<ProviderPtr> create(const config::ProviderConfig& config);

  boost::asio::awaitable<Result<api::ChatResponse>> chat(const api::ChatRequest& request,
                                                         CallContext& ctx) override;
  boost::asio::awaitable<StreamOutcome> chatStream(const api::ChatRequest& request,
                                                   ChatSink& sink, CallContext& ctx) override;
  // :batchEmbedContents, one request per input; usage is estimated (Gemini reports none).
  boost::asio::awaitable<Result<api::EmbeddingResponse>> embed(
      const api::EmbeddingRequest& request, CallContext& ctx) override;

 private:
  GeminiProvider(const config::ProviderConfig& config, http::Origin origin);

  HttpUpstream upstream_;  // x-goog-api-key, configured extras
};

}  // namespace switchyard::providers
