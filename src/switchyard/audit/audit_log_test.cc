#include "switchyard/audit/audit_log.h"

#include <gtest/gtest.h>

namespace switchyard::audit {
namespace {

TEST(AuditLogTest, AppendsAreWrittenInOrderAndReadNewestFirst) {
  auto db = store::openDatabase("sqlite::memory:");
  ASSERT_TRUE(db) << db.error().toString();
  auto log = AuditLog::open(**db);
  ASSERT_TRUE(log) << log.error().toString();
  (*log)->append({0, 0, "admin", "key.create", "k1", "name=ci", ""});
  (*log)->append({0, 0, "guard", "guard.redact", "EMAIL", "count=2", "req-1"});
  (*log)->flush();
  auto recent = (*log)->recent(10);
  ASSERT_TRUE(recent) << recent.error().toString();
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].action, "guard.redact");
  EXPECT_EQ((*recent)[0].request_id, "req-1");
  EXPECT_EQ((*recent)[1].actor, "admin");
  EXPECT_GT((*recent)[1].at_ms, 0);
  EXPECT_EQ((*log)->recent(1)->size(), 1u);
}

TEST(AuditLogTest, ReopeningKeepsEntries) {
  const std::string path = ::testing::TempDir() + "/audit_test.db";
  std::remove(path.c_str());
  {
    auto db = store::openDatabase("sqlite://" + path);
    ASSERT_TRUE(db);
    auto log = AuditLog::open(**db);
    ASSERT_TRUE(log);
    (*log)->append({0, 0, "cli", "key.revoke", "k2", "", ""});
  }  // the destructor writes what is queued
  auto db = store::openDatabase("sqlite://" + path);
  ASSERT_TRUE(db);
  auto log = AuditLog::open(**db);
  ASSERT_TRUE(log);
  auto recent = (*log)->recent(10);
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].action, "key.revoke");
}

}  // namespace
}  // namespace switchyard::audit
