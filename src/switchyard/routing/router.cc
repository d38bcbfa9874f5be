#include "switchyard/routing/router.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "switchyard/api/json_writer.h"

namespace switchyard::routing {

using namespace std::string_view_literals;
namespace {

Strategy parseStrategy(std::string_view s) {
  if (s == "weighted") return Strategy::kWeighted;
  if (s == "latency") return Strategy::kLatency;
  if (s == "cost") return Strategy::kCost;
  if (s == "quality") return Strategy::kQuality;
  if (s == "cascade") return Strategy::kCascade;
  return Strategy::kPriority;
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool localityAllowed(const std::vector<std::string>& allowed, std::string_view locality) {
  if (allowed.empty()) return true;
  for (const auto& a : allowed) {
    if (a == locality) return true;
    if (a == "cloud" && locality.starts_with("cloud")) return true;
  }
  return false;
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

std::vector<CompiledCheck> compileChecks(const std::vector<config::CascadeCheck>& checks) {
  std::vector<CompiledCheck> out;
  for (const auto& c : checks) {
    CompiledCheck check;
    check.kind = c.kind;
    if (c.kind == "min_chars") check.min_chars = std::stoul(c.value);
    if (c.kind == "regex") check.regex = std::make_shared<RE2>(c.value, RE2::Quiet);
    out.push_back(std::move(check));
  }
  return out;
}

}  // namespace

std::string_view strategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kPriority: return "priority";
    case Strategy::kWeighted: return "weighted";
    case Strategy::kLatency: return "latency";
    case Strategy::kCost: return "cost";
    case Strategy::kQuality: return "quality";
    case Strategy::kCascade: return "cascade";
  }
  return "priority";
}

CandidateInfo Router::makeCandidate(const config::Config& config, const std::string& provider,
                                    const std::string& model,
                                    const QualityScores& scores) const {
  CandidateInfo c;
  c.target = {provider, model, -1};
  c.deployment = provider + "/" + model;
  for (const auto& p : config.providers) {
    if (p.name != provider) continue;
    c.locality = p.locality;
    const config::ModelConfig* found = nullptr;
    for (const auto& m : p.models) {
      if (m.name == model) found = &m;
    }
    config::ModelConfig unlisted;
    unlisted.name = model;
    const config::ModelConfig& m = found ? *found : unlisted;
    c.capabilities = capabilityBits(config::modelCapabilities(p, m));
    c.context_window = m.context_window;
    if (c.context_window == 0 && p.kind == "local" && found) {
      // Each of the parallel sequences gets an equal share of the KV cells.
      c.context_window = m.local.context / std::max(1, m.local.parallel);
    }
  }
  if (auto it = scores.find(c.deployment); it != scores.end()) c.quality = it->second;
  c.health = health_.get(c.deployment, config.routing.breaker);
  return c;
}

Router::Router(const config::Config& config, HealthBoard& health, QualityScores scores)
    : health_(health),
      classifier_(config.routing),
      default_retry_(config.routing.retry),
      config_(config),
      scores_(std::move(scores)) {
  std::unordered_map<std::string, int> owners;  // model id or alias -> providers declaring it
  for (const auto& p : config.providers) {
    for (const auto& m : p.models) {
      ++owners[m.name];
      for (const auto& a : m.aliases) ++owners[a];
    }
  }
  auto direct = [&](const config::ProviderConfig& p, const config::ModelConfig& m,
                    std::string reason) {
    auto policy = std::make_shared<RoutePolicy>();
    policy->direct_reason = std::move(reason);
    policy->retry = default_retry_;
    policy->candidates.push_back(makeCandidate(config, p.name, m.name, scores_));
    policy->candidates.back().target.candidate = 0;
    return policy;
  };
  for (const auto& p : config.providers) {
    for (const auto& m : p.models) {
      by_name_[p.name + "/" + m.name] = direct(p, m, "explicit provider/model");
      if (owners[m.name] == 1) {
        by_name_[m.name] = direct(p, m, "model served by one provider");
        listing_.push_back({m.name, p.name});
      }
      for (const auto& a : m.aliases) {
        by_name_[a] = direct(p, m, "alias of " + p.name + "/" + m.name);
        listing_.push_back({a, p.name});
      }
      listing_.push_back({p.name + "/" + m.name, p.name});
    }
  }
  for (const auto& r : config.routes) {
    auto policy = std::make_shared<RoutePolicy>();
    policy->name = r.name;
    policy->strategy = parseStrategy(r.strategy);
    policy->locality = r.locality;
    policy->sensitive_allowed = r.sensitive == "allow";
    policy->quality_threshold = r.quality_threshold;
    policy->cascade = compileChecks(r.cascade);
    policy->retry = r.retry;
    policy->attempt_timeout = r.attempt_timeout;
    policy->cache = r.cache;
    policy->cache_ttl = r.cache_ttl;
    policy->timeout = r.timeout;
    std::vector<config::CandidateConfig> candidates = r.candidates;
    if (candidates.empty()) candidates.push_back({r.provider, r.model});
    for (const auto& cc : candidates) {
      CandidateInfo c = makeCandidate(config, cc.provider, cc.model, scores_);
      // Route-level evaluation scores (eval targets may be route names) count for every
      // candidate only when the route has one candidate.
      if (candidates.size() == 1) {
        if (auto it = scores_.find(r.name); it != scores_.end()) {
          for (const auto& [task, score] : it->second) c.quality.try_emplace(task, score);
        }
      }
      // Configured scores fill in what evaluations have not measured.
      for (const auto& [task, score] : cc.quality) c.quality.try_emplace(task, score);
      c.weight = cc.weight;
      c.tasks = cc.tasks;
      c.risk = cc.risk;
      c.max_prompt_tokens = cc.max_prompt_tokens;
      c.target.candidate = static_cast<int>(policy->candidates.size());
      policy->candidates.push_back(std::move(c));
    }
    policy->uses_task = policy->strategy == Strategy::kQuality ||
                        std::any_of(policy->candidates.begin(), policy->candidates.end(),
                                    [](const CandidateInfo& c) { return !c.tasks.empty(); });
    by_name_[r.name] = std::move(policy);
    listing_.push_back({r.name, "switchyard"});
  }
  for (const auto& p : config_.providers) providers_[p.name] = &p;
  std::sort(listing_.begin(), listing_.end(),
            [](const ModelListing& a, const ModelListing& b) { return a.id < b.id; });
  listing_.erase(std::unique(listing_.begin(), listing_.end(),
                             [](const ModelListing& a, const ModelListing& b) {
                               return a.id == b.id;
                             }),
                 listing_.end());
}

const Classifier* Router::classifierFor(std::string_view model) const {
  auto it = by_name_.find(model);
  if (it == by_name_.end() || it->second->name.empty()) return nullptr;
  return &classifier_;
}

bool Router::usesTaskType(std::string_view model) const {
  auto it = by_name_.find(model);
  return it != by_name_.end() && it->second->uses_task;
}

double Router::costOf(const CandidateInfo& c, const RequestSignals& s) const {
  if (pricing_ == nullptr) return 0;
  const std::int64_t out = s.max_tokens > 0 ? s.max_tokens : 512;
  return pricing_->estimate(c.target.provider, c.target.model, s.prompt_tokens, out);
}

double Router::qualityOf(const CandidateInfo& c, const std::string& task) const {
  if (auto it = c.quality.find(task); it != c.quality.end()) return it->second;
  if (auto it = c.quality.find("default"); it != c.quality.end()) return it->second;
  return -1;  // unknown
}

const char* Router::excluded(const RoutePolicy& policy, const CandidateInfo& c,
                             const RequestSignals& s, double cost) const {
  if (s.local_only && !policy.sensitive_allowed && c.locality != "on_prem") {
    return "sensitive data stays on on_prem providers";
  }
  if (s.allowed_providers && !contains(*s.allowed_providers, c.target.provider)) {
    return "provider not allowed for this key";
  }
  if (policy.name.empty()) return nullptr;  // direct names: the upstream decides the rest
  if (!localityAllowed(policy.locality, c.locality)) return "locality not allowed by route";
  if ((s.needs & ~c.capabilities) != 0) return "lacks a needed capability";
  // Saturating: max_tokens may be anything up to 2^63 - 1.
  if (c.context_window > 0 && api::addTokens(s.prompt_tokens, s.max_tokens) > c.context_window) {
    return "context window too small";
  }
  if (!c.tasks.empty() && !contains(c.tasks, s.task_type)) return "not for this task type";
  if (!c.risk.empty() && !contains(c.risk, s.risk_tier)) return "not for this risk tier";
  if (c.max_prompt_tokens > 0 && s.prompt_tokens > c.max_prompt_tokens) return "prompt too long";
  if (cost > s.budget_remaining) return "estimated cost over remaining budget";
  return nullptr;
}

Status Router::plan(std::string_view model, const RequestSignals& signals,
                    pipeline::RequestContext& ctx, Explanation* explain) const {
  std::shared_ptr<const RoutePolicy> policy;
  if (auto it = by_name_.find(model); it != by_name_.end()) {
    policy = it->second;
  } else if (auto slash = model.find('/');
             slash != std::string_view::npos && slash + 1 < model.size()) {
    // "provider/unlisted-model": a provider may serve models the config does not list.
    auto p = providers_.find(std::string(model.substr(0, slash)));
    if (p != providers_.end()) {
      auto made = std::make_shared<RoutePolicy>();
      made->direct_reason = "explicit provider/model";
      made->retry = default_retry_;
      made->candidates.push_back(makeCandidate(config_, p->first,
                                               std::string(model.substr(slash + 1)), {}));
      made->candidates.back().target.candidate = 0;
      policy = std::move(made);
    }
  }
  if (!policy) {
    Status s = Status(ErrorCode::kNotFound,
                      "The model '" + std::string(model) +
                          "' does not exist or is not served by this gateway (GET /v1/models "
                          "lists the available models)")
                   .withParam("model")
                   .withErrorType("model_not_found");
    if (explain) {
      explain->model = std::string(model);
      explain->status = s;
    }
    return s;
  }

  const RoutePolicy& p = *policy;
  const std::size_t n = p.candidates.size();
  // Per candidate: excluded reason, cost estimate, strategy score.
  struct Row {
    const char* excluded = nullptr;
    double cost = 0;
    double score = 0;
    bool open = false;
  };
  std::vector<Row> rows(n);
  std::vector<int> order;
  order.reserve(n);
  const auto now = DeploymentHealth::Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const CandidateInfo& c = p.candidates[i];
    rows[i].cost = costOf(c, signals);
    rows[i].excluded = excluded(p, c, signals, rows[i].cost);
    if (rows[i].excluded) continue;
    rows[i].open = c.health->state(now) == BreakerState::kOpen;
    switch (p.strategy) {
      case Strategy::kPriority:
      case Strategy::kCascade: rows[i].score = -static_cast<double>(i); break;
      case Strategy::kWeighted: {
        // Weighted sampling without replacement (Efraimidis-Spirakis): key = u^(1/w).
        const double w = std::max(c.weight, 0);
        const double u = std::uniform_real_distribution<double>(1e-12, 1.0)(rng());
        rows[i].score = w > 0 ? std::pow(u, 1.0 / w) : -1.0;
        break;
      }
      case Strategy::kLatency: {
        // Unmeasured deployments go first so that every one gets measured.
        const double ttft = c.health->ewmaTtftMs();
        rows[i].score = -ttft;
        break;
      }
      case Strategy::kCost: rows[i].score = -rows[i].cost; break;
      case Strategy::kQuality: {
        const double q = qualityOf(c, signals.task_type);
        // Good enough: cheapest first (score in (1, 2]); below threshold: best quality first.
        rows[i].score = q >= p.quality_threshold ? 2.0 - rows[i].cost / (1.0 + rows[i].cost)
                                                 : std::max(q, 0.0) - 1.0;
        break;
      }
    }
    order.push_back(static_cast<int>(i));
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (rows[a].open != rows[b].open) return !rows[a].open;  // open breakers last
    return rows[a].score > rows[b].score;
  });

  ctx.route = p.name;
  ctx.task_type = signals.task_type;
  ctx.risk_tier = signals.risk_tier;
  Status status;
  if (order.empty()) {
    // Tell the client what stood in the way, most specific reason first.
    bool sensitive = false;
    std::string reasons;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::string_view(rows[i].excluded) == "sensitive data stays on on_prem providers") {
        sensitive = true;
      }
      if (!reasons.empty()) reasons += "; "sv;
      reasons += p.candidates[i].deployment + ": " + rows[i].excluded;
    }
    const std::string what = p.name.empty() ? "model '" + std::string(model) + "'"
                                            : "route '" + p.name + "'";
    if (sensitive) {
      status = Status(ErrorCode::kPermissionDenied,
                      "This request must stay on on-prem models (" +
                          (signals.local_only_reason.empty() ? std::string("sensitive data")
                                                             : signals.local_only_reason) +
                          ") and no on-prem candidate of " + what + " can serve it (" + reasons +
                          ")")
                   .withErrorType("local_only_no_candidate");
    } else {
      status = Status(ErrorCode::kInvalidArgument,
                      "No candidate of " + what + " can serve this request (" + reasons + ")")
                   .withParam("model")
                   .withErrorType("no_eligible_candidate");
    }
  } else {
    ctx.plan.clear();
    for (int i : order) ctx.plan.push_back(p.candidates[static_cast<std::size_t>(i)].target);
    ctx.decision.clear();
    if (p.name.empty()) {
      ctx.decision = p.direct_reason;
    } else {
      ctx.decision = std::string(strategyName(p.strategy));
      ctx.decision += "; task "sv;
      ctx.decision += signals.task_type;
      ctx.decision += "; risk "sv;
      ctx.decision += signals.risk_tier;
      const std::size_t removed = n - order.size();
      if (removed > 0) {
        ctx.decision += "; "sv;
        ctx.decision += std::to_string(removed);
        ctx.decision += " of "sv;
        ctx.decision += std::to_string(n);
        ctx.decision += " candidates excluded"sv;
      }
    }
    if (signals.local_only) ctx.decision += "; local-only"sv;
    ctx.policy = std::move(policy);
  }

  if (explain) {
    explain->model = std::string(model);
    explain->route = p.name;
    explain->strategy = p.name.empty() ? "direct" : std::string(strategyName(p.strategy));
    explain->signals = signals;
    explain->candidates.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const CandidateInfo& c = p.candidates[i];
      CandidateExplanation ce;
      ce.target = c.deployment;
      ce.locality = c.locality;
      ce.excluded_by = rows[i].excluded ? rows[i].excluded : "";
      ce.score = rows[i].score;
      ce.cost_estimate = rows[i].cost;
      ce.breaker = std::string(breakerStateName(c.health->state(now)));
      ce.ewma_ttft_ms = c.health->ewmaTtftMs();
      explain->candidates.push_back(std::move(ce));
    }
    explain->plan.clear();
    for (int i : order) explain->plan.push_back(p.candidates[static_cast<std::size_t>(i)].deployment);
    explain->decision = status.isOk() ? ctx.decision : "";
    explain->status = status;
  }
  return status;
}

