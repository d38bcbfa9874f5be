#include "switchyard/eval/eval_store.h"

#include <gtest/gtest.h>

namespace switchyard::eval {
namespace {

ResultRecord record(const std::string& run, std::int64_t idx, const std::string& target,
                    bool passed, double latency = 1, const std::string& category = "qa") {
  ResultRecord r;
  r.run_id = run;
  r.case_idx = idx;
  r.case_id = "c" + std::to_string(idx);
  r.category = category;
  r.task_type = category;
  r.input = "[]";
  r.target = target;
  r.output.text = passed ? "right" : "wrong";
  r.output.latency_ms = latency;
  r.output.prompt_tokens = 10;
  r.output.completion_tokens = 5;
  r.output.cost_usd = 0.001;
  r.passed = passed;
  r.score = passed ? 1 : 0;
  r.assertions = {{"equals", passed, passed ? 1.0 : 0.0, 1, passed ? "" : "expected right"}};
  return r;
}

RunInfo run(const std::string& id) {
  RunInfo r;
  r.id = id;
  r.suite = "s";
  r.suite_path = "/s.yaml";
  r.started_at = nowIso8601();
  r.status = "running";
  r.targets = R"([{"name":"a","model":"up/model-a"},{"name":"b","model":"b"}])";
  r.options = "{}";
  return r;
}

TEST(EvalStoreTest, MigrationsAreIdempotentAndWriterStreamsRows) {
  auto db = store::openDatabase("sqlite::memory:");
  ASSERT_TRUE(db);
  EvalStore st(std::move(*db));
  // open() migrates; do it twice on one database by hand.
  ASSERT_TRUE(st.db().execScript("SELECT 1").isOk());
  auto s1 = EvalStore::open("sqlite::memory:");
  ASSERT_TRUE(s1) << s1.error().message();
  EvalStore& s = **s1;
  ASSERT_TRUE(s.createRun(run("r1")).isOk());
  {
    ResultWriter w(s, 3);
    for (int i = 0; i < 10; ++i) {
      w.push(record("r1", i, "a", i % 2 == 0, 10.0 * (i + 1)));
      w.push(record("r1", i, "b", true, 5));
    }
    ASSERT_TRUE(w.close().isOk());
    EXPECT_EQ(w.written(), 20);
  }
  auto has = s.hasOutput("r1", 3, "a", 0);
  ASSERT_TRUE(has);
  EXPECT_TRUE(*has);
  EXPECT_FALSE(*s.hasOutput("r1", 3, "a", 1));
  auto t = s.targetSummaries("r1");
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].target, "a");
  EXPECT_EQ((*t)[0].outputs, 10);
  EXPECT_EQ((*t)[0].passed, 5);
  EXPECT_DOUBLE_EQ((*t)[0].p50_latency_ms, 50);
  EXPECT_DOUBLE_EQ((*t)[0].p95_latency_ms, 100);  // nearest rank
  EXPECT_EQ((*t)[0].prompt_tokens, 100);
  EXPECT_NEAR((*t)[0].cost_usd, 0.01, 1e-12);
  auto rows = s.caseRows("r1", 0, 2);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[2].target, "a");
  EXPECT_EQ((*rows)[2].failures, "equals: expected right");
  EXPECT_EQ(*s.maxCaseIndex("r1"), 9);
}

TEST(EvalStoreTest, BaselineComparisonAndQualityScores) {
  auto opened = EvalStore::open("sqlite::memory:");
  ASSERT_TRUE(opened);
  EvalStore& s = **opened;
  ASSERT_TRUE(s.createRun(run("base")).isOk());
  ASSERT_TRUE(s.createRun(run("cur")).isOk());
  std::vector<ResultRecord> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(record("base", i, "a", i != 3));
  batch.push_back(record("cur", 0, "a", true));
  batch.push_back(record("cur", 1, "a", false));   // regressed
  batch.push_back(record("cur", 2, "a", false, 1, "math"));  // regressed
  batch.push_back(record("cur", 3, "a", true, 1, "math"));   // improved
  ASSERT_TRUE(s.write(batch).isOk());
  auto d = s.compare("cur", "base");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->compared, 4);
  EXPECT_EQ(d->regressions, 2);
  EXPECT_EQ(d->improvements, 1);
  ASSERT_EQ(d->regressed.size(), 2u);
  EXPECT_EQ(d->regressed[0], (std::pair<std::string, std::string>{"c1", "a"}));

  auto n = s.updateQualityScores("cur");
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 2);
  auto q = s.db().query(
      "SELECT target, task_type, score, samples, run_id FROM quality_scores ORDER BY task_type");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 2u);
  EXPECT_EQ((*q)[0].text(0), "up/model-a");  // the target's model, not its label
  EXPECT_EQ((*q)[0].text(1), "math");
  EXPECT_DOUBLE_EQ((*q)[0].real(2), 0.5);
  EXPECT_EQ((*q)[0].integer(3), 2);
  EXPECT_EQ((*q)[1].text(1), "qa");
  EXPECT_DOUBLE_EQ((*q)[1].real(2), 0.5);
  // A later run replaces the row (upsert).
  ASSERT_TRUE(s.updateQualityScores("base").has_value());
  q = s.db().query("SELECT score, run_id FROM quality_scores WHERE task_type = 'qa'");
  ASSERT_TRUE(q);
  EXPECT_DOUBLE_EQ((*q)[0].real(0), 0.75);
  EXPECT_EQ((*q)[0].text(1), "base");
}

TEST(EvalStoreTest, QualityScoresUseTheDeploymentThatAnswered) {
  auto opened = EvalStore::open("sqlite::memory:");
  ASSERT_TRUE(opened);
  EvalStore& s = **opened;
  ASSERT_TRUE(s.createRun(run("r")).isOk());
  auto a = record("r", 0, "b", true);
  a.output.deployment = "local/qwen";  // route b resolved to this deployment
  auto b = record("r", 1, "b", false);
  b.output.deployment = "local/qwen";
  ASSERT_TRUE(s.write({a, b}).isOk());
  ASSERT_EQ(*s.updateQualityScores("r"), 1);
  auto q = s.db().query("SELECT target, task_type, score, samples FROM quality_scores");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ((*q)[0].text(0), "local/qwen");
  EXPECT_DOUBLE_EQ((*q)[0].real(2), 0.5);
  EXPECT_EQ((*q)[0].integer(3), 2);
}

TEST(EvalStoreTest, CacheRoundTrip) {
  auto opened = EvalStore::open("sqlite::memory:");
  ASSERT_TRUE(opened);
  EvalStore& s = **opened;
  EXPECT_FALSE(s.cacheGet("k")->has_value());
  auto r = record("r", 0, "a", true, 1);
  r.cache_key = "k";
  r.cache_value = "{\"body\":\"x\"}";
  ASSERT_TRUE(s.write({r}).isOk());
  EXPECT_EQ(s.cacheGet("k")->value_or(""), "{\"body\":\"x\"}");
}

TEST(EvalStoreTest, ListsAndFinishesRuns) {
  auto opened = EvalStore::open("sqlite::memory:");
  ASSERT_TRUE(opened);
  EvalStore& s = **opened;
  ASSERT_TRUE(s.createRun(run("one")).isOk());
  ASSERT_TRUE(s.finishRun("one", "done").isOk());
  auto runs = s.listRuns(10);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status, "done");
  EXPECT_FALSE((*runs)[0].finished_at.empty());
  EXPECT_FALSE(s.getRun("nope")->has_value());
}

}  // namespace
}  // namespace switchyard::eval
