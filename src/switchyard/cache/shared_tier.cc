#include "switchyard/cache/shared_tier.h"

#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <cstdio>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"

namespace switchyard::cache {
namespace {

constexpr std::chrono::seconds kRetryEvery{1};
constexpr std::string_view kScanCount = "1000";

std::string redisError(const redisReply* r) { return "Redis: " + std::string(r->str, r->len); }

}  // namespace

std::unique_ptr<SharedTier> SharedTier::start(Options options) {
  std::unique_ptr<SharedTier> tier(new SharedTier(std::move(options)));
  tier->thread_ = std::thread([p = tier.get()] {
    setCurrentThreadName("sy-cache-redis");
    p->run();
  });
  if (tier->options_.on_remote_flush) {
    tier->subscriber_ = std::thread([p = tier.get()] {
      setCurrentThreadName("sy-cache-sub");
      p->subscribe();
    });
  }
  return tier;
}

namespace {

std::string randomId() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

}  // namespace

SharedTier::SharedTier(Options options) : options_(std::move(options)), instance_(randomId()) {}

SharedTier::~SharedTier() {
  {
    std::lock_guard lock(sub_mu_);
    sub_stop_ = true;
    // Wakes the subscriber out of its blocking read.
    if (sub_context_ != nullptr) ::shutdown(sub_context_->fd, SHUT_RDWR);
  }
  sub_cv_.notify_all();
  if (subscriber_.joinable()) subscriber_.join();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string SharedTier::flushChannel() const {
  // Pub/sub channels are not per database: the database is part of the name.
  return options_.prefix + "flush:" + std::to_string(options_.redis.db);
}

void SharedTier::subscribe() {
  const std::string channel = flushChannel();
  for (;;) {
    // No reply timeout: the subscriber waits for messages as long as it takes.
    auto connected =
        store::connectRedis(options_.redis, options_.timeout, std::chrono::milliseconds(0));
    if (connected) {
      store::RedisContextPtr c = std::move(*connected);
      {
        std::lock_guard lock(sub_mu_);
        if (sub_stop_) return;
        sub_context_ = c.get();
      }
      store::appendRedisCommand(c.get(), {"SUBSCRIBE", channel});
      for (;;) {
        auto reply = store::readRedisReply(c.get());
        if (!reply) break;  // the connection failed, or the destructor shut it down
        const redisReply* r = reply->get();
        // ["message", channel, payload]; the subscription's own confirmation is skipped.
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            std::string_view(r->element[0]->str, r->element[0]->len) == "message" &&
            r->element[2]->type == REDIS_REPLY_STRING &&
            std::string_view(r->element[2]->str, r->element[2]->len) != instance_) {
          options_.on_remote_flush();
        }
      }
      std::lock_guard lock(sub_mu_);
      sub_context_ = nullptr;
    }
    // Down (the main thread logs outages): try again in a second, unless stopping.
    std::unique_lock lock(sub_mu_);
    if (sub_cv_.wait_for(lock, kRetryEvery, [&] { return sub_stop_; })) return;
  }
}

std::string SharedTier::redisKey(const CacheKey& key) const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = options_.prefix;
  out.reserve(out.size() + 2 * key.digest.size());
  for (unsigned char b : key.digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

void SharedTier::get(const CacheKey& key, GetCallback done) {
  Job job;
  job.kind = Job::Kind::kGet;
  job.key = redisKey(key);
  job.get_done = std::move(done);
  enqueue(std::move(job));
}

void SharedTier::put(const CacheKey& key, std::shared_ptr<const Entry> entry,
                     std::chrono::system_clock::time_point stored) {
  Job job;
  job.kind = Job::Kind::kPut;
  job.key = redisKey(key);
  job.entry = std::move(entry);
  job.stored = stored;
  enqueue(std::move(job));
}

void SharedTier::flush(FlushCallback done) {
  Job job;
  job.kind = Job::Kind::kFlush;
  job.flush_done = std::move(done);
  enqueue(std::move(job));
}

void SharedTier::enqueue(Job job) {
  {
    std::lock_guard lock(mu_);
    // A flush is an operator's request: it waits its turn even when lookups are refused.
    if (!stop_ && (queue_.size() < options_.max_queued || job.kind == Job::Kind::kFlush)) {
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  fail(job, Status(ErrorCode::kUnavailable, "the Redis cache tier is behind (queue full)"));
}

void SharedTier::fail(Job& job, const Status& why) {
  switch (job.kind) {
    case Job::Kind::kGet:
      errors_.fetch_add(1, std::memory_order_relaxed);
      if (job.get_done) job.get_done(switchyard::fail(why));
      break;
    case Job::Kind::kPut:
      dropped_.fetch_add(1, std::memory_order_relaxed);
      break;
    case Job::Kind::kFlush:
      if (job.flush_done) job.flush_done(switchyard::fail(why));
      break;
  }
}

SharedTier::Stats SharedTier::stats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.writes = writes_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.up = up_.load(std::memory_order_relaxed);
  return s;
}

void SharedTier::run() {
  (void)connected();  // reports an outage at start-up, before the first request
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and the last writes went out
    std::deque<Job> batch;
    batch.swap(queue_);
    lock.unlock();
    process(batch);
    lock.lock();
  }
}

bool SharedTier::connected() {
  if (context_) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return false;
  auto c = store::connectRedis(options_.redis, options_.timeout, options_.timeout);
  if (!c) {
    next_attempt_ = now + kRetryEvery;
    lost(c.error());
    return false;
  }
  context_ = std::move(*c);
  up_ = true;
  if (down_logged_) {
    down_logged_ = false;
    logEvent(spdlog::level::info, "cache_redis_restored", {{"redis", options_.redis.display()}});
  }
  return true;
}

void SharedTier::lost(const Status& why) {
  context_.reset();
  up_ = false;
  if (!down_logged_) {
    down_logged_ = true;
    logEvent(spdlog::level::warn, "cache_redis_unavailable",
             {{"redis", options_.redis.display()},
              {"error", why.message()},
              {"effect", "each gateway answers from its own memory until Redis is back"}});
  }
}

void SharedTier::process(std::deque<Job>& batch) {
  if (!connected()) {
    const Status down(ErrorCode::kUnavailable, "Redis is unreachable");
    for (Job& job : batch) fail(job, down);
    return;
  }
  // Lookups and writes go out as one pipeline; flushes run after it, on their own.
  // (hiredis copies each command into its output buffer as it is appended.)
  std::vector<Job*> sent;
  std::vector<Job*> flushes;
  const auto now = std::chrono::system_clock::now();
  for (Job& job : batch) {
    switch (job.kind) {
      case Job::Kind::kGet:
        store::appendRedisCommand(context_.get(), {"GET", job.key});
        sent.push_back(&job);
        break;
      case Job::Kind::kPut: {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(job.entry->ttl -
                                                                                (now - job.stored));
        if (left.count() <= 0) break;  // expired on its way here
        const std::string value = encodeEntry(*job.entry, job.stored);
        const std::string ttl = std::to_string(left.count());
        store::appendRedisCommand(context_.get(), {"SET", job.key, value, "PX", ttl});
        sent.push_back(&job);
        break;
      }
      case Job::Kind::kFlush:
        flushes.push_back(&job);
        break;
    }
  }
  for (std::size_t i = 0; i < sent.size(); ++i) {
    Job& job = *sent[i];
    auto reply = store::readRedisReply(context_.get());
    if (!reply) {
      lost(reply.error());
      for (std::size_t j = i; j < sent.size(); ++j) fail(*sent[j], reply.error());
      for (Job* f : flushes) fail(*f, reply.error());
      return;
    }
    const redisReply* r = reply->get();
    if (job.kind == Job::Kind::kPut) {
      if (r->type == REDIS_REPLY_STATUS) {
        writes_.fetch_add(1, std::memory_order_relaxed);
      } else {
        dropped_.fetch_add(1, std::memory_order_relaxed);  // e.g. OOM under maxmemory noeviction
      }
      continue;
    }
    if (r->type == REDIS_REPLY_NIL) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      job.get_done(std::optional<DecodedEntry>());
    } else if (r->type == REDIS_REPLY_STRING) {
      auto decoded = decodeEntry(std::string_view(r->str, r->len));
      if (decoded) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        job.get_done(std::optional<DecodedEntry>(std::move(*decoded)));
      } else {
        errors_.fetch_add(1, std::memory_order_relaxed);
        job.get_done(switchyard::fail(std::move(decoded.error())));
      }
    } else {
      errors_.fetch_add(1, std::memory_order_relaxed);
      job.get_done(switchyard::fail(
          ErrorCode::kUnavailable,
          r->type == REDIS_REPLY_ERROR ? redisError(r) : "Redis: unexpected reply to GET"));
    }
  }
  // A flush that lost the connection fails those after it with the same error.
  Status lost_with = Status::ok();
  for (Job* job : flushes) {
    if (!lost_with.isOk()) {
      fail(*job, lost_with);
      continue;
    }
    auto flushed = flushAll();
    if (!flushed && !context_) lost_with = flushed.error();
    job->flush_done(std::move(flushed));
  }
}

