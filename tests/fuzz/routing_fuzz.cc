// A chat request body, routed as the gateway routes it: decoded, its signals taken (capabilities,
// size, task type and risk tier from the classifier, the caller's risk header), the guard's
// verdict on its last user message, then planned for the model it names and for every route
// of a configuration that has each strategy and constraint.
//
// Properties: nothing crashes, leaks or trips UBSan; explaining the signals does not change them;
// every plan holds exactly the eligible candidates, the explanation is the decision made, an
// error says why (see routing_checks.h); a request the guard marks local-only (personal data or
// a secret in it), and every request when forced local-only, is planned on on_prem providers
// only, or refused.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "switchyard/api/openai/codec.h"
#include "switchyard/config/config.h"
#include "switchyard/guard/detector.h"
#include "switchyard/routing/router.h"
#include "switchyard/routing/signals.h"
#include "switchyard/telemetry/prices.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/routing_checks.h"

namespace {

namespace sy = switchyard;
namespace routing = switchyard::routing;

// kind openai throughout: this build has no local engine, and routing reads only the
// provider's locality and models.
constexpr std::string_view kConfig = R"(
providers:
  - name: local
    kind: openai
    base_url: http://127.0.0.1:9/v1
    locality: on_prem
    models:
      - name: qwen
        context_window: 4096
        capabilities: [tools, json_schema]
      - name: embed
  - name: openai
    kind: openai
    base_url: http://127.0.0.1:9/v1
    locality: cloud:us
    models:
      - name: gpt-4o-mini
        aliases: [mini]
        context_window: 128000
      - name: gpt-4o
        context_window: 128000
        capabilities: [tools, json_schema, vision]
  - name: eu
    kind: openai
    base_url: http://127.0.0.1:9/v1
    locality: cloud:eu
    models: [mistral-large, qwen]
routing:
  tasks:
    - name: legal
      keywords: [contract, liability, indemnity]
    - name: sql
      patterns: ['(?i)select\s+\w+\s+from']
  risk:
    - name: high
      keywords: [diagnosis, wire transfer]
routes:
  - name: auto
    strategy: priority
    candidates:
      - target: local/qwen
        risk: [low]
      - openai/gpt-4o-mini
      - target: openai/gpt-4o
        risk: [high]
  - name: best
    strategy: quality
    quality_threshold: 0.8
    candidates:
      - target: local/qwen
        quality: {chat: 0.85, code: 0.6}
      - target: openai/gpt-4o-mini
        quality: 0.82
      - target: openai/gpt-4o
        quality: 0.95
  - name: cheap
    strategy: cost
    candidates: [openai/gpt-4o, eu/mistral-large, local/qwen, openai/gpt-4o-mini]
  - name: spread
    strategy: weighted
    candidates:
      - target: openai/gpt-4o-mini
        weight: 3
      - target: eu/qwen
        weight: 1
      - target: local/qwen
        weight: 0
  - name: fastest
    strategy: latency
    candidates: [eu/qwen, local/qwen]
  - name: extract
    strategy: cascade
    cascade: [{json_valid: true}]
    candidates:
      - target: local/qwen
        max_prompt_tokens: 100
        tasks: [extraction, sql]
      - openai/gpt-4o-mini
  - name: anywhere
    sensitive: allow
    candidates: [openai/gpt-4o, local/qwen]
  - name: europe
    locality: [on_prem, cloud:eu]
    candidates: [openai/gpt-4o-mini, eu/mistral-large, local/qwen]
  - name: private
    locality: [on_prem]
    target: local/qwen
)";

struct World {
  sy::config::Config config;
  routing::HealthBoard health;
  std::unique_ptr<sy::telemetry::PriceTable> prices;
  std::unique_ptr<routing::Router> router;
  std::unique_ptr<sy::guard::Detector> detector;
};

World& world() {
  static World* w = [] {
    auto* out = new World;
    auto config = sy::config::parseConfig(kConfig, "routing_fuzz.yaml");
    if (!config) sy::fuzz::fail("config", __FILE__, __LINE__, config.error().message());
    out->config = std::move(*config);
    out->prices = std::make_unique<sy::telemetry::PriceTable>(out->config);
    out->router = std::make_unique<routing::Router>(out->config, out->health);
    out->router->setPricing(out->prices.get());
    auto detector = sy::guard::Detector::create({});
    if (!detector) sy::fuzz::fail("detector", __FILE__, __LINE__, detector.error().message());
    out->detector = std::move(*detector);
    return out;
  }();
  return *w;
}

constexpr std::string_view kNames[] = {
    "auto",   "best",    "cheap", "spread", "fastest",    "extract",     "anywhere",
    "europe", "private", "mini",  "qwen",   "local/qwen", "eu/anything", "openai/gpt-4o"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto request = sy::api::openai::decodeChatRequest(body);
  if (!request) return 0;
  World& w = world();

  // The guard's verdict on the text a route's policy cares about.
  const std::string text = routing::lastUserText(*request);
  const bool sensitive = !w.detector->scan(text).empty();
  // The caller's risk header: the request's `user` field stands in for it.
  const std::string_view risk_header = request->user;

  auto route = [&](std::string_view model) {
    const routing::Classifier* classifier = w.router->classifierFor(model);
    routing::RequestSignals signals = routing::signalsOf(*request, classifier, risk_header);
    SY_FUZZ_CHECK(signals.prompt_tokens >= 0);
    SY_FUZZ_CHECK(!signals.risk_tier.empty());
    SY_FUZZ_CHECK(classifier == nullptr || !signals.task_type.empty());
    const routing::RequestSignals explained =
        routing::signalsOf(*request, classifier, risk_header, true);
    SY_FUZZ_CHECK_MSG(explained.task_type == signals.task_type &&
                          explained.risk_tier == signals.risk_tier &&
                          explained.needs == signals.needs,
                      signals.task_type + " / " + explained.task_type);
    if (request->seed) {  // a key with a budget nearly spent, from the seed
      signals.budget_remaining = static_cast<double>(*request->seed % 1000) / 1e5;
    }
    signals.local_only = sensitive;
    if (sensitive) signals.local_only_reason = "personal data";
    sy::fuzz::checkPlan(*w.router, model, signals);
    if (!sensitive) {
      signals.local_only = true;
      signals.local_only_reason = "forced";
      sy::fuzz::checkPlan(*w.router, model, signals);
    }
  };
  route(request->model);
  for (std::string_view name : kNames) route(name);
  return 0;
}
