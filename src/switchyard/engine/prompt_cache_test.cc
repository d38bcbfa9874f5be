#include "switchyard/engine/prompt_cache.h"

#include <gtest/gtest.h>

namespace switchyard::engine {
namespace {

HostPromptCache::Entry entry(TokenSeq tokens, std::size_t state_bytes, AdapterKey adapters = {}) {
  return {std::move(tokens), std::vector<std::uint8_t>(state_bytes, 7), std::move(adapters)};
}

TEST(PromptCacheTest, CommonPrefix) {
  EXPECT_EQ(commonPrefix(TokenSeq{1, 2, 3}, TokenSeq{1, 2, 4}), 2u);
  EXPECT_EQ(commonPrefix(TokenSeq{1, 2}, TokenSeq{1, 2, 4}), 2u);
  EXPECT_EQ(commonPrefix(TokenSeq{}, TokenSeq{1}), 0u);
}

TEST(PromptCacheTest, FindsTheLongestSharedPrefix) {
  HostPromptCache cache(1 << 20);
  ASSERT_TRUE(cache.insert(entry({1, 2, 3, 4}, 100)));
  ASSERT_TRUE(cache.insert(entry({1, 2, 9, 9, 9}, 100)));
  auto m = cache.findBest(TokenSeq{1, 2, 3, 4, 5});
  EXPECT_EQ(m.prefix, 4u);
  auto e = cache.take(m.index);
  EXPECT_EQ(e.tokens, (TokenSeq{1, 2, 3, 4}));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.findBest(TokenSeq{5}).prefix, 0u);
}

TEST(PromptCacheTest, EvictsLeastRecentlyUsedToStayWithinBytes) {
  const std::size_t per = 1000 + 2 * sizeof(std::int32_t);
  HostPromptCache cache(2 * per);
  ASSERT_TRUE(cache.insert(entry({1, 1}, 1000)));
  ASSERT_TRUE(cache.insert(entry({2, 2}, 1000)));
  ASSERT_TRUE(cache.insert(entry({3, 3}, 1000)));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_LE(cache.bytes(), 2 * per);
  EXPECT_EQ(cache.findBest(TokenSeq{1, 1}).prefix, 0u);  // oldest went first
  EXPECT_EQ(cache.findBest(TokenSeq{3, 3}).prefix, 2u);
  EXPECT_FALSE(cache.insert(entry({4}, 10 * per)));  // larger than the whole cache
}

TEST(PromptCacheTest, LongerEntryReplacesItsPrefix) {
  HostPromptCache cache(1 << 20);
  ASSERT_TRUE(cache.insert(entry({1, 2}, 10)));
  ASSERT_TRUE(cache.insert(entry({1, 2, 3}, 10)));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.insert(entry({1, 2}, 10)));  // covered by {1, 2, 3}
  EXPECT_EQ(cache.size(), 1u);
}

TEST(PromptCacheTest, EntriesOfAnotherAdapterSetAreNeitherMatchedNorReplaced) {
  HostPromptCache cache(1 << 20);
  ASSERT_TRUE(cache.insert(entry({1, 2, 3}, 10)));
  EXPECT_EQ(cache.findBest(TokenSeq{1, 2, 3, 4}, AdapterKey{1.0f}).prefix, 0u);
  ASSERT_TRUE(cache.insert(entry({1, 2}, 10, AdapterKey{1.0f})));  // not covered: other set
  ASSERT_TRUE(cache.insert(entry({1, 2, 3, 4}, 10, AdapterKey{0.5f})));
  EXPECT_EQ(cache.size(), 3u);
  auto m = cache.findBest(TokenSeq{1, 2, 3, 4}, AdapterKey{1.0f});
  EXPECT_EQ(m.prefix, 2u);
  EXPECT_EQ(cache.take(m.index).adapters, AdapterKey{1.0f});
  EXPECT_EQ(cache.findBest(TokenSeq{1, 2, 3, 4}).prefix, 3u);
}

}  // namespace
}  // namespace switchyard::engine
