#include "switchyard/providers/http_upstream.h"

#include <algorithm>
#include <charconv>
#include <chrono>

namespace switchyard::providers {

namespace asio = boost::asio;

namespace {

// Upstream error bodies are small JSON documents; anything bigger is cut when read.
constexpr std::size_t kMaxErrorBody = 64 * 1024;

bool isSuccess(unsigned status) { return status >= 200 && status < 300; }

// The provider's decoded error, with the upstream's Retry-After (delta-seconds form) when the
// decoder did not take one from the body; dispatch waits for it or moves on.
Status upstreamError(const UpstreamErrorDecoder& decode, unsigned status, std::string_view body,
                     std::string_view retry_after) {
  Status s = decode(status, body, retry_after);
  if (s.retryAfterSeconds() == 0 && !retry_after.empty()) {
    int seconds = 0;
    const auto [ptr, ec] =
        std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
    if (ec == std::errc() && ptr == retry_after.data() + retry_after.size() && seconds > 0) {
      s = std::move(s).withRetryAfter(std::min(seconds, 3600));
    }
  }
  return s;
}

// Traced calls carry the W3C trace context, so an upstream that traces (vLLM, a proxy) joins
// the request's trace under the attempt's CLIENT span.
http::ClientRequest withTraceContext(http::ClientRequest req, const CallContext& ctx) {
  if (!ctx.traceparent.empty()) {
    req.headers.emplace_back("traceparent", ctx.traceparent);
    if (!ctx.tracestate.empty()) req.headers.emplace_back("tracestate", ctx.tracestate);
  }
  return req;
}

}  // namespace

Result<http::Origin> HttpUpstream::parseOrigin(const config::ProviderConfig& config) {
  auto origin = http::Origin::parse(config.base_url);
  if (!origin) {
    return fail(ErrorCode::kInvalidArgument,
                "provider '" + config.name + "': " + origin.error().message());
  }
  return origin;
}

HttpUpstream::HttpUpstream(http::Origin origin, std::vector<http::Header> headers,
                           const config::ProviderConfig& config)
    : origin_(std::move(origin)), headers_(std::move(headers)) {
  for (const auto& [name, value] : config.headers) headers_.emplace_back(name, value);
  timeouts_.connect = config.timeouts.connect;
  timeouts_.first_byte = config.timeouts.first_byte;
  timeouts_.idle = config.timeouts.idle;
}

http::ClientRequest HttpUpstream::makeRequest(std::string_view path, std::string body,
                                              bool stream) const {
  http::ClientRequest req;
  req.method = boost::beast::http::verb::post;
  req.target.reserve(origin_.base_path.size() + path.size());
  req.target = origin_.base_path;
  req.target += path;
  req.headers = headers_;
  req.headers.emplace_back("Content-Type", "application/json");
  if (stream) req.headers.emplace_back("Accept", "text/event-stream");
  req.body = std::move(body);
  return req;
}

http::Timeouts HttpUpstream::timeoutsFor(const CallContext& ctx) const {
  http::Timeouts t = timeouts_;
  if (ctx.deadline != std::chrono::steady_clock::time_point{}) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        ctx.deadline - std::chrono::steady_clock::now());
    left = std::max(left, std::chrono::milliseconds(1));
    t.connect = std::min(t.connect, left);
    t.first_byte = std::min(t.first_byte, left);
    t.idle = std::min(t.idle, left);
  }
  return t;
}

asio::awaitable<Result<std::string>> HttpUpstream::postJson(
    std::string_view path, std::string body, CallContext& ctx,
    UpstreamErrorDecoder decode_error) const {
  auto res = co_await ctx.http.send(
      origin_, withTraceContext(makeRequest(path, std::move(body), false), ctx), timeoutsFor(ctx));
  if (!res) co_return fail(std::move(res.error()));
  if (!isSuccess(res->status)) {
    co_return fail(upstreamError(decode_error, res->status, res->body, res->header("retry-after")));
  }
  co_return std::move(res->body);
}

asio::awaitable<Result<std::unique_ptr<http::ResponseStream>>> HttpUpstream::openStream(
    std::string_view path, std::string body, CallContext& ctx,
    UpstreamErrorDecoder decode_error) const {
  auto opened = co_await ctx.http.stream(
      origin_, withTraceContext(makeRequest(path, std::move(body), true), ctx), timeoutsFor(ctx));
  if (!opened) co_return fail(std::move(opened.error()));
  http::ResponseStream& stream = **opened;
  if (!isSuccess(stream.status())) {
    std::string error_body;
    while (error_body.size() < kMaxErrorBody) {
      auto piece = co_await stream.read();
      if (!piece || piece->empty()) break;
      error_body += *piece;
    }
    co_return fail(
        upstreamError(decode_error, stream.status(), error_body, stream.header("retry-after")));
  }
  co_return std::move(*opened);
}

}  // namespace switchyard::providers
