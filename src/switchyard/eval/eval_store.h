#pragma once
// EvalStore: the evaluation tables in the shared store (component "eval" migrations): runs,
// cases, outputs (text, latency, tokens, cost, score), per-assertion scores, the response cache
// and quality_scores (per target and task type, read by the router). ResultWriter streams
// results into it from a background thread in batched transactions, so a run's memory stays
// flat however many cases it has; reports read back page by page.
//
// Thread-safety: EvalStore's methods may be called from any thread (the Database serializes);
// ResultWriter::push() from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/eval/assertions.h"
#include "switchyard/store/database.h"

namespace switchyard::eval {

struct RunInfo {
  std::string id;
  std::string suite;       // suite name
  std::string suite_path;  // for --resume
  std::string started_at, finished_at;
  std::string status;      // running | done | failed | interrupted
  std::string targets;     // JSON: [{"name":..., "model":...}]
  std::string options;     // JSON: repeats, pass_threshold, gateway, ...
  std::string baseline;    // run compared against, "" for none
  std::int64_t cases_total = 0;
};

struct AssertionRecord {
  std::string type;
  bool passed = false;
  double score = 0;
  double weight = 1;
  std::string reason;
};

// One graded output, the unit the writer stores.
struct ResultRecord {
  std::string run_id;
  std::int64_t case_idx = 0;
  std::string case_id, category, tags, task_type, input;  // input: the messages as JSON
  std::string target;
  int repeat = 0;
  Output output;
  double score = 0;
  bool passed = false;
  std::vector<AssertionRecord> assertions;
  std::string cache_key, cache_value;  // non-empty: store in the response cache
};

struct TargetSummary {
  std::string target;
  std::int64_t outputs = 0, passed = 0, errors = 0, prompt_tokens = 0, completion_tokens = 0;
  double mean_score = 0, mean_latency_ms = 0, p50_latency_ms = 0, p95_latency_ms = 0;
  double cost_usd = 0;
  double passRate() const { return outputs ? static_cast<double>(passed) / outputs : 0; }
};

struct CategorySummary {
  std::string category, target;
  std::int64_t outputs = 0, passed = 0;
  double mean_score = 0;
  double mean_latency_ms = 0;
  double cost_usd = 0;
};

// One output row of a report page.
struct CaseOutputRow {
  std::int64_t case_idx = 0;
  std::string case_id, category, target;
  int repeat = 0;
  bool passed = false;
  double score = 0, latency_ms = 0, cost_usd = 0;
  std::string output, error, failures;  // failures: "type: reason; ..."
};

struct BaselineDiff {
  std::int64_t compared = 0, regressions = 0, improvements = 0;
  std::vector<std::pair<std::string, std::string>> regressed;  // (case_id, target), first 1000
};

class EvalStore {
 public:
  // Opens `url` (store/database.h) and applies the "eval" migrations.
  static Result<std::unique_ptr<EvalStore>> open(std::string_view url);
  explicit EvalStore(store::DatabasePtr db) : db_(std::move(db)) {}

  store::Database& db() { return *db_; }

  Status createRun(const RunInfo& run);
  Status finishRun(const std::string& id, const std::string& status);
  Status setCasesTotal(const std::string& id, std::int64_t total);
  Result<std::optional<RunInfo>> getRun(const std::string& id);
  Result<std::vector<RunInfo>> listRuns(int limit);
  Result<bool> hasOutput(const std::string& run, std::int64_t case_idx, const std::string& target,
                         int repeat);

  Result<std::optional<std::string>> cacheGet(const std::string& key);
  // Writes a batch of results (and cache entries) in one transaction.
  Status write(const std::vector<ResultRecord>& batch);

  Result<std::vector<TargetSummary>> targetSummaries(const std::string& run);
  Result<std::vector<CategorySummary>> categorySummaries(const std::string& run);
  // Rows for cases [from, to) in case order (all targets and repeats).
  Result<std::vector<CaseOutputRow>> caseRows(const std::string& run, std::int64_t from,
                                              std::int64_t to, bool failures = true);
  Result<std::int64_t> maxCaseIndex(const std::string& run);  // -1 when none
  // Per (case id, target): majority pass in `baseline` and not in `run` is a regression.
  Result<BaselineDiff> compare(const std::string& run, const std::string& baseline);
  // Upserts quality_scores from the run's mean output score per (deployment, task type): the
  // deployment that answered ("provider/model") when known, else the target's model string.
  // Returns the rows written.
  Result<std::int64_t> updateQualityScores(const std::string& run);

 private:
  store::DatabasePtr db_;
};

// Streams ResultRecords to the store on its own thread.
class ResultWriter {
 public:
  explicit ResultWriter(EvalStore& store, std::size_t batch = 256);
  ~ResultWriter();  // close()

  void push(ResultRecord record);
  std::size_t pending() const;
  std::int64_t written() const;
  // Writes what is queued, stops the thread; the first write error, if any.
  Status close();

 private:
  void loop();

  EvalStore& store_;
  std::size_t batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ResultRecord> queue_;
  bool closing_ = false;
  std::size_t in_flight_ = 0;
  std::int64_t written_ = 0;
  Status error_;
  std::thread thread_;
};

// UTC with milliseconds: "2026-11-26T08:19:44.123Z" (sorts by time as text).
std::string nowIso8601();

}  // namespace switchyard::eval
