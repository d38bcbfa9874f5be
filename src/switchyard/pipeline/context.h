#pragma once
// RequestContext: everything the pipeline learns about one request, filled in stage by stage
// and read once by the log phase. Owned by the request's coroutine; not shared across threads.
//
// Stage: one step of the fixed chain (auth -> limits -> guard -> rag -> route -> dispatch).
// A stage either lets the request continue or intervenes with an error the client sees.

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"
#include "switchyard/pipeline/trace.h"

namespace switchyard::pipeline {

enum class Endpoint {
  kChat, kCompletions, kEmbeddings, kMessages, kCountTokens, kResponses,
  kRerank,  // POST /v1/rerank (RAG module)
};
enum class WireFormat { kOpenAI, kAnthropic };

std::string_view endpointName(Endpoint endpoint);

class OutputFilter;  // stage.h
class ContentGuard;  // stage.h

}  // namespace switchyard::pipeline

namespace switchyard::routing {
struct RoutePolicy;  // routing/router.h
}  // namespace switchyard::routing

namespace switchyard::pipeline {

// One planned upstream call: a provider and the model id it knows.
struct Target {
  std::string provider;
  std::string model;
  int candidate = -1;  // index into the route policy's candidates
};

struct RequestContext {
  using Clock = std::chrono::steady_clock;

  std::string request_id;
  std::shared_ptr<const void> runtime;  // the gateway's routing state this request runs on
  Endpoint endpoint = Endpoint::kChat;
  WireFormat format = WireFormat::kOpenAI;
  bool stream = false;
  Clock::time_point received;

  // Routing.
  std::string requested_model;  // what the client asked for
  std::string route;            // route name, or "" for a direct provider/model
  std::vector<Target> plan;     // primary first, then fallbacks
  std::string decision;         // short reason, for headers and logs
  std::shared_ptr<const routing::RoutePolicy> policy;  // the plan's candidates and retry rules

  // Dispatch.
  std::string provider;  // the one that answered (or failed last)
  std::string model;
  int attempts = 0;
  std::optional<Clock::time_point> upstream_start;
  std::optional<Clock::time_point> first_byte;  // first token / first byte to the client
  api::Usage usage;

  // Outcome.
  unsigned http_status = 0;
  Status error;

  // Extra response headers stages add (x-ratelimit-*, citations), sent with the response.
  std::vector<std::pair<std::string, std::string>> response_headers;

  // Admission: how many stages admitted the request (their complete() runs in the log phase).
  int stages_admitted = 0;

  // Auth stage: who is calling (empty when keys are not required).
  std::string key_id;
  std::string key_name;
  std::string team;
  std::vector<std::string> allowed_providers;  // the key's provider scope; empty: any
  std::vector<std::string> allowed_collections;  // the key's RAG collection scope; empty: "*"
  bool admin = false;  // the caller presented the admin key (module endpoints only)

  // Limits stage: cost reserved against budgets at admission, settled in Stage::complete.
  double reserved_cost = 0;
  std::int64_t reserved_tokens = 0;  // the prompt-token estimate taken from tokens-per-minute
  double budget_remaining = std::numeric_limits<double>::infinity();  // USD left, for routing

  // Guard stage: the request must stay on on-prem providers (private data found, or a private
  // RAG collection used), and why; a short summary of interventions for the log ("EMAIL:2").
  bool local_only = false;
  std::string local_only_reason;
  std::string guard_summary;
  std::shared_ptr<OutputFilter> output_filter;  // null: output passes unchanged
  // Scans what later stages add to the request (RAG chunks) under the same policy; null when
  // the guard is off or no such stage is configured.
  std::shared_ptr<ContentGuard> content_guard;

  // Routing signals.
  std::string task_type;  // "code", "math", "chat", ...
  std::string task_reason;  // set with task_type before routing (nearest-neighbour classifier)
  std::string risk_tier;  // "low", "high", ...; preset from the x-switchyard-risk header

  // RAG stage.
  std::string rag_collection;
  std::vector<std::string> citations;  // sources of the injected chunks, in citation order
  // The same citations as a JSON array of {index, collection, source, title, section, page,
  // chunk_id, score}, spliced into response bodies (`citations`); "" when RAG did not run.
  std::string citations_json;

  // Response cache (cache:). From the client's Cache-Control: whether the request may be
  // answered from the cache (no-cache: no) and may fill it (no-store: no), and the oldest answer
  // it accepts (max-age). What happened: "hit", "miss", "refresh" (no-cache), "bypass"
  // (no-store); "" when the cache is off or not used by the endpoint. A hit costs nothing.
  // The body's `cache` object (LiteLLM's per-request controls) may also set how long this
  // answer is kept (`ttl`) and a namespace that partitions the scope.
  bool cache_read = true;
  bool cache_write = true;
  std::optional<std::chrono::seconds> cache_max_age;
  std::optional<std::chrono::seconds> cache_ttl;
  std::string cache_namespace;
  std::string_view cache_status;  // a static string
  bool cacheHit() const { return cache_status == "hit"; }

  // Log phase: cost of the request in USD (computed from usage and the price table; 0 for an
  // answer from the response cache).
  double cost_usd = 0;

  // Telemetry (request log, model-version changelog). The dispatcher fills what it knows:
  // the version the upstream reported for the model that answered (response `model`, e.g.
  // "gpt-4o-2024-08-06", or system_fingerprint); the time a local request waited for an engine
  // sequence; and, only for routes listed in telemetry.request_log.payload_routes, the bodies.
  std::string model_version;
  std::optional<double> queue_ms;
  // (local models) the wait for the model to load, when the request had to (Ollama's
  // load_duration).
  std::optional<double> load_ms;
  // (local models) the engine's prompt processing and generation times, which a non-streamed
  // answer cannot show from outside: Ollama's prompt_eval_duration and eval_duration.
  std::optional<double> prompt_ms;
  std::optional<double> decode_ms;
  std::string request_payload;
  std::string response_payload;
  // Payload capture: the client's request body (valid until the log phase) and whether the
  // route opted in (set when the request is planned; the response is then captured too).
  std::string_view inbound_body;
  bool capture_payload = false;

  // Traces (telemetry.traces): set only when the request is sampled; stages, routing and each
  // upstream attempt record their spans into it. Shared: the log phase hands it to the exporter
  // thread as it is, without copying.
  std::shared_ptr<TraceState> trace;
};

// A stage's verdict: continue, or stop with this error.
using Verdict = Status;

}  // namespace switchyard::pipeline
