#include "switchyard/server/route_support.h"

#include "switchyard/api/anthropic/messages_codec.h"

namespace switchyard::server {

boost::asio::awaitable<Result<RouteSupport::TokenCount>> RouteSupport::countOrEstimate(
    api::ChatRequest& request, pipeline::RequestContext& ctx, http::HttpClient& http) {
  auto counting = countTokens(request, ctx, http);
  auto counted = co_await std::move(counting);
  if (counted) co_return TokenCount{*counted, false};
  if (counted.error().code() != ErrorCode::kUnprocessable)
    co_return fail(std::move(counted.error()));
  for (const auto& p : gatewayConfig().providers) {
    if (p.name == ctx.provider && p.kind == "anthropic") co_return fail(std::move(counted.error()));
  }
  co_return TokenCount{api::anthropic::estimateInputTokens(request), true};
}

}  // namespace switchyard::server
