#include "switchyard/cache/response_cache.h"

#include <algorithm>
#include <utility>

namespace switchyard::cache {
namespace {

constexpr std::size_t kEntryOverhead = 256;  // the entry, its list node and index slot
constexpr std::size_t kItemOverhead = 64;    // a choice, chunk or vector's own bookkeeping

std::size_t messageBytes(const api::Message& m) {
  std::size_t n = kItemOverhead + m.name.size() + m.reasoning_content.size() +
                  m.reasoning_signature.size() + (m.refusal ? m.refusal->size() : 0);
  for (const auto& p : m.content) n += kItemOverhead + p.text.size() + p.image_url.size();
  for (const auto& c : m.tool_calls) {
    n += kItemOverhead + c.id.size() + c.name.size() + c.arguments.size();
  }
  for (const auto& r : m.redacted_reasoning) n += r.size();
  return n;
}

std::size_t valueBytes(const api::ChatResponse& r) {
  std::size_t n = r.id.size() + r.model.size() + r.system_fingerprint.size() +
                  r.service_tier.size() + r.upstream_json.size();
  for (const auto& c : r.choices) n += messageBytes(c.message) + c.stop_sequence.size();
  return n;
}

std::size_t valueBytes(const std::vector<StoredChunk>& chunks) {
  std::size_t n = 0;
  for (const auto& s : chunks) n += approximateBytes(s);
  return n;
}

std::size_t valueBytes(const api::EmbeddingResponse& r) {
  std::size_t n = r.model.size();
  for (const auto& e : r.embeddings) n += kItemOverhead + e.size() * sizeof(float);
  return n;
}

}  // namespace

std::size_t approximateBytes(const StoredChunk& s) {
  const api::ChatChunk& c = s.chunk;
  std::size_t n =
      kItemOverhead + s.json.size() + c.id.size() + c.model.size() + c.system_fingerprint.size();
  for (const auto& d : c.choices) {
    n += kItemOverhead + (d.content ? d.content->size() : 0) +
         (d.reasoning_content ? d.reasoning_content->size() : 0) +
         (d.reasoning_signature ? d.reasoning_signature->size() : 0) +
         (d.redacted_reasoning ? d.redacted_reasoning->size() : 0) +
         (d.refusal ? d.refusal->size() : 0) + d.stop_sequence.size();
    for (const auto& t : d.tool_calls) {
      n += kItemOverhead + t.id.size() + t.name.size() + t.arguments.size();
    }
  }
  return n;
}

std::size_t approximateBytes(const Entry& entry) {
  return kEntryOverhead + entry.provider.size() + entry.model.size() + entry.model_version.size() +
         std::visit([](const auto& v) { return valueBytes(v); }, entry.value);
}

ResponseCache::ResponseCache(Options options)
    : options_(options), shard_capacity_(options.max_bytes / kShards) {}

void ResponseCache::erase(Shard& shard, Shard::Lru::iterator it) {
  shard.bytes -= it->second->bytes;
  shard.index.erase(it->first);
  shard.lru.erase(it);
}

std::shared_ptr<const Entry> ResponseCache::find(const CacheKey& key, Clock::time_point now,
                                                 std::optional<std::chrono::seconds> max_age) {
  Shard& shard = shardOf(key);
  std::shared_ptr<const Entry> found;
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.index.find(key);
    if (it != shard.index.end()) {
      const auto& entry = it->second->second;
      if (now - entry->stored >= entry->ttl) {
        erase(shard, it->second);  // expired: nobody may be served it again
      } else if (!max_age || now - entry->stored <= std::min(*max_age, kLongestAge)) {
        shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
        found = entry;
      }
    }
  }
  (found ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return found;
}

std::shared_ptr<const Entry> ResponseCache::seal(Entry entry, Clock::time_point stored) const {
  entry.stored = stored;
  if (entry.ttl.count() <= 0) entry.ttl = options_.ttl;
  entry.ttl = std::min<std::chrono::milliseconds>(entry.ttl, kLongestAge);
  entry.bytes = approximateBytes(entry);
  // Chunks view their own copies of the upstream's JSON (moved in with the entry: SSO strings
  // move their bytes, so the views are set here, once the entry has its final place).
  auto sealed = std::make_shared<Entry>(std::move(entry));
  if (auto* chunks = std::get_if<std::vector<StoredChunk>>(&sealed->value)) {
    for (auto& s : *chunks) s.chunk.upstream_json = s.json;
  }
  return sealed;
}

std::shared_ptr<const Entry> ResponseCache::insert(const CacheKey& key, Entry entry,
                                                   Clock::time_point stored) {
  std::shared_ptr<const Entry> sealed = seal(std::move(entry), stored);
  return insert(key, sealed) ? sealed : nullptr;
}

bool ResponseCache::insert(const CacheKey& key, std::shared_ptr<const Entry> sealed) {
  if (sealed->bytes > shard_capacity_) return false;
  std::uint64_t evicted = 0;
  Shard& shard = shardOf(key);
  {
    std::lock_guard lock(shard.mu);
    if (auto it = shard.index.find(key); it != shard.index.end()) erase(shard, it->second);
    while (!shard.lru.empty() && shard.bytes + sealed->bytes > shard_capacity_) {
      erase(shard, std::prev(shard.lru.end()));
      ++evicted;
    }
    shard.bytes += sealed->bytes;
    shard.lru.emplace_front(key, std::move(sealed));
    shard.index.emplace(key, shard.lru.begin());
  }
  inserts_.fetch_add(1, std::memory_order_relaxed);
  if (evicted > 0) evictions_.fetch_add(evicted, std::memory_order_relaxed);
  return true;
}

std::size_t ResponseCache::clear() {
  std::size_t n = 0;
  for (Shard& shard : shards_) {
    Shard::Lru dropped;  // released outside the lock
    {
      std::lock_guard lock(shard.mu);
      n += shard.lru.size();
      dropped.swap(shard.lru);
      shard.index.clear();
      shard.bytes = 0;
    }
  }
  return n;
}

CacheStats ResponseCache::stats() const {
  CacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.inserts = inserts_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    s.entries += shard.lru.size();
    s.bytes += shard.bytes;
  }
  return s;
}

}  // namespace switchyard::cache
