#pragma once
// RedisTestServer: a throwaway redis-server for tests, on a free loopback port, no persistence,
// in a temp dir. stop() and start() again on the same port simulate an outage. Stopped and
// deleted by the destructor. Not thread-safe; one per test.

#include <sys/types.h>

#include <memory>
#include <string>

#include "switchyard/core/status.h"

namespace switchyard::limits::testing {

class RedisTestServer {
 public:
  // kUnavailable when redis-server is not installed (Debian package redis-server; the
  // bootstrap script installs it); another error when it does not start. `password`: requirepass.
  static Result<std::unique_ptr<RedisTestServer>> start(const std::string& password = "");
  ~RedisTestServer();

  // redis://[:password@]127.0.0.1:PORT
  std::string url() const;
  int port() const { return port_; }

  // Stops the server (an outage); restart() brings it back, empty, on the same port.
  void stop();
  Status restart();

 private:
  RedisTestServer() = default;
  Status launch();

  std::string dir_;
  std::string password_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace switchyard::limits::testing
