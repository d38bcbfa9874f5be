#pragma once
// Database: the one seam between Switchyard and its SQL store. Two implementations share it:
// SQLite (the embedded default, WAL mode) and PostgreSQL (several replicas share one). SQL is
// written once with `?` placeholders; the PostgreSQL implementation numbers them ($1, $2, ...).
// Where dialects differ (types, upserts), a Migration carries one script per dialect.
//
// Thread-safety: a Database serializes its calls internally (one connection, one mutex), so it
// may be shared; hot paths must not call it from I/O threads (use a writer thread or a cache).

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::store {

// A parameter or a column value: NULL, integer, real or text (blobs travel as text).
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

struct Row {
  std::vector<Value> values;

  bool isNull(std::size_t i) const { return std::holds_alternative<std::monostate>(values[i]); }
  // Conversions are lenient the way SQL is: text "12" reads as 12, NULL as 0 / "".
  std::int64_t integer(std::size_t i) const;
  double real(std::size_t i) const;
  std::string text(std::size_t i) const;
};

enum class Dialect { kSqlite, kPostgres };

class Database {
 public:
  virtual ~Database() = default;

  virtual Dialect dialect() const = 0;
  // Where it lives, with any password removed (for logs and errors).
  virtual const std::string& description() const = 0;

  // One statement with positional `?` parameters.
  virtual Status exec(std::string_view sql, std::span<const Value> params = {}) = 0;
  virtual Result<std::vector<Row>> query(std::string_view sql,
                                         std::span<const Value> params = {}) = 0;
  // Several statements separated by `;`, without parameters (schema scripts).
  virtual Status execScript(std::string_view sql) = 0;
  // Runs `body` inside one transaction: committed when it returns ok, rolled back otherwise.
  // Calls made by `body` on this Database run inside the transaction (the lock is re-entrant
  // for the calling thread).
  virtual Status transaction(const std::function<Status()>& body) = 0;
  // Rows changed by the last exec() on this thread's transaction or call.
  virtual std::int64_t changes() = 0;
};

using DatabasePtr = std::unique_ptr<Database>;

// Opens `url`: `sqlite://PATH` (relative paths are relative to the working directory),
// `sqlite::memory:`, or `postgres://user:pass@host:port/db` / `postgresql://...`.
Result<DatabasePtr> openDatabase(std::string_view url);

// A schema change. Versions are per component and applied in ascending order, each in its own
// transaction, and recorded in `schema_migrations`; re-running applies only the missing ones.
struct Migration {
  int version = 0;
  std::string_view name;
  std::string_view sqlite;    // script for SQLite
  std::string_view postgres;  // script for PostgreSQL; empty: same as `sqlite`
};

Status migrate(Database& db, std::string_view component, std::span<const Migration> migrations);

}  // namespace switchyard::store
