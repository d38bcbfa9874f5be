#include "switchyard/cli/route_cmd.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "switchyard/api/openai/codec.h"
#include "switchyard/config/config.h"
#include "switchyard/routing/router.h"

namespace switchyard::cli {
namespace {

struct ExplainArgs {
  std::string config_path;
  std::string request_path;
  std::string risk;
  bool local_only = false;
};

int explain(const ExplainArgs& args) {
  auto config = args.config_path.empty() ? config::embeddedDefaultConfig()
                                         : config::loadConfigFile(args.config_path);
  if (!config) {
    std::cerr << "switchyard: " << config.error().message() << "\n";
    return 2;
  }
  std::string body;
  if (args.request_path == "-") {
    std::ostringstream in;
    in << std::cin.rdbuf();
    body = in.str();
  } else {
    std::ifstream file(args.request_path, std::ios::binary);
    if (!file) {
      std::cerr << "switchyard: cannot read " << args.request_path << "\n";
      return 2;
    }
    std::ostringstream in;
    in << file.rdbuf();
    body = in.str();
  }
  auto request = api::openai::decodeChatRequest(body);
  if (!request) {
    std::cerr << "switchyard: " << args.request_path << ": " << request.error().message()
              << "\n";
    return 2;
  }
  routing::HealthBoard health;
  routing::Router router(*config, health);
  routing::RequestSignals signals = routing::signalsOf(*request, &router.classifier(), args.risk, true);
  signals.local_only = args.local_only;
  if (args.local_only) signals.local_only_reason = "--local-only";
  pipeline::RequestContext ctx;
  routing::Explanation explanation;
  Status s = router.plan(request->model, signals, ctx, &explanation);
  std::cout << routing::explanationJson(explanation) << "\n";
  return s.isOk() ? 0 : 1;
}

}  // namespace

void addRouteCommand(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<ExplainArgs>();
  auto* route = app.add_subcommand("route", "Inspect routing decisions");
  route->require_subcommand(1);
  auto* explain_cmd = route->add_subcommand(
      "explain",
      "Print the routing decision for a chat request (OpenAI JSON) without calling a model: "
      "signals, every candidate with what excluded it, scores, and the plan with fallbacks. "
      "Exits 1 when no candidate may serve the request. Breakers and latencies start fresh; "
      "POST /v1/route/explain on a running gateway uses its live state and guard verdict.");
  explain_cmd->add_option("-c,--config", args->config_path, "YAML config file (default: embedded)");
  explain_cmd->add_option("-r,--request", args->request_path, "request JSON file, or - for stdin")
      ->required();
  explain_cmd->add_option("--risk", args->risk, "risk tier, as the x-switchyard-risk header");
  explain_cmd->add_flag("--local-only", args->local_only,
                        "treat the request as sensitive (as a guard local-only verdict would)");
  explain_cmd->callback([args, &action] { action = [args] { return explain(*args); }; });
}

}  // namespace switchyard::cli
