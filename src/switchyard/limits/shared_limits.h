#pragma once
// SharedLimits: rate limits and budgets that hold across several gateways (`limits.redis`).
//
// Every gateway keeps enforcing in memory (no Redis round trip on the request path). A sync
// thread, every `sync_interval`, sends Redis what this gateway took from each active bucket and
// spent in each budget account since the last round, and gets back the totals of all gateways:
// a token bucket per name kept in Redis by a Lua script (refilled on Redis's clock, so the
// gateways' clocks do not matter) and a spend counter per scope and period. The local bucket or
// account is then set to the shared value less what happened here during the round trip.
//
// What it guarantees: across N gateways a limit is exceeded by at most what they admit within
// one sync interval (plus one round trip). When Redis cannot be reached every gateway goes on
// enforcing its own limits alone, logs the outage once, retries each interval, and sends what
// was used meanwhile when Redis is back. Usage whose reply was lost is sent again (a limit errs
// on the strict side).
//
// Thread-safety: syncNow() is serialised; the limiter and tracker are thread-safe themselves.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/limits/budget.h"
#include "switchyard/limits/rate_limiter.h"
#include "switchyard/store/redis_connection.h"
#include "switchyard/telemetry/metrics.h"

namespace switchyard::limits {

class SharedLimits {
 public:
  // Connects (a failure is logged, not fatal: limits stay local until Redis answers) and starts
  // the sync thread. `limiter` and `budgets` outlive the object.
  static std::unique_ptr<SharedLimits> start(const config::SharedLimitsConfig& config,
                                             RateLimiter& limiter, BudgetTracker& budgets);
  // Stops the thread after a last round, so that this gateway's usage is not lost.
  ~SharedLimits();
  SharedLimits(const SharedLimits&) = delete;
  SharedLimits& operator=(const SharedLimits&) = delete;

  // One round now (blocking): export, trade with Redis, apply. Also what the thread runs.
  Status syncNow();
  // Whether the last round reached Redis; rounds that did not, since start. Also on /metrics:
  // switchyard_limits_shared_up and switchyard_limits_shared_failures_total.
  bool connected() const { return connected_.load(); }
  std::uint64_t failures() const { return failures_.load(); }

  // Buckets checked or used within this long are kept in step with Redis even when this
  // gateway took nothing from them (a full bucket refills in a minute).
  static constexpr std::chrono::seconds kActive{60};

 private:
  SharedLimits(const config::SharedLimitsConfig& config, RateLimiter& limiter,
               BudgetTracker& budgets);
  Status connect();
  Status trade();
  void run();

  const config::SharedLimitsConfig config_;
  RateLimiter& limiter_;
  BudgetTracker& budgets_;
  std::mutex sync_mu_;  // one round at a time; guards context_ and the outage flag
  store::RedisContextPtr context_;
  bool down_ = false;  // logged as unreachable, not yet back
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> failures_{0};
  telemetry::Registry::CallbackHandle up_metric_;
  telemetry::Registry::CallbackHandle failures_metric_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace switchyard::limits
