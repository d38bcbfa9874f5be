#include "switchyard/telemetry/tracing.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "switchyard/api/json_writer.h"  // appendJsonString
#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"
#include "switchyard/core/version.h"

namespace switchyard::telemetry {

namespace asio = boost::asio;
using pipeline::SpanAttr;
using pipeline::SpanKind;
using pipeline::SpanValue;
using SteadyClock = std::chrono::steady_clock;

namespace {

// A client's tracestate is passed on as is, within the W3C limit (512 characters).
constexpr std::size_t kMaxTraceState = 512;

std::string_view operationOf(pipeline::Endpoint endpoint) {
  switch (endpoint) {
    case pipeline::Endpoint::kCompletions: return "text_completion";
    case pipeline::Endpoint::kEmbeddings: return "embeddings";
    default: return "chat";
  }
}

// The OTLP JSON is written with plain appends: keys are our literals, values go through
// appendJsonString (escaping, invalid UTF-8 replaced). This runs for every span on the exporter
// thread, where a DOM or a general writer cost several times more.
void appendString(std::string& out, std::string_view s) {
  out += '"';
  api::appendJsonString(out, s);
  out += '"';
}

void appendInteger(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

void appendValue(std::string& out, const SpanValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    out += "{\"stringValue\":";
    appendString(out, *s);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    // int64 is a decimal string in the OTLP JSON mapping.
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *i);
    out += "{\"intValue\":\"";
    out.append(buf, ec == std::errc() ? end : buf);
    out += '"';
  } else if (const auto* d = std::get_if<double>(&value)) {
    char buf[32];
    const double v = std::isfinite(*d) ? *d : 0.0;
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out += "{\"doubleValue\":";
    out.append(buf, ec == std::errc() ? end : buf);
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out += *b ? "{\"boolValue\":true" : "{\"boolValue\":false";
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    out += "{\"arrayValue\":{\"values\":[";
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"stringValue\":";
      appendString(out, (*list)[i]);
      out += '}';
    }
    out += "]}";
  }
  out += '}';
}

void appendAttribute(std::string& out, std::string_view key, const SpanValue& value) {
  out += "{\"key\":";
  appendString(out, key);
  out += ",\"value\":";
  appendValue(out, value);
  out += '}';
}

template <std::size_t N>
void appendHex(std::string& out, const std::array<std::uint8_t, N>& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::uint8_t b : id) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  out += '"';
}

// Captured content (telemetry.traces.capture_content), or why it was withheld.
void appendContent(const pipeline::TraceState& trace, std::vector<SpanAttr>& attrs) {
  if (!trace.input_messages.empty()) {
    attrs.push_back({"gen_ai.input.messages", trace.input_messages});
  }
  if (!trace.output_messages.empty()) {
    attrs.push_back({"gen_ai.output.messages", trace.output_messages});
  }
  if (!trace.content_withheld.empty()) {
    attrs.push_back({"switchyard.content_withheld", trace.content_withheld});
  }
}

}  // namespace

// ---- sampling ---------------------------------------------------------------------------------

bool TraceSampler::keep(const pipeline::TraceId& id) const {
  if (ratio_ >= 1.0) return true;
  if (ratio_ <= 0.0) return false;
  // The trace id's low 8 bytes are random (W3C level 2): keep when they fall below ratio * 2^64.
  std::uint64_t low = 0;
  for (std::size_t i = 8; i < 16; ++i) low = low << 8 | id[i];
  return static_cast<double>(low) < ratio_ * 18446744073709551616.0;
}

std::unique_ptr<pipeline::TraceState> TraceSampler::start(
    const pipeline::RequestHeaders& headers) const {
  std::unique_ptr<pipeline::TraceState> state;
  if (auto parent = pipeline::parseTraceParent(headers.get("traceparent"))) {
    if (!parent->sampled) return state;  // the caller decided not to record this trace
    state = std::make_unique<pipeline::TraceState>();
    state->trace_id = parent->trace_id;
    state->parent_id = parent->parent_id;
    const std::string_view trace_state = headers.get("tracestate");
    if (trace_state.size() <= kMaxTraceState) state->trace_state = std::string(trace_state);
  } else {
    const pipeline::TraceId id = pipeline::newTraceId();
    if (!keep(id)) return state;
    state = std::make_unique<pipeline::TraceState>();
    state->trace_id = id;
  }
  state->server_span_id = pipeline::newSpanId();
  return state;
}

