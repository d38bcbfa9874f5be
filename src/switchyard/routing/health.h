#pragma once
// Health of each deployment (provider + model): a circuit breaker and the latency numbers the
// `latency` strategy ranks by. Closed: calls flow. Open (after `failures` consecutive failures,
// or an error rate over the last `window` calls at or above `error_rate`): calls are skipped
// for `cooldown`. Half-open: one probe call; success closes, failure re-opens.
//
// HealthBoard outlives config reloads (a deployment keeps its history). Entries are created at
// start-up and reload; lookups and updates are thread-safe (a mutex per deployment).

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/config/config.h"

namespace switchyard::routing {

enum class BreakerState { kClosed, kOpen, kHalfOpen };
std::string_view breakerStateName(BreakerState state);

class DeploymentHealth {
 public:
  using Clock = std::chrono::steady_clock;

  DeploymentHealth(std::string name, const config::BreakerConfig& config);

  const std::string& name() const { return name_; }

  // Whether a call may go now. In half-open state the first caller takes the probe slot and
  // must report its outcome with record().
  bool admit(Clock::time_point now);
  // Outcome of a call that admit() let through; `ttft` only for successes.
  void recordSuccess(std::chrono::microseconds ttft, Clock::time_point now);
  void recordFailure(Clock::time_point now);
  // A call that was admitted but ended without an upstream verdict (client gone): frees the
  // half-open probe slot.
  void release();

  BreakerState state(Clock::time_point now) const;
  // EWMA of time to first token in ms; 0 before the first success.
  double ewmaTtftMs() const;
  std::uint64_t successes() const { return successes_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // State changes since start-up, by the state entered (for /metrics).
  struct Transitions {
    std::uint64_t to_open = 0;
    std::uint64_t to_half_open = 0;  // a probe was let through after the cooldown
    std::uint64_t to_closed = 0;
  };
  Transitions transitions() const;

  void reconfigure(const config::BreakerConfig& config);

 private:
  void openLocked(Clock::time_point now);

  const std::string name_;
  mutable std::mutex mu_;
  config::BreakerConfig config_;
  BreakerState state_ = BreakerState::kClosed;
  int consecutive_failures_ = 0;
  std::deque<bool> window_;  // recent outcomes, true = failure
  int window_failures_ = 0;
  Clock::time_point opened_at_{};
  bool probe_in_flight_ = false;
  double ewma_ttft_ms_ = 0;
  std::atomic<std::uint64_t> successes_{0};
  std::atomic<std::uint64_t> failures_{0};
  Transitions transitions_;  // under mu_
};

class HealthBoard {
 public:
  // The deployment's entry, created on first use (start-up or reload). Stable pointer.
  DeploymentHealth* get(const std::string& deployment, const config::BreakerConfig& config);

  struct Snapshot {
    std::string deployment;
    BreakerState state;
    double ewma_ttft_ms;
    std::uint64_t successes;
    std::uint64_t failures;
    DeploymentHealth::Transitions transitions;
  };
  std::vector<Snapshot> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<DeploymentHealth>, std::less<>> entries_;
};

}  // namespace switchyard::routing
