#pragma once
// AnthropicProvider: Anthropic's Messages API (POST {base_url}/v1/messages, streaming with
// SSE, and /v1/messages/count_tokens), authenticated with `x-api-key` and pinned to
// `anthropic-version: 2023-06-01`. Stateless apart from config: thread-safe.

#include <string>

#include "switchyard/config/config.h"
#include "switchyard/providers/http_upstream.h"
#include "switchyard/providers/provider.h"

namespace switchyard::providers {

class AnthropicProvider final : public Provider {
 public:
  static Result<ProviderPtr> create(const config::ProviderConfig& config);

  boost::asio::awaitable<Result<api::ChatResponse>> chat(const api::ChatRequest& request,
                                                         CallContext& ctx) override;
  boost::asio::awaitable<StreamOutcome> chatStream(const api::ChatRequest& request,
                                                   ChatSink& sink, CallContext& ctx) override;
  boost::asio::awaitable<Result<std::int64_t>> countTokens(const api::ChatRequest& request,
                                                           CallContext& ctx) override;

 private:
  AnthropicProvider(const config::ProviderConfig& config, http::Origin origin);

  boost::asio::awaitable<Result<std::string>> post(std::string_view path, std::string body,
                                                   CallContext& ctx) const;

  HttpUpstream upstream_;  // x-api-key, anthropic-version, configured extras
};

}  // namespace switchyard::providers
