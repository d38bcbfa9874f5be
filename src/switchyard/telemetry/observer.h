#pragma once
// TelemetryObserver: the log phase's telemetry. For every finished model request it updates the
// Prometheus metrics (requests, errors, latency histograms, tokens, cost, prompt-cache hits),
// feeds a local provider's measured throughput to the price table, and queues one request-log
// row. Cheap on the calling I/O thread: atomics, one shard lock per metric family, one queue
// push; the store is written by RequestLog's own thread.
//
// Thread-safety: onRequestDone() is called from every I/O thread at once.

#include <memory>
#include <set>
#include <string>

#include "switchyard/config/config.h"
#include "switchyard/pipeline/stage.h"
#include "switchyard/telemetry/metrics.h"
#include "switchyard/telemetry/prices.h"
#include "switchyard/telemetry/request_log.h"

namespace switchyard::telemetry {

class TelemetryObserver final : public pipeline::RequestObserver {
 public:
  // `prices` and `log` may be null (no throughput measurement / no request log). The last
  // owner of the log (this observer or the feedback endpoint) writes out its queue when it goes.
  TelemetryObserver(const config::Config& config, Registry& registry,
                    std::shared_ptr<const PriceTable> prices, std::shared_ptr<RequestLog> log);

  void onRequestDone(const pipeline::RequestContext& ctx) override;

 private:
  std::shared_ptr<const PriceTable> prices_;
  std::shared_ptr<RequestLog> log_;
  std::set<std::string, std::less<>> payload_routes_;

  CounterFamily& requests_;
  CounterFamily& errors_;
  HistogramFamily& duration_;
  HistogramFamily& ttft_;
  HistogramFamily& overhead_;
  CounterFamily& tokens_;
  CounterFamily& cost_;
  CounterFamily& cache_hits_;
};

}  // namespace switchyard::telemetry
