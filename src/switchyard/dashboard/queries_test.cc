// DashboardQueries against a real store, SQLite and PostgreSQL (when its binaries are
// installed): rows go in through the request log's own writer and the eval store, and the
// aggregates come back with the numbers those rows imply.

#include "switchyard/dashboard/queries.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>

#include "switchyard/store/testing/postgres_test_server.h"
#include "switchyard/telemetry/request_log.h"

namespace switchyard::dashboard {
namespace {

namespace json = boost::json;

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(WindowTest, ParsesDurationsAndCutsSixtyBuckets) {
  auto w = Window::parse("1h", 10'000'000);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->seconds, 3600);
  EXPECT_EQ(w->bucket_ms, 60'000);
  EXPECT_EQ(w->from_ms % w->bucket_ms, 0);
  EXPECT_LE(w->from_ms, 10'000'000 - 3600 * 1000);
  EXPECT_GT(w->to_ms, 10'000'000);
  EXPECT_GE(w->buckets(), 60);
  EXPECT_LE(w->buckets(), 61);
  EXPECT_EQ(Window::parse("", 1'000'000'000)->seconds, 3600);
  EXPECT_EQ(Window::parse("15m", 1'000'000'000)->seconds, 900);
  EXPECT_EQ(Window::parse("7d", 1'000'000'000'000)->seconds, 7 * 86400);
  EXPECT_EQ(Window::parse("600", 1'000'000'000)->seconds, 600);
  EXPECT_EQ(Window::parse("1m", 1'000'000'000)->bucket_ms, 1000);
  for (const char* bad : {"0", "-1h", "abc", "5x", "30s", "91d", "h"}) {
    auto e = Window::parse(bad, 1'000'000'000);
    ASSERT_FALSE(e.has_value()) << bad;
    EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(e.error().message().find("window"), std::string::npos);
  }
}

TEST(PercentileTest, NearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 0.5), 50);
  EXPECT_EQ(percentile(v, 0.95), 95);
  EXPECT_EQ(percentile(v, 0.99), 99);
  EXPECT_EQ(percentile({7.0}, 0.99), 7);
  EXPECT_EQ(percentile({1.0, 2.0}, 0.5), 1);
}

class QueriesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      static auto server = store::testing::PostgresTestServer::start();
      if (!server) {
        if (server.error().code() == ErrorCode::kUnavailable) GTEST_SKIP() << server.error().message();
        FAIL() << server.error().message();
      }
      url_ = (*server)->url();
    } else {
      path_ = std::filesystem::temp_directory_path() /
              ("sy_dashboard_q_" + std::to_string(::getpid()) + ".db");
      remove();
      url_ = "sqlite://" + path_.string();
    }
    auto db = store::openDatabase(url_);
    ASSERT_TRUE(db.has_value()) << db.error().toString();
    auto log = telemetry::RequestLog::open(std::move(*db), {}, telemetry::Registry::global());
    ASSERT_TRUE(log.has_value()) << log.error().toString();
    log_ = std::move(*log);
    auto q = DashboardQueries::open(url_);
    ASSERT_TRUE(q.has_value()) << q.error().toString();
    queries_ = std::move(*q);
    auto ev = eval::EvalStore::open(url_);
    ASSERT_TRUE(ev.has_value()) << ev.error().toString();
    eval_ = std::move(*ev);
    // PostgreSQL keeps its tables across parameters and runs: start empty.
    for (const char* table : {"request_log", "feedback", "eval_runs", "eval_outputs", "eval_cases",
                              "eval_scores"}) {
      ASSERT_TRUE(eval_->db().exec(std::string("DELETE FROM ") + table).isOk());
    }
  }
  void TearDown() override {
    log_.reset();
    queries_.reset();
    eval_.reset();
    remove();
  }
  void remove() {
    if (path_.empty()) return;
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + s);
  }

  telemetry::RequestRecord row(std::string id, std::string provider, std::string model,
                               int status, double total_ms) {
    telemetry::RequestRecord r;
    r.ts_ms = nowMs() - 1000;
    r.request_id = std::move(id);
    r.endpoint = "chat";
    r.format = "openai";
    r.requested_model = "fast";
    r.route = provider.empty() ? "" : "fast";
    r.provider = std::move(provider);
    r.model = std::move(model);
    r.status = status;
    r.error_type = status >= 400 ? "upstream_error" : "";
    r.total_ms = total_ms;
    if (status < 400) r.ttft_ms = total_ms / 2;
    r.overhead_ms = 0.05;
    r.usage.prompt_tokens = 10;
    r.usage.completion_tokens = status < 400 ? 5 : 0;
    r.cost_usd = status < 400 ? 0.001 : 0;
    r.decision = r.route.empty() ? "" : "priority; task chat; risk low";
    return r;
  }

  std::string url_;
  std::filesystem::path path_;
  std::unique_ptr<telemetry::RequestLog> log_;
  std::unique_ptr<DashboardQueries> queries_;
  std::unique_ptr<eval::EvalStore> eval_;
};

TEST_P(QueriesTest, AggregatesTheRequestLog) {
  // 8 cloud requests (one failed), 3 local ones (PII kept local), 1 rejected before routing.
  for (int i = 0; i < 8; ++i) {
    auto r = row("c" + std::to_string(i), "cloud", "gpt-4o-mini", i == 7 ? 500 : 200, 10.0 * (i + 1));
    r.key_name = i < 4 ? "alice" : "";
    r.team = i < 4 ? "search" : "";
    ASSERT_TRUE(log_->enqueue(std::move(r)));
  }
  for (int i = 0; i < 3; ++i) {
    auto r = row("l" + std::to_string(i), "gpu", "tiny", 200, 100);
    r.local_only = true;
    r.guard_summary = i == 0 ? "EMAIL:local_only:2,PHONE:local_only:1" : "EMAIL:local_only:1";
    r.decision = "priority; task chat; risk low; local-only";
    r.cost_usd = 0;
    r.request_payload = R"({"messages":[]})";
    ASSERT_TRUE(log_->enqueue(std::move(r)));
  }
  ASSERT_TRUE(log_->enqueue(row("x0", "", "", 404, 1)));
  telemetry::FeedbackRecord fb;
  fb.ts_ms = nowMs();
  fb.request_id = "c1";
  fb.score = 1;
  fb.label = "helpful";
  ASSERT_TRUE(log_->enqueueFeedback(fb));
  fb.score = 0;
  fb.label = "meh";
  ASSERT_TRUE(log_->enqueueFeedback(fb));
  log_->flush();

  auto w = Window::parse("1h", nowMs());
  ASSERT_TRUE(w.has_value());
  auto o = queries_->overview(*w);
  ASSERT_TRUE(o.has_value()) << o.error().toString();
  EXPECT_EQ(o->at("requests").as_int64(), 12);
  EXPECT_EQ(o->at("errors").as_int64(), 2);
  EXPECT_EQ(o->at("tokens").at("prompt").as_int64(), 120);
  EXPECT_EQ(o->at("tokens").at("completion").as_int64(), 50);
  EXPECT_NEAR(o->at("cost_usd").to_number<double>(), 0.007, 1e-9);
  // total_ms: 10..80 (cloud), 100 x3, 1 -> sorted 1,10,20,...,80,100,100,100: p50 = 6th = 50.
  const auto& total = o->at("latency_ms").at("total");
  EXPECT_EQ(total.at("count").as_uint64(), 12u);
  EXPECT_DOUBLE_EQ(total.at("p50").to_number<double>(), 50);
  EXPECT_DOUBLE_EQ(total.at("p99").to_number<double>(), 100);
  EXPECT_EQ(o->at("latency_ms").at("ttft").at("count").as_uint64(), 10u);
  std::int64_t series_sum = 0;
  for (const auto& v : o->at("series").at("requests").as_array()) series_sum += v.as_int64();
  EXPECT_EQ(series_sum, 12);
  EXPECT_EQ(o->at("series").at("t").as_array().size(),
            static_cast<std::size_t>(w->buckets()));

  auto c = queries_->costs(*w);
  ASSERT_TRUE(c.has_value()) << c.error().toString();
  const auto& by_model = c->at("by_model").as_array();
  ASSERT_EQ(by_model.size(), 3u);
  EXPECT_EQ(by_model[0].at("name").as_string(), "cloud/gpt-4o-mini");
  EXPECT_EQ(by_model[0].at("requests").as_int64(), 8);
  EXPECT_EQ(by_model[0].at("errors").as_int64(), 1);
  EXPECT_NEAR(by_model[0].at("cost_usd").to_number<double>(), 0.007, 1e-9);
  // By spend: alice's 4 answered requests cost more than the 8 without a key (3 answered).
  const auto& by_key = c->at("by_key").as_array();
  ASSERT_EQ(by_key.size(), 2u);
  EXPECT_EQ(by_key[0].at("name").as_string(), "alice");
  EXPECT_EQ(by_key[0].at("requests").as_int64(), 4);
  EXPECT_NEAR(by_key[0].at("cost_usd").to_number<double>(), 0.004, 1e-9);
  EXPECT_EQ(by_key[1].at("name").as_string(), "(no key)");
  EXPECT_EQ(by_key[1].at("requests").as_int64(), 8);
  EXPECT_EQ(c->at("by_team").as_array()[0].at("name").as_string(), "search");
  EXPECT_EQ(c->at("by_route").as_array().size(), 2u);
  EXPECT_NEAR(c->at("total_usd").to_number<double>(), 0.007, 1e-9);

  auto r = queries_->routing(*w, Localities{{"cloud", "cloud"}, {"gpu", "local"}});
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_EQ(r->at("local").at("requests").as_int64(), 3);
  EXPECT_EQ(r->at("cloud").at("requests").as_int64(), 8);
  EXPECT_EQ(r->at("none").at("requests").as_int64(), 1);
  EXPECT_EQ(r->at("local_only").as_int64(), 3);
  const auto& decisions = r->at("decisions").as_array();
  ASSERT_EQ(decisions.size(), 3u);
  EXPECT_EQ(decisions[0].at("decision").as_string(), "priority; task chat; risk low");
  EXPECT_EQ(decisions[0].at("cloud").as_int64(), 8);
  EXPECT_EQ(decisions[1].at("local").as_int64(), 3);

  auto g = queries_->guard(*w);
  ASSERT_TRUE(g.has_value()) << g.error().toString();
  EXPECT_EQ(g->at("requests_with_findings").as_int64(), 3);
  EXPECT_EQ(g->at("kept_local").as_int64(), 3);
  const auto& types = g->at("by_type").as_array();
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0].at("type").as_string(), "EMAIL");
  EXPECT_EQ(types[0].at("findings").as_int64(), 4);
  EXPECT_EQ(types[0].at("requests").as_int64(), 3);
  EXPECT_EQ(types[0].at("actions").at("local_only").as_int64(), 3);
  EXPECT_EQ(types[1].at("findings").as_int64(), 1);

  // Recent requests: newest first, paged, feedback joined in, filters.
  RequestFilter f;
  f.from_ms = w->from_ms;
  f.limit = 5;
  auto page = queries_->requests(f);
  ASSERT_TRUE(page.has_value()) << page.error().toString();
  ASSERT_EQ(page->at("data").as_array().size(), 5u);
  EXPECT_TRUE(page->at("has_more").as_bool());
  EXPECT_EQ(page->at("data").as_array()[0].at("request_id").as_string(), "x0");
  EXPECT_FALSE(page->at("data").as_array()[0].as_object().contains("request_payload"));
  f.before_id = page->at("next_before").as_int64();
  f.limit = 500;
  auto rest = queries_->requests(f);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->at("data").as_array().size(), 7u);
  EXPECT_FALSE(rest->at("has_more").as_bool());
  for (const auto& item : rest->at("data").as_array()) {
    if (item.at("request_id").as_string() == "c1") {
      EXPECT_EQ(item.at("feedback_count").as_int64(), 2);
      EXPECT_DOUBLE_EQ(item.at("feedback_score").to_number<double>(), 0.5);
    }
  }
  f.before_id = 0;
  f.status = "error";
  EXPECT_EQ(queries_->requests(f)->at("data").as_array().size(), 2u);
  f.status = "";
  f.model = "tiny";
  EXPECT_EQ(queries_->requests(f)->at("data").as_array().size(), 3u);

  auto detail = queries_->request("l0");
  ASSERT_TRUE(detail.has_value()) << detail.error().toString();
  ASSERT_TRUE(detail->has_value());
  const auto& req = (**detail).at("request");
  EXPECT_EQ(req.at("provider").as_string(), "gpu");
  EXPECT_TRUE(req.at("local_only").as_bool());
  EXPECT_EQ(req.at("request_payload").as_string(), R"({"messages":[]})");
  EXPECT_EQ(req.at("guard_summary").as_string(), "EMAIL:local_only:2,PHONE:local_only:1");
  auto with_feedback = queries_->request("c1");
  ASSERT_TRUE(with_feedback.has_value() && with_feedback->has_value());
  EXPECT_EQ((**with_feedback).at("feedback").as_array().size(), 2u);
  EXPECT_EQ((**with_feedback).at("feedback").as_array()[0].at("label").as_string(), "helpful");
  auto missing = queries_->request("nope");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  // Rows outside the window do not count.
  auto later = Window::parse("1m", nowMs() + 3'600'000);
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(queries_->overview(*later)->at("requests").as_int64(), 0);
  EXPECT_TRUE(queries_->overview(*later)->at("latency_ms").at("total").at("p50").is_null());
}

TEST_P(QueriesTest, ListsEvaluationRuns) {
  eval::RunInfo run;
  run.id = "run-1";
  run.suite = "smoke";
  run.suite_path = "smoke.yaml";
  run.started_at = eval::nowIso8601();
  run.status = "done";
  run.targets = R"([{"name":"cloud","model":"fast"}])";
  run.options = "{}";
  run.cases_total = 3;
  ASSERT_TRUE(eval_->createRun(run).isOk());
  std::vector<eval::ResultRecord> batch;
  for (int i = 0; i < 3; ++i) {
    eval::ResultRecord r;
    r.run_id = "run-1";
    r.case_idx = i;
    r.case_id = "case-" + std::to_string(i);
    r.category = i == 2 ? "math" : "greeting";
    r.input = "[]";
    r.target = "cloud";
    r.output.text = "answer " + std::to_string(i);
    r.output.latency_ms = 10;
    r.passed = i != 2;
    r.score = r.passed ? 1 : 0;
    r.assertions.push_back({"contains", r.passed, r.score, 1, r.passed ? "" : "missing '42'"});
    batch.push_back(std::move(r));
  }
  ASSERT_TRUE(eval_->write(batch).isOk());

  auto runs = queries_->evalRuns(10);
  ASSERT_TRUE(runs.has_value()) << runs.error().toString();
  ASSERT_EQ(runs->at("data").as_array().size(), 1u);
  const auto& r = runs->at("data").as_array()[0];
  EXPECT_EQ(r.at("id").as_string(), "run-1");
  EXPECT_EQ(r.at("outputs").as_int64(), 3);
  EXPECT_EQ(r.at("passed").as_int64(), 2);
  EXPECT_NEAR(r.at("pass_rate").to_number<double>(), 2.0 / 3, 1e-9);
  EXPECT_EQ(r.at("targets").as_array()[0].at("target").as_string(), "cloud");

  auto detail = queries_->evalRun("run-1");
  ASSERT_TRUE(detail.has_value()) << detail.error().toString();
  ASSERT_TRUE(detail->has_value());
  EXPECT_EQ((**detail).at("categories").as_array().size(), 2u);
  ASSERT_EQ((**detail).at("failures").as_array().size(), 1u);
  EXPECT_EQ((**detail).at("failures").as_array()[0].at("case_id").as_string(), "case-2");
  EXPECT_NE(std::string((**detail).at("failures").as_array()[0].at("failures").as_string())
                .find("missing '42'"),
            std::string::npos);
  EXPECT_EQ((**detail).at("target_spec").as_array()[0].at("model").as_string(), "fast");
  auto none = queries_->evalRun("nope");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

INSTANTIATE_TEST_SUITE_P(Stores, QueriesTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchyard::dashboard
