#pragma once
// Gateway: wires config into providers, the router and the HTTP server, and serves the
// OpenAI-compatible API. Owns every long-lived object; start() then wait for a signal (run())
// or call shutdown(). Thread-safe after start().

#include <atomic>
#include <memory>
#include <mutex>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/http/server.h"
#include "switchyard/providers/registry.h"
#include "switchyard/routing/router.h"

namespace switchyard::server {

class Gateway {
 public:
  // Validates config, builds providers (loading preloaded local models, with a progress bar on
  // a terminal when `progress` is set) and binds the listening socket.
  static Result<std::unique_ptr<Gateway>> create(config::Config config, bool progress = false);
  ~Gateway();

  void start();
  std::uint16_t port() const { return server_->port(); }

  // Blocks until SIGINT/SIGTERM, then shuts down gracefully. Returns the process exit code.
  int run();
  // Stops accepting and drains in-flight requests up to the configured drain timeout.
  void shutdown();
  // Re-reads the config file (SIGHUP, POST /admin/reload) and swaps in the new providers,
  // routes and routing settings; in-flight requests finish on the old ones. A config that does
  // not load is rejected and the running one keeps serving. Unchanged providers are kept
  // (local models stay loaded). Extension modules that registered a reloader swap in their
  // new settings too; the server and log sections apply at restart.
  Status reload();

 private:
  class Handlers;
  struct Runtime;
  explicit Gateway(config::Config config);

  config::Config config_;
  std::unique_ptr<Handlers> handlers_;
  std::shared_ptr<const Runtime> initial_runtime_;  // extensions keep references into it
  std::mutex reload_mu_;
  std::unique_ptr<http::Server> server_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace switchyard::server
