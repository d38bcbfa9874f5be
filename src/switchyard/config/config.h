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

namespace switchyard::config {

using Millis = std::chrono::milliseconds;

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  int workers = 0;  // I/O threads; 0 = number of cores
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  int max_connections = 10'000;
  Millis header_timeout{10'000};    // a request's headers and body must arrive within this
  Millis idle_timeout{60'000};      // keep-alive connections idle longer than this are closed
  Millis request_timeout{600'000};  // whole request, upstream call included
  Millis drain_timeout{30'000};     // graceful shutdown waits this long for in-flight requests
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
};

struct LocalModelConfig {
  std::string path;  // GGUF file
  std::vector<LocalLoraConfig> lora;
  int context = 4096;  // KV cells shared by all parallel sequences
  int parallel = 4;    // sequences decoded together (continuous batching)
  int batch = 512;     // tokens per decode step
  int gpu_layers = 0;  // layers offloaded in CUDA builds
  int max_queue = 64;  // requests waiting for a sequence; more get 503
  std::size_t host_cache_bytes = std::size_t{256} << 20;  // evicted prompt KV kept in RAM
  bool embeddings = false;    // also serve /v1/embeddings with this model
  std::string chat_template;  // overrides the model's own Jinja template when set
  bool preload = false;       // load at start-up rather than on first request
};

struct ModelConfig {
  std::string name;                  // the provider's model id, sent upstream
  std::vector<std::string> aliases;  // other public names for it
  std::int64_t context_window = 0;   // tokens; 0 = unknown (local: the configured context)
  LocalModelConfig local;            // kind `local` only
};

// Settings shared by the models of one `local` provider.
struct LocalProviderConfig {
  int threads = 0;        // CPU threads per model; 0 = all cores
  int max_loaded = 2;     // models kept in memory at once (least recently used unloaded)
  Millis idle_unload{0};  // unload a model unused this long; 0 = never
};

struct UpstreamTimeouts {
  Millis connect{10'000};
  Millis first_byte{120'000};
  Millis idle{120'000};
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
};

struct RouteConfig {
  std::string name;      // public model name clients send
  std::string provider;  // provider name
  std::string model;     // provider's model id
  int line = 0;
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

struct TelemetryConfig {
  RequestLogConfig request_log;
  MetricsConfig metrics;
  bool feedback = true;  // POST /v1/feedback
};

struct Config {
  std::string source;  // file path, or "<embedded>"
  ServerConfig server;
  LogConfig log;
  std::string storage_url = "sqlite://switchyard.db";
  std::vector<ProviderConfig> providers;
  std::vector<RouteConfig> routes;
  std::vector<PriceConfig> prices;
  TelemetryConfig telemetry;
};

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

}  // namespace switchyard::config
