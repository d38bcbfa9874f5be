#pragma once
// OpenTelemetry traces: which requests are traced (TraceSampler), how a finished request becomes
// spans (buildSpans: one SERVER span, INTERNAL spans for the admission stages and routing, one
// CLIENT span per upstream attempt, following the GenAI semantic conventions), their OTLP/HTTP
// JSON encoding (encodeOtlpJson), and the exporter that sends them to a collector in batches
// from its own thread (SpanExporter). TraceObserver ties them into the log phase.
//
// Thread-safety: TraceSampler and buildSpans/encodeOtlpJson are stateless or immutable;
// SpanExporter::enqueue and TraceObserver::onRequestDone may be called from every I/O thread
// (one short lock, never I/O); the exporter's HTTP calls run on its own thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/http/client.h"
#include "switchyard/pipeline/stage.h"
#include "switchyard/telemetry/metrics.h"

namespace switchyard::telemetry {

// Parent-based ratio sampling: a request with a valid traceparent continues that trace and
// follows its sampled flag; any other starts a new trace, kept with probability `ratio` (decided
// from the trace id, so every service with the same ratio keeps the same traces).
class TraceSampler final : public pipeline::TraceStarter {
 public:
  explicit TraceSampler(double ratio) : ratio_(ratio) {}
  std::unique_ptr<pipeline::TraceState> start(
      const pipeline::RequestHeaders& headers) const override;
  // Whether a new trace with this id is kept (the ratio test alone).
  bool keep(const pipeline::TraceId& id) const;

 private:
  double ratio_;
};

// A span ready for export (ids, Unix times, attributes).
struct ExportSpan {
  pipeline::TraceId trace_id{};
  pipeline::SpanId span_id{};
  pipeline::SpanId parent_id{};  // zero: a root span
  std::string trace_state;
  std::string name;
  pipeline::SpanKind kind = pipeline::SpanKind::kInternal;
  std::uint64_t start_ns = 0;  // Unix time
  std::uint64_t end_ns = 0;
  bool error = false;
  std::string status_message;
  std::vector<pipeline::SpanAttr> attrs;

  // The value of attribute `key`, or null.
  const pipeline::SpanValue* attr(std::string_view key) const;
};

// What CLIENT spans say about a provider (from config): gen_ai.system / gen_ai.provider.name and
// server.address / server.port.
struct ProviderInfo {
  std::string system;  // "openai", "anthropic", "gcp.gemini", "az.ai.openai", "switchyard.local"
  std::string address;
  std::int64_t port = 0;
};
using ProviderDirectory = std::map<std::string, ProviderInfo, std::less<>>;
ProviderDirectory providerDirectory(const config::Config& config);

// A finished, traced request as the log phase hands it to the exporter thread: the recorded
// trace (shared, not copied) and the few RequestContext fields its SERVER span needs. Spans
// are built and encoded on the exporter thread, off the request path.
struct FinishedTrace {
  std::shared_ptr<const pipeline::TraceState> trace;
  std::shared_ptr<const ProviderDirectory> providers;
  // The same instant on both clocks, to place steady time points in Unix time.
  std::chrono::steady_clock::time_point now;
  std::chrono::system_clock::time_point wall_now;
  std::chrono::steady_clock::time_point received;
  pipeline::Endpoint endpoint = pipeline::Endpoint::kChat;
  bool stream = false;
  unsigned http_status = 0;
  std::string error_type;  // empty on success
  std::string request_id;
  std::string requested_model;
  std::string route;
  std::string provider;
  std::string model;
  std::string model_version;
  std::string key_name;
  std::string team;
  api::Usage usage;
  int attempts = 0;
  double cost_usd = 0;

