#include "switchyard/limits/budget.h"

#include <algorithm>
#include <ctime>
#include <vector>

#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"

namespace switchyard::limits {
namespace {

constexpr store::Migration kMigrations[] = {
    {1, "limits_spend",
     "CREATE TABLE IF NOT EXISTS limits_spend (scope TEXT NOT NULL, period TEXT NOT NULL,"
     " spent_usd REAL NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY (scope, period))",
     "CREATE TABLE IF NOT EXISTS limits_spend (scope TEXT NOT NULL, period TEXT NOT NULL,"
     " spent_usd DOUBLE PRECISION NOT NULL, updated_ms BIGINT NOT NULL,"
     " PRIMARY KEY (scope, period))"},
};

std::string accountKey(std::string_view scope, std::string_view period_key) {
  std::string key(scope);
  key += '\n';
  key += period_key;
  return key;
}

}  // namespace

std::string BudgetTracker::periodKey(std::string_view period, SystemClock::time_point now) {
  const std::time_t t = SystemClock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  if (period == "day") {
    std::snprintf(buf, sizeof buf, "day:%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday);
  } else {
    std::snprintf(buf, sizeof buf, "month:%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  }
  return buf;
}

Result<std::unique_ptr<BudgetTracker>> BudgetTracker::open(store::Database* db,
                                                           std::chrono::milliseconds interval) {
  std::unique_ptr<BudgetTracker> t(new BudgetTracker(db, interval));
  if (db != nullptr) {
    if (Status s = store::migrate(*db, "limits", kMigrations); !s.isOk()) {
      return fail(std::move(s));
    }
    if (Status s = t->load(); !s.isOk()) return fail(std::move(s));
    t->thread_ = std::thread([p = t.get()] {
      setCurrentThreadName("sy-budget");
      p->run();
    });
  }
  return t;
}

BudgetTracker::BudgetTracker(store::Database* db, std::chrono::milliseconds interval)
    : db_(db), interval_(interval) {}

BudgetTracker::~BudgetTracker() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (db_ != nullptr) (void)flush();
}

Status BudgetTracker::load() {
  const auto now = SystemClock::now();
  const store::Value params[] = {periodKey("day", now), periodKey("month", now)};
  auto rows = db_->query(
      "SELECT scope, period, spent_usd FROM limits_spend WHERE period = ? OR period = ?", params);
  if (!rows) return std::move(rows.error());
  std::lock_guard lock(mu_);
  for (const auto& r : *rows) accounts_[accountKey(r.text(0), r.text(1))].spent = r.real(2);
  return Status::ok();
}

void BudgetTracker::run() {
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, interval_, [&] { return stop_; })) {
    lock.unlock();
    if (Status s = flush(); !s.isOk()) {
      logEvent(spdlog::level::warn, "budget_flush_failed", {{"error", s.message()}});
    }
    lock.lock();
  }
}

Status BudgetTracker::flush() {
  if (db_ == nullptr) return Status::ok();
  std::lock_guard serial(flush_mu_);
  std::vector<std::pair<std::string, double>> pending;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, account] : accounts_) {
      if (account.unwritten != 0) {
        pending.emplace_back(key, account.unwritten);
        account.unwritten = 0;
      }
    }
  }
  if (pending.empty()) return Status::ok();
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  SystemClock::now().time_since_epoch())
                                  .count();
  Status s = db_->transaction([&]() -> Status {
    for (const auto& [key, delta] : pending) {
      const auto nl = key.find('\n');
      const store::Value params[] = {key.substr(0, nl), key.substr(nl + 1), delta, now_ms};
      if (Status e = db_->exec(
              "INSERT INTO limits_spend (scope, period, spent_usd, updated_ms) VALUES (?, ?, ?, ?)"
              " ON CONFLICT (scope, period) DO UPDATE SET"
              " spent_usd = limits_spend.spent_usd + excluded.spent_usd,"
              " updated_ms = excluded.updated_ms",
              params);
          !e.isOk()) {
        return e;
      }
    }
    return Status::ok();
  });
  if (!s.isOk()) {
    // Keep the spend for the next attempt.
    std::lock_guard lock(mu_);
    for (const auto& [key, delta] : pending) accounts_[key].unwritten += delta;
  }
  return s;
}

BudgetTracker::Check BudgetTracker::reserve(std::string_view scope, double budget,
                                            std::string_view period, double estimate,
                                            SystemClock::time_point now) {
  const std::string key = accountKey(scope, periodKey(period, now));
  std::lock_guard lock(mu_);
  Account& a = accounts_[key];
  Check c{true, budget, a.spent, a.reserved};
  const double used = a.spent + a.reserved;
  if (used >= budget || (estimate > 0 && used + estimate > budget)) {
    c.ok = false;
    return c;
  }
  a.reserved += estimate;
  c.reserved = a.reserved;
  return c;
}

void BudgetTracker::settle(std::string_view scope, std::string_view period, double reserved,
                           double actual, SystemClock::time_point now) {
  const std::string key = accountKey(scope, periodKey(period, now));
  std::lock_guard lock(mu_);
  Account& a = accounts_[key];
  a.reserved = std::max(0.0, a.reserved - reserved);
  a.spent += actual;
  a.unwritten += actual;
  a.unshared += actual;
}

std::vector<BudgetTracker::Spend> BudgetTracker::exportSpend(SystemClock::time_point now) {
  const std::string day = periodKey("day", now);
  const std::string month = periodKey("month", now);
  std::vector<Spend> out;
  std::lock_guard lock(mu_);
  for (auto& [key, account] : accounts_) {
    const auto nl = key.find('\n');
    const std::string_view period = std::string_view(key).substr(nl + 1);
    if (period != day && period != month) continue;
    out.push_back({key.substr(0, nl), std::string(period), account.spent, account.unshared});
    account.unshared = 0;
  }
  return out;
}

void BudgetTracker::applySharedSpend(std::string_view scope, std::string_view period_key,
                                     double total) {
  std::lock_guard lock(mu_);
  Account& a = accounts_[accountKey(scope, period_key)];
  a.spent = total + a.unshared;
}

void BudgetTracker::unexportSpend(const Spend& spend) {
  std::lock_guard lock(mu_);
  accounts_[accountKey(spend.scope, spend.period_key)].unshared += spend.unshared;
}

double BudgetTracker::spent(std::string_view scope, std::string_view period,
                            SystemClock::time_point now) {
  const std::string key = accountKey(scope, periodKey(period, now));
  std::lock_guard lock(mu_);
  auto it = accounts_.find(key);
  return it == accounts_.end() ? 0 : it->second.spent;
}

}  // namespace switchyard::limits

namespace switchyard::limits {

double BudgetTracker::remaining(std::string_view scope, double budget, std::string_view period,
                                SystemClock::time_point now) {
  const std::string key = accountKey(scope, periodKey(period, now));
  std::lock_guard lock(mu_);
  auto it = accounts_.find(key);
  const double used = it == accounts_.end() ? 0 : it->second.spent + it->second.reserved;
  return std::max(0.0, budget - used);
}

}  // namespace switchyard::limits
