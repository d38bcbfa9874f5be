#include "switchyard/store/database.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace switchyard::store {
namespace {

constexpr Migration kMigrations[] = {
    {1, "items", "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)"},
    {2, "items.note", "ALTER TABLE items ADD COLUMN note TEXT"},
};

TEST(DatabaseTest, RoundTripsEveryValueKind) {
  auto db = openDatabase("sqlite::memory:");
  ASSERT_TRUE(db) << db.error().toString();
  ASSERT_TRUE(migrate(**db, "test", kMigrations).isOk());
  const Value row[] = {std::int64_t{7}, std::string("widget"), 2.5, std::monostate{}};
  ASSERT_TRUE((*db)->exec("INSERT INTO items (id, name, price, note) VALUES (?, ?, ?, ?)", row)
                  .isOk());
  auto rows = (*db)->query("SELECT id, name, price, note FROM items");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].integer(0), 7);
  EXPECT_EQ((*rows)[0].text(1), "widget");
  EXPECT_DOUBLE_EQ((*rows)[0].real(2), 2.5);
  EXPECT_TRUE((*rows)[0].isNull(3));
}

// A cached statement run again binds NULL where the last run bound a value: NULLs are not
// bound one by one (every parameter is cleared after each run), so this must hold anyway.
TEST(DatabaseTest, AReusedStatementBindsNullWhereItBoundAValueBefore) {
  auto db = openDatabase("sqlite::memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(**db, "test", kMigrations).isOk());
  constexpr std::string_view kInsert =
      "INSERT INTO items (id, name, price, note) VALUES (?, ?, ?, ?)";
  const Value first[] = {std::int64_t{1}, std::string("a"), 1.5, std::string("noted")};
  const Value second[] = {std::int64_t{2}, std::string("b"), std::monostate{}, std::monostate{}};
  ASSERT_TRUE((*db)->exec(kInsert, first).isOk());
  ASSERT_TRUE((*db)->exec(kInsert, second).isOk());
  auto rows = (*db)->query("SELECT price, note FROM items WHERE id = 2");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_TRUE((*rows)[0].isNull(0));
  EXPECT_TRUE((*rows)[0].isNull(1));
}

TEST(DatabaseTest, MigrationsApplyOnceAndRecordVersions) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sy_store_test_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  for (int run = 0; run < 2; ++run) {
    auto db = openDatabase("sqlite://" + path.string());
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(**db, "test", kMigrations).isOk()) << "run " << run;
    auto versions = (*db)->query(
        "SELECT version FROM schema_migrations WHERE component = 'test' ORDER BY version");
    ASSERT_TRUE(versions);
    ASSERT_EQ(versions->size(), 2u);
    EXPECT_EQ((*versions)[1].integer(0), 2);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

TEST(DatabaseTest, FailedTransactionRollsBack) {
  auto db = openDatabase("sqlite::memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(**db, "test", kMigrations).isOk());
  Status s = (*db)->transaction([&]() -> Status {
    const Value row[] = {std::int64_t{1}, std::string("a")};
    if (Status e = (*db)->exec("INSERT INTO items (id, name) VALUES (?, ?)", row); !e.isOk()) {
      return e;
    }
    return Status(ErrorCode::kInternal, "boom");
  });
  EXPECT_EQ(s.code(), ErrorCode::kInternal);
  auto rows = (*db)->query("SELECT count(*) FROM items");
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[0].integer(0), 0);
}

TEST(DatabaseTest, ErrorsNameTheProblem) {
  auto db = openDatabase("sqlite::memory:");
  ASSERT_TRUE(db);
  Status s = (*db)->exec("SELECT * FROM missing_table");
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("missing_table"), std::string::npos) << s.message();
  const Value one[] = {std::int64_t{1}};
  EXPECT_FALSE((*db)->exec("SELECT 1", one).isOk());  // parameter count mismatch
  EXPECT_FALSE(openDatabase("mysql://x").has_value());
  EXPECT_FALSE(openDatabase("sqlite:///nonexistent-dir/x/y.db").has_value());
}

}  // namespace
}  // namespace switchyard::store
