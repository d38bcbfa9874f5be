#pragma once
// DashboardQueries: the read side of the dashboard. Aggregates the request log (traffic, latency
// percentiles, tokens, cost, local vs cloud, routing decisions, guard interventions), lists
// recent requests with their feedback, and reads evaluation runs, all with portable SQL that
// runs on SQLite and PostgreSQL; answers are Boost.JSON objects the /admin/api endpoints send.
//
// Thread-safety: every method blocks on the store, so call them from a worker thread, never an
// I/O thread. Calls may come from several threads; each Database serializes its own calls.

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/core/status.h"
#include "switchyard/eval/eval_store.h"
#include "switchyard/store/database.h"

namespace switchyard::dashboard {

// A time window ending now, cut into equal buckets for the time series.
struct Window {
  std::int64_t from_ms = 0;  // inclusive; aligned down to a bucket boundary
  std::int64_t to_ms = 0;    // exclusive
  std::int64_t bucket_ms = 60'000;
  std::int64_t seconds = 3600;  // the length asked for

  // "15m", "1h", "24h", "7d" or a number of seconds (60 to 90 days); 60 buckets (at least 1 s).
  static Result<Window> parse(std::string_view text, std::int64_t now_ms);
  std::int64_t buckets() const { return (to_ms - from_ms + bucket_ms - 1) / bucket_ms; }
};

struct RequestFilter {
  std::int64_t from_ms = 0;
  int limit = 50;                // 1 to 500
  std::int64_t before_id = 0;    // > 0: rows with a smaller id (the next page)
  std::string model;             // "" or a model / requested model / route name
  std::string status;            // "", "ok" or "error"
};

// Provider name -> "local" or "cloud" (from its configured locality).
using Localities = std::map<std::string, std::string, std::less<>>;

class DashboardQueries {
 public:
  // Opens two connections to `url` (request log, evaluation store) and makes sure both schemas
  // exist (the migrations are safe to re-run). Blocking: call at start-up.
  static Result<std::unique_ptr<DashboardQueries>> open(std::string_view url);
  DashboardQueries(store::DatabasePtr db, std::unique_ptr<eval::EvalStore> eval);

  Result<boost::json::object> overview(const Window& w);
  Result<boost::json::object> costs(const Window& w);
  Result<boost::json::object> routing(const Window& w, const Localities& localities);
  Result<boost::json::object> guard(const Window& w);
  Result<boost::json::object> requests(const RequestFilter& f);
  // Every logged column of the request, and its feedback; nullopt when it is not logged.
  Result<std::optional<boost::json::object>> request(const std::string& request_id);
  Result<boost::json::object> evalRuns(int limit);
  Result<std::optional<boost::json::object>> evalRun(const std::string& id);

  // Rows read for the latency percentiles, newest first; more in the window are left out.
  static constexpr int kLatencySample = 200'000;

 private:
  store::DatabasePtr db_;
  std::unique_ptr<eval::EvalStore> eval_;
};

// Nearest-rank percentile of sorted `v` (q in 0..1); v must not be empty.
double percentile(const std::vector<double>& sorted, double q);

}  // namespace switchyard::dashboard
