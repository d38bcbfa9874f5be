#include "switchyard/dashboard/queries.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "switchyard/telemetry/request_log.h"

namespace switchyard::dashboard {
namespace {

namespace json = boost::json;
using store::Row;
using store::Value;

constexpr std::string_view kInWindow = " FROM request_log WHERE ts_ms >= ? AND ts_ms < ?";
constexpr std::string_view kIsError = "CASE WHEN status >= 400 THEN 1 ELSE 0 END";

json::value nullableReal(const Row& r, std::size_t i) {
  if (r.isNull(i)) return nullptr;
  return r.real(i);
}

// p50/p95/p99 of `v` (sorted here), or nulls when it is empty.
json::object percentiles(std::vector<double>& v) {
  json::object o;
  o["count"] = v.size();
  if (v.empty()) {
    o["p50"] = nullptr;
    o["p95"] = nullptr;
    o["p99"] = nullptr;
    return o;
  }
  std::sort(v.begin(), v.end());
  o["p50"] = percentile(v, 0.50);
  o["p95"] = percentile(v, 0.95);
  o["p99"] = percentile(v, 0.99);
  return o;
}

std::int64_t parseCount(std::string_view s) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc() && ptr == s.data() + s.size() ? n : 0;
}

// The request log's columns, in the order request() reads them, and how each is typed.
enum class Kind { kInt, kReal, kText, kBool };
struct Column {
  std::string_view name;
  Kind kind;
};
constexpr Column kColumns[] = {
    {"id", Kind::kInt},
    {"ts_ms", Kind::kInt},
    {"request_id", Kind::kText},
    {"key_id", Kind::kText},
    {"key_name", Kind::kText},
    {"team", Kind::kText},
    {"endpoint", Kind::kText},
    {"format", Kind::kText},
    {"stream", Kind::kBool},
    {"requested_model", Kind::kText},
    {"route", Kind::kText},
    {"provider", Kind::kText},
    {"model", Kind::kText},
    {"model_version", Kind::kText},
    {"status", Kind::kInt},
    {"error_type", Kind::kText},
    {"queue_ms", Kind::kReal},
    {"ttft_ms", Kind::kReal},
    {"total_ms", Kind::kReal},
    {"overhead_ms", Kind::kReal},
    {"prompt_tokens", Kind::kInt},
    {"completion_tokens", Kind::kInt},
    {"cached_tokens", Kind::kInt},
    {"cache_write_tokens", Kind::kInt},
    {"reasoning_tokens", Kind::kInt},
    {"cost_usd", Kind::kReal},
    {"cache", Kind::kText},
    {"guard_summary", Kind::kText},
    {"local_only", Kind::kBool},
    {"decision", Kind::kText},
    {"attempts", Kind::kInt},
    {"task_type", Kind::kText},
    {"risk_tier", Kind::kText},
    {"rag_collection", Kind::kText},
    {"request_payload", Kind::kText},
    {"response_payload", Kind::kText},
};

json::value columnValue(const Row& r, std::size_t i, Kind kind) {
  switch (kind) {
    case Kind::kInt:
      return r.integer(i);
    case Kind::kReal:
      return nullableReal(r, i);
    case Kind::kBool:
      return r.integer(i) != 0;
    case Kind::kText:
      return json::string(r.text(i));
  }
  return nullptr;
}

std::string columnList(std::string_view prefix, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += ", ";
    out += prefix;
    out += kColumns[i].name;
  }
  return out;
}

json::object targetJson(const eval::TargetSummary& t) {
  json::object o;
  o["target"] = t.target;
  o["outputs"] = t.outputs;
  o["passed"] = t.passed;
  o["errors"] = t.errors;
  o["pass_rate"] = t.passRate();
  o["mean_score"] = t.mean_score;
  o["mean_latency_ms"] = t.mean_latency_ms;
  o["p50_latency_ms"] = t.p50_latency_ms;
  o["p95_latency_ms"] = t.p95_latency_ms;
  o["prompt_tokens"] = t.prompt_tokens;
  o["completion_tokens"] = t.completion_tokens;
  o["cost_usd"] = t.cost_usd;
  return o;
}

