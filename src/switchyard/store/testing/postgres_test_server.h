#pragma once
// PostgresTestServer: a throwaway PostgreSQL cluster for tests, in a temp dir, listening on a
// free loopback port (trust auth, fsync off). PostgreSQL refuses to run as root, so under root
// the cluster belongs to the `postgres` user and its tools run through `runuser`. Stopped
// (immediately) and deleted by the destructor. Not thread-safe; one per test suite.

#include <memory>
#include <string>

#include "switchyard/core/status.h"

namespace switchyard::store::testing {

class PostgresTestServer {
 public:
  // kUnavailable with a reason when the PostgreSQL binaries are not installed (tests skip);
  // another error when they are but the server does not start.
  static Result<std::unique_ptr<PostgresTestServer>> start();
  ~PostgresTestServer();

  // postgres://postgres@127.0.0.1:PORT/postgres
  const std::string& url() const { return url_; }

  // Directory of initdb/pg_ctl ($SY_PG_BIN, else the newest /usr/lib/postgresql/N/bin), or ""
  static std::string binDir();

 private:
  PostgresTestServer() = default;
  int run(const std::string& command) const;

  std::string bin_;
  std::string dir_;
  std::string runas_;  // "runuser -u postgres -- " under root
  std::string url_;
  bool started_ = false;
};

}  // namespace switchyard::store::testing
