#include "switchyard/eval/report.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "switchyard/api/types.h"

namespace switchyard::eval {

namespace json = boost::json;

namespace {

constexpr std::int64_t kPage = 500;  // cases per store query

struct Loaded {
  RunInfo run;
  std::vector<TargetSummary> targets;
  std::vector<CategorySummary> categories;
  std::optional<BaselineDiff> diff;
  std::string baseline;
};

Result<Loaded> load(EvalStore& store, const std::string& run_id, const ReportOptions& options) {
  Loaded l;
  auto run = store.getRun(run_id);
  if (!run) return fail(run.error());
  if (!*run) return fail(ErrorCode::kNotFound, "no eval run '" + run_id + "' in the store");
  l.run = **run;
  auto t = store.targetSummaries(run_id);
  if (!t) return fail(t.error());
  l.targets = std::move(*t);
  auto c = store.categorySummaries(run_id);
  if (!c) return fail(c.error());
  l.categories = std::move(*c);
  l.baseline = options.baseline.empty() ? l.run.baseline : options.baseline;
  if (!l.baseline.empty()) {
    auto b = store.getRun(l.baseline);
    if (!b) return fail(b.error());
    if (!*b) return fail(ErrorCode::kNotFound, "no baseline run '" + l.baseline + "'");
    auto d = store.compare(run_id, l.baseline);
    if (!d) return fail(d.error());
    l.diff = std::move(*d);
  }
  return l;
}

// Calls `fn(rows)` for each page of case rows.
template <class F>
Status forEachPage(EvalStore& store, const std::string& run_id, F&& fn) {
  auto max = store.maxCaseIndex(run_id);
  if (!max) return max.error();
  for (std::int64_t from = 0; from <= *max; from += kPage) {
    auto rows = store.caseRows(run_id, from, from + kPage);
    if (!rows) return rows.error();
    if (!fn(*rows)) break;
  }
  return Status::ok();
}

std::string pct(double x) { return fmt::format("{:.1f}%", 100 * x); }

std::string money(double x) { return x < 0.01 && x > 0 ? fmt::format("${:.6f}", x)
                                                         : fmt::format("${:.4f}", x); }

std::string oneLine(std::string_view s, std::size_t n) {
  std::string out;
  for (char c : s) {
    // Stop at n bytes, but only between code points.
    if (out.size() >= n && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out;
}

std::set<std::pair<std::string, std::string>> regressedSet(const Loaded& l) {
  std::set<std::pair<std::string, std::string>> out;
  if (l.diff) out.insert(l.diff->regressed.begin(), l.diff->regressed.end());
  return out;
}

// ---- table ------------------------------------------------------------------------------------

Status table(EvalStore& store, const Loaded& l, std::ostream& out, const ReportOptions& options) {
  out << "Run " << l.run.id << "  suite " << l.run.suite << "  " << l.run.status << "  started "
      << l.run.started_at << "\n\n";
  out << fmt::format("{:<28} {:>8} {:>8} {:>7} {:>7} {:>10} {:>10} {:>11} {:>9}\n", "target",
                     "outputs", "pass", "score", "errors", "p50 ms", "p95 ms", "cost", "tokens");
  for (const auto& t : l.targets) {
    out << fmt::format("{:<28} {:>8} {:>8} {:>7.3f} {:>7} {:>10.0f} {:>10.0f} {:>11} {:>9}\n",
                       oneLine(t.target, 28), t.outputs, pct(t.passRate()), t.mean_score, t.errors,
                       t.p50_latency_ms, t.p95_latency_ms, money(t.cost_usd),
                       api::addTokens(t.prompt_tokens, t.completion_tokens));
  }
  if (!l.categories.empty()) {
    out << "\n" << fmt::format("{:<20} {:<28} {:>8} {:>8} {:>10} {:>11}\n", "category", "target",
                               "outputs", "pass", "mean ms", "cost");
    for (const auto& c : l.categories) {
      out << fmt::format("{:<20} {:<28} {:>8} {:>8} {:>10.0f} {:>11}\n",
                         oneLine(c.category.empty() ? "-" : c.category, 20),
                         oneLine(c.target, 28), c.outputs,
                         pct(c.outputs ? static_cast<double>(c.passed) / c.outputs : 0),
                         c.mean_latency_ms, money(c.cost_usd));
    }
  }
  if (l.diff) {
    out << "\nBaseline " << l.baseline << ": " << l.diff->compared << " compared, "
        << l.diff->regressions << " regressed, " << l.diff->improvements << " improved\n";
    std::size_t n = 0;
    for (const auto& [id, target] : l.diff->regressed) {
      if (++n > 20) {
        out << "  ...\n";
        break;
      }
      out << "  REGRESSED " << id << " on " << target << "\n";
    }
  }
  std::size_t shown = 0;
  const std::size_t limit = std::min<std::size_t>(options.max_case_rows, 20);
  auto s = forEachPage(store, l.run.id, [&](const std::vector<CaseOutputRow>& rows) {
    for (const auto& r : rows) {
      if (r.passed) continue;
      if (shown == 0) out << "\nFailures:\n";
      if (++shown > limit) {
        out << "  ... (see the JSON or HTML report for all)\n";
        return false;
      }
      out << "  FAIL " << r.case_id << " [" << r.target << (r.repeat ? " #" + std::to_string(
                                                                            r.repeat) : "")
          << "] " << oneLine(r.error.empty() ? r.failures : r.error, 160) << "\n";
    }
    return true;
  });
  return s;
}

// ---- JSON -------------------------------------------------------------------------------------

Status jsonReport(EvalStore& store, const Loaded& l, std::ostream& out) {
  json::object head;
  head["run"] = json::object{{"id", l.run.id},           {"suite", l.run.suite},
                             {"suite_path", l.run.suite_path}, {"status", l.run.status},
                             {"started_at", l.run.started_at}, {"finished_at", l.run.finished_at},
                             {"cases", l.run.cases_total}};
  json::array targets;
  for (const auto& t : l.targets) {
    targets.push_back(json::object{{"target", t.target},
                                   {"outputs", t.outputs},
                                   {"passed", t.passed},
                                   {"pass_rate", t.passRate()},
                                   {"mean_score", t.mean_score},
                                   {"errors", t.errors},
                                   {"latency_ms", json::object{{"mean", t.mean_latency_ms},
                                                               {"p50", t.p50_latency_ms},
                                                               {"p95", t.p95_latency_ms}}},
                                   {"cost_usd", t.cost_usd},
                                   {"prompt_tokens", t.prompt_tokens},
                                   {"completion_tokens", t.completion_tokens}});
  }
  head["targets"] = std::move(targets);
  json::array cats;
  for (const auto& c : l.categories) {
    cats.push_back(json::object{{"category", c.category},
                                {"target", c.target},
                                {"outputs", c.outputs},
                                {"passed", c.passed},
                                {"mean_score", c.mean_score},
                                {"mean_latency_ms", c.mean_latency_ms},
                                {"cost_usd", c.cost_usd}});
  }
  head["categories"] = std::move(cats);
  if (l.diff) {
    json::array reg;
    for (const auto& [id, target] : l.diff->regressed) {
      reg.push_back(json::object{{"case", id}, {"target", target}});
    }
    head["baseline"] = json::object{{"run", l.baseline},
                                    {"compared", l.diff->compared},
                                    {"regressions", l.diff->regressions},
                                    {"improvements", l.diff->improvements},
                                    {"regressed", std::move(reg)}};
  }
  // Write the head without its closing brace, then stream the outputs array.
  std::string text = json::serialize(head);
  text.pop_back();
  out << text << ",\"outputs\":[";
  bool first = true;
  auto s = forEachPage(store, l.run.id, [&](const std::vector<CaseOutputRow>& rows) {
    for (const auto& r : rows) {
      json::object o{{"case", r.case_id},      {"index", r.case_idx},     {"category", r.category},
                     {"target", r.target},     {"repeat", r.repeat},      {"passed", r.passed},
                     {"score", r.score},       {"latency_ms", r.latency_ms},
                     {"cost_usd", r.cost_usd}, {"output", r.output}};
      if (!r.error.empty()) o["error"] = r.error;
      if (!r.failures.empty()) o["failures"] = r.failures;
      out << (first ? "" : ",") << json::serialize(o);
      first = false;
    }
    return true;
  });
  out << "]}\n";
  return s;
}

// ---- JUnit ------------------------------------------------------------------------------------

Status junit(EvalStore& store, const Loaded& l, std::ostream& out) {
  std::int64_t tests = 0, failures = 0;
  double seconds = 0;
  for (const auto& t : l.targets) {
    tests += t.outputs;
    failures += t.outputs - t.passed;
    seconds += t.mean_latency_ms * static_cast<double>(t.outputs) / 1000;
  }
  const std::string name = xmlEscape(l.run.suite);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << fmt::format("<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n",
                     name, tests, failures, seconds);
  out << fmt::format(
      "<testsuite name=\"{}\" id=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" "
      "time=\"{:.3f}\" timestamp=\"{}\">\n",
      name, xmlEscape(l.run.id), tests, failures, seconds, xmlEscape(l.run.started_at));
  const auto regressed = regressedSet(l);
  auto s = forEachPage(store, l.run.id, [&](const std::vector<CaseOutputRow>& rows) {
    for (const auto& r : rows) {
      const std::string classname =
          xmlEscape(l.run.suite + "." + r.target + (r.category.empty() ? "" : "." + r.category));
      std::string test = r.case_id + (r.repeat ? " #" + std::to_string(r.repeat) : "");
      out << fmt::format("  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", classname,
                         xmlEscape(test), r.latency_ms / 1000);
      if (r.passed) {
        out << "/>\n";
        continue;
      }
      const bool reg = regressed.contains({r.case_id, r.target});
      const std::string why = r.error.empty() ? r.failures : r.error;
      out << ">\n    <failure message=\"" << xmlEscape(oneLine(why, 300)) << "\" type=\""
          << (reg ? "regression" : "assertion") << "\">" << xmlEscape(why)
          << "\n\nOutput:\n" << xmlEscape(r.output) << "</failure>\n  </testcase>\n";
    }
    return true;
  });
  out << "</testsuite>\n</testsuites>\n";
  return s;
}

// ---- HTML -------------------------------------------------------------------------------------

// A horizontal bar chart: one bar per label, value formatted by `fmtv`.
template <class Fmt>
std::string barChart(const std::string& title, const std::vector<std::pair<std::string, double>>&
                                                   bars,
                     Fmt fmtv, const char* color) {
  const int row = 26, label_w = 220, chart_w = 360, top = 28;
  const int h = top + row * static_cast<int>(bars.size()) + 10;
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.second);
  if (max <= 0) max = 1;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{}\" height=\"{}\" "
      "role=\"img\" aria-label=\"{}\"><text x=\"0\" y=\"16\" class=\"title\">{}</text>",
      label_w + chart_w + 110, h, xmlEscape(title), xmlEscape(title));
  int y = top;
  for (const auto& [label, v] : bars) {
    const int w = static_cast<int>(chart_w * v / max);
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{}\" "
        "width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect><text x=\"{}\" "
        "y=\"{}\">{}</text>",
        label_w - 6, y + 15, xmlEscape(oneLine(label, 32)), label_w, y + 3, std::max(w, 1),
        row - 8, color, xmlEscape(label), xmlEscape(fmtv(v)), label_w + std::max(w, 1) + 6,
        y + 15, xmlEscape(fmtv(v)));
    y += row;
  }
  return svg + "</svg>";
}

// Grouped bars: categories on the y axis, one bar per target in each.
std::string groupedChart(const std::vector<CategorySummary>& cats,
                         const std::vector<std::string>& targets) {
  static const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                  "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
  std::vector<std::string> names;
  for (const auto& c : cats) {
    if (std::find(names.begin(), names.end(), c.category) == names.end()) {
      names.push_back(c.category);
    }
  }
  const int bar = 12, label_w = 200, chart_w = 360, top = 28;
  const int group = bar * static_cast<int>(targets.size()) + 10;
  const int legend = 18 * static_cast<int>(targets.size());
  const int h = top + group * static_cast<int>(names.size()) + legend + 10;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{}\" height=\"{}\" "
      "role=\"img\" aria-label=\"pass rate per category\"><text x=\"0\" y=\"16\" "
      "class=\"title\">Pass rate per category</text>",
      label_w + chart_w + 80, h);
  int y = top;
  for (const auto& name : names) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", label_w - 6,
                       y + group / 2, xmlEscape(oneLine(name.empty() ? "(none)" : name, 28)));
    for (std::size_t t = 0; t < targets.size(); ++t) {
      double rate = 0;
      for (const auto& c : cats) {
        if (c.category == name && c.target == targets[t] && c.outputs > 0) {
          rate = static_cast<double>(c.passed) / c.outputs;
        }
      }
      const int w = static_cast<int>(chart_w * rate);
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} / {}: {}"
          "</title></rect>",
          label_w, y + static_cast<int>(t) * bar, std::max(w, 1), bar - 2, kColors[t % 8],
          xmlEscape(name), xmlEscape(targets[t]), pct(rate));
    }
    y += group;
  }
  for (std::size_t t = 0; t < targets.size(); ++t) {
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" "
        "y=\"{}\">{}</text>",
        label_w, y + 4, kColors[t % 8], label_w + 18, y + 14, xmlEscape(targets[t]));
    y += 18;
  }
  return svg + "</svg>";
}

