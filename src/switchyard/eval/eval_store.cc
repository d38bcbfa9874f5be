#include "switchyard/eval/eval_store.h"

#include <boost/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <tuple>

namespace switchyard::eval {

namespace json = boost::json;
using store::Value;

namespace {

constexpr std::string_view kV1 = R"(
CREATE TABLE IF NOT EXISTS eval_runs (
  id TEXT PRIMARY KEY, suite TEXT NOT NULL, suite_path TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, targets TEXT NOT NULL,
  options TEXT NOT NULL, baseline TEXT NOT NULL DEFAULT '', cases_total INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS eval_cases (
  run_id TEXT NOT NULL, case_idx INTEGER NOT NULL, case_id TEXT NOT NULL, category TEXT NOT NULL,
  tags TEXT NOT NULL, task_type TEXT NOT NULL, input TEXT NOT NULL,
  PRIMARY KEY (run_id, case_idx));
CREATE TABLE IF NOT EXISTS eval_outputs (
  run_id TEXT NOT NULL, case_idx INTEGER NOT NULL, target TEXT NOT NULL, rep INTEGER NOT NULL,
  output TEXT NOT NULL, tool_calls TEXT NOT NULL, error TEXT NOT NULL, latency_ms REAL NOT NULL,
  prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL,
  score REAL NOT NULL, passed INTEGER NOT NULL, cached INTEGER NOT NULL,
  deployment TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, case_idx, target, rep));
CREATE INDEX IF NOT EXISTS eval_outputs_latency ON eval_outputs (run_id, target, latency_ms);
CREATE TABLE IF NOT EXISTS eval_scores (
  run_id TEXT NOT NULL, case_idx INTEGER NOT NULL, target TEXT NOT NULL, rep INTEGER NOT NULL,
  idx INTEGER NOT NULL, type TEXT NOT NULL, passed INTEGER NOT NULL, score REAL NOT NULL,
  weight REAL NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (run_id, case_idx, target, rep, idx));
CREATE TABLE IF NOT EXISTS eval_cache (
  key TEXT PRIMARY KEY, response TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quality_scores (target TEXT, task_type TEXT, score REAL, samples INTEGER, run_id TEXT, updated_at TEXT, PRIMARY KEY (target, task_type))
)";

// PostgreSQL's REAL is 4 bytes; measurements keep double precision there (quality_scores stays
// exactly as the router expects it).
const std::string& postgresV1() {
  static const std::string script = [] {
    std::string s(kV1);
    for (std::string_view col : {"latency_ms REAL", "cost_usd REAL", "score REAL NOT NULL",
                                 "weight REAL"}) {
      std::string from(col), to(col);
      to.replace(to.find("REAL"), 4, "DOUBLE PRECISION");
      for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
      }
    }
    return s;
  }();
  return script;
}

RunInfo runFrom(const store::Row& r) {
  RunInfo run;
  run.id = r.text(0);
  run.suite = r.text(1);
  run.suite_path = r.text(2);
  run.started_at = r.text(3);
  run.finished_at = r.text(4);
  run.status = r.text(5);
  run.targets = r.text(6);
  run.options = r.text(7);
  run.baseline = r.text(8);
  run.cases_total = r.integer(9);
  return run;
}

constexpr std::string_view kRunColumns =
    "id, suite, suite_path, started_at, finished_at, status, targets, options, baseline, "
    "cases_total";

std::string toolCallsJson(const Output& o) {
  if (o.tool_calls.empty()) return "";
  json::array a;
  for (const auto& c : o.tool_calls) a.push_back(json::object{{"name", c.name},
                                                              {"arguments", c.arguments}});
  return json::serialize(a);
}

}  // namespace

std::string nowIso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      now.time_since_epoch()).count() % 1000;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
  return std::string(buf) + frac;
}

