#include "switchyard/cache/response_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace switchyard::cache {
namespace {

using namespace std::chrono_literals;
using Clock = ResponseCache::Clock;

CacheKey keyOf(const std::string& text) {
  api::ChatRequest r;
  r.messages.push_back({});
  r.messages.back().content.push_back({.text = text});
  return chatKey({"global", "p", "m"}, r);
}

Entry answer(const std::string& text) {
  api::ChatResponse response;
  response.choices.push_back({});
  response.choices.back().message.content.push_back({.text = text});
  response.choices.back().finish_reason = api::FinishReason::kStop;
  Entry e;
  e.value = std::move(response);
  e.provider = "oai";
  e.model = "gpt-x";
  return e;
}

std::string textOf(const Entry& e) {
  return std::get<api::ChatResponse>(e.value).choices.at(0).message.content.at(0).text;
}

TEST(ResponseCacheTest, FindsWhatWasStoredUntilTheTtl) {
  ResponseCache cache({.ttl = 10s, .max_bytes = 1 << 20});
  const auto t0 = Clock::now();
  EXPECT_EQ(cache.find(keyOf("a"), t0), nullptr);
  ASSERT_TRUE(cache.insert(keyOf("a"), answer("A"), t0));
  auto hit = cache.find(keyOf("a"), t0 + 9s);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(textOf(*hit), "A");
  EXPECT_EQ(hit->provider, "oai");
  EXPECT_EQ(hit->stored, t0);
  EXPECT_EQ(cache.find(keyOf("b"), t0), nullptr);
  EXPECT_EQ(cache.find(keyOf("a"), t0 + 10s), nullptr);  // expired, and dropped
  const CacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 3u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  // The caller keeps an entry it holds even after it leaves the cache.
  EXPECT_EQ(textOf(*hit), "A");
}

TEST(ResponseCacheTest, MaxAgeServesOnlyYoungerEntries) {
  ResponseCache cache({.ttl = 1h, .max_bytes = 1 << 20});
  const auto t0 = Clock::now();
  ASSERT_TRUE(cache.insert(keyOf("a"), answer("A"), t0));
  EXPECT_EQ(cache.find(keyOf("a"), t0 + 31s, 30s), nullptr);
  EXPECT_NE(cache.find(keyOf("a"), t0 + 30s, 30s), nullptr);
  EXPECT_EQ(cache.find(keyOf("a"), t0 + 1s, 0s), nullptr);
  EXPECT_EQ(cache.stats().entries, 1u);  // too old for that caller, not for others
}

TEST(ResponseCacheTest, AnEntryMayCarryItsOwnTtl) {
  ResponseCache cache({.ttl = 10s, .max_bytes = 1 << 20});
  const auto t0 = Clock::now();
  Entry longer = answer("A");
  longer.ttl = 1h;
  ASSERT_TRUE(cache.insert(keyOf("long"), std::move(longer), t0));
  Entry shorter = answer("B");
  shorter.ttl = 2s;
  ASSERT_TRUE(cache.insert(keyOf("short"), std::move(shorter), t0));
  EXPECT_NE(cache.find(keyOf("long"), t0 + 30min), nullptr);
  EXPECT_EQ(cache.find(keyOf("short"), t0 + 2s), nullptr);
}

TEST(ResponseCacheTest, ReplacesAnEntryForTheSameKey) {
  ResponseCache cache({.ttl = 1h, .max_bytes = 1 << 20});
  const auto t0 = Clock::now();
  ASSERT_TRUE(cache.insert(keyOf("a"), answer("first"), t0));
  ASSERT_TRUE(cache.insert(keyOf("a"), answer("second"), t0 + 1s));
  EXPECT_EQ(textOf(*cache.find(keyOf("a"), t0 + 2s)), "second");
  EXPECT_EQ(cache.stats().entries, 1u);
}

TEST(ResponseCacheTest, EvictsTheLeastRecentlyUsedForRoom) {
  // 16 shards of 4 KiB; ~1.3 KB entries: at most 3 per shard.
  ResponseCache cache({.ttl = 1h, .max_bytes = 64 << 10});
  const auto t0 = Clock::now();
  const std::string filler(1000, 'x');
  std::vector<CacheKey> keys;
  for (int i = 0; i < 400; ++i) {
    keys.push_back(keyOf("q" + std::to_string(i)));
    ASSERT_TRUE(cache.insert(keys.back(), answer(filler + std::to_string(i)), t0));
    // The first key stays recently used, so it is never the one evicted.
    ASSERT_NE(cache.find(keys.front(), t0), nullptr) << i;
  }
  const CacheStats s = cache.stats();
  EXPECT_LE(s.bytes, 64u << 10);
  EXPECT_GT(s.evictions, 300u);
  EXPECT_EQ(s.entries + s.evictions, 400u);
  EXPECT_EQ(cache.find(keys[1], t0), nullptr);  // long gone
  EXPECT_NE(cache.find(keys.back(), t0), nullptr);
  // Too big for a shard: refused, nothing evicted for it.
  EXPECT_FALSE(cache.insert(keyOf("huge"), answer(std::string(8 << 10, 'y')), t0));
  EXPECT_EQ(cache.stats().evictions, s.evictions);
  EXPECT_EQ(cache.clear(), s.entries);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(ResponseCacheTest, StoredChunksViewTheirOwnJson) {
  ResponseCache cache({.ttl = 1h, .max_bytes = 1 << 20});
  std::vector<StoredChunk> chunks;
  for (int i = 0; i < 3; ++i) {
    StoredChunk c;
    c.json = R"({"id":"c","choices":[{"index":0,"delta":{"content":")" + std::to_string(i) +
             std::string(40, 'z') + R"("}}]})";
    chunks.push_back(std::move(c));
  }
  Entry e;
  e.value = std::move(chunks);
  ASSERT_TRUE(cache.insert(keyOf("s"), std::move(e), Clock::now()));
  auto hit = cache.find(keyOf("s"), Clock::now());
  ASSERT_NE(hit, nullptr);
  const auto& stored = std::get<std::vector<StoredChunk>>(hit->value);
  ASSERT_EQ(stored.size(), 3u);
  for (const auto& c : stored) {
    EXPECT_EQ(c.chunk.upstream_json, c.json);
    EXPECT_EQ(c.chunk.upstream_json.data(), c.json.data());
  }
}

