#include "switchyard/telemetry/observer.h"

#include <charconv>

namespace switchyard::telemetry {
namespace {

using Clock = pipeline::RequestContext::Clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

TelemetryObserver::TelemetryObserver(const config::Config& config, Registry& registry,
                                     std::shared_ptr<const PriceTable> prices,
                                     std::shared_ptr<RequestLog> log)
    : prices_(std::move(prices)),
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

void TelemetryObserver::onRequestDone(const pipeline::RequestContext& ctx) {
  const Clock::time_point now = Clock::now();
  const std::string_view endpoint = pipeline::endpointName(ctx.endpoint);
  char status_buf[8];
  auto [status_end, ec] = std::to_chars(status_buf, status_buf + sizeof status_buf, ctx.http_status);
  const std::string_view status(status_buf, ec == std::errc() ? status_end - status_buf : 0);

  requests_.with({endpoint, ctx.route, ctx.provider, ctx.model, status}).inc();
  if (!ctx.error.isOk()) {
    const std::string_view type = ctx.error.errorType().empty() ? errorCodeName(ctx.error.code())
                                                                : ctx.error.errorType();
    errors_.with({endpoint, ctx.route, ctx.provider, ctx.model, type}).inc();
  }
  duration_.with({endpoint, ctx.route, ctx.provider, ctx.model}).observe(seconds(now - ctx.received));
  if (ctx.first_byte && ctx.upstream_start) {
    ttft_.with({endpoint, ctx.route, ctx.provider, ctx.model})
        .observe(seconds(*ctx.first_byte - *ctx.upstream_start));
  }
  if (ctx.upstream_start) overhead_.with({endpoint}).observe(seconds(*ctx.upstream_start - ctx.received));

  const api::Usage& u = ctx.usage;
  auto count = [&](std::string_view kind, std::int64_t n) {
    if (n > 0) tokens_.with({ctx.route, ctx.provider, ctx.model, kind}).inc(static_cast<double>(n));
  };
  count("prompt", u.prompt_tokens);
  count("completion", u.completion_tokens);
  count("cached", u.cached_tokens);
  count("cache_write", u.cache_write_tokens);
  count("reasoning", u.reasoning_tokens);
  if (ctx.cost_usd > 0) cost_.with({ctx.route, ctx.provider, ctx.model}).inc(ctx.cost_usd);
  if (u.cached_tokens > 0) cache_hits_.with({ctx.provider, ctx.model}).inc();

  // A local provider's output throughput: streamed, the decode rate after the first token;
  // otherwise the whole call's rate (prompt processing included, so it errs low).
  if (prices_ != nullptr && ctx.error.isOk() && u.completion_tokens > 1 && ctx.upstream_start &&
      prices_->isLocal(ctx.provider)) {
    double tps = 0;
    if (ctx.stream && ctx.first_byte && now > *ctx.first_byte) {
      tps = static_cast<double>(u.completion_tokens - 1) / seconds(now - *ctx.first_byte);
    } else if (now > *ctx.upstream_start) {
      tps = static_cast<double>(u.completion_tokens) / seconds(now - *ctx.upstream_start);
    }
    prices_->recordThroughput(ctx.provider, tps);
  }

  if (log_ != nullptr) {
    RequestRecord record = recordFrom(ctx, now, std::chrono::system_clock::now());
    if (!ctx.route.empty() && payload_routes_.contains(ctx.route)) {
      record.request_payload = ctx.request_payload;
      record.response_payload = ctx.response_payload;
    }
    (void)log_->enqueue(std::move(record));
  }
}

}  // namespace switchyard::telemetry
