// `switchyard report ...`: reads the request log from the configured store and prints a report.

#include "switchyard/cli/report_cmd.h"

#include <chrono>
#include <iostream>
#include <memory>

#include "switchyard/config/config.h"
#include "switchyard/store/database.h"
#include "switchyard/telemetry/prices.h"
#include "switchyard/telemetry/report.h"

namespace switchyard::cli {
namespace {

struct ReportArgs {
  std::string kind;
  std::string since = "7d";
  std::string config_path;
  std::string storage;
  telemetry::ReportOptions options;
};

int runReport(const ReportArgs& args) {
  // The config gives the store and the prices; without one, the embedded defaults' store.
  Result<config::Config> config = args.config_path.empty()
                                      ? config::embeddedDefaultConfig()
                                      : config::loadConfigFile(args.config_path);
  if (!config) {
    std::cerr << "switchyard report: " << config.error().message() << "\n";
    return 2;
  }
  auto since = telemetry::parseSince(args.since);
  if (!since) {
    std::cerr << "switchyard report: " << since.error().message() << "\n";
    return 2;
  }
  telemetry::ReportOptions options = args.options;
  options.kind = args.kind;
  options.since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     *since;
  const std::string url = args.storage.empty() ? config->storage_url : args.storage;
  auto db = store::openDatabase(url);
  if (!db) {
    std::cerr << "switchyard report: " << db.error().message() << "\n";
    return 1;
  }
  auto tables = (*db)->query(
      (*db)->dialect() == store::Dialect::kPostgres
          ? "SELECT 1 FROM information_schema.tables WHERE table_name = 'request_log'"
          : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'request_log'");
  if (!tables || tables->empty()) {
    std::cerr << "switchyard report: " << (*db)->description()
              << " has no request log yet (run `switchyard serve` with this config first)\n";
    return 1;
  }
  const telemetry::PriceTable prices(*config);
  auto out = telemetry::runReport(**db, *config, prices, options);
  if (!out) {
    std::cerr << "switchyard report: " << out.error().message() << "\n";
    return 1;
  }
  if (!options.json) {
    std::cout << "Requests since " << args.since << " ago in " << (*db)->description() << "\n\n";
  }
  std::cout << *out;
  return 0;
}

}  // namespace

void addReportCommand(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report",
      "Usage, spend and total-cost-of-ownership reports over the request log.\n"
      "  usage  requests, errors, tokens, latency and feedback per model, key, team, route\n"
      "  cost   spend (from the price table) per model, key, team, route\n"
      "  tco    the logged traffic through APIs vs on the local hardware, both ways, and the\n"
      "         break-even volume");
  cmd->add_option("REPORT", args->kind, "usage, cost or tco")
      ->required()
      ->check(CLI::IsMember({"usage", "cost", "tco"}));
  cmd->add_option("--since", args->since, "period to report: 30m, 24h, 7d, 2w (default 7d)");
  cmd->add_option("-c,--config", args->config_path,
                  "config file: its storage.url and prices (default: embedded defaults)")
      ->envname("SWITCHYARD_CONFIG");
  cmd->add_option("--storage", args->storage, "store URL, overriding the config's storage.url");
  cmd->add_option("--by", args->options.by, "only this grouping: model, key, team, route, provider")
      ->check(CLI::IsMember({"model", "key", "team", "route", "provider"}));
  cmd->add_flag("--json", args->options.json, "one JSON document instead of tables");
  cmd->add_option("--compare", args->options.compare,
                  "tco: the API model local traffic is priced at, KIND/MODEL or PROVIDER/MODEL "
                  "(default openai/gpt-4o-mini)");
  cmd->add_option("--hourly-usd", args->options.hourly_usd,
                  "tco: hardware price in USD per hour (default: the config's prices)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--tokens-per-second", args->options.tokens_per_second,
                  "tco: local output throughput (default: measured from the log)")
      ->check(CLI::PositiveNumber);
  cmd->callback([&action, args] { action = [args] { return runReport(*args); }; });
}

}  // namespace switchyard::cli
