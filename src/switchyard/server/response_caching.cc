#include "switchyard/server/response_caching.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <charconv>
#include <mutex>
#include <string>
#include <utility>

#include "switchyard/core/log.h"
#include "switchyard/core/strings.h"
#include "switchyard/routing/router.h"
#include "switchyard/telemetry/metrics.h"

namespace switchyard::server {
namespace asio = boost::asio;
namespace {

constexpr std::string_view kHit = "hit";
constexpr std::string_view kMiss = "miss";
constexpr std::string_view kRefresh = "refresh";
constexpr std::string_view kBypass = "bypass";

bool finishedWell(api::FinishReason reason) {
  return reason != api::FinishReason::kNone && reason != api::FinishReason::kError;
}

struct MetricHandles {
  std::vector<telemetry::Registry::CallbackHandle> handles;
};

}  // namespace

std::shared_ptr<void> ResponseCaching::registerMetrics(ResponseCaching& self) {
  auto& registry = telemetry::Registry::global();
  auto h = std::make_shared<MetricHandles>();
  using telemetry::MetricType;
  using telemetry::Sample;
  h->handles.push_back(registry.callback(
      "switchyard_cache_lookups_total",
      "Response cache lookups by result (hit: answered from the cache, memory or Redis; miss: "
      "sent upstream).",
      MetricType::kCounter, {"result"}, [&self] {
        return std::vector<Sample>{{{"hit"}, static_cast<double>(self.hits())},
                                   {{"miss"}, static_cast<double>(self.misses())}};
      }));
  cache::ResponseCache& cache = self.cache_;
  h->handles.push_back(registry.callback(
      "switchyard_cache_evictions_total",
      "Response cache entries dropped to make room (least recently used first).",
      MetricType::kCounter, {}, [&cache] {
        return std::vector<Sample>{{{}, static_cast<double>(cache.stats().evictions)}};
      }));
  h->handles.push_back(registry.callback(
      "switchyard_cache_entries", "Answers in the response cache's memory.", MetricType::kGauge, {},
      [&cache] {
        return std::vector<Sample>{{{}, static_cast<double>(cache.stats().entries)}};
      }));
  h->handles.push_back(registry.callback(
      "switchyard_cache_bytes", "Approximate memory held by the response cache's answers.",
      MetricType::kGauge, {}, [&cache] {
        return std::vector<Sample>{{{}, static_cast<double>(cache.stats().bytes)}};
      }));
  if (const cache::SharedTier* shared = self.shared_.get()) {
    h->handles.push_back(registry.callback(
        "switchyard_cache_redis_lookups_total",
        "Lookups in the response cache's Redis tier (after a miss in memory) by result (error: "
        "unreachable, too slow, or not an entry; a miss to the client).",
        MetricType::kCounter, {"result"}, [shared] {
          const cache::SharedTier::Stats s = shared->stats();
          return std::vector<Sample>{{{"hit"}, static_cast<double>(s.hits)},
                                     {{"miss"}, static_cast<double>(s.misses)},
                                     {{"error"}, static_cast<double>(s.errors)}};
        }));
    h->handles.push_back(registry.callback(
        "switchyard_cache_redis_writes_total",
        "Answers written to the response cache's Redis tier (dropped: Redis unreachable, behind, "
        "or refusing).",
        MetricType::kCounter, {"result"}, [shared] {
          const cache::SharedTier::Stats s = shared->stats();
          return std::vector<Sample>{{{"ok"}, static_cast<double>(s.writes)},
                                     {{"dropped"}, static_cast<double>(s.dropped)}};
        }));
    h->handles.push_back(registry.callback(
        "switchyard_cache_redis_up",
        "1 when the response cache's Redis tier answered the last attempt to reach it.",
        MetricType::kGauge, {}, [shared] {
          return std::vector<Sample>{{{}, shared->stats().up ? 1.0 : 0.0}};
        }));
  }
  return h;
}

ResponseCaching::ResponseCaching(const config::CacheConfig& config)
    : scope_(config.scope == "global" ? Scope::kGlobal
             : config.scope == "team" ? Scope::kTeam
                                      : Scope::kKey),
      cache_(cache::ResponseCache::Options{config.ttl, config.max_bytes}),
      shared_timeout_(config.redis_timeout) {
  if (!config.redis.url.empty()) {
    cache::SharedTier::Options options;
    options.redis = config.redis;
    options.timeout = config.redis_timeout;
    // Another gateway's flush (DELETE /admin/cache) empties this one's memory too.
    options.on_remote_flush = [this] {
      const std::size_t flushed = cache_.clear();
      logEvent(spdlog::level::info, "cache_flushed",
               {{"entries", static_cast<long long>(flushed)}, {"by", "another gateway"}});
    };
    shared_ = cache::SharedTier::start(std::move(options));
  }
  metrics_ = registerMetrics(*this);
}

ResponseCaching::~ResponseCaching() = default;

void ResponseCaching::readDirectives(std::string_view header, pipeline::RequestContext& ctx) {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    const std::string_view directive = trimSpace(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const std::size_t eq = directive.find('=');
    const std::string_view name = trimSpace(directive.substr(0, eq));
    if (boost::beast::iequals(name, "no-cache")) {
      ctx.cache_read = false;
    } else if (boost::beast::iequals(name, "no-store")) {
      ctx.cache_read = false;
      ctx.cache_write = false;
    } else if (boost::beast::iequals(name, "max-age") && eq != std::string_view::npos) {
      std::string_view value = trimSpace(directive.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      std::int64_t seconds = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) {
        ctx.cache_max_age = std::chrono::seconds(seconds);
      } else if (ec == std::errc::result_out_of_range) {
        ctx.cache_max_age.reset();  // RFC 9111: a delta too large to read is "forever"
      }
    }
  }
}

Status ResponseCaching::takeBodyControls(boost::json::object& extra, pipeline::RequestContext& ctx,
                                         bool apply) {
  auto found = extra.find("cache");
  if (found == extra.end()) return Status::ok();
  const boost::json::value controls = std::move(found->value());
  extra.erase(found);
  auto invalid = [](std::string_view field, std::string_view expected) {
    return Status(ErrorCode::kInvalidArgument,
                  "cache." + std::string(field) + " must be " + std::string(expected))
        .withParam("cache." + std::string(field));
  };
  if (controls.is_null()) return Status::ok();
  if (!controls.is_object()) {
    return Status(ErrorCode::kInvalidArgument,
                  "cache must be an object of cache controls (no-cache, no-store, ttl, "
                  "s-maxage, namespace, use-cache)")
        .withParam("cache");
  }
  bool read = true;
  bool write = true;
  std::optional<std::chrono::seconds> ttl;
  std::optional<std::chrono::seconds> max_age;
  std::string name_space;
  // Whole seconds, 0 to kLongestAge (2.0 is whole, 2.5 is not).
  auto seconds = [](const boost::json::value& v) -> std::optional<std::int64_t> {
    boost::system::error_code ec;
    const auto n = v.is_number() ? v.to_number<std::int64_t>(ec) : -1;
    if (ec || n < 0 || n > cache::kLongestAge.count()) return std::nullopt;
    return n;
  };
  for (const auto& [name, value] : controls.as_object()) {
    if (name == "no-cache" || name == "no-store" || name == "use-cache") {
      if (!value.is_bool()) return invalid(name, "true or false");
      if (name == "no-cache" && value.as_bool()) read = false;
      if (name == "no-store" && value.as_bool()) write = false;
      if (name == "use-cache" && !value.as_bool()) read = write = false;
    } else if (name == "ttl" || name == "s-maxage") {
      auto n = seconds(value);
      if (!n || (name == "ttl" && *n == 0)) {
        return invalid(name, name == "ttl" ? "a whole number of seconds, 1 to 2147483648"
                                           : "a whole number of seconds, 0 to 2147483648");
      }
      (name == "ttl" ? ttl : max_age) = std::chrono::seconds(*n);
    } else if (name == "namespace") {
      if (!value.is_string() || value.as_string().size() > 256) {
        return invalid(name, "a string of at most 256 bytes");
      }
      name_space = std::string(value.as_string());
    } else {
      return Status(ErrorCode::kInvalidArgument,
                    "unknown cache control '" + std::string(name) +
                        "' (known: no-cache, no-store, ttl, s-maxage, namespace, use-cache)")
          .withParam("cache." + std::string(name));
    }
  }
  if (!apply) return Status::ok();
  ctx.cache_read = ctx.cache_read && read;
  ctx.cache_write = ctx.cache_write && write;
  if (max_age && (!ctx.cache_max_age || *max_age < *ctx.cache_max_age)) ctx.cache_max_age = max_age;
  if (ttl) ctx.cache_ttl = ttl;
  ctx.cache_namespace = std::move(name_space);
  return Status::ok();
}

std::string ResponseCaching::scopeOf(const pipeline::RequestContext& ctx) const {
  std::string scope;
  switch (scope_) {
    case Scope::kGlobal:
      scope = "global";
      break;
    case Scope::kTeam:
      // A key without a team shares with nobody but itself.
      scope = ctx.team.empty() ? "key:" + ctx.key_id : "team:" + ctx.team;
      break;
    case Scope::kKey:
      scope = "key:" + ctx.key_id;
      break;
  }
  // A namespace narrows the scope; its own length keeps "a" + "|b" apart from "a|" + "b".
  if (!ctx.cache_namespace.empty()) {
    scope += "|ns" + std::to_string(ctx.cache_namespace.size()) + ":" + ctx.cache_namespace;
  }
  return scope;
}

template <typename MakeKey>
ResponseCaching::Lookup ResponseCaching::begin(pipeline::RequestContext& ctx, MakeKey&& make_key) {
  Lookup out;
  if (ctx.plan.empty() || (ctx.policy && !ctx.policy->cache)) return out;
  if (!ctx.cache_read && !ctx.cache_write) {
    ctx.cache_status = kBypass;
    ctx.response_headers.emplace_back("x-switchyard-cache", std::string(kBypass));
    return out;
  }
  const std::string scope = scopeOf(ctx);
  const pipeline::Target& primary = ctx.plan.front();
  const cache::CacheKey key = make_key(cache::KeyContext{scope, primary.provider, primary.model});
  if (ctx.cache_write) out.key = key;
  if (!ctx.cache_read) {
    ctx.cache_status = kRefresh;
    ctx.response_headers.emplace_back("x-switchyard-cache", std::string(kRefresh));
    return out;
  }
  const auto now = cache::ResponseCache::Clock::now();
  out.hit = cache_.find(key, now, ctx.cache_max_age);
  if (out.hit) {
    answered(ctx, *out.hit,
             std::chrono::duration_cast<std::chrono::seconds>(now - out.hit->stored));
  } else if (shared_) {
    out.ask_shared = true;  // the header waits for Redis's answer
    out.key = key;          // askShared() takes it back when this request may not store
  } else {
    ctx.cache_status = kMiss;
    ctx.response_headers.emplace_back("x-switchyard-cache", std::string(kMiss));
  }
  return out;
}

void ResponseCaching::answered(pipeline::RequestContext& ctx, const cache::Entry& entry,
                               std::chrono::seconds age) {
  ctx.cache_status = kHit;
  ctx.response_headers.emplace_back("x-switchyard-cache", std::string(kHit));
  ctx.response_headers.emplace_back("age", std::to_string(age.count()));
  ctx.provider = entry.provider;
  ctx.model = entry.model;
  ctx.model_version = entry.model_version;
  ctx.decision = "answered from the response cache (" + std::to_string(age.count()) + " s old); " +
                 ctx.decision;
}

asio::awaitable<void> ResponseCaching::askShared(pipeline::RequestContext& ctx, Lookup& lookup) {
  if (!lookup.ask_shared) co_return;
  lookup.ask_shared = false;
  using Reply = Result<std::optional<cache::DecodedEntry>>;
  const cache::CacheKey key = *lookup.key;
  if (!ctx.cache_write) lookup.key.reset();  // no-cache's key was only borrowed for the ask
  auto executor = co_await asio::this_coro::executor;
  // Redis's answer or the timer, whichever comes first; the other is ignored. The timer lives
  // and dies on this I/O thread; the tier's thread only posts here while the request still
  // waits (under the race's lock), never after it moved on (its executor may be shutting down).
  auto ask = asio::async_initiate<decltype(asio::use_awaitable), void(Reply)>(
      [this, &key, executor](auto handler) {
        using Handler = std::decay_t<decltype(handler)>;
        struct Race {
          std::mutex mu;
          bool done = false;
          std::optional<Handler> complete;
          std::optional<asio::steady_timer> timer;
          // Claims the win; false when the other side won already.
          bool win() {
            std::lock_guard lock(mu);
            return !std::exchange(done, true);
          }
        };
        auto race = std::make_shared<Race>();
        race->complete.emplace(std::move(handler));
        race->timer.emplace(executor, shared_timeout_);
        race->timer->async_wait([race, timeout = shared_timeout_](boost::system::error_code ec) {
          if (ec == asio::error::operation_aborted || !race->win()) return;
          race->timer.reset();
          std::move (*race->complete)(Reply(
              fail(ErrorCode::kDeadlineExceeded,
                   "Redis did not answer within " + std::to_string(timeout.count()) + " ms")));
        });
        shared_->get(key, [race, executor](Reply reply) mutable {
          std::lock_guard lock(race->mu);
          if (race->done) return;
          asio::post(executor, [race, reply = std::move(reply)]() mutable {
            if (!race->win()) return;
            race->timer->cancel();
            std::move (*race->complete)(std::move(reply));
          });
        });
      },
      asio::use_awaitable);
  Reply reply = co_await std::move(ask);

  std::chrono::seconds age{0};
  if (reply && *reply) {
    cache::DecodedEntry& found = **reply;
    const auto wall_age = std::chrono::system_clock::now() - found.stored;
    const auto age_ms = std::max<std::chrono::milliseconds>(
        std::chrono::milliseconds(0),
        std::chrono::duration_cast<std::chrono::milliseconds>(wall_age));
    age = std::chrono::duration_cast<std::chrono::seconds>(age_ms);
    // Redis expires it with its TTL; the clocks of two machines may still disagree a little.
    if (age_ms < found.entry.ttl) {
      // Kept in memory too when it fits there; served either way.
      std::shared_ptr<const cache::Entry> entry =
          cache_.seal(std::move(found.entry), cache::ResponseCache::Clock::now() - age_ms);
      (void)cache_.insert(key, entry);
      if (!ctx.cache_max_age || age <= *ctx.cache_max_age) lookup.hit = std::move(entry);
    }
  }
  if (lookup.hit) {
    shared_hits_.fetch_add(1, std::memory_order_relaxed);
    answered(ctx, *lookup.hit, age);
  } else {
    ctx.cache_status = kMiss;
    ctx.response_headers.emplace_back("x-switchyard-cache", std::string(kMiss));
  }
}

ResponseCaching::Lookup ResponseCaching::lookUp(pipeline::RequestContext& ctx,
                                                const api::ChatRequest& request, bool stream) {
  return begin(ctx, [&](cache::KeyContext where) {
    where.stream = stream;
    return cache::chatKey(where, request);
  });
}

ResponseCaching::Lookup ResponseCaching::lookUp(pipeline::RequestContext& ctx,
                                                const api::EmbeddingRequest& request) {
  return begin(ctx,
               [&](const cache::KeyContext& where) { return cache::embeddingKey(where, request); });
}

void ResponseCaching::store(const cache::CacheKey& key, const pipeline::RequestContext& ctx,
                            decltype(cache::Entry::value) value) {
  if (ctx.provider.empty()) return;
  cache::Entry entry;
  entry.value = std::move(value);
  entry.provider = ctx.provider;
  entry.model = ctx.model;
  entry.model_version = ctx.model_version;
  if (ctx.policy) entry.ttl = ctx.policy->cache_ttl;
  if (ctx.cache_ttl) entry.ttl = *ctx.cache_ttl;
  // In Redis too, even when this gateway's memory has no room for it.
  auto sealed = cache_.seal(std::move(entry), cache::ResponseCache::Clock::now());
  (void)cache_.insert(key, sealed);
  if (shared_) shared_->put(key, std::move(sealed), std::chrono::system_clock::now());
}

asio::awaitable<ResponseCaching::Flushed> ResponseCaching::flush() {
  Flushed out;
  out.memory = cache_.clear();
  if (!shared_) co_return out;
  using Reply = Result<std::size_t>;
  auto executor = co_await asio::this_coro::executor;
  auto flushed = asio::async_initiate<decltype(asio::use_awaitable), void(Reply)>(
      [this, executor](auto handler) {
        auto shared = std::make_shared<std::decay_t<decltype(handler)>>(std::move(handler));
        shared_->flush([shared, executor](Reply reply) mutable {
          asio::post(executor, [shared, reply = std::move(reply)]() mutable {
            std::move (*shared)(std::move(reply));
          });
        });
      },
      asio::use_awaitable);
  out.shared = co_await std::move(flushed);
  co_return out;
}

std::uint64_t ResponseCaching::hits() const {
  return cache_.stats().hits + shared_hits_.load(std::memory_order_relaxed);
}

std::uint64_t ResponseCaching::misses() const {
  const std::uint64_t memory = cache_.stats().misses;
  const std::uint64_t shared = shared_hits_.load(std::memory_order_relaxed);
  return memory > shared ? memory - shared : 0;
}

bool ResponseCaching::complete(const api::ChatResponse& response) {
  if (response.choices.empty()) return false;
  for (const auto& choice : response.choices) {
    if (!finishedWell(choice.finish_reason)) return false;
  }
  return true;
}

boost::asio::awaitable<Status> RecordingChatSink::onChunk(const api::ChatChunk& chunk) {
  if (!overflow_) {
    cache::StoredChunk copy{chunk, std::string(chunk.upstream_json)};
    copy.chunk.upstream_json = {};  // set again when the entry is stored
    bytes_ += cache::approximateBytes(copy);  // as the cache will count it
    for (const auto& choice : chunk.choices) {
      if (choice.index < 0 || choice.index >= 128) {
        overflow_ = true;
        break;
      }
      if (choice.index >= started_) started_ = choice.index + 1;
      if (finishedWell(choice.finish_reason)) ++finished_;
    }
    if (bytes_ > max_bytes_) overflow_ = true;
    if (overflow_) {
      chunks_.clear();
      chunks_.shrink_to_fit();
    } else {
      chunks_.push_back(std::move(copy));
    }
  }
  co_return co_await next_.onChunk(chunk);
}

bool RecordingChatSink::complete() const {
  return !overflow_ && started_ > 0 && finished_ >= started_;
}

boost::asio::awaitable<providers::StreamOutcome> replayChunks(
    const std::vector<cache::StoredChunk>& chunks, providers::ChatSink& sink) {
  providers::StreamOutcome outcome;
  sink.beginBatch();
  for (const auto& stored : chunks) {
    Status s = co_await sink.onChunk(stored.chunk);
    outcome.delivered_any = true;
    if (!s.isOk()) {
      outcome.status = std::move(s);
      break;
    }
  }
  Status flushed = co_await sink.endBatch();
  if (outcome.status.isOk()) outcome.status = std::move(flushed);
  co_return outcome;
}

}  // namespace switchyard::server
