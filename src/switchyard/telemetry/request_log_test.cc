// The request log against both stores: SQLite (a temp file) and a real PostgreSQL started by
// the test (skipped only when the PostgreSQL binaries are not installed).

#include "switchyard/telemetry/request_log.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "switchyard/core/thread.h"
#include "switchyard/store/testing/postgres_test_server.h"

namespace switchyard::telemetry {
namespace {

using namespace std::chrono_literals;
using store::Value;

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RequestRecord row(std::string id, std::int64_t ts_ms = nowMs()) {
  RequestRecord r;
  r.ts_ms = ts_ms;
  r.request_id = std::move(id);
  r.endpoint = "chat";
  r.format = "openai";
  r.requested_model = "fast";
  r.route = "fast";
  r.provider = "oai";
  r.model = "gpt-4o";
  r.status = 200;
  r.total_ms = 12.5;
  r.ttft_ms = 7.25;
  r.overhead_ms = 0.125;
  r.usage.prompt_tokens = 1000;
  r.usage.completion_tokens = 50;
  r.usage.cached_tokens = 400;
  r.usage.reasoning_tokens = 10;
  r.cost_usd = 0.00225;
  r.key_id = "key-1";
  r.team = "search";
  r.attempts = 1;
  return r;
}

// Whether this kernel lets an unprivileged thread enter SCHED_IDLE (seccomp profiles may not);
// where it does not, the log runs one normal-priority writer and the tests of the background
// writer have nothing to test.
bool schedIdleAllowed() {
  bool ok = false;
  std::thread([&ok] { ok = setCurrentThreadBackground(); }).join();
  return ok;
}

class RequestLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  static store::testing::PostgresTestServer* pg() {
    static auto* server = [] {
      auto s = store::testing::PostgresTestServer::start();
      if (!s) {
        pg_error_ = s.error().message();
        return static_cast<store::testing::PostgresTestServer*>(nullptr);
      }
      return s->release();  // lives until exit; its destructor would stop it
    }();
    return server;
  }