TEST(ResponseCacheTest, ManyThreadsAtOnce) {
  ResponseCache cache({.ttl = 1h, .max_bytes = 256 << 10});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const CacheKey key = keyOf(std::to_string((i * 7 + t) % 300));
        if (auto hit = cache.find(key, Clock::now())) {
          EXPECT_EQ(textOf(*hit).substr(0, 1), "v");
        } else {
          cache.insert(key, answer("v" + std::to_string(i)), Clock::now());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const CacheStats s = cache.stats();
  EXPECT_EQ(s.hits + s.misses, 8000u);
  EXPECT_GT(s.hits, 0u);
  EXPECT_LE(s.bytes, 256u << 10);
}

TEST(ResponseCacheTest, AgesBeyondWhatTheClockHoldsCountAsTheLongest) {
  ResponseCache cache({.ttl = 1h, .max_bytes = 1 << 20});
  const auto t0 = Clock::now();
  Entry e = answer("A");
  e.ttl = std::chrono::hours(1'000'000'000);  // more than a steady clock's nanoseconds hold
  auto kept = cache.insert(keyOf("a"), std::move(e), t0);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->ttl, kLongestAge);
  const auto huge = std::chrono::seconds(std::numeric_limits<std::int64_t>::max() / 2);
  EXPECT_NE(cache.find(keyOf("a"), t0 + 24h, huge), nullptr);
}

}  // namespace
}  // namespace switchyard::cache
