#pragma once
// `switchyard eval run|list|show|report`: run an evaluation suite against targets through an
// in-process gateway (--config) or a running one (--gateway), store the results, print reports,
// gate CI on regressions against a baseline run, and feed quality scores to routing.

#include <CLI/CLI.hpp>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace switchyard::cli {

struct EvalRunArgs {
  std::string suite;        // suite file ("" with --resume: the run's own)
  std::string config_path;  // in-process gateway from this config
  std::string gateway;      // or a running gateway's URL
  std::string api_key;
  std::string store;        // "" = the config's storage_url, else sqlite://switchyard.db
  std::vector<std::string> targets;
  int concurrency = 0;
  int repeats = 0;
  std::int64_t limit = 0;
  bool no_cache = false;
  std::string resume;
  std::string baseline;
  double max_regressions = -1;  // <0: the suite's gate
  bool update_routing = false;
  bool allow_code_exec = false;
  std::string judge, embedder;
  std::string format = "table";
  std::string out;           // report file ("" = stdout)
  std::string junit, html;   // extra report files
  std::string log_level = "warn";
  bool progress = true;
};

// Exit codes: 0 ok, 1 error, 2 bad input (suite, config, flags), 3 regressions past the gate,
// 4 a target's pass rate under the suite's min_pass_rate, 130 interrupted (resumable).
int evalRun(const EvalRunArgs& args, std::ostream& out, std::ostream& err);

// Adds `eval` and its subcommands; when one is parsed, `action` is set to run it.
void addEvalCommand(CLI::App& app, std::function<int()>& action);

}  // namespace switchyard::cli
