#pragma once
// SharedTier: the response cache's second tier, in Redis (`cache.redis`), shared by every
// gateway that names the same server: an answer one gateway stored is a hit on all of them.
// Each entry is one Redis string, `switchyard:cache:<hex key>`, holding the encoded entry
// (entry_codec.h) and expiring with the entry's TTL.
//
// The request path never touches the connection: get() and put() queue work for the tier's own
// thread, which sends whatever is queued as one pipeline and calls back with each reply on that
// thread. When Redis cannot be reached every lookup fails at once (a miss to the caller), writes
// are dropped, the outage is logged once, and the thread tries again every second. A full queue
// (Redis slower than the traffic) also fails lookups and drops writes rather than wait.
//
// Thread-safe. Callbacks run on the tier's thread, or on the caller's when the work is refused
// at once (queue full, stopping); they must not block.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "switchyard/cache/entry_codec.h"
#include "switchyard/cache/request_key.h"
#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/store/redis_connection.h"

namespace switchyard::cache {

class SharedTier {
 public:
  struct Options {
    config::RedisConfig redis;
    // Bounds connecting and each reply; the caller bounds its own wait (see ResponseCaching).
    std::chrono::milliseconds timeout{250};
    std::size_t max_queued = 4096;  // lookups and writes waiting for the thread
    std::string prefix = "switchyard:cache:";
    // Called (on the subscriber's thread) when another gateway flushed the shared tier, so this
    // one drops its memory too. Null: no subscriber.
    std::function<void()> on_remote_flush;
  };

  // Starts the thread; connecting happens there (a server that is down is logged, not fatal).
  static std::unique_ptr<SharedTier> start(Options options);
  // Sends the writes still queued (best effort), then stops the thread.
  ~SharedTier();
  SharedTier(const SharedTier&) = delete;
  SharedTier& operator=(const SharedTier&) = delete;

  // The entry for `key`: nullopt when Redis has none; an error when Redis could not be asked or
  // its bytes are not an entry (each error is a miss to the caller).
  using GetCallback = std::move_only_function<void(Result<std::optional<DecodedEntry>>)>;
  void get(const CacheKey& key, GetCallback done);

  // Stores `entry` (stored at `stored`, wall clock) for what is left of its TTL.
  void put(const CacheKey& key, std::shared_ptr<const Entry> entry,
           std::chrono::system_clock::time_point stored);

  // Deletes every entry under the prefix (SCAN + UNLINK); how many there were. Then tells the
  // other gateways (PUBLISH on `<prefix>flush:<db>`), whose on_remote_flush runs.
  using FlushCallback = std::move_only_function<void(Result<std::size_t>)>;
  void flush(FlushCallback done);

  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t errors = 0;   // lookups that got no answer (unreachable, slow, corrupt)
    std::uint64_t writes = 0;   // entries Redis accepted
    std::uint64_t dropped = 0;  // writes not made (unreachable, queue full, refused)
    bool up = false;            // the last attempt to reach Redis succeeded
  };
  Stats stats() const;
  const Options& options() const { return options_; }

 private:
  struct Job {
    enum class Kind { kGet, kPut, kFlush } kind = Kind::kGet;
    std::string key;  // the Redis key
    GetCallback get_done;
    std::shared_ptr<const Entry> entry;  // kPut
    std::chrono::system_clock::time_point stored;
    FlushCallback flush_done;
  };

  explicit SharedTier(Options options);
  std::string redisKey(const CacheKey& key) const;
  void enqueue(Job job);  // refused (queue full or stopping): the job is failed here
  void fail(Job& job, const Status& why);
  void run();
  void process(std::deque<Job>& batch);
  bool connected();  // connects when due; false while Redis is down
  void lost(const Status& why);
  Result<std::size_t> flushAll();

  void subscribe();  // the subscriber thread: SUBSCRIBE, and a flush message runs the callback
  std::string flushChannel() const;

  const Options options_;
  const std::string instance_;  // this tier's id in flush messages (its own are ignored)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stop_ = false;

  // The thread's own.
  store::RedisContextPtr context_;
  std::chrono::steady_clock::time_point next_attempt_{};
  bool down_logged_ = false;

  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<bool> up_{false};
  std::thread thread_;

  // The subscriber: its connection is shut down (under sub_mu_) to wake it when stopping.
  std::mutex sub_mu_;
  std::condition_variable sub_cv_;
  bool sub_stop_ = false;
  redisContext* sub_context_ = nullptr;  // owned by the subscriber thread; guarded by sub_mu_
  std::thread subscriber_;
};

}  // namespace switchyard::cache