// ---- spans ------------------------------------------------------------------------------------

const SpanValue* ExportSpan::attr(std::string_view key) const {
  for (const SpanAttr& a : attrs) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

ProviderDirectory providerDirectory(const config::Config& config) {
  ProviderDirectory dir;
  for (const config::ProviderConfig& p : config.providers) {
    ProviderInfo info;
    if (p.kind == "anthropic") {
      info.system = "anthropic";
    } else if (p.kind == "gemini") {
      info.system = "gcp.gemini";
    } else if (p.kind == "azure") {
      info.system = "az.ai.openai";
    } else if (p.kind == "local") {
      info.system = "switchyard.local";
    } else {
      info.system = "openai";  // OpenAI and every OpenAI-compatible server (vLLM, llama-server)
    }
    if (!p.base_url.empty()) {
      if (auto origin = http::Origin::parse(p.base_url)) {
        info.address = origin->host;
        info.port = origin->port;
      }
    }
    dir.emplace(p.name, std::move(info));
  }
  return dir;
}

FinishedTrace finishedTrace(const pipeline::RequestContext& ctx, SteadyClock::time_point now,
                            std::chrono::system_clock::time_point wall_now,
                            std::shared_ptr<const ProviderDirectory> providers) {
  FinishedTrace f;
  f.trace = ctx.trace;
  f.providers = std::move(providers);
  f.now = now;
  f.wall_now = wall_now;
  f.received = ctx.received;
  f.endpoint = ctx.endpoint;
  f.stream = ctx.stream;
  f.http_status = ctx.http_status;
  if (!ctx.error.isOk()) {
    f.error_type = ctx.error.errorType().empty() ? std::string(errorCodeName(ctx.error.code()))
                                                 : ctx.error.errorType();
  }
  f.request_id = ctx.request_id;
  f.requested_model = ctx.requested_model;
  f.route = ctx.route;
  f.provider = ctx.provider;
  f.model = ctx.model;
  f.model_version = ctx.model_version;
  f.key_name = ctx.key_name;
  f.team = ctx.team;
  f.usage = ctx.usage;
  f.attempts = ctx.attempts;
  f.cost_usd = ctx.cost_usd;
  return f;
}

std::vector<ExportSpan> buildSpans(const FinishedTrace& ctx) {
  std::vector<ExportSpan> out;
  const pipeline::TraceState& trace = *ctx.trace;
  const auto now = ctx.now;
  const auto wall_now = ctx.wall_now;
  static const ProviderDirectory kNoProviders;
  const ProviderDirectory& providers = ctx.providers ? *ctx.providers : kNoProviders;
  out.reserve(1 + trace.spans.size());
  const auto wall_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(wall_now.time_since_epoch()).count());
  auto unixNs = [&](SteadyClock::time_point tp) {
    const auto ago = std::chrono::duration_cast<std::chrono::nanoseconds>(now - tp).count();
    return wall_ns - static_cast<std::uint64_t>(std::max<std::int64_t>(ago, 0));
  };
  const std::string_view operation = operationOf(ctx.endpoint);

  // The request itself: SERVER, child of the client's span when it sent a traceparent.
  ExportSpan server;
  server.trace_id = trace.trace_id;
  server.span_id = trace.server_span_id;
  server.parent_id = trace.parent_id;
  server.trace_state = trace.trace_state;
  server.kind = SpanKind::kServer;
  // Before routing (a stage stopped the request) the model is the one in the request.
  const std::string& model =
      ctx.requested_model.empty() ? trace.request_model : ctx.requested_model;
  server.name = operation;
  if (!model.empty()) {
    server.name += ' ';
    server.name += model;
  }
  server.start_ns = unixNs(ctx.received);
  server.end_ns = wall_ns;
  auto& a = server.attrs;
  a.reserve(20);
  a.push_back({"http.request.method", trace.http_method.empty() ? "POST" : trace.http_method});
  if (!trace.http_route.empty()) a.push_back({"http.route", trace.http_route});
  a.push_back({"http.response.status_code", static_cast<std::int64_t>(ctx.http_status)});
  a.push_back({"gen_ai.operation.name", std::string(operation)});
  if (!model.empty()) a.push_back({"gen_ai.request.model", model});
  if (trace.max_tokens) a.push_back({"gen_ai.request.max_tokens", *trace.max_tokens});
  if (trace.temperature) a.push_back({"gen_ai.request.temperature", *trace.temperature});
  if (!ctx.model.empty()) a.push_back({"gen_ai.response.model", ctx.model});
  if (ctx.usage.prompt_tokens > 0 || ctx.usage.completion_tokens > 0) {
    a.push_back({"gen_ai.usage.input_tokens", ctx.usage.prompt_tokens});
    a.push_back({"gen_ai.usage.output_tokens", ctx.usage.completion_tokens});
  }
  a.push_back({"switchyard.request_id", ctx.request_id});
  a.push_back({"switchyard.endpoint", std::string(pipeline::endpointName(ctx.endpoint))});
  a.push_back({"switchyard.stream", ctx.stream});
  if (!ctx.route.empty()) a.push_back({"switchyard.route", ctx.route});
  if (!ctx.provider.empty()) a.push_back({"switchyard.provider", ctx.provider});
  if (ctx.attempts > 0) a.push_back({"switchyard.attempts", std::int64_t{ctx.attempts}});
  if (!ctx.model_version.empty()) a.push_back({"switchyard.model_version", ctx.model_version});
  if (ctx.cost_usd > 0) a.push_back({"switchyard.cost_usd", ctx.cost_usd});
  if (!ctx.key_name.empty()) a.push_back({"switchyard.key_name", ctx.key_name});  // not the key
  if (!ctx.team.empty()) a.push_back({"switchyard.team", ctx.team});
  appendContent(trace, a);
  if (!ctx.error_type.empty()) {
    a.push_back({"error.type", ctx.error_type});
    // A SERVER span is an error for 5xx only (OTel HTTP conventions): 4xx is the client's.
    if (ctx.http_status >= 500) {
      server.error = true;
      server.status_message = ctx.error_type;
    }
  }
  out.push_back(std::move(server));

  // The attempt that answered carries the content too (the GenAI inference span).
  const pipeline::SpanRecord* answered = nullptr;
  for (const pipeline::SpanRecord& r : trace.spans) {
    if (r.kind == SpanKind::kClient && !r.error) answered = &r;
  }
  for (const pipeline::SpanRecord& r : trace.spans) {
    ExportSpan span;
    span.trace_id = trace.trace_id;
    span.span_id = r.span_id;
    span.parent_id = trace.server_span_id;
    span.trace_state = trace.trace_state;
    span.name = r.name;
    span.kind = r.kind;
    span.start_ns = unixNs(r.start);
    span.end_ns = unixNs(r.end);
    span.error = r.error;
    span.status_message = r.error_type;
    span.attrs = r.attrs;
    if (r.kind == SpanKind::kClient) {
      const auto* provider = span.attr("switchyard.provider");
      const auto* name = provider ? std::get_if<std::string>(provider) : nullptr;
      if (name != nullptr) {
        if (auto it = providers.find(*name); it != providers.end()) {
          span.attrs.push_back({"gen_ai.system", it->second.system});
          span.attrs.push_back({"gen_ai.provider.name", it->second.system});
          if (!it->second.address.empty()) {
            span.attrs.push_back({"server.address", it->second.address});
            span.attrs.push_back({"server.port", it->second.port});
          }
        }
      }
    }
    if (&r == answered) appendContent(trace, span.attrs);
    out.push_back(std::move(span));
  }
  return out;
}

