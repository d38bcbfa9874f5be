#include "switchyard/limits/shared_limits.h"

#include <gtest/gtest.h>

#include "switchyard/limits/testing/redis_test_server.h"

namespace switchyard::limits {
namespace {

using std::chrono::seconds;
using Clock = RateLimiter::Clock;

// ---- the limiter's and tracker's side of sharing, without Redis --------------------------------

TEST(RateLimiterSharing, ExportsWhatWasTakenAndAppliesTheSharedBucket) {
  RateLimiter limiter;
  const auto t0 = Clock::now();
  limiter.take("key:a:requests", 10, 3, t0);
  limiter.adjust("key:a:requests", 10, 1, t0);
  (void)limiter.check("team:t:requests", 10, 1, t0);  // checked only: still kept in step

  auto usage = limiter.exportUsage(t0, seconds(60));
  ASSERT_EQ(usage.size(), 2u);
  std::sort(usage.begin(), usage.end(), [](auto& a, auto& b) { return a.name < b.name; });
  EXPECT_EQ(usage[0].name, "key:a:requests");
  EXPECT_EQ(usage[0].per_minute, 10);
  EXPECT_EQ(usage[0].used, 4);
  EXPECT_EQ(usage[1].used, 0);
  // Exported once: the next export has nothing new; a bucket idle past `active` is left out.
  EXPECT_EQ(limiter.exportUsage(t0, seconds(60)).at(0).used, 0);
  EXPECT_TRUE(limiter.exportUsage(t0 + seconds(61), seconds(60)).empty());

  // Another gateway took 4 more (the shared bucket holds 2); one was taken here meanwhile.
  (void)limiter.exportUsage(t0, seconds(60));
  limiter.take("key:a:requests", 10, 1, t0);
  limiter.applyShared("key:a:requests", 2, t0);
  EXPECT_TRUE(limiter.check("key:a:requests", 10, 1, t0).allowed);  // 2 - 1 = 1 left
  limiter.take("key:a:requests", 10, 1, t0);
  EXPECT_FALSE(limiter.check("key:a:requests", 10, 1, t0).allowed);

  // Usage that did not reach the others is exported again.
  auto pending = limiter.exportUsage(t0, seconds(60));
  ASSERT_EQ(pending.at(0).name == "key:a:requests" ? pending.at(0).used : pending.at(1).used, 2);
  for (const auto& u : pending) limiter.unexport(u);
  pending = limiter.exportUsage(t0, seconds(60));
  EXPECT_EQ(pending.at(0).name == "key:a:requests" ? pending.at(0).used : pending.at(1).used, 2);
}

TEST(BudgetSharing, ExportsThePeriodsSpendAndAppliesTheSharedTotal) {
  auto tracker = BudgetTracker::open(nullptr);
  ASSERT_TRUE(tracker);
  BudgetTracker& b = **tracker;
  const auto now = BudgetTracker::SystemClock::now();
  ASSERT_TRUE(b.reserve("team:t", 10, "month", 1, now).ok);
  b.settle("team:t", "month", 1, 2.5, now);

  auto spend = b.exportSpend(now);
  ASSERT_EQ(spend.size(), 1u);
  EXPECT_EQ(spend[0].scope, "team:t");
  EXPECT_EQ(spend[0].period_key, BudgetTracker::periodKey("month", now));
  EXPECT_DOUBLE_EQ(spend[0].spent, 2.5);
  EXPECT_DOUBLE_EQ(spend[0].unshared, 2.5);
  EXPECT_DOUBLE_EQ(b.exportSpend(now).at(0).unshared, 0);

  // The others spent 7 more; 0.5 was settled here since the export.
  b.settle("team:t", "month", 0, 0.5, now);
  b.applySharedSpend("team:t", spend[0].period_key, 9.5);
  EXPECT_DOUBLE_EQ(b.spent("team:t", "month", now), 10);
  EXPECT_FALSE(b.reserve("team:t", 10, "month", 0, now).ok);
}

// ---- two gateways' limiters through a real redis-server ---------------------------------------

class SharedLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisTestServer::start();
    ASSERT_TRUE(server) << server.error().message();
    redis_ = std::move(*server);
  }

  // A gateway's side: its own limiter and tracker, synced by hand (the thread's interval is an
  // hour).
  struct Gateway {
    RateLimiter limiter;
    std::unique_ptr<BudgetTracker> budgets = std::move(*BudgetTracker::open(nullptr));
    std::unique_ptr<SharedLimits> shared;
  };
  std::unique_ptr<Gateway> gateway(const std::string& password = "") {
    auto g = std::make_unique<Gateway>();
    g->shared = SharedLimits::start(configFor(password), g->limiter, *g->budgets);
    return g;
  }
  config::SharedLimitsConfig configFor(const std::string& password) const {
    config::SharedLimitsConfig c;
    c.url = "redis://127.0.0.1";
    c.host = "127.0.0.1";
    c.port = redis_->port();
    c.password = password;
    c.sync_interval = std::chrono::hours(1);
    return c;
  }

  std::unique_ptr<testing::RedisTestServer> redis_;
};

