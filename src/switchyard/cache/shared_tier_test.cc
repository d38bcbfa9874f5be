#include "switchyard/cache/shared_tier.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>

#include "switchyard/limits/testing/redis_test_server.h"

namespace switchyard::cache {
namespace {

using namespace std::chrono_literals;

CacheKey keyOf(const std::string& text) {
  api::ChatRequest r;
  r.messages.push_back({});
  r.messages.back().content.push_back({.text = text});
  return chatKey({"global", "p", "m"}, r);
}

std::shared_ptr<const Entry> answer(const std::string& text, std::chrono::milliseconds ttl) {
  api::ChatResponse response;
  response.choices.push_back({});
  response.choices.back().message.content.push_back({.text = text});
  response.choices.back().finish_reason = api::FinishReason::kStop;
  auto e = std::make_shared<Entry>();
  e->value = std::move(response);
  e->provider = "oai";
  e->model = "gpt-x";
  e->ttl = ttl;
  return e;
}

class SharedTierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = limits::testing::RedisTestServer::start();
    ASSERT_TRUE(server) << server.error().message();
    redis_ = std::move(*server);
  }

  std::unique_ptr<SharedTier> tier(std::chrono::milliseconds timeout = 250ms) {
    SharedTier::Options o;
    o.redis.url = "redis://127.0.0.1";
    o.redis.host = "127.0.0.1";
    o.redis.port = redis_->port();
    o.timeout = timeout;
    return SharedTier::start(std::move(o));
  }