json::object runJson(const eval::RunInfo& run, const std::vector<eval::TargetSummary>& targets) {
  json::object o;
  o["id"] = run.id;
  o["suite"] = run.suite;
  o["started_at"] = run.started_at;
  o["finished_at"] = run.finished_at;
  o["status"] = run.status;
  o["baseline"] = run.baseline;
  o["cases_total"] = run.cases_total;
  std::int64_t outputs = 0, passed = 0;
  double cost = 0;
  json::array list;
  for (const auto& t : targets) {
    outputs += t.outputs;
    passed += t.passed;
    cost += t.cost_usd;
    list.emplace_back(targetJson(t));
  }
  o["outputs"] = outputs;
  o["passed"] = passed;
  o["pass_rate"] = outputs > 0 ? static_cast<double>(passed) / static_cast<double>(outputs) : 0.0;
  o["cost_usd"] = cost;
  o["targets"] = std::move(list);
  return o;
}

}  // namespace

double percentile(const std::vector<double>& sorted, double q) {
  const std::size_t n = sorted.size();
  std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

Result<Window> Window::parse(std::string_view text, std::int64_t now_ms) {
  std::int64_t seconds = 3600;
  if (!text.empty()) {
    std::int64_t unit = 1;
    std::string_view digits = text;
    switch (text.back()) {
      case 's': unit = 1; digits.remove_suffix(1); break;
      case 'm': unit = 60; digits.remove_suffix(1); break;
      case 'h': unit = 3600; digits.remove_suffix(1); break;
      case 'd': unit = 86400; digits.remove_suffix(1); break;
      default: break;
    }
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || n <= 0 ||
        n > 90LL * 86400) {
      return fail(Status(ErrorCode::kInvalidArgument,
                         "window: expected a duration like 15m, 1h, 24h or 7d (at most 90d)")
                      .withParam("window"));
    }
    seconds = n * unit;
  }
  if (seconds < 60 || seconds > 90LL * 86400) {
    return fail(Status(ErrorCode::kInvalidArgument, "window: must be between 1m and 90d")
                    .withParam("window"));
  }
  Window w;
  w.seconds = seconds;
  w.bucket_ms = std::max<std::int64_t>(1000, seconds * 1000 / 60);
  w.to_ms = now_ms + 1;  // rows stamped this very millisecond count
  w.from_ms = (now_ms - seconds * 1000) / w.bucket_ms * w.bucket_ms;
  return w;
}

Result<std::unique_ptr<DashboardQueries>> DashboardQueries::open(std::string_view url) {
  auto db = store::openDatabase(url);
  if (!db) return fail(std::move(db.error()));
  // The request log's own migrations: the tables exist even when logging is off (then empty).
  if (Status s = store::migrate(**db, "telemetry", telemetry::telemetryMigrations()); !s.isOk()) {
    return fail(std::move(s));
  }
  auto eval = eval::EvalStore::open(url);
  if (!eval) return fail(std::move(eval.error()));
  return std::make_unique<DashboardQueries>(std::move(*db), std::move(*eval));
}

DashboardQueries::DashboardQueries(store::DatabasePtr db, std::unique_ptr<eval::EvalStore> eval)
    : db_(std::move(db)), eval_(std::move(eval)) {}