// ---- OTLP JSON --------------------------------------------------------------------------------

std::string encodeOtlpJson(const ResourceAttrs& resource, std::span<const ExportSpan> spans) {
  std::string out;
  out.reserve(256 + spans.size() * 1024);
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  for (std::size_t i = 0; i < resource.size(); ++i) {
    if (i > 0) out += ',';
    appendAttribute(out, resource[i].first, SpanValue(resource[i].second));
  }
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"switchyard\",\"version\":";
  appendString(out, kVersion);
  out += "},\"spans\":[";
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const ExportSpan& s = spans[i];
    if (i > 0) out += ',';
    out += "{\"traceId\":";
    appendHex(out, s.trace_id);
    out += ",\"spanId\":";
    appendHex(out, s.span_id);
    if (!pipeline::isZero(s.parent_id)) {
      out += ",\"parentSpanId\":";
      appendHex(out, s.parent_id);
    }
    if (!s.trace_state.empty()) {
      out += ",\"traceState\":";
      appendString(out, s.trace_state);
    }
    out += ",\"name\":";
    appendString(out, s.name);
    out += ",\"kind\":";
    appendInteger(out, static_cast<std::uint64_t>(s.kind));
    out += ",\"startTimeUnixNano\":\"";
    appendInteger(out, s.start_ns);
    out += "\",\"endTimeUnixNano\":\"";
    appendInteger(out, s.end_ns);
    out += "\",\"attributes\":[";
    for (std::size_t j = 0; j < s.attrs.size(); ++j) {
      if (j > 0) out += ',';
      appendAttribute(out, s.attrs[j].key, s.attrs[j].value);
    }
    out += ']';
    if (s.error) {
      out += ",\"status\":{";
      if (!s.status_message.empty()) {
        out += "\"message\":";
        appendString(out, s.status_message);
        out += ',';
      }
      out += "\"code\":2}";  // STATUS_CODE_ERROR
    }
    out += '}';
  }
  out += "]}]}]}";
  return out;
}

