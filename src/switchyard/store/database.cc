#include "switchyard/store/database.h"

#include <charconv>
#include <cstdlib>

#include "switchyard/store/postgres_database.h"
#include "switchyard/store/sqlite_database.h"

namespace switchyard::store {

std::int64_t Row::integer(std::size_t i) const {
  const Value& v = values[i];
  if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&v)) {
    std::int64_t out = 0;
    std::from_chars(s->data(), s->data() + s->size(), out);
    return out;
  }
  return 0;
}

double Row::real(std::size_t i) const {
  const Value& v = values[i];
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
  if (const auto* s = std::get_if<std::string>(&v)) return std::strtod(s->c_str(), nullptr);
  return 0.0;
}

std::string Row::text(std::size_t i) const {
  const Value& v = values[i];
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  return {};
}

Result<DatabasePtr> openDatabase(std::string_view url) {
  if (url == "sqlite::memory:") return openSqlite(":memory:");
  if (url.starts_with("sqlite://")) {
    std::string_view path = url.substr(9);
    if (path.empty()) return fail(ErrorCode::kInvalidArgument, "sqlite:// URL has no path");
    return openSqlite(std::string(path));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return openPostgres(std::string(url));
  }
  return fail(ErrorCode::kInvalidArgument,
              "storage URL must start with sqlite:// or postgres:// (got '" +
                  std::string(url.substr(0, url.find(':'))) + ":...')");
}

namespace {

Status migrateLocked(Database& db, std::string_view component,
                     std::span<const Migration> migrations) {
  if (Status s = db.execScript(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
          " applied_at TEXT NOT NULL, PRIMARY KEY (component, version))");
      !s.isOk()) {
    return s;
  }
  for (const Migration& m : migrations) {
    Status s = db.transaction([&]() -> Status {
      const Value key[] = {std::string(component), std::int64_t{m.version}};
      auto existing = db.query(
          "SELECT 1 FROM schema_migrations WHERE component = ? AND version = ?", key);
      if (!existing) return existing.error();
      if (!existing->empty()) return Status::ok();
      const std::string_view script =
          db.dialect() == Dialect::kPostgres && !m.postgres.empty() ? m.postgres : m.sqlite;
      if (Status run = db.execScript(script); !run.isOk()) {
        return Status(run.code(), std::string(component) + " migration " +
                                      std::to_string(m.version) + " (" + std::string(m.name) +
                                      "): " + run.message());
      }
      const Value row[] = {std::string(component), std::int64_t{m.version}, std::string(m.name)};
      return db.exec(
          db.dialect() == Dialect::kPostgres
              ? "INSERT INTO schema_migrations (component, version, name, applied_at) "
                "VALUES (?, ?, ?, to_char(now() AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) ON CONFLICT DO NOTHING"
              : "INSERT OR IGNORE INTO schema_migrations (component, version, name, applied_at) "
                "VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
          row);
    });
    if (!s.isOk()) return s;
  }
  return Status::ok();
}

}  // namespace

Status migrate(Database& db, std::string_view component, std::span<const Migration> migrations) {
  if (db.dialect() != Dialect::kPostgres) return migrateLocked(db, component, migrations);
  // Several replicas may start at once against one PostgreSQL: one migrates at a time (a
  // session-level advisory lock; SQLite's BEGIN IMMEDIATE already serializes writers).
  constexpr std::string_view kLock = "SELECT pg_advisory_lock(7411001)";
  if (Status s = db.execScript(kLock); !s.isOk()) return s;
  Status s = migrateLocked(db, component, migrations);
  (void)db.execScript("SELECT pg_advisory_unlock(7411001)");
  return s;
}

}  // namespace switchyard::store