  void SetUp() override {
    if (GetParam() == "postgres") {
      if (pg() == nullptr) {
        if (pg_error_.find("binaries") != std::string::npos) GTEST_SKIP() << pg_error_;
        FAIL() << pg_error_;
      }
      url_ = pg()->url();
      auto db = store::openDatabase(url_);
      ASSERT_TRUE(db) << db.error().toString();
      ASSERT_TRUE((*db)->execScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public").isOk());
    } else {
      std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      std::replace(name.begin(), name.end(), '/', '_');
      path_ = std::filesystem::temp_directory_path() /
              ("sy_request_log_" + std::to_string(::getpid()) + "_" + name + ".db");
      removeSqlite();
      url_ = "sqlite://" + path_.string();
    }
  }
  void TearDown() override { removeSqlite(); }

  void removeSqlite() {
    if (path_.empty()) return;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }

  std::unique_ptr<RequestLog> open(RequestLogOptions options) {
    auto db = store::openDatabase(url_);
    EXPECT_TRUE(db) << db.error().toString();
    auto log = RequestLog::open(std::move(*db), std::move(options), registry_);
    EXPECT_TRUE(log) << log.error().toString();
    return log ? std::move(*log) : nullptr;
  }

  // A second connection, as a report would use.
  std::vector<store::Row> query(std::string_view sql, std::vector<Value> params = {}) {
    auto db = store::openDatabase(url_);
    EXPECT_TRUE(db);
    auto rows = (*db)->query(sql, params);
    EXPECT_TRUE(rows) << rows.error().toString();
    return rows ? std::move(*rows) : std::vector<store::Row>{};
  }
  std::int64_t count(std::string_view table) {
    return query("SELECT COUNT(*) FROM " + std::string(table))[0].integer(0);
  }

  static inline std::string pg_error_;
  Registry registry_;
  std::string url_;
  std::filesystem::path path_;
};

TEST_P(RequestLogTest, WritesEveryColumnInBatches) {
  RequestLogOptions options;
  options.batch_size = 10;
  auto log = open(options);
  ASSERT_NE(log, nullptr);
  RequestRecord first = row("req-0");
  first.error_type = "rate_limit_exceeded";
  first.status = 429;
  first.guard_summary = "EMAIL:2";
  first.local_only = true;
  first.decision = "route fast";
  first.request_payload = "not for this route";  // the observer decides; the log stores it
  ASSERT_TRUE(log->enqueue(first));
  for (int i = 1; i < 25; ++i) ASSERT_TRUE(log->enqueue(row("req-" + std::to_string(i))));
  log->flush();
  EXPECT_EQ(log->written(), 25u);
  EXPECT_EQ(count("request_log"), 25);
  auto rows = query(
      "SELECT request_id, status, error_type, total_ms, ttft_ms, overhead_ms, queue_ms, "
      "prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, key_id, "
      "team, guard_summary, local_only, decision, attempts, endpoint, format, model_version "
      "FROM request_log WHERE request_id = ?",
      {std::string("req-0")});
  ASSERT_EQ(rows.size(), 1u);
  const store::Row& r = rows[0];
  EXPECT_EQ(r.text(0), "req-0");
  EXPECT_EQ(r.integer(1), 429);
  EXPECT_EQ(r.text(2), "rate_limit_exceeded");
  EXPECT_DOUBLE_EQ(r.real(3), 12.5);
  EXPECT_DOUBLE_EQ(r.real(4), 7.25);
  EXPECT_DOUBLE_EQ(r.real(5), 0.125);
  EXPECT_TRUE(r.isNull(6));
  EXPECT_EQ(r.integer(7), 1000);
  EXPECT_EQ(r.integer(8), 50);
  EXPECT_EQ(r.integer(9), 400);
  EXPECT_EQ(r.integer(10), 10);
  EXPECT_DOUBLE_EQ(r.real(11), 0.00225);
  EXPECT_EQ(r.text(12), "key-1");
  EXPECT_EQ(r.text(13), "search");
  EXPECT_EQ(r.text(14), "EMAIL:2");
  EXPECT_EQ(r.integer(15), 1);
  EXPECT_EQ(r.text(16), "route fast");
  EXPECT_EQ(r.integer(17), 1);
  EXPECT_EQ(r.text(18), "chat");
  EXPECT_EQ(r.text(19), "openai");
  EXPECT_TRUE(r.isNull(20));
  EXPECT_NE(registry_.render().find("switchyard_request_log_rows_written_total 25\n"),
            std::string::npos);
}

TEST_P(RequestLogTest, FullQueueDropsAndCountsAndShutdownWritesEveryQueuedRow) {
  RequestLogOptions options;
  options.batch_size = 1000;        // never a full batch
  options.flush_interval = 1h;      // and no timer: rows stay queued until shutdown
  options.queue_capacity = 5;
  options.catch_up_depth = 1000;    // and no catch-up (the queue never gets that deep)
  {
    auto log = open(options);
    ASSERT_NE(log, nullptr);
    int accepted = 0;
    for (int i = 0; i < 8; ++i) accepted += log->enqueue(row("q-" + std::to_string(i))) ? 1 : 0;
    EXPECT_EQ(accepted, 5);
    EXPECT_EQ(log->dropped(), 3u);
    EXPECT_NE(registry_.render().find("switchyard_request_log_rows_dropped_total 3\n"),
              std::string::npos);
    EXPECT_EQ(count("request_log"), 0);  // still queued
  }
  EXPECT_EQ(count("request_log"), 5);  // the destructor flushed them
}

// The writer's scheduling: under SCHED_IDLE by default (a normal-priority catch-up writer
// beside it), both threads named for top -H.
TEST_P(RequestLogTest, TheWriterRunsInTheBackgroundWithACatchUpWriter) {
  if (!schedIdleAllowed()) GTEST_SKIP() << "SCHED_IDLE refused here (seccomp?)";
  auto log = open(RequestLogOptions{});
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->backgroundWriter());
  // The catch-up thread names itself once it runs: look for a moment.
  int idle = -1, normal = -1;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((idle < 0 || normal < 0) && std::chrono::steady_clock::now() < deadline) {
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      const int policy = ::sched_getscheduler(std::stoi(task.path().filename().string()));
      if (name == "sy-log-writer" && policy >= 0) idle = policy;
      if (name == "sy-log-catchup" && policy >= 0) normal = policy;
    }
    if (idle < 0 || normal < 0) std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(idle, SCHED_IDLE);
  EXPECT_EQ(normal, SCHED_OTHER);
  ASSERT_TRUE(log->enqueue(row("bg-1")));
  log->flush();
  EXPECT_EQ(count("request_log"), 1);
}

// Every core busy with normal-priority work: the SCHED_IDLE writer gets (almost) no CPU, so a
// backlog (and, for the last partial batch, rows that wait 2 x flush_interval without progress)
// must bring in the catch-up writer, which writes every row without flush().
TEST_P(RequestLogTest, ABacklogIsWrittenAtNormalPriorityWhenTheCoresAreBusy) {
  RequestLogOptions options;
  options.batch_size = 64;
  options.queue_capacity = 4000;
  options.catch_up_depth = 500;
  options.flush_interval = 100ms;
  if (!schedIdleAllowed()) GTEST_SKIP() << "SCHED_IDLE refused here (seccomp?)";
  auto log = open(options);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->backgroundWriter());
  std::atomic<bool> stop{false};
  std::vector<std::thread> hogs;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < cores; ++i) {
    hogs.emplace_back([&stop] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  constexpr int kRows = 3000;
  int accepted = 0;
  for (int i = 0; i < kRows; ++i) accepted += log->enqueue(row("hog-" + std::to_string(i))) ? 1 : 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (log->written() < static_cast<std::uint64_t>(accepted) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  stop.store(true);
  for (std::thread& t : hogs) t.join();
  EXPECT_EQ(accepted, kRows);
  EXPECT_EQ(log->written(), static_cast<std::uint64_t>(kRows));
  EXPECT_GE(log->catchUps(), 1u);
  EXPECT_NE(registry_.render().find("switchyard_request_log_catch_ups_total "), std::string::npos);
  EXPECT_EQ(count("request_log"), kRows);
}

// writer_background off (or a kernel that refuses SCHED_IDLE): one normal-priority writer that
// writes batches, timed partial batches and everything at shutdown.
TEST_P(RequestLogTest, WithoutABackgroundWriterOneWriterDoesItAll) {
  RequestLogOptions options;
  options.writer_background = false;
  options.batch_size = 10;
  options.flush_interval = 50ms;
  {
    auto log = open(options);
    ASSERT_NE(log, nullptr);
    EXPECT_FALSE(log->backgroundWriter());
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(log->enqueue(row("one-" + std::to_string(i))));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (log->written() < 25 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(log->written(), 25u);  // two full batches and the timer's partial one
    EXPECT_EQ(log->catchUps(), 0u);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->enqueue(row("late-" + std::to_string(i))));
  }
  EXPECT_EQ(count("request_log"), 30);
}

TEST_P(RequestLogTest, RowsKeepTheirOrderAcrossBatchBoundaries) {
  RequestLogOptions options;
  options.batch_size = 7;  // 100 rows: batches of 7 and a partial one, INSERTs of up to 32
  auto log = open(options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 100; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "ord-%03d", i);
    ASSERT_TRUE(log->enqueue(row(id)));
  }
  log->flush();
  auto rows = query("SELECT request_id FROM request_log ORDER BY id");
  ASSERT_EQ(rows.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "ord-%03d", i);
    EXPECT_EQ(rows[static_cast<std::size_t>(i)].text(0), id);
  }
}

