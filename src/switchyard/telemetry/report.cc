#include "switchyard/telemetry/report.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace switchyard::telemetry {
namespace {

namespace json = boost::json;
using store::Value;

struct Dimension {
  std::string_view name;
  std::string_view expr;
};
constexpr Dimension kDimensions[] = {
    {"model", "COALESCE(r.provider, '') || '/' || COALESCE(r.model, '')"},
    {"key", "COALESCE(r.key_name, r.key_id, '')"},
    {"team", "COALESCE(r.team, '')"},
    {"route", "COALESCE(r.route, '')"},
    {"provider", "COALESCE(r.provider, '')"},
};

struct Group {
  std::string name;
  std::int64_t requests = 0;
  std::int64_t errors = 0;
  std::int64_t prompt = 0;
  std::int64_t completion = 0;
  std::int64_t cached = 0;
  double cost = 0;
  double avg_ms = 0;
  std::int64_t feedback = 0;
  std::optional<double> score;
};

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string money(double usd) { return "$" + fmt(usd, usd != 0 && std::fabs(usd) < 1 ? 4 : 2); }

std::string count(std::int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const int len = static_cast<int>(digits.size());
  for (int i = 0; i < len; ++i) {
    out += digits[static_cast<std::size_t>(i)];
    if (digits[0] != '-' && (len - 1 - i) % 3 == 0 && i != len - 1) out += ',';
  }
  return out;
}

// A text table: the first column left-aligned, the rest right-aligned.
std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - cells[c].size(), ' ');
      if (c > 0) out += "  ";
      out += c == 0 ? cells[c] + pad : pad + cells[c];
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  line(header);
  std::vector<std::string> rule;
  for (std::size_t w : width) rule.emplace_back(w, '-');
  line(rule);
  for (const auto& row : rows) line(row);
  return out;
}