Result<std::unique_ptr<EvalStore>> EvalStore::open(std::string_view url) {
  auto db = store::openDatabase(url);
  if (!db) return fail(db.error());
  const store::Migration migrations[] = {{1, "eval tables", kV1, postgresV1()}};
  if (auto s = store::migrate(**db, "eval", migrations); !s.isOk()) return fail(std::move(s));
  return std::make_unique<EvalStore>(std::move(*db));
}

Status EvalStore::createRun(const RunInfo& run) {
  const Value p[] = {run.id,      run.suite,   run.suite_path, run.started_at,
                     run.status,  run.targets, run.options,    run.baseline,
                     run.cases_total};
  return db_->exec(
      "INSERT INTO eval_runs (id, suite, suite_path, started_at, status, targets, options, "
      "baseline, cases_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      p);
}

Status EvalStore::finishRun(const std::string& id, const std::string& status) {
  const Value p[] = {status, nowIso8601(), id};
  return db_->exec("UPDATE eval_runs SET status = ?, finished_at = ? WHERE id = ?", p);
}

Status EvalStore::setCasesTotal(const std::string& id, std::int64_t total) {
  const Value p[] = {total, id};
  return db_->exec("UPDATE eval_runs SET cases_total = ? WHERE id = ?", p);
}

Result<std::optional<RunInfo>> EvalStore::getRun(const std::string& id) {
  const Value p[] = {id};
  auto rows = db_->query("SELECT " + std::string(kRunColumns) + " FROM eval_runs WHERE id = ?", p);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<RunInfo>();
  return std::optional<RunInfo>(runFrom(rows->front()));
}

Result<std::vector<RunInfo>> EvalStore::listRuns(int limit) {
  const Value p[] = {std::int64_t{limit}};
  auto rows = db_->query("SELECT " + std::string(kRunColumns) +
                             " FROM eval_runs ORDER BY started_at DESC, id DESC LIMIT ?",
                         p);
  if (!rows) return fail(rows.error());
  std::vector<RunInfo> out;
  for (const auto& r : *rows) out.push_back(runFrom(r));
  return out;
}

Result<bool> EvalStore::hasOutput(const std::string& run, std::int64_t case_idx,
                                  const std::string& target, int repeat) {
  const Value p[] = {run, case_idx, target, std::int64_t{repeat}};
  auto rows = db_->query(
      "SELECT 1 FROM eval_outputs WHERE run_id = ? AND case_idx = ? AND target = ? AND rep = ?",
      p);
  if (!rows) return fail(rows.error());
  return !rows->empty();
}

Result<std::optional<std::string>> EvalStore::cacheGet(const std::string& key) {
  const Value p[] = {key};
  auto rows = db_->query("SELECT response FROM eval_cache WHERE key = ?", p);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->front().text(0));
}