std::string explanationJson(const Explanation& e) {
  std::string out;
  api::JsonWriter w(out);
  w.beginObject();
  w.key("model").string(e.model);
  w.key("route");
  if (e.route.empty()) {
    w.null();
  } else {
    w.string(e.route);
  }
  w.key("strategy").string(e.strategy);
  w.key("signals").beginObject();
  w.key("task_type").string(e.signals.task_type);
  w.key("task_reason").string(e.signals.task_reason);
  w.key("risk_tier").string(e.signals.risk_tier);
  w.key("needs").string(capabilityNames(e.signals.needs));
  w.key("prompt_tokens_estimate").integer(e.signals.prompt_tokens);
  w.key("max_tokens").integer(e.signals.max_tokens);
  w.key("local_only").boolean(e.signals.local_only);
  if (e.signals.local_only) w.key("local_only_reason").string(e.signals.local_only_reason);
  w.endObject();
  w.key("candidates").beginArray();
  for (const auto& c : e.candidates) {
    w.beginObject();
    w.key("target").string(c.target);
    w.key("locality").string(c.locality);
    w.key("eligible").boolean(c.excluded_by.empty());
    if (!c.excluded_by.empty()) w.key("excluded_by").string(c.excluded_by);
    w.key("score").number(c.score == 0 ? 0.0 : c.score);
    w.key("cost_estimate_usd").number(c.cost_estimate);
    w.key("breaker").string(c.breaker);
    w.key("ewma_ttft_ms").number(c.ewma_ttft_ms);
    w.endObject();
  }
  w.endArray();
  w.key("plan").beginArray();
  for (const auto& p : e.plan) w.string(p);
  w.endArray();
  if (e.status.isOk()) {
    w.key("decision").string(e.decision);
  } else {
    w.key("error").beginObject();
    w.key("code").string(errorCodeName(e.status.code()));
    w.key("type").string(e.status.errorType());
    w.key("message").string(e.status.message());
    w.endObject();
  }
  w.endObject();
  return out;
}

