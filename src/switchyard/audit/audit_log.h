#pragma once
// AuditLog: the append-only record of admin actions (key created, revoked, rotated) and guard
// interventions (entity type, action, request id). Entries never hold key material or the
// values a guard found. append() is cheap and non-blocking: a background thread writes batches
// to the store. Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/store/database.h"

namespace switchyard::audit {

struct Entry {
  std::int64_t id = 0;       // assigned by the store
  std::int64_t at_ms = 0;    // Unix milliseconds; 0: now
  std::string actor;         // "admin", "cli", "guard"
  std::string action;        // "key.create", "key.revoke", "guard.redact", ...
  std::string target;        // key id, entity type, ...
  std::string detail;        // short, never a secret ("name=ci team=ml", "count=2")
  std::string request_id;    // guard entries: the request
};

class AuditLog {
 public:
  // Creates the table (component "audit") and starts the writer thread. `db` outlives the log.
  static Result<std::unique_ptr<AuditLog>> open(store::Database& db);
  ~AuditLog();  // writes what is queued, stops the thread
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues one entry; never blocks on the store. Drops (and counts) beyond 100k queued.
  void append(Entry entry);
  // Writes everything queued so far, blocking (tests, the CLI before it exits, shutdown).
  void flush();
  // The newest entries first (blocking: call off the I/O threads).
  Result<std::vector<Entry>> recent(int limit);

  std::uint64_t dropped() const;

 private:
  explicit AuditLog(store::Database& db);
  void run();
  Status write(std::vector<Entry>& batch);

  store::Database& db_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Entry> queue_;
  bool writing_ = false;
  bool stop_ = false;
  std::uint64_t dropped_ = 0;
  std::thread thread_;
};

using AuditLogPtr = std::unique_ptr<AuditLog>;

std::int64_t nowUnixMillis();

}  // namespace switchyard::audit
