#pragma once
// Properties of one routing decision, shared by the routing and config targets: whatever the
// request and the configuration, a plan is either a list of eligible candidates or an error
// that says why, sensitive data never gets a plan through a provider that is not on_prem, and
// the explanation is the decision actually made.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/routing/router.h"
#include "tests/fuzz/fuzz_support.h"

namespace switchyard::fuzz {

// Plans `model` with and without an explanation and checks both.
inline void checkPlan(const routing::Router& router, std::string_view model,
                      const routing::RequestSignals& signals) {
  pipeline::RequestContext ctx;
  routing::Explanation explain;
  const Status status = router.plan(model, signals, ctx, &explain);
  const std::string json = routing::explanationJson(explain);
  SY_FUZZ_CHECK_MSG(validJson(json), json);
  SY_FUZZ_CHECK_MSG(explain.status.code() == status.code(), json);

  const auto& listed = router.models();
  const bool is_listed = std::any_of(listed.begin(), listed.end(),
                                     [&](const routing::ModelListing& m) { return m.id == model; });
  if (!status.isOk()) {
    SY_FUZZ_CHECK_MSG(!status.message().empty(), json);
    SY_FUZZ_CHECK_MSG(explain.plan.empty(), json);
    switch (status.code()) {
      case ErrorCode::kNotFound:  // only a name that no route, model or provider answers to
        SY_FUZZ_CHECK_MSG(!is_listed, json);
        return;
      case ErrorCode::kPermissionDenied:  // only when the data had to stay on premises
        SY_FUZZ_CHECK_MSG(signals.local_only, json);
        break;
      case ErrorCode::kInvalidArgument:
        break;
      default:
        fail("unexpected status", __FILE__, __LINE__, json);
    }
    // Nothing is left, and each candidate says what removed it.
    for (const routing::CandidateExplanation& c : explain.candidates) {
      SY_FUZZ_CHECK_MSG(!c.excluded_by.empty(), json);
    }
    return;
  }
  SY_FUZZ_CHECK_MSG(is_listed || model.find('/') != std::string_view::npos, json);

  // The plan: every eligible candidate once, none of the excluded ones; the explanation's plan
  // is the same list.
  SY_FUZZ_CHECK_MSG(!ctx.plan.empty() && ctx.policy != nullptr, json);
  SY_FUZZ_CHECK_MSG(explain.plan.size() == ctx.plan.size(), json);
  std::vector<bool> seen(explain.candidates.size(), false);
  for (std::size_t i = 0; i < ctx.plan.size(); ++i) {
    const pipeline::Target& t = ctx.plan[i];
    SY_FUZZ_CHECK_MSG(
        t.candidate >= 0 && static_cast<std::size_t>(t.candidate) < explain.candidates.size(),
        json);
    const auto index = static_cast<std::size_t>(t.candidate);
    SY_FUZZ_CHECK_MSG(!seen[index], json);
    seen[index] = true;
    const routing::CandidateExplanation& c = explain.candidates[index];
    SY_FUZZ_CHECK_MSG(c.target == t.provider + "/" + t.model, json);
    SY_FUZZ_CHECK_MSG(explain.plan[i] == c.target, json);
    SY_FUZZ_CHECK_MSG(c.excluded_by.empty(), json);
    // The guarantee the hybrid design rests on.
    if (signals.local_only && !ctx.policy->sensitive_allowed) {
      SY_FUZZ_CHECK_MSG(c.locality == "on_prem", json);
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    SY_FUZZ_CHECK_MSG(seen[i] == explain.candidates[i].excluded_by.empty(), json);
  }
  SY_FUZZ_CHECK_MSG(explain.decision == ctx.decision && !ctx.decision.empty(), json);

  // Explaining does not change the decision (weighted routes draw at random each time).
  if (explain.strategy != "weighted") {
    pipeline::RequestContext again;
    SY_FUZZ_CHECK_MSG(router.plan(model, signals, again).isOk(), json);
    SY_FUZZ_CHECK_MSG(again.plan.size() == ctx.plan.size(), json);
    for (std::size_t i = 0; i < ctx.plan.size(); ++i) {
      SY_FUZZ_CHECK_MSG(again.plan[i].candidate == ctx.plan[i].candidate &&
                            again.plan[i].provider == ctx.plan[i].provider &&
                            again.plan[i].model == ctx.plan[i].model,
                        json);
    }
    SY_FUZZ_CHECK_MSG(again.decision == ctx.decision, json);
  }
}

}  // namespace switchyard::fuzz
