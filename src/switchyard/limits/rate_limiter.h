#pragma once
// RateLimiter: token buckets per name ("key:<id>:requests", "team:ml:tokens"), in memory. A
// bucket holds up to `per_minute` units and refills at per_minute/60 per second, so a client may
// burst a whole minute's allowance and then goes at the steady rate. Costs that turn out
// different from the estimate are settled with adjust(); a bucket may go into debt, which later
// requests wait out.
//
// Thread-safety: all methods may be called from any thread; buckets live in 32 shards, each
// with its own mutex, so I/O threads rarely contend.

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchyard::limits {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct State {
    bool allowed = true;
    double limit = 0;          // per minute
    double remaining = 0;      // units in the bucket after this request (or now, if refused)
    double reset_seconds = 0;  // until the bucket is full again
    double retry_after_seconds = 0;  // refused: until `cost` fits
  };

  // Whether `cost` units fit now (the bucket holds at least min(cost, per_minute)); takes
  // nothing.
  State check(std::string_view name, double per_minute, double cost, Clock::time_point now);
  // Takes `cost` units (the bucket may go negative).
  State take(std::string_view name, double per_minute, double cost, Clock::time_point now);
  // Takes `delta` more units (negative: gives back, up to a full bucket).
  void adjust(std::string_view name, double per_minute, double delta, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  Shard& shardFor(std::string_view name);
  // The bucket refilled up to `now` (created full); caller holds the shard's lock.
  static Bucket& refill(Shard& shard, std::string_view name, double per_minute,
                        Clock::time_point now);
  static State stateOf(const Bucket& b, double per_minute);

  std::array<Shard, 32> shards_;
};

// "1s", "250ms", "6m0s": the x-ratelimit-reset-* format OpenAI uses.
std::string formatReset(double seconds);

}  // namespace switchyard::limits