Result<json::object> DashboardQueries::overview(const Window& w) {
  const Value range[] = {w.from_ms, w.to_ms};
  auto totals = db_->query(
      "SELECT COUNT(*), SUM(" + std::string(kIsError) +
          "), SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), "
          "SUM(reasoning_tokens), SUM(cost_usd)" + std::string(kInWindow),
      range);
  if (!totals) return fail(std::move(totals.error()));
  const Row& t = totals->at(0);
  json::object o;
  o["window_s"] = w.seconds;
  o["from_ms"] = w.from_ms;
  o["to_ms"] = w.to_ms;
  o["bucket_s"] = static_cast<double>(w.bucket_ms) / 1000.0;
  const std::int64_t requests = t.integer(0);
  const std::int64_t errors = t.integer(1);
  o["requests"] = requests;
  o["errors"] = errors;
  o["error_rate"] = requests > 0 ? static_cast<double>(errors) / static_cast<double>(requests) : 0.0;
  o["rps"] = static_cast<double>(requests) / static_cast<double>(w.seconds);
  o["tokens"] = json::object{{"prompt", t.integer(2)},
                             {"completion", t.integer(3)},
                             {"cached", t.integer(4)},
                             {"reasoning", t.integer(5)}};
  o["cost_usd"] = t.real(6);

  // Requests and errors per bucket (exact), latency per bucket from the sample below.
  const std::size_t buckets = static_cast<std::size_t>(w.buckets());
  std::vector<std::int64_t> count(buckets, 0), errs(buckets, 0);
  const Value series_params[] = {w.from_ms, w.bucket_ms, w.from_ms, w.to_ms};
  auto series = db_->query("SELECT (ts_ms - ?) / ?, COUNT(*), SUM(" + std::string(kIsError) +
                               ")" + std::string(kInWindow) + " GROUP BY 1",
                           series_params);
  if (!series) return fail(std::move(series.error()));
  for (const Row& r : *series) {
    const std::int64_t b = r.integer(0);
    if (b < 0 || b >= static_cast<std::int64_t>(buckets)) continue;
    count[static_cast<std::size_t>(b)] = r.integer(1);
    errs[static_cast<std::size_t>(b)] = r.integer(2);
  }

  const Value sample_params[] = {w.from_ms, w.to_ms, std::int64_t{kLatencySample}};
  auto sample = db_->query("SELECT ts_ms, ttft_ms, total_ms, overhead_ms" +
                               std::string(kInWindow) + " ORDER BY id DESC LIMIT ?",
                           sample_params);
  if (!sample) return fail(std::move(sample.error()));
  std::vector<double> ttft, total, overhead;
  std::vector<std::vector<double>> per_bucket(buckets);
  for (const Row& r : *sample) {
    if (!r.isNull(1)) ttft.push_back(r.real(1));
    if (!r.isNull(2)) total.push_back(r.real(2));
    if (!r.isNull(3)) overhead.push_back(r.real(3));
    const std::int64_t b = (r.integer(0) - w.from_ms) / w.bucket_ms;
    if (b >= 0 && b < static_cast<std::int64_t>(buckets) && !r.isNull(2)) {
      per_bucket[static_cast<std::size_t>(b)].push_back(r.real(2));
    }
  }
  o["latency_sample"] = sample->size();
  o["latency_ms"] = json::object{{"ttft", percentiles(ttft)},
                                 {"total", percentiles(total)},
                                 {"overhead", percentiles(overhead)}};

  json::array ts, req, err, rps, p50, p95;
  const double bucket_s = static_cast<double>(w.bucket_ms) / 1000.0;
  for (std::size_t b = 0; b < buckets; ++b) {
    ts.emplace_back((w.from_ms + static_cast<std::int64_t>(b) * w.bucket_ms) / 1000);
    req.emplace_back(count[b]);
    err.emplace_back(errs[b]);
    rps.emplace_back(static_cast<double>(count[b]) / bucket_s);
    auto& v = per_bucket[b];
    if (v.empty()) {
      p50.emplace_back(nullptr);
      p95.emplace_back(nullptr);
    } else {
      std::sort(v.begin(), v.end());
      p50.emplace_back(percentile(v, 0.5));
      p95.emplace_back(percentile(v, 0.95));
    }
  }
  o["series"] = json::object{{"t", std::move(ts)},         {"requests", std::move(req)},
                             {"errors", std::move(err)},   {"rps", std::move(rps)},
                             {"p50_ms", std::move(p50)},   {"p95_ms", std::move(p95)}};

  auto statuses = db_->query("SELECT status, COUNT(*)" + std::string(kInWindow) +
                                 " GROUP BY status ORDER BY status",
                             range);
  if (!statuses) return fail(std::move(statuses.error()));
  json::array by_status;
  for (const Row& r : *statuses) {
    by_status.emplace_back(json::object{{"status", r.integer(0)}, {"requests", r.integer(1)}});
  }
  o["by_status"] = std::move(by_status);
  return o;
}