// ---- exporter ---------------------------------------------------------------------------------

ExporterOptions ExporterOptions::fromConfig(const config::Config& config) {
  const config::TracesConfig& t = config.telemetry.traces;
  ExporterOptions o;
  o.endpoint = t.endpoint;
  for (const auto& [name, value] : t.headers) o.headers.emplace_back(name, value);
  o.resource.emplace_back("service.name", t.service_name);
  o.resource.emplace_back("service.version", kVersion);
  o.resource.emplace_back("telemetry.sdk.name", "switchyard");
  o.resource.emplace_back("telemetry.sdk.language", "cpp");
  for (const auto& [name, value] : t.resource) {
    if (name == "service.name") continue;  // service_name says it
    o.resource.emplace_back(name, value);
  }
  o.batch_size = t.batch_size;
  o.flush_interval = t.flush_interval;
  o.queue_capacity = t.queue_capacity;
  o.timeout = t.timeout;
  o.max_retries = t.max_retries;
  return o;
}

Result<std::unique_ptr<SpanExporter>> SpanExporter::create(ExporterOptions options,
                                                          Registry& metrics) {
  auto origin = http::Origin::parse(options.endpoint);
  if (!origin) {
    return fail(ErrorCode::kInvalidArgument,
                "telemetry.traces.endpoint: " + origin.error().message());
  }
  std::string target = origin->base_path;
  if (!target.ends_with("/v1/traces")) target += "/v1/traces";
  std::unique_ptr<SpanExporter> exporter(
      new SpanExporter(std::move(options), std::move(*origin), std::move(target), metrics));
  SpanExporter* raw = exporter.get();
  exporter->thread_ = std::thread([raw] {
    setCurrentThreadName("sy-otlp");
    asio::co_spawn(raw->io_, raw->loop(), asio::detached);
    raw->io_.run();
  });
  return exporter;
}

