// ResponseStore on SQLite and on a real PostgreSQL started by the test (skipped only when the
// server binaries are not installed): rows, owners, conversations, pruning.

#include "switchyard/responses/response_store.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "switchyard/store/testing/postgres_test_server.h"

namespace switchyard::responses {
namespace {

namespace json = boost::json;

StoredResponse row(std::string id, std::string previous, std::string owner, std::int64_t at,
                   std::string said, std::string answered) {
  StoredResponse r;
  r.id = std::move(id);
  r.owner = std::move(owner);
  r.previous_id = std::move(previous);
  r.created_at = at;
  r.model = "m";
  r.input = json::serialize(json::array{json::object{
      {"id", "msg_in_" + r.id}, {"type", "message"}, {"role", "user"}, {"content", said}}});
  r.response =
      json::serialize(json::object{{"id", r.id},
                                   {"object", "response"},
                                   {"output", json::array{json::object{{"id", "msg_" + r.id},
                                                                       {"type", "message"},
                                                                       {"role", "assistant"},
                                                                       {"content", answered}}}}});
  return r;
}

// The `content` of each item, in order.
std::vector<std::string> contents(const json::array& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.emplace_back(item.at("content").as_string());
  return out;
}

class ResponseStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    auto server = store::testing::PostgresTestServer::start();
    if (server) {
      server_ = server->release();
    } else {
      skip_reason_ = new std::string(server.error().message());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    std::string url = "sqlite::memory:";
    if (GetParam() == "postgres") {
      if (server_ == nullptr) {
        if (skip_reason_ && skip_reason_->find("binaries") != std::string::npos) {
          GTEST_SKIP() << *skip_reason_;
        }
        FAIL() << (skip_reason_ ? *skip_reason_ : "no server");
      }
      url = server_->url();
      auto db = store::openDatabase(url);
      ASSERT_TRUE(db) << db.error().toString();
      ASSERT_TRUE((*db)->execScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public").isOk());
    }
    open(url, {});
  }

  void open(const std::string& url, ResponseStoreOptions options) {
    auto db = store::openDatabase(url);
    ASSERT_TRUE(db) << db.error().toString();
    auto s = ResponseStore::open(std::move(*db), options);
    ASSERT_TRUE(s) << s.error().toString();
    store_ = std::move(*s);
  }

  static inline store::testing::PostgresTestServer* server_ = nullptr;
  static inline std::string* skip_reason_ = nullptr;
  ResponseStorePtr store_;
};

TEST_P(ResponseStoreTest, StoresReadsAndDeletesOneResponse) {
  ASSERT_TRUE(store_->put(row("resp_1", "", "key_a", 1000, "hi", "hello")).isOk());
  auto got = store_->get("resp_1", {"key_a"});
  ASSERT_TRUE(got) << got.error().toString();
  EXPECT_EQ(got->id, "resp_1");
  EXPECT_EQ(got->owner, "key_a");
  EXPECT_EQ(got->previous_id, "");
  EXPECT_EQ(got->created_at, 1000);
  EXPECT_EQ(got->model, "m");
  EXPECT_EQ(json::parse(got->response).at("output").as_array().size(), 1u);

  // Another key does not find it, the admin does; nobody finds an id never stored.
  auto other = store_->get("resp_1", {"key_b"});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(other.error().message(), "No response found with id 'resp_1'.");
  EXPECT_FALSE(store_->get("resp_1", {""}));
  EXPECT_TRUE(store_->get("resp_1", {"", true}));
  EXPECT_EQ(store_->get("resp_2", {"key_a"}).error().code(), ErrorCode::kNotFound);

  // An id is stored once: another put of it (say, by another key) fails and changes nothing.
  EXPECT_FALSE(store_->put(row("resp_1", "", "key_b", 2000, "mine now", "no")).isOk());
  EXPECT_EQ(store_->get("resp_1", {"key_a"})->created_at, 1000);

  EXPECT_EQ(store_->remove("resp_1", {"key_b"}).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->get("resp_1", {"key_a"}));
  EXPECT_TRUE(store_->remove("resp_1", {"key_a"}).isOk());
  EXPECT_EQ(store_->get("resp_1", {"key_a"}).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->remove("resp_1", {"key_a"}).code(), ErrorCode::kNotFound);
}

TEST_P(ResponseStoreTest, HistoryIsTheChainOldestFirstInputThenOutput) {
  ASSERT_TRUE(store_->put(row("resp_1", "", "", 1000, "q1", "a1")).isOk());
  ASSERT_TRUE(store_->put(row("resp_2", "resp_1", "", 1001, "q2", "a2")).isOk());
  ASSERT_TRUE(store_->put(row("resp_3", "resp_2", "", 1002, "q3", "a3")).isOk());
  // A branch from resp_1 shares its start, not resp_2's turn.
  ASSERT_TRUE(store_->put(row("resp_4", "resp_1", "", 1003, "q2'", "a2'")).isOk());

  auto h = store_->history("resp_3", {""});
  ASSERT_TRUE(h) << h.error().toString();
  EXPECT_EQ(contents(*h), (std::vector<std::string>{"q1", "a1", "q2", "a2", "q3", "a3"}));
  EXPECT_EQ(h->at(0).at("id"), "msg_in_resp_1");
  EXPECT_EQ(h->at(5).at("id"), "msg_resp_3");
  auto branch = store_->history("resp_4", {""});
  ASSERT_TRUE(branch);
  EXPECT_EQ(contents(*branch), (std::vector<std::string>{"q1", "a1", "q2'", "a2'"}));
  auto first = store_->history("resp_1", {""});
  ASSERT_TRUE(first);
  EXPECT_EQ(contents(*first), (std::vector<std::string>{"q1", "a1"}));

  EXPECT_EQ(store_->history("resp_3", {"key_a"}).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->history("resp_9", {""}).error().code(), ErrorCode::kNotFound);

  // A deleted turn in the middle breaks the conversations that continue it, and says so.
  ASSERT_TRUE(store_->remove("resp_1", {""}).isOk());
  auto broken = store_->history("resp_3", {""});
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(broken.error().message().find("'resp_1', which is no longer stored"), std::string::npos)
      << broken.error().message();
}

TEST_P(ResponseStoreTest, ItemsAreFoundByTheirIdsForTheirOwner) {
  const std::string id = "resp_0123456789abcdef01234567";
  StoredResponse r = row(id, "", "key_a", 1000, "q", "a");
  // The gateway's item ids: the response's suffix after the type.
  r.response = json::serialize(
      json::object{{"id", id},
                   {"output", json::array{json::object{{"id", "msg_0123456789abcdef01234567"},
                                                       {"type", "message"},
                                                       {"role", "assistant"},
                                                       {"content", "a"}}}}});
  ASSERT_TRUE(store_->put(r).isOk());
  auto out = store_->item("msg_0123456789abcdef01234567", {"key_a"});  // the output message
  ASSERT_TRUE(out) << out.error().toString();
  EXPECT_EQ(out->at("content"), "a");
  auto in = store_->item("msg_in_" + id, {"key_a"});  // not of the gateway's id shape
  EXPECT_EQ(in.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->item("msg_0123456789abcdef01234567", {"key_b"}).error().message(),
            "No item found with id 'msg_0123456789abcdef01234567'.");
  EXPECT_TRUE(store_->item("msg_0123456789abcdef01234567", {"", true}));
  for (const char* bad : {"", "msg", "msg_", "msg_0123", "msg_0123456789abcdef0123456z",
                          "fc_0123456789abcdef01234567_9", "msg_ffffffffffffffffffffffff"}) {
    EXPECT_EQ(store_->item(bad, {"key_a"}).error().code(), ErrorCode::kNotFound) << bad;
  }
}

TEST_P(ResponseStoreTest, AConversationBeyondTheByteLimitIsRefused) {
  open(GetParam() == "postgres" ? server_->url() : "sqlite::memory:", {.max_history_bytes = 600});
  ASSERT_TRUE(store_->put(row("resp_1", "", "", 1000, std::string(200, 'x'), "a")).isOk());
  EXPECT_TRUE(store_->history("resp_1", {""}));
  ASSERT_TRUE(store_->put(row("resp_2", "resp_1", "", 1001, std::string(200, 'y'), "b")).isOk());
  auto h = store_->history("resp_2", {""});
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(h.error().message().find("more than the gateway's limit of 600"), std::string::npos)
      << h.error().message();
}

TEST_P(ResponseStoreTest, PruneDeletesRowsOlderThanMaxAge) {
  open(GetParam() == "postgres" ? server_->url() : "sqlite::memory:",
       {.max_age = std::chrono::hours(1), .prune_interval = std::chrono::hours(1)});
  ASSERT_TRUE(store_->put(row("resp_old", "", "", 10'000, "q", "a")).isOk());
  ASSERT_TRUE(store_->put(row("resp_new", "", "", 13'000, "q", "a")).isOk());
  auto pruned = store_->prune(10'000 + 3600 + 1);
  ASSERT_TRUE(pruned) << pruned.error().toString();
  EXPECT_EQ(*pruned, 1);
  EXPECT_FALSE(store_->get("resp_old", {""}));
  EXPECT_TRUE(store_->get("resp_new", {""}));
}

TEST_P(ResponseStoreTest, PutPrunesOnItsOwnAndAZeroMaxAgeKeepsEverything) {
  open(GetParam() == "postgres" ? server_->url() : "sqlite::memory:",
       {.max_age = std::chrono::hours(1), .prune_interval = std::chrono::milliseconds(0)});
  ASSERT_TRUE(store_->put(row("resp_old", "", "", 10'000, "q", "a")).isOk());
  // The next put's clock is two hours on: the old row goes.
  ASSERT_TRUE(store_->put(row("resp_new", "", "", 10'000 + 7200, "q", "a")).isOk());
  EXPECT_FALSE(store_->get("resp_old", {""}));

  open(GetParam() == "postgres" ? server_->url() : "sqlite::memory:",
       {.max_age = std::chrono::milliseconds(0)});
  ASSERT_TRUE(store_->put(row("resp_a", "", "", 1, "q", "a")).isOk());
  EXPECT_EQ(*store_->prune(1'000'000'000), 0);
  EXPECT_TRUE(store_->get("resp_a", {""}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ResponseStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchyard::responses