Result<json::object> DashboardQueries::costs(const Window& w) {
  const Value range[] = {w.from_ms, w.to_ms};
  struct Group {
    std::string_view field;
    std::string_view expr;
    std::string_view empty;  // label for rows without a value
  };
  static constexpr Group kGroups[] = {
      {"by_model", "COALESCE(provider, '') || '/' || COALESCE(model, '')", "(not routed)"},
      {"by_key",
       "CASE WHEN COALESCE(key_name, '') <> '' THEN key_name ELSE COALESCE(key_id, '') END",
       "(no key)"},
      {"by_team", "COALESCE(team, '')", "(no team)"},
      {"by_route", "COALESCE(route, '')", "(no route)"},
  };
  json::object o;
  double total = 0;
  for (const Group& g : kGroups) {
    auto rows = db_->query("SELECT " + std::string(g.expr) + ", COUNT(*), SUM(" +
                               std::string(kIsError) +
                               "), SUM(cost_usd), SUM(prompt_tokens), SUM(completion_tokens)" +
                               std::string(kInWindow) + " GROUP BY 1 ORDER BY 4 DESC, 2 DESC",
                           range);
    if (!rows) return fail(std::move(rows.error()));
    json::array list;
    double sum = 0;
    for (const Row& r : *rows) {
      std::string name = r.text(0);
      if (name.empty() || name == "/") name = std::string(g.empty);
      sum += r.real(3);
      if (list.size() >= 50) continue;  // the rest only count in the total
      list.emplace_back(json::object{{"name", name},
                                     {"requests", r.integer(1)},
                                     {"errors", r.integer(2)},
                                     {"cost_usd", r.real(3)},
                                     {"prompt_tokens", r.integer(4)},
                                     {"completion_tokens", r.integer(5)}});
    }
    total = sum;
    o[g.field] = std::move(list);
  }
  o["total_usd"] = total;
  return o;
}

Result<json::object> DashboardQueries::routing(const Window& w, const Localities& localities) {
  const Value range[] = {w.from_ms, w.to_ms};
  auto locality = [&](const std::string& provider) -> std::string {
    if (provider.empty()) return "none";
    auto it = localities.find(provider);
    return it == localities.end() ? "cloud" : it->second;
  };
  auto rows = db_->query("SELECT COALESCE(provider, ''), local_only, COUNT(*), SUM(cost_usd), SUM(" +
                             std::string(kIsError) + ")" + std::string(kInWindow) +
                             " GROUP BY 1, 2 ORDER BY 1",
                         range);
  if (!rows) return fail(std::move(rows.error()));
  struct Share {
    std::int64_t requests = 0, errors = 0;
    double cost = 0;
  };
  std::map<std::string, Share> shares{{"local", {}}, {"cloud", {}}, {"none", {}}};
  std::map<std::string, std::int64_t> per_provider;
  std::int64_t local_only = 0;
  for (const Row& r : *rows) {
    const std::string provider = r.text(0);
    Share& s = shares[locality(provider)];
    s.requests += r.integer(2);
    s.cost += r.real(3);
    s.errors += r.integer(4);
    if (r.integer(1) != 0) local_only += r.integer(2);
    if (!provider.empty()) per_provider[provider] += r.integer(2);
  }
  json::object o;
  for (const auto& [name, s] : shares) {
    o[name] = json::object{
        {"requests", s.requests}, {"errors", s.errors}, {"cost_usd", s.cost}};
  }
  o["local_only"] = local_only;
  json::array providers;
  for (const auto& [name, n] : per_provider) {
    providers.emplace_back(
        json::object{{"name", name}, {"locality", locality(name)}, {"requests", n}});
  }
  o["providers"] = std::move(providers);

  // Why: the routing decision of each request, split by where it went.
  auto decisions = db_->query("SELECT COALESCE(decision, ''), COALESCE(provider, ''), COUNT(*)" +
                                  std::string(kInWindow) + " GROUP BY 1, 2",
                              range);
  if (!decisions) return fail(std::move(decisions.error()));
  struct Why {
    std::int64_t local = 0, cloud = 0, none = 0;
    std::int64_t total() const { return local + cloud + none; }
  };
  std::map<std::string, Why> why;
  for (const Row& r : *decisions) {
    std::string d = r.text(0);
    if (d.empty()) d = "(not routed)";
    Why& y = why[d];
    const std::string where = locality(r.text(1));
    (where == "local" ? y.local : where == "none" ? y.none : y.cloud) += r.integer(2);
  }
  std::vector<std::pair<std::string, Why>> sorted(why.begin(), why.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second.total() > b.second.total();
  });
  json::array reasons;
  for (const auto& [d, y] : sorted) {
    if (reasons.size() >= 20) break;
    reasons.emplace_back(json::object{{"decision", d},
                                      {"requests", y.total()},
                                      {"local", y.local},
                                      {"cloud", y.cloud},
                                      {"none", y.none}});
  }
  o["decisions"] = std::move(reasons);

  auto tasks = db_->query("SELECT COALESCE(task_type, ''), COUNT(*)" + std::string(kInWindow) +
                              " GROUP BY 1 ORDER BY 2 DESC",
                          range);
  if (!tasks) return fail(std::move(tasks.error()));
  json::array task_types;
  for (const Row& r : *tasks) {
    if (task_types.size() >= 20) break;
    const std::string name = r.text(0);
    task_types.emplace_back(
        json::object{{"name", name.empty() ? "(none)" : name}, {"requests", r.integer(1)}});
  }
  o["task_types"] = std::move(task_types);
  return o;
}

