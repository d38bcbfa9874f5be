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

struct LimitsConfig {
  std::map<std::string, TeamLimitsConfig> teams;
};

struct Config {
  std::string source;  // file path, or "<embedded>"
  ServerConfig server;
  LogConfig log;
  std::string storage_url = "sqlite://switchyard.db";
  std::vector<ProviderConfig> providers;
  std::vector<RouteConfig> routes;
  // Governance (issue 6).
  std::string admin_key;  // protects /admin/*; empty: $SWITCHYARD_ADMIN_KEY, else /admin is 403
  AuthConfig auth;
  LimitsConfig limits;
  GuardConfig guard;
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