  static Result<std::optional<DecodedEntry>> get(SharedTier& t, const CacheKey& key) {
    std::promise<Result<std::optional<DecodedEntry>>> p;
    auto f = p.get_future();
    t.get(key, [&p](Result<std::optional<DecodedEntry>> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  static Result<std::size_t> flush(SharedTier& t) {
    std::promise<Result<std::size_t>> p;
    auto f = p.get_future();
    t.flush([&p](Result<std::size_t> r) { p.set_value(std::move(r)); });
    return f.get();
  }

  // Waits until the tier's writes so far were answered.
  static void settle(SharedTier& t, std::uint64_t writes) {
    for (int i = 0; i < 200 && t.stats().writes + t.stats().dropped < writes; ++i) {
      std::this_thread::sleep_for(10ms);
    }
  }

  std::string text(const DecodedEntry& d) {
    return std::get<api::ChatResponse>(d.entry.value).choices.at(0).message.content.at(0).text;
  }

  std::unique_ptr<limits::testing::RedisTestServer> redis_;
};

TEST_F(SharedTierTest, WhatOneGatewayStoresAnotherFinds) {
  auto a = tier();
  auto b = tier();
  const auto stored = std::chrono::system_clock::now() - 2s;
  a->put(keyOf("q"), answer("A", 1h), stored);
  settle(*a, 1);
  EXPECT_EQ(a->stats().writes, 1u);

  auto found = get(*b, keyOf("q"));
  ASSERT_TRUE(found) << found.error().message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(text(**found), "A");
  EXPECT_EQ((*found)->entry.provider, "oai");
  EXPECT_EQ((*found)->entry.ttl, 1h);
  EXPECT_EQ(
      std::chrono::duration_cast<std::chrono::milliseconds>((*found)->stored - stored).count(), 0);
  auto missing = get(*b, keyOf("other"));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(b->stats().hits, 1u);
  EXPECT_EQ(b->stats().misses, 1u);
  EXPECT_TRUE(b->stats().up);
}

TEST_F(SharedTierTest, EntriesExpireInRedisWithWhatIsLeftOfTheirTtl) {
  auto t = tier();
  // Stored 900 ms ago with a 1 s TTL: 100 ms left.
  t->put(keyOf("q"), answer("A", 1s), std::chrono::system_clock::now() - 900ms);
  // Already past its TTL: not written at all.
  t->put(keyOf("old"), answer("B", 1s), std::chrono::system_clock::now() - 2s);
  settle(*t, 1);
  std::this_thread::sleep_for(300ms);
  auto found = get(*t, keyOf("q"));
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
  auto old = get(*t, keyOf("old"));
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->has_value());
  EXPECT_EQ(t->stats().writes, 1u);
}

TEST_F(SharedTierTest, FlushDeletesOnlyTheCachesKeys) {
  auto t = tier();
  for (int i = 0; i < 2500; ++i) {  // more than one SCAN page
    t->put(keyOf("q" + std::to_string(i)), answer("A", 1h), std::chrono::system_clock::now());
  }
  settle(*t, 2500);
  ASSERT_EQ(t->stats().writes, 2500u);
  // Someone else's key in the same database stays.
  redisContext* c = redisConnect("127.0.0.1", redis_->port());
  ASSERT_TRUE(c != nullptr && c->err == 0);
  freeReplyObject(redisCommand(c, "SET other:key 1"));

  auto flushed = flush(*t);
  ASSERT_TRUE(flushed) << flushed.error().message();
  EXPECT_EQ(*flushed, 2500u);
  auto found = get(*t, keyOf("q7"));
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
  auto* r = static_cast<redisReply*>(redisCommand(c, "DBSIZE"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->integer, 1);
  freeReplyObject(r);
  redisFree(c);
}

TEST_F(SharedTierTest, AFlushIsAnnouncedToTheOtherTiers) {
  std::atomic<int> a_told{0};
  std::atomic<int> b_told{0};
  auto subscribed = [&](std::atomic<int>& told) {
    SharedTier::Options o;
    o.redis.url = "redis://127.0.0.1";
    o.redis.host = "127.0.0.1";
    o.redis.port = redis_->port();
    o.on_remote_flush = [&told] { ++told; };
    return SharedTier::start(std::move(o));
  };
  auto a = subscribed(a_told);
  auto b = subscribed(b_told);
  // Subscriptions are made on their own threads: flush until B has heard one.
  for (int i = 0; i < 100 && b_told == 0; ++i) {
    ASSERT_TRUE(flush(*a));
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(b_told.load(), 1);
  EXPECT_EQ(a_told.load(), 0);  // its own flush is not news to it
  // Stopping does not wait for a message.
  const auto started = std::chrono::steady_clock::now();
  b.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST_F(SharedTierTest, BytesThatAreNotAnEntryAreAnError) {
  auto t = tier();
  const CacheKey key = keyOf("q");
  t->put(key, answer("A", 1h), std::chrono::system_clock::now());
  settle(*t, 1);
  redisContext* c = redisConnect("127.0.0.1", redis_->port());
  ASSERT_TRUE(c != nullptr && c->err == 0);
  auto* keys = static_cast<redisReply*>(redisCommand(c, "KEYS switchyard:cache:*"));
  ASSERT_EQ(keys->elements, 1u);
  const std::string name(keys->element[0]->str, keys->element[0]->len);
  freeReplyObject(keys);
  freeReplyObject(redisCommand(c, "SET %s %s", name.c_str(), "SYCE\x01garbage"));
  redisFree(c);

  auto found = get(*t, key);
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().message().find("corrupt"), std::string::npos);
  EXPECT_EQ(t->stats().errors, 1u);
}

TEST_F(SharedTierTest, AnOutageFailsLookupsAtOnceAndTheTierComesBack) {
  auto t = tier(200ms);
  t->put(keyOf("q"), answer("A", 1h), std::chrono::system_clock::now());
  settle(*t, 1);
  redis_->stop();

  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(get(*t, keyOf("q")));
  // The first lookup finds the connection gone; the rest fail without trying again.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_FALSE(t->stats().up);
  t->put(keyOf("lost"), answer("B", 1h), std::chrono::system_clock::now());
  for (int i = 0; i < 100 && t->stats().dropped == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(t->stats().dropped, 1u);

  ASSERT_TRUE(redis_->restart().isOk());
  // Within the retry interval the tier reconnects (the restarted server is empty).
  bool back = false;
  for (int i = 0; i < 40 && !back; ++i) {
    std::this_thread::sleep_for(100ms);
    auto r = get(*t, keyOf("q"));
    back = r.has_value() && !r->has_value();
  }
  EXPECT_TRUE(back);
  EXPECT_TRUE(t->stats().up);
}

TEST_F(SharedTierTest, AFullQueueRefusesAtOnce) {
  SharedTier::Options o;
  o.redis.url = "redis://127.0.0.1";
  o.redis.host = "127.0.0.1";
  o.redis.port = redis_->port();
  o.max_queued = 0;  // everything is refused
  auto t = SharedTier::start(std::move(o));
  auto r = get(*t, keyOf("q"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("queue full"), std::string::npos);
  t->put(keyOf("q"), answer("A", 1h), std::chrono::system_clock::now());
  EXPECT_EQ(t->stats().dropped, 1u);
  EXPECT_EQ(t->stats().errors, 1u);
}

}  // namespace
}  // namespace switchyard::cache
