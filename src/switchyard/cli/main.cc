// switchyard: the command-line entry point. Subcommands only; all logic lives in the modules.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>

#include "switchyard/cli/keys_cmd.h"
#include "switchyard/cli/eval_cmd.h"
#include "switchyard/cli/report_cmd.h"
#include "switchyard/cli/rag_cmd.h"
#include "switchyard/cli/route_cmd.h"
#include "switchyard/config/config.h"
#include "switchyard/core/allocator.h"
#include "switchyard/core/log.h"
#include "switchyard/core/version.h"
#include "switchyard/server/gateway.h"
#if SY_WITH_LLAMA
#include "switchyard/cli/models_cmd.h"
#endif

namespace sy = switchyard;

namespace {

struct ServeArgs {
  std::string config_path;
  sy::config::ModelFilesOptions models;  // --model: these GGUF files instead of a config
  std::string listen;
  std::string log_level;
  std::string log_format;
};

// "HOST:PORT", "[::1]:PORT" or ":PORT".
bool parseListen(const std::string& text, std::string& host, std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const unsigned long value = std::stoul(p);
  if (value > 65535) return false;
  host = h.empty() ? "0.0.0.0" : h;
  port = static_cast<std::uint16_t>(value);
  return true;
}

int serve(const ServeArgs& args) {
  // Without --config: the embedded defaults (one local tiny model, see `make serve`), or with
  // --model the user's own GGUF files in its place.
  auto config = !args.config_path.empty()    ? sy::config::loadConfigFile(args.config_path)
                : !args.models.paths.empty() ? sy::config::modelFilesConfig(args.models)
                                             : sy::config::embeddedDefaultConfig();
  if (!config) {
    std::cerr << "switchyard: " << config.error().message() << "\n";
    return 2;
  }
  if (args.config_path.empty() && args.models.paths.empty()) {
    const std::string model = sy::config::defaultModelPath();
    std::error_code ec;
    if (!std::filesystem::exists(model, ec)) {
      std::cerr << "switchyard: no --config given, and the default model " << model
                << " does not exist.\n"
                << "  Make it with:  switchyard models make-tiny --out " << model << "\n"
                << "  (or run `make serve`, which does), pass your own GGUF model with\n"
                << "  --model FILE, or pass --config FILE.\n";
      return 2;
    }
  }
  if (!args.listen.empty() &&
      !parseListen(args.listen, config->server.host, config->server.port)) {
    std::cerr << "switchyard: --listen '" << args.listen << "' is not HOST:PORT\n";
    return 2;
  }
  config->server.listen_from_cli = !args.listen.empty();
  if (!args.log_level.empty()) config->log.level = args.log_level;
  if (!args.log_format.empty()) config->log.format = args.log_format;

  sy::LogOptions log;
  log.level = config->log.level;
  log.format = config->log.format == "json" ? sy::LogFormat::kJson : sy::LogFormat::kText;
  log.file = config->log.file;
  if (auto s = sy::setupLogging(log); !s.isOk()) {
    std::cerr << "switchyard: " << s.message() << "\n";
    return 2;
  }

  auto gateway = sy::server::Gateway::create(std::move(*config), /*progress=*/true);
  if (!gateway) {
    sy::logEvent(spdlog::level::critical, "startup_failed", {{"error", gateway.error().message()}});
    return 1;
  }
  (*gateway)->start();
  return (*gateway)->run();
}

int configCheck(const std::string& path) {
  auto config = sy::config::loadConfigFile(path);
  if (!config) {
    std::cerr << config.error().message() << "\n";
    return 1;
  }
  auto count = [](std::size_t n, std::string_view noun) {
    return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
  };
  std::cout << path << ": ok (" << count(config->providers.size(), "provider") << ", "
            << count(config->routes.size(), "route") << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Switchyard: one gateway for local open models and cloud LLM APIs.\n"
               "Speaks the OpenAI, Anthropic and Ollama APIs; routes each request to the right "
               "model.",
               "switchyard"};
  app.set_version_flag("-V,--version", std::string("switchyard ") + sy::kVersion + " (" +
                                           sy::kGitDescribe + ", llama.cpp " +
                                           sy::kLlamaCppVersion + ", allocator " +
                                           std::string(sy::allocatorName()) + ")");
  app.require_subcommand(1);

  ServeArgs serve_args;
  auto* serve_cmd = app.add_subcommand("serve", "Run the gateway");
  serve_cmd->add_option("-c,--config", serve_args.config_path,
                        "YAML config file (default: embedded defaults serving a local tiny model)")
      ->envname("SWITCHYARD_CONFIG");
  auto* model_opt =
      serve_cmd
          ->add_option("-m,--model", serve_args.models.paths,
                       "Serve this GGUF model (repeatable) on the embedded defaults instead of "
                       "the tiny one: named by its file name without .gguf, the first also as "
                       "'default' and loaded at start")
          ->excludes("--config");
  serve_cmd
      ->add_option("--ctx-size", serve_args.models.context,
                   "With --model: KV cells per model, shared by its parallel sequences")
      ->capture_default_str()
      ->check(CLI::Range(16, 1 << 24))
      ->needs(model_opt);
  serve_cmd
      ->add_option("--parallel", serve_args.models.parallel,
                   "With --model: sequences each model decodes together")
      ->capture_default_str()
      ->check(CLI::Range(1, 256))
      ->needs(model_opt);
  serve_cmd
      ->add_flag("--embeddings", serve_args.models.embeddings,
                 "With --model: also serve /v1/embeddings from the models")
      ->needs(model_opt);
  serve_cmd->add_option("-l,--listen", serve_args.listen,
                        "Listen address HOST:PORT (overrides server.listen; port 0 = any)");
  serve_cmd->add_option("--log-level", serve_args.log_level,
                        "trace, debug, info, warn, error, critical or off");
  serve_cmd->add_option("--log-format", serve_args.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));

  std::string check_path;
  auto* config_cmd = app.add_subcommand("config", "Work with config files");
  config_cmd->require_subcommand(1);
  auto* check_cmd = config_cmd->add_subcommand("check", "Validate a config file and exit");
  check_cmd->add_option("FILE", check_path, "config file")->required();

  std::function<int()> action;
  sy::cli::addReportCommand(app, action);
  sy::cli::addKeysCommand(app, action);
  sy::cli::addRouteCommand(app, action);
  sy::cli::addEvalCommand(app, action);
#if SY_WITH_LLAMA
  sy::cli::addModelsCommand(app, action);
#endif
  sy::cli::addRagCommands(app, action);

  CLI11_PARSE(app, argc, argv);

  if (serve_cmd->parsed()) return serve(serve_args);
  if (check_cmd->parsed()) return configCheck(check_path);
  if (action) return action();
  return 0;
}