SpanExporter::SpanExporter(ExporterOptions options, http::Origin origin, std::string target,
                           Registry& metrics)
    : options_(std::move(options)),
      origin_(std::move(origin)),
      target_(std::move(target)),
      timer_(io_),
      client_(http::makeHttpClient(io_.get_executor())),
      exported_metric_(metrics
                           .counter("switchyard_trace_spans_exported_total",
                                    "Spans accepted by the OTLP collector.")
                           .with({})),
      dropped_full_metric_(metrics
                               .counter("switchyard_trace_spans_dropped_total",
                                        "Spans dropped: queue full or export failed.",
                                        {"reason"})
                               .with({"queue_full"})),
      dropped_failed_metric_(metrics
                                 .counter("switchyard_trace_spans_dropped_total",
                                          "Spans dropped: queue full or export failed.",
                                          {"reason"})
                                 .with({"export_failed"})),
      errors_metric_(metrics
                         .counter("switchyard_trace_export_errors_total",
                                  "Failed OTLP export requests (each try counts).")
                         .with({})) {}

SpanExporter::~SpanExporter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  asio::post(io_, [this] { timer_.cancel(); });
  if (thread_.joinable()) thread_.join();
}

bool SpanExporter::enqueue(FinishedTrace finished) {
  const std::size_t n = finished.spanCount();
  bool full_batch = false;
  {
    std::lock_guard lock(mu_);
    if (stop_ || queued_spans_ + n > static_cast<std::size_t>(options_.queue_capacity)) {
      dropped_.fetch_add(n, std::memory_order_relaxed);
      dropped_full_metric_.inc(static_cast<double>(n));
      return false;
    }
    queue_.push_back(std::move(finished));
    queued_spans_ += n;
    enqueued_ += n;
    full_batch = queued_spans_ >= static_cast<std::size_t>(options_.batch_size);
  }
  // The exporter wakes on its own timer; only a full batch needs it early (one post at most).
  if (full_batch && !wake_pending_.exchange(true)) wake();
  return true;
}

void SpanExporter::wake() {
  asio::post(io_, [this] { timer_.cancel(); });
}

void SpanExporter::flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = enqueued_;
  flush_target_ = std::max(flush_target_, target);
  lock.unlock();
  wake();
  lock.lock();
  done_.wait(lock, [&] { return settled_ >= target || exited_; });
}

void SpanExporter::finished(std::size_t n) {
  {
    std::lock_guard lock(mu_);
    settled_ += n;
  }
  done_.notify_all();
}

