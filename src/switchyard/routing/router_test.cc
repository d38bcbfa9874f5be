#include "switchyard/routing/router.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <limits>
#include <set>

#include "switchyard/routing/dispatcher.h"

namespace switchyard::routing {
namespace {

config::Config makeConfig() {
  config::Config c;
  config::ProviderConfig a;
  a.name = "openai";
  a.kind = "openai";
  a.locality = "cloud";
  a.models = {{"gpt-4o-mini", {"mini"}, 128000}, {"shared-model", {}, 0}, {"gpt-4o", {}, 128000}};
  config::ProviderConfig b;
  b.name = "local";
  b.kind = "local";
  b.locality = "on_prem";
  b.models = {{"qwen2", {}, 4096}, {"shared-model", {}, 0}};
  c.providers = {a, b};
  c.routes = {{"fast", "openai", "gpt-4o-mini", 1}};
  return c;
}

config::CandidateConfig candidate(std::string provider, std::string model) {
  config::CandidateConfig c;
  c.provider = std::move(provider);
  c.model = std::move(model);
  return c;
}

// A route with a local and two cloud candidates.
config::Config hybridConfig(std::string strategy) {
  config::Config c = makeConfig();
  config::RouteConfig r;
  r.name = "auto";
  r.strategy = std::move(strategy);
  r.candidates = {candidate("local", "qwen2"), candidate("openai", "gpt-4o-mini"),
                  candidate("openai", "gpt-4o")};
  c.routes.push_back(r);
  return c;
}

struct Planned {
  Status status;
  pipeline::RequestContext ctx;
  std::vector<std::string> plan() const {
    std::vector<std::string> out;
    for (const auto& t : ctx.plan) out.push_back(t.provider + "/" + t.model);
    return out;
  }
};

Planned planFor(const Router& router, std::string_view model, const RequestSignals& signals) {
  Planned p;
  p.status = router.plan(model, signals, p.ctx);
  return p;
}

RequestSignals chatSignals(std::string task = "chat") {
  RequestSignals s;
  s.task_type = std::move(task);
  s.risk_tier = "low";
  s.prompt_tokens = 100;
  return s;
}

class FixedPricing final : public pipeline::Pricing {
 public:
  double cost(std::string_view, std::string_view, const api::Usage&) const override { return 0; }
  double estimate(std::string_view provider, std::string_view model, std::int64_t,
                  std::int64_t) const override {
    if (provider == "local") return 0.0001;
    return model == "gpt-4o" ? 0.01 : 0.001;
  }
  double maxEstimate(std::int64_t, std::int64_t) const override { return 0.01; }
};

TEST(RouterTest, ResolvesRouteAliasModelAndExplicitPair) {
  HealthBoard health;
  Router router(makeConfig(), health);
  auto p = planFor(router, "fast", chatSignals());
  ASSERT_TRUE(p.status.isOk()) << p.status.toString();
  EXPECT_EQ(p.ctx.route, "fast");
  EXPECT_EQ(p.plan(), std::vector<std::string>{"openai/gpt-4o-mini"});

  p = planFor(router, "mini", chatSignals());
  ASSERT_TRUE(p.status.isOk());
  EXPECT_EQ(p.ctx.route, "");
  EXPECT_EQ(p.plan(), std::vector<std::string>{"openai/gpt-4o-mini"});
  EXPECT_EQ(p.ctx.decision, "alias of openai/gpt-4o-mini");

  p = planFor(router, "qwen2", chatSignals());
  EXPECT_EQ(p.plan(), std::vector<std::string>{"local/qwen2"});

  p = planFor(router, "local/shared-model", chatSignals());
  EXPECT_EQ(p.plan(), std::vector<std::string>{"local/shared-model"});
}

TEST(RouterTest, AmbiguousBareModelNeedsProvider) {
  HealthBoard health;
  Router router(makeConfig(), health);
  EXPECT_EQ(planFor(router, "shared-model", chatSignals()).status.code(), ErrorCode::kNotFound);
}

TEST(RouterTest, UnknownModelIsNotFoundWithParam) {
  HealthBoard health;
  Router router(makeConfig(), health);
  Status s = planFor(router, "gpt-17", chatSignals()).status;
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.param(), "model");
  EXPECT_EQ(s.errorType(), "model_not_found");
  EXPECT_NE(s.message().find("gpt-17"), std::string::npos);
}

TEST(RouterTest, ProviderPrefixPassesUnlistedModelThrough) {
  HealthBoard health;
  Router router(makeConfig(), health);
  auto p = planFor(router, "openai/gpt-4.1", chatSignals());
  ASSERT_TRUE(p.status.isOk());
  EXPECT_EQ(p.plan(), std::vector<std::string>{"openai/gpt-4.1"});
  EXPECT_EQ(planFor(router, "nobody/gpt-4.1", chatSignals()).status.code(),
            ErrorCode::kNotFound);
}

TEST(RouterTest, ListsEveryPublicNameOnce) {
  HealthBoard health;
  Router router(makeConfig(), health);
  std::vector<std::string> ids;
  for (const auto& m : router.models()) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"fast", "gpt-4o", "gpt-4o-mini", "local/qwen2",
                                           "local/shared-model", "mini", "openai/gpt-4o",
                                           "openai/gpt-4o-mini", "openai/shared-model",
                                           "qwen2"}));
}