Result<std::size_t> SharedTier::flushAll() {
  const std::string pattern = options_.prefix + "*";
  std::string cursor = "0";
  std::size_t deleted = 0;
  do {
    store::appendRedisCommand(context_.get(),
                              {"SCAN", cursor, "MATCH", pattern, "COUNT", kScanCount});
    auto reply = store::readRedisReply(context_.get());
    if (!reply) {
      lost(reply.error());
      return switchyard::fail(std::move(reply.error()));
    }
    const redisReply* r = reply->get();
    if (r->type == REDIS_REPLY_ERROR)
      return switchyard::fail(ErrorCode::kUnavailable, redisError(r));
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
      return switchyard::fail(ErrorCode::kUnavailable, "Redis: unexpected reply to SCAN");
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    const redisReply* keys = r->element[1];
    if (keys->elements == 0) continue;
    std::vector<std::string_view> words = {"UNLINK"};
    for (std::size_t i = 0; i < keys->elements; ++i) {
      words.emplace_back(keys->element[i]->str, keys->element[i]->len);
    }
    store::appendRedisCommand(context_.get(), store::RedisArgv(words));
    auto unlinked = store::readRedisReply(context_.get());
    if (!unlinked) {
      lost(unlinked.error());
      return switchyard::fail(std::move(unlinked.error()));
    }
    if ((*unlinked)->type == REDIS_REPLY_INTEGER) {
      deleted += static_cast<std::size_t>((*unlinked)->integer);
    } else if ((*unlinked)->type == REDIS_REPLY_ERROR) {
      return switchyard::fail(ErrorCode::kUnavailable, redisError(unlinked->get()));
    }
  } while (cursor != "0");
  // The other gateways drop their memory too (best effort: one that is not subscribed right now
  // keeps its copies until their TTL).
  store::appendRedisCommand(context_.get(), {"PUBLISH", flushChannel(), instance_});
  auto published = store::readRedisReply(context_.get());
  if (!published) lost(published.error());
  return deleted;
}

}  // namespace switchyard::cache