TEST_P(RequestLogTest, AFullBatchIsWrittenWithoutWaitingForTheTimer) {
  RequestLogOptions options;
  options.batch_size = 10;
  options.flush_interval = 1h;  // only a full batch wakes the writer
  auto log = open(options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(log->enqueue(row("b-" + std::to_string(i))));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(count("request_log"), 0);  // a partial batch waits
  ASSERT_TRUE(log->enqueue(row("b-9")));
  for (int i = 0; i < 200 && log->written() < 10; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(log->written(), 10u);
  EXPECT_EQ(count("request_log"), 10);
}

TEST_P(RequestLogTest, ShutdownUnderLoadLosesNoAcceptedRow) {
  RequestLogOptions options;
  options.batch_size = 64;
  options.queue_capacity = 2'000;  // small enough that some rows are dropped under this load
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::uint64_t dropped = 0;
  {
    auto log = open(options);
    ASSERT_NE(log, nullptr);
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t) {
      producers.emplace_back([&, t] {
        for (int i = 0; i < 3'000; ++i) {
          RecordPtr r = RequestLog::takeSpare();
          *r = row("load-" + std::to_string(t) + "-" + std::to_string(i));
          (log->enqueue(std::move(r)) ? accepted : refused).fetch_add(1);
        }
      });
    }
    for (auto& p : producers) p.join();
    dropped = log->dropped();
  }  // the destructor writes every accepted row
  EXPECT_EQ(accepted + refused, 12'000);
  EXPECT_EQ(dropped, static_cast<std::uint64_t>(refused.load()));
  EXPECT_EQ(count("request_log"), accepted.load());
  EXPECT_EQ(query("SELECT COUNT(DISTINCT request_id) FROM request_log")[0].integer(0),
            accepted.load());
}

TEST_P(RequestLogTest, WrittenRowsComeBackAsSparesThatFillRecordOverwrites) {
  (void)RequestLog::takeSpare();  // an earlier test's spare on this thread
  auto log = open({});
  ASSERT_NE(log, nullptr);
  RequestRecord first = row("spare-0123456789abcdef");  // longer than the small-string buffer
  first.request_payload = std::string(4096, 'p');       // big: not kept by a spare
  first.error_type = "upstream_error";
  ASSERT_TRUE(log->enqueue(std::move(first)));
  log->flush();
  // The next enqueue from this thread picks up the written row as this thread's spare.
  ASSERT_TRUE(log->enqueue(row("spare-1")));
  RecordPtr spare_row = RequestLog::takeSpare();
  RequestRecord& spare = *spare_row;
  EXPECT_GE(spare.request_id.capacity(), std::string("spare-0123456789abcdef").size());
  EXPECT_LE(spare.request_payload.capacity(), 512u);
  pipeline::RequestContext ctx;
  ctx.request_id = "fresh";
  ctx.endpoint = pipeline::Endpoint::kChat;
  ctx.http_status = 200;
  ctx.received = pipeline::RequestContext::Clock::now();
  fillRecord(ctx, ctx.received, std::chrono::system_clock::now(), spare);
  EXPECT_EQ(spare.request_id, "fresh");
  EXPECT_TRUE(spare.error_type.empty());
  EXPECT_TRUE(spare.request_payload.empty());
  EXPECT_TRUE(spare.key_id.empty());
  EXPECT_FALSE(spare.ttft_ms.has_value());
  EXPECT_EQ(spare.status, 200);
  // Without an enqueue in between, there is no spare: a new record.
  EXPECT_TRUE(RequestLog::takeSpare()->request_id.empty());
}

TEST_P(RequestLogTest, RetentionPrunesByAgeAndRowCap) {
  RequestLogOptions options;
  options.max_age = 24h;
  options.max_rows = 3;
  auto log = open(options);
  ASSERT_NE(log, nullptr);
  const std::int64_t old = nowMs() - 48LL * 3600 * 1000;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(log->enqueue(row("old-" + std::to_string(i), old)));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->enqueue(row("new-" + std::to_string(i))));
  FeedbackRecord stale{old, "old-0", 1.0, "good", ""};
  ASSERT_TRUE(log->enqueueFeedback(stale));
  log->flush();
  EXPECT_EQ(count("request_log"), 9);
  log->pruneNow();
  auto rows = query("SELECT request_id FROM request_log ORDER BY id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].text(0), "new-2");
  EXPECT_EQ(rows[2].text(0), "new-4");
  EXPECT_EQ(count("feedback"), 0);
  EXPECT_NE(registry_.render().find("switchyard_request_log_rows_pruned_total 6\n"),
            std::string::npos);
}

TEST_P(RequestLogTest, FeedbackJoinsTheRequestAndVersionsFormAChangelog) {
  auto log = open({});
  ASSERT_NE(log, nullptr);
  const std::int64_t t0 = nowMs() - 10'000;
  RequestRecord a = row("a", t0);
  a.model_version = "gpt-4o-2024-08-06";
  RequestRecord b = row("b", t0 + 1000);
  b.model_version = "gpt-4o-2024-08-06";
  RequestRecord c = row("c", t0 + 2000);
  c.model_version = "gpt-4o-2024-11-20";
  ASSERT_TRUE(log->enqueue(a));
  ASSERT_TRUE(log->enqueue(b));
  log->flush();
  ASSERT_TRUE(log->enqueue(c));
  RequestRecord a_again = row("a2", t0 + 3000);
  a_again.model_version = "gpt-4o-2024-08-06";
  ASSERT_TRUE(log->enqueue(a_again));
  ASSERT_TRUE(log->enqueueFeedback({nowMs(), "b", -1.0, "wrong", "made up a citation"}));
  log->flush();

  auto joined = query(
      "SELECT r.request_id, r.model, f.score, f.label, f.comment FROM feedback f JOIN "
      "request_log r ON r.request_id = f.request_id");
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].text(0), "b");
  EXPECT_DOUBLE_EQ(joined[0].real(2), -1.0);
  EXPECT_EQ(joined[0].text(3), "wrong");
  EXPECT_EQ(joined[0].text(4), "made up a citation");

  auto versions = query(
      "SELECT version, first_seen_ms, last_seen_ms FROM model_versions WHERE provider = 'oai' "
      "ORDER BY first_seen_ms");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].text(0), "gpt-4o-2024-08-06");
  EXPECT_EQ(versions[0].integer(1), t0);
  EXPECT_EQ(versions[0].integer(2), t0 + 3000);
  EXPECT_EQ(versions[1].text(0), "gpt-4o-2024-11-20");
  EXPECT_EQ(versions[1].integer(1), t0 + 2000);
}

