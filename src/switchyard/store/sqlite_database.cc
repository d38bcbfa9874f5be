#include "switchyard/store/sqlite_database.h"

#include <sqlite3.h>

#include <mutex>
#include <unordered_map>

namespace switchyard::store {
namespace {

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(sqlite3* db, std::string path) : db_(db), description_("sqlite://" + path) {}

  ~SqliteDatabase() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  const std::string& description() const override { return description_; }

  Status exec(std::string_view sql, std::span<const Value> params) override {
    std::lock_guard lock(mu_);
    auto stmt = prepare(sql, params);
    if (!stmt) return stmt.error();
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    }
    Status out = rc == SQLITE_DONE ? Status::ok() : error("exec", sql);
    unbind(*stmt);
    return out;
  }

  Result<std::vector<Row>> query(std::string_view sql, std::span<const Value> params) override {
    std::lock_guard lock(mu_);
    auto stmt = prepare(sql, params);
    if (!stmt) return fail(std::move(stmt.error()));
    std::vector<Row> rows;
    int rc;
    const int columns = sqlite3_column_count(*stmt);
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      Row row;
      row.values.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(*stmt, c)) {
          case SQLITE_INTEGER: row.values.emplace_back(std::int64_t{sqlite3_column_int64(*stmt, c)}); break;
          case SQLITE_FLOAT: row.values.emplace_back(sqlite3_column_double(*stmt, c)); break;
          case SQLITE_NULL: row.values.emplace_back(std::monostate{}); break;
          default: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_blob(*stmt, c));
            row.values.emplace_back(
                std::string(text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(*stmt, c))));
          }
        }
      }
      rows.push_back(std::move(row));
    }
    Status out = rc == SQLITE_DONE ? Status::ok() : error("query", sql);
    unbind(*stmt);
    if (!out.isOk()) return fail(std::move(out));
    return rows;
  }

  Status execScript(std::string_view sql) override {
    std::lock_guard lock(mu_);
    char* message = nullptr;
    const std::string text(sql);
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string what = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return Status(ErrorCode::kInternal, description_ + ": " + what);
    }
    return Status::ok();
  }

  Status transaction(const std::function<Status()>& body) override {
    std::lock_guard lock(mu_);
    if (depth_ > 0) {  // nested: part of the outer transaction
      ++depth_;
      Status s = body();
      --depth_;
      return s;
    }
    // BEGIN and COMMIT as cached statements: a batch writer runs them for every batch.
    if (Status s = exec("BEGIN IMMEDIATE", {}); !s.isOk()) return s;
    depth_ = 1;
    Status s = body();
    depth_ = 0;
    if (!s.isOk()) {
      (void)execScript("ROLLBACK");
      return s;
    }
    if (Status c = exec("COMMIT", {}); !c.isOk()) {
      (void)execScript("ROLLBACK");
      return c;
    }
    return Status::ok();
  }

  std::int64_t changes() override {
    std::lock_guard lock(mu_);
    return sqlite3_changes64(db_);
  }

 private:
  Result<sqlite3_stmt*> prepare(std::string_view sql, std::span<const Value> params) {
    sqlite3_stmt* stmt = nullptr;
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
      stmt = it->second;  // reset and unbound after its last use
    } else {
      if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                             SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
        return fail(error("prepare", sql));
      }
      statements_.emplace(std::string(sql), stmt);
    }
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (expected != static_cast<int>(params.size())) {
      return fail(ErrorCode::kInternal, description_ + ": statement wants " +
                                            std::to_string(expected) + " parameters, got " +
                                            std::to_string(params.size()) + ": " +
                                            std::string(sql));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int at = static_cast<int>(i) + 1;
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, at, *n);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, at, *d);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        // Not copied: `params` outlive the statement's use, which unbind() ends.
        rc = sqlite3_bind_text64(stmt, at, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      }
      // NULL needs no call: a statement starts with every parameter NULL, and unbind() clears
      // them after each use.
      if (rc != SQLITE_OK) {
        Status bad = error("bind", sql);
        unbind(stmt);
        return fail(std::move(bad));
      }
    }
    return stmt;
  }

  // After a statement ran: reset it and drop its bindings, which point into the caller's
  // parameters (bound without a copy).
  static void unbind(sqlite3_stmt* stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }

  Status error(std::string_view what, std::string_view sql) const {
    return Status(ErrorCode::kInternal, description_ + ": " + std::string(what) + ": " +
                                            sqlite3_errmsg(db_) + " [" +
                                            std::string(sql.substr(0, 120)) + "]");
  }

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::recursive_mutex mu_;
  sqlite3* db_;
  std::string description_;
  std::unordered_map<std::string, sqlite3_stmt*, Hash, std::equal_to<>> statements_;
  int depth_ = 0;
};

}  // namespace

Result<DatabasePtr> openSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string what = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return fail(ErrorCode::kUnavailable, "cannot open SQLite database '" + path + "': " + what);
  }
  sqlite3_busy_timeout(db, 5000);
  auto out = std::make_unique<SqliteDatabase>(db, path);
  const char* pragmas = path == ":memory:"
                            ? "PRAGMA foreign_keys=ON"
                            : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                              "PRAGMA foreign_keys=ON";
  if (Status s = out->execScript(pragmas); !s.isOk()) return fail(std::move(s));
  return DatabasePtr(std::move(out));
}

}  // namespace switchyard::store