  std::size_t spanCount() const { return 1 + trace->spans.size(); }
};
FinishedTrace finishedTrace(const pipeline::RequestContext& ctx,
                            std::chrono::steady_clock::time_point now,
                            std::chrono::system_clock::time_point wall_now,
                            std::shared_ptr<const ProviderDirectory> providers);

// The spans of one finished, traced request: SERVER first, then stages, routing, attempts.
std::vector<ExportSpan> buildSpans(const FinishedTrace& finished);

using ResourceAttrs = std::vector<std::pair<std::string, std::string>>;

// OTLP/HTTP JSON (ExportTraceServiceRequest): one resourceSpans with `resource` attributes and
// one scopeSpans ("switchyard", version) holding `spans`; ids as lower-case hex, times as
// decimal strings of Unix nanoseconds, enums as numbers, per the OTLP JSON mapping.
std::string encodeOtlpJson(const ResourceAttrs& resource, std::span<const ExportSpan> spans);

struct ExporterOptions {
  std::string endpoint;  // collector base URL; "/v1/traces" is appended unless already there
  std::vector<http::Header> headers;
  ResourceAttrs resource;
  int batch_size = 512;
  std::chrono::milliseconds flush_interval{2000};
  int queue_capacity = 8192;
  std::chrono::milliseconds timeout{10'000};
  int max_retries = 3;
  std::chrono::milliseconds initial_backoff{200};

  static ExporterOptions fromConfig(const config::Config& config);
};

// Sends spans to an OTLP/HTTP collector from its own thread: producers append to a bounded
// queue (full: the spans are dropped and counted); the thread exports a batch when batch_size
// spans are waiting or flush_interval passed, retrying 429/502/503/504 and network errors with
// exponential backoff (Retry-After honoured up to 30 s). The destructor exports what is queued
// (graceful shutdown loses no span unless the collector is down).
class SpanExporter {
 public:
  static Result<std::unique_ptr<SpanExporter>> create(ExporterOptions options, Registry& metrics);
  ~SpanExporter();

  // Never blocks on I/O. False when the queue was full and the spans were dropped.
  bool enqueue(FinishedTrace finished);
  // Blocks until every span queued before the call was exported or dropped (tests, CLI).
  void flush();

  std::uint64_t exported() const { return exported_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  SpanExporter(ExporterOptions options, http::Origin origin, std::string target,
               Registry& metrics);
  boost::asio::awaitable<void> loop();
  // True when the collector took the batch; otherwise its spans were dropped (and counted).
  boost::asio::awaitable<bool> exportBatch(std::vector<FinishedTrace> batch, bool stopping);
  void wake();
  void finished(std::size_t n);

  ExporterOptions options_;
  http::Origin origin_;
  std::string target_;

  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<http::HttpClient> client_;

  std::mutex mu_;
  std::condition_variable done_;
  std::vector<FinishedTrace> queue_;
  std::size_t queued_spans_ = 0;
  std::uint64_t enqueued_ = 0;  // spans accepted so far
  std::uint64_t settled_ = 0;   // of those, exported or dropped
  std::uint64_t flush_target_ = 0;  // flush(): export at least up to this count
  bool stop_ = false;
  bool exited_ = false;
  std::atomic<bool> wake_pending_{false};
  bool failing_ = false;  // exporter thread only: log a failure once until it recovers

  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> dropped_{0};
  Counter& exported_metric_;
  Counter& dropped_full_metric_;
  Counter& dropped_failed_metric_;
  Counter& errors_metric_;

  std::thread thread_;
};

// The log phase's trace export: hands each traced request to the exporter.
class TraceObserver final : public pipeline::RequestObserver {
 public:
  TraceObserver(const config::Config& config, std::shared_ptr<SpanExporter> exporter);
  void onRequestDone(const pipeline::RequestContext& ctx) override;
  // A config reload: providers added or moved get their CLIENT span attributes.
  Status reload(const config::Config& config);

 private:
  std::shared_ptr<SpanExporter> exporter_;
  std::atomic<std::shared_ptr<const ProviderDirectory>> providers_;
};

}  // namespace switchyard::telemetry