Status html(EvalStore& store, const Loaded& l, std::ostream& out, const ReportOptions& options) {
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
      << "<title>Eval " << xmlEscape(l.run.suite) << " " << xmlEscape(l.run.id) << "</title>"
      << "<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
         "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 8px;"
         "vertical-align:top;text-align:left}th{background:#f4f4f4}.pass{background:#e6f4ea}"
         ".fail{background:#fce8e6}.reg{outline:2px solid #d93025}.chart text{font:12px "
         "system-ui,sans-serif}.chart .title{font-weight:bold}pre{white-space:pre-wrap;margin:0;"
         "max-width:420px;max-height:160px;overflow:auto;font-size:12px}.why{color:#a50e0e;"
         "font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:24px}</style></head><body>\n";
  out << "<h1>" << xmlEscape(l.run.suite) << "</h1>\n<p>Run <code>" << xmlEscape(l.run.id)
      << "</code> · " << xmlEscape(l.run.status) << " · started " << xmlEscape(l.run.started_at)
      << " · " << l.run.cases_total << " cases</p>\n";
  // Summary table.
  out << "<table id=\"summary\"><tr><th>target</th><th>outputs</th><th>pass rate</th>"
         "<th>mean score</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>cost</th>"
         "<th>tokens</th></tr>\n";
  std::vector<std::pair<std::string, double>> pass, cost, p50, p95;
  std::vector<std::string> names;
  for (const auto& t : l.targets) {
    out << fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3f}</td><td>{}</td><td>{:.0f}</td>"
        "<td>{:.0f}</td><td>{}</td><td>{}</td></tr>\n",
        xmlEscape(t.target), t.outputs, pct(t.passRate()), t.mean_score, t.errors, t.p50_latency_ms,
        t.p95_latency_ms, money(t.cost_usd), api::addTokens(t.prompt_tokens, t.completion_tokens));
    pass.emplace_back(t.target, t.passRate());
    cost.emplace_back(t.target, t.cost_usd);
    p50.emplace_back(t.target + " p50", t.p50_latency_ms);
    p95.emplace_back(t.target + " p95", t.p95_latency_ms);
    names.push_back(t.target);
  }
  out << "</table>\n<div class=\"charts\">\n";
  out << barChart("Pass rate per target", pass, [](double v) { return pct(v); }, "#4e79a7")
      << "\n";
  out << barChart("Cost per target (USD)", cost, [](double v) { return money(v); }, "#f28e2b")
      << "\n";
  std::vector<std::pair<std::string, double>> lat;
  for (std::size_t i = 0; i < p50.size(); ++i) {
    lat.push_back(p50[i]);
    lat.push_back(p95[i]);
  }
  out << barChart("Latency per target (ms)", lat,
                  [](double v) { return fmt::format("{:.0f} ms", v); }, "#59a14f")
      << "\n";
  if (!l.categories.empty()) out << groupedChart(l.categories, names) << "\n";
  out << "</div>\n";
  if (!l.categories.empty()) {
    out << "<h2>Per category</h2>\n<table id=\"categories\"><tr><th>category</th><th>target</th>"
           "<th>outputs</th><th>pass rate</th><th>mean score</th><th>mean latency ms</th>"
           "<th>cost</th></tr>\n";
    for (const auto& c : l.categories) {
      out << fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3f}</td><td>{:.0f}</td>"
          "<td>{}</td></tr>\n",
          xmlEscape(c.category.empty() ? "(none)" : c.category), xmlEscape(c.target), c.outputs,
          pct(c.outputs ? static_cast<double>(c.passed) / c.outputs : 0), c.mean_score,
          c.mean_latency_ms, money(c.cost_usd));
    }
    out << "</table>\n";
  }
  if (l.diff) {
    out << "<h2>Baseline " << xmlEscape(l.baseline) << "</h2><p id=\"baseline\">"
        << l.diff->compared << " compared · <strong>" << l.diff->regressions
        << " regressed</strong> · " << l.diff->improvements << " improved</p>\n";
  }
  // Per-case diff: cases where some output failed or targets disagree.
  out << "<h2>Cases</h2>\n<p>Cases where an output failed or the targets disagree";
  const auto regressed = regressedSet(l);
  out << " (at most " << options.max_case_rows << ").</p>\n<table id=\"cases\"><tr><th>case</th>"
         "<th>category</th>";
  for (const auto& n : names) out << "<th>" << xmlEscape(n) << "</th>";
  out << "</tr>\n";
  std::size_t shown = 0;
  bool truncated = false;
  auto s = forEachPage(store, l.run.id, [&](const std::vector<CaseOutputRow>& rows) {
    std::size_t i = 0;
    while (i < rows.size()) {
      std::size_t j = i;
      bool any_fail = false;
      while (j < rows.size() && rows[j].case_idx == rows[i].case_idx) {
        any_fail = any_fail || !rows[j].passed;
        ++j;
      }
      if (any_fail) {
        if (shown++ >= options.max_case_rows) {
          truncated = true;
          return false;
        }
        out << "<tr><td>" << xmlEscape(rows[i].case_id) << "</td><td>"
            << xmlEscape(rows[i].category) << "</td>";
        for (const auto& n : names) {
          out << "<td>";
          for (std::size_t k = i; k < j; ++k) {
            const auto& r = rows[k];
            if (r.target != n) continue;
            const bool reg = regressed.contains({r.case_id, r.target});
            out << "<div class=\"" << (r.passed ? "pass" : "fail") << (reg ? " reg" : "")
                << "\">" << (r.passed ? "PASS" : "FAIL") << (reg ? " (regressed)" : "")
                << fmt::format(" · {:.2f} · {:.0f} ms", r.score, r.latency_ms)
                << "<pre>" << xmlEscape(oneLine(r.error.empty() ? r.output : r.error, 600))
                << "</pre>";
            if (!r.failures.empty()) {
              out << "<div class=\"why\">" << xmlEscape(oneLine(r.failures, 400)) << "</div>";
            }
            out << "</div>";
          }
          out << "</td>";
        }
        out << "</tr>\n";
      }
      i = j;
    }
    return true;
  });
  out << "</table>\n";
  if (truncated) out << "<p>More cases failed; see the JSON report for all.</p>\n";
  out << "</body></html>\n";
  return s;
}

}  // namespace

Result<ReportFormat> parseReportFormat(std::string_view name) {
  if (name == "table") return ReportFormat::kTable;
  if (name == "json") return ReportFormat::kJson;
  if (name == "junit") return ReportFormat::kJunit;
  if (name == "html") return ReportFormat::kHtml;
  return fail(ErrorCode::kInvalidArgument,
              "unknown report format '" + std::string(name) + "' (expected table, json, junit "
              "or html)");
}

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

Status writeReport(EvalStore& store, const std::string& run_id, ReportFormat format,
                   std::ostream& out, const ReportOptions& options) {
  auto l = load(store, run_id, options);
  if (!l) return l.error();
  switch (format) {
    case ReportFormat::kTable: return table(store, *l, out, options);
    case ReportFormat::kJson: return jsonReport(store, *l, out);
    case ReportFormat::kJunit: return junit(store, *l, out);
    case ReportFormat::kHtml: return html(store, *l, out, options);
  }
  return Status::ok();
}

}  // namespace switchyard::eval
