#include "switchyard/audit/audit_log.h"

#include <chrono>

#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"

namespace switchyard::audit {
namespace {

constexpr std::size_t kMaxQueued = 100'000;

constexpr store::Migration kMigrations[] = {
    {1, "audit_log",
     "CREATE TABLE IF NOT EXISTS audit_log ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, actor TEXT NOT NULL,"
     " action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL,"
     " request_id TEXT NOT NULL);"
     "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at_ms)",
     "CREATE TABLE IF NOT EXISTS audit_log ("
     " id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, actor TEXT NOT NULL,"
     " action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL,"
     " request_id TEXT NOT NULL);"
     "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at_ms)"},
};

}  // namespace

std::int64_t nowUnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(store::Database& db) {
  if (Status s = store::migrate(db, "audit", kMigrations); !s.isOk()) return fail(std::move(s));
  std::unique_ptr<AuditLog> log(new AuditLog(db));
  log->thread_ = std::thread([p = log.get()] {
    setCurrentThreadName("sy-audit");
    p->run();
  });
  return log;
}

AuditLog::AuditLog(store::Database& db) : db_(db) {}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditLog::append(Entry entry) {
  if (entry.at_ms == 0) entry.at_ms = nowUnixMillis();
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(entry));
  }
  wake_.notify_one();
}

void AuditLog::flush() {
  std::unique_lock lock(mu_);
  wake_.notify_one();
  idle_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

std::uint64_t AuditLog::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void AuditLog::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) break;
    std::vector<Entry> batch(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.end()));
    queue_.clear();
    writing_ = true;
    lock.unlock();
    if (Status s = write(batch); !s.isOk()) {
      logEvent(spdlog::level::warn, "audit_write_failed",
               {{"error", s.message()}, {"entries", static_cast<long long>(batch.size())}});
    }
    lock.lock();
    writing_ = false;
    idle_.notify_all();
  }
  idle_.notify_all();
}

Status AuditLog::write(std::vector<Entry>& batch) {
  return db_.transaction([&]() -> Status {
    for (const Entry& e : batch) {
      const store::Value params[] = {e.at_ms, e.actor, e.action, e.target, e.detail,
                                     e.request_id};
      if (Status s = db_.exec("INSERT INTO audit_log (at_ms, actor, action, target, detail, "
                              "request_id) VALUES (?, ?, ?, ?, ?, ?)",
                              params);
          !s.isOk()) {
        return s;
      }
    }
    return Status::ok();
  });
}

Result<std::vector<Entry>> AuditLog::recent(int limit) {
  const store::Value params[] = {std::int64_t{limit}};
  auto rows = db_.query(
      "SELECT id, at_ms, actor, action, target, detail, request_id FROM audit_log "
      "ORDER BY id DESC LIMIT ?",
      params);
  if (!rows) return fail(std::move(rows.error()));
  std::vector<Entry> out;
  out.reserve(rows->size());
  for (const store::Row& r : *rows) {
    out.push_back(
        {r.integer(0), r.integer(1), r.text(2), r.text(3), r.text(4), r.text(5), r.text(6)});
  }
  return out;
}

}  // namespace switchyard::audit