TEST(RouterTest, PriorityKeepsConfigOrder) {
  HealthBoard health;
  Router router(hybridConfig("priority"), health);
  auto p = planFor(router, "auto", chatSignals());
  ASSERT_TRUE(p.status.isOk());
  EXPECT_EQ(p.plan(), (std::vector<std::string>{"local/qwen2", "openai/gpt-4o-mini",
                                                "openai/gpt-4o"}));
  EXPECT_EQ(p.ctx.route, "auto");
  EXPECT_NE(p.ctx.decision.find("priority"), std::string::npos);
}

TEST(RouterTest, SensitiveRequestStaysOnPremAndFailsClearlyWithoutOnPremCandidate) {
  HealthBoard health;
  Router router(hybridConfig("priority"), health);
  RequestSignals s = chatSignals();
  s.local_only = true;
  s.local_only_reason = "EMAIL found";
  auto p = planFor(router, "auto", s);
  ASSERT_TRUE(p.status.isOk());
  EXPECT_EQ(p.plan(), std::vector<std::string>{"local/qwen2"});
  EXPECT_NE(p.ctx.decision.find("local-only"), std::string::npos);

  // A cloud-only name: refused, naming why, never routed to the cloud.
  auto cloud = planFor(router, "fast", s);
  EXPECT_EQ(cloud.status.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(cloud.status.errorType(), "local_only_no_candidate");
  EXPECT_NE(cloud.status.message().find("EMAIL found"), std::string::npos);
  EXPECT_TRUE(cloud.ctx.plan.empty());
}

TEST(RouterTest, RouteMayAllowSensitiveData) {
  config::Config c = hybridConfig("priority");
  c.routes.back().sensitive = "allow";
  HealthBoard health;
  Router router(c, health);
  RequestSignals s = chatSignals();
  s.local_only = true;
  EXPECT_EQ(planFor(router, "auto", s).plan().size(), 3u);
}

TEST(RouterTest, HardConstraintsRemoveCandidates) {
  config::Config c = hybridConfig("priority");
  c.routes.back().candidates[2].risk = {"high"};
  c.routes.back().candidates[1].tasks = {"chat"};
  HealthBoard health;
  Router router(c, health);

  RequestSignals vision = chatSignals();
  vision.needs = kCapVision;  // the local engine takes no images
  EXPECT_EQ(planFor(router, "auto", vision).plan(),
            (std::vector<std::string>{"openai/gpt-4o-mini"}));

  RequestSignals longer = chatSignals();
  longer.prompt_tokens = 3000;
  longer.max_tokens = 2000;  // over the local model's 4096 / 4 parallel = 1024 per sequence
  EXPECT_EQ(planFor(router, "auto", longer).plan(),
            (std::vector<std::string>{"openai/gpt-4o-mini"}));

  // The largest max_tokens a client may send (2^63 - 1) fits no window: the check neither
  // overflows (UBSan) nor wraps round to "fits".
  for (const std::int64_t prompt : {std::int64_t{100}, std::int64_t{1} << 61}) {
    RequestSignals greedy = chatSignals();
    greedy.prompt_tokens = prompt;
    greedy.max_tokens = std::numeric_limits<std::int64_t>::max();
    auto p = planFor(router, "auto", greedy);
    EXPECT_EQ(p.status.errorType(), "no_eligible_candidate");
    EXPECT_NE(p.status.message().find("openai/gpt-4o-mini: context window too small"),
              std::string::npos)
        << p.status.message();
  }

  RequestSignals code = chatSignals("code");
  code.risk_tier = "high";
  EXPECT_EQ(planFor(router, "auto", code).plan(),
            (std::vector<std::string>{"local/qwen2", "openai/gpt-4o"}));

  std::vector<std::string> scope = {"openai"};
  RequestSignals scoped = chatSignals();
  scoped.allowed_providers = &scope;
  EXPECT_EQ(planFor(router, "auto", scoped).plan(),
            (std::vector<std::string>{"openai/gpt-4o-mini"}));

  RequestSignals impossible = chatSignals();
  impossible.needs = kCapVision;
  impossible.task_type = "code";
  auto none = planFor(router, "auto", impossible);
  EXPECT_EQ(none.status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(none.status.errorType(), "no_eligible_candidate");
  EXPECT_NE(none.status.message().find("local/qwen2: lacks a needed capability"),
            std::string::npos)
      << none.status.message();
}

TEST(RouterTest, CostStrategyOrdersByEstimateAndBudgetExcludes) {
  HealthBoard health;
  Router router(hybridConfig("cost"), health);
  FixedPricing pricing;
  router.setPricing(&pricing);
  auto p = planFor(router, "auto", chatSignals());
  EXPECT_EQ(p.plan(), (std::vector<std::string>{"local/qwen2", "openai/gpt-4o-mini",
                                                "openai/gpt-4o"}));
  RequestSignals poor = chatSignals();
  poor.budget_remaining = 0.005;
  EXPECT_EQ(planFor(router, "auto", poor).plan(),
            (std::vector<std::string>{"local/qwen2", "openai/gpt-4o-mini"}));
}

TEST(RouterTest, QualityStrategyPicksCheapestGoodEnoughForTheTask) {
  config::Config c = hybridConfig("quality");
  c.routes.back().quality_threshold = 0.8;
  c.routes.back().candidates[0].quality = {{"chat", 0.85}, {"code", 0.4}};
  c.routes.back().candidates[1].quality = {{"default", 0.82}};
  c.routes.back().candidates[2].quality = {{"default", 0.95}};
  HealthBoard health;
  FixedPricing pricing;
  // Evaluation scores override configured ones: gpt-4o-mini measured poor at code.
  QualityScores measured = {{"openai/gpt-4o-mini", {{"code", 0.5}}}};
  Router router(c, health, measured);
  router.setPricing(&pricing);
  EXPECT_EQ(planFor(router, "auto", chatSignals("chat")).plan().front(), "local/qwen2");
  EXPECT_EQ(planFor(router, "auto", chatSignals("code")).plan(),
            (std::vector<std::string>{"openai/gpt-4o", "openai/gpt-4o-mini", "local/qwen2"}));
}

TEST(RouterTest, WeightedSpreadsByWeight) {
  config::Config c = hybridConfig("weighted");
  c.routes.back().candidates[0].weight = 3;
  c.routes.back().candidates[1].weight = 1;
  c.routes.back().candidates[2].weight = 0;  // never first
  HealthBoard health;
  Router router(c, health);
  std::map<std::string, int> firsts;
  for (int i = 0; i < 4000; ++i) ++firsts[planFor(router, "auto", chatSignals()).plan().front()];
  EXPECT_EQ(firsts["openai/gpt-4o"], 0);
  EXPECT_NEAR(firsts["local/qwen2"] / 4000.0, 0.75, 0.04);
  EXPECT_NEAR(firsts["openai/gpt-4o-mini"] / 4000.0, 0.25, 0.04);
}

TEST(RouterTest, LatencyPrefersFasterDeploymentAndOpenBreakersGoLast) {
  HealthBoard health;
  Router router(hybridConfig("latency"), health);
  const auto now = DeploymentHealth::Clock::now();
  config::BreakerConfig breaker;
  health.get("local/qwen2", breaker)->recordSuccess(std::chrono::milliseconds(900), now);
  health.get("openai/gpt-4o-mini", breaker)->recordSuccess(std::chrono::milliseconds(100), now);
  health.get("openai/gpt-4o", breaker)->recordSuccess(std::chrono::milliseconds(300), now);
  EXPECT_EQ(planFor(router, "auto", chatSignals()).plan(),
            (std::vector<std::string>{"openai/gpt-4o-mini", "openai/gpt-4o", "local/qwen2"}));
  for (int i = 0; i < breaker.failures; ++i) {
    health.get("openai/gpt-4o-mini", breaker)->recordFailure(now);
  }
  EXPECT_EQ(planFor(router, "auto", chatSignals()).plan().back(), "openai/gpt-4o-mini");
}

TEST(RouterTest, ExplainMatchesThePlanAndNamesExclusions) {
  HealthBoard health;
  Router router(hybridConfig("priority"), health);
  RequestSignals s = chatSignals();
  s.local_only = true;
  s.local_only_reason = "PHONE found";
  pipeline::RequestContext ctx;
  Explanation e;
  ASSERT_TRUE(router.plan("auto", s, ctx, &e).isOk());
  ASSERT_EQ(e.plan.size(), ctx.plan.size());
  EXPECT_EQ(e.plan.front(), "local/qwen2");
  auto json = boost::json::parse(explanationJson(e)).as_object();
  EXPECT_EQ(json.at("route").as_string(), "auto");
  EXPECT_EQ(json.at("candidates").as_array().size(), 3u);
  const auto& cloud = json.at("candidates").as_array()[1].as_object();
  EXPECT_FALSE(cloud.at("eligible").as_bool());
  EXPECT_EQ(cloud.at("excluded_by").as_string(), "sensitive data stays on on_prem providers");
  EXPECT_EQ(json.at("signals").as_object().at("local_only_reason").as_string(), "PHONE found");
}

TEST(ClassifierTest, RulesFirstThenBuiltins) {
  config::RoutingConfig rc;
  rc.tasks = {{"legal", {"contract", "liability"}, {}, 1}};
  rc.risk = {{"high", {"wire transfer"}, {R"(\bdiagnos\w+)"}, 2}};
  Classifier classifier(rc);
  RequestSignals s;
  classifier.classify("Review this contract clause", s, true);
  EXPECT_EQ(s.task_type, "legal");
  EXPECT_EQ(s.task_reason, "rule legal: 'contract'");
  EXPECT_EQ(s.risk_tier, "low");
  RequestSignals code;
  classifier.classify("Why does this Python function raise a KeyError?", code);
  EXPECT_EQ(code.task_type, "code");
  RequestSignals math;
  classifier.classify("What is 17 * 23 + 4 = ?", math);
  EXPECT_EQ(math.task_type, "math");
  RequestSignals risky;
  classifier.classify("Please diagnose my symptoms", risky);
  EXPECT_EQ(risky.risk_tier, "high");
  RequestSignals header;
  header.risk_tier = "medium";  // from x-switchyard-risk: rules do not override it
  classifier.classify("wire transfer now", header);
  EXPECT_EQ(header.risk_tier, "medium");
  RequestSignals word;
  classifier.classify("I love my contractor", word);  // whole words only
  EXPECT_EQ(word.task_type, "chat");
}

TEST(SignalsTest, ChatRequestNeeds) {
  api::ChatRequest r;
  api::Message m;
  m.role = api::Role::kUser;
  m.content = {{api::ContentPart::Kind::kText, std::string(400, 'a')},
               {api::ContentPart::Kind::kImage, "", "https://x/y.png"}};
  r.messages = {m};
  r.tools.push_back({});
  r.response_format.kind = api::ResponseFormat::Kind::kJsonSchema;
  r.max_tokens = 50;
  config::RoutingConfig rc;
  Classifier classifier(rc);
  RequestSignals s = signalsOf(r, &classifier, "");
  EXPECT_EQ(s.needs, kCapVision | kCapTools | kCapJsonSchema);
  EXPECT_GE(s.prompt_tokens, 100);
  EXPECT_EQ(s.max_tokens, 50);
  EXPECT_EQ(s.risk_tier, "low");
}

TEST(DispatchRulesTest, RetryableAndFaults) {
  EXPECT_TRUE(isRetryable(Status(ErrorCode::kRateLimited, "")));
  EXPECT_TRUE(isRetryable(Status(ErrorCode::kUpstream, "")));
  EXPECT_TRUE(isRetryable(Status(ErrorCode::kDeadlineExceeded, "")));
  EXPECT_FALSE(isRetryable(Status(ErrorCode::kInvalidArgument, "").withHttpStatus(400)));
  EXPECT_FALSE(isDeploymentFault(Status(ErrorCode::kInvalidArgument, "").withHttpStatus(400)));
  EXPECT_TRUE(isDeploymentFault(Status(ErrorCode::kUnauthenticated, "").withHttpStatus(401)));
  EXPECT_FALSE(isRetryable(Status(ErrorCode::kUnauthenticated, "").withHttpStatus(401)));
  config::RetryConfig retry;
  retry.backoff = std::chrono::milliseconds(100);
  retry.max_backoff = std::chrono::milliseconds(300);
  for (int i = 0; i < 50; ++i) {
    EXPECT_LE(backoffFor(retry, 2).count(), 100);
    EXPECT_GE(backoffFor(retry, 2).count(), 50);
    EXPECT_LE(backoffFor(retry, 6).count(), 300);
  }
}

TEST(DispatchRulesTest, CascadeChecks) {
  RoutePolicy policy;
  policy.cascade = {{"json_valid", 0, nullptr}, {"min_chars", 5, nullptr}};
  api::ChatResponse r;
  r.choices.resize(1);
  r.choices[0].message.content = {{api::ContentPart::Kind::kText, "not json"}};
  EXPECT_EQ(failedCheck(policy, r), "json_valid");
  r.choices[0].message.content[0].text = "{}";
  EXPECT_EQ(failedCheck(policy, r), "min_chars");
  r.choices[0].message.content[0].text = R"({"a": 1})";
  EXPECT_EQ(failedCheck(policy, r), "");
  policy.cascade = {{"no_refusal", 0, nullptr}};
  r.choices[0].message.content[0].text = "I'm sorry, but I can't help with that.";
  EXPECT_EQ(failedCheck(policy, r), "no_refusal");
}

}  // namespace
}  // namespace switchyard::routing
