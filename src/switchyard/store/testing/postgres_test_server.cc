#include "switchyard/store/testing/postgres_test_server.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "switchyard/core/testing/local_servers.h"

namespace switchyard::store::testing {
namespace {

namespace fs = std::filesystem;
using ::switchyard::testing::freeLoopbackPort;
using ::switchyard::testing::readTextFile;

}  // namespace

std::string PostgresTestServer::binDir() {
  if (const char* env = std::getenv("SY_PG_BIN"); env != nullptr && *env != 0) return env;
  std::string best;
  int best_version = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int version = std::atoi(name.c_str());
    if (version > best_version && fs::exists(entry.path() / "bin" / "initdb", ec) &&
        fs::exists(entry.path() / "bin" / "pg_ctl", ec)) {
      best_version = version;
      best = (entry.path() / "bin").string();
    }
  }
  return best;
}

int PostgresTestServer::run(const std::string& command) const {
  const std::string line =
      "cd " + dir_ + " && " + runas_ + command + " >>" + dir_ + "/tools.log 2>&1";
  return std::system(line.c_str());
}

Result<std::unique_ptr<PostgresTestServer>> PostgresTestServer::start() {
  std::unique_ptr<PostgresTestServer> server(new PostgresTestServer());
  server->bin_ = binDir();
  std::error_code ec;
  if (server->bin_.empty() || !fs::exists(server->bin_ + "/initdb", ec) ||
      !fs::exists(server->bin_ + "/pg_ctl", ec)) {
    return fail(ErrorCode::kUnavailable,
                "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql "
                "(install the Debian package 'postgresql' or set SY_PG_BIN)");
  }
  char tmpl[] = "/tmp/sy-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return fail(ErrorCode::kInternal, "mkdtemp failed");
  server->dir_ = tmpl;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return fail(ErrorCode::kUnavailable,
                  "running as root and there is no 'postgres' user to run PostgreSQL as");
    }
    if (::chown(server->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return fail(ErrorCode::kInternal, "cannot chown " + server->dir_ + " to postgres");
    }
    server->runas_ = "runuser -u postgres -- ";
  }
  const int port = freeLoopbackPort();
  if (port == 0) return fail(ErrorCode::kInternal, "no free loopback port");
  const std::string& d = server->dir_;
  const std::string& bin = server->bin_;
  if (server->run(bin + "/initdb -D " + d +
                  "/data -U postgres --auth=trust -E UTF8 "
                  "--no-sync --no-instructions") != 0) {
    return fail(ErrorCode::kInternal, "initdb failed: " + readTextFile(d + "/tools.log"));
  }
  const std::string options = "-p " + std::to_string(port) + " -k " + d +
                              " -c listen_addresses=127.0.0.1 -c fsync=off "
                              "-c synchronous_commit=off -c full_page_writes=off";
  if (server->run(bin + "/pg_ctl -D " + d + "/data -l " + d + "/server.log -w -t 60 -o '" +
                  options + "' start") != 0) {
    return fail(ErrorCode::kInternal, "pg_ctl start failed: " + readTextFile(d + "/tools.log") +
                                          readTextFile(d + "/server.log"));
  }
  server->started_ = true;
  server->url_ = "postgres://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
  return server;
}

PostgresTestServer::~PostgresTestServer() {
  if (started_) (void)run(bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop");
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

}  // namespace switchyard::store::testing
