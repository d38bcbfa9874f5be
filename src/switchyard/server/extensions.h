#pragma once
// Extensions: the admission stages, log-phase observers and extra endpoint modules the gateway
// runs, built once from config by buildExtensions(). Every module that plugs into the request
// path (auth, limits, guard, rag, telemetry, admin, dashboard) adds itself in extensions.cc, so
// gateway.cc stays the same as modules come and go.

#include <functional>
#include <memory>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/pipeline/pricing.h"
#include "switchyard/pipeline/stage.h"
#include "switchyard/providers/registry.h"
#include "switchyard/routing/router.h"
#include "switchyard/server/route_module.h"
#include "switchyard/server/route_support.h"

namespace switchyard::server {

// Long-lived objects a module may use; all outlive the extensions.
struct GatewayServices {
  const config::Config& config;
  providers::Registry& providers;
  const routing::Router& router;
  RouteSupport& support;
  // The breakers and latency of every deployment (outlives the extensions); null in tests that
  // build extensions without a gateway.
  routing::HealthBoard* health = nullptr;
};

struct Extensions {
  // Services the modules below share (stores, caches); destroyed after them.
  std::vector<std::shared_ptr<void>> keep_alive;
  // Prices requests (telemetry); built first so that stages can use it. Null: no prices.
  std::shared_ptr<const pipeline::Pricing> pricing;
  // Starts the trace of each model request (telemetry.traces); null: traces are off.
  std::shared_ptr<const pipeline::TraceStarter> tracing;
  std::vector<std::unique_ptr<pipeline::Stage>> stages;  // run in this order
  // Retrieval (the `rag:` section) is served: without it, a request that asks for a collection
  // (the body's "rag", the x-switchyard-rag header) is refused instead of answered ungrounded.
  bool rag = false;
  std::vector<std::unique_ptr<pipeline::RequestObserver>> observers;
  std::vector<std::unique_ptr<RouteModule>> routes;
  // Called by a config reload (SIGHUP, POST /admin/reload) with the new, validated config, on
  // the reload thread, after the new providers and routes are built and before they take
  // traffic. A module swaps in what it rebuilds from config (policies, scopes, limits, prices)
  // without blocking requests; an error keeps that module's old settings and is logged.
  std::vector<std::function<Status(const config::Config&)>> reloaders;
  // Authenticates a request to a module endpoint (a RouteModule, e.g. the RAG API) as the auth
  // stage does model requests: the admin key sets ctx.admin; a virtual key fills ctx.key_id,
  // key_name, team and the key's scopes; 401 for a missing or unknown key when keys are
  // required, and for a revoked key. With a `model` (an endpoint that calls one, e.g.
  // /v1/rerank), a key must also be allowed that model (403 model_not_allowed). Null when no
  // key store is configured (every caller is anonymous). Set by governance; thread-safe.
  std::function<Status(const http::Request&, pipeline::RequestContext&, std::string_view model)>
      authenticate;
};

// Builds every configured extension; an error stops start-up (names the config key at fault).
Result<Extensions> buildExtensions(GatewayServices& services);

}  // namespace switchyard::server