TEST_P(RequestLogTest, LocalModelFilesAreHashedIntoTheChangelog) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("sy_model_" + std::to_string(::getpid()) + ".gguf");
  { std::ofstream(file) << "abc"; }
  RequestLogOptions options;
  options.local_models = {{"local", "tiny", file.string()}};
  for (int start = 0; start < 2; ++start) {  // a restart keeps the row, only last_seen moves
    auto log = open(options);
    ASSERT_NE(log, nullptr);
    std::vector<store::Row> rows;
    for (int i = 0; i < 100 && rows.empty(); ++i) {
      log->flush();
      rows = query("SELECT version, identity FROM model_versions WHERE model = 'tiny'");
      if (rows.empty()) std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].text(0),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_TRUE(rows[0].text(1).starts_with("3:")) << rows[0].text(1);
  }
  std::filesystem::remove(file);
}

INSTANTIATE_TEST_SUITE_P(Stores, RequestLogTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(RequestLogSchemaTest, MigrationsAreSafeToRerun) {
  auto db = store::openDatabase("sqlite::memory:");
  ASSERT_TRUE(db);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(store::migrate(**db, "telemetry", telemetryMigrations()).isOk());
  }
  auto rows = (*db)->query("SELECT COUNT(*) FROM schema_migrations WHERE component = 'telemetry'");
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[0].integer(0), static_cast<std::int64_t>(telemetryMigrations().size()));
}

// A request log written before the response cache existed gains its `cache` column; old rows
// read NULL there.
TEST(RequestLogSchemaTest, AnOlderLogIsUpgradedInPlace) {
  auto db = store::openDatabase("sqlite::memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(store::migrate(**db, "telemetry", telemetryMigrations().first(1)).isOk());
  ASSERT_TRUE((*db)
                  ->exec("INSERT INTO request_log (ts_ms, request_id, endpoint, format, status, "
                         "total_ms) VALUES (1, 'old', 'chat', 'openai', 200, 1.5)")
                  .isOk());
  ASSERT_TRUE(store::migrate(**db, "telemetry", telemetryMigrations()).isOk());
  auto rows = (*db)->query("SELECT request_id, cache FROM request_log");
  ASSERT_TRUE(rows) << rows.error().toString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].text(0), "old");
  EXPECT_TRUE((*rows)[0].isNull(1));
}

}  // namespace
}  // namespace switchyard::telemetry
