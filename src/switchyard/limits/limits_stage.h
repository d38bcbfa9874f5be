#pragma once
// LimitsStage: requests-per-minute and tokens-per-minute per key and per team (RateLimiter), and
// USD budgets per key and team per day or month (BudgetTracker). At admission it estimates the
// prompt's tokens (characters / 4) and cost (Pricing::maxEstimate, 0 without prices), refuses
// with 429 (Retry-After; rate_limit_exceeded or budget_exceeded) or takes and reserves; it adds
// x-ratelimit-* headers. complete() settles with the real usage and ctx.cost_usd.
// Limits are soft under concurrency: requests checked at the same instant may all pass.
// Thread-safe. A config reload swaps the team limits atomically (reload()); the buckets and
// budgets of every key and team carry on.

#include <atomic>
#include <memory>
#include <string>

#include "switchyard/auth/key_cache.h"
#include "switchyard/config/config.h"
#include "switchyard/limits/budget.h"
#include "switchyard/limits/rate_limiter.h"
#include "switchyard/limits/shared_limits.h"
#include "switchyard/pipeline/pricing.h"
#include "switchyard/pipeline/stage.h"

namespace switchyard::limits {

class LimitsStage final : public pipeline::Stage {
 public:
  // `keys` may be null (no key store); `pricing` may be null (no prices yet). Both, and
  // `budgets`, outlive the stage.
  LimitsStage(const config::LimitsConfig& config, const auth::KeyCache* keys,
              std::shared_ptr<const pipeline::Pricing> pricing, BudgetTracker& budgets);

  std::string_view name() const override { return "limits"; }
  boost::asio::awaitable<pipeline::Verdict> admit(pipeline::StageInput& in) override;
  void complete(pipeline::RequestContext& ctx) override;

  // admit() at an explicit time (tests).
  pipeline::Verdict check(pipeline::StageInput& in, RateLimiter::Clock::time_point now,
                          BudgetTracker::SystemClock::time_point wall);
  void settle(pipeline::RequestContext& ctx, RateLimiter::Clock::time_point now,
              BudgetTracker::SystemClock::time_point wall);

  // Takes the `limits:` section of a reloaded config. Token buckets and spend are kept, so a
  // key or team whose limits did not change sees no difference. `limits.redis` is read at
  // start only: a change is an error (the rest is applied).
  Status reload(const config::LimitsConfig& config);

  // Shares the buckets and budgets with the other gateways on `limits.redis` (when set).
  void share(const config::SharedLimitsConfig& redis);
  SharedLimits* shared() const { return shared_.get(); }

  // Rough prompt tokens: characters of every text / 4, at least 1.
  static std::int64_t estimatePromptTokens(const pipeline::StageInput& in);

 private:
  struct Scope {
    std::string name;  // "key:<id>" or "team:<name>"
    std::int64_t rpm = 0;
    std::int64_t tpm = 0;
    double budget_usd = 0;
    std::string period;
  };
  std::vector<Scope> scopesFor(const pipeline::RequestContext& ctx) const;

  std::atomic<std::shared_ptr<const config::LimitsConfig>> config_;
  const auth::KeyCache* keys_;
  std::shared_ptr<const pipeline::Pricing> pricing_;
  BudgetTracker& budgets_;
  RateLimiter limiter_;
  std::unique_ptr<SharedLimits> shared_;  // after limiter_: its last round needs the buckets
  std::string shared_url_;
};

}  // namespace switchyard::limits
