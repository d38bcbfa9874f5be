#pragma once
// RouteSupport: the steps every endpoint shares (routing a model to a provider, the common
// response headers, the log phase), offered by the gateway's request handlers to route files
// that live outside gateway.cc (anthropic_routes.cc, ...). Implementations are immutable after
// start-up and called from every worker: thread-safe.

#include <string_view>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/http/server.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/providers/provider.h"

namespace switchyard::server {

class RouteSupport {
 public:
  virtual ~RouteSupport() = default;

  virtual const config::Config& gatewayConfig() const = 0;
  // Routes `model`: fills ctx (route, plan, provider, model, decision) and `provider`.
  virtual Status resolve(std::string_view model, pipeline::RequestContext& ctx,
                         providers::Provider*& provider) = 0;
  // x-request-id and the x-switchyard-* routing headers.
  virtual http::ResponseWriter::Headers responseHeaders(
      const pipeline::RequestContext& ctx) const = 0;
  // The log phase: one structured line per request.
  virtual void logRequest(const pipeline::RequestContext& ctx) const = 0;
};

}  // namespace switchyard::server