asio::awaitable<void> SpanExporter::loop() {
  for (;;) {
    wake_pending_.store(false);
    bool wait = true;
    {
      std::lock_guard lock(mu_);
      const bool flush_due = flush_target_ > settled_ && !queue_.empty();
      if (stop_ || flush_due || queued_spans_ >= static_cast<std::size_t>(options_.batch_size)) {
        wait = false;
      }
    }
    if (wait) {
      timer_.expires_after(options_.flush_interval);
      (void)co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    bool stopping = false;
    for (;;) {
      std::vector<FinishedTrace> batch;
      {
        std::lock_guard lock(mu_);
        stopping = stop_;
        if (queue_.empty()) break;
        // Whole requests, about batch_size spans (at least one request).
        std::size_t spans = 0;
        std::size_t n = 0;
        while (n < queue_.size() &&
               (n == 0 || spans + queue_[n].spanCount() <=
                              static_cast<std::size_t>(options_.batch_size))) {
          spans += queue_[n].spanCount();
          ++n;
        }
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        queued_spans_ -= spans;
      }
      const bool ok = co_await exportBatch(std::move(batch), stopping);
      if (!ok && stopping) {
        // Shutting down and the collector fails: what is left would only delay the exit.
        std::size_t rest = 0;
        {
          std::lock_guard lock(mu_);
          rest = queued_spans_;
          queue_.clear();
          queued_spans_ = 0;
        }
        dropped_.fetch_add(rest, std::memory_order_relaxed);
        dropped_failed_metric_.inc(static_cast<double>(rest));
        finished(rest);
        break;
      }
    }
    {
      std::lock_guard lock(mu_);
      if (stop_ && queue_.empty()) break;
    }
  }
  client_.reset();  // closes pooled connections (their timers would keep run() going)
  {
    std::lock_guard lock(mu_);
    exited_ = true;
  }
  done_.notify_all();
  io_.stop();
}

asio::awaitable<bool> SpanExporter::exportBatch(std::vector<FinishedTrace> batch, bool stopping) {
  std::vector<ExportSpan> spans;
  for (const FinishedTrace& finished : batch) {
    std::vector<ExportSpan> built = buildSpans(finished);
    std::move(built.begin(), built.end(), std::back_inserter(spans));
  }
  batch.clear();  // the traces' memory goes now, not after the upload
  const std::size_t n = spans.size();
  const std::string body = encodeOtlpJson(options_.resource, spans);
  spans.clear();
  const http::Timeouts timeouts{options_.timeout, options_.timeout, options_.timeout};
  for (int attempt = 0;; ++attempt) {
    http::ClientRequest req;
    req.method = boost::beast::http::verb::post;
    req.target = target_;
    req.headers = options_.headers;
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
    auto res = co_await client_->send(origin_, std::move(req), timeouts);
    unsigned status = 0;
    std::string error;
    std::chrono::milliseconds retry_after{0};
    if (res) {
      status = res->status;
      if (status >= 200 && status < 300) {
        exported_.fetch_add(n, std::memory_order_relaxed);
        exported_metric_.inc(static_cast<double>(n));
        if (failing_) {
          logEvent(spdlog::level::info, "trace_export_recovered",
                   {{"spans", static_cast<long long>(n)}});
        }
        failing_ = false;
        finished(n);
        co_return true;
      }
      const std::string_view ra = res->header("retry-after");
      int seconds = 0;
      if (std::from_chars(ra.data(), ra.data() + ra.size(), seconds).ec == std::errc() &&
          seconds > 0) {
        retry_after = std::chrono::milliseconds(std::min(seconds, 30) * 1000);
      }
      error = "HTTP " + std::to_string(status);
    } else {
      error = res.error().message();
    }
    errors_metric_.inc();
    const bool retryable =
        status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
    if (!retryable || attempt >= options_.max_retries || (stopping && attempt >= 1)) {
      // Logged once per outage; the endpoint is named, the export headers (credentials) never.
      if (!failing_) {
        logEvent(spdlog::level::warn, "trace_export_failed",
                 {{"endpoint", origin_.key() + target_},
                  {"error", error},
                  {"spans_dropped", static_cast<long long>(n)}});
      }
      failing_ = true;
      dropped_.fetch_add(n, std::memory_order_relaxed);
      dropped_failed_metric_.inc(static_cast<double>(n));
      finished(n);
      co_return false;
    }
    auto wait = std::min<std::chrono::milliseconds>(
        options_.initial_backoff * (1 << std::min(attempt, 6)), std::chrono::milliseconds(5000));
    wait = std::max(wait, retry_after);
    asio::steady_timer backoff(io_, wait);
    (void)co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// ---- observer ---------------------------------------------------------------------------------

TraceObserver::TraceObserver(const config::Config& config, std::shared_ptr<SpanExporter> exporter)
    : exporter_(std::move(exporter)),
      providers_(std::make_shared<const ProviderDirectory>(providerDirectory(config))) {}

void TraceObserver::onRequestDone(const pipeline::RequestContext& ctx) {
  if (!ctx.trace) return;
  (void)exporter_->enqueue(finishedTrace(ctx, SteadyClock::now(),
                                         std::chrono::system_clock::now(), providers_.load()));
}

Status TraceObserver::reload(const config::Config& config) {
  providers_.store(std::make_shared<const ProviderDirectory>(providerDirectory(config)));
  return Status::ok();
}

}  // namespace switchyard::telemetry
