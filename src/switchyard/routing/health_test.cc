#include "switchyard/routing/health.h"

#include <gtest/gtest.h>

namespace switchyard::routing {
namespace {

using std::chrono::milliseconds;
using Clock = DeploymentHealth::Clock;

config::BreakerConfig breaker() {
  config::BreakerConfig b;
  b.failures = 3;
  b.error_rate = 0.5;
  b.window = 10;
  b.cooldown = milliseconds(1000);
  return b;
}

TEST(HealthTest, ConsecutiveFailuresOpenThenHalfOpenProbeCloses) {
  DeploymentHealth h("p/m", breaker());
  const auto t0 = Clock::now();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(h.admit(t0));
    h.recordFailure(t0);
  }
  EXPECT_EQ(h.state(t0), BreakerState::kClosed);
  ASSERT_TRUE(h.admit(t0));
  h.recordFailure(t0);
  EXPECT_EQ(h.state(t0), BreakerState::kOpen);
  EXPECT_FALSE(h.admit(t0 + milliseconds(999)));
  // Cooldown over: exactly one probe goes.
  const auto t1 = t0 + milliseconds(1000);
  EXPECT_EQ(h.state(t1), BreakerState::kHalfOpen);
  EXPECT_TRUE(h.admit(t1));
  EXPECT_FALSE(h.admit(t1));
  h.recordSuccess(milliseconds(20), t1);
  EXPECT_EQ(h.state(t1), BreakerState::kClosed);
  EXPECT_TRUE(h.admit(t1));
  const auto moves = h.transitions();
  EXPECT_EQ(moves.to_open, 1u);
  EXPECT_EQ(moves.to_half_open, 1u);
  EXPECT_EQ(moves.to_closed, 1u);
}

TEST(HealthTest, FailedProbeReopens) {
  DeploymentHealth h("p/m", breaker());
  const auto t0 = Clock::now();
  for (int i = 0; i < 3; ++i) h.recordFailure(t0);
  const auto t1 = t0 + milliseconds(1500);
  ASSERT_TRUE(h.admit(t1));
  h.recordFailure(t1);
  EXPECT_EQ(h.state(t1), BreakerState::kOpen);
  EXPECT_FALSE(h.admit(t1 + milliseconds(500)));
  EXPECT_TRUE(h.admit(t1 + milliseconds(1000)));
  const auto moves = h.transitions();
  EXPECT_EQ(moves.to_open, 2u);  // tripped, then the failed probe
  EXPECT_EQ(moves.to_half_open, 2u);
  EXPECT_EQ(moves.to_closed, 0u);
}

TEST(HealthTest, ReleasedProbeFreesTheSlot) {
  DeploymentHealth h("p/m", breaker());
  const auto t0 = Clock::now();
  for (int i = 0; i < 3; ++i) h.recordFailure(t0);
  const auto t1 = t0 + milliseconds(1000);
  ASSERT_TRUE(h.admit(t1));
  h.release();  // the client left mid-probe
  EXPECT_TRUE(h.admit(t1));
}

TEST(HealthTest, ErrorRateOverWindowOpens) {
  DeploymentHealth h("p/m", breaker());
  const auto t0 = Clock::now();
  // Alternating success/failure never makes 3 in a row, but half of the last 10 fail.
  for (int i = 0; i < 10; ++i) {
    if (i % 2 == 0) {
      h.recordSuccess(milliseconds(5), t0);
    } else {
      h.recordFailure(t0);
    }
  }
  EXPECT_EQ(h.state(t0), BreakerState::kOpen);
}

TEST(HealthTest, EwmaTracksTtft) {
  DeploymentHealth h("p/m", breaker());
  const auto t0 = Clock::now();
  h.recordSuccess(milliseconds(100), t0);
  EXPECT_DOUBLE_EQ(h.ewmaTtftMs(), 100.0);
  h.recordSuccess(milliseconds(200), t0);
  EXPECT_DOUBLE_EQ(h.ewmaTtftMs(), 120.0);
}

TEST(HealthTest, BoardKeepsEntriesAcrossLookups) {
  HealthBoard board;
  auto* a = board.get("p/m", breaker());
  a->recordFailure(Clock::now());
  EXPECT_EQ(board.get("p/m", breaker()), a);
  auto snap = board.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].failures, 1u);
  EXPECT_EQ(snap[0].transitions.to_open, 0u);
}

}  // namespace
}  // namespace switchyard::routing
