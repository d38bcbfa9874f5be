#include "switchyard/telemetry/prices.h"

#include <algorithm>
#include <cmath>

namespace switchyard::telemetry {
namespace {

// List prices in USD per 1M tokens (input, output, cached read, cache write), as published by
// each vendor in November 2025, for the standard tier (Gemini: prompts up to 200k tokens;
// Anthropic: 5-minute cache writes). Contracts differ: override in config (`prices:`).
constexpr DefaultPrice kDefaults[] = {
    // OpenAI: cached input is billed at the cached rate; no separate cache-write price.
    {"openai", "gpt-5", {1.25, 10.00, 0.125, 1.25}},
    {"openai", "gpt-5-mini", {0.25, 2.00, 0.025, 0.25}},
    {"openai", "gpt-5-nano", {0.05, 0.40, 0.005, 0.05}},
    {"openai", "gpt-4.1", {2.00, 8.00, 0.50, 2.00}},
    {"openai", "gpt-4.1-mini", {0.40, 1.60, 0.10, 0.40}},
    {"openai", "gpt-4.1-nano", {0.10, 0.40, 0.025, 0.10}},
    {"openai", "gpt-4o", {2.50, 10.00, 1.25, 2.50}},
    {"openai", "gpt-4o-mini", {0.15, 0.60, 0.075, 0.15}},
    {"openai", "gpt-4-turbo", {10.00, 30.00, 10.00, 10.00}},
    {"openai", "gpt-3.5-turbo", {0.50, 1.50, 0.50, 0.50}},
    {"openai", "o1", {15.00, 60.00, 7.50, 15.00}},
    {"openai", "o3", {2.00, 8.00, 0.50, 2.00}},
    {"openai", "o3-mini", {1.10, 4.40, 0.55, 1.10}},
    {"openai", "o4-mini", {1.10, 4.40, 0.275, 1.10}},
    {"openai", "text-embedding-3-small", {0.02, 0, 0.02, 0.02}},
    {"openai", "text-embedding-3-large", {0.13, 0, 0.13, 0.13}},
    {"openai", "text-embedding-ada-002", {0.10, 0, 0.10, 0.10}},
    // Anthropic: cache reads 0.1x input, 5-minute cache writes 1.25x input.
    {"anthropic", "claude-opus-4-5", {5.00, 25.00, 0.50, 6.25}},
    {"anthropic", "claude-opus-4-1", {15.00, 75.00, 1.50, 18.75}},
    {"anthropic", "claude-opus-4", {15.00, 75.00, 1.50, 18.75}},
    {"anthropic", "claude-sonnet-4-5", {3.00, 15.00, 0.30, 3.75}},
    {"anthropic", "claude-sonnet-4", {3.00, 15.00, 0.30, 3.75}},
    {"anthropic", "claude-haiku-4-5", {1.00, 5.00, 0.10, 1.25}},
    {"anthropic", "claude-3-7-sonnet", {3.00, 15.00, 0.30, 3.75}},
    {"anthropic", "claude-3-5-sonnet", {3.00, 15.00, 0.30, 3.75}},
    {"anthropic", "claude-3-5-haiku", {0.80, 4.00, 0.08, 1.00}},
    {"anthropic", "claude-3-opus", {15.00, 75.00, 1.50, 18.75}},
    {"anthropic", "claude-3-haiku", {0.25, 1.25, 0.03, 0.30}},
    // Google Gemini (paid tier, prompts <= 200k tokens); context-cache reads.
    {"gemini", "gemini-2.5-pro", {1.25, 10.00, 0.125, 1.25}},
    {"gemini", "gemini-2.5-flash", {0.30, 2.50, 0.03, 0.30}},
    {"gemini", "gemini-2.5-flash-lite", {0.10, 0.40, 0.01, 0.10}},
    {"gemini", "gemini-2.0-flash", {0.10, 0.40, 0.025, 0.10}},
    {"gemini", "gemini-2.0-flash-lite", {0.075, 0.30, 0.075, 0.075}},
    {"gemini", "gemini-1.5-pro", {1.25, 5.00, 0.3125, 1.25}},
    {"gemini", "gemini-1.5-flash", {0.075, 0.30, 0.01875, 0.075}},
};

// `key` matches `model` exactly, or as a prefix followed by a version separator
// ("gpt-4o" matches "gpt-4o-2024-08-06" and "claude-3-5-sonnet@20241022", not "gpt-4o1").
int matchLength(std::string_view key, std::string_view model) {
  if (key == model) return static_cast<int>(key.size()) + 1;  // exact beats any prefix
  if (model.size() > key.size() && model.starts_with(key)) {
    const char next = model[key.size()];
    if (next == '-' || next == '@' || next == ':') return static_cast<int>(key.size());
  }
  return 0;
}

ModelPrice fromConfig(const config::PriceConfig& p) {
  ModelPrice price{p.input, p.output, p.cached_input < 0 ? p.input : p.cached_input,
                   p.cache_write < 0 ? p.input : p.cache_write};
  return price;
}

}  // namespace

std::span<const DefaultPrice> defaultPrices() { return kDefaults; }

PriceTable::PriceTable(const config::Config& config) {
  for (const DefaultPrice& d : kDefaults) {
    by_kind_[std::string(d.kind)];  // kinds with defaults exist even without config
  }
  for (const config::ProviderConfig& p : config.providers) {
    ProviderEntry& e = providers_[p.name];
    e.kind = p.kind;
    if (p.kind == "local") e.measured = std::make_unique<std::atomic<double>>(0.0);
    for (const config::ModelConfig& m : p.models) configured_models_.emplace_back(p.name, m.name);
  }
  for (const config::PriceConfig& p : config.prices) {
    if (!p.kind.empty()) {
      by_kind_[p.kind].emplace_back(p.model, fromConfig(p));
      continue;
    }
    auto it = providers_.find(p.provider);
    if (it == providers_.end()) continue;  // the loader rejects these
    if (p.hourly_usd >= 0) {
      it->second.hardware.emplace_back(
          p.model, HardwareCost{p.hourly_usd, p.tokens_per_second, p.prompt_tokens_per_second});
    } else {
      it->second.prices.emplace_back(p.model, fromConfig(p));
    }
  }
  for (const auto& [provider, model] : configured_models_) {
    ProviderEntry& e = providers_.find(provider)->second;
    e.resolved.emplace(model, match(e, model));
  }
}

const PriceTable::ProviderEntry* PriceTable::entry(std::string_view provider) const {
  auto it = providers_.find(provider);
  return it == providers_.end() ? nullptr : &it->second;
}

bool PriceTable::isLocal(std::string_view provider) const {
  const ProviderEntry* e = entry(provider);
  return e != nullptr && e->kind == "local";
}

std::optional<ModelPrice> PriceTable::find(std::string_view provider,
                                           std::string_view model) const {
  const ProviderEntry* e = entry(provider);
  if (e == nullptr) return std::nullopt;
  if (auto it = e->resolved.find(model); it != e->resolved.end()) return it->second;
  return match(*e, model);
}

std::optional<ModelPrice> PriceTable::match(const ProviderEntry& entry,
                                            std::string_view model) const {
  const ProviderEntry* e = &entry;
  // The longest matching model key wins wherever it comes from (so a config price for
  // "gpt-4o" does not capture "gpt-4o-mini"); on equal keys config by provider name beats
  // config by kind beats the shipped defaults.
  const ModelPrice* best = nullptr;
  int best_len = 0;
  int best_rank = 0;
  auto consider = [&](std::string_view key, const ModelPrice& price, int rank) {
    const int len = matchLength(key, model);
    if (len > 0 && (len > best_len || (len == best_len && rank > best_rank))) {
      best = &price;
      best_len = len;
      best_rank = rank;
    }
  };
  for (const auto& [key, price] : e->prices) consider(key, price, 3);
  if (auto kind = by_kind_.find(e->kind); kind != by_kind_.end()) {
    for (const auto& [key, price] : kind->second) consider(key, price, 2);
  }
  // Azure OpenAI deployments usually carry OpenAI's model ids.
  const std::string_view kind = e->kind == "azure" ? std::string_view("openai") : e->kind;
  for (const DefaultPrice& d : kDefaults) {
    if (d.kind == kind) consider(d.model, d.price, 1);
  }
  if (best != nullptr) return *best;
  return std::nullopt;
}

std::optional<HardwareCost> PriceTable::hardware(std::string_view provider,
                                                 std::string_view model) const {
  const ProviderEntry* e = entry(provider);
  if (e == nullptr) return std::nullopt;
  for (const auto& [key, cost] : e->hardware) {
    if (!key.empty() && matchLength(key, model) > 0) return cost;
  }
  for (const auto& [key, cost] : e->hardware) {
    if (key.empty()) return cost;
  }
  // No model named (reports): the provider's first hardware entry.
  if (model.empty() && !e->hardware.empty()) return e->hardware.front().second;
  return std::nullopt;
}

double PriceTable::tokenCost(const ModelPrice& price, const api::Usage& usage) {
  const std::int64_t cached = std::max<std::int64_t>(0, usage.cached_tokens);
  const std::int64_t written = std::max<std::int64_t>(0, usage.cache_write_tokens);
  // Counts come from upstreams: any int64 at all. Each difference of two non-negative counts
  // fits; the one-line sum would not (UBSan).
  std::int64_t uncached = std::max<std::int64_t>(0, usage.prompt_tokens);
  uncached = std::max<std::int64_t>(0, uncached - cached);
  uncached = std::max<std::int64_t>(0, uncached - written);
  const double micro_usd = static_cast<double>(uncached) * price.input +
                           static_cast<double>(cached) * price.cached_input +
                           static_cast<double>(written) * price.cache_write +
                           static_cast<double>(std::max<std::int64_t>(0, usage.completion_tokens)) *
                               price.output;
  return micro_usd / 1e6;
}

double PriceTable::throughput(std::string_view provider, std::string_view model) const {
  auto hw = hardware(provider, model);
  if (hw && hw->tokens_per_second > 0) return hw->tokens_per_second;
  return measuredThroughput(provider);
}

double PriceTable::cost(std::string_view provider, std::string_view model,
                        const api::Usage& usage) const {
  if (auto price = find(provider, model)) return tokenCost(*price, usage);
  auto hw = hardware(provider, model);
  if (!hw || hw->hourly_usd <= 0) return 0;
  const double tps = hw->tokens_per_second > 0 ? hw->tokens_per_second
                                               : measuredThroughput(provider);
  if (tps <= 0) return 0;
  double seconds = static_cast<double>(std::max<std::int64_t>(0, usage.completion_tokens)) / tps;
  if (hw->prompt_tokens_per_second > 0) {
    seconds += static_cast<double>(std::max<std::int64_t>(0, usage.prompt_tokens)) /
               hw->prompt_tokens_per_second;
  }
  return seconds * hw->hourly_usd / 3600.0;
}

double PriceTable::estimate(std::string_view provider, std::string_view model,
                            std::int64_t prompt_tokens, std::int64_t max_output_tokens) const {
  api::Usage usage;
  usage.prompt_tokens = prompt_tokens;
  usage.completion_tokens = max_output_tokens;
  return cost(provider, model, usage);
}

double PriceTable::maxEstimate(std::int64_t prompt_tokens, std::int64_t max_output_tokens) const {
  double most = 0;
  for (const auto& [provider, model] : configured_models_) {
    most = std::max(most, estimate(provider, model, prompt_tokens, max_output_tokens));
  }
  return most;
}

void PriceTable::recordThroughput(std::string_view provider, double tokens_per_second) const {
  const ProviderEntry* e = entry(provider);
  if (e == nullptr || !e->measured || !(tokens_per_second > 0) ||
      !std::isfinite(tokens_per_second)) {
    return;
  }
  // EWMA with weight 1/16; the first sample sets it. Lost updates under a race only skip a
  // sample.
  std::atomic<double>& m = *e->measured;
  double old = m.load(std::memory_order_relaxed);
  const double next = old == 0 ? tokens_per_second : old + (tokens_per_second - old) / 16.0;
  m.compare_exchange_strong(old, next, std::memory_order_relaxed);
}

void PriceTable::carryMeasurementsFrom(const PriceTable& other) {
  for (auto& [name, e] : providers_) {
    if (e.measured) e.measured->store(other.measuredThroughput(name), std::memory_order_relaxed);
  }
}

LivePrices::LivePrices(const config::Config& config)
    : table_(std::make_shared<const PriceTable>(config)) {}

void LivePrices::reload(const config::Config& config) {
  auto next = std::make_shared<PriceTable>(config);
  next->carryMeasurementsFrom(*table_.load());
  table_.store(std::move(next));
}

double LivePrices::cost(std::string_view provider, std::string_view model,
                        const api::Usage& usage) const {
  return table_.load()->cost(provider, model, usage);
}

double LivePrices::estimate(std::string_view provider, std::string_view model,
                            std::int64_t prompt_tokens, std::int64_t max_output_tokens) const {
  return table_.load()->estimate(provider, model, prompt_tokens, max_output_tokens);
}

double LivePrices::maxEstimate(std::int64_t prompt_tokens, std::int64_t max_output_tokens) const {
  return table_.load()->maxEstimate(prompt_tokens, max_output_tokens);
}

double PriceTable::measuredThroughput(std::string_view provider) const {
  const ProviderEntry* e = entry(provider);
  return e != nullptr && e->measured ? e->measured->load(std::memory_order_relaxed) : 0.0;
}

}  // namespace switchyard::telemetry
