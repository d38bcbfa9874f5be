#include "switchyard/telemetry/observer.h"

#include <atomic>
#include <charconv>
#include <unordered_map>

namespace switchyard::telemetry {
namespace {

using Clock = pipeline::RequestContext::Clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::atomic<std::uint64_t> g_next_observer_id{1};

constexpr std::string_view kTokenKinds[] = {"prompt", "completion", "cached", "cache_write",
                                            "reasoning"};

}  // namespace

TelemetryObserver::TelemetryObserver(const config::Config& config, Registry& registry,
                                     std::shared_ptr<const LivePrices> prices,
                                     std::shared_ptr<RequestLog> log)
    : id_(g_next_observer_id.fetch_add(1)),
      prices_(std::move(prices)),
      log_(std::move(log)),
      payload_routes_(config.telemetry.request_log.payload_routes.begin(),
                      config.telemetry.request_log.payload_routes.end()),
      requests_(registry.counter("switchyard_requests_total",
                                 "Model requests finished, by HTTP status.",
                                 {"endpoint", "route", "provider", "model", "status"})),
      errors_(registry.counter("switchyard_request_errors_total",
                               "Model requests that failed, by error type.",
                               {"endpoint", "route", "provider", "model", "type"})),
      duration_(registry.histogram("switchyard_request_duration_seconds",
                                   "Whole request time, from the request read to the last byte.",
                                   {"endpoint", "route", "provider", "model"}, latencyBuckets())),
      ttft_(registry.histogram("switchyard_time_to_first_token_seconds",
                               "Time from the upstream call to the first token (byte) sent.",
                               {"endpoint", "route", "provider", "model"}, latencyBuckets())),
      overhead_(registry.histogram("switchyard_gateway_overhead_seconds",
                                   "Gateway time before the upstream call (decode, stages, "
                                   "routing).",
                                   {"endpoint"}, overheadBuckets())),
      tokens_(registry.counter("switchyard_tokens_total",
                               "Tokens by kind: prompt (cached included), completion (reasoning "
                               "included), cached, cache_write, reasoning.",
                               {"route", "provider", "model", "kind"})),
      cost_(registry.counter("switchyard_cost_usd_total", "Spend in USD from the price table.",
                             {"route", "provider", "model"})),
      cache_hits_(registry.counter("switchyard_prompt_cache_hits_total",
                                   "Requests that read part of the prompt from a prompt cache.",
                                   {"provider", "model"})) {}

TelemetryObserver::Series& TelemetryObserver::seriesFor(std::string_view endpoint,
                                                        const pipeline::RequestContext& ctx,
                                                        std::string_view status) {
  // Per thread: label sets are few (bounded by config), so after warm-up a request costs one
  // hash lookup here instead of a shard lock and lookup per metric.
  struct Cache {
    std::string key;
    std::unordered_map<std::string, Series> series;
  };
  thread_local Cache cache;
  std::string& key = cache.key;
  key.clear();
  key.append(reinterpret_cast<const char*>(&id_), sizeof id_);
  for (std::string_view part : {endpoint, std::string_view(ctx.route),
                                std::string_view(ctx.provider), std::string_view(ctx.model),
                                status}) {
    key += part;
    key += '\x1f';
  }
  if (auto it = cache.series.find(key); it != cache.series.end()) return it->second;
  if (cache.series.size() >= 1024) cache.series.clear();  // label churn: start over
  Series s;
  s.requests = &requests_.with({endpoint, ctx.route, ctx.provider, ctx.model, status});
  s.duration = &duration_.with({endpoint, ctx.route, ctx.provider, ctx.model});
  return cache.series.emplace(key, s).first->second;
}

void TelemetryObserver::onRequestDone(const pipeline::RequestContext& ctx) {
  const Clock::time_point now = Clock::now();
  const std::string_view endpoint = pipeline::endpointName(ctx.endpoint);
  char status_buf[8];
  auto [status_end, ec] = std::to_chars(status_buf, status_buf + sizeof status_buf, ctx.http_status);
  const std::string_view status(status_buf, ec == std::errc() ? status_end - status_buf : 0);

  Series& series = seriesFor(endpoint, ctx, status);
  series.requests->inc();
  if (!ctx.error.isOk()) {
    const std::string_view type = ctx.error.errorType().empty() ? errorCodeName(ctx.error.code())
                                                                : ctx.error.errorType();
    errors_.with({endpoint, ctx.route, ctx.provider, ctx.model, type}).inc();
  }
  series.duration->observe(seconds(now - ctx.received));
  if (ctx.first_byte && ctx.upstream_start) {
    if (series.ttft == nullptr) series.ttft = &ttft_.with({endpoint, ctx.route, ctx.provider, ctx.model});
    series.ttft->observe(seconds(*ctx.first_byte - *ctx.upstream_start));
  }
  if (ctx.upstream_start) {
    if (series.overhead == nullptr) series.overhead = &overhead_.with({endpoint});
    series.overhead->observe(seconds(*ctx.upstream_start - ctx.received));
  }

  // Tokens the upstream processed: none for an answer from the response cache.
  static const api::Usage kNoUsage;
  const api::Usage& u = ctx.cacheHit() ? kNoUsage : ctx.usage;
  const std::int64_t tokens[] = {u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                                 u.cache_write_tokens, u.reasoning_tokens};
  for (std::size_t k = 0; k < std::size(tokens); ++k) {
    if (tokens[k] <= 0) continue;
    Counter*& c = series.tokens[k];
    if (c == nullptr) c = &tokens_.with({ctx.route, ctx.provider, ctx.model, kTokenKinds[k]});
    c->inc(static_cast<double>(tokens[k]));
  }
  if (ctx.cost_usd > 0) {
    if (series.cost == nullptr) series.cost = &cost_.with({ctx.route, ctx.provider, ctx.model});
    series.cost->inc(ctx.cost_usd);
  }
  if (u.cached_tokens > 0) {
    if (series.cache_hits == nullptr) series.cache_hits = &cache_hits_.with({ctx.provider, ctx.model});
    series.cache_hits->inc();
  }

  // A local provider's output throughput: streamed, the decode rate after the first token;
  // otherwise the whole call's rate (prompt processing included, so it errs low).
  if (prices_ != nullptr && ctx.error.isOk() && u.completion_tokens > 1 && ctx.upstream_start) {
    const std::shared_ptr<const PriceTable> table = prices_->current();
    if (table->isLocal(ctx.provider)) {
      double tps = 0;
      if (ctx.stream && ctx.first_byte && now > *ctx.first_byte) {
        tps = static_cast<double>(u.completion_tokens - 1) / seconds(now - *ctx.first_byte);
      } else if (now > *ctx.upstream_start) {
        tps = static_cast<double>(u.completion_tokens) / seconds(now - *ctx.upstream_start);
      }
      table->recordThroughput(ctx.provider, tps);
    }
  }

  if (log_ != nullptr) {
    // A spare record from an earlier enqueue: no allocation for strings that fit its buffers.
    RecordPtr record = RequestLog::takeSpare();
    fillRecord(ctx, now, std::chrono::system_clock::now(), *record);
    if (!payload_routes_.empty() && !ctx.route.empty() && payload_routes_.contains(ctx.route)) {
      record->request_payload = ctx.request_payload;
      record->response_payload = ctx.response_payload;
    }
    (void)log_->enqueue(std::move(record));
  }
}

}  // namespace switchyard::telemetry
