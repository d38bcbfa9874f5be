#pragma once
// Circuit breakers on /metrics: each deployment's breaker state (gauge: 0 closed, 1 half-open,
// 2 open) and its state changes (counter, by the state entered), read from the routing
// HealthBoard when Prometheus scrapes; nothing is added to the request path. Labels: provider,
// model (the configured deployments).
//
// Thread-safety: the callbacks run on the scraping thread; HealthBoard is thread-safe.

#include <memory>

#include "switchyard/routing/health.h"
#include "switchyard/telemetry/metrics.h"

namespace switchyard::server {

// Registers the breaker families in `registry` until the returned object is destroyed; `health`
// must outlive it.
std::shared_ptr<void> breakerMetrics(const routing::HealthBoard& health,
                                     telemetry::Registry& registry = telemetry::Registry::global());

}  // namespace switchyard::server
