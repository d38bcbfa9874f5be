#pragma once
// ResponseCache: answers kept in memory for identical requests (exact match on CacheKey), so a
// repeated prompt costs neither upstream tokens nor the model's time. Bounded by bytes (least
// recently used entries go first) and by age (an entry older than the TTL, or than the
// client's Cache-Control max-age, is never served).
//
// Entries are immutable once stored and shared (shared_ptr), so a hit copies nothing under a
// lock and an entry evicted while a request replays it stays alive until that request is done.
// Sharded by key: each shard has its own mutex and LRU list, so I/O threads rarely meet.
// Thread-safe.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "switchyard/api/types.h"
#include "switchyard/cache/request_key.h"

namespace switchyard::cache {

// One stream chunk as the upstream delivered it, with its own copy of the upstream's JSON
// (ChatChunk::upstream_json is a view that only lives during onChunk).
struct StoredChunk {
  api::ChatChunk chunk;  // upstream_json points into `json` once the entry is stored
  std::string json;
};

struct Entry {
  using Clock = std::chrono::steady_clock;

  // A whole chat answer, a chat answer as the stream of chunks it came in, or embeddings.
  std::variant<api::ChatResponse, std::vector<StoredChunk>, api::EmbeddingResponse> value;
  std::string provider;  // the deployment that answered (after any fallback)
  std::string model;
  std::string model_version;  // as the request log knows it (ctx.model_version)
  Clock::time_point stored;
  std::chrono::milliseconds ttl{0};  // how long it is served; 0: the cache's ttl (set by insert)
  std::size_t bytes = 0;  // approximate memory held, set by ResponseCache::insert
};

// Approximate memory an entry holds (strings, vectors, fixed overhead), for the byte budget; and
// one stored chunk's share of it (for a recorder that stops copying a stream too big to keep).
std::size_t approximateBytes(const Entry& entry);
std::size_t approximateBytes(const StoredChunk& chunk);

// The longest TTL or max-age the cache represents (RFC 9111's 2^31 seconds); longer ones count
// as this (steady-clock arithmetic in nanoseconds would overflow past ~292 years).
inline constexpr std::chrono::seconds kLongestAge{std::int64_t{1} << 31};

struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;  // looked up, nothing (fresh enough) found
  std::uint64_t inserts = 0;
  std::uint64_t evictions = 0;  // dropped for room (not for age)
  std::size_t entries = 0;
  std::size_t bytes = 0;
};

class ResponseCache {
 public:
  using Clock = Entry::Clock;

  struct Options {
    std::chrono::milliseconds ttl{3600 * 1000};
    std::size_t max_bytes = 256ULL << 20;
  };
  explicit ResponseCache(Options options);
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // The entry for `key` if one was stored less than its TTL ago (and, with `max_age`, no longer
  // than that ago); marks it recently used. Counts a hit or a miss.
  std::shared_ptr<const Entry> find(const CacheKey& key, Clock::time_point now,
                                    std::optional<std::chrono::seconds> max_age = std::nullopt);

  // Stores `entry` as stored at `stored` (its `stored`, `bytes` and, when 0, `ttl` are set
  // here), replacing an older one for the key, and evicts least recently used entries of the
  // shard until it fits. Returns the entry as kept; null when it is larger than a shard's share
  // of max_bytes (not stored).
  std::shared_ptr<const Entry> insert(const CacheKey& key, Entry entry, Clock::time_point stored);

  // The two halves of insert(): an entry made ready to be kept or served (`stored`, `bytes`, the
  // TTL when 0, stream chunks viewing their own JSON), and keeping one (false when too large).
  std::shared_ptr<const Entry> seal(Entry entry, Clock::time_point stored) const;
  bool insert(const CacheKey& key, std::shared_ptr<const Entry> sealed);

  // Drops every entry (the admin's flush); returns how many there were.
  std::size_t clear();

  CacheStats stats() const;
  const Options& options() const { return options_; }
  // The largest entry insert() keeps (a shard's share of max_bytes).
  std::size_t maxEntryBytes() const { return shard_capacity_; }

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    using Lru = std::list<std::pair<CacheKey, std::shared_ptr<const Entry>>>;
    mutable std::mutex mu;
    Lru lru;  // most recently used first
    std::unordered_map<CacheKey, Lru::iterator, CacheKeyHash> index;
    std::size_t bytes = 0;
  };
  Shard& shardOf(const CacheKey& key) { return shards_[key.digest[8] % kShards]; }
  static void erase(Shard& shard, Shard::Lru::iterator it);

  Options options_;
  std::size_t shard_capacity_;
  Shard shards_[kShards];
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> inserts_{0};
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace switchyard::cache
