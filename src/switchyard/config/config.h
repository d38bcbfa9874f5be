#pragma once
// Typed configuration, loaded from YAML. Loading validates everything up front: errors name the
// file, the line and the key (`switchyard.yaml:12: providers[0].kind: unknown provider kind
// 'opnai' (expected one of: openai)`). Unknown keys are errors. `${VAR}` and `${VAR:-default}` are
// expanded from the environment in string values. Immutable after load: share it freely.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/http/proxy.h"

namespace switchyard::config {

using Millis = std::chrono::milliseconds;

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  // Not a config key: `serve --listen` set host and port, which a config reload then keeps
  // (the file's listen does not apply, and is no change to warn about).
  bool listen_from_cli = false;
  int workers = 0;  // I/O threads; 0 = number of cores
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  int max_connections = 10'000;
  Millis header_timeout{10'000};    // a request's headers and body must arrive within this
  Millis idle_timeout{60'000};      // keep-alive connections idle longer than this are closed
  Millis request_timeout{600'000};  // whole request, upstream call included
  Millis drain_timeout{30'000};     // graceful shutdown waits this long for in-flight requests
  int busy_poll_us = 0;             // I/O threads poll this many µs before sleeping; 0: off
  // Outbound proxies for upstreams: server.https_proxy / http_proxy / no_proxy, else the
  // environment's HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case), as curl reads them.
  http::ProxySettings proxy;
  // Page origins whose browser requests may call the API (CORS): "*", "scheme://host[:port]",
  // or "scheme://host:*" for any port. The default admits pages served from this machine only
  // (as Ollama's does); an empty list turns CORS off.
  std::vector<std::string> cors_origins = {"http://localhost:*", "https://localhost:*",
                                           "http://127.0.0.1:*", "https://127.0.0.1:*",
                                           "http://[::1]:*",     "https://[::1]:*"};
};

struct LogConfig {
  std::string level = "info";   // trace debug info warn error critical off
  std::string format = "text";  // text | json
  std::string file;             // empty: stderr
  bool access_log = true;       // one line per request
};

// How the in-process engine runs one model (providers of kind `local` only).
// A LoRA adapter of a local model; requests choose it by name (llama-server's `lora` field).
struct LocalLoraConfig {
  std::string name;
  std::string path;    // adapter GGUF
  float scale = 1.0f;  // applied to requests that choose no adapters; 0: only when asked for

  bool operator==(const LocalLoraConfig&) const = default;
};

struct LocalModelConfig {
  std::string path;  // GGUF file
  std::vector<LocalLoraConfig> lora;
  int context = 4096;  // KV cells shared by all parallel sequences
  int parallel = 4;    // sequences decoded together (continuous batching)
  int batch = 512;     // tokens per decode step
  // Layers offloaded to GPUs in CUDA builds: kGpuLayersAuto (`auto`, as many as free GPU
  // memory holds), kGpuLayersAll (`all`) or a count.
  static constexpr int kGpuLayersAll = -1;
  static constexpr int kGpuLayersAuto = -2;
  int gpu_layers = kGpuLayersAuto;
  int max_queue = 64;  // requests waiting for a sequence; more get 503
  std::size_t host_cache_bytes = std::size_t{256} << 20;  // evicted prompt KV kept in RAM
  bool share_prefixes = true;  // prompts take a common prefix's KV from other sequences
  bool park_idle = true;       // idle sequences move to the host cache when a request starts
  bool embeddings = false;     // also serve /v1/embeddings with this model
  std::string chat_template;   // overrides the model's own Jinja template when set
  bool preload = false;        // load at start-up rather than on first request

  bool operator==(const LocalModelConfig&) const = default;
};

struct ModelConfig {
  std::string name;                  // the provider's model id, sent upstream
  std::vector<std::string> aliases;  // other public names for it
  std::int64_t context_window = 0;   // tokens; 0 = unknown (local: the configured context)
  LocalModelConfig local;            // kind `local` only
  // What the model can do: any of tools, json_schema, vision, reasoning. Empty: the provider
  // kind's defaults (see modelCapabilities()).
  std::vector<std::string> capabilities;
  // An OpenAI-compatible reranker (kinds openai/azure): served through the upstream's /rerank
  // for POST /v1/rerank and RAG's rerank step. Local rerankers are marked `embeddings: true`.
  bool rerank = false;

  bool operator==(const ModelConfig&) const = default;
};

// Settings shared by the models of one `local` provider.
struct LocalProviderConfig {
  int threads = 0;        // CPU threads per model; 0 = all cores
  int max_loaded = 2;     // models kept in memory at once (least recently used unloaded)
  Millis idle_unload{0};  // unload a model unused this long; 0 = never

  bool operator==(const LocalProviderConfig&) const = default;
};

struct UpstreamTimeouts {
  Millis connect{10'000};
  Millis first_byte{120'000};
  Millis idle{120'000};

  bool operator==(const UpstreamTimeouts&) const = default;
};

struct ProviderConfig {
  std::string name;                // unique; used as "name/model" in requests and routes
  std::string kind;                // "openai", "local" (in-process llama.cpp), ...
  std::string base_url;            // e.g. https://api.openai.com/v1
  std::string api_key;             // after ${ENV} expansion; may be empty (local servers)
  std::string api_version;         // kind `azure`: the api-version query parameter (required)
  std::string locality = "cloud";  // "on_prem", "cloud", "cloud:<region>"
  std::map<std::string, std::string> headers;  // extra headers sent upstream
  std::vector<ModelConfig> models;
  UpstreamTimeouts timeouts;
  LocalProviderConfig local;  // kind `local` only
  int line = 0;               // where it was declared, for later error messages

  bool operator==(const ProviderConfig&) const = default;
  // Same upstream and settings, wherever in a file it was declared (reload reuses it).
  bool sameAs(const ProviderConfig& other) const {
    ProviderConfig a = *this, b = other;
    a.line = b.line = 0;
    return a == b;
  }
};

// One candidate of a route: a deployment (provider + model) with what routing knows of it.
struct CandidateConfig {
  std::string provider;
  std::string model;
  int weight = 1;                         // strategy `weighted`
  std::map<std::string, double> quality;  // task type (or "default") -> score in [0, 1]
  std::vector<std::string> tasks;         // eligible only for these task types; empty: all
  std::vector<std::string> risk;          // eligible only for these risk tiers; empty: all
  std::int64_t max_prompt_tokens = 0;     // eligible only for shorter prompts; 0: any
  int line = 0;
};

struct RetryConfig {
  int attempts = 2;          // tries per candidate, the first included
  Millis backoff{200};       // first wait; doubles per retry, with full jitter
  Millis max_backoff{5000};  // cap on one wait (a longer Retry-After moves to the next candidate)
};

// A check on a cheap candidate's answer; when one fails, the cascade escalates.
struct CascadeCheck {
  std::string kind;   // json_valid | min_chars | regex | no_refusal
  std::string value;  // min_chars: the number; regex: the pattern
};

struct RouteConfig {
  std::string name;      // public model name clients send
  std::string provider;  // `target:` shorthand (one candidate); empty when `candidates` is used
  std::string model;
  int line = 0;
  std::vector<CandidateConfig> candidates;  // in priority order; empty: {provider, model}
  std::string strategy = "priority";  // priority|weighted|latency|cost|quality|cascade
  std::vector<std::string> locality;  // allowed provider localities; empty: any
  // What a request the guard marked local-only may use: "local_only" keeps it on on_prem
  // providers (no candidate: 403); "allow" ignores the verdict on this route.
  std::string sensitive = "local_only";
  double quality_threshold = 0.0;          // strategy `quality`
  std::vector<CascadeCheck> cascade;       // strategy `cascade`
  RetryConfig retry;
  Millis attempt_timeout{0};  // per upstream attempt; 0: the provider's own timeouts
  Millis timeout{0};          // whole request incl. retries and fallbacks; 0: server's
  // The response cache (`cache:` section) on this route: `cache: false` never answers from it
  // nor keeps answers; `cache: DURATION` keeps them that long instead of cache.ttl.
  bool cache = true;
  Millis cache_ttl{0};  // 0: cache.ttl
};

struct BreakerConfig {
  int failures = 5;          // consecutive failures that open the breaker
  double error_rate = 0.5;   // or this share of failures among the last `window` calls
  int window = 20;
  Millis cooldown{30'000};  // open this long, then one half-open probe
};

// A rule of the request classifier: any keyword (case-insensitive, whole word) or any pattern
// (RE2) in the last user message assigns the task type or risk tier.
struct SignalRule {
  std::string name;  // task type or risk tier
  std::vector<std::string> keywords;
  std::vector<std::string> patterns;
  int line = 0;
};

// The nearest-neighbour task classifier: labelled example utterances, embedded once (start-up
// and reload) by `embedding_model`; a request's text is embedded and takes the task type its
// nearest examples vote for. Off unless embedding_model is set.
struct TaskExample {
  std::string task;
  std::string text;
};
struct TaskClassifierConfig {
  std::string embedding_model;  // a model name as clients use it; "" = off
  int embedding_model_line = 0;
  int k = 5;                     // neighbours that vote
  double min_similarity = 0.5;  // cosine of the nearest example below this: no decision
  Millis timeout{250};          // for the request's embedding call; past it: lexical fallback
  std::vector<TaskExample> examples;  // inline `examples:` then `examples_file:` lines
};

struct RoutingConfig {
  BreakerConfig breaker;
  RetryConfig retry;                   // defaults for routes that set none
  std::vector<SignalRule> tasks;       // checked before the built-in lexical classifier
  std::vector<SignalRule> risk;        // first match wins; no match: "low"
  bool quality_from_store = true;      // also read evaluation scores (table quality_scores)
  TaskClassifierConfig classifier;     // between the rules and the built-in classifier
};

// Prices (telemetry): USD per 1M tokens for a provider's model, or the hardware cost of a local
// provider. An entry names either `provider` (a provider name) or `kind` (every provider of that
// kind); `model` empty matches every model (local hardware entries).
struct PriceConfig {
  std::string provider;
  std::string kind;
  std::string model;
  double input = 0;
  double output = 0;
  double cached_input = -1;  // < 0: same as input
  double cache_write = -1;   // < 0: same as input
  // Local hardware: $/hour for the machine, and its output (and prompt) throughput in tokens/s;
  // 0 throughput: use what the request log measures.
  double hourly_usd = -1;  // < 0: not a hardware entry
  double tokens_per_second = 0;
  double prompt_tokens_per_second = 0;
  int line = 0;
};

// The request log (telemetry): one row per model request, written in batches off the hot path.
struct RequestLogConfig {
  // Config files turn it on unless `telemetry.request_log.enabled: false` (the loader's default);
  // a Config built in code (tests) leaves it off.
  bool enabled = false;
  Millis max_age{30LL * 24 * 3600 * 1000};  // rows older than this are pruned; 0 = keep
  std::int64_t max_rows = 1'000'000;          // newest rows kept; 0 = unbounded
  int batch_size = 256;                       // rows per write transaction
  Millis flush_interval{1000};                // a partial batch waits at most this long
  int queue_capacity = 10'000;                // rows waiting; more are dropped and counted
  Millis prune_interval{300'000};
  std::vector<std::string> payload_routes;  // routes whose request/response bodies are logged
  std::size_t max_payload_bytes = 64 * 1024;
};

struct MetricsConfig {
  bool enabled = true;  // GET /metrics
  std::string token;    // when set, scrapes must send `Authorization: Bearer <token>`
};

// OpenTelemetry traces over OTLP/HTTP (JSON); off unless `endpoint` is set.
struct TracesConfig {
  std::string endpoint;  // collector base URL (".../v1/traces" is appended unless present)
  double sample_ratio = 1.0;  // new traces kept; a client's traceparent decides for its trace
  std::string service_name = "switchyard";
  std::map<std::string, std::string> resource;  // extra resource attributes
  std::map<std::string, std::string> headers;   // sent with every export; values never logged
  int batch_size = 512;                         // spans per export request
  Millis flush_interval{2000};                  // a partial batch waits at most this long
  int queue_capacity = 8192;                    // spans waiting; more are dropped and counted
  Millis timeout{10'000};                       // per export request
  int max_retries = 3;                          // on 429 / 502 / 503 / 504 / network errors
  // Prompts and outputs on the SERVER and answering CLIENT spans (gen_ai.input.messages /
  // gen_ai.output.messages), as the guard left them; off by default.
  bool capture_content = false;
  std::size_t max_content_bytes = 16 * 1024;  // per attribute; longer texts are cut
};

// The web dashboard at /ui and its JSON API under /admin/api (docs/dashboard.md).
struct DashboardConfig {
  // Config files turn it on unless `telemetry.dashboard.enabled: false`; a Config built in code
  // (tests) leaves it off.
  bool enabled = false;
  Millis session_ttl{12LL * 3600 * 1000};  // how long a login cookie stays valid
};

struct TelemetryConfig {
  RequestLogConfig request_log;
  MetricsConfig metrics;
  bool feedback = true;  // POST /v1/feedback
  TracesConfig traces;
  DashboardConfig dashboard;
};

// Guard (docs/guardrails.md): what happens to PII and secrets found in requests and answers.
// A policy maps an entity type ("EMAIL"), a category ("pii", "secret", "custom") or "default"
// to an action: allow, redact, mask, local_only or block.
using GuardPolicy = std::map<std::string, std::string>;

// A custom detector: a regex (with optional validator) or a deny-list of terms.
struct GuardDetectorConfig {
  std::string name;  // type label: [NAME_1]
  std::string regex;
  std::string validator;  // "" or luhn, card, iban, ssn, ipv4, ipv6, jwt, entropy
  std::string category = "custom";  // pii | secret | custom
  bool case_insensitive = false;
  int group = 0;
  std::vector<std::string> terms;  // deny-list (instead of regex)
  int line = 0;
};

struct GuardConfig {
  bool enabled = false;  // true when the `guard:` section is present
  GuardPolicy policy;    // the base policy; empty: allow everything (detect and count only)
  bool scan_output = false;  // redact entities the model writes whose policy is not allow
  std::vector<std::string> entities;  // built-in types to run; empty: all
  double entropy_threshold = 3.5;
  std::size_t generic_min_length = 16;
  std::vector<GuardDetectorConfig> detectors;
  std::vector<std::string> allow_values;
  std::vector<std::string> allow_patterns;
  // Overrides, by the model/route name the client asks for, by key name, by team.
  std::map<std::string, GuardPolicy> routes;
  std::map<std::string, GuardPolicy> keys;
  std::map<std::string, GuardPolicy> teams;
};

// Virtual keys (docs/keys.md).
struct AuthConfig {
  bool require_keys = false;    // off: anonymous requests pass; a known key is still identified
  Millis reload_interval{5000};  // how often the key cache re-reads the store (CLI changes)
};

// Limits per team (a key's own limits live with the key in the store).
struct TeamLimitsConfig {
  std::int64_t rpm = 0;  // requests per minute; 0 = unlimited
  std::int64_t tpm = 0;  // tokens per minute; 0 = unlimited
  double budget_usd = 0;  // per period; 0 = unlimited
  std::string budget_period = "month";  // day | month (UTC)
};

// Limits shared by several gateways through Redis (`limits.redis`): each gateway enforces its
// buckets and budgets in memory and every sync_interval trades what it used for what all used.
// A Redis server, from a redis://[[user]:password@]host[:port][/db] URL.
struct RedisConfig {
  std::string url;  // as written; may carry a password, so never logged. "" = none
  std::string host;
  int port = 6379;
  int db = 0;
  std::string username;  // Redis 6 ACL user; "" = the default user
  std::string password;
  int line = 0;  // where url was set, for start-up errors

  // redis://host:port/db without the credentials, for logs.
  std::string display() const;
};

struct SharedLimitsConfig : RedisConfig {
  Millis sync_interval{100};
};

struct LimitsConfig {
  std::map<std::string, TeamLimitsConfig> teams;
  SharedLimitsConfig redis;
};

// Retrieval-augmented generation (`rag:`; see docs/rag.md). Off unless the section is present.
// A reranker applied after fusion: the best `top_n` fused candidates are scored by `model` (a
// reranker GGUF served with rank pooling) and the best top_k of them kept, in its order.
struct RagRerankConfig {
  std::string model;  // public model name; "" = no reranking
  int top_n = 20;     // candidates scored (raised to top_k when smaller)
  int model_line = 0;  // where model was set, for start-up errors
};

struct RagRouteConfig {
  std::string collection;
  int top_k = 4;
  RagRerankConfig rerank = {};  // wins over the collection's
};

// Settings of one collection, by name (the collection itself is made by the API or the CLI).
struct RagCollectionConfig {
  RagRerankConfig rerank = {};
};

struct RagConfig {
  bool enabled = false;         // the `rag:` section is present
  std::string path;             // collections directory; "" = beside the store (see docs/rag.md)
  std::string embedding_model;  // public model name (alias, provider/model); "" = lexical only
  int chunk_tokens = 256;       // target chunk size
  int chunk_overlap = 32;       // tokens repeated from the previous chunk of the same section
  int top_k = 4;                // default for requests and /v1/retrieve
  std::string mode = "hybrid";  // lexical | vector | hybrid
  int hnsw_m = 16;
  int hnsw_ef_construction = 200;
  int hnsw_ef_search = 256;
  int workers = 2;  // threads for disk and embedding work
  std::map<std::string, RagRouteConfig> routes;  // route (public model name) -> collection
  std::map<std::string, RagCollectionConfig> collections;  // collection name -> settings
  int embedding_model_line = 0;  // where embedding_model was set, for start-up errors
};

// Stored responses of the OpenAI Responses API (docs/responses.md): `store`,
// `previous_response_id`, GET/DELETE /v1/responses/{id}, in the store (`storage.url`).
struct ResponsesConfig {
  // Config files turn it on unless `responses.enabled: false`; a Config built in code leaves it
  // off (stateless: store: true and previous_response_id are refused).
  bool enabled = false;
  bool store_by_default = true;  // a request without `store` is stored, as OpenAI's API does
  Millis max_age{30LL * 24 * 3600 * 1000};  // stored responses older than this are pruned; 0 = keep
};

// The response cache (docs/caching.md): identical requests answered from memory instead of the
// upstream. Off unless configured.
struct CacheConfig {
  bool enabled = false;
  Millis ttl{3600LL * 1000};             // an entry is served at most this long after it was stored
  std::size_t max_bytes = 256ULL << 20;  // memory for cached answers; least recently used go first
  // Who may be answered from an entry: the virtual key that made it ("key"), any key of its team
  // ("team"), or anyone ("global"). Anonymous callers (no keys required) share one scope.
  std::string scope = "key";
  // A second tier shared by every gateway that names the same Redis: a miss in memory asks it,
  // a fresh answer goes to both. "" = memory only.
  RedisConfig redis;
  Millis redis_timeout{250};  // the longest a lookup waits on Redis before it counts as a miss
};

struct Config {
  std::string source;  // file path, or "<embedded>"
  ServerConfig server;
  LogConfig log;
  std::string storage_url = "sqlite://switchyard.db";
  ResponsesConfig responses;
  CacheConfig cache;
  std::vector<ProviderConfig> providers;
  std::vector<RouteConfig> routes;
  RoutingConfig routing;
  std::vector<PriceConfig> prices;
  TelemetryConfig telemetry;
  // Governance (issue 6).
  std::string admin_key;  // protects /admin/*; empty: $SWITCHYARD_ADMIN_KEY, else /admin is 403
  AuthConfig auth;
  LimitsConfig limits;
  GuardConfig guard;
  RagConfig rag;
};

// Capabilities of `model` of `provider` (its own list, or the provider kind's defaults).
std::vector<std::string> modelCapabilities(const ProviderConfig& provider,
                                           const ModelConfig& model);

// Parses YAML text; `source` names it in error messages.
Result<Config> parseConfig(std::string_view yaml, std::string_view source);
// Reads and parses a file.
Result<Config> loadConfigFile(const std::string& path);

// The configuration `switchyard serve` uses without --config: one local tiny model
// (defaultModelPath()), SQLite storage, 127.0.0.1:8080.
std::string_view embeddedDefaultYaml();
Result<Config> embeddedDefaultConfig();
// Where `make serve` puts the tiny default model: $SWITCHYARD_MODEL if set, else
// $XDG_CACHE_HOME (or ~/.cache)/switchyard/models/tiny-chat.gguf.
std::string defaultModelPath();

// `switchyard serve --model FILE...` (llama-server's -m): the embedded defaults with these GGUF
// files as the local models instead of the tiny one. Each is named by its file name without
// `.gguf` (`Qwen2.5-7B-Instruct-Q4_K_M`); the first also answers to `default` and is loaded at
// start. Two files with one name are an error.
struct ModelFilesOptions {
  std::vector<std::string> paths;
  int context = 4096;  // per model: KV cells shared by its parallel sequences
  int parallel = 4;
  bool embeddings = false;
};
Result<Config> modelFilesConfig(const ModelFilesOptions& options);

}  // namespace switchyard::config