Result<ServedModel> resolveServedModel(const config::Config& config, const Router& router,
                                       const providers::Registry& providers,
                                       std::string_view name) {
  pipeline::RequestContext ctx;
  if (Status s = router.plan(name, RequestSignals{}, ctx); !s.isOk() || ctx.plan.empty()) {
    return fail(ErrorCode::kNotFound, "'" + std::string(name) +
                                          "' is not a model this gateway serves" +
                                          (s.isOk() ? std::string() : " (" + s.message() + ")"));
  }
  ServedModel served;
  served.provider_name = ctx.plan.front().provider;
  served.model = ctx.plan.front().model;
  served.provider = providers.find(served.provider_name);
  if (served.provider == nullptr) {
    return fail(ErrorCode::kNotFound, "provider '" + served.provider_name + "' is not configured");
  }
  for (const config::ProviderConfig& p : config.providers) {
    if (p.name != served.provider_name) continue;
    served.provider_config = &p;
    served.on_prem = p.locality == "on_prem";
    for (const config::ModelConfig& m : p.models) {
      if (m.name == served.model) served.model_config = &m;
    }
  }
  return served;
}

Status checkServesEmbeddings(const ServedModel& model) {
  if (model.provider_config != nullptr && model.provider_config->kind == "local" &&
      model.model_config != nullptr && !model.model_config->local.embeddings) {
    return Status(ErrorCode::kInvalidArgument,
                  "local model '" + model.model + "' of provider '" + model.provider_name +
                      "' does not serve embeddings (set 'embeddings: true' under it)");
  }
  return Status::ok();
}

}  // namespace switchyard::routing
