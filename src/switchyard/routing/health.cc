#include "switchyard/routing/health.h"

namespace switchyard::routing {

std::string_view breakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "unknown";
}

DeploymentHealth::DeploymentHealth(std::string name, const config::BreakerConfig& config)
    : name_(std::move(name)), config_(config) {}

void DeploymentHealth::reconfigure(const config::BreakerConfig& config) {
  std::lock_guard lock(mu_);
  config_ = config;
}

bool DeploymentHealth::admit(Clock::time_point now) {
  std::lock_guard lock(mu_);
  switch (state_) {
    case BreakerState::kClosed: return true;
    case BreakerState::kOpen:
      if (now - opened_at_ < config_.cooldown) return false;
      state_ = BreakerState::kHalfOpen;
      ++transitions_.to_half_open;
      probe_in_flight_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return true;
}

void DeploymentHealth::recordSuccess(std::chrono::microseconds ttft, Clock::time_point) {
  successes_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  const double ms = static_cast<double>(ttft.count()) / 1000.0;
  ewma_ttft_ms_ = ewma_ttft_ms_ == 0 ? ms : 0.8 * ewma_ttft_ms_ + 0.2 * ms;
  consecutive_failures_ = 0;
  window_.push_back(false);
  if (static_cast<int>(window_.size()) > config_.window) {
    if (window_.front()) --window_failures_;
    window_.pop_front();
  }
  if (state_ == BreakerState::kHalfOpen) {
    state_ = BreakerState::kClosed;
    ++transitions_.to_closed;
    probe_in_flight_ = false;
    window_.clear();
    window_failures_ = 0;
  }
}

void DeploymentHealth::recordFailure(Clock::time_point now) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kHalfOpen) {
    openLocked(now);
    return;
  }
  ++consecutive_failures_;
  window_.push_back(true);
  ++window_failures_;
  if (static_cast<int>(window_.size()) > config_.window) {
    if (window_.front()) --window_failures_;
    window_.pop_front();
  }
  const bool rate_tripped =
      static_cast<int>(window_.size()) >= config_.window &&
      static_cast<double>(window_failures_) >= config_.error_rate * config_.window;
  if (state_ == BreakerState::kClosed &&
      (consecutive_failures_ >= config_.failures || rate_tripped)) {
    openLocked(now);
  }
}

void DeploymentHealth::release() {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kHalfOpen) probe_in_flight_ = false;
}

void DeploymentHealth::openLocked(Clock::time_point now) {
  state_ = BreakerState::kOpen;
  ++transitions_.to_open;
  opened_at_ = now;
  probe_in_flight_ = false;
  consecutive_failures_ = 0;
  window_.clear();
  window_failures_ = 0;
}

BreakerState DeploymentHealth::state(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kOpen && now - opened_at_ >= config_.cooldown) {
    return BreakerState::kHalfOpen;  // the next admit() takes the probe
  }
  return state_;
}

DeploymentHealth::Transitions DeploymentHealth::transitions() const {
  std::lock_guard lock(mu_);
  return transitions_;
}

double DeploymentHealth::ewmaTtftMs() const {
  std::lock_guard lock(mu_);
  return ewma_ttft_ms_;
}

DeploymentHealth* HealthBoard::get(const std::string& deployment,
                                   const config::BreakerConfig& config) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(deployment);
  if (it != entries_.end()) {
    it->second->reconfigure(config);
    return it->second.get();
  }
  auto entry = std::make_unique<DeploymentHealth>(deployment, config);
  DeploymentHealth* out = entry.get();
  entries_.emplace(deployment, std::move(entry));
  return out;
}

std::vector<HealthBoard::Snapshot> HealthBoard::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<Snapshot> out;
  const auto now = DeploymentHealth::Clock::now();
  for (const auto& [name, h] : entries_) {
    out.push_back({name, h->state(now), h->ewmaTtftMs(), h->successes(), h->failures(),
                   h->transitions()});
  }
  return out;
}

}  // namespace switchyard::routing
