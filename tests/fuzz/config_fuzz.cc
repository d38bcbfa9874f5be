// YAML configuration text, as `switchyard serve --config` and `config check` read it, and the
// router built from whatever loads (start-up and every reload build one).
//
// Properties: nothing crashes, hangs, leaks or trips UBSan, whatever the bytes; a rejected file
// gets an error that names it ("fuzz.yaml: ..." or "fuzz.yaml:LINE: ..."), as every config
// error must; from an accepted file, a router (with the file's prices) builds, and every name it
// lists, planned for a plain request and for one that must stay on premises, passes the checks
// of routing_checks.h: exactly the eligible candidates, on_prem only for sensitive data, the
// explanation equal to the decision.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/config/config.h"
#include "switchyard/routing/router.h"
#include "switchyard/telemetry/prices.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/routing_checks.h"

namespace routing = switchyard::routing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto config = switchyard::config::parseConfig(yaml, "fuzz.yaml");
  if (!config) {
    const std::string& message = config.error().message();
    SY_FUZZ_CHECK_MSG(message.starts_with("fuzz.yaml"), message);
    return 0;
  }

  routing::HealthBoard health;
  const switchyard::telemetry::PriceTable prices(*config);
  routing::Router router(*config, health);
  router.setPricing(&prices);
  routing::RequestSignals plain;
  plain.task_type = "chat";
  plain.risk_tier = "low";
  plain.prompt_tokens = 100;
  routing::RequestSignals sensitive = plain;
  sensitive.local_only = true;
  sensitive.local_only_reason = "personal data";
  for (const routing::ModelListing& m : router.models()) {
    switchyard::fuzz::checkPlan(router, m.id, plain);
    switchyard::fuzz::checkPlan(router, m.id, sensitive);
  }
  return 0;
}
