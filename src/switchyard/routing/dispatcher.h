#pragma once
// Dispatcher: runs a plan. Tries the plan's candidates in order; each gets up to
// `retry.attempts` tries with exponential backoff and full jitter on retryable failures (429,
// 5xx, connection errors, timeouts), honouring Retry-After; a Retry-After longer than the
// route's max_backoff moves on to the next candidate at once. Every try has its own deadline
// (attempt_timeout) inside the request's (route timeout, else the server's). Circuit breakers
// skip deployments that keep failing. A stream falls back only while nothing has reached the
// client (StreamOutcome::delivered_any). Client errors (400, 404, 422) end the request: the
// next candidate would refuse it the same way.
//
// Stateless apart from the HealthBoard (thread-safe); one Dispatcher serves every worker.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/providers/provider.h"
#include "switchyard/providers/registry.h"
#include "switchyard/routing/router.h"

namespace switchyard::routing {

// Whether another try (same or next candidate) may succeed where this one failed.
bool isRetryable(const Status& status);
// A failure that says something about the deployment (counts against its breaker) rather than
// about the request.
bool isDeploymentFault(const Status& status);
// The cascade's checks on a cheap candidate's answer: the first that fails, or "" if all pass.
std::string failedCheck(const RoutePolicy& policy, const api::ChatResponse& response);
// Backoff before try `attempt` (2, 3, ...): full jitter over backoff * 2^(attempt-2), capped.
std::chrono::milliseconds backoffFor(const config::RetryConfig& retry, int attempt);

// What a whole response says about the model that answered (call.report); the id, finish
// reasons and usage only for traced calls.
void reportResponse(const api::ChatResponse& response, providers::CallContext& call);
void reportResponse(const api::CompletionResponse& response, providers::CallContext& call);
void reportResponse(const api::EmbeddingResponse& response, providers::CallContext& call);
inline void reportResponse(std::int64_t, providers::CallContext&) {}
// The same from one stream chunk.
void reportChunk(const api::ChatChunk& chunk, providers::CallContext& call);
void reportChunk(const api::CompletionResponse& chunk, providers::CallContext& call);
// The version of the model that answered, for the request log and the changelog: what the
// provider set (a local model's file hash), else the upstream's reported model id when it
// differs from the one asked for (a dated snapshot) and its system_fingerprint.
std::string modelVersionOf(const providers::CallReport& report, std::string_view asked);
// The CLIENT span of one upstream attempt (GenAI semantic conventions, minus what the trace
// observer adds from the provider's config: gen_ai.system, server.address/port).
pipeline::SpanRecord attemptSpan(const pipeline::RequestContext& ctx,
                                 const pipeline::Target& target, int attempt,
                                 const pipeline::SpanId& span_id,
                                 std::chrono::steady_clock::time_point start,
                                 std::chrono::steady_clock::time_point end, const Status& status,
                                 const providers::CallReport& report);

class Dispatcher {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Dispatcher(const providers::Registry& registry) : registry_(registry) {}

  // `attempt(provider, target, call)` makes one upstream call and returns Result<T>.
  template <typename T, typename Attempt>
  boost::asio::awaitable<Result<T>> call(pipeline::RequestContext& ctx, http::HttpClient& http,
                                         Clock::time_point deadline, Attempt attempt) const {
    Result<T> last = fail(ErrorCode::kUnavailable, "no candidate was tried");
    co_await run(
        ctx, http, deadline,
        [&](providers::Provider& p, const pipeline::Target& t,
            providers::CallContext& call) -> boost::asio::awaitable<Outcome> {
          last = co_await attempt(p, t, call);
          if (last) reportResponse(*last, call);
          Outcome out{last ? Status::ok() : last.error(), false, {}};
          if constexpr (std::is_same_v<T, api::ChatResponse>) {
            if (last && ctx.policy->strategy == Strategy::kCascade) {
              out.escalate = failedCheck(*ctx.policy, *last);
            }
          }
          co_return out;
        },
        [&](Status s) { last = fail(std::move(s)); });
    co_return std::move(last);
  }

  // `attempt(provider, target, call)` streams into the caller's sink and returns StreamOutcome.
  template <typename Attempt>
  boost::asio::awaitable<providers::StreamOutcome> stream(pipeline::RequestContext& ctx,
                                                          http::HttpClient& http,
                                                          Clock::time_point deadline,
                                                          Attempt attempt) const {
    providers::StreamOutcome last{Status(ErrorCode::kUnavailable, "no candidate was tried"),
                                  false};
    co_await run(
        ctx, http, deadline,
        [&](providers::Provider& p, const pipeline::Target& t,
            providers::CallContext& call) -> boost::asio::awaitable<Outcome> {
          last = co_await attempt(p, t, call);
          co_return Outcome{last.status, last.delivered_any, {}};
        },
        [&](Status s) { last = {std::move(s), false}; });
    co_return std::move(last);
  }

 private:
  struct Outcome {
    Status status;
    bool delivered = false;  // bytes reached the client: no fallback possible
    std::string escalate;    // cascade: the check the answer failed (try the next candidate)
  };

  template <typename Try, typename SetFinal>
  boost::asio::awaitable<void> run(pipeline::RequestContext& ctx, http::HttpClient& http,
                                   Clock::time_point deadline, Try try_once,
                                   SetFinal set_final) const;

