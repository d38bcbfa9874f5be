#include "switchyard/limits/testing/redis_test_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "switchyard/core/testing/local_servers.h"

extern char** environ;

namespace switchyard::limits::testing {
namespace {

namespace fs = std::filesystem;
using ::switchyard::testing::freeLoopbackPort;
using ::switchyard::testing::readTextFile;

std::string findRedisServer() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
    const fs::path p = fs::path(dir) / "redis-server";
    std::error_code ec;
    if (fs::exists(p, ec)) return p.string();
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<RedisTestServer>> RedisTestServer::start(const std::string& password) {
  if (findRedisServer().empty()) {
    return fail(ErrorCode::kUnavailable,
                "redis-server not found (install the Debian package 'redis-server')");
  }
  std::unique_ptr<RedisTestServer> server(new RedisTestServer());
  char tmpl[] = "/tmp/sy-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return fail(ErrorCode::kInternal, "mkdtemp failed");
  server->dir_ = tmpl;
  server->password_ = password;
  server->port_ = freeLoopbackPort();
  if (server->port_ == 0) return fail(ErrorCode::kInternal, "no free loopback port");
  if (Status s = server->launch(); !s.isOk()) return fail(std::move(s));
  return server;
}

Status RedisTestServer::launch() {
  const std::string binary = findRedisServer();
  std::vector<std::string> args = {
      binary,   "--port",    std::to_string(port_), "--bind", "127.0.0.1",
      "--save", "",          "--appendonly",        "no",     "--dir",
      dir_,     "--logfile", dir_ + "/redis.log"};
  if (!password_.empty()) {
    args.push_back("--requirepass");
    args.push_back(password_);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (::posix_spawn(&pid_, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    pid_ = -1;
    return Status(ErrorCode::kInternal, "cannot start redis-server");
  }
  // Ready when it answers (a PING that needs no password: NOAUTH counts as an answer).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const timeval tv{0, 200'000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    const bool up = c != nullptr && c->err == 0;
    if (up) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      const bool answered = r != nullptr;
      if (r != nullptr) freeReplyObject(r);
      redisFree(c);
      if (answered) return Status::ok();
    } else if (c != nullptr) {
      redisFree(c);
    }
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Status(ErrorCode::kInternal,
                    "redis-server exited at start: " + readTextFile(dir_ + "/redis.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  return Status(ErrorCode::kInternal,
                "redis-server did not answer within 10 s: " + readTextFile(dir_ + "/redis.log"));
}

std::string RedisTestServer::url() const {
  return "redis://" + (password_.empty() ? std::string() : ":" + password_ + "@") +
         "127.0.0.1:" + std::to_string(port_);
}

void RedisTestServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);  // an outage, not a shutdown: nothing is saved either way
  int wstatus = 0;
  ::waitpid(pid_, &wstatus, 0);
  pid_ = -1;
}

Status RedisTestServer::restart() {
  stop();
  return launch();
}

RedisTestServer::~RedisTestServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

}  // namespace switchyard::limits::testing
