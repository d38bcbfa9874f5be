#include "switchyard/server/response_caching.h"

#include <boost/beast/core/string.hpp>
#include <charconv>
#include <string>
#include <utility>

#include "switchyard/core/strings.h"
#include "switchyard/routing/router.h"
#include "switchyard/telemetry/metrics.h"

namespace switchyard::server {
namespace {

constexpr std::string_view kHit = "hit";
constexpr std::string_view kMiss = "miss";
constexpr std::string_view kRefresh = "refresh";
constexpr std::string_view kBypass = "bypass";

bool finishedWell(api::FinishReason reason) {
  return reason != api::FinishReason::kNone && reason != api::FinishReason::kError;
}

struct MetricHandles {
  telemetry::Registry::CallbackHandle requests;
  telemetry::Registry::CallbackHandle evictions;
  telemetry::Registry::CallbackHandle entries;
  telemetry::Registry::CallbackHandle bytes;
};

std::shared_ptr<void> registerMetrics(cache::ResponseCache& cache) {
  auto& registry = telemetry::Registry::global();
  auto h = std::make_shared<MetricHandles>();
  using telemetry::MetricType;
  using telemetry::Sample;
  h->requests = registry.callback(
      "switchyard_cache_lookups_total",
      "Response cache lookups by result (hit: answered from the cache; miss: sent upstream).",
      MetricType::kCounter, {"result"}, [&cache] {
        const cache::CacheStats s = cache.stats();
        return std::vector<Sample>{{{"hit"}, static_cast<double>(s.hits)},
                                   {{"miss"}, static_cast<double>(s.misses)}};
      });
  h->evictions = registry.callback(
      "switchyard_cache_evictions_total",
      "Response cache entries dropped to make room (least recently used first).",
      MetricType::kCounter, {}, [&cache] {
        return std::vector<Sample>{{{}, static_cast<double>(cache.stats().evictions)}};
      });
  h->entries = registry.callback(
      "switchyard_cache_entries", "Answers in the response cache.", MetricType::kGauge, {},
      [&cache] {
        return std::vector<Sample>{{{}, static_cast<double>(cache.stats().entries)}};
      });
  h->bytes = registry.callback(
      "switchyard_cache_bytes", "Approximate memory held by the response cache's answers.",
      MetricType::kGauge, {}, [&cache] {
        return std::vector<Sample>{{{}, static_cast<double>(cache.stats().bytes)}};
      });
  return h;
}

}  // namespace

ResponseCaching::ResponseCaching(const config::CacheConfig& config)
    : scope_(config.scope == "global" ? Scope::kGlobal
             : config.scope == "team" ? Scope::kTeam
                                      : Scope::kKey),
      cache_(cache::ResponseCache::Options{config.ttl, config.max_bytes}) {
  metrics_ = registerMetrics(cache_);
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

std::string ResponseCaching::scopeOf(const pipeline::RequestContext& ctx) const {
  switch (scope_) {
    case Scope::kGlobal:
      return "global";
    case Scope::kTeam:
      // A key without a team shares with nobody but itself.
      return ctx.team.empty() ? "key:" + ctx.key_id : "team:" + ctx.team;
    case Scope::kKey:
      break;
  }
  return "key:" + ctx.key_id;
}

template <typename MakeKey>
ResponseCaching::Lookup ResponseCaching::lookUpWith(pipeline::RequestContext& ctx,
                                                    MakeKey&& make_key) {
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
  ctx.cache_status = out.hit ? kHit : kMiss;
  ctx.response_headers.emplace_back("x-switchyard-cache", std::string(ctx.cache_status));
  if (!out.hit) return out;
  const cache::Entry& entry = *out.hit;
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - entry.stored);
  ctx.response_headers.emplace_back("age", std::to_string(age.count()));
  ctx.provider = entry.provider;
  ctx.model = entry.model;
  ctx.model_version = entry.model_version;
  ctx.decision = "answered from the response cache (" + std::to_string(age.count()) + " s old); " +
                 ctx.decision;
  return out;
}

ResponseCaching::Lookup ResponseCaching::lookUp(pipeline::RequestContext& ctx,
                                                const api::ChatRequest& request, bool stream) {
  return lookUpWith(ctx, [&](cache::KeyContext where) {
    where.stream = stream;
    return cache::chatKey(where, request);
  });
}

ResponseCaching::Lookup ResponseCaching::lookUp(pipeline::RequestContext& ctx,
                                                const api::EmbeddingRequest& request) {
  return lookUpWith(
      ctx, [&](const cache::KeyContext& where) { return cache::embeddingKey(where, request); });
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
  (void)cache_.insert(key, std::move(entry), cache::ResponseCache::Clock::now());
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