Result<json::object> DashboardQueries::guard(const Window& w) {
  const Value range[] = {w.from_ms, w.to_ms};
  auto rows = db_->query("SELECT guard_summary, COUNT(*)" + std::string(kInWindow) +
                             " AND guard_summary IS NOT NULL AND guard_summary <> '' GROUP BY 1",
                         range);
  if (!rows) return fail(std::move(rows.error()));
  struct Type {
    std::int64_t findings = 0, requests = 0;
    std::map<std::string, std::int64_t> actions;
  };
  std::map<std::string, Type> types;
  std::map<std::string, std::int64_t> actions;
  std::int64_t with_findings = 0;
  for (const Row& r : *rows) {
    // "EMAIL:redact:2,PHONE:local_only:1"
    const std::string summary = r.text(0);
    const std::int64_t n = r.integer(1);
    with_findings += n;
    std::string_view rest = summary;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const std::size_t a = item.find(':');
      const std::size_t b = a == std::string_view::npos ? a : item.find(':', a + 1);
      if (b == std::string_view::npos) continue;
      Type& t = types[std::string(item.substr(0, a))];
      const std::string action(item.substr(a + 1, b - a - 1));
      const std::int64_t found = std::max<std::int64_t>(1, parseCount(item.substr(b + 1)));
      t.findings += found * n;
      t.requests += n;
      t.actions[action] += n;
      actions[action] += n;
    }
  }
  auto blocked = db_->query("SELECT COUNT(*)" + std::string(kInWindow) +
                                " AND error_type IN ('pii_blocked', 'secret_blocked')",
                            range);
  if (!blocked) return fail(std::move(blocked.error()));
  auto local_only = db_->query("SELECT COUNT(*)" + std::string(kInWindow) + " AND local_only <> 0",
                               range);
  if (!local_only) return fail(std::move(local_only.error()));

  json::object o;
  o["requests_with_findings"] = with_findings;
  o["blocked"] = blocked->at(0).integer(0);
  o["kept_local"] = local_only->at(0).integer(0);
  json::array by_type;
  for (const auto& [name, t] : types) {
    json::object acts;
    for (const auto& [a, n] : t.actions) acts[a] = n;
    by_type.emplace_back(json::object{{"type", name},
                                      {"findings", t.findings},
                                      {"requests", t.requests},
                                      {"actions", std::move(acts)}});
  }
  o["by_type"] = std::move(by_type);
  json::object by_action;
  for (const auto& [a, n] : actions) by_action[a] = n;
  o["by_action"] = std::move(by_action);
  return o;
}

Result<json::object> DashboardQueries::requests(const RequestFilter& f) {
  // Summary columns (the first 31 of kColumns: no payloads), then feedback joined in.
  constexpr std::size_t kSummary = 31;
  std::string sql = "SELECT " + columnList("r.", kSummary) +
                    ", (SELECT COUNT(*) FROM feedback f WHERE f.request_id = r.request_id), "
                    "(SELECT AVG(score) FROM feedback f WHERE f.request_id = r.request_id) "
                    "FROM request_log r WHERE r.ts_ms >= ?";
  std::vector<Value> params{f.from_ms};
  if (f.before_id > 0) {
    sql += " AND r.id < ?";
    params.emplace_back(f.before_id);
  }
  if (!f.model.empty()) {
    sql += " AND (r.model = ? OR r.requested_model = ? OR r.route = ? OR r.provider = ?)";
    for (int i = 0; i < 4; ++i) params.emplace_back(f.model);
  }
  if (f.status == "ok") sql += " AND r.status < 400";
  if (f.status == "error") sql += " AND r.status >= 400";
  sql += " ORDER BY r.id DESC LIMIT ?";
  params.emplace_back(std::int64_t{f.limit} + 1);
  auto rows = db_->query(sql, params);
  if (!rows) return fail(std::move(rows.error()));
  json::array data;
  const bool more = rows->size() > static_cast<std::size_t>(f.limit);
  for (std::size_t i = 0; i < rows->size() && i < static_cast<std::size_t>(f.limit); ++i) {
    const Row& r = (*rows)[i];
    json::object o;
    for (std::size_t c = 0; c < kSummary; ++c) {
      o[kColumns[c].name] = columnValue(r, c, kColumns[c].kind);
    }
    o["feedback_count"] = r.integer(kSummary);
    o["feedback_score"] = nullableReal(r, kSummary + 1);
    data.emplace_back(std::move(o));
  }
  json::object out;
  out["next_before"] = more ? data.back().as_object().at("id") : json::value(nullptr);
  out["data"] = std::move(data);
  out["has_more"] = more;
  return out;
}

