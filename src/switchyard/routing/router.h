#pragma once
// Router: turns the model a client names into a plan — the candidates that may serve this
// request, in the order to try them. Names resolve in this order: a route name (a virtual
// model: candidates, constraints, a strategy); a "provider/model" pair; a model id or alias
// that exactly one provider declares.
//
// For a route: hard constraints remove candidates (locality, sensitive data, key scope,
// capabilities, context window, task type, risk tier, prompt length, budget); the strategy
// orders the rest (priority, weighted, latency, cost, quality, cascade); deployments whose
// circuit breaker is open go last. Explain() gives the whole decision without calling a model.
//
// Built once per config (start-up and each reload); immutable afterwards and thread-safe. The
// breaker and latency state lives in the HealthBoard, which outlives reloads.

#include <re2/re2.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/pipeline/pricing.h"
#include "switchyard/providers/registry.h"
#include "switchyard/routing/health.h"
#include "switchyard/routing/signals.h"

namespace switchyard::routing {

enum class Strategy { kPriority, kWeighted, kLatency, kCost, kQuality, kCascade };
std::string_view strategyName(Strategy strategy);

struct CandidateInfo {
  pipeline::Target target;
  std::string deployment;  // "provider/model"
  std::string locality;    // the provider's: on_prem, cloud, cloud:<region>
  unsigned capabilities = 0;
  std::int64_t context_window = 0;  // 0: unknown
  int weight = 1;
  std::map<std::string, double> quality;  // task type -> score (config, then evaluations)
  std::vector<std::string> tasks;
  std::vector<std::string> risk;
  std::int64_t max_prompt_tokens = 0;
  DeploymentHealth* health = nullptr;
};

struct CompiledCheck {
  std::string kind;  // json_valid | min_chars | regex | no_refusal
  std::size_t min_chars = 0;
  std::shared_ptr<RE2> regex;
};

// What dispatch needs to run a plan: the candidates and the route's reliability settings.
struct RoutePolicy {
  std::string name;  // route name; "" for a direct model name
  std::string direct_reason;  // direct names: how the name resolved
  Strategy strategy = Strategy::kPriority;
  std::vector<CandidateInfo> candidates;
  std::vector<std::string> locality;
  bool sensitive_allowed = false;
  double quality_threshold = 0;
  std::vector<CompiledCheck> cascade;
  config::RetryConfig retry;
  std::chrono::milliseconds attempt_timeout{0};
  std::chrono::milliseconds timeout{0};
  bool cache = true;                        // the response cache serves this route
  std::chrono::milliseconds cache_ttl{0};  // its answers' lifetime; 0: cache.ttl
  bool uses_task = false;  // the decision depends on the task type (quality, candidate tasks)
};

// Evaluation scores: target ("provider/model" or route name) -> task type -> score.
using QualityScores = std::map<std::string, std::map<std::string, double>>;

struct CandidateExplanation {
  std::string target;
  std::string locality;
  std::string excluded_by;  // empty: eligible
  double score = 0;          // strategy-specific (weight, ttft ms, cost, quality)
  double cost_estimate = 0;  // USD, when prices are known
  std::string breaker;
  double ewma_ttft_ms = 0;
};

struct Explanation {
  std::string model;
  std::string route;
  std::string strategy;
  RequestSignals signals;
  std::vector<CandidateExplanation> candidates;
  std::vector<std::string> plan;
  std::string decision;
  Status status;  // why no plan, when none
};

std::string explanationJson(const Explanation& e);

struct ModelListing {
  std::string id;        // public name
  std::string owned_by;  // provider name, or "switchyard" for routes
};

class Router {
 public:
  Router(const config::Config& config, HealthBoard& health, QualityScores scores = {});

  // Prices for the cost and quality strategies and the budget constraint (null: unknown).
  void setPricing(const pipeline::Pricing* pricing) { pricing_ = pricing; }

  // Fills ctx.route, ctx.plan, ctx.policy, ctx.decision, ctx.task_type and ctx.risk_tier, or
  // returns why no candidate may serve the request. `explain` (optional) receives every step.
  Status plan(std::string_view model, const RequestSignals& signals,
              pipeline::RequestContext& ctx, Explanation* explain = nullptr) const;

  // Every public name, for GET /v1/models.
  const std::vector<ModelListing>& models() const { return listing_; }
  const Classifier& classifier() const { return classifier_; }
  // The classifier when `model` names a route (routes decide by task and risk); null for direct
  // model names, which need no classification.
  const Classifier* classifierFor(std::string_view model) const;
  // Whether `model` names a route whose decision depends on the task type: only those are
  // worth the nearest-neighbour classifier's embedding call.
  bool usesTaskType(std::string_view model) const;
  HealthBoard& health() const { return health_; }

 private:
  CandidateInfo makeCandidate(const config::Config& config, const std::string& provider,
                              const std::string& model, const QualityScores& scores) const;
  const char* excluded(const RoutePolicy& policy, const CandidateInfo& c,
                       const RequestSignals& s, double cost) const;
  double costOf(const CandidateInfo& c, const RequestSignals& s) const;
  double qualityOf(const CandidateInfo& c, const std::string& task) const;

  HealthBoard& health_;
  Classifier classifier_;
  config::RetryConfig default_retry_;
  const pipeline::Pricing* pricing_ = nullptr;
  // Looks names up by string_view: no allocation per request.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Public name -> policy. Direct names share one-candidate policies.
  std::unordered_map<std::string, std::shared_ptr<const RoutePolicy>, NameHash, std::equal_to<>>
      by_name_;
  // Providers, for "provider/unlisted-model" names.
  std::unordered_map<std::string, const config::ProviderConfig*> providers_;  // into config_
  config::Config config_;  // a copy: the Router may outlive the Config it was built from
  QualityScores scores_;
  std::vector<ModelListing> listing_;
};

// A model name resolved outside any request, for modules that call a model themselves (RAG's
// embedder and reranker, the task classifier): the provider and model id of the name's first
// candidate, as a request for it would be routed.
struct ServedModel {
  providers::Provider* provider = nullptr;
  std::string provider_name;
  std::string model;  // the provider's model id
  bool on_prem = false;
  const config::ProviderConfig* provider_config = nullptr;
  const config::ModelConfig* model_config = nullptr;  // null when the provider does not list it
};
// kNotFound: "'NAME' is not a model this gateway serves (why)", or "provider 'P' is not
// configured". `config`, `router` and `providers` must outlive the result's pointers.
Result<ServedModel> resolveServedModel(const config::Config& config, const Router& router,
                                       const providers::Registry& providers,
                                       std::string_view name);
// kInvalidArgument when `model` is a local model not loaded for embeddings (`embeddings: true`).
Status checkServesEmbeddings(const ServedModel& model);

}  // namespace switchyard::routing
