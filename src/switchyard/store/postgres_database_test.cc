// PostgresDatabase against a real PostgreSQL started by the test (skipped only when the server
// binaries are not installed), and the placeholder numbering it relies on.

#include "switchyard/store/postgres_database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "switchyard/store/testing/postgres_test_server.h"

namespace switchyard::store {
namespace {

TEST(PlaceholderTest, NumbersOnlyOutsideQuotesAndComments) {
  EXPECT_EQ(numberPlaceholders("SELECT ? , ?"), "SELECT $1 , $2");
  EXPECT_EQ(numberPlaceholders("SELECT '?', \"a?\", ? -- ?\n, ?"),
            "SELECT '?', \"a?\", $1 -- ?\n, $2");
  EXPECT_EQ(numberPlaceholders("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1");
  EXPECT_EQ(numberPlaceholders("SELECT E'\\'?', ? /* ? */"), "SELECT E'\\'?', $1 /* ? */");
  EXPECT_EQ(numberPlaceholders("SELECT $$ ? $$, $tag$ ?$ $tag$, ?"),
            "SELECT $$ ? $$, $tag$ ?$ $tag$, $1");
}

TEST(PlaceholderTest, RedactsPasswords) {
  EXPECT_EQ(redactUrl("postgres://app:s3cret@db:5432/sy"), "postgres://app:***@db:5432/sy");
  EXPECT_EQ(redactUrl("postgres://db/sy?user=a&password=s3cret&sslmode=require"),
            "postgres://db/sy?user=a&password=***&sslmode=require");
  EXPECT_EQ(redactUrl("postgresql://app@db/sy"), "postgresql://app@db/sy");
}

class PostgresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::PostgresTestServer::start();
    if (!server) {
      skip_reason_ = new std::string(server.error().message());
      return;
    }
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) {
      if (skip_reason_ && skip_reason_->find("binaries") != std::string::npos) {
        GTEST_SKIP() << *skip_reason_;
      }
      FAIL() << (skip_reason_ ? *skip_reason_ : "no server");
    }
    auto db = openDatabase(server_->url());
    ASSERT_TRUE(db) << db.error().toString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->execScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public").isOk());
  }

  static inline testing::PostgresTestServer* server_ = nullptr;
  static inline std::string* skip_reason_ = nullptr;
  DatabasePtr db_;
};

constexpr Migration kMigrations[] = {
    {1, "items",
     "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, big INTEGER)",
     "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, price DOUBLE PRECISION, "
     "big BIGINT)"},
    {2, "items.note", "ALTER TABLE items ADD COLUMN note TEXT"},
};

TEST_F(PostgresTest, RoundTripsEveryValueKindAndMigratesOnce) {
  EXPECT_EQ(db_->dialect(), Dialect::kPostgres);
  for (int run = 0; run < 2; ++run) ASSERT_TRUE(migrate(*db_, "test", kMigrations).isOk()) << run;
  auto versions = db_->query("SELECT version FROM schema_migrations WHERE component = ?",
                             std::vector<Value>{std::string("test")});
  ASSERT_TRUE(versions) << versions.error().toString();
  EXPECT_EQ(versions->size(), 2u);

  const Value row[] = {std::int64_t{7}, std::string("wid'get ?"), 2.5,
                       std::int64_t{9'000'000'000'000}, std::monostate{}};
  ASSERT_TRUE(
      db_->exec("INSERT INTO items (id, name, price, big, note) VALUES (?, ?, ?, ?, ?)", row)
          .isOk());
  EXPECT_EQ(db_->changes(), 1);
  auto rows = db_->query("SELECT id, name, price, big, note, '?' FROM items WHERE name = ?",
                         std::vector<Value>{std::string("wid'get ?")});
  ASSERT_TRUE(rows) << rows.error().toString();
  ASSERT_EQ(rows->size(), 1u);
  const Row& r = (*rows)[0];
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(r.values[0]));
  EXPECT_EQ(r.integer(0), 7);
  EXPECT_EQ(r.text(1), "wid'get ?");
  EXPECT_TRUE(std::holds_alternative<double>(r.values[2]));
  EXPECT_DOUBLE_EQ(r.real(2), 2.5);
  EXPECT_EQ(r.integer(3), 9'000'000'000'000);
  EXPECT_TRUE(r.isNull(4));
  EXPECT_EQ(r.text(5), "?");
}

TEST_F(PostgresTest, TransactionsCommitAndRollBack) {
  ASSERT_TRUE(migrate(*db_, "test", kMigrations).isOk());
  Status s = db_->transaction([&]() -> Status {
    if (Status e = db_->exec("INSERT INTO items (id, name) VALUES (?, ?)",
                             std::vector<Value>{std::int64_t{1}, std::string("a")});
        !e.isOk()) {
      return e;
    }
    return Status(ErrorCode::kInternal, "boom");
  });
  EXPECT_EQ(s.code(), ErrorCode::kInternal);
  ASSERT_TRUE(db_->transaction([&]() -> Status {
                  return db_->exec("INSERT INTO items (id, name) VALUES (?, ?)",
                                   std::vector<Value>{std::int64_t{2}, std::string("b")});
                }).isOk());
  auto rows = db_->query("SELECT id FROM items");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].integer(0), 2);
}

// Replicas starting together: migrations run one at a time and each applies once.
TEST_F(PostgresTest, ConcurrentMigrationsApplyOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto db = openDatabase(server_->url());
      if (!db || !migrate(**db, "race", kMigrations).isOk()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = db_->query("SELECT COUNT(*) FROM schema_migrations WHERE component = 'race'");
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[0].integer(0), 2);
}

TEST_F(PostgresTest, ErrorsNameTheProblemWithoutThePassword) {
  Status s = db_->exec("SELECT * FROM missing_table");
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("missing_table"), std::string::npos) << s.message();
  auto bad = openDatabase("postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(bad.error().message().find("hunter2"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace switchyard::store
