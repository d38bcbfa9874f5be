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

// Retrieval-augmented generation (`rag:`; see docs/rag.md). Off unless the section is present.
struct RagRouteConfig {
  std::string collection;
  int top_k = 4;
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
  int embedding_model_line = 0;  // where embedding_model was set, for start-up errors
};

struct Config {
  std::string source;  // file path, or "<embedded>"
  ServerConfig server;
  LogConfig log;
  std::string storage_url = "sqlite://switchyard.db";
  std::vector<ProviderConfig> providers;
  std::vector<RouteConfig> routes;
  RagConfig rag;
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
