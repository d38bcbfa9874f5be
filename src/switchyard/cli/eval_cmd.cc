// `switchyard eval ...`: glue between the CLI, an in-process or remote gateway and the eval
// module (suites, runner, store, reports).

#include "switchyard/cli/eval_cmd.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "switchyard/config/config.h"
#include "switchyard/core/log.h"
#include "switchyard/eval/report.h"
#include "switchyard/eval/runner.h"
#include "switchyard/eval/suite.h"
#include "switchyard/server/gateway.h"
#include "switchyard/telemetry/prices.h"

namespace switchyard::cli {

namespace {

constexpr std::string_view kDefaultStore = "sqlite://switchyard.db";

struct StoreArgs {
  std::string store;
  std::string config_path;
};

struct ReportArgs {
  StoreArgs where;
  std::string run_id;
  std::string format = "table";
  std::string out;
  std::string baseline;
};

Result<std::string> storeUrl(const std::string& store, const std::string& config_path) {
  if (!store.empty()) return store;
  if (!config_path.empty()) {
    auto config = config::loadConfigFile(config_path);
    if (!config) return fail(config.error());
    return config->storage_url;
  }
  return std::string(kDefaultStore);
}

Status writeTo(const std::string& path, eval::EvalStore& store, const std::string& run,
               eval::ReportFormat format, std::ostream& out, const std::string& baseline = "") {
  eval::ReportOptions options;
  options.baseline = baseline;
  if (path.empty() || path == "-") return eval::writeReport(store, run, format, out, options);
  std::ofstream file(path);
  if (!file) return Status(ErrorCode::kInvalidArgument, path + ": cannot write the report");
  auto s = eval::writeReport(store, run, format, file, options);
  file.close();
  if (s.isOk() && !file) return Status(ErrorCode::kInternal, path + ": write failed");
  return s;
}

// The first model a `local` provider serves: the default judge (never a cloud model).
std::string localJudge(const config::Config& config) {
  for (const auto& p : config.providers) {
    if (p.kind == "local" && !p.models.empty()) return p.name + "/" + p.models.front().name;
  }
  return "";
}

int evalList(const StoreArgs& args, std::ostream& out, std::ostream& err) {
  auto url = storeUrl(args.store, args.config_path);
  if (!url) {
    err << "switchyard eval: " << url.error().message() << "\n";
    return 2;
  }
  auto store = eval::EvalStore::open(*url);
  if (!store) {
    err << "switchyard eval: " << store.error().message() << "\n";
    return 1;
  }
  auto runs = (*store)->listRuns(50);
  if (!runs) {
    err << "switchyard eval: " << runs.error().message() << "\n";
    return 1;
  }
  if (runs->empty()) {
    out << "no eval runs in " << (*store)->db().description() << "\n";
    return 0;
  }
  out << fmt::format("{:<24} {:<20} {:<12} {:<21} {:>7}  {}\n", "run", "suite", "status",
                     "started", "cases", "pass rate per target");
  for (const auto& r : *runs) {
    std::string rates;
    if (auto t = (*store)->targetSummaries(r.id)) {
      for (const auto& s : *t) {
        rates += fmt::format("{}{} {:.1f}%", rates.empty() ? "" : ", ", s.target,
                             100 * s.passRate());
      }
    }
    out << fmt::format("{:<24} {:<20} {:<12} {:<21} {:>7}  {}\n", r.id, r.suite.substr(0, 20),
                       r.status, r.started_at, r.cases_total, rates);
  }
  return 0;
}

int evalReport(const ReportArgs& args, std::ostream& out, std::ostream& err) {
  auto format = eval::parseReportFormat(args.format);
  if (!format) {
    err << "switchyard eval: " << format.error().message() << "\n";
    return 2;
  }
  auto url = storeUrl(args.where.store, args.where.config_path);
  if (!url) {
    err << "switchyard eval: " << url.error().message() << "\n";
    return 2;
  }
  auto store = eval::EvalStore::open(*url);
  if (!store) {
    err << "switchyard eval: " << store.error().message() << "\n";
    return 1;
  }
  auto s = writeTo(args.out, **store, args.run_id, *format, out, args.baseline);
  if (!s.isOk()) {
    err << "switchyard eval: " << s.message() << "\n";
    return s.code() == ErrorCode::kNotFound ? 2 : 1;
  }
  if (!args.out.empty() && args.out != "-") err << "wrote " << args.out << "\n";
  return 0;
}

}  // namespace

int evalRun(const EvalRunArgs& args, std::ostream& out, std::ostream& err) {
  auto format = eval::parseReportFormat(args.format);
  if (!format) {
    err << "switchyard eval: " << format.error().message() << "\n";
    return 2;
  }
  if (args.config_path.empty() == args.gateway.empty()) {
    err << "switchyard eval: "
        << (args.config_path.empty() ? "no gateway to evaluate through: give" : "give only one of")
        << " --config FILE (runs the gateway in-process) or --gateway URL (a running gateway, "
           "e.g. http://127.0.0.1:8080 for make serve)\n";
    return 2;
  }
  LogOptions log;
  log.level = args.log_level;
  if (auto s = setupLogging(log); !s.isOk()) {
    err << "switchyard eval: " << s.message() << "\n";
    return 2;
  }
  std::optional<config::Config> config;
  if (!args.config_path.empty()) {
    auto c = config::loadConfigFile(args.config_path);
    if (!c) {
      err << "switchyard eval: " << c.error().message() << "\n";
      return 2;
    }
    config = std::move(*c);
  }
  const std::string url = !args.store.empty() ? args.store
                          : config            ? config->storage_url
                                              : std::string(kDefaultStore);
  auto store = eval::EvalStore::open(url);
  if (!store) {
    err << "switchyard eval: " << store.error().message() << "\n";
    return 1;
  }

  std::string suite_path = args.suite;
  if (!args.resume.empty()) {
    auto run = (*store)->getRun(args.resume);
    if (!run || !*run) {
      err << "switchyard eval: --resume " << args.resume << ": no such run in "
          << (*store)->db().description() << "\n";
      return 2;
    }
    if (suite_path.empty()) suite_path = (*run)->suite_path;
  }
  if (suite_path.empty()) {
    err << "switchyard eval: give a SUITE file (or --resume RUN_ID)\n";
    return 2;
  }
  auto suite = eval::loadSuite(suite_path);
  if (!suite) {
    err << "switchyard eval: " << suite.error().message() << "\n";
    return 2;
  }
  if (!args.baseline.empty()) {
    auto b = (*store)->getRun(args.baseline);
    if (!b || !*b) {
      err << "switchyard eval: --baseline " << args.baseline << ": no such run\n";
      return 2;
    }
  }

  eval::RunnerOptions options;
  options.api_key = args.api_key;
  options.targets = args.targets;
  options.concurrency = args.concurrency;
  options.repeats = args.repeats;
  options.limit = args.limit;
  options.use_cache = !args.no_cache;
  options.resume_run = args.resume;
  options.baseline = args.baseline;
  options.progress = args.progress;
  options.grade.allow_code = args.allow_code_exec;
  options.grade.judge = !args.judge.empty() ? args.judge : suite->judge;
  options.grade.embedder = !args.embedder.empty() ? args.embedder : suite->embedder;
  if (options.grade.judge.empty() && config) {
    options.grade.judge = localJudge(*config);
  }

  std::unique_ptr<server::Gateway> gateway;
  std::shared_ptr<const telemetry::PriceTable> prices;
  if (config) {
    // Cost of targets without a `price`: the config's price table, as the gateway bills.
    prices = std::make_shared<const telemetry::PriceTable>(*config);
    options.price = [prices](std::string_view provider, std::string_view model,
                             std::int64_t prompt, std::int64_t completion) {
      api::Usage usage;
      usage.prompt_tokens = prompt;
      usage.completion_tokens = completion;
      usage.total_tokens = prompt + completion;
      return prices->cost(provider, model, usage);
    };
    config->server.host = "127.0.0.1";
    config->server.port = 0;
    config->log.access_log = false;
    auto gw = server::Gateway::create(std::move(*config), args.progress);
    if (!gw) {
      err << "switchyard eval: gateway: " << gw.error().message() << "\n";
      return 2;
    }
    gateway = std::move(*gw);
    gateway->start();
    options.gateway_url = "http://127.0.0.1:" + std::to_string(gateway->port()) + "/v1";
    options.gateway_label = "in-process: " + args.config_path;
  } else {
    options.gateway_url = args.gateway;
  }

  auto summary = eval::runSuite(*suite, **store, options);
  if (gateway) gateway->shutdown();
  if (!summary) {
    err << "switchyard eval: " << summary.error().message() << "\n";
    return summary.error().code() == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  const std::string& run_id = summary->run_id;
  if (summary->interrupted) {
    err << "interrupted; resume with: switchyard eval run --resume " << run_id << "\n";
    return 130;
  }

  if (auto s = writeTo(args.out, **store, run_id, *format, out, args.baseline); !s.isOk()) {
    err << "switchyard eval: " << s.message() << "\n";
    return 1;
  }
  for (auto [path, f] : {std::pair{args.junit, eval::ReportFormat::kJunit},
                         std::pair{args.html, eval::ReportFormat::kHtml}}) {
    if (path.empty()) continue;
    if (auto s = writeTo(path, **store, run_id, f, out, args.baseline); !s.isOk()) {
      err << "switchyard eval: " << s.message() << "\n";
      return 1;
    }
  }
  err << "run " << run_id << ": " << summary->outputs << " outputs, " << summary->passed
      << " passed";
  if (summary->skipped) err << ", " << summary->skipped << " already stored";
  if (summary->cache_hits) err << ", " << summary->cache_hits << " from cache";
  err << "\n";

  if (args.update_routing) {
    auto n = (*store)->updateQualityScores(run_id);
    if (!n) {
      err << "switchyard eval: --update-routing: " << n.error().message() << "\n";
      return 1;
    }
    err << "quality_scores: " << *n << " (target, task type) rows updated\n";
  }

  int code = 0;
  if (!args.baseline.empty()) {
    auto diff = (*store)->compare(run_id, args.baseline);
    if (!diff) {
      err << "switchyard eval: " << diff.error().message() << "\n";
      return 1;
    }
    const double gate = args.max_regressions >= 0 ? args.max_regressions : suite->max_regressions;
    const double allowed = gate >= 1 || gate == 0
                               ? gate
                               : gate * static_cast<double>(diff->compared);
    err << "baseline " << args.baseline << ": " << diff->regressions << " regressed, "
        << diff->improvements << " improved of " << diff->compared << " compared (allowed "
        << allowed << ")\n";
    if (static_cast<double>(diff->regressions) > allowed) {
      err << "FAILED: " << diff->regressions << " regressions against " << args.baseline << "\n";
      code = 3;
    }
  }
  if (code == 0 && suite->min_pass_rate > 0) {
    auto targets = (*store)->targetSummaries(run_id);
    if (targets) {
      for (const auto& t : *targets) {
        if (t.passRate() + 1e-9 < suite->min_pass_rate) {
          err << "FAILED: " << t.target << " pass rate " << 100 * t.passRate() << "% < "
              << 100 * suite->min_pass_rate << "%\n";
          code = 4;
        }
      }
    }
  }
  return code;
}

void addEvalCommand(CLI::App& app, std::function<int()>& action) {
  auto* eval_cmd = app.add_subcommand(
      "eval", "Evaluate models on your own tasks: accuracy, latency, cost, safety; CI gates");
  eval_cmd->require_subcommand(1);

  auto run_args = std::make_shared<EvalRunArgs>();
  auto* run = eval_cmd->add_subcommand(
      "run", "Run a suite against its targets and store the results\n"
             "Exit codes: 0 ok, 1 error, 2 bad input, 3 regressions past the gate, 4 pass rate "
             "under the suite's min_pass_rate, 130 interrupted (resume with --resume RUN_ID)");
  run->add_option("SUITE", run_args->suite, "suite YAML file (see docs/evaluation.md)");
  run->add_option("-c,--config", run_args->config_path,
                  "gateway config: serve it in-process for the run")
      ->envname("SWITCHYARD_CONFIG");
  run->add_option("--gateway", run_args->gateway, "URL of a running gateway, e.g. "
                                                  "http://127.0.0.1:8080");
  run->add_option("--api-key", run_args->api_key, "API key for the gateway")
      ->envname("SWITCHYARD_API_KEY");
  run->add_option("--store", run_args->store,
                  "results store URL (default: the config's storage, else sqlite://switchyard.db)");
  run->add_option("-t,--target", run_args->targets, "run only these targets (repeatable)");
  run->add_option("-j,--concurrency", run_args->concurrency, "requests in flight (default: "
                                                             "the suite's, else 4)")
      ->check(CLI::Range(1, 1000));
  run->add_option("--repeats", run_args->repeats, "runs of each case per target (flakiness)")
      ->check(CLI::Range(1, 1000));
  run->add_option("--limit", run_args->limit, "run only the first N cases");
  run->add_flag("--no-cache", run_args->no_cache, "ignore cached responses");
  run->add_option("--resume", run_args->resume, "continue an interrupted run");
  run->add_option("--baseline", run_args->baseline,
                  "compare with this run; regressions past the gate exit 3");
  run->add_option("--max-regressions", run_args->max_regressions,
                  "regressions allowed (>=1: a count, <1: a fraction of compared cases); "
                  "default: the suite's gate.max_regressions (0)");
  run->add_flag("--update-routing", run_args->update_routing,
                "write per-task-type quality scores per target for the router");
  run->add_flag("--allow-code-exec", run_args->allow_code_exec,
                "run model-written code for code-tests (sandboxed subprocess)");
  run->add_option("--judge", run_args->judge, "llm-judge target (default: the suite's, else "
                                              "the config's first local model)");
  run->add_option("--embedder", run_args->embedder, "embedding model for `similar`");
  run->add_option("-f,--format", run_args->format, "report printed at the end")
      ->check(CLI::IsMember({"table", "json", "junit", "html"}));
  run->add_option("-o,--out", run_args->out, "write that report to FILE instead of stdout");
  run->add_option("--junit", run_args->junit, "also write a JUnit XML report to FILE");
  run->add_option("--html", run_args->html, "also write an HTML report to FILE");
  run->add_option("--log-level", run_args->log_level, "gateway log level (default warn)");
  run->callback([run_args, &action] {
    action = [run_args] { return evalRun(*run_args, std::cout, std::cerr); };
  });

  auto list_args = std::make_shared<StoreArgs>();
  auto* list = eval_cmd->add_subcommand("list", "List recent runs");
  list->add_option("--store", list_args->store, "results store URL");
  list->add_option("-c,--config", list_args->config_path, "use this config's storage");
  list->callback([list_args, &action] {
    action = [list_args] { return evalList(*list_args, std::cout, std::cerr); };
  });

  auto show_args = std::make_shared<ReportArgs>();
  auto* show = eval_cmd->add_subcommand("show", "Summarize one run (console table)");
  show->add_option("RUN_ID", show_args->run_id, "run id (see `eval list`)")->required();
  show->add_option("--store", show_args->where.store, "results store URL");
  show->add_option("-c,--config", show_args->where.config_path, "use this config's storage");
  show->add_option("--baseline", show_args->baseline, "compare with this run");
  show->callback([show_args, &action] {
    action = [show_args] { return evalReport(*show_args, std::cout, std::cerr); };
  });

  auto report_args = std::make_shared<ReportArgs>();
  auto* report = eval_cmd->add_subcommand("report", "Write a run's report");
  report->add_option("RUN_ID", report_args->run_id, "run id (see `eval list`)")->required();
  report->add_option("-f,--format", report_args->format, "table, json, junit or html")
      ->check(CLI::IsMember({"table", "json", "junit", "html"}));
  report->add_option("-o,--out", report_args->out, "file (default stdout)");
  report->add_option("--store", report_args->where.store, "results store URL");
  report->add_option("-c,--config", report_args->where.config_path, "use this config's storage");
  report->add_option("--baseline", report_args->baseline,
                     "compare with this run (default: the run's own baseline)");
  report->callback([report_args, &action] {
    action = [report_args] { return evalReport(*report_args, std::cout, std::cerr); };
  });
}

}  // namespace switchyard::cli
