// Routing decision cost: one Router::plan() over a route of N candidates with every constraint
// in play, per strategy, plus the request signals (classifier) of a typical chat request.
// Goal (issue 5): p99 <= 20 us for 20 candidates. Run: build/release/bin/routing_bench
// (add --benchmark_repetitions=20 --benchmark_report_aggregates_only=true for spread).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "switchyard/routing/router.h"
#include "switchyard/routing/task_examples.h"

namespace sy = switchyard;

namespace {

class TablePricing final : public sy::pipeline::Pricing {
 public:
  double cost(std::string_view, std::string_view, const sy::api::Usage&) const override {
    return 0;
  }
  double estimate(std::string_view, std::string_view model, std::int64_t in,
                  std::int64_t out) const override {
    return static_cast<double>(model.size()) * 1e-7 * static_cast<double>(in + 4 * out);
  }
  double maxEstimate(std::int64_t, std::int64_t) const override { return 1; }
};

sy::config::Config makeConfig(int candidates, const std::string& strategy) {
  sy::config::Config c;
  for (int p = 0; p < 4; ++p) {
    sy::config::ProviderConfig provider;
    provider.name = "p" + std::to_string(p);
    provider.kind = p == 0 ? "local" : "openai";
    provider.locality = p == 0 ? "on_prem" : (p == 1 ? "cloud:eu" : "cloud");
    for (int m = 0; m < candidates; ++m) {
      provider.models.push_back({"model-" + std::to_string(m), {}, 128000});
    }
    c.providers.push_back(provider);
  }
  sy::config::RouteConfig route;
  route.name = "auto";
  route.strategy = strategy;
  route.quality_threshold = 0.7;
  for (int i = 0; i < candidates; ++i) {
    sy::config::CandidateConfig cc;
    cc.provider = "p" + std::to_string(i % 4);
    cc.model = "model-" + std::to_string(i);
    cc.weight = 1 + i % 3;
    cc.quality = {{"chat", 0.5 + 0.02 * i}, {"code", 0.9 - 0.02 * i}};
    if (i % 5 == 0) cc.risk = {"high"};
    if (i % 7 == 0) cc.tasks = {"code"};
    route.candidates.push_back(cc);
  }
  c.routes = {route};
  return c;
}

sy::routing::RequestSignals signals() {
  sy::routing::RequestSignals s;
  s.needs = sy::routing::kCapTools;
  s.prompt_tokens = 900;
  s.max_tokens = 512;
  s.task_type = "chat";
  s.risk_tier = "low";
  return s;
}

void BM_Plan(benchmark::State& state, const std::string& strategy) {
  const int n = static_cast<int>(state.range(0));
  const auto config = makeConfig(n, strategy);
  sy::routing::HealthBoard health;
  sy::routing::Router router(config, health);
  TablePricing pricing;
  router.setPricing(&pricing);
  const auto s = signals();
  std::vector<double> samples;
  samples.reserve(1 << 20);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    sy::pipeline::RequestContext ctx;
    auto status = router.plan("auto", s, ctx);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(ctx.plan.data());
    const auto t1 = std::chrono::steady_clock::now();
    if (samples.size() < samples.capacity()) {
      samples.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  std::sort(samples.begin(), samples.end());
  if (!samples.empty()) {
    state.counters["p50_us"] = samples[samples.size() / 2];
    state.counters["p99_us"] = samples[samples.size() * 99 / 100];
  }
}

void BM_Signals(benchmark::State& state) {
  sy::config::RoutingConfig rc;
  rc.tasks = {{"legal", {"contract", "liability", "indemnity"}, {R"(\bclause \d+)"}, 1}};
  rc.risk = {{"high", {"diagnosis", "wire transfer"}, {}, 2}};
  sy::routing::Classifier classifier(rc);
  sy::api::ChatRequest request;
  sy::api::Message system;
  system.role = sy::api::Role::kSystem;
  system.content = {{sy::api::ContentPart::Kind::kText, "You are a helpful assistant."}};
  sy::api::Message user;
  user.role = sy::api::Role::kUser;
  std::string text;
  while (text.size() < 1000) text += "Please summarise the quarterly report and list the risks. ";
  user.content = {{sy::api::ContentPart::Kind::kText, text}};
  request.messages = {system, user};
  for (auto _ : state) {
    auto s = sy::routing::signalsOf(request, &classifier, "");
    benchmark::DoNotOptimize(s);
  }
}

}  // namespace

BENCHMARK_CAPTURE(BM_Plan, priority, std::string("priority"))->Arg(5)->Arg(20);
BENCHMARK_CAPTURE(BM_Plan, weighted, std::string("weighted"))->Arg(20);
BENCHMARK_CAPTURE(BM_Plan, latency, std::string("latency"))->Arg(20);
BENCHMARK_CAPTURE(BM_Plan, cost, std::string("cost"))->Arg(20);
BENCHMARK_CAPTURE(BM_Plan, quality, std::string("quality"))->Arg(20);
BENCHMARK(BM_Signals);
// Direct model names skip the classifier: capabilities and size only.
void BM_SignalsDirect(benchmark::State& state) {
  sy::api::ChatRequest request;
  sy::api::Message user;
  user.role = sy::api::Role::kUser;
  user.content = {{sy::api::ContentPart::Kind::kText, std::string(1000, 'x')}};
  request.messages = {user};
  for (auto _ : state) {
    auto s = sy::routing::signalsOf(request, nullptr, "");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SignalsDirect);

// The nearest-neighbour classifier's search: k = 5 over N examples of 768 dimensions (the
// embedding call itself is the model's cost and is not measured here).
void BM_NearestExamples(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kDims = 768;
  std::vector<std::vector<float>> vectors(n, std::vector<float>(kDims));
  std::vector<std::string> labels(n);
  std::uint64_t x = 88172645463325252ull;  // xorshift: fixed pseudo-random vectors
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<float>(x % 2001) / 1000.0f - 1.0f;
  };
  for (std::size_t i = 0; i < n; ++i) {
    for (float& v : vectors[i]) v = next();
    labels[i] = "task" + std::to_string(i % 8);
  }
  auto index = sy::routing::ExampleIndex::build(vectors, labels);
  std::vector<float> query(kDims);
  for (float& v : query) v = next();
  for (auto _ : state) {
    auto vote = index->nearest(query, 5, -1.0);
    benchmark::DoNotOptimize(vote);
  }
}
BENCHMARK(BM_NearestExamples)->Arg(200)->Arg(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