Result<std::optional<json::object>> DashboardQueries::request(const std::string& request_id) {
  constexpr std::size_t n = std::size(kColumns);
  const Value id[] = {request_id};
  auto rows = db_->query("SELECT " + columnList("", n) +
                             " FROM request_log WHERE request_id = ? ORDER BY id DESC LIMIT 1",
                         id);
  if (!rows) return fail(std::move(rows.error()));
  if (rows->empty()) return std::optional<json::object>();
  json::object req;
  for (std::size_t c = 0; c < n; ++c) {
    req[kColumns[c].name] = columnValue(rows->front(), c, kColumns[c].kind);
  }
  auto feedback = db_->query(
      "SELECT ts_ms, score, label, comment FROM feedback WHERE request_id = ? ORDER BY id", id);
  if (!feedback) return fail(std::move(feedback.error()));
  json::array list;
  for (const Row& r : *feedback) {
    list.emplace_back(json::object{{"ts_ms", r.integer(0)},
                                   {"score", nullableReal(r, 1)},
                                   {"label", r.text(2)},
                                   {"comment", r.text(3)}});
  }
  json::object o;
  o["request"] = std::move(req);
  o["feedback"] = std::move(list);
  return std::optional<json::object>(std::move(o));
}

Result<json::object> DashboardQueries::evalRuns(int limit) {
  auto runs = eval_->listRuns(limit);
  if (!runs) return fail(std::move(runs.error()));
  json::array data;
  for (const auto& run : *runs) {
    auto targets = eval_->targetSummaries(run.id);
    if (!targets) return fail(std::move(targets.error()));
    data.emplace_back(runJson(run, *targets));
  }
  return json::object{{"data", std::move(data)}};
}

Result<std::optional<json::object>> DashboardQueries::evalRun(const std::string& id) {
  auto run = eval_->getRun(id);
  if (!run) return fail(std::move(run.error()));
  if (!*run) return std::optional<json::object>();
  auto targets = eval_->targetSummaries(id);
  if (!targets) return fail(std::move(targets.error()));
  json::object o = runJson(**run, *targets);
  boost::system::error_code ec;
  json::value target_spec = json::parse((*run)->targets, ec);
  o["target_spec"] = ec ? json::value(json::array()) : target_spec;

  auto categories = eval_->categorySummaries(id);
  if (!categories) return fail(std::move(categories.error()));
  json::array cats;
  for (const auto& c : *categories) {
    cats.emplace_back(json::object{
        {"category", c.category.empty() ? "(none)" : c.category},
        {"target", c.target},
        {"outputs", c.outputs},
        {"passed", c.passed},
        {"pass_rate",
         c.outputs > 0 ? static_cast<double>(c.passed) / static_cast<double>(c.outputs) : 0.0},
        {"mean_score", c.mean_score},
        {"mean_latency_ms", c.mean_latency_ms},
        {"cost_usd", c.cost_usd}});
  }
  o["categories"] = std::move(cats);

  // The first failing outputs, for a look at what went wrong.
  auto last = eval_->maxCaseIndex(id);
  if (!last) return fail(std::move(last.error()));
  json::array failures;
  constexpr std::int64_t kPage = 500;
  for (std::int64_t from = 0; from <= *last && failures.size() < 50; from += kPage) {
    auto rows = eval_->caseRows(id, from, from + kPage, true);
    if (!rows) return fail(std::move(rows.error()));
    for (const auto& r : *rows) {
      if (r.passed || failures.size() >= 50) continue;
      failures.emplace_back(json::object{{"case_id", r.case_id},
                                         {"category", r.category},
                                         {"target", r.target},
                                         {"repeat", r.repeat},
                                         {"score", r.score},
                                         {"latency_ms", r.latency_ms},
                                         {"output", r.output.substr(0, 2000)},
                                         {"error", r.error},
                                         {"failures", r.failures}});
    }
  }
  o["failures"] = std::move(failures);
  return std::optional<json::object>(std::move(o));
}

}  // namespace switchyard::dashboard
