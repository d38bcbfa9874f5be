#include "switchyard/telemetry/prices.h"

#include <gtest/gtest.h>

#include <limits>

namespace switchyard::telemetry {
namespace {

config::ProviderConfig provider(std::string name, std::string kind) {
  config::ProviderConfig p;
  p.name = std::move(name);
  p.kind = std::move(kind);
  return p;
}

api::Usage usage(std::int64_t prompt, std::int64_t completion, std::int64_t cached = 0,
                 std::int64_t cache_write = 0) {
  api::Usage u;
  u.prompt_tokens = prompt;
  u.completion_tokens = completion;
  u.cached_tokens = cached;
  u.cache_write_tokens = cache_write;
  u.total_tokens = prompt + completion;
  return u;
}

config::Config baseConfig() {
  config::Config c;
  c.providers = {provider("oai", "openai"), provider("claude", "anthropic"),
                 provider("gem", "gemini"), provider("az", "azure"), provider("vllm", "openai"),
                 provider("gpu", "local")};
  c.providers[0].models = {{"gpt-4o", {}, 0}, {"gpt-4o-mini", {}, 0}};
  c.providers[1].models = {{"claude-opus-4-1", {}, 0}};
  return c;
}

// prompt_tokens includes the cached tokens: the uncached part pays the input rate, the cached
// part the cached rate, never both.
TEST(PriceTableTest, CachedTokensAreBilledAtTheCachedRateOnly) {
  PriceTable prices(baseConfig());
  // gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M.
  // 600k uncached * 2.5 + 400k cached * 1.25 + 100k out * 10 = 1.5 + 0.5 + 1.0.
  EXPECT_DOUBLE_EQ(prices.cost("oai", "gpt-4o", usage(1'000'000, 100'000, 400'000)), 3.0);
  EXPECT_DOUBLE_EQ(prices.cost("oai", "gpt-4o", usage(1'000'000, 0)), 2.5);
  // Anthropic: input excludes cache reads and writes upstream; the codec adds them into
  // prompt_tokens. 1000 plain * 3 + 2000 read * 0.30 + 500 write * 3.75 + 200 out * 15.
  EXPECT_NEAR(prices.cost("claude", "claude-sonnet-4-5-20250929", usage(3500, 200, 2000, 500)),
              0.008475, 1e-12);
  // Gemini 2.5 Flash, reasoning inside completion: 10k in * 0.30 + 2k out * 2.50.
  EXPECT_NEAR(prices.cost("gem", "gemini-2.5-flash", usage(10'000, 2'000)), 0.008, 1e-12);
}

// Usage comes from upstreams and may hold any int64: extremes cost something sane (never
// negative) instead of overflowing (UBSan) in the cached-token arithmetic.
TEST(PriceTableTest, ExtremeUpstreamCountsDoNotOverflow) {
  PriceTable prices(baseConfig());
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  api::Usage u;
  u.prompt_tokens = kMin;
  u.cached_tokens = kMax;
  u.cache_write_tokens = kMax;
  EXPECT_GE(prices.cost("oai", "gpt-4o", u), 0.0);
  u.prompt_tokens = 0;
  // Nothing uncached: the cached and written tokens alone.
  const double cached_and_written = prices.cost("oai", "gpt-4o", u);
  u.cached_tokens = 0;
  u.cache_write_tokens = 0;
  EXPECT_EQ(prices.cost("oai", "gpt-4o", u), 0.0);
  EXPECT_GE(cached_and_written, static_cast<double>(kMax) * 1.25 / 1e6);
  u = {};
  u.prompt_tokens = kMax;
  u.cached_tokens = 1;
  EXPECT_GT(prices.cost("oai", "gpt-4o", u), 0.0);
}

TEST(PriceTableTest, DatedModelIdsUseTheLongestPrefixAtAVersionBoundary) {
  PriceTable prices(baseConfig());
  EXPECT_DOUBLE_EQ(prices.find("oai", "gpt-4o-2024-08-06")->input, 2.50);
  EXPECT_DOUBLE_EQ(prices.find("oai", "gpt-4o-mini-2024-07-18")->input, 0.15);
  EXPECT_DOUBLE_EQ(prices.find("gem", "gemini-2.5-flash-lite")->input, 0.10);
  EXPECT_DOUBLE_EQ(prices.find("claude", "claude-3-5-sonnet@20241022")->output, 15.0);
  EXPECT_FALSE(prices.find("oai", "gpt-4o1").has_value());
  EXPECT_FALSE(prices.find("oai", "my-finetune").has_value());
  EXPECT_FALSE(prices.find("nobody", "gpt-4o").has_value());
  EXPECT_EQ(prices.cost("oai", "my-finetune", usage(1000, 1000)), 0.0);
  // Azure deployments named after OpenAI models get OpenAI's prices.
  EXPECT_DOUBLE_EQ(prices.find("az", "gpt-4o-mini")->output, 0.60);
}

TEST(PriceTableTest, ConfigOverridesByProviderNameThenKindThenDefaults) {
  config::Config c = baseConfig();
  config::PriceConfig by_kind;
  by_kind.kind = "openai";
  by_kind.model = "gpt-4o";
  by_kind.input = 2.0;
  by_kind.output = 8.0;  // cached_input unset: same as input
  config::PriceConfig by_name;
  by_name.provider = "vllm";
  by_name.model = "gpt-4o";
  by_name.input = 0.5;
  by_name.output = 0.5;
  by_name.cached_input = 0.1;
  config::PriceConfig custom;
  custom.provider = "vllm";
  custom.model = "llama-3.1-70b";
  custom.input = 0.6;
  custom.output = 0.8;
  c.prices = {by_kind, by_name, custom};
  PriceTable prices(c);
  EXPECT_DOUBLE_EQ(prices.find("oai", "gpt-4o")->input, 2.0);
  EXPECT_DOUBLE_EQ(prices.find("oai", "gpt-4o")->cached_input, 2.0);
  EXPECT_DOUBLE_EQ(prices.find("oai", "gpt-4o-2024-11-20")->output, 8.0);
  EXPECT_DOUBLE_EQ(prices.find("oai", "gpt-4o-mini")->input, 0.15);  // default untouched
  EXPECT_DOUBLE_EQ(prices.find("vllm", "gpt-4o")->input, 0.5);
  EXPECT_DOUBLE_EQ(prices.find("vllm", "gpt-4o")->cached_input, 0.1);
  // 1M prompt (half cached) + 1M out at 0.6/0.6/0.8.
  EXPECT_DOUBLE_EQ(prices.cost("vllm", "llama-3.1-70b", usage(1'000'000, 1'000'000, 500'000)),
                   1.4);
}

TEST(PriceTableTest, LocalModelsCostHardwareTimeAtConfiguredOrMeasuredThroughput) {
  config::Config c = baseConfig();
  config::PriceConfig hw;
  hw.provider = "gpu";
  hw.hourly_usd = 3.6;  // $0.001 per second
  hw.tokens_per_second = 100;
  hw.prompt_tokens_per_second = 1000;
  config::PriceConfig measured;
  measured.provider = "gpu";
  measured.model = "big";
  measured.hourly_usd = 7.2;  // no throughput: measured
  c.prices = {hw, measured};
  PriceTable prices(c);
  EXPECT_TRUE(prices.isLocal("gpu"));
  EXPECT_FALSE(prices.isLocal("oai"));
  // 1000 out / 100 tok/s = 10 s; 2000 prompt / 1000 tok/s = 2 s; 12 s * $0.001.
  EXPECT_NEAR(prices.cost("gpu", "tiny", usage(2000, 1000)), 0.012, 1e-12);
  // "big": nothing measured yet, so no price rather than a made-up one.
  EXPECT_EQ(prices.cost("gpu", "big", usage(0, 1000)), 0.0);
  prices.recordThroughput("gpu", 50);
  EXPECT_DOUBLE_EQ(prices.measuredThroughput("gpu"), 50);
  // 1000 / 50 = 20 s at $0.002/s.
  EXPECT_NEAR(prices.cost("gpu", "big", usage(0, 1000)), 0.04, 1e-12);
  prices.recordThroughput("gpu", 66);  // EWMA, weight 1/16
  EXPECT_DOUBLE_EQ(prices.measuredThroughput("gpu"), 51);
  prices.recordThroughput("oai", 10);  // not local: ignored
  EXPECT_EQ(prices.measuredThroughput("oai"), 0.0);
  EXPECT_DOUBLE_EQ(prices.throughput("gpu", "tiny"), 100);
  EXPECT_DOUBLE_EQ(prices.throughput("gpu", "big"), 51);
}

TEST(PriceTableTest, EstimatesAssumeNoCacheAndTheMostExpensiveConfiguredModel) {
  PriceTable prices(baseConfig());
  // gpt-4o-mini: 1000 * 0.15 + 500 * 0.60 = 450 micro-USD.
  EXPECT_NEAR(prices.estimate("oai", "gpt-4o-mini", 1000, 500), 0.00045, 1e-12);
  // claude-opus-4-1 is the most expensive configured: 1000 * 15 + 500 * 75 = 52500 micro-USD.
  EXPECT_NEAR(prices.maxEstimate(1000, 500), 0.0525, 1e-12);
}

TEST(LivePricesTest, ReloadSwapsPricesAndHardwareAndKeepsMeasuredThroughput) {
  config::Config c = baseConfig();
  config::PriceConfig hw;
  hw.provider = "gpu";
  hw.hourly_usd = 3.6;  // $0.001 per second; throughput measured
  c.prices = {hw};
  LivePrices prices(c);
  const pipeline::Pricing& pricing = prices;  // what stages and the router hold
  prices.current()->recordThroughput("gpu", 100);
  // gpt-4o at the shipped $2.50 in; the local model at 1000 tokens / 100 tok/s * $0.001.
  EXPECT_NEAR(pricing.cost("oai", "gpt-4o", usage(1'000'000, 0)), 2.50, 1e-12);
  EXPECT_NEAR(pricing.cost("gpu", "tiny", usage(0, 1000)), 0.01, 1e-12);
  const std::shared_ptr<const PriceTable> before = prices.current();

  config::PriceConfig negotiated;
  negotiated.provider = "oai";
  negotiated.model = "gpt-4o";
  negotiated.input = 1.0;
  negotiated.output = 4.0;
  hw.hourly_usd = 7.2;  // a bigger machine
  c.prices = {negotiated, hw};
  prices.reload(c);
  EXPECT_NEAR(pricing.cost("oai", "gpt-4o", usage(1'000'000, 0)), 1.0, 1e-12);
  EXPECT_NEAR(pricing.estimate("oai", "gpt-4o", 1'000'000, 1'000'000), 5.0, 1e-12);
  // Measured throughput carried over; the new hourly rate applies.
  EXPECT_DOUBLE_EQ(prices.current()->measuredThroughput("gpu"), 100);
  EXPECT_NEAR(pricing.cost("gpu", "tiny", usage(0, 1000)), 0.02, 1e-12);
  // A request that took the old table keeps it (and its prices) to its end.
  EXPECT_NEAR(before->cost("oai", "gpt-4o", usage(1'000'000, 0)), 2.50, 1e-12);
}

TEST(PriceTableTest, ShippedDefaultsAreSane) {
  for (const DefaultPrice& d : defaultPrices()) {
    EXPECT_GT(d.price.input, 0) << d.model;
    EXPECT_LE(d.price.cached_input, d.price.input) << d.model;
    EXPECT_GE(d.price.cache_write, d.price.input) << d.model;
    EXPECT_TRUE(d.kind == "openai" || d.kind == "anthropic" || d.kind == "gemini") << d.kind;
  }
}

}  // namespace
}  // namespace switchyard::telemetry
