#pragma once
// TelemetryRoutes: the telemetry module's HTTP endpoints. GET /metrics serves the Prometheus
// registry (text format 0.0.4; when telemetry.metrics.token is set, a bearer token: that one
// or the admin key, SWITCHYARD_ADMIN_KEY);
// POST /v1/feedback queues a feedback row for the request log (202). Thread-safe.

#include <memory>
#include <string>

#include "switchyard/server/route_module.h"
#include "switchyard/telemetry/metrics.h"
#include "switchyard/telemetry/request_log.h"

namespace switchyard::server {

class TelemetryRoutes final : public RouteModule {
 public:
  // `log` null: no feedback endpoint. `metrics` false: no /metrics.
  TelemetryRoutes(telemetry::Registry& registry, bool metrics, std::string metrics_token,
                  std::shared_ptr<telemetry::RequestLog> log);

  bool serves(std::string_view path) const override;
  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx) override;

 private:
  telemetry::Registry& registry_;
  bool metrics_;
  std::string metrics_token_;
  std::shared_ptr<telemetry::RequestLog> log_;
};

}  // namespace switchyard::server
