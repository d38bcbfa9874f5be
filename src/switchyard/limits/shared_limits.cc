#include "switchyard/limits/shared_limits.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"
#include "switchyard/store/redis_connection.h"

namespace switchyard::limits {
namespace {

// A token bucket in a Redis hash, refilled on Redis's clock: takes ARGV[2] units (negative:
// gives back) from a bucket of ARGV[1] per minute and returns what is left. Numbers go to Redis
// as strings (a Lua number would be truncated to an integer). The key expires once the bucket
// would be full again, plus a minute.
constexpr std::string_view kBucketScript = R"lua(
local cap = tonumber(ARGV[1])
if cap == nil or cap <= 0 then return '0' end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
if now > ts then tokens = math.min(cap, tokens + (now - ts) * cap / 60) end
tokens = math.min(cap, tokens - tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil((cap - tokens) * 60 / cap) + 60)
return tostring(tokens)
)lua";

// A period's spend: the first gateway to report seeds it with what it knows (its store's total
// for the period), every report after adds its increment. Returns the total.
constexpr std::string_view kSpendScript = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  return ARGV[1]
end
return redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])
)lua";

constexpr std::string_view kBucketPrefix = "switchyard:ratelimit:";
constexpr std::string_view kSpendPrefix = "switchyard:spend:";

std::string number(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

// The number a script or INCRBYFLOAT answered, or an error naming what Redis said.
Result<double> numberReply(const redisReply* r) {
  if (r->type == REDIS_REPLY_ERROR) {
    return fail(ErrorCode::kUnavailable, "Redis: " + std::string(r->str, r->len));
  }
  if (r->type == REDIS_REPLY_INTEGER) return static_cast<double>(r->integer);
  if (r->type != REDIS_REPLY_STRING) {
    return fail(ErrorCode::kUnavailable, "Redis: unexpected reply type " + std::to_string(r->type));
  }
  const std::string text(r->str, r->len);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) {
    return fail(ErrorCode::kUnavailable, "Redis: not a number: " + text);
  }
  return v;
}

// Queues one EVAL of `script` on one key.
void appendEval(redisContext* c, std::string_view script, const std::string& key,
                std::initializer_list<std::string> args) {
  std::vector<std::string_view> words = {"EVAL", script, "1", key};
  words.insert(words.end(), args.begin(), args.end());
  store::appendRedisCommand(c, store::RedisArgv(words));
}

}  // namespace

std::unique_ptr<SharedLimits> SharedLimits::start(const config::SharedLimitsConfig& config,
                                                  RateLimiter& limiter, BudgetTracker& budgets) {
  std::unique_ptr<SharedLimits> s(new SharedLimits(config, limiter, budgets));
  (void)s->syncNow();  // connects, or logs why not
  auto& registry = telemetry::Registry::global();
  s->up_metric_ = registry.callback(
      "switchyard_limits_shared_up",
      "1 when the last round of sharing rate limits and budgets with Redis (limits.redis) "
      "reached it; 0 while each gateway enforces its limits alone.",
      telemetry::MetricType::kGauge, {}, [p = s.get()] {
        return std::vector<telemetry::Sample>{{{}, p->connected() ? 1.0 : 0.0}};
      });
  s->failures_metric_ = registry.callback(
      "switchyard_limits_shared_failures_total",
      "Rounds of sharing rate limits and budgets with Redis that did not reach it.",
      telemetry::MetricType::kCounter, {}, [p = s.get()] {
        return std::vector<telemetry::Sample>{{{}, static_cast<double>(p->failures())}};
      });
  s->thread_ = std::thread([p = s.get()] {
    setCurrentThreadName("sy-limits-sync");
    p->run();
  });
  return s;
}

SharedLimits::SharedLimits(const config::SharedLimitsConfig& config, RateLimiter& limiter,
                           BudgetTracker& budgets)
    : config_(config), limiter_(limiter), budgets_(budgets) {}

SharedLimits::~SharedLimits() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  (void)syncNow();
}

