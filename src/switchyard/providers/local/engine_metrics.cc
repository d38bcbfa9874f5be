#include "switchyard/providers/local/engine_metrics.h"

namespace switchyard::providers {
namespace {

using telemetry::MetricType;

// Throughput is measured between scrapes at least this far apart (closer scrapes, e.g. two
// Prometheus servers, report the last measurement instead of a noisy one).
constexpr std::chrono::seconds kMinRateWindow{1};

}  // namespace

EngineMetrics::EngineMetrics(std::string provider, const engine::ModelRegistry& models,
                             telemetry::Registry& registry)
    : provider_(std::move(provider)), models_(models) {
  struct Def {
    const char* name;
    const char* help;
    MetricType type;
    Field field;
  };
  static constexpr Def kDefs[] = {
      {"switchyard_engine_model_loaded", "1 when the local model is loaded in memory, else 0.",
       MetricType::kGauge, Field::kLoaded},
      {"switchyard_engine_queue_depth", "Requests waiting for an engine sequence.",
       MetricType::kGauge, Field::kQueued},
      {"switchyard_engine_active_sequences", "Requests holding an engine sequence.",
       MetricType::kGauge, Field::kActive},
      {"switchyard_engine_kv_cache_used_cells", "KV cache cells holding tokens.",
       MetricType::kGauge, Field::kKvUsed},
      {"switchyard_engine_kv_cache_size_cells", "KV cache cells of the generation context.",
       MetricType::kGauge, Field::kKvSize},
      {"switchyard_engine_kv_cache_usage_ratio", "KV cache cells used / size (0..1).",
       MetricType::kGauge, Field::kKvRatio},
      {"switchyard_engine_prompt_cache_hits_total",
       "Finished engine requests that reused cached prompt tokens.", MetricType::kCounter,
       Field::kCacheHits},
      {"switchyard_engine_prompt_cached_tokens_total",
       "Prompt tokens served from the engine's prompt cache instead of decoded.",
       MetricType::kCounter, Field::kCachedTokens},
      {"switchyard_engine_shared_prefix_tokens_total",
       "Of the cached prompt tokens, those whose KV another sequence held (a prefix shared with "
       "a concurrent or earlier request, computed once).",
       MetricType::kCounter, Field::kSharedTokens},
      {"switchyard_engine_generated_tokens_total", "Tokens generated (sampled) by the engine.",
       MetricType::kCounter, Field::kGenerated},
      {"switchyard_engine_generation_tokens_per_second",
       "Tokens generated per second since the previous scrape (at least 1 s before); "
       "rate(switchyard_engine_generated_tokens_total[1m]) gives the same over a window.",
       MetricType::kGauge, Field::kTokensPerSecond},
      {"switchyard_engine_step_seconds_total",
       "Engine-thread time in generation steps (forward pass, sampling and scheduling).",
       MetricType::kCounter, Field::kStepSeconds},
      {"switchyard_engine_decode_seconds_total",
       "Of the step time, the model's forward pass (llama_decode until the device is done).",
       MetricType::kCounter, Field::kDecodeSeconds},
      {"switchyard_engine_sample_seconds_total",
       "Of the step time, sampling the generated tokens (on the CPU, also with a GPU).",
       MetricType::kCounter, Field::kSampleSeconds},
  };
  for (const Def& d : kDefs) {
    handles_.push_back(registry.callback(d.name, d.help, d.type, {"provider", "model"},
                                         [this, field = d.field] { return read(field); }));
  }
}

double EngineMetrics::tokensPerSecond(const std::string& model, std::uint64_t generated) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  Rate& r = rates_[model];
  if (r.at == std::chrono::steady_clock::time_point{} || generated < r.generated) {
    r = {now, generated, 0};  // first scrape, or a reloaded engine started counting again
  } else if (now - r.at >= kMinRateWindow) {
    const double seconds = std::chrono::duration<double>(now - r.at).count();
    r.per_second = static_cast<double>(generated - r.generated) / seconds;
    r.at = now;
    r.generated = generated;
  }
  return r.per_second;
}

std::vector<telemetry::Sample> EngineMetrics::read(Field field) {
  std::vector<telemetry::Sample> out;
  for (const engine::ModelState& m : models_.states()) {
    if (field != Field::kLoaded && !m.loaded) continue;
    const engine::EngineStats& s = m.stats;
    double v = 0;
    switch (field) {
      case Field::kLoaded: v = m.loaded ? 1 : 0; break;
      case Field::kQueued: v = static_cast<double>(s.queued); break;
      case Field::kActive: v = static_cast<double>(s.active); break;
      case Field::kKvUsed: v = static_cast<double>(s.kv_cells_used); break;
      case Field::kKvSize: v = static_cast<double>(s.kv_cells_total); break;
      case Field::kKvRatio:
        if (s.kv_cells_total == 0) continue;  // embedding-only model: no generation cache
        v = static_cast<double>(s.kv_cells_used) / static_cast<double>(s.kv_cells_total);
        break;
      case Field::kCacheHits: v = static_cast<double>(s.prompt_cache_hits); break;
      case Field::kCachedTokens: v = static_cast<double>(s.cached_tokens); break;
      case Field::kSharedTokens:
        v = static_cast<double>(s.shared_prefix_tokens);
        break;
      case Field::kGenerated: v = static_cast<double>(s.tokens_generated); break;
      case Field::kTokensPerSecond: v = tokensPerSecond(m.name, s.tokens_generated); break;
      case Field::kStepSeconds: v = s.step_seconds; break;
      case Field::kDecodeSeconds: v = s.decode_seconds; break;
      case Field::kSampleSeconds: v = s.sample_seconds; break;
    }
    out.push_back({{provider_, m.name}, v});
  }
  return out;
}

}  // namespace switchyard::providers
