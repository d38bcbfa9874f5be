#include "switchyard/core/thread.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <array>
#include <string>
#include <thread>

namespace switchyard {
namespace {

std::string currentThreadName() {
  std::array<char, 16> buf{};
  EXPECT_EQ(::pthread_getname_np(::pthread_self(), buf.data(), buf.size()), 0);
  return buf.data();
}

TEST(ThreadTest, NamesTheCallingThread) {
  std::string seen;
  std::thread t([&] {
    setCurrentThreadName("sy-io-3");
    seen = currentThreadName();
  });
  t.join();
  EXPECT_EQ(seen, "sy-io-3");
}

TEST(ThreadTest, LongNamesKeepTheirFirstFifteenBytes) {
  // The kernel keeps 15 bytes; a longer name must not be refused (the thread would stay
  // unnamed) but cut.
  std::string seen;
  std::thread t([&] {
    setCurrentThreadName("sy-log-writer-and-then-some");
    seen = currentThreadName();
  });
  t.join();
  EXPECT_EQ(seen, "sy-log-writer-a");
}

TEST(ThreadTest, BackgroundSchedulingCanBeTurnedOnForTheCallingThread) {
  int policy_in = -1;
  bool ok = false;
  std::thread t([&] {
    ok = setCurrentThreadBackground();
    sched_param param{};
    ASSERT_EQ(::pthread_getschedparam(::pthread_self(), &policy_in, &param), 0);
  });
  t.join();
  // Lowering one's own priority needs no privilege, but a seccomp profile may forbid
  // sched_setscheduler; then the call must say so and change nothing.
  if (!ok) GTEST_SKIP() << "SCHED_IDLE refused here (seccomp?)";
  EXPECT_EQ(policy_in, SCHED_IDLE);
}

}  // namespace
}  // namespace switchyard
