#include "switchyard/limits/limits_stage.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace switchyard::limits {
namespace {

std::string usd(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.2f", v);
  return buf;
}

std::string count(double v) { return std::to_string(static_cast<long long>(std::floor(v))); }

}  // namespace

LimitsStage::LimitsStage(const config::LimitsConfig& config, const auth::KeyCache* keys,
                         std::shared_ptr<const pipeline::Pricing> pricing,
                         BudgetTracker& budgets)
    : config_(std::make_shared<const config::LimitsConfig>(config)),
      keys_(keys),
      pricing_(std::move(pricing)),
      budgets_(budgets) {}

Status LimitsStage::reload(const config::LimitsConfig& config) {
  config_.store(std::make_shared<const config::LimitsConfig>(config));
  if (config.redis.url != shared_url_) {
    return Status(ErrorCode::kInvalidArgument, "limits.redis changes take effect after a restart");
  }
  return Status::ok();
}

void LimitsStage::share(const config::SharedLimitsConfig& redis) {
  shared_url_ = redis.url;
  if (!redis.url.empty()) shared_ = SharedLimits::start(redis, limiter_, budgets_);
}

std::vector<LimitsStage::Scope> LimitsStage::scopesFor(const pipeline::RequestContext& ctx) const {
  std::vector<Scope> out;
  if (!ctx.key_id.empty() && keys_ != nullptr) {
    if (auth::KeyPtr key = keys_->findById(ctx.key_id)) {
      const auto& s = key->spec;
      if (s.rpm > 0 || s.tpm > 0 || s.budget_usd > 0) {
        out.push_back({"key:" + key->id, s.rpm, s.tpm, s.budget_usd, s.budget_period});
      }
    }
  }
  if (!ctx.team.empty()) {
    const auto config = config_.load();
    if (auto it = config->teams.find(ctx.team); it != config->teams.end()) {
      const auto& t = it->second;
      out.push_back({"team:" + ctx.team, t.rpm, t.tpm, t.budget_usd, t.budget_period});
    }
  }
  return out;
}

std::int64_t LimitsStage::estimatePromptTokens(const pipeline::StageInput& in) {
  std::size_t chars = 0;
  if (in.chat != nullptr) {
    for (const auto& m : in.chat->messages) {
      for (const auto& part : m.content) chars += part.text.size();
      for (const auto& call : m.tool_calls) chars += call.arguments.size() + call.name.size();
      chars += m.reasoning_content.size();
    }
    for (const auto& tool : in.chat->tools) chars += tool.name.size() + tool.description.size();
  } else if (in.completion != nullptr) {
    const auto& p = in.completion->prompt;
    if (p.is_string()) {
      chars += p.as_string().size();
    } else if (p.is_array()) {
      for (const auto& item : p.as_array()) {
        chars += item.is_string() ? item.as_string().size() : 4;
      }
    }
  } else if (in.embedding != nullptr) {
    for (const auto& t : in.embedding->texts) chars += t.size();
  }
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(chars / 4));
}

boost::asio::awaitable<pipeline::Verdict> LimitsStage::admit(pipeline::StageInput& in) {
  co_return check(in, RateLimiter::Clock::now(), BudgetTracker::SystemClock::now());
}