Result<std::vector<Group>> groups(store::Database& db, const Dimension& dim,
                                  std::int64_t since_ms) {
  const std::string sql =
      "SELECT " + std::string(dim.expr) +
      ", COUNT(*), SUM(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), SUM(r.prompt_tokens), "
      "SUM(r.completion_tokens), SUM(r.cached_tokens), SUM(r.cost_usd), AVG(r.total_ms), "
      "SUM(COALESCE(f.n, 0)), AVG(f.score) FROM request_log r LEFT JOIN (SELECT request_id, "
      "COUNT(*) AS n, AVG(score) AS score FROM feedback GROUP BY request_id) f ON f.request_id = "
      "r.request_id WHERE r.ts_ms >= ? GROUP BY 1 ORDER BY 7 DESC, 2 DESC, 1";
  const Value params[] = {since_ms};
  auto rows = db.query(sql, params);
  if (!rows) return fail(std::move(rows.error()));
  std::vector<Group> out;
  for (const store::Row& row : *rows) {
    Group g;
    g.name = row.text(0);
    g.requests = row.integer(1);
    g.errors = row.integer(2);
    g.prompt = row.integer(3);
    g.completion = row.integer(4);
    g.cached = row.integer(5);
    g.cost = row.real(6);
    g.avg_ms = row.real(7);
    g.feedback = row.integer(8);
    if (!row.isNull(9)) g.score = row.real(9);
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<const Dimension*> dimensionsFor(const ReportOptions& options) {
  std::vector<const Dimension*> out;
  for (const Dimension& d : kDimensions) {
    if (options.by.empty() ? d.name != "provider" : d.name == options.by) out.push_back(&d);
  }
  return out;
}

Result<std::string> groupedReport(store::Database& db, const ReportOptions& options) {
  const bool cost = options.kind == "cost";
  json::object doc;
  doc["report"] = options.kind;
  doc["since_ms"] = options.since_ms;
  std::string text;
  for (const Dimension* dim : dimensionsFor(options)) {
    auto rows = groups(db, *dim, options.since_ms);
    if (!rows) return fail(std::move(rows.error()));
    double total_cost = 0;
    for (const Group& g : *rows) total_cost += g.cost;
    json::array items;
    std::vector<std::vector<std::string>> cells;
    for (const Group& g : *rows) {
      json::object item;
      item[dim->name] = g.name;
      item["requests"] = g.requests;
      item["errors"] = g.errors;
      item["prompt_tokens"] = g.prompt;
      item["completion_tokens"] = g.completion;
      item["cached_tokens"] = g.cached;
      item["cost_usd"] = g.cost;
      item["avg_ms"] = g.avg_ms;
      item["feedback"] = g.feedback;
      item["avg_score"] = g.score ? json::value(*g.score) : json::value(nullptr);
      items.push_back(std::move(item));
      const std::string name = g.name.empty() || g.name == "/" ? "(none)" : g.name;
      if (cost) {
        cells.push_back({name, count(g.requests), money(g.cost),
                         total_cost > 0 ? fmt(100 * g.cost / total_cost, 1) + "%" : "-",
                         g.requests > 0 ? money(1000 * g.cost / static_cast<double>(g.requests))
                                        : "-",
                         count(g.cached)});
      } else {
        cells.push_back({name, count(g.requests), count(g.errors), count(g.prompt),
                         count(g.cached), count(g.completion), fmt(g.avg_ms, 1),
                         g.score ? fmt(*g.score, 2) + " (" + count(g.feedback) + ")" : "-"});
      }
    }
    doc[std::string("by_") + std::string(dim->name)] = std::move(items);
    text += "By " + std::string(dim->name) + ":\n";
    if (cells.empty()) {
      text += "  (no requests logged in this period)\n\n";
      continue;
    }
    text += cost ? table({std::string(dim->name), "requests", "cost", "share",
                          "per 1k requests", "cached tokens"},
                         cells)
                 : table({std::string(dim->name), "requests", "errors", "prompt tokens",
                          "cached", "completion tokens", "avg ms", "feedback"},
                         cells);
    text += '\n';
  }
  if (options.json) return json::serialize(doc) + "\n";
  return text;
}

// Tokens and spend of one side (cloud or local) of the logged traffic.
struct Side {
  std::int64_t requests = 0;
  std::int64_t prompt = 0;
  std::int64_t cached = 0;
  std::int64_t completion = 0;
  double cost = 0;
  double decode_seconds = 0;  // local: time spent generating
};

Result<std::string> tcoReport(store::Database& db, const config::Config& config,
                              const PriceTable& prices, const ReportOptions& options) {
  std::vector<std::string> local_providers;
  for (const config::ProviderConfig& p : config.providers) {
    if (p.kind == "local") local_providers.push_back(p.name);
  }
  const Value params[] = {options.since_ms};
  auto rows = db.query(
      "SELECT COALESCE(provider, ''), COALESCE(model, ''), COUNT(*), SUM(prompt_tokens), "
      "SUM(cached_tokens), SUM(completion_tokens), SUM(cost_usd), SUM(CASE WHEN stream = 1 AND "
      "ttft_ms IS NOT NULL THEN total_ms - ttft_ms - COALESCE(overhead_ms, 0) ELSE total_ms - "
      "COALESCE(overhead_ms, 0) END) FROM request_log WHERE ts_ms >= ? AND status < 400 AND "
      "provider IS NOT NULL AND (cache IS NULL OR cache <> 'hit') GROUP BY 1, 2",
      params);
  if (!rows) return fail(std::move(rows.error()));
  Side cloud;
  Side local;
  for (const store::Row& row : *rows) {
    const bool is_local = std::find(local_providers.begin(), local_providers.end(),
                                    row.text(0)) != local_providers.end();
    Side& s = is_local ? local : cloud;
    s.requests += row.integer(2);
    s.prompt += row.integer(3);
    s.cached += row.integer(4);
    s.completion += row.integer(5);
    s.cost += row.real(6);
    if (is_local) s.decode_seconds += std::max(0.0, row.real(7) / 1000.0);
  }

  // The hardware: --hourly-usd, else the first local hardware price in config.
  double hourly = options.hourly_usd;
  double configured_tps = 0;
  double prompt_tps = 0;
  for (const std::string& p : local_providers) {
    if (auto hw = prices.hardware(p, "")) {
      if (hourly < 0) hourly = hw->hourly_usd;
      configured_tps = hw->tokens_per_second;
      prompt_tps = hw->prompt_tokens_per_second;
      break;
    }
  }
  const double measured_tps =
      local.decode_seconds > 0 ? static_cast<double>(local.completion) / local.decode_seconds : 0;
  double tps = options.tokens_per_second > 0 ? options.tokens_per_second
               : measured_tps > 0            ? measured_tps
                                             : configured_tps;
  const std::string tps_source = options.tokens_per_second > 0 ? "--tokens-per-second"
                                 : measured_tps > 0            ? "measured from the log"
                                 : configured_tps > 0          ? "configured"
                                                               : "unknown";

  // The API model local traffic is compared with.
  std::optional<ModelPrice> api_price;
  {
    const std::size_t slash = options.compare.find('/');
    const std::string kind = slash == std::string::npos ? "" : options.compare.substr(0, slash);
    const std::string model = slash == std::string::npos ? options.compare
                                                         : options.compare.substr(slash + 1);
    for (const config::ProviderConfig& p : config.providers) {
      if (p.name == kind || (p.kind == kind && !api_price)) api_price = prices.find(p.name, model);
      if (api_price && p.name == kind) break;
    }
    if (!api_price) {
      for (const DefaultPrice& d : defaultPrices()) {
        if ((kind.empty() || d.kind == kind) && d.model == model) api_price = d.price;
      }
    }
  }

  // Unknown amounts are negative.
  auto hardwareCost = [&](std::int64_t prompt, std::int64_t completion) -> double {
    if (hourly < 0 || tps <= 0) return -1;
    double seconds = static_cast<double>(completion) / tps;
    if (prompt_tps > 0) seconds += static_cast<double>(prompt) / prompt_tps;
    return seconds * hourly / 3600.0;
  };
  api::Usage local_usage;
  local_usage.prompt_tokens = local.prompt;
  local_usage.cached_tokens = local.cached;
  local_usage.completion_tokens = local.completion;
  const double cloud_on_hw = hardwareCost(cloud.prompt, cloud.completion);
  const double local_on_api = api_price ? PriceTable::tokenCost(*api_price, local_usage) : -1;

  // Break-even: a machine that runs all month costs hourly * 730; the API costs the logged
  // blended price per token. Self-hosting pays off above hourly * 730 / (API $ per token).
  const std::int64_t cloud_tokens = cloud.prompt + cloud.completion;
  const std::int64_t local_tokens = local.prompt + local.completion;
  double api_per_token = 0;
  if (cloud_tokens > 0 && cloud.cost > 0) {
    api_per_token = cloud.cost / static_cast<double>(cloud_tokens);
  } else if (local_on_api > 0 && local_tokens > 0) {
    api_per_token = local_on_api / static_cast<double>(local_tokens);
  }
  constexpr double kHoursPerMonth = 730;
  const double breakeven_tokens =
      hourly >= 0 && api_per_token > 0 ? hourly * kHoursPerMonth / api_per_token : -1;
  // What one machine can generate in a month at the throughput above (output tokens).
  const double capacity = tps > 0 ? tps * 3600 * kHoursPerMonth : -1;

  auto opt = [](double v) { return v >= 0 ? json::value(v) : json::value(nullptr); };
  if (options.json) {
    json::object doc;
    doc["report"] = "tco";
    doc["since_ms"] = options.since_ms;
    doc["cloud"] = {{"requests", cloud.requests},     {"prompt_tokens", cloud.prompt},
                    {"cached_tokens", cloud.cached},  {"completion_tokens", cloud.completion},
                    {"api_cost_usd", cloud.cost},     {"self_hosted_cost_usd", opt(cloud_on_hw)}};
    doc["local"] = {{"requests", local.requests},       {"prompt_tokens", local.prompt},
                    {"cached_tokens", local.cached},    {"completion_tokens", local.completion},
                    {"hardware_cost_usd", local.cost},  {"api_cost_usd", opt(local_on_api)},
                    {"compare_model", options.compare}};
    doc["hardware"] = {{"hourly_usd", hourly >= 0 ? json::value(hourly) : json::value(nullptr)},
                       {"tokens_per_second", tps},
                       {"tokens_per_second_source", tps_source}};
    doc["break_even_tokens_per_month"] = opt(breakeven_tokens);
    doc["machine_output_tokens_per_month"] = opt(capacity);
    return json::serialize(doc) + "\n";
  }

  auto maybeMoney = [](double v) { return v >= 0 ? money(v) : std::string("-"); };
  std::string out = "Logged traffic (successful requests):\n";
  out += table({"side", "requests", "prompt tokens", "cached", "completion tokens", "as logged",
                "the other way"},
               {{"cloud (API)", count(cloud.requests), count(cloud.prompt), count(cloud.cached),
                 count(cloud.completion), money(cloud.cost), maybeMoney(cloud_on_hw)},
                {"local (self-hosted)", count(local.requests), count(local.prompt),
                 count(local.cached), count(local.completion), money(local.cost),
                 maybeMoney(local_on_api)}});
  out += "\n\"the other way\": cloud traffic on the local hardware; local traffic through " +
         options.compare + (api_price ? "" : " (no price known for it)") + ".\n";
  out += "Hardware: " + (hourly >= 0 ? money(hourly) + "/hour" : std::string("no price")) +
         ", " + (tps > 0 ? fmt(tps, 1) + " output tokens/s" : std::string("throughput unknown")) +
         " (" + tps_source + ").\n";
  if (hourly < 0) {
    out += "  Set a hardware price: prices: [{provider: <local provider>, hourly_usd: 1.2}] or "
           "--hourly-usd.\n";
  }
  if (breakeven_tokens >= 0) {
    out += "Break-even: self-hosting costs less than the API above " +
           count(static_cast<std::int64_t>(breakeven_tokens)) +
           " tokens/month (a machine running all month at the API's logged price per token).\n";
    if (capacity >= 0) {
      out += "One machine generates at most " + count(static_cast<std::int64_t>(capacity)) +
             " output tokens/month at this throughput" +
             (breakeven_tokens > capacity ? ": break-even is beyond one machine's capacity.\n"
                                            : ".\n");
    }
  } else {
    out += "Break-even: unknown (needs a hardware price and priced API traffic).\n";
  }
  return out;
}

}  // namespace

Result<std::int64_t> parseSince(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t factor = 0;
  if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else if (unit == "d") factor = 86'400'000;
  else if (unit == "w") factor = 7 * 86'400'000LL;
  if (ec != std::errc() || n < 0 || factor == 0 || n > 100'000) {
    return fail(ErrorCode::kInvalidArgument,
                "--since: expected a period like 30m, 24h, 7d or 2w, got '" + std::string(text) +
                    "'");
  }
  return n * factor;
}

Result<std::string> runReport(store::Database& db, const config::Config& config,
                              const PriceTable& prices, const ReportOptions& options) {
  if (options.kind == "tco") return tcoReport(db, config, prices, options);
  if (options.kind != "usage" && options.kind != "cost") {
    return fail(ErrorCode::kInvalidArgument, "unknown report '" + options.kind +
                                                 "' (expected usage, cost or tco)");
  }
  if (!options.by.empty() && dimensionsFor(options).empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "--by: expected model, key, team, route or provider, got '" + options.by + "'");
  }
  return groupedReport(db, options);
}

}  // namespace switchyard::telemetry
