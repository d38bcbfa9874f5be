#include "switchyard/store/redis_connection.h"

#include <hiredis/hiredis.h>

#include <string>

namespace switchyard::store {
namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

void RedisContextDeleter::operator()(redisContext* c) const { redisFree(c); }
void RedisReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

Result<RedisContextPtr> connectRedis(const config::RedisConfig& config,
                                     std::chrono::milliseconds connect_timeout,
                                     std::chrono::milliseconds command_timeout) {
  RedisContextPtr c(
      redisConnectWithTimeout(config.host.c_str(), config.port, toTimeval(connect_timeout)));
  if (c == nullptr) return fail(ErrorCode::kUnavailable, "cannot allocate a Redis context");
  if (c->err != 0) return fail(ErrorCode::kUnavailable, std::string(c->errstr));
  redisSetTimeout(c.get(), toTimeval(command_timeout));
  auto command = [&](RedisArgv argv, std::string_view name) -> Status {
    RedisReplyPtr r(static_cast<redisReply*>(
        redisCommandArgv(c.get(), argv.size(), argv.argv(), argv.lengths())));
    if (r == nullptr) return Status(ErrorCode::kUnavailable, c->errstr);
    if (r->type == REDIS_REPLY_ERROR) {
      // Redis's own words (WRONGPASS, NOAUTH, ...), never the password.
      return Status(ErrorCode::kUnavailable,
                    std::string(name) + ": " + std::string(r->str, r->len));
    }
    return Status::ok();
  };
  if (!config.password.empty()) {
    Status s = config.username.empty()
                   ? command({"AUTH", config.password}, "AUTH")
                   : command({"AUTH", config.username, config.password}, "AUTH");
    if (!s.isOk()) return fail(std::move(s));
  }
  if (config.db != 0) {
    const std::string db = std::to_string(config.db);
    if (Status s = command({"SELECT", db}, "SELECT"); !s.isOk()) return fail(std::move(s));
  }
  return c;
}

void appendRedisCommand(redisContext* c, RedisArgv argv) {
  redisAppendCommandArgv(c, argv.size(), argv.argv(), argv.lengths());
}

Result<RedisReplyPtr> readRedisReply(redisContext* c) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
    return fail(ErrorCode::kUnavailable, std::string(c->errstr));
  }
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

}  // namespace switchyard::store
