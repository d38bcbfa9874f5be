#include "switchyard/limits/rate_limiter.h"

#include <gtest/gtest.h>

#include "switchyard/limits/budget.h"

namespace switchyard::limits {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RateLimiterTest, BurstsAMinuteThenRefillsAtTheSteadyRate) {
  RateLimiter limiter;
  const auto t0 = RateLimiter::Clock::time_point{} + seconds(1000);
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(limiter.check("k", 60, 1, t0).allowed) << i;
    limiter.take("k", 60, 1, t0);
  }
  auto refused = limiter.check("k", 60, 1, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_NEAR(refused.retry_after_seconds, 1.0, 1e-9);
  EXPECT_NEAR(refused.reset_seconds, 60.0, 1e-9);
  EXPECT_FALSE(limiter.check("k", 60, 1, t0 + milliseconds(900)).allowed);
  EXPECT_TRUE(limiter.check("k", 60, 1, t0 + milliseconds(1000)).allowed);
  EXPECT_TRUE(limiter.check("other", 60, 1, t0).allowed);  // buckets are per name
}

TEST(RateLimiterTest, DebtFromSettlementDelaysLaterRequests) {
  RateLimiter limiter;
  const auto t0 = RateLimiter::Clock::time_point{} + seconds(1000);
  limiter.take("t", 600, 100, t0);   // estimated 100 tokens
  limiter.adjust("t", 600, 900, t0);  // used 1000: 400 in debt
  auto s = limiter.check("t", 600, 10, t0);
  EXPECT_FALSE(s.allowed);
  EXPECT_NEAR(s.retry_after_seconds, 41.0, 1e-9);  // (10 + 400) / 10 per second
  limiter.adjust("t", 600, -5000, t0);                // refunds cap at a full bucket
  EXPECT_NEAR(limiter.check("t", 600, 1, t0).remaining, 600, 1e-9);
}

TEST(RateLimiterTest, CostsLargerThanTheBucketPassWhenItIsFull) {
  RateLimiter limiter;
  const auto t0 = RateLimiter::Clock::time_point{} + seconds(1000);
  EXPECT_TRUE(limiter.check("t", 100, 5000, t0).allowed);
  limiter.take("t", 100, 5000, t0);
  EXPECT_FALSE(limiter.check("t", 100, 1, t0 + seconds(60)).allowed);
}

TEST(RateLimiterTest, ResetFormat) {
  EXPECT_EQ(formatReset(0), "0s");
  EXPECT_EQ(formatReset(0.25), "250ms");
  EXPECT_EQ(formatReset(1.2), "2s");
  EXPECT_EQ(formatReset(360), "6m0s");
}

TEST(BudgetTrackerTest, ReservesSettlesAndSurvivesARestart) {
  const std::string path = ::testing::TempDir() + "/budget_test.db";
  std::remove(path.c_str());
  const auto now = BudgetTracker::SystemClock::now();
  {
    auto db = store::openDatabase("sqlite://" + path);
    ASSERT_TRUE(db);
    auto t = BudgetTracker::open(db->get(), milliseconds(10'000));
    ASSERT_TRUE(t) << t.error().toString();
    auto c = (*t)->reserve("key:a", 1.0, "month", 0.4, now);
    EXPECT_TRUE(c.ok);
    EXPECT_FALSE((*t)->reserve("key:a", 1.0, "month", 0.7, now).ok);  // 0.4 + 0.7 > 1
    (*t)->settle("key:a", "month", 0.4, 0.9, now);
    EXPECT_NEAR((*t)->spent("key:a", "month", now), 0.9, 1e-12);
    EXPECT_TRUE((*t)->reserve("key:a", 1.0, "month", 0, now).ok);  // unknown cost: 0.1 left
    (*t)->settle("key:a", "month", 0, 0.2, now);
    EXPECT_FALSE((*t)->reserve("key:a", 1.0, "month", 0, now).ok);  // nothing left
    EXPECT_TRUE((*t)->reserve("key:a", 1.0, "day", 0, now + std::chrono::hours(24 * 40)).ok);
  }  // the destructor writes the spend
  auto db = store::openDatabase("sqlite://" + path);
  ASSERT_TRUE(db);
  auto t = BudgetTracker::open(db->get());
  ASSERT_TRUE(t);
  EXPECT_NEAR((*t)->spent("key:a", "month", now), 1.1, 1e-12);
  EXPECT_FALSE((*t)->reserve("key:a", 1.0, "month", 0, now).ok);
  // Increments add up (several writers share a store).
  (*t)->settle("key:a", "month", 0, 0.5, now);
  ASSERT_TRUE((*t)->flush().isOk());
  auto rows = (*db)->query("SELECT spent_usd FROM limits_spend WHERE scope = 'key:a'");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_NEAR((*rows)[0].real(0), 1.6, 1e-12);
}

TEST(BudgetTrackerTest, PeriodKeysAreUtcDaysAndMonths) {
  const auto t = BudgetTracker::SystemClock::from_time_t(1'764'115'200);  // 2025-11-26 00:00 UTC
  EXPECT_EQ(BudgetTracker::periodKey("day", t), "day:2025-11-26");
  EXPECT_EQ(BudgetTracker::periodKey("month", t), "month:2025-11");
}

}  // namespace
}  // namespace switchyard::limits
