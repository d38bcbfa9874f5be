#pragma once
// EngineMetrics: a local provider's engines on /metrics, read when Prometheus scrapes (no work
// per request or per token beyond the engine's own counters): whether each model is loaded, its
// queue depth, active sequences, KV cache cells used / size / usage ratio, prompt-cache hits and
// cached prompt tokens, tokens generated and generation throughput. Labels: provider, model
// (bounded by the configured models). Registered in telemetry::Registry::global() for the
// lifetime of the object; a provider rebuilt by a config reload replaces the old one's series.
//
// Thread-safety: the scrape callbacks may run on any thread; `models` must outlive this object.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "switchyard/engine/model_registry.h"
#include "switchyard/telemetry/metrics.h"

namespace switchyard::providers {

class EngineMetrics {
 public:
  EngineMetrics(std::string provider, const engine::ModelRegistry& models,
                telemetry::Registry& registry = telemetry::Registry::global());

  EngineMetrics(const EngineMetrics&) = delete;
  EngineMetrics& operator=(const EngineMetrics&) = delete;

 private:
  enum class Field {
    kLoaded,
    kQueued,
    kActive,
    kKvUsed,
    kKvSize,
    kKvRatio,
    kCacheHits,
    kCachedTokens,
    kSharedTokens,
    kGenerated,
    kTokensPerSecond,
    kStepSeconds,
    kDecodeSeconds,
    kSampleSeconds,
  };
  std::vector<telemetry::Sample> read(Field field);
  double tokensPerSecond(const std::string& model, std::uint64_t generated);

  struct Rate {
    std::chrono::steady_clock::time_point at{};
    std::uint64_t generated = 0;
    double per_second = 0;
  };

  const std::string provider_;
  const engine::ModelRegistry& models_;
  std::mutex mu_;
  std::map<std::string, Rate> rates_;  // by model, under mu_
  std::vector<telemetry::Registry::CallbackHandle> handles_;  // last: unregistered first
};

}  // namespace switchyard::providers
