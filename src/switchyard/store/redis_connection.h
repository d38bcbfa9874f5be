#pragma once
// One blocking hiredis connection to a Redis server from a `redis://` URL in the config
// (limits.redis, cache.redis): connect with a timeout, AUTH (Redis 6 ACL user or the default
// one), SELECT the database. Errors carry Redis's own words, never the password. A context is
// used by one thread at a time.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"

struct redisContext;
struct redisReply;

namespace switchyard::store {

struct RedisContextDeleter {
  void operator()(redisContext* c) const;
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

struct RedisReplyDeleter {
  void operator()(redisReply* r) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// kUnavailable with the reason when the server cannot be reached or refuses the credentials.
// `command_timeout` then bounds every command's wait for its reply.
Result<RedisContextPtr> connectRedis(const config::RedisConfig& config,
                                     std::chrono::milliseconds connect_timeout,
                                     std::chrono::milliseconds command_timeout);

// A command's words as hiredis takes them (pointers and lengths; the words outlive it).
class RedisArgv {
 public:
  RedisArgv(std::initializer_list<std::string_view> words) { add(words); }
  explicit RedisArgv(const std::vector<std::string_view>& words) { add(words); }
  template <typename Words>
  void add(const Words& words) {
    for (std::string_view w : words) {
      ptrs_.push_back(w.data());
      lens_.push_back(w.size());
    }
  }
  int size() const { return static_cast<int>(ptrs_.size()); }
  const char** argv() { return ptrs_.data(); }
  const std::size_t* lengths() const { return lens_.data(); }

 private:
  std::vector<const char*> ptrs_;
  std::vector<std::size_t> lens_;
};

// Queues a command on the connection's output buffer (sent with the next reply read).
void appendRedisCommand(redisContext* c, RedisArgv argv);

// Reads the next reply; kUnavailable when the connection failed (and must not be reused).
Result<RedisReplyPtr> readRedisReply(redisContext* c);

}  // namespace switchyard::store
