#pragma once
// TelemetryObserver: the log phase's telemetry. For every finished model request it updates the
// Prometheus metrics (requests, errors, latency histograms, tokens, cost, prompt-cache hits),
// feeds a local provider's measured throughput to the price table, and queues one request-log
// row. Cheap on the calling I/O thread: each thread keeps the series of the label sets it has
// seen (one hash lookup per request instead of one per metric), atomics, one queue push into a
// recycled record; the store is written by RequestLog's own thread.
//
// Thread-safety: onRequestDone() is called from every I/O thread at once.

#include <array>
#include <cstdint>
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
                    std::shared_ptr<const LivePrices> prices, std::shared_ptr<RequestLog> log);

  void onRequestDone(const pipeline::RequestContext& ctx) override;

 private:
  // Every series one (endpoint, route, provider, model, status) touches; null until first used
  // (a series shows on /metrics from its first update).
  struct Series {
    Counter* requests = nullptr;
    Histogram* duration = nullptr;
    Histogram* ttft = nullptr;
    Histogram* overhead = nullptr;
    std::array<Counter*, 5> tokens{};  // prompt, completion, cached, cache_write, reasoning
    Counter* cost = nullptr;
    Counter* cache_hits = nullptr;
  };
  Series& seriesFor(std::string_view endpoint, const pipeline::RequestContext& ctx,
                    std::string_view status);

  const std::uint64_t id_;  // tells this observer's entries in the per-thread cache apart
  std::shared_ptr<const LivePrices> prices_;
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
