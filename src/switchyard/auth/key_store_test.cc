#include "switchyard/auth/key_store.h"

#include <gtest/gtest.h>

namespace switchyard::auth {
namespace {

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::openDatabase("sqlite::memory:");
    ASSERT_TRUE(db) << db.error().toString();
    db_ = std::move(*db);
    auto s = KeyStore::open(*db_);
    ASSERT_TRUE(s) << s.error().toString();
    store_ = std::move(*s);
  }
  store::DatabasePtr db_;
  KeyStorePtr store_;
};

TEST(KeyHashTest, Sha256Hex) {
  EXPECT_EQ(hashKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string a = newSecret(), b = newSecret();
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("sy-"));
  EXPECT_EQ(a.size(), 3u + 48u);
}

TEST_F(KeyStoreTest, CreateStoresOnlyTheHash) {
  KeySpec spec;
  spec.name = "ci";
  spec.team = "ml";
  spec.models = {"gpt-4o*"};
  spec.metadata = R"({"owner":"ana"})";
  spec.rpm = 60;
  auto issued = store_->create(spec);
  ASSERT_TRUE(issued) << issued.error().toString();
  EXPECT_EQ(issued->record.hash, hashKey(issued->secret));
  EXPECT_TRUE(issued->secret.starts_with(issued->record.prefix));
  // The secret itself is nowhere in the table.
  auto rows = db_->query("SELECT * FROM auth_keys");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  for (std::size_t i = 0; i < (*rows)[0].values.size(); ++i) {
    EXPECT_EQ((*rows)[0].text(i).find(issued->secret), std::string::npos);
  }
  auto got = store_->get(issued->record.id);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->spec.models, std::vector<std::string>{"gpt-4o*"});
  EXPECT_EQ((*got)->spec.team, "ml");
  EXPECT_EQ((*got)->spec.rpm, 60);
  EXPECT_EQ((*got)->spec.metadata, R"({"owner":"ana"})");
}

TEST_F(KeyStoreTest, CollectionScopesRoundTrip) {
  KeySpec spec;
  spec.name = "hr-bot";
  spec.collections = {"hr-*", "handbook"};
  auto issued = store_->create(spec);
  ASSERT_TRUE(issued) << issued.error().toString();
  auto got = store_->get(issued->record.id);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->spec.collections, (std::vector<std::string>{"hr-*", "handbook"}));
  spec.name = "default";
  spec.collections.clear();
  auto plain = store_->create(spec);
  ASSERT_TRUE(plain);
  EXPECT_TRUE((*store_->get(plain->record.id))->spec.collections.empty());
  spec.collections = {""};
  auto bad = store_->create(spec);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param(), "scopes");
}

// A store made before the collections scope existed (migration 1 only) gains the column, and
// its keys read back with the default scope.
TEST(KeyStoreMigrationTest, OlderStoreGainsCollections) {
  auto db = store::openDatabase("sqlite::memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->exec("CREATE TABLE auth_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
                          "team TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, "
                          "models TEXT NOT NULL, routes TEXT NOT NULL, providers TEXT NOT NULL, "
                          "metadata TEXT NOT NULL, rpm INTEGER NOT NULL, tpm INTEGER NOT NULL, "
                          "budget_usd REAL NOT NULL, budget_period TEXT NOT NULL, "
                          "created_ms INTEGER NOT NULL, rotated_ms INTEGER NOT NULL, "
                          "revoked_ms INTEGER NOT NULL)")
                  .isOk());
  ASSERT_TRUE((*db)->exec("INSERT INTO auth_keys VALUES ('key_old', 'old', '', 'h', 'sy-1', '[]', "
                          "'[]', '[]', '{}', 0, 0, 0, 'month', 1, 0, 0)")
                  .isOk());
  auto store = KeyStore::open(**db);
  ASSERT_TRUE(store) << store.error().toString();
  auto old = (*store)->get("key_old");
  ASSERT_TRUE(old && *old) << (old ? "missing" : old.error().toString());
  EXPECT_TRUE((*old)->spec.collections.empty());
}

TEST_F(KeyStoreTest, RevokeAndRotate) {
  KeySpec spec;
  spec.name = "app";
  auto issued = store_->create(spec);
  ASSERT_TRUE(issued);
  const std::string id = issued->record.id;
  auto rotated = store_->rotate(id);
  ASSERT_TRUE(rotated) << rotated.error().toString();
  EXPECT_NE(rotated->secret, issued->secret);
  EXPECT_EQ(rotated->record.id, id);
  EXPECT_GT(rotated->record.rotated_ms, 0);
  auto revoked = store_->revoke(id);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked());
  EXPECT_FALSE(store_->rotate(id));  // a revoked key is not brought back
  EXPECT_EQ(store_->revoke("key_nope").error().code(), ErrorCode::kNotFound);
  auto all = store_->list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(KeyStoreTest, InvalidSpecsNameTheField) {
  KeySpec spec;
  EXPECT_EQ(store_->create(spec).error().param(), "name");
  spec.name = "x";
  spec.budget_period = "week";
  EXPECT_EQ(store_->create(spec).error().param(), "budget_period");
  spec.budget_period = "day";
  spec.metadata = "[1]";
  EXPECT_EQ(store_->create(spec).error().param(), "metadata");
  spec.metadata = "{}";
  spec.rpm = -1;
  EXPECT_EQ(store_->create(spec).error().param(), "rpm");
}

}  // namespace
}  // namespace switchyard::auth