Status EvalStore::write(const std::vector<ResultRecord>& batch) {
  return db_->transaction([&]() -> Status {
    for (const auto& r : batch) {
      const Value c[] = {r.run_id, r.case_idx, r.case_id, r.category, r.tags, r.task_type,
                         r.input};
      if (auto s = db_->exec(
              "INSERT INTO eval_cases (run_id, case_idx, case_id, category, tags, task_type, "
              "input) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
              c);
          !s.isOk()) {
        return s;
      }
      const Output& o = r.output;
      const Value out[] = {r.run_id,        r.case_idx,          r.target,
                           std::int64_t{r.repeat}, o.text,       toolCallsJson(o),
                           o.error,         o.latency_ms,        o.prompt_tokens,
                           o.completion_tokens, o.cost_usd,      r.score,
                           std::int64_t{r.passed}, std::int64_t{o.cached}, o.deployment};
      if (auto s = db_->exec(
              "INSERT INTO eval_outputs (run_id, case_idx, target, rep, output, tool_calls, "
              "error, latency_ms, prompt_tokens, completion_tokens, cost_usd, score, passed, "
              "cached, deployment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT DO NOTHING",
              out);
          !s.isOk()) {
        return s;
      }
      for (std::size_t i = 0; i < r.assertions.size(); ++i) {
        const auto& a = r.assertions[i];
        const Value sc[] = {r.run_id,  r.case_idx,           r.target,
                            std::int64_t{r.repeat}, static_cast<std::int64_t>(i), a.type,
                            std::int64_t{a.passed}, a.score, a.weight, a.reason};
        if (auto s = db_->exec(
                "INSERT INTO eval_scores (run_id, case_idx, target, rep, idx, type, passed, "
                "score, weight, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                sc);
            !s.isOk()) {
          return s;
        }
      }
      if (!r.cache_key.empty()) {
        const Value k[] = {r.cache_key, r.cache_value, nowIso8601()};
        if (auto s = db_->exec(
                "INSERT INTO eval_cache (key, response, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                k);
            !s.isOk()) {
          return s;
        }
      }
    }
    return Status::ok();
  });
}

Result<std::vector<TargetSummary>> EvalStore::targetSummaries(const std::string& run) {
  const Value p[] = {run};
  auto rows = db_->query(
      "SELECT target, COUNT(*), SUM(passed), SUM(CASE WHEN error <> '' THEN 1 ELSE 0 END), "
      "SUM(prompt_tokens), SUM(completion_tokens), AVG(score), AVG(latency_ms), SUM(cost_usd) "
      "FROM eval_outputs WHERE run_id = ? GROUP BY target ORDER BY MIN(rowid)",
      p);
  if (!rows) {
    // PostgreSQL has no rowid.
    rows = db_->query(
        "SELECT target, COUNT(*), SUM(passed), SUM(CASE WHEN error <> '' THEN 1 ELSE 0 END), "
        "SUM(prompt_tokens), SUM(completion_tokens), AVG(score), AVG(latency_ms), "
        "SUM(cost_usd) FROM eval_outputs WHERE run_id = ? GROUP BY target ORDER BY target",
        p);
    if (!rows) return fail(rows.error());
  }
  std::vector<TargetSummary> out;
  for (const auto& r : *rows) {
    TargetSummary t;
    t.target = r.text(0);
    t.outputs = r.integer(1);
    t.passed = r.integer(2);
    t.errors = r.integer(3);
    t.prompt_tokens = r.integer(4);
    t.completion_tokens = r.integer(5);
    t.mean_score = r.real(6);
    t.mean_latency_ms = r.real(7);
    t.cost_usd = r.real(8);
    for (auto [q, dst] : {std::pair{0.5, &t.p50_latency_ms}, std::pair{0.95, &t.p95_latency_ms}}) {
      // Nearest rank: the ceil(q * n)-th smallest.
      const auto offset = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(
                                                                      t.outputs))) - 1;
      const Value pq[] = {run, t.target, std::max<std::int64_t>(0, offset)};
      auto v = db_->query(
          "SELECT latency_ms FROM eval_outputs WHERE run_id = ? AND target = ? "
          "ORDER BY latency_ms LIMIT 1 OFFSET ?",
          pq);
      if (!v) return fail(v.error());
      if (!v->empty()) *dst = v->front().real(0);
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<CategorySummary>> EvalStore::categorySummaries(const std::string& run) {
  const Value p[] = {run};
  auto rows = db_->query(
      "SELECT c.category, o.target, COUNT(*), SUM(o.passed), AVG(o.score), AVG(o.latency_ms), "
      "SUM(o.cost_usd) FROM eval_outputs o "
      "JOIN eval_cases c ON c.run_id = o.run_id AND c.case_idx = o.case_idx WHERE o.run_id = ? "
      "GROUP BY c.category, o.target ORDER BY c.category, o.target",
      p);
  if (!rows) return fail(rows.error());
  std::vector<CategorySummary> out;
  for (const auto& r : *rows) {
    out.push_back({r.text(0), r.text(1), r.integer(2), r.integer(3), r.real(4), r.real(5),
                   r.real(6)});
  }
  return out;
}

Result<std::vector<CaseOutputRow>> EvalStore::caseRows(const std::string& run, std::int64_t from,
                                                       std::int64_t to, bool failures) {
  const Value p[] = {run, from, to};
  auto rows = db_->query(
      "SELECT o.case_idx, c.case_id, c.category, o.target, o.rep, o.passed, o.score, "
      "o.latency_ms, o.cost_usd, o.output, o.error FROM eval_outputs o JOIN eval_cases c "
      "ON c.run_id = o.run_id AND c.case_idx = o.case_idx WHERE o.run_id = ? AND o.case_idx >= ? "
      "AND o.case_idx < ? ORDER BY o.case_idx, o.target, o.rep",
      p);
  if (!rows) return fail(rows.error());
  std::vector<CaseOutputRow> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) {
    CaseOutputRow row;
    row.case_idx = r.integer(0);
    row.case_id = r.text(1);
    row.category = r.text(2);
    row.target = r.text(3);
    row.repeat = static_cast<int>(r.integer(4));
    row.passed = r.integer(5) != 0;
    row.score = r.real(6);
    row.latency_ms = r.real(7);
    row.cost_usd = r.real(8);
    row.output = r.text(9);
    row.error = r.text(10);
    out.push_back(std::move(row));
  }
  if (failures && !out.empty()) {
    auto f = db_->query(
        "SELECT case_idx, target, rep, type, reason FROM eval_scores WHERE run_id = ? AND "
        "case_idx >= ? AND case_idx < ? AND passed = 0 ORDER BY case_idx, target, rep, idx",
        p);
    if (!f) return fail(f.error());
    std::size_t j = 0;
    for (const auto& r : *f) {
      const auto idx = r.integer(0);
      const auto target = r.text(1);
      const auto rep = static_cast<int>(r.integer(2));
      // Both lists are in (case_idx, target, rep) order: walk them together.
      while (j < out.size() && std::tie(out[j].case_idx, out[j].target, out[j].repeat) <
                                   std::tie(idx, target, rep)) {
        ++j;
      }
      if (j < out.size() && out[j].case_idx == idx && out[j].target == target &&
          out[j].repeat == rep) {
        auto& dst = out[j].failures;
        dst += (dst.empty() ? "" : "; ") + r.text(3) + ": " + r.text(4);
      }
    }
  }
  return out;
}

Result<std::int64_t> EvalStore::maxCaseIndex(const std::string& run) {
  const Value p[] = {run};
  auto rows = db_->query("SELECT MAX(case_idx) FROM eval_cases WHERE run_id = ?", p);
  if (!rows) return fail(rows.error());
  if (rows->empty() || rows->front().isNull(0)) return std::int64_t{-1};
  return rows->front().integer(0);
}

Result<BaselineDiff> EvalStore::compare(const std::string& run, const std::string& baseline) {
  const std::string per_case =
      "SELECT c.case_id AS cid, o.target AS tgt, AVG(o.passed) AS rate FROM eval_outputs o "
      "JOIN eval_cases c ON c.run_id = o.run_id AND c.case_idx = o.case_idx WHERE o.run_id = ? "
      "GROUP BY c.case_id, o.target";
  const Value p[] = {run, baseline};
  BaselineDiff diff;
  auto counts = db_->query(
      "SELECT COUNT(*), SUM(CASE WHEN b.rate >= 0.5 AND cur.rate < 0.5 THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN b.rate < 0.5 AND cur.rate >= 0.5 THEN 1 ELSE 0 END) FROM (" + per_case +
          ") cur JOIN (" + per_case + ") b ON b.cid = cur.cid AND b.tgt = cur.tgt",
      p);
  if (!counts) return fail(counts.error());
  if (!counts->empty()) {
    diff.compared = counts->front().integer(0);
    diff.regressions = counts->front().integer(1);
    diff.improvements = counts->front().integer(2);
  }
  auto rows = db_->query("SELECT cur.cid, cur.tgt FROM (" + per_case + ") cur JOIN (" + per_case +
                             ") b ON b.cid = cur.cid AND b.tgt = cur.tgt WHERE b.rate >= 0.5 AND "
                             "cur.rate < 0.5 ORDER BY cur.cid, cur.tgt LIMIT 1000",
                         p);
  if (!rows) return fail(rows.error());
  for (const auto& r : *rows) diff.regressed.emplace_back(r.text(0), r.text(1));
  return diff;
}

Result<std::int64_t> EvalStore::updateQualityScores(const std::string& run) {
  auto info = getRun(run);
  if (!info) return fail(info.error());
  if (!*info) return fail(ErrorCode::kNotFound, "no run " + run);
  // The router knows targets by the model string it routes (route, alias or provider/model).
  std::map<std::string, std::string> model_of;
  boost::system::error_code ec;
  json::value targets = json::parse((*info)->targets, ec);
  if (!ec && targets.is_array()) {
    for (const auto& t : targets.as_array()) {
      if (t.is_object() && t.as_object().contains("name") && t.as_object().contains("model")) {
        model_of[std::string(t.at("name").as_string())] = std::string(t.at("model").as_string());
      }
    }
  }
  // Mean output score per (deployment, task type). The router scores deployments
  // ("provider/model"), so an output counts for the deployment that answered it when the
  // gateway said (a route resolves to one), else for the target's model string.
  const Value p[] = {run};
  auto rows = db_->query(
      "SELECT o.target, o.deployment, c.task_type, SUM(o.score), COUNT(*) FROM eval_outputs o "
      "JOIN eval_cases c ON c.run_id = o.run_id AND c.case_idx = o.case_idx WHERE o.run_id = ? "
      "GROUP BY o.target, o.deployment, c.task_type",
      p);
  if (!rows) return fail(rows.error());
  std::map<std::pair<std::string, std::string>, std::pair<double, std::int64_t>> sums;
  for (const auto& r : *rows) {
    std::string target = r.text(1);
    if (target.empty()) {
      auto it = model_of.find(r.text(0));
      target = it == model_of.end() ? r.text(0) : it->second;
    }
    auto& [sum, n] = sums[{target, r.text(2)}];
    sum += r.real(3);
    n += r.integer(4);
  }
  const std::string now = nowIso8601();
  std::int64_t written = 0;
  auto s = db_->transaction([&]() -> Status {
    for (const auto& [key, agg] : sums) {
      const Value q[] = {key.first, key.second, agg.first / static_cast<double>(agg.second),
                         agg.second, run, now};
      if (auto st = db_->exec(
              "INSERT INTO quality_scores (target, task_type, score, samples, run_id, "
              "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (target, task_type) DO UPDATE "
              "SET score = excluded.score, samples = excluded.samples, run_id = excluded.run_id, "
              "updated_at = excluded.updated_at",
              q);
          !st.isOk()) {
        return st;
      }
      ++written;
    }
    return Status::ok();
  });
  if (!s.isOk()) return fail(std::move(s));
  return written;
}

// ---- ResultWriter -----------------------------------------------------------------------------

ResultWriter::ResultWriter(EvalStore& store, std::size_t batch)
    : store_(store), batch_(batch), thread_([this] { loop(); }) {}

ResultWriter::~ResultWriter() { (void)close(); }

void ResultWriter::push(ResultRecord record) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(record));
  }
  cv_.notify_one();
}

std::size_t ResultWriter::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size() + in_flight_;
}

std::int64_t ResultWriter::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

Status ResultWriter::close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return error_;
}

void ResultWriter::loop() {
  std::vector<ResultRecord> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty() && closing_) return;
      while (!queue_.empty() && batch.size() < batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = batch.size();
    }
    Status s = store_.write(batch);
    std::lock_guard lock(mu_);
    if (!s.isOk() && error_.isOk()) error_ = std::move(s);
    written_ += static_cast<std::int64_t>(batch.size());
    in_flight_ = 0;
    batch.clear();
  }
}

}  // namespace switchyard::eval
