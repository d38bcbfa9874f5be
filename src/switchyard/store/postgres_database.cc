#include "switchyard/store/postgres_database.h"

#include <libpq-fe.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <mutex>

namespace switchyard::store {
namespace {

// pg_type OIDs (catalog/pg_type_d.h, stable across versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

void ignoreNotice(void*, const char*) {}

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(PGconn* conn, std::string description)
      : conn_(conn), description_(std::move(description)) {
    PQsetNoticeProcessor(conn_, ignoreNotice, nullptr);
  }
  ~PostgresDatabase() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::kPostgres; }
  const std::string& description() const override { return description_; }

  Status exec(std::string_view sql, std::span<const Value> params) override {
    std::lock_guard lock(mu_);
    auto result = run(sql, params);
    if (!result) return result.error();
    PGresult* res = *result;
    const char* tuples = PQcmdTuples(res);
    changes_ = 0;
    if (tuples != nullptr && *tuples != 0) {
      std::from_chars(tuples, tuples + std::char_traits<char>::length(tuples), changes_);
    }
    PQclear(res);
    return Status::ok();
  }

  Result<std::vector<Row>> query(std::string_view sql, std::span<const Value> params) override {
    std::lock_guard lock(mu_);
    auto result = run(sql, params);
    if (!result) return fail(std::move(result.error()));
    PGresult* res = *result;
    const int rows = PQntuples(res);
    const int columns = PQnfields(res);
    std::vector<Row> out;
    out.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      Row row;
      row.values.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.values.emplace_back(std::monostate{});
          continue;
        }
        const char* v = PQgetvalue(res, r, c);
        const std::size_t len = static_cast<std::size_t>(PQgetlength(res, r, c));
        switch (PQftype(res, c)) {
          case kBoolOid: row.values.emplace_back(std::int64_t{v[0] == 't' ? 1 : 0}); break;
          case kInt2Oid:
          case kInt4Oid:
          case kInt8Oid:
          case kOidOid: {
            std::int64_t n = 0;
            std::from_chars(v, v + len, n);
            row.values.emplace_back(n);
            break;
          }
          case kFloat4Oid:
          case kFloat8Oid:
          case kNumericOid: row.values.emplace_back(std::strtod(v, nullptr)); break;
          default: row.values.emplace_back(std::string(v, len));
        }
      }
      out.push_back(std::move(row));
    }
    PQclear(res);
    return out;
  }

  Status execScript(std::string_view sql) override {
    std::lock_guard lock(mu_);
    if (Status s = ensureConnected(); !s.isOk()) return s;
    const std::string text(sql);
    PGresult* res = PQexec(conn_, text.c_str());
    const ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
      Status s = error("script", sql, res);
      PQclear(res);
      return s;
    }
    PQclear(res);
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
    if (Status s = execScript("BEGIN"); !s.isOk()) return s;
    depth_ = 1;
    Status s = body();
    depth_ = 0;
    if (!s.isOk()) {
      (void)execScript("ROLLBACK");
      return s;
    }
    if (Status c = execScript("COMMIT"); !c.isOk()) {
      (void)execScript("ROLLBACK");
      return c;
    }
    return Status::ok();
  }

  std::int64_t changes() override {
    std::lock_guard lock(mu_);
    return changes_;
  }

 private:
  // A dropped connection is re-established between transactions, never inside one (the
  // transaction's work would be silently lost).
  Status ensureConnected() {
    if (PQstatus(conn_) == CONNECTION_OK) return Status::ok();
    if (depth_ > 0) {
      return Status(ErrorCode::kUnavailable, description_ + ": connection lost in a transaction");
    }
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Status(ErrorCode::kUnavailable,
                    description_ + ": cannot reconnect: " + PQerrorMessage(conn_));
    }
    PQsetNoticeProcessor(conn_, ignoreNotice, nullptr);
    return Status::ok();
  }

  Result<PGresult*> run(std::string_view sql, std::span<const Value> params) {
    if (Status s = ensureConnected(); !s.isOk()) return fail(std::move(s));
    const std::string text = numberPlaceholders(sql);
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<Oid> types(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        storage[i] = std::to_string(*n);
        types[i] = kInt8Oid;
      } else if (const auto* d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", *d);
        storage[i] = buf;
        types[i] = kFloat8Oid;
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        storage[i] = *s;
      } else {
        continue;  // NULL
      }
      values[i] = storage[i].c_str();
    }
    PGresult* res = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()),
                                 types.data(), values.data(), nullptr, nullptr, 0);
    const ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Status s = error("exec", sql, res);
      PQclear(res);
      return fail(std::move(s));
    }
    return res;
  }

  Status error(std::string_view what, std::string_view sql, const PGresult* res) const {
    std::string message = res != nullptr ? PQresultErrorMessage(res) : "";
    if (message.empty()) message = PQerrorMessage(conn_);
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
      message.pop_back();
    }
    const ErrorCode code =
        PQstatus(conn_) == CONNECTION_OK ? ErrorCode::kInternal : ErrorCode::kUnavailable;
    return Status(code, description_ + ": " + std::string(what) + ": " + message + " [" +
                            std::string(sql.substr(0, 120)) + "]");
  }

  std::recursive_mutex mu_;
  PGconn* conn_;
  std::string description_;
  std::int64_t changes_ = 0;
  int depth_ = 0;
};

}  // namespace

