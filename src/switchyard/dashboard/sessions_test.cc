#include "switchyard/dashboard/sessions.h"

#include <gtest/gtest.h>

namespace switchyard::dashboard {
namespace {

using namespace std::chrono_literals;

TEST(SessionStoreTest, TokensAreRandomAndExpire) {
  SessionStore store(10min);
  const auto t0 = SessionStore::Clock::now();
  const std::string a = store.create(t0);
  const std::string b = store.create(t0);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(store.valid(a, t0 + 9min));
  EXPECT_FALSE(store.valid(a, t0 + 10min));  // expired, and forgotten
  EXPECT_FALSE(store.valid(a, t0));
  EXPECT_TRUE(store.valid(b, t0));
  EXPECT_FALSE(store.valid("", t0));
  EXPECT_FALSE(store.valid(std::string(64, '0'), t0));
  std::string tampered = b;
  tampered[0] = tampered[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(store.valid(tampered, t0));
}

TEST(SessionStoreTest, RemoveAndTtlAndCap) {
  SessionStore store(1h, 2);
  const auto t0 = SessionStore::Clock::now();
  const std::string a = store.create(t0);
  const std::string b = store.create(t0 + 1s);
  store.remove(b);
  EXPECT_FALSE(store.valid(b, t0 + 2s));
  const std::string c = store.create(t0 + 2s);
  const std::string d = store.create(t0 + 3s);  // the cap: the oldest (a) goes
  EXPECT_FALSE(store.valid(a, t0 + 4s));
  EXPECT_TRUE(store.valid(c, t0 + 4s));
  EXPECT_TRUE(store.valid(d, t0 + 4s));
  EXPECT_EQ(store.size(), 2u);
  store.setTtl(5min);
  EXPECT_EQ(store.ttl(), 5min);
  const std::string e = store.create(t0 + 10s);
  EXPECT_FALSE(store.valid(e, t0 + 10s + 5min));
}

TEST(CookieTest, FindsTheNamedCookie) {
  EXPECT_EQ(cookieValue("sy_session=abc", "sy_session"), "abc");
  EXPECT_EQ(cookieValue("a=1; sy_session=abc; b=2", "sy_session"), "abc");
  EXPECT_EQ(cookieValue("a=1;sy_session=x", "sy_session"), "x");
  EXPECT_EQ(cookieValue("xsy_session=abc", "sy_session"), "");
  EXPECT_EQ(cookieValue("", "sy_session"), "");
  EXPECT_EQ(cookieValue("sy_session", "sy_session"), "");
}

}  // namespace
}  // namespace switchyard::dashboard
