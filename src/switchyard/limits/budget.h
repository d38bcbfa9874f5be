#pragma once
// BudgetTracker: USD spent per scope ("key:<id>", "team:<name>") and period (UTC day or month).
// Admission reserves an estimate against the budget; the log phase settles the real cost. Spend
// is kept in memory and written behind to the store (component "limits", increments, so
// replicas sharing PostgreSQL add up) by a background thread once a second and at shutdown, so
// a restart does not reset it.
//
// Thread-safety: every method may be called from any thread; reserve()/settle() take one
// short lock and never touch the store.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/store/database.h"

namespace switchyard::limits {

class BudgetTracker {
 public:
  using SystemClock = std::chrono::system_clock;

  // `db` may be null (spend lives in memory only); otherwise it outlives the tracker.
  static Result<std::unique_ptr<BudgetTracker>> open(store::Database* db,
                                                     std::chrono::milliseconds flush_interval =
                                                         std::chrono::milliseconds(1000));
  ~BudgetTracker();  // writes what is pending
  BudgetTracker(const BudgetTracker&) = delete;
  BudgetTracker& operator=(const BudgetTracker&) = delete;

  struct Check {
    bool ok = true;
    double budget = 0;
    double spent = 0;     // settled this period
    double reserved = 0;  // in flight, this request's reservation included when ok
  };

  // Reserves `estimate` USD when spent + reserved + estimate stays within `budget` (with a zero
  // estimate: while anything is left).
  Check reserve(std::string_view scope, double budget, std::string_view period,
                double estimate, SystemClock::time_point now);
  // Releases `reserved` and adds `actual` to the period's spend.
  void settle(std::string_view scope, std::string_view period, double reserved, double actual,
              SystemClock::time_point now);
  double spent(std::string_view scope, std::string_view period, SystemClock::time_point now);
  // budget - spent - reserved (never below 0).
  double remaining(std::string_view scope, double budget, std::string_view period,
                   SystemClock::time_point now);

  // Writes pending spend now (blocking).
  Status flush();

  // ---- sharing with other gateways (SharedLimits) ----
  struct Spend {
    std::string scope;
    std::string period_key;  // "day:2026-11-26", "month:2026-11"
    double spent = 0;        // this gateway's view, `unshared` included
    double unshared = 0;     // settled here since the last export (then zeroed)
  };
  // The accounts of the current day and month.
  std::vector<Spend> exportSpend(SystemClock::time_point now);
  // Sets an account's spend to the shared total (which counts every export), plus what was
  // settled here since the export.
  void applySharedSpend(std::string_view scope, std::string_view period_key, double total);
  // Puts back spend whose export did not reach the other gateways, for the next one.
  void unexportSpend(const Spend& spend);

  // "day:2026-11-26" or "month:2026-11" for `now` in UTC.
  static std::string periodKey(std::string_view period, SystemClock::time_point now);

 private:
  struct Account {
    double spent = 0;
    double reserved = 0;
    double unwritten = 0;  // spend not yet in the store
    double unshared = 0;   // spend not yet exported to the other gateways
  };
  BudgetTracker(store::Database* db, std::chrono::milliseconds interval);
  Status load();
  void run();

  store::Database* db_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::map<std::string, Account, std::less<>> accounts_;  // scope '\n' period -> account
  std::mutex flush_mu_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace switchyard::limits