std::string numberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // A quoted string or identifier; a doubled quote stays inside. E'...' also escapes with
      // a backslash.
      const bool backslash = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
      std::size_t j = i + 1;
      while (j < sql.size()) {
        if (backslash && sql[j] == '\\') {
          j += 2;
          continue;
        }
        if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      j = std::min(j + 1, sql.size());
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      std::size_t j = sql.find('\n', i);
      j = j == std::string_view::npos ? sql.size() : j;
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      std::size_t j = sql.find("*/", i + 2);
      j = j == std::string_view::npos ? sql.size() : j + 2;
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '$' && (i == 0 || !(std::isalnum(static_cast<unsigned char>(sql[i - 1])) ||
                                          sql[i - 1] == '_'))) {
      // $tag$ ... $tag$ (not $1, which is already a parameter).
      std::size_t j = i + 1;
      while (j < sql.size() &&
             (std::isalpha(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) {
        ++j;
      }
      if (j < sql.size() && sql[j] == '$') {
        const std::string_view tag = sql.substr(i, j - i + 1);
        const std::size_t end = sql.find(tag, j + 1);
        const std::size_t stop = end == std::string_view::npos ? sql.size() : end + tag.size();
        out.append(sql.substr(i, stop - i));
        i = stop;
      } else {
        out += c;
        ++i;
      }
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++n);
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

std::string redactUrl(std::string_view url) {
  std::string out(url);
  const std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const std::size_t at = out.find('@', scheme + 3);
    const std::size_t slash = out.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const std::size_t colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... in the query string.
  for (std::size_t p = out.find("password="); p != std::string::npos;
       p = out.find("password=", p + 1)) {
    const std::size_t start = p + 9;
    std::size_t end = out.find('&', start);
    if (end == std::string::npos) end = out.size();
    out.replace(start, end - start, "***");
  }
  return out;
}

Result<DatabasePtr> openPostgres(const std::string& url) {
  const std::string description = redactUrl(url);
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return fail(ErrorCode::kUnavailable, "cannot open " + description);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string what = PQerrorMessage(conn);
    while (!what.empty() && std::isspace(static_cast<unsigned char>(what.back()))) what.pop_back();
    PQfinish(conn);
    return fail(ErrorCode::kUnavailable, "cannot connect to " + description + ": " + what);
  }
  return DatabasePtr(std::make_unique<PostgresDatabase>(conn, description));
}

}  // namespace switchyard::store
