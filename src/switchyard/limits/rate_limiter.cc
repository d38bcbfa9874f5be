#include "switchyard/limits/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace switchyard::limits {

RateLimiter::Shard& RateLimiter::shardFor(std::string_view name) {
  return shards_[std::hash<std::string_view>{}(name) % shards_.size()];
}

RateLimiter::Bucket& RateLimiter::refill(Shard& shard, std::string_view name, double per_minute,
                                         Clock::time_point now) {
  auto it = shard.buckets.find(std::string(name));
  if (it == shard.buckets.end()) {
    return shard.buckets.emplace(std::string(name), Bucket{per_minute, now, per_minute, 0, now})
        .first->second;
  }
  Bucket& b = it->second;
  b.per_minute = per_minute;
  b.touched = now;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(per_minute, b.tokens + elapsed * per_minute / 60.0);
    b.last = now;
  }
  // A lowered limit takes effect at once.
  b.tokens = std::min(b.tokens, per_minute);
  return b;
}

RateLimiter::State RateLimiter::stateOf(const Bucket& b, double per_minute) {
  State s;
  s.limit = per_minute;
  s.remaining = std::max(0.0, b.tokens);
  const double rate = per_minute / 60.0;
  s.reset_seconds = rate > 0 ? (per_minute - b.tokens) / rate : 0;
  return s;
}

RateLimiter::State RateLimiter::check(std::string_view name, double per_minute, double cost,
                                      Clock::time_point now) {
  Shard& shard = shardFor(name);
  std::lock_guard lock(shard.mu);
  Bucket& b = refill(shard, name, per_minute, now);
  State s = stateOf(b, per_minute);
  const double need = std::min(cost, per_minute);
  if (b.tokens < need) {
    s.allowed = false;
    s.retry_after_seconds = (need - b.tokens) / (per_minute / 60.0);
  }
  return s;
}

RateLimiter::State RateLimiter::take(std::string_view name, double per_minute, double cost,
                                     Clock::time_point now) {
  Shard& shard = shardFor(name);
  std::lock_guard lock(shard.mu);
  Bucket& b = refill(shard, name, per_minute, now);
  b.tokens -= cost;
  b.unexported += cost;
  return stateOf(b, per_minute);
}

void RateLimiter::adjust(std::string_view name, double per_minute, double delta,
                         Clock::time_point now) {
  Shard& shard = shardFor(name);
  std::lock_guard lock(shard.mu);
  Bucket& b = refill(shard, name, per_minute, now);
  b.tokens = std::min(per_minute, b.tokens - delta);
  b.unexported += delta;
}

std::vector<RateLimiter::Usage> RateLimiter::exportUsage(Clock::time_point now,
                                                         Clock::duration active) {
  std::vector<Usage> out;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto& [name, b] : shard.buckets) {
      if (b.unexported == 0 && now - b.touched > active) continue;
      out.push_back({name, b.per_minute, b.unexported});
      b.unexported = 0;
    }
  }
  return out;
}

void RateLimiter::applyShared(std::string_view name, double tokens, Clock::time_point now) {
  Shard& shard = shardFor(name);
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(std::string(name));
  if (it == shard.buckets.end()) return;
  Bucket& b = it->second;
  b.tokens = std::min(b.per_minute, tokens - b.unexported);
  b.last = now;
}

void RateLimiter::unexport(const Usage& usage) {
  Shard& shard = shardFor(usage.name);
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(usage.name);
  if (it != shard.buckets.end()) it->second.unexported += usage.used;
}

std::string formatReset(double seconds) {
  if (!(seconds > 0)) return "0s";
  if (seconds < 1) return std::to_string(static_cast<int>(std::ceil(seconds * 1000))) + "ms";
  const long total = static_cast<long>(std::ceil(seconds));
  if (total < 60) return std::to_string(total) + "s";
  return std::to_string(total / 60) + "m" + std::to_string(total % 60) + "s";
}

}  // namespace switchyard::limits
