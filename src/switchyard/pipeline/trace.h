#pragma once
// Trace recording for one request: the W3C trace context the request runs in and the spans the
// pipeline records on the way (admission stages, routing, one per upstream attempt), turned
// into OpenTelemetry spans by the telemetry module in the log phase. A RequestContext carries a
// TraceState only when the request is sampled, so untraced requests pay one null check per
// recording point.
//
// Thread-safety: a TraceState is written by one request's coroutine only; after the log phase
// it is read (never written) by the exporter thread. The free functions are thread-safe
// (per-thread random generators).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace switchyard::pipeline {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// Random, never all zero (W3C: an all-zero id is invalid).
TraceId newTraceId();
SpanId newSpanId();
bool isZero(const TraceId& id);
bool isZero(const SpanId& id);
std::string toHex(const TraceId& id);
std::string toHex(const SpanId& id);

// A parsed `traceparent` header (version 00; later versions read as 00 per the spec).
struct TraceParent {
  TraceId trace_id{};
  SpanId parent_id{};
  bool sampled = false;
};
// std::nullopt for a malformed header (bad length, non-hex, all-zero ids, version ff).
std::optional<TraceParent> parseTraceParent(std::string_view header);
// "00-<trace>-<span>-01" (we only propagate what we record: sampled).
std::string formatTraceParent(const TraceId& trace, const SpanId& span, bool sampled = true);

using SpanValue = std::variant<std::string, std::int64_t, double, bool, std::vector<std::string>>;
// Keys are string literals (the semantic-convention names): views, never allocated.
struct SpanAttr {
  std::string_view key;
  SpanValue value;
};

enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3 };

// One finished span inside the request (stage, routing, upstream attempt); the SERVER span of
// the request itself is built from the RequestContext in the log phase.
struct SpanRecord {
  SpanKind kind = SpanKind::kInternal;
  std::string name;
  SpanId span_id{};
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point end;
  bool error = false;
  std::string error_type;  // error.type, and the span status message
  std::vector<SpanAttr> attrs;
};

struct TraceState {
  TraceId trace_id{};
  SpanId parent_id{};  // the client's span (traceparent), zero when the trace starts here
  SpanId server_span_id{};
  std::string trace_state;  // the client's `tracestate`, passed on unchanged
  std::string http_route;   // the endpoint path, e.g. /v1/chat/completions
  std::string http_method;
  std::string request_model;  // the model the client named (the span name before routing)
  // Request parameters for the CLIENT spans (gen_ai.request.*), when the client set them.
  std::optional<std::int64_t> max_tokens;
  std::optional<double> temperature;
  std::vector<SpanRecord> spans;
  // Content capture (telemetry.traces.capture_content): the prompt as the model got it (after
  // the guard) and the answer as the client got it, as GenAI message JSON; or, when the request
  // may not be captured (masked values, local-only data), why not. Empty when off.
  bool capture_content = false;  // this request's content is captured
  std::string input_messages;
  std::string output_messages;
  std::string content_withheld;

  // The traceparent for a call made inside span `span`.
  std::string traceParentFor(const SpanId& span) const {
    return formatTraceParent(trace_id, span);
  }
};

}  // namespace switchyard::pipeline