pipeline::Verdict LimitsStage::check(pipeline::StageInput& in,
                                     RateLimiter::Clock::time_point now,
                                     BudgetTracker::SystemClock::time_point wall) {
  pipeline::RequestContext& ctx = in.ctx;
  const std::vector<Scope> scopes = scopesFor(ctx);
  if (scopes.empty()) return Status::ok();
  const std::int64_t tokens = estimatePromptTokens(in);

  // Rate limits: check every bucket first, take only when all have room.
  for (const Scope& s : scopes) {
    for (auto [limit, cost, what] : {std::tuple{s.rpm, 1.0, "requests"},
                                     std::tuple{s.tpm, static_cast<double>(tokens), "tokens"}}) {
      if (limit <= 0) continue;
      auto state = limiter_.check(s.name + ":" + what, static_cast<double>(limit), cost, now);
      if (state.allowed) continue;
      const std::string kind(what);
      ctx.response_headers.emplace_back("x-ratelimit-limit-" + kind, std::to_string(limit));
      ctx.response_headers.emplace_back("x-ratelimit-remaining-" + kind, count(state.remaining));
      ctx.response_headers.emplace_back("x-ratelimit-reset-" + kind,
                                        formatReset(state.reset_seconds));
      const int retry = std::max(1, static_cast<int>(std::ceil(state.retry_after_seconds)));
      const std::string who = s.name.starts_with("key:") ? "API key" : "team '" + ctx.team + "'";
      return Status(ErrorCode::kRateLimited,
                    "Rate limit reached for this " + who + ": " + std::to_string(limit) + " " +
                        kind + " per minute. Retry after " + std::to_string(retry) + " s.")
          .withErrorType("rate_limit_exceeded")
          .withRetryAfter(retry);
    }
  }

  // Budgets: reserve the estimate in every scope, or in none.
  double estimate = 0;
  if (pricing_) {
    std::int64_t max_out = 0;
    if (in.chat != nullptr && in.chat->max_tokens) max_out = *in.chat->max_tokens;
    if (in.completion != nullptr && in.completion->max_tokens) max_out = *in.completion->max_tokens;
    estimate = pricing_->maxEstimate(tokens, max_out);
  }
  std::vector<const Scope*> reserved;
  for (const Scope& s : scopes) {
    if (s.budget_usd <= 0) continue;
    auto c = budgets_.reserve(s.name, s.budget_usd, s.period, estimate, wall);
    if (c.ok) {
      reserved.push_back(&s);
      continue;
    }
    for (const Scope* r : reserved) budgets_.settle(r->name, r->period, estimate, 0, wall);
    const std::string who = s.name.starts_with("key:") ? "API key" : "team '" + ctx.team + "'";
    return Status(ErrorCode::kRateLimited,
                  "Budget exceeded for this " + who + ": " + usd(c.spent + c.reserved) +
                      " of " + usd(c.budget) + " used this " + s.period +
                      (estimate > 0 ? " (this request may cost up to " + usd(estimate) + ")"
                                    : std::string()) +
                      ". Ask an administrator to raise the budget, or wait for the next " +
                      s.period + ".")
        .withErrorType("budget_exceeded");
  }
  ctx.reserved_cost = estimate;
  // What is left after this reservation, for routing's budget constraint.
  for (const Scope* r : reserved) {
    ctx.budget_remaining =
        std::min(ctx.budget_remaining, budgets_.remaining(r->name, r->budget_usd, r->period, wall));
  }

  for (const Scope& s : scopes) {
    if (s.rpm > 0) {
      auto st = limiter_.take(s.name + ":requests", static_cast<double>(s.rpm), 1, now);
      if (&s == &scopes.front()) {
        ctx.response_headers.emplace_back("x-ratelimit-limit-requests", std::to_string(s.rpm));
        ctx.response_headers.emplace_back("x-ratelimit-remaining-requests", count(st.remaining));
        ctx.response_headers.emplace_back("x-ratelimit-reset-requests",
                                          formatReset(st.reset_seconds));
      }
    }
    if (s.tpm > 0) {
      auto st = limiter_.take(s.name + ":tokens", static_cast<double>(s.tpm),
                              static_cast<double>(tokens), now);
      ctx.reserved_tokens = tokens;
      if (&s == &scopes.front()) {
        ctx.response_headers.emplace_back("x-ratelimit-limit-tokens", std::to_string(s.tpm));
        ctx.response_headers.emplace_back("x-ratelimit-remaining-tokens", count(st.remaining));
        ctx.response_headers.emplace_back("x-ratelimit-reset-tokens",
                                          formatReset(st.reset_seconds));
      }
    }
  }
  ctx.reserved_tokens = tokens;
  return Status::ok();
}

void LimitsStage::complete(pipeline::RequestContext& ctx) {
  settle(ctx, RateLimiter::Clock::now(), BudgetTracker::SystemClock::now());
}

void LimitsStage::settle(pipeline::RequestContext& ctx, RateLimiter::Clock::time_point now,
                         BudgetTracker::SystemClock::time_point wall) {
  const std::vector<Scope> scopes = scopesFor(ctx);
  // An answer from the response cache used no upstream tokens (its usage is the original's).
  const double used = ctx.cacheHit() ? 0.0
                                     : static_cast<double>(api::addTokens(
                                           ctx.usage.prompt_tokens, ctx.usage.completion_tokens));
  for (const Scope& s : scopes) {
    if (s.tpm > 0) {
      limiter_.adjust(s.name + ":tokens", static_cast<double>(s.tpm),
                      used - static_cast<double>(ctx.reserved_tokens), now);
    }
    if (s.budget_usd > 0) budgets_.settle(s.name, s.period, ctx.reserved_cost, ctx.cost_usd, wall);
  }
}

}  // namespace switchyard::limits