void SharedLimits::run() {
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, config_.sync_interval, [&] { return stop_; })) {
    lock.unlock();
    (void)syncNow();
    lock.lock();
  }
}

Status SharedLimits::connect() {
  // A round never waits on Redis longer than a second (or the interval, when longer).
  auto c = store::connectRedis(
      config_, std::chrono::milliseconds(500),
      std::max<std::chrono::milliseconds>(config_.sync_interval, std::chrono::milliseconds(1000)));
  if (!c) return std::move(c.error());
  context_ = std::move(*c);
  return Status::ok();
}

Status SharedLimits::syncNow() {
  std::lock_guard lock(sync_mu_);
  Status s = context_ ? Status::ok() : connect();
  if (s.isOk()) s = trade();
  if (!s.isOk()) context_.reset();  // a broken connection is not reused
  connected_ = s.isOk();
  if (!s.isOk()) ++failures_;
  if (!s.isOk() && !down_) {
    down_ = true;
    logEvent(spdlog::level::warn, "limits_shared_unavailable",
             {{"redis", config_.display()},
              {"error", s.message()},
              {"effect", "each gateway enforces its own limits until Redis answers"}});
  } else if (s.isOk() && down_) {
    down_ = false;
    logEvent(spdlog::level::info, "limits_shared_restored", {{"redis", config_.display()}});
  }
  return s;
}

Status SharedLimits::trade() {
  const auto now = RateLimiter::Clock::now();
  const auto wall = BudgetTracker::SystemClock::now();
  std::vector<RateLimiter::Usage> usage = limiter_.exportUsage(now, kActive);
  std::vector<BudgetTracker::Spend> spend = budgets_.exportSpend(wall);
  if (usage.empty() && spend.empty()) {
    // Nothing to trade: a PING keeps the outage and recovery reports honest.
    store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(context_.get(), "PING")));
    if (r == nullptr) return Status(ErrorCode::kUnavailable, context_->errstr);
    return Status::ok();
  }

  redisContext* c = context_.get();
  std::vector<std::string> keys;
  keys.reserve(usage.size() + spend.size());
  for (const RateLimiter::Usage& u : usage) {
    keys.push_back(std::string(kBucketPrefix) + u.name);
    appendEval(c, kBucketScript, keys.back(), {number(u.per_minute), number(u.used)});
  }
  for (const BudgetTracker::Spend& b : spend) {
    keys.push_back(std::string(kSpendPrefix) + b.scope + ":" + b.period_key);
    // Kept a little past the period's end: a month's for 40 days, a day's for 3.
    const int ttl_seconds = b.period_key.starts_with("day:") ? 3 * 86400 : 40 * 86400;
    appendEval(c, kSpendScript, keys.back(),
               {number(b.spent), number(b.unshared), std::to_string(ttl_seconds)});
  }

  // Replies in order. Whatever got no answer goes back to be sent again next round.
  Status status = Status::ok();
  const std::size_t total = usage.size() + spend.size();
  std::size_t i = 0;
  for (; i < total; ++i) {
    auto reply = store::readRedisReply(c);
    if (!reply) {
      status = std::move(reply.error());
      break;
    }
    auto value = numberReply(reply->get());
    if (!value) {
      status = std::move(value.error());  // this command failed whole; the rest still answer
      if (i < usage.size()) {
        limiter_.unexport(usage[i]);
      } else {
        budgets_.unexportSpend(spend[i - usage.size()]);
      }
      continue;
    }
    if (i < usage.size()) {
      limiter_.applyShared(usage[i].name, *value, RateLimiter::Clock::now());
    } else {
      const BudgetTracker::Spend& b = spend[i - usage.size()];
      budgets_.applySharedSpend(b.scope, b.period_key, *value);
    }
  }
  for (; i < total; ++i) {
    if (i < usage.size()) {
      limiter_.unexport(usage[i]);
    } else {
      budgets_.unexportSpend(spend[i - usage.size()]);
    }
  }
  return status;
}

}  // namespace switchyard::limits