  const providers::Registry& registry_;
};

template <typename Try, typename SetFinal>
boost::asio::awaitable<void> Dispatcher::run(pipeline::RequestContext& ctx,
                                             http::HttpClient& http, Clock::time_point deadline,
                                             Try try_once, SetFinal set_final) const {
  const RoutePolicy& policy = *ctx.policy;
  if (policy.timeout.count() > 0) deadline = std::min(deadline, ctx.received + policy.timeout);
  Status last_error;
  int skipped_open = 0;
  const std::vector<pipeline::Target>& plan = ctx.plan;  // dispatch never changes the plan
  for (std::size_t c = 0; c < plan.size(); ++c) {
    const pipeline::Target& target = plan[c];
    providers::Provider* provider = registry_.find(target.provider);
    if (provider == nullptr) {
      last_error = Status(ErrorCode::kInternal, "route names unknown provider '" +
                                                    target.provider + "'");
      continue;
    }
    DeploymentHealth* health =
        target.candidate >= 0 ? policy.candidates[static_cast<std::size_t>(target.candidate)].health
                              : nullptr;
    for (int attempt = 1; attempt <= policy.retry.attempts; ++attempt) {
      const auto now = Clock::now();
      if (now >= deadline) {
        set_final(Status(ErrorCode::kDeadlineExceeded,
                         "request deadline passed after " + std::to_string(ctx.attempts) +
                             " upstream attempt(s)" +
                             (last_error.isOk() ? std::string() : ": " + last_error.message()))
                      .withErrorType("timeout"));
        co_return;
      }
      if (health != nullptr && !health->admit(now)) {
        ++skipped_open;
        break;  // breaker open: next candidate
      }
      ++ctx.attempts;
      ctx.provider = target.provider;
      ctx.model = target.model;
      if (!ctx.upstream_start) ctx.upstream_start = now;
      auto attempt_deadline = deadline;
      if (policy.attempt_timeout.count() > 0) {
        attempt_deadline = std::min(deadline, now + policy.attempt_timeout);
      }
      providers::CallContext call{http, ctx.request_id, attempt_deadline, {}, {}, false, {}};
      pipeline::SpanId span_id{};
      if (ctx.trace) {
        span_id = pipeline::newSpanId();
        call.traceparent = ctx.trace->traceParentFor(span_id);
        call.tracestate = ctx.trace->trace_state;
        call.traced = true;
      }
      const auto started = Clock::now();
      const auto first_byte_before = ctx.first_byte;
      Outcome out = co_await try_once(*provider, target, call);
      const auto ended = Clock::now();
      if (!call.report.response_model.empty() || !call.report.system_fingerprint.empty() ||
          !call.report.model_version.empty()) {
        ctx.model_version = modelVersionOf(call.report, target.model);
      }
      if (call.report.queue_ms) ctx.queue_ms = call.report.queue_ms;
      ctx.load_ms = call.report.load_ms;
      ctx.prompt_ms = call.report.prompt_ms;
      ctx.decode_ms = call.report.decode_ms;
      if (ctx.trace) {
        ctx.trace->spans.push_back(
            attemptSpan(ctx, target, attempt, span_id, started, ended, out.status, call.report));
      }
      if (out.status.isOk()) {
        if (health != nullptr) {
          const auto first = ctx.first_byte && ctx.first_byte != first_byte_before
                                 ? *ctx.first_byte
                                 : ended;
          health->recordSuccess(
              std::chrono::duration_cast<std::chrono::microseconds>(first - started), ended);
        }
        if (!out.escalate.empty() && c + 1 < plan.size()) {
          ctx.decision += "; cascade: " + target.provider + "/" + target.model + " failed " +
                          out.escalate + ", escalated";
          break;  // next candidate
        }
        if (c > 0 || attempt > 1) {
          ctx.decision += "; served by " + target.provider + "/" + target.model + " after " +
                          std::to_string(ctx.attempts - 1) + " failed attempt(s)";
        }
        co_return;
      }
      const Status& st = out.status;
      if (st.code() == ErrorCode::kCancelled) {
        if (health != nullptr) health->release();
        co_return;  // the caller's result already says so
      }
      const bool fault = isDeploymentFault(st);
      if (health != nullptr) {
        if (fault) {
          health->recordFailure(ended);
        } else {
          health->release();
        }
      }
      if (out.delivered) co_return;  // mid-stream failure: reported inside the stream
      if (!fault) co_return;          // the request's own fault: every candidate would refuse
      last_error = st;
      if (!isRetryable(st) || attempt == policy.retry.attempts) break;
      std::chrono::milliseconds wait = backoffFor(policy.retry, attempt + 1);
      if (st.retryAfterSeconds() > 0) {
        const std::chrono::milliseconds asked(std::int64_t{st.retryAfterSeconds()} * 1000);
        if (asked > policy.retry.max_backoff) break;  // too long: try the next candidate
        wait = std::max(wait, asked);
      }
      if (Clock::now() + wait >= deadline) break;
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, wait);
      auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) {
        set_final(Status(ErrorCode::kCancelled, "cancelled during retry backoff"));
        co_return;
      }
    }
  }
  // Every candidate failed or was skipped.
  if (last_error.isOk()) {
    set_final(Status(ErrorCode::kUnavailable,
                     "every candidate is unavailable (" + std::to_string(skipped_open) +
                         " circuit breaker(s) open)")
                  .withErrorType("all_candidates_unavailable")
                  .withRetryAfter(1));
    co_return;
  }
  if (ctx.attempts > 1 || skipped_open > 0) {
    set_final(Status(last_error.code(),
                     "all " + std::to_string(plan.size()) + " candidate(s) failed after " +
                         std::to_string(ctx.attempts) + " attempt(s); last error: " +
                         last_error.message())
                  .withHttpStatus(last_error.httpStatus())
                  .withErrorType(last_error.errorType())
                  .withRetryAfter(last_error.retryAfterSeconds()));
  } else {
    set_final(std::move(last_error));
  }
}

}  // namespace switchyard::routing
