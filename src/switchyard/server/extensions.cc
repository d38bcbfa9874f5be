#include "switchyard/server/extensions.h"

#include "switchyard/core/log.h"
#include "switchyard/dashboard/dashboard_routes.h"
#include "switchyard/server/admin_routes.h"
#include "switchyard/server/breaker_metrics.h"

#include "switchyard/server/governance.h"
#include "switchyard/server/telemetry_routes.h"
#include "switchyard/telemetry/observer.h"
#include "switchyard/telemetry/prices.h"
#include "switchyard/telemetry/request_log.h"
#include "switchyard/telemetry/tracing.h"
#include "switchyard/rag/rag_routes.h"
#include "switchyard/rag/rag_stage.h"

namespace switchyard::server {

Result<Extensions> buildExtensions(GatewayServices& services) {
  const config::Config& config = services.config;
  Extensions ext;
  // Pricing (telemetry's price table), before the stages that reserve budgets with it. A reload
  // swaps in a table built from the new `prices:` (stages and router keep the same object).
  auto prices = std::make_shared<telemetry::LivePrices>(config);
  ext.pricing = prices;
  ext.reloaders.push_back([prices](const config::Config& next) {
    prices->reload(next);
    return Status::ok();
  });
  // Circuit breakers on /metrics, read from the health board at scrape time.
  if (services.health != nullptr) ext.keep_alive.push_back(breakerMetrics(*services.health));

  // Admission stages, in the pipeline's fixed order: auth, limits, guard, rag.
  // Governance: auth, limits and guard stages, and the /admin module (issue 6).
  if (Status s = addGovernance(services, ext); !s.isOk()) return fail(std::move(s));

  // rag (after guard): the retrieval stage, and its /v1/collections + /v1/retrieve endpoints.
  if (services.config.rag.enabled) {
    auto rag = rag::RagService::create(services.config, services.router, services.providers);
    if (!rag) return fail(std::move(rag.error()));
    std::shared_ptr<rag::RagService> service = std::move(*rag);
    ext.stages.push_back(std::make_unique<rag::RagStage>(service));
    ext.rag = true;
    RouteSupport* support = &services.support;
    ext.routes.push_back(std::make_unique<rag::RagRoutes>(
        service, ext.authenticate,
        [support](pipeline::RequestContext& ctx) { support->logRequest(ctx); }));
  }

  // Log-phase observers.
  // Telemetry: metrics always; the request log (and feedback) when enabled, in the store.
  std::shared_ptr<telemetry::RequestLog> request_log;
  if (config.telemetry.request_log.enabled) {
    auto db = store::openDatabase(config.storage_url);
    if (!db) {
      return fail(Status(db.error().code(), "storage.url: " + db.error().message()));
    }
    auto log = telemetry::RequestLog::open(std::move(*db),
                                           telemetry::RequestLogOptions::fromConfig(config),
                                           telemetry::Registry::global());
    if (!log) return fail(Status(log.error().code(), "request log: " + log.error().message()));
    request_log = std::move(*log);
  }
  ext.observers.push_back(std::make_unique<telemetry::TelemetryObserver>(
      config, telemetry::Registry::global(), prices, request_log));

  // Traces (OTLP/HTTP JSON), only when a collector is configured.
  if (!config.telemetry.traces.endpoint.empty()) {
    auto exporter = telemetry::SpanExporter::create(
        telemetry::ExporterOptions::fromConfig(config), telemetry::Registry::global());
    if (!exporter) return fail(std::move(exporter.error()));
    ext.tracing = std::make_shared<const telemetry::TraceSampler>(
        config.telemetry.traces.sample_ratio);
    auto observer = std::make_unique<telemetry::TraceObserver>(
        config, std::shared_ptr<telemetry::SpanExporter>(std::move(*exporter)));
    telemetry::TraceObserver* raw = observer.get();
    ext.reloaders.push_back([raw](const config::Config& next) { return raw->reload(next); });
    ext.observers.push_back(std::move(observer));
  }

  // Endpoint modules.
  ext.routes.push_back(std::make_unique<TelemetryRoutes>(
      telemetry::Registry::global(), config.telemetry.metrics.enabled,
      config.telemetry.metrics.token, config.telemetry.feedback ? request_log : nullptr));

  // The web dashboard (/ui) and its JSON API (/admin/api/*), behind the admin key. Without a
  // store it still serves the page and breaker states, and says so.
  if (config.telemetry.dashboard.enabled) {
    const std::string admin_key = adminKeyFrom(config);
    std::unique_ptr<dashboard::DashboardQueries> queries;
    if (!admin_key.empty()) {
      auto opened = dashboard::DashboardQueries::open(config.storage_url);
      if (opened) {
        queries = std::move(*opened);
      } else {
        logEvent(spdlog::level::warn, "dashboard.no_store",
                 {{"error", opened.error().message()}});
      }
    }
    auto module = std::make_unique<dashboard::DashboardRoutes>(
        config, admin_key, std::move(queries), &services.router.health());
    dashboard::DashboardRoutes* raw = module.get();
    ext.reloaders.push_back([raw](const config::Config& c) { return raw->reload(c); });
    ext.routes.push_back(std::move(module));
  }

  return ext;
}

}  // namespace switchyard::server
