#pragma once
// PriceTable: what a request costs in USD (pipeline::Pricing). Cloud models are priced per 1M
// input, output, cached-read and cache-write tokens from shipped defaults (common OpenAI,
// Anthropic and Gemini models) overridden by the config's `prices:`; local models from the
// configured hardware cost ($/hour) and throughput (configured, or measured by the request log).
//
// Usage convention (api::Usage): prompt_tokens includes cached_tokens and cache_write_tokens;
// completion_tokens includes reasoning_tokens. So a request costs
//   (prompt - cached - cache_write) * input + cached * cached_input + cache_write * cache_write
//   + completion * output.
//
// Thread-safety: immutable after create() except the measured throughputs, which are atomics:
// every method may be called from any thread.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/pipeline/pricing.h"

namespace switchyard::telemetry {

// USD per 1M tokens.
struct ModelPrice {
  double input = 0;
  double output = 0;
  double cached_input = 0;
  double cache_write = 0;
};

// A shipped default: a provider kind's model id (a prefix of dated ids: "gpt-4o" prices
// "gpt-4o-2024-08-06"; the longest matching prefix wins).
struct DefaultPrice {
  std::string_view kind;
  std::string_view model;
  ModelPrice price;
};
std::span<const DefaultPrice> defaultPrices();

// A local provider's hardware.
struct HardwareCost {
  double hourly_usd = 0;
  double tokens_per_second = 0;         // output; 0: measured
  double prompt_tokens_per_second = 0;  // 0: prompt processing not charged
};

class PriceTable final : public pipeline::Pricing {
 public:
  explicit PriceTable(const config::Config& config);

  // The per-token price of `provider`'s `model`: config by provider name, then by kind, then
  // the shipped defaults for the provider's kind (azure uses openai's). Nullopt: unknown.
  std::optional<ModelPrice> find(std::string_view provider, std::string_view model) const;
  // The hardware entry for a local provider's model (or the provider as a whole).
  std::optional<HardwareCost> hardware(std::string_view provider, std::string_view model) const;
  bool isLocal(std::string_view provider) const;

  double cost(std::string_view provider, std::string_view model,
              const api::Usage& usage) const override;
  double estimate(std::string_view provider, std::string_view model,
                  std::int64_t prompt_tokens, std::int64_t max_output_tokens) const override;
  double maxEstimate(std::int64_t prompt_tokens, std::int64_t max_output_tokens) const override;

  // The output throughput a local provider achieves, as measured from finished requests (an
  // exponentially weighted average); used where no tokens_per_second is configured.
  void recordThroughput(std::string_view provider, double tokens_per_second) const;
  double measuredThroughput(std::string_view provider) const;
  // The throughput cost() uses for a local provider's model: configured, else measured.
  double throughput(std::string_view provider, std::string_view model) const;

  // USD for `usage` at per-token `price` (exposed for reports and tests).
  static double tokenCost(const ModelPrice& price, const api::Usage& usage);

  // Copies the measured throughput of every local provider that `other` knows too.
  void carryMeasurementsFrom(const PriceTable& other);

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct ProviderEntry {
    std::string kind;
    std::vector<std::pair<std::string, ModelPrice>> prices;  // by provider name
    std::vector<std::pair<std::string, HardwareCost>> hardware;  // "" = every model
    std::unique_ptr<std::atomic<double>> measured;  // local only
    // find() of every model configured under the provider, resolved once at construction:
    // the request path looks its price up instead of matching every key of the table.
    std::unordered_map<std::string, std::optional<ModelPrice>, StringHash, std::equal_to<>>
        resolved;
  };

  const ProviderEntry* entry(std::string_view provider) const;
  // find() without the resolved cache: the longest matching key over the whole table.
  std::optional<ModelPrice> match(const ProviderEntry& e, std::string_view model) const;

  std::map<std::string, ProviderEntry, std::less<>> providers_;
  std::map<std::string, std::vector<std::pair<std::string, ModelPrice>>, std::less<>> by_kind_;
  std::vector<std::pair<std::string, std::string>> configured_models_;  // for maxEstimate
};

// LivePrices: the price table the gateway shares (the limits stage's estimates, the router's
// cost strategy, the log phase's cost), replaced whole when the configuration is reloaded
// (SIGHUP, POST /admin/reload), so changed `prices:` and local hardware costs apply to the next
// request. Throughput measured for a local provider carries over to the new table when the
// provider keeps its name.
//
// Thread-safety: every method may be called from any thread; reload() swaps atomically, and a
// caller of current() keeps the table it got alive for as long as it holds it.
class LivePrices final : public pipeline::Pricing {
 public:
  explicit LivePrices(const config::Config& config);

  std::shared_ptr<const PriceTable> current() const { return table_.load(); }
  void reload(const config::Config& config);

  double cost(std::string_view provider, std::string_view model,
              const api::Usage& usage) const override;
  double estimate(std::string_view provider, std::string_view model,
                  std::int64_t prompt_tokens, std::int64_t max_output_tokens) const override;
  double maxEstimate(std::int64_t prompt_tokens, std::int64_t max_output_tokens) const override;

 private:
  std::atomic<std::shared_ptr<const PriceTable>> table_;
};

}  // namespace switchyard::telemetry
