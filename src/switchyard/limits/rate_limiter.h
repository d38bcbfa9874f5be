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
#include <vector>

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

  // ---- sharing with other gateways (SharedLimits) ----
  // A bucket's use since its last export, to be added to the shared bucket.
  struct Usage {
    std::string name;
    double per_minute = 0;
    double used = 0;  // units taken (negative: given back) since the last export
  };
  // The buckets used or checked within `active`, with what was taken since the last export
  // (then zeroed): the ones whose shared state this gateway needs.
  std::vector<Usage> exportUsage(Clock::time_point now, Clock::duration active);
  // Sets a bucket to the shared bucket's `tokens` (which already count every export), less what
  // was taken here since the export.
  void applyShared(std::string_view name, double tokens, Clock::time_point now);
  // Puts back usage whose export did not reach the other gateways, for the next one.
  void unexport(const Usage& usage);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
    double per_minute = 0;      // as last used
    double unexported = 0;      // taken since the last exportUsage
    Clock::time_point touched;  // last check, take or adjust
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