TEST_F(SharedLimitsTest, TwoGatewaysDrawFromOneBucket) {
  auto a = gateway();
  auto b = gateway();
  ASSERT_TRUE(a->shared->connected());
  const auto now = Clock::now();
  // 10 requests a minute between them: 6 here, 5 there. Each alone would let more through.
  for (int i = 0; i < 6; ++i) a->limiter.take("key:k:requests", 10, 1, now);
  for (int i = 0; i < 5; ++i) b->limiter.take("key:k:requests", 10, 1, now);
  EXPECT_TRUE(a->limiter.check("key:k:requests", 10, 1, now).allowed);
  EXPECT_TRUE(b->limiter.check("key:k:requests", 10, 1, now).allowed);

  ASSERT_TRUE(a->shared->syncNow().isOk());
  ASSERT_TRUE(b->shared->syncNow().isOk());
  ASSERT_TRUE(a->shared->syncNow().isOk());
  const auto later = Clock::now();
  auto state_a = a->limiter.check("key:k:requests", 10, 1, later);
  auto state_b = b->limiter.check("key:k:requests", 10, 1, later);
  EXPECT_FALSE(state_a.allowed);
  EXPECT_FALSE(state_b.allowed);
  EXPECT_GT(state_a.retry_after_seconds, 5);  // a debt of one, refilled at 1 per 6 s

  // A gateway that never saw the key learns the bucket at its first round.
  auto c = gateway();
  EXPECT_TRUE(c->limiter.check("key:k:requests", 10, 1, Clock::now()).allowed);  // not yet
  ASSERT_TRUE(c->shared->syncNow().isOk());
  EXPECT_FALSE(c->limiter.check("key:k:requests", 10, 1, Clock::now()).allowed);
}

TEST_F(SharedLimitsTest, BudgetsAddUpAcrossGateways) {
  auto a = gateway();
  auto b = gateway();
  const auto now = BudgetTracker::SystemClock::now();
  ASSERT_TRUE(a->budgets->reserve("team:t", 5, "day", 0, now).ok);
  a->budgets->settle("team:t", "day", 0, 3, now);
  ASSERT_TRUE(b->budgets->reserve("team:t", 5, "day", 0, now).ok);
  b->budgets->settle("team:t", "day", 0, 2.25, now);

  ASSERT_TRUE(a->shared->syncNow().isOk());
  ASSERT_TRUE(b->shared->syncNow().isOk());
  ASSERT_TRUE(a->shared->syncNow().isOk());
  EXPECT_DOUBLE_EQ(a->budgets->spent("team:t", "day", now), 5.25);
  EXPECT_DOUBLE_EQ(b->budgets->spent("team:t", "day", now), 5.25);
  EXPECT_FALSE(a->budgets->reserve("team:t", 5, "day", 0, now).ok);
  EXPECT_FALSE(b->budgets->reserve("team:t", 5, "day", 0, now).ok);
}

TEST_F(SharedLimitsTest, AnOutageKeepsLimitsLocalAndLosesNoUsage) {
  auto a = gateway();
  ASSERT_TRUE(a->shared->connected());
  redis_->stop();
  const auto now = Clock::now();
  for (int i = 0; i < 4; ++i) a->limiter.take("key:k:requests", 10, 1, now);
  EXPECT_FALSE(a->shared->syncNow().isOk());
  EXPECT_FALSE(a->shared->connected());
  // Still enforced here alone: 6 left.
  for (int i = 0; i < 6; ++i) a->limiter.take("key:k:requests", 10, 1, now);
  EXPECT_FALSE(a->limiter.check("key:k:requests", 10, 1, now).allowed);

  EXPECT_EQ(a->shared->failures(), 1u);
  EXPECT_NE(telemetry::Registry::global().render().find("switchyard_limits_shared_up 0"),
            std::string::npos);

  // Back (empty): the usage kept through the outage is sent, and another gateway sees it.
  ASSERT_TRUE(redis_->restart().isOk());
  ASSERT_TRUE(a->shared->syncNow().isOk());
  EXPECT_TRUE(a->shared->connected());
  EXPECT_NE(telemetry::Registry::global().render().find("switchyard_limits_shared_up 1"),
            std::string::npos);
  auto b = gateway();
  (void)b->limiter.check("key:k:requests", 10, 1, Clock::now());
  ASSERT_TRUE(b->shared->syncNow().isOk());
  EXPECT_FALSE(b->limiter.check("key:k:requests", 10, 1, Clock::now()).allowed);
}

TEST(SharedLimitsAuth, PasswordIsSentAndAWrongOneIsReportedWithoutIt) {
  auto server = testing::RedisTestServer::start("s3cret-pass");
  ASSERT_TRUE(server) << server.error().message();
  RateLimiter limiter;
  auto budgets = BudgetTracker::open(nullptr);
  ASSERT_TRUE(budgets);
  config::SharedLimitsConfig c;
  c.url = (*server)->url();
  c.host = "127.0.0.1";
  c.port = (*server)->port();
  c.sync_interval = std::chrono::hours(1);

  c.password = "wrong-pass";
  auto wrong = SharedLimits::start(c, limiter, **budgets);
  Status s = wrong->syncNow();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("WRONGPASS"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("wrong-pass"), std::string::npos) << s.message();

  c.password = "s3cret-pass";
  auto right = SharedLimits::start(c, limiter, **budgets);
  EXPECT_TRUE(right->connected());
  limiter.take("key:k:tokens", 1000, 250, Clock::now());
  EXPECT_TRUE(right->syncNow().isOk());
}

}  // namespace
}  // namespace switchyard::limits
