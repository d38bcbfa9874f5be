#include "switchyard/config/config.h"

#include <arpa/inet.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <expected>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <system_error>
#include <utility>

#include "switchyard/core/strings.h"

namespace switchyard::config {
namespace {

using Names = std::span<const std::string_view>;

// Every provider kind the gateway knows; adding one starts here (then providers/registry.cc).
struct ProviderKind {
  std::string_view name;
  std::string_view default_base_url;  // used when base_url is omitted; empty: base_url required
  bool in_process = false;            // runs models itself: no URL, key, headers or timeouts
};
constexpr ProviderKind kProviderKinds[] = {
    {"openai", "https://api.openai.com/v1"},
    {"anthropic", "https://api.anthropic.com"},
    {"gemini", "https://generativelanguage.googleapis.com/v1beta"},
    {"local", "", true},
    // Azure OpenAI: base_url is the resource endpoint, e.g. https://NAME.openai.azure.com.
    {"azure", ""},
};

constexpr std::string_view kTopKeys[] = {"server",  "log",    "storage",   "providers", "routes",
                                         "routing", "prices", "telemetry", "admin_key", "auth",
                                         "limits",  "guard",  "rag",       "responses", "cache"};
// Governance sections (issue 6).
constexpr std::string_view kAuthKeys[] = {"require_keys", "reload_interval"};
constexpr std::string_view kLimitsKeys[] = {"teams", "redis", "sync_interval"};
constexpr std::string_view kTeamLimitKeys[] = {"rpm", "tpm", "budget_usd", "budget_period"};
constexpr std::string_view kBudgetPeriods[] = {"day", "month"};
constexpr std::string_view kGuardKeys[] = {
    "policy",    "scan_output", "entities", "entropy_threshold", "generic_min_length",
    "detectors", "allow",       "routes",   "keys",              "teams"};
constexpr std::string_view kGuardAllowKeys[] = {"values", "patterns"};
constexpr std::string_view kGuardDetectorKeys[] = {"name",  "regex",   "validator", "category",
                                                   "case_insensitive", "group", "terms"};
constexpr std::string_view kGuardActions[] = {"allow", "redact", "mask", "local_only", "block"};
constexpr std::string_view kGuardCategories[] = {"pii", "secret", "custom"};
// guard::builtinEntityTypes(); guard_policy_test checks the two lists agree.
constexpr std::string_view kGuardBuiltinTypes[] = {
    "EMAIL",          "PHONE",          "CREDIT_CARD",       "IBAN",
    "US_SSN",         "IP_ADDRESS",     "AWS_ACCESS_KEY",    "AWS_SECRET_KEY",
    "GCP_API_KEY",    "GCP_SERVICE_ACCOUNT_KEY", "AZURE_STORAGE_KEY", "GITHUB_TOKEN",
    "SLACK_TOKEN",    "SLACK_WEBHOOK",  "OPENAI_API_KEY",    "ANTHROPIC_API_KEY",
    "PRIVATE_KEY",    "JWT",            "SECRET"};
constexpr int kMaxBusyPollUs = 10'000;
constexpr std::string_view kServerKeys[] = {
    "listen",         "workers",      "max_body_bytes",  "max_header_bytes", "max_connections",
    "header_timeout", "idle_timeout", "request_timeout", "drain_timeout",    "busy_poll_us",
    "cors_origins",   "https_proxy",  "http_proxy",      "no_proxy"};
constexpr std::string_view kLogKeys[] = {"level", "format", "file", "access_log"};
constexpr std::string_view kStorageKeys[] = {"url"};
constexpr std::string_view kResponsesKeys[] = {"enabled", "store_by_default", "max_age"};
constexpr std::string_view kCacheKeys[] = {"enabled", "ttl",   "max_bytes",
                                           "scope",   "redis", "redis_timeout"};
constexpr std::string_view kCacheScopes[] = {"key", "team", "global"};
constexpr std::string_view kProviderKeys[] = {
    "name",     "kind",    "base_url", "api_key",    "locality",   "headers",
    "timeouts", "models",  "threads",  "max_loaded", "idle_unload", "api_version"};
// Keys that only mean something for one side of the in-process / HTTP split.
constexpr std::string_view kHttpProviderKeys[] = {"base_url", "api_key", "headers", "timeouts"};
constexpr std::string_view kLocalProviderKeys[] = {"threads", "max_loaded", "idle_unload"};
constexpr std::string_view kTimeoutKeys[] = {"connect", "first_byte", "idle"};
constexpr std::string_view kModelKeys[] = {
    "name",    "aliases",    "context_window", "path",       "context",        "parallel",
    "batch",   "gpu_layers", "max_queue",      "host_cache", "embeddings",     "chat_template",
    "preload", "lora",       "capabilities",   "rerank",     "share_prefixes", "park_idle"};
constexpr std::string_view kLocalModelKeys[] = {
    "path",       "context",       "parallel", "batch", "gpu_layers",     "max_queue", "host_cache",
    "embeddings", "chat_template", "preload",  "lora",  "share_prefixes", "park_idle"};
constexpr std::string_view kLoraKeys[] = {"name", "path", "scale"};
constexpr std::string_view kRouteKeys[] = {
    "name",   "target",    "candidates", "strategy", "locality",        "sensitive",
    "retry",  "cascade",   "timeout",    "attempt_timeout", "quality_threshold", "cache"};
constexpr std::string_view kCandidateKeys[] = {"target", "weight", "quality", "tasks", "risk",
                                               "max_prompt_tokens"};
constexpr std::string_view kRetryKeys[] = {"attempts", "backoff", "max_backoff"};
constexpr std::string_view kCascadeKinds[] = {"json_valid", "min_chars", "regex", "no_refusal"};
constexpr std::string_view kStrategies[] = {"priority", "weighted", "latency",
                                            "cost",     "quality",  "cascade"};
constexpr std::string_view kSensitiveModes[] = {"local_only", "allow"};
constexpr std::string_view kCapabilities[] = {"tools", "json_schema", "vision", "reasoning"};
constexpr std::string_view kRoutingKeys[] = {"breaker", "retry", "tasks", "risk",
                                             "quality_from_store", "classifier"};
constexpr std::string_view kClassifierKeys[] = {"embedding_model", "k", "min_similarity",
                                                "timeout", "examples", "examples_file"};
constexpr std::string_view kBreakerKeys[] = {"failures", "error_rate", "window", "cooldown"};
constexpr std::string_view kSignalRuleKeys[] = {"name", "keywords", "patterns"};
constexpr std::string_view kPriceKeys[] = {
    "provider",   "kind",              "model", "input", "output", "cached_input", "cache_write",
    "hourly_usd", "tokens_per_second", "prompt_tokens_per_second"};
constexpr std::string_view kTelemetryKeys[] = {"request_log", "metrics", "feedback", "traces",
                                               "dashboard"};
constexpr std::string_view kTracesKeys[] = {
    "endpoint",   "sample_ratio",   "service_name",   "resource",    "headers",
    "batch_size", "flush_interval", "queue_capacity", "timeout",     "max_retries",
    "capture_content", "max_content_bytes"};
constexpr std::string_view kDashboardKeys[] = {"enabled", "session_ttl"};
constexpr std::string_view kRequestLogKeys[] = {
    "enabled",        "max_age",        "max_rows",       "batch_size",       "flush_interval",
    "queue_capacity", "prune_interval", "payload_routes", "max_payload_bytes"};
constexpr std::string_view kMetricsKeys[] = {"enabled", "token"};

constexpr std::string_view kRagKeys[] = {
    "path",   "embedding_model", "chunk_tokens",         "chunk_overlap",  "top_k",   "mode",
    "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search", "workers",        "routes",
    "collections"};
constexpr std::string_view kRagRouteKeys[] = {"collection", "top_k", "rerank"};
constexpr std::string_view kRagCollectionKeys[] = {"rerank"};
constexpr std::string_view kRagRerankKeys[] = {"model", "top_n"};
constexpr std::string_view kRagModes[] = {"lexical", "vector", "hybrid"};

constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};
constexpr std::string_view kLogFormats[] = {"text", "json"};

// Set by the gateway or the HTTP client itself; letting a config override them would break
// framing or authentication.
constexpr std::string_view kReservedHeaders[] = {"host", "content-length", "transfer-encoding",
                                                 "connection", "content-type"};

constexpr std::size_t kMaxConfigFileBytes = 16 * 1024 * 1024;
constexpr int kMaxWorkers = 1024;

// Small text helpers.

std::string join(Names names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool contains(Names names, std::string_view s) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

bool hasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), ignoring case.
std::size_t editDistance(std::string_view a_in, std::string_view b_in) {
  const std::string a = asciiLower(a_in);
  const std::string b = asciiLower(b_in);
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The closest option to `got`, if one is close enough to be a plausible typo.
std::optional<std::string_view> closest(std::string_view got, Names options) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view option : options) {
    const std::size_t d = editDistance(got, option);
    if (d < best_distance) {
      best_distance = d;
      best = option;
    }
  }
  if (best && best_distance <= 2 && best_distance * 2 < got.size()) return best;
  // A truncated key ("max_body" for "max_body_bytes") is a typo too, when it is unambiguous.
  if (got.size() >= 3) {
    std::optional<std::string_view> prefixed;
    for (std::string_view option : options) {
      if (asciiLower(option).starts_with(asciiLower(got))) {
        if (prefixed) return std::nullopt;
        prefixed = option;
      }
    }
    return prefixed;
  }
  return std::nullopt;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    default: return "a scalar";
  }
}

// Value grammars. Their errors may quote the input: api_key and header values never reach them.

bool isVarName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// `${VAR}`, `${VAR:-default}` and `$$`. Errors name the variable, never the value.
std::expected<std::string, std::string> expandEnv(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '$') {
      out += in[i++];
      continue;
    }
    if (i + 1 < in.size() && in[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (i + 1 >= in.size() || in[i + 1] != '{') {
      out += in[i++];  // a lone '$' is literal
      continue;
    }
    const std::size_t close = in.find('}', i + 2);
    if (close == std::string_view::npos) {
      return std::unexpected("unterminated '${' (write '$$' for a literal '$')");
    }
    const std::string_view body = in.substr(i + 2, close - i - 2);
    std::string_view name = body;
    std::optional<std::string_view> fallback;
    if (const std::size_t sep = body.find(":-"); sep != std::string_view::npos) {
      name = body.substr(0, sep);
      fallback = body.substr(sep + 2);
    }
    if (!isVarName(name)) {
      return std::unexpected("invalid environment variable name '" + std::string(name) +
                             "' (expected ${NAME} or ${NAME:-default})");
    }
    const char* value = std::getenv(std::string(name).c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (fallback) {
      out += *fallback;
    } else if (value == nullptr) {
      return std::unexpected("environment variable '" + std::string(name) +
                             "' is not set (write ${" + std::string(name) +
                             ":-default} to give it a default)");
    }
    i = close + 1;
  }
  return out;
}

// Integer with optional '_' digit separators; nullopt when not an integer or out of range.
std::optional<std::int64_t> parseInt(std::string_view text) {
  std::string digits;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_' && i > 0 && i + 1 < text.size() &&
        std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      continue;
    }
    digits += c;
  }
  if (!digits.empty() && digits.front() == '+') digits.erase(0, 1);
  std::int64_t value = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

bool mulAdd(std::uint64_t& acc, std::uint64_t value, std::uint64_t factor) {
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(value, factor, &product)) return false;
  return !__builtin_add_overflow(acc, product, &acc);
}

// "4MiB", "512 KiB", "1GB", "1048576". Units: B, KB/MB/GB (powers of 1000), KiB/MiB/GiB (1024).
std::expected<std::uint64_t, std::string> parseSize(std::string_view text) {
  const std::string kHint = "expected a size like 4MiB, 512KiB, 10MB or a number of bytes";
  text = trimSpace(text);
  std::size_t n = 0;
  while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
  if (!text.empty() && text.front() == '-') return std::unexpected("must be greater than 0");
  if (n == 0) return std::unexpected(kHint + ", got '" + std::string(text) + "'");
  std::uint64_t number = 0;
  if (std::from_chars(text.data(), text.data() + n, number).ec != std::errc()) {
    return std::unexpected("size is too large");
  }
  const std::string unit = asciiLower(trimSpace(text.substr(n)));
  static const std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"", 1},           {"b", 1},
      {"kb", 1000},      {"mb", 1000 * 1000},         {"gb", 1000 * 1000 * 1000},
      {"kib", 1 << 10},  {"mib", 1 << 20},            {"gib", 1 << 30},
  };
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      std::uint64_t bytes = 0;
      if (!mulAdd(bytes, number, factor) || bytes > std::numeric_limits<std::size_t>::max()) {
        return std::unexpected("size is too large");
      }
      return bytes;
    }
  }
  return std::unexpected(kHint + ", got '" + std::string(text) + "'");
}

// "250ms", "10s", "5m", "1h", "1h30m", or a plain integer of milliseconds.
std::expected<Millis, std::string> parseDuration(std::string_view text) {
  const std::string kHint = "expected a duration like 250ms, 10s, 5m, 1h or a number of ms";
  text = trimSpace(text);
  if (!text.empty() && text.front() == '-') return std::unexpected("must not be negative");
  if (auto plain = parseInt(text)) return Millis(*plain);
  if (text.empty()) return std::unexpected(kHint + ", got ''");
  std::uint64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    std::uint64_t number = 0;
    if (i == start ||
        std::from_chars(text.data() + start, text.data() + i, number).ec != std::errc()) {
      return std::unexpected(kHint + ", got '" + std::string(text) + "'");
    }
    start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(start, i - start);
    std::uint64_t factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m") factor = 60 * 1000;
    else if (unit == "h") factor = 60 * 60 * 1000;
    else return std::unexpected(kHint + ", got '" + std::string(text) + "'");
    if (!mulAdd(total, number, factor) ||
        total > static_cast<std::uint64_t>(std::numeric_limits<Millis::rep>::max())) {
      return std::unexpected("duration is too large");
    }
  }
  return Millis(static_cast<Millis::rep>(total));
}

std::optional<bool> parseBool(std::string_view text) {
  const std::string t = asciiLower(trimSpace(text));
  if (t == "true" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "no" || t == "off") return false;
  return std::nullopt;
}

// "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0", "localhost:8080", ":8080" (all interfaces).
std::expected<std::pair<std::string, std::uint16_t>, std::string> parseListen(
    std::string_view text) {
  const std::string kForm = "expected HOST:PORT, e.g. 127.0.0.1:8080 or \"[::1]:8080\"";
  text = trimSpace(text);
  std::string host;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::unexpected(kForm + ", got '" + std::string(text) + "'");
    }
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    in6_addr addr{};
    if (inet_pton(AF_INET6, host.c_str(), &addr) != 1) {
      return std::unexpected("'" + host + "' is not an IPv6 address");
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::unexpected(kForm + ", got '" + std::string(text) + "'");
    }
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return std::unexpected("IPv6 addresses need brackets, e.g. \"[::1]:8080\"");
    }
    if (host.empty() || host == "*") {
      host = "0.0.0.0";
    } else if (host == "localhost") {
      host = "127.0.0.1";
    } else {
      in_addr addr{};
      if (inet_pton(AF_INET, host.c_str(), &addr) != 1) {
        return std::unexpected("host '" + host +
                               "' is not an IP address (use e.g. 127.0.0.1, 0.0.0.0, [::1] "
                               "or localhost)");
      }
    }
  }
  if (port.empty() || port.size() > 6 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return std::unexpected(kForm + ", got '" + std::string(text) + "'");
  }
  const int value = std::stoi(std::string(port));
  if (value > 65535) {
    return std::unexpected("port " + std::to_string(value) + " is out of range (0-65535)");
  }
  return std::pair{host, static_cast<std::uint16_t>(value)};
}

bool isProviderName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

// RFC 9110 token.
bool isHeaderName(std::string_view name) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kExtra.find(c) != std::string_view::npos;
  });
}

std::string_view schemeOf(std::string_view url) {
  const std::size_t sep = url.find("://");
  return sep == std::string_view::npos ? std::string_view() : url.substr(0, sep);
}

// The loader walks the YAML tree once, recording the first error.

// A value in the tree with what it takes to report an error about it.
struct Field {
  YAML::Node node;
  std::string path;  // "providers[0].kind"; empty for the document itself
  int line = 0;      // 1-based; 0 when unknown
};

struct Entry {
  std::string key;
  int key_line = 0;
  Field value;
};

class Fields {
 public:
  const Field* find(std::string_view key) const {
    for (const Entry& e : entries_) {
      if (e.key == key) return &e.value;
    }
    return nullptr;
  }
  const std::vector<Entry>& entries() const { return entries_; }
  void add(Entry e) { entries_.push_back(std::move(e)); }

 private:
  std::vector<Entry> entries_;
};

int lineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

std::string childPath(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

// A public model name (alias or route) and where it was declared.
struct PublicName {
  std::string what;  // "alias of openai/gpt-4o-mini", "route fast"
  std::string path;
  int line = 0;
};

class Loader {
 public:
  explicit Loader(std::string_view source) : source_(source) {}

  Result<Config> load(std::string_view yaml);

 private:
  // Error reporting: `source:line: path: message`; always returns false.
  bool fail(int line, std::string_view path, std::string_view message);
  bool fail(const Field& f, std::string_view message) { return fail(f.line, f.path, message); }

  // Structure.
  [[nodiscard]] bool mapping(const Field& f, Names allowed, Fields& out);
  [[nodiscard]] bool anyMapping(const Field& f, Fields& out);
  [[nodiscard]] bool sequence(const Field& f, std::vector<Field>& out);
  [[nodiscard]] bool required(const Field& parent, const Fields& m, std::string_view key,
                              const Field*& out);

  // Scalars; the `key` overloads leave `out` alone when the key is absent.
  [[nodiscard]] bool string(const Field& f, std::string& out);
  [[nodiscard]] bool string(const Fields& m, std::string_view key, std::string& out);
  [[nodiscard]] bool integer(const Fields& m, std::string_view key, std::int64_t min,
                             std::int64_t max, std::int64_t& out);
  [[nodiscard]] bool integer(const Fields& m, std::string_view key, int min, int max, int& out);
  [[nodiscard]] bool size(const Fields& m, std::string_view key, std::size_t& out);
  [[nodiscard]] bool duration(const Fields& m, std::string_view key, bool zero_ok, Millis& out);
  [[nodiscard]] bool boolean(const Fields& m, std::string_view key, bool& out);
  // A retention age: a duration, or days ("30d"), which other durations have no use for; 0 ok.
  [[nodiscard]] bool age(const Fields& m, std::string_view key, Millis& out);
  // A number from 0 to `max` (prices); absent leaves `out` alone.
  [[nodiscard]] bool number(const Fields& m, std::string_view key, double max, double& out) {
    const Field* f = m.find(key);
    return f == nullptr || real(*f, 0, max, out);
  }
  [[nodiscard]] bool oneOf(const Fields& m, std::string_view key, std::string_view what,
                           Names options, std::string& out);

  // Sections.
  [[nodiscard]] bool loadServer(const Field& f, ServerConfig& out);
  [[nodiscard]] bool loadLog(const Field& f, LogConfig& out);
  [[nodiscard]] bool loadStorage(const Field& f, std::string& url);
  [[nodiscard]] bool loadProviders(const Field& f, std::vector<ProviderConfig>& out);
  [[nodiscard]] bool loadProvider(const Field& f, ProviderConfig& out);
  [[nodiscard]] bool loadHeaders(const Field& f, ProviderConfig& out);
  [[nodiscard]] bool loadModel(const Field& f, const ProviderConfig& provider, bool local,
                               ModelConfig& out);
  [[nodiscard]] bool loadLocalModel(const Field& f, const Fields& m, ModelConfig& out);
  // `auto`, `all` or a layer count (-1 also means all).
  [[nodiscard]] bool gpuLayers(const Fields& m, int& out);
  [[nodiscard]] bool loadLora(const Field& f, std::vector<LocalLoraConfig>& out);
  [[nodiscard]] bool loadRoutes(const Field& f, const Config& config,
                                std::vector<RouteConfig>& out);
  [[nodiscard]] bool loadTarget(const Field& f, const Config& config, std::string& provider,
                                std::string& model);
  [[nodiscard]] bool loadCandidate(const Field& f, const Config& config, CandidateConfig& out);
  [[nodiscard]] bool loadRetry(const Field& f, RetryConfig& out);
  [[nodiscard]] bool loadCascade(const Field& f, std::vector<CascadeCheck>& out);
  [[nodiscard]] bool loadRouting(const Field& f, RoutingConfig& out);
  [[nodiscard]] bool loadSignalRules(const Field& f, std::vector<SignalRule>& out);
  [[nodiscard]] bool loadTaskClassifier(const Field& f, TaskClassifierConfig& out);
  [[nodiscard]] bool loadTaskExamplesFile(const Field& f, TaskClassifierConfig& out);
  [[nodiscard]] bool stringList(const Field& f, std::vector<std::string>& out);
  [[nodiscard]] bool corsOrigins(const Fields& m, std::vector<std::string>& out);
  [[nodiscard]] bool proxies(const Fields* m, http::ProxySettings& out);
  [[nodiscard]] bool real(const Field& f, double min, double max, double& out);
  [[nodiscard]] bool loadRag(const Field& f, RagConfig& out);
  [[nodiscard]] bool loadRagRoutes(const Field& f, RagConfig& out);
  [[nodiscard]] bool loadRagCollections(const Field& f, RagConfig& out);
  [[nodiscard]] bool loadRagRerank(const Field& f, RagRerankConfig& out);
  [[nodiscard]] bool checkPublicName(int line, const std::string& path, const std::string& name,
                                     std::string_view kind, const Config& config);
  [[nodiscard]] bool checkAliases(const Config& config);
  [[nodiscard]] bool loadPrices(const Field& f, const Config& config,
                                std::vector<PriceConfig>& out);
  [[nodiscard]] bool loadTelemetry(const Field& f, const Config& config, TelemetryConfig& out);
  [[nodiscard]] bool loadTraces(const Field& f, TracesConfig& out);
  [[nodiscard]] bool loadStringMap(const Field& f, bool secret_values,
                                   std::map<std::string, std::string>& out);
  [[nodiscard]] bool loadDashboard(const Field& f, DashboardConfig& out);
  // Governance: admin key, auth, limits, guard (issue 6).
  [[nodiscard]] bool loadAuth(const Field& f, AuthConfig& out);
  [[nodiscard]] bool loadResponses(const Field& f, ResponsesConfig& out);
  [[nodiscard]] bool loadCache(const Field& f, CacheConfig& out);
  [[nodiscard]] bool redisUrl(const Fields& m, RedisConfig& out);
  [[nodiscard]] bool loadLimits(const Field& f, LimitsConfig& out);
  [[nodiscard]] bool loadGuard(const Field& f, GuardConfig& out);
  [[nodiscard]] bool loadGuardDetector(const Field& f, GuardDetectorConfig& out);
  [[nodiscard]] bool loadGuardPolicy(const Field& f, const GuardConfig& guard, GuardPolicy& out);
  [[nodiscard]] bool loadGuardPolicies(const Field& f, const GuardConfig& guard,
                                       std::map<std::string, GuardPolicy>& out);

  std::string source_;
  Status error_;
  std::map<std::string, PublicName> public_names_;           // aliases and routes
  std::map<std::string, std::pair<std::string, int>> models_;  // model name -> (owner, line)
};

bool Loader::fail(int line, std::string_view path, std::string_view message) {
  std::string text = source_;
  if (line > 0) text += ":" + std::to_string(line);
  text += ": ";
  if (!path.empty()) {
    text += path;
    text += ": ";
  }
  text += message;
  error_ = Status(ErrorCode::kInvalidArgument, std::move(text)).withParam(std::string(path));
  return false;
}

bool Loader::anyMapping(const Field& f, Fields& out) {
  if (f.node.IsNull()) return true;  // `server:` with nothing under it: all defaults
  if (!f.node.IsMap()) {
    return fail(f, "expected a mapping (key: value lines), got " + describe(f.node));
  }
  std::map<std::string, int> seen;
  // Copies, not references: the iterator's pair is a temporary proxy.
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    const YAML::Node key = it->first;
    const int key_line = lineOf(key);
    if (!key.IsScalar()) return fail(key_line, f.path, "keys must be plain strings");
    const std::string name = key.Scalar();
    if (auto [pos, inserted] = seen.emplace(name, key_line); !inserted) {
      return fail(key_line, childPath(f.path, name),
                  "duplicate key (first on line " + std::to_string(pos->second) + ")");
    }
    // Scalars and empty values are reported at their key; block mappings and lists at their
    // own first line.
    const YAML::Node value = it->second;
    const bool own_line = (value.IsMap() || value.IsSequence()) && lineOf(value) > 0;
    out.add({name, key_line,
             Field{value, childPath(f.path, name), own_line ? lineOf(value) : key_line}});
  }
  return true;
}

bool Loader::mapping(const Field& f, Names allowed, Fields& out) {
  if (!anyMapping(f, out)) return false;
  for (const Entry& e : out.entries()) {
    if (contains(allowed, e.key)) continue;
    std::string message = "unknown key '" + e.key + "' " +
                          (f.path.empty() ? std::string("at top level") : "in " + f.path);
    if (auto guess = closest(e.key, allowed)) {
      message += " (did you mean '" + std::string(*guess) + "'?)";
    } else {
      message += " (valid keys: " + join(allowed) + ")";
    }
    fail(e.key_line, "", message);
    error_.withParam(e.value.path);  // the unknown key's own path, though the message has none
    return false;
  }
  return true;
}

bool Loader::sequence(const Field& f, std::vector<Field>& out) {
  if (f.node.IsNull()) return true;
  if (!f.node.IsSequence()) return fail(f, "expected a list, got " + describe(f.node));
  std::size_t i = 0;
  for (auto it = f.node.begin(); it != f.node.end(); ++it, ++i) {
    const int line = lineOf(*it);
    out.push_back(Field{*it, f.path + "[" + std::to_string(i) + "]", line > 0 ? line : f.line});
  }
  return true;
}

bool Loader::required(const Field& parent, const Fields& m, std::string_view key,
                      const Field*& out) {
  out = m.find(key);
  if (out == nullptr) return fail(parent, "missing required key '" + std::string(key) + "'");
  return true;
}

bool Loader::string(const Field& f, std::string& out) {
  if (f.node.IsNull()) {
    out.clear();
    return true;
  }
  if (!f.node.IsScalar()) return fail(f, "expected a string, got " + describe(f.node));
  auto expanded = expandEnv(f.node.Scalar());
  if (!expanded) return fail(f, expanded.error());
  out = std::move(*expanded);
  return true;
}

bool Loader::string(const Fields& m, std::string_view key, std::string& out) {
  const Field* f = m.find(key);
  return f == nullptr || string(*f, out);
}

bool Loader::integer(const Fields& m, std::string_view key, std::int64_t min, std::int64_t max,
                     std::int64_t& out) {
  const Field* f = m.find(key);
  if (f == nullptr) return true;
  std::string text;
  if (!string(*f, text)) return false;
  const auto value = parseInt(trimSpace(text));
  if (!value) return fail(*f, "expected an integer, got '" + text + "'");
  if (*value < min || *value > max) {
    if (min == 0 && *value < 0) return fail(*f, "must not be negative, got " + text);
    if (min == 1 && *value < 1) return fail(*f, "must be greater than 0, got " + text);
    return fail(*f, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", got " + text);
  }
  out = *value;
  return true;
}

bool Loader::integer(const Fields& m, std::string_view key, int min, int max, int& out) {
  std::int64_t value = out;
  if (!integer(m, key, std::int64_t{min}, std::int64_t{max}, value)) return false;
  out = static_cast<int>(value);
  return true;
}

bool Loader::size(const Fields& m, std::string_view key, std::size_t& out) {
  const Field* f = m.find(key);
  if (f == nullptr) return true;
  std::string text;
  if (!string(*f, text)) return false;
  auto value = parseSize(text);
  if (!value) return fail(*f, value.error());
  if (*value == 0) return fail(*f, "must be greater than 0");
  out = static_cast<std::size_t>(*value);
  return true;
}

bool Loader::duration(const Fields& m, std::string_view key, bool zero_ok, Millis& out) {
  const Field* f = m.find(key);
  if (f == nullptr) return true;
  std::string text;
  if (!string(*f, text)) return false;
  auto value = parseDuration(text);
  if (!value) return fail(*f, value.error());
  if (!zero_ok && value->count() == 0) return fail(*f, "must be greater than 0");
  out = *value;
  return true;
}

bool Loader::age(const Fields& m, std::string_view key, Millis& out) {
  const Field* f = m.find(key);
  if (f == nullptr) return true;
  std::string text;
  if (!string(*f, text)) return false;
  const std::string_view t = trimSpace(text);
  std::int64_t days = 0;
  if (t.size() > 1 && t.back() == 'd' &&
      std::from_chars(t.data(), t.data() + t.size() - 1, days).ptr == t.data() + t.size() - 1) {
    if (days < 0 || days > 100'000) return fail(*f, "must be between 0d and 100000d");
    out = Millis(days * 24 * 3600 * 1000);
  } else if (auto value = parseDuration(text)) {
    out = *value;
  } else {
    return fail(*f, value.error() + " (or days, e.g. 30d)");
  }
  return true;
}

bool Loader::boolean(const Fields& m, std::string_view key, bool& out) {
  const Field* f = m.find(key);
  if (f == nullptr) return true;
  std::string text;
  if (!string(*f, text)) return false;
  const auto value = parseBool(text);
  if (!value) return fail(*f, "expected true or false, got '" + text + "'");
  out = *value;
  return true;
}

bool Loader::oneOf(const Fields& m, std::string_view key, std::string_view what, Names options,
                   std::string& out) {
  const Field* f = m.find(key);
  if (f == nullptr) return true;
  std::string text;
  if (!string(*f, text)) return false;
  if (!contains(options, text)) {
    return fail(*f, "unknown " + std::string(what) + " '" + text + "' (expected one of: " +
                        join(options) + ")");
  }
  out = std::move(text);
  return true;
}

bool Loader::loadServer(const Field& f, ServerConfig& out) {
  Fields m;
  if (!mapping(f, kServerKeys, m)) return false;
  if (const Field* listen = m.find("listen")) {
    std::string text;
    if (!string(*listen, text)) return false;
    auto parsed = parseListen(text);
    if (!parsed) return fail(*listen, parsed.error());
    out.host = std::move(parsed->first);
    out.port = parsed->second;
  }
  return integer(m, "workers", 0, kMaxWorkers, out.workers) &&
         size(m, "max_body_bytes", out.max_body_bytes) &&
         size(m, "max_header_bytes", out.max_header_bytes) &&
         integer(m, "max_connections", 1, std::numeric_limits<int>::max(), out.max_connections) &&
         duration(m, "header_timeout", false, out.header_timeout) &&
         duration(m, "idle_timeout", false, out.idle_timeout) &&
         duration(m, "request_timeout", false, out.request_timeout) &&
         duration(m, "drain_timeout", true, out.drain_timeout) &&
         integer(m, "busy_poll_us", 0, kMaxBusyPollUs, out.busy_poll_us) &&
         corsOrigins(m, out.cors_origins) && proxies(&m, out.proxy);
}

// server.https_proxy, http_proxy and no_proxy; each one absent takes the environment's
// variable (lower case first, as curl). `m` is null when the config has no server section.
bool Loader::proxies(const Fields* m, http::ProxySettings& out) {
  struct Setting {
    std::string_view key;
    const char* env[2];
    std::string value;
    std::string what;
    const Field* field = nullptr;
  };
  Setting settings[] = {{"https_proxy", {"https_proxy", "HTTPS_PROXY"}, {}, {}},
                        {"http_proxy", {"http_proxy", "HTTP_PROXY"}, {}, {}},
                        {"no_proxy", {"no_proxy", "NO_PROXY"}, {}, {}}};
  for (Setting& s : settings) {
    s.field = m != nullptr ? m->find(s.key) : nullptr;
    if (s.field != nullptr) {
      if (!string(*s.field, s.value)) return false;
      s.what = "server." + std::string(s.key);
      continue;
    }
    for (const char* name : s.env) {
      if (const char* v = std::getenv(name); v != nullptr && *v != 0) {
        s.value = v;
        s.what = std::string(name) + " (environment)";
        break;
      }
    }
  }
  auto parsed = http::ProxySettings::parse(settings[0].value, settings[1].value, settings[2].value,
                                           settings[0].what, settings[1].what);
  if (!parsed) {
    const std::string& message = parsed.error().message();
    for (const Setting& s : settings) {
      if (s.field != nullptr && message.starts_with(s.what + ": ")) {
        return fail(*s.field, message.substr(s.what.size() + 2));
      }
    }
    return fail(0, "", message);
  }
  out = std::move(*parsed);
  return true;
}

// `server.cors_origins`: each entry "*", "scheme://host[:port]" or "scheme://host:*".
bool Loader::corsOrigins(const Fields& m, std::vector<std::string>& out) {
  const Field* f = m.find("cors_origins");
  if (f == nullptr) return true;
  std::vector<Field> items;
  if (f->node.IsScalar()) {
    items.push_back(*f);
  } else if (!sequence(*f, items)) {
    return false;
  }
  out.clear();
  for (const Field& item : items) {
    std::string origin;
    if (!item.node.IsScalar() || !string(item, origin)) {
      return fail(item, "expected an origin string, got " + describe(item.node));
    }
    const auto scheme_end = origin.find("://");
    std::string_view host;
    if (scheme_end != std::string::npos && scheme_end > 0) {
      host = std::string_view(origin).substr(scheme_end + 3);
      if (host.ends_with(":*")) host.remove_suffix(2);
    }
    const bool scheme_ok =
        scheme_end != std::string::npos && scheme_end > 0 &&
        std::all_of(
            origin.begin(), origin.begin() + static_cast<std::ptrdiff_t>(scheme_end),
            [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; });
    const bool host_ok =
        !host.empty() && std::none_of(host.begin(), host.end(), [](unsigned char c) {
          return c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '*' || c == ',';
        });
    if (origin != "*" && !(scheme_ok && host_ok)) {
      return fail(item, "'" + origin +
                            "' is not an origin: use '*', scheme://host[:port] (no path), or "
                            "scheme://host:* for any port, e.g. https://app.example.com or "
                            "http://localhost:*");
    }
    out.push_back(std::move(origin));
  }
  return true;
}

bool Loader::loadLog(const Field& f, LogConfig& out) {
  Fields m;
  return mapping(f, kLogKeys, m) && oneOf(m, "level", "log level", kLogLevels, out.level) &&
         oneOf(m, "format", "log format", kLogFormats, out.format) &&
         string(m, "file", out.file) && boolean(m, "access_log", out.access_log);
}

// redis://[[user]:password@]host[:port][/db]. Errors never repeat the URL (it may hold a
// password).
std::expected<RedisConfig, std::string> parseRedisUrl(const std::string& text) {
  const std::string_view scheme = schemeOf(text);
  if (scheme == "rediss") {
    return std::unexpected(
        "rediss:// (TLS) is not supported; use redis:// on a trusted network or a local TLS "
        "tunnel (stunnel, spiped)");
  }
  if (scheme != "redis") {
    return std::unexpected("expected a URL redis://[:password@]host[:port][/db]");
  }
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed || parsed->encoded_host().empty()) {
    return std::unexpected("expected a URL redis://[:password@]host[:port][/db] with a host");
  }
  RedisConfig out;
  out.url = text;
  out.host = parsed->host_address();
  if (parsed->has_port()) {
    const std::string_view port = parsed->port();
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return std::unexpected("the port must be a number from 1 to 65535");
    }
    out.port = value;
  }
  if (parsed->has_userinfo()) {
    out.username = parsed->user();
    out.password = parsed->password();
  }
  std::string_view path = parsed->encoded_path();
  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) {
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), out.db);
    if (ec != std::errc() || end != path.data() + path.size() || out.db < 0) {
      return std::unexpected("the path must be a database number (redis://host:6379/0)");
    }
  }
  if (parsed->has_query() || parsed->has_fragment()) {
    return std::unexpected("a redis:// URL takes no query or fragment");
  }
  return out;
}

bool Loader::loadStorage(const Field& f, std::string& url) {
  Fields m;
  if (!mapping(f, kStorageKeys, m)) return false;
  const Field* field = m.find("url");
  if (field == nullptr) return true;
  std::string text;
  if (!string(*field, text)) return false;
  // Never echo the URL itself: a postgres URL may carry a password.
  const std::string_view scheme = schemeOf(text);
  if (scheme == "sqlite") {
    if (text.size() == std::string_view("sqlite://").size()) {
      return fail(*field, "sqlite:// needs a file path, e.g. sqlite://switchyard.db");
    }
  } else if (scheme == "postgres" || scheme == "postgresql") {
    if (text.size() == scheme.size() + 3) {
      return fail(*field, "postgres:// needs a host or connection parameters");
    }
  } else if (scheme.empty()) {
    return fail(*field, "expected a URL: sqlite://PATH or postgres://...");
  } else {
    return fail(*field, "unsupported storage scheme '" + std::string(scheme) +
                            "' (expected sqlite:// or postgres://)");
  }
  url = std::move(text);
  return true;
}

bool Loader::loadProviders(const Field& f, std::vector<ProviderConfig>& out) {
  std::vector<Field> items;
  if (!sequence(f, items)) return false;
  std::map<std::string, int> names;
  for (const Field& item : items) {
    ProviderConfig provider;
    if (!loadProvider(item, provider)) return false;
    if (auto [pos, inserted] = names.emplace(provider.name, provider.line); !inserted) {
      return fail(item.line, item.path + ".name",
                  "duplicate provider name '" + provider.name + "' (first declared on line " +
                      std::to_string(pos->second) + ")");
    }
    out.push_back(std::move(provider));
  }
  return true;
}

bool Loader::loadProvider(const Field& f, ProviderConfig& out) {
  Fields m;
  if (f.node.IsNull() || !f.node.IsMap()) {
    return fail(f, "expected a provider (a mapping with name, kind, base_url, ...), got " +
                       describe(f.node));
  }
  if (!mapping(f, kProviderKeys, m)) return false;
  out.line = f.line;

  const Field* name = nullptr;
  if (!required(f, m, "name", name) || !string(*name, out.name)) return false;
  if (!isProviderName(out.name)) {
    return fail(*name, "invalid provider name '" + out.name +
                           "' (use lowercase letters, digits, '_', '.' and '-')");
  }

  const Field* kind = nullptr;
  if (!required(f, m, "kind", kind) || !string(*kind, out.kind)) return false;
  const ProviderKind* known = nullptr;
  for (const ProviderKind& k : kProviderKinds) {
    if (k.name == out.kind) known = &k;
  }
  if (known == nullptr) {
    std::vector<std::string_view> kinds;
    for (const ProviderKind& k : kProviderKinds) kinds.push_back(k.name);
    return fail(*kind, "unknown provider kind '" + out.kind + "' (expected one of: " +
                           join(kinds) + ")");
  }
  const bool local = known->in_process;
  for (const Entry& e : m.entries()) {
    if (local && contains(kHttpProviderKeys, e.key)) {
      return fail(e.key_line, e.value.path,
                  "not used by kind '" + out.kind + "' (it runs models in this process)");
    }
    if (!local && contains(kLocalProviderKeys, e.key)) {
      return fail(e.key_line, e.value.path,
                  "only for kind 'local' (in-process models), not '" + out.kind + "'");
    }
  }
  if (const Field* version = m.find("api_version")) {
    if (out.kind != "azure") {
      return fail(*version, "only for kind 'azure' (Azure OpenAI), not '" + out.kind + "'");
    }
    if (!string(*version, out.api_version)) return false;
    const bool ok = !out.api_version.empty() &&
                    std::all_of(out.api_version.begin(), out.api_version.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
                    });
    if (!ok) return fail(*version, "expected an API version such as 2024-10-21");
  } else if (out.kind == "azure") {
    return fail(f, "kind 'azure' needs 'api_version' (e.g. 2024-10-21)");
  }
  if (local) {
    out.locality = "on_prem";  // the default: data never leaves this machine
    if (!integer(m, "threads", 0, 1024, out.local.threads) ||
        !integer(m, "max_loaded", 1, 1024, out.local.max_loaded) ||
        !duration(m, "idle_unload", true, out.local.idle_unload)) {
      return false;
    }
  }

  if (local) {
    // Nothing to reach over the network.
  } else if (const Field* url = m.find("base_url")) {
    if (!string(*url, out.base_url)) return false;
    // Echo only the scheme: a URL may carry credentials.
    const std::string_view scheme = schemeOf(out.base_url);
    if (scheme != "http" && scheme != "https") {
      return fail(*url, scheme.empty() ? std::string("must start with http:// or https://")
                                       : "must start with http:// or https://, got scheme '" +
                                             std::string(scheme) + "'");
    }
    const std::string_view rest = std::string_view(out.base_url).substr(scheme.size() + 3);
    if (rest.empty() || rest.front() == '/' || rest.front() == ':' || rest.front() == '?') {
      return fail(*url, "URL has no host");
    }
    if (hasSpaceOrControl(out.base_url)) return fail(*url, "URL contains spaces");
    while (out.base_url.ends_with('/')) out.base_url.pop_back();
  } else if (!known->default_base_url.empty()) {
    out.base_url = known->default_base_url;
  } else {
    return fail(f, "missing required key 'base_url'");
  }

  if (!string(m, "api_key", out.api_key)) return false;

  if (const Field* locality = m.find("locality")) {
    if (!string(*locality, out.locality)) return false;
    const std::string_view l = out.locality;
    const bool region_ok =
        l.starts_with("cloud:") && l.size() > 6 &&
        std::all_of(l.begin() + 6, l.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        });
    if (l != "on_prem" && l != "cloud" && !region_ok) {
      return fail(*locality, "invalid locality '" + out.locality +
                                 "' (expected on_prem, cloud or cloud:<region>)");
    }
  }

  if (const Field* headers = m.find("headers")) {
    if (!loadHeaders(*headers, out)) return false;
  }

  if (const Field* timeouts = m.find("timeouts")) {
    Fields t;
    if (!mapping(*timeouts, kTimeoutKeys, t) ||
        !duration(t, "connect", false, out.timeouts.connect) ||
        !duration(t, "first_byte", false, out.timeouts.first_byte) ||
        !duration(t, "idle", false, out.timeouts.idle)) {
      return false;
    }
  }

  if (const Field* models = m.find("models")) {
    std::vector<Field> items;
    if (!sequence(*models, items)) return false;
    std::map<std::string, int> seen;
    for (const Field& item : items) {
      ModelConfig model;
      if (!loadModel(item, out, local, model)) return false;
      if (auto [pos, inserted] = seen.emplace(model.name, item.line); !inserted) {
        return fail(item, "duplicate model '" + model.name + "' (first declared on line " +
                              std::to_string(pos->second) + ")");
      }
      out.models.push_back(std::move(model));
    }
  }
  if (local && out.models.empty()) {
    return fail(f, "a 'local' provider needs at least one model with a 'path' to a GGUF file");
  }
  return true;
}

bool Loader::loadHeaders(const Field& f, ProviderConfig& out) {
  Fields m;
  if (!anyMapping(f, m)) return false;
  std::set<std::string> seen;
  for (const Entry& e : m.entries()) {
    const std::string folded = asciiLower(e.key);
    if (!isHeaderName(e.key)) {
      return fail(e.value, "invalid header name '" + e.key + "'");
    }
    if (!seen.insert(folded).second) {
      return fail(e.value, "header '" + e.key + "' is set twice (names ignore case)");
    }
    if (contains(kReservedHeaders, folded)) {
      return fail(e.value, "header '" + e.key + "' is set by the gateway and cannot be configured");
    }
    // Values are never echoed: they are often credentials.
    std::string value;
    if (!string(e.value, value)) return false;
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return fail(e.value, "header value contains a line break or NUL");
    }
    if (folded == "authorization" && !out.api_key.empty()) {
      return fail(e.value, "an Authorization header conflicts with api_key (set one of them)");
    }
    out.headers[e.key] = std::move(value);
  }
  return true;
}

bool Loader::loadModel(const Field& f, const ProviderConfig& provider, bool local,
                       ModelConfig& out) {
  const Field* name = &f;
  Fields m;
  if (local && !f.node.IsMap()) {
    return fail(f, "a local model is a mapping with at least name and path, got " +
                       describe(f.node));
  }
  if (!f.node.IsScalar()) {
    if (!f.node.IsMap()) {
      return fail(f, "expected a model name or a mapping with name, aliases, context_window, got " +
                         describe(f.node));
    }
    if (!mapping(f, kModelKeys, m) || !required(f, m, "name", name)) return false;
  }
  if (!string(*name, out.name)) return false;
  if (out.name.empty() || hasSpaceOrControl(out.name)) {
    return fail(*name, "model name must be non-empty and contain no spaces");
  }
  const std::string owner = provider.name + "/" + out.name;
  models_.try_emplace(out.name, owner, name->line);
  for (const Entry& e : m.entries()) {
    if (!local && contains(kLocalModelKeys, e.key)) {
      return fail(e.key_line, e.value.path,
                  "only for models of kind 'local' providers, not '" + provider.kind + "'");
    }
  }

  if (!integer(m, "context_window", std::int64_t{0}, std::numeric_limits<std::int64_t>::max(),
               out.context_window)) {
    return false;
  }
  if (local && !loadLocalModel(f, m, out)) return false;
  if (const Field* rerank = m.find("rerank")) {
    if (provider.kind != "openai") {
      return fail(*rerank, "only for models of kind 'openai' providers (an OpenAI-compatible "
                           "server with /rerank); a local reranker GGUF is marked "
                           "'embeddings: true'");
    }
    if (!boolean(m, "rerank", out.rerank)) return false;
  }
  if (const Field* caps = m.find("capabilities")) {
    if (!stringList(*caps, out.capabilities)) return false;
    for (const std::string& c : out.capabilities) {
      if (!contains(kCapabilities, c)) {
        return fail(*caps, "unknown capability '" + c + "' (expected any of: " +
                               join(kCapabilities) + ")");
      }
    }
  }
  if (const Field* aliases = m.find("aliases")) {
    std::vector<Field> items;
    if (!sequence(*aliases, items)) return false;
    for (const Field& item : items) {
      std::string alias;
      if (!item.node.IsScalar()) return fail(item, "expected a string, got " + describe(item.node));
      if (!string(item, alias)) return false;
      if (alias.empty() || hasSpaceOrControl(alias)) {
        return fail(item, "alias must be non-empty and contain no spaces");
      }
      if (alias == out.name) continue;  // harmless; the model is reachable by its name anyway
      if (auto it = public_names_.find(alias); it != public_names_.end()) {
        return fail(item, "alias '" + alias + "' is already the " + it->second.what + " (line " +
                              std::to_string(it->second.line) + ")");
      }
      public_names_.emplace(alias, PublicName{"alias of " + owner, item.path, item.line});
      out.aliases.push_back(std::move(alias));
    }
  }
  return true;
}

bool Loader::gpuLayers(const Fields& m, int& out) {
  const Field* f = m.find("gpu_layers");
  if (f == nullptr) return true;
  std::string text;
  if (!string(*f, text)) return false;
  const std::string_view word = trimSpace(text);
  if (word == "auto") {
    out = LocalModelConfig::kGpuLayersAuto;
    return true;
  }
  if (word == "all") {
    out = LocalModelConfig::kGpuLayersAll;
    return true;
  }
  const auto value = parseInt(word);
  if (!value || *value < -1 || *value > 100'000) {
    return fail(*f, "expected auto, all or a number of layers (0 to 100000), got '" + text + "'");
  }
  out = static_cast<int>(*value);
  return true;
}

bool Loader::loadLocalModel(const Field& f, const Fields& m, ModelConfig& out) {
  LocalModelConfig& local = out.local;
  const Field* path = nullptr;
  if (!required(f, m, "path", path) || !string(*path, local.path)) return false;
  if (local.path.empty()) return fail(*path, "must name a GGUF file");
  // The file itself is checked when the provider starts, so `config check` works anywhere.
  if (!integer(m, "context", 16, 1 << 24, local.context) ||
      !integer(m, "parallel", 1, 256, local.parallel) ||
      !integer(m, "batch", 1, 1 << 16, local.batch) || !gpuLayers(m, local.gpu_layers) ||
      !integer(m, "max_queue", 0, 1'000'000, local.max_queue) ||
      !boolean(m, "embeddings", local.embeddings) ||
      !string(m, "chat_template", local.chat_template) || !boolean(m, "preload", local.preload) ||
      !boolean(m, "share_prefixes", local.share_prefixes) ||
      !boolean(m, "park_idle", local.park_idle)) {
    return false;
  }
  if (const Field* cache = m.find("host_cache")) {
    std::string text;
    if (!string(*cache, text)) return false;
    if (trimSpace(text) == "0") {
      local.host_cache_bytes = 0;
    } else {
      auto value = parseSize(text);
      if (!value) return fail(*cache, value.error());
      local.host_cache_bytes = static_cast<std::size_t>(*value);
    }
  }
  if (const Field* lora = m.find("lora"); lora != nullptr && !loadLora(*lora, local.lora)) {
    return false;
  }
  if (const Field* window = m.find("context_window")) {
    if (out.context_window > local.context) {
      return fail(*window, "context_window " + std::to_string(out.context_window) +
                               " is larger than the engine context " +
                               std::to_string(local.context) + " (set 'context' instead)");
    }
  } else {
    out.context_window = local.context;
  }
  return true;
}

// `lora:` is a list of {name, path, scale}; names are unique within the model and are what a
// request's `lora` field (or a `<model>+<name>` model id) chooses.
bool Loader::loadLora(const Field& f, std::vector<LocalLoraConfig>& out) {
  std::vector<Field> items;
  if (!sequence(f, items)) return false;
  for (const Field& item : items) {
    Fields m;
    const Field* name = nullptr;
    const Field* path = nullptr;
    if (!item.node.IsMap()) {
      return fail(item, "a LoRA adapter is a mapping with name, path and optional scale, got " +
                            describe(item.node));
    }
    if (!mapping(item, kLoraKeys, m) || !required(item, m, "name", name) ||
        !required(item, m, "path", path)) {
      return false;
    }
    LocalLoraConfig lora;
    if (!string(*name, lora.name) || !string(*path, lora.path)) return false;
    if (lora.name.empty() || hasSpaceOrControl(lora.name) ||
        lora.name.find_first_of("+,") != std::string::npos) {
      return fail(*name, "LoRA name must be non-empty, without spaces, '+' or ','");
    }
    for (const LocalLoraConfig& other : out) {
      if (other.name == lora.name) return fail(*name, "LoRA '" + lora.name + "' is declared twice");
    }
    if (lora.path.empty()) return fail(*path, "must name a LoRA adapter GGUF file");
    if (const Field* scale = m.find("scale")) {
      std::string text;
      if (!string(*scale, text)) return false;
      const std::string t(trimSpace(text));
      char* end = nullptr;
      const double v = t.empty() ? NAN : std::strtod(t.c_str(), &end);
      if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v) || std::fabs(v) > 100) {
        return fail(*scale, "expected a number between -100 and 100, got '" + text + "'");
      }
      lora.scale = static_cast<float>(v);
    }
    out.push_back(std::move(lora));
  }
  return true;
}

// An alias or route name must mean one thing: not another alias or route, and not a
// "provider/..." name that explicit addressing already owns.
bool Loader::checkPublicName(int line, const std::string& path, const std::string& name,
                             std::string_view kind, const Config& config) {
  if (const std::size_t slash = name.find('/'); slash != std::string::npos) {
    const std::string prefix = name.substr(0, slash);
    for (const ProviderConfig& p : config.providers) {
      if (p.name == prefix) {
        return fail(line, path,
                    std::string(kind) + " '" + name +
                        "' would shadow the explicit provider/model name of provider '" +
                        prefix + "'");
      }
    }
  }
  if (auto it = public_names_.find(name); it != public_names_.end()) {
    return fail(line, path,
                std::string(kind) + " '" + name + "' is already the " + it->second.what +
                    " (line " + std::to_string(it->second.line) + ")");
  }
  return true;
}

// Runs once all providers are known. Alias-vs-alias clashes were caught while loading.
bool Loader::checkAliases(const Config& config) {
  for (const ProviderConfig& p : config.providers) {
    for (const ModelConfig& model : p.models) {
      for (const std::string& alias : model.aliases) {
        const PublicName& declared = public_names_.at(alias);
        if (const std::size_t slash = alias.find('/'); slash != std::string::npos) {
          const std::string prefix = alias.substr(0, slash);
          for (const ProviderConfig& other : config.providers) {
            if (other.name == prefix) {
              return fail(declared.line, declared.path,
                          "alias '" + alias +
                              "' would shadow the explicit provider/model name of provider '" +
                              prefix + "'");
            }
          }
        }
        // "x" must not mean one model by alias and another by name.
        auto it = models_.find(alias);
        if (it != models_.end() && it->second.first != p.name + "/" + model.name) {
          return fail(declared.line, declared.path,
                      "alias '" + alias + "' is also the name of model " + it->second.first +
                          " (line " + std::to_string(it->second.second) + ")");
        }
      }
    }
  }
  return true;
}

bool Loader::loadTarget(const Field& f, const Config& config, std::string& provider,
                        std::string& model) {
  std::string text;
  if (!string(f, text)) return false;
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) {
    return fail(f, "expected PROVIDER/MODEL (e.g. openai/gpt-4o-mini), got '" + text + "'");
  }
  provider = text.substr(0, slash);
  model = text.substr(slash + 1);
  const bool provider_known =
      std::any_of(config.providers.begin(), config.providers.end(),
                  [&](const ProviderConfig& p) { return p.name == provider; });
  if (!provider_known) {
    std::vector<std::string_view> names;
    for (const ProviderConfig& p : config.providers) names.push_back(p.name);
    std::string hint;
    if (names.empty()) {
      hint = " (no providers are configured)";
    } else if (auto guess = closest(provider, names)) {
      hint = " (did you mean '" + std::string(*guess) + "'?)";
    } else {
      hint = " (providers: " + join(names) + ")";
    }
    return fail(f, "unknown provider '" + provider + "'" + hint);
  }
  if (hasSpaceOrControl(model)) return fail(f, "model id contains spaces");
  return true;
}

bool Loader::stringList(const Field& f, std::vector<std::string>& out) {
  if (f.node.IsScalar()) {  // one item may be written without brackets
    std::string item;
    if (!string(f, item)) return false;
    out.push_back(std::move(item));
    return true;
  }
  std::vector<Field> items;
  if (!sequence(f, items)) return false;
  for (const Field& item : items) {
    if (!item.node.IsScalar()) return fail(item, "expected a string, got " + describe(item.node));
    std::string text;
    if (!string(item, text)) return false;
    out.push_back(std::move(text));
  }
  return true;
}

bool Loader::real(const Field& f, double min, double max, double& out) {
  std::string text;
  if (!string(f, text)) return false;
  const std::string_view t = trimSpace(text);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(value)) {
    return fail(f, "expected a number, got '" + text + "'");
  }
  if (value < min || value > max) {
    std::ostringstream range;
    range << "must be between " << min << " and " << max << ", got " << text;
    return fail(f, range.str());
  }
  out = value;
  return true;
}

bool Loader::loadCandidate(const Field& f, const Config& config, CandidateConfig& out) {
  out.line = f.line;
  if (f.node.IsScalar()) return loadTarget(f, config, out.provider, out.model);
  if (!f.node.IsMap()) {
    return fail(f, "expected PROVIDER/MODEL or a mapping with target, got " + describe(f.node));
  }
  Fields m;
  const Field* target = nullptr;
  if (!mapping(f, kCandidateKeys, m) || !required(f, m, "target", target) ||
      !loadTarget(*target, config, out.provider, out.model)) {
    return false;
  }
  if (!integer(m, "weight", 0, 1'000'000, out.weight)) return false;
  if (!integer(m, "max_prompt_tokens", std::int64_t{0}, std::numeric_limits<std::int64_t>::max(),
               out.max_prompt_tokens)) {
    return false;
  }
  if (const Field* q = m.find("quality")) {
    if (q->node.IsScalar()) {
      double score = 0;
      if (!real(*q, 0.0, 1.0, score)) return false;
      out.quality["default"] = score;
    } else {
      Fields scores;
      if (!anyMapping(*q, scores)) return false;
      for (const Entry& e : scores.entries()) {
        double score = 0;
        if (!real(e.value, 0.0, 1.0, score)) return false;
        out.quality[e.key] = score;
      }
    }
  }
  if (const Field* t = m.find("tasks"); t && !stringList(*t, out.tasks)) return false;
  if (const Field* r = m.find("risk"); r && !stringList(*r, out.risk)) return false;
  return true;
}

bool Loader::loadRetry(const Field& f, RetryConfig& out) {
  Fields m;
  if (!mapping(f, kRetryKeys, m)) return false;
  if (!integer(m, "attempts", 1, 10, out.attempts)) return false;
  if (!duration(m, "backoff", true, out.backoff)) return false;
  if (!duration(m, "max_backoff", true, out.max_backoff)) return false;
  if (out.max_backoff < out.backoff) {
    return fail(f, "max_backoff must not be shorter than backoff");
  }
  return true;
}

bool Loader::loadCascade(const Field& f, std::vector<CascadeCheck>& out) {
  std::vector<Field> items;
  if (!sequence(f, items)) return false;
  for (const Field& item : items) {
    Fields m;
    if (!mapping(item, kCascadeKinds, m)) return false;
    if (m.entries().size() != 1) {
      return fail(item, "each cascade check has exactly one of: " + join(kCascadeKinds));
    }
    const Entry& e = m.entries().front();
    CascadeCheck check{e.key, ""};
    if (!string(e.value, check.value)) return false;
    if (check.kind == "min_chars") {
      std::int64_t n = 0;
      if (!integer(m, "min_chars", std::int64_t{1}, std::int64_t{1'000'000}, n)) return false;
      check.value = std::to_string(n);
    } else if (check.kind == "json_valid" || check.kind == "no_refusal") {
      bool on = true;
      if (!boolean(m, check.kind, on)) return false;
      if (!on) continue;
    } else if (check.kind == "regex") {
      RE2 re(check.value, RE2::Quiet);
      if (!re.ok()) return fail(e.value, "invalid regular expression: " + re.error());
    }
    out.push_back(std::move(check));
  }
  return true;
}

bool Loader::loadRoutes(const Field& f, const Config& config, std::vector<RouteConfig>& out) {
  std::vector<Field> items;
  if (!sequence(f, items)) return false;
  for (const Field& item : items) {
    if (item.node.IsNull() || !item.node.IsMap()) {
      return fail(item, "expected a route (a mapping with name and target or candidates), got " +
                            describe(item.node));
    }
    Fields m;
    if (!mapping(item, kRouteKeys, m)) return false;
    RouteConfig route;
    route.line = item.line;
    route.retry = config.routing.retry;
    const Field* name = nullptr;
    if (!required(item, m, "name", name) || !string(*name, route.name)) return false;
    if (route.name.empty() || hasSpaceOrControl(route.name)) {
      return fail(*name, "route name must be non-empty and contain no spaces");
    }
    for (const RouteConfig& earlier : out) {
      if (earlier.name == route.name) {
        return fail(*name, "duplicate route name '" + route.name + "' (first declared on line " +
                               std::to_string(earlier.line) + ")");
      }
    }
    if (!checkPublicName(name->line, name->path, route.name, "route name", config)) return false;

    const Field* target = m.find("target");
    const Field* candidates = m.find("candidates");
    if ((target == nullptr) == (candidates == nullptr)) {
      return fail(item, "a route needs either target (one PROVIDER/MODEL) or candidates (a list)");
    }
    if (target != nullptr) {
      CandidateConfig one;
      one.line = target->line;
      if (!loadTarget(*target, config, one.provider, one.model)) return false;
      route.provider = one.provider;
      route.model = one.model;
      route.candidates.push_back(std::move(one));
    } else {
      std::vector<Field> list;
      if (!sequence(*candidates, list)) return false;
      if (list.empty()) return fail(*candidates, "a route needs at least one candidate");
      for (const Field& c : list) {
        CandidateConfig candidate;
        if (!loadCandidate(c, config, candidate)) return false;
        route.candidates.push_back(std::move(candidate));
      }
    }
    if (!oneOf(m, "strategy", "strategy", kStrategies, route.strategy)) return false;
    if (!oneOf(m, "sensitive", "sensitive mode", kSensitiveModes, route.sensitive)) return false;
    if (const Field* l = m.find("locality")) {
      if (!stringList(*l, route.locality)) return false;
      for (const std::string& loc : route.locality) {
        if (loc != "on_prem" && loc != "cloud" && !loc.starts_with("cloud:")) {
          return fail(*l, "invalid locality '" + loc + "' (expected on_prem, cloud or cloud:REGION)");
        }
      }
    }
    if (const Field* q = m.find("quality_threshold")) {
      if (!real(*q, 0.0, 1.0, route.quality_threshold)) return false;
    }
    if (const Field* r = m.find("retry"); r && !loadRetry(*r, route.retry)) return false;
    if (const Field* c = m.find("cascade"); c && !loadCascade(*c, route.cascade)) return false;
    if (route.strategy == "cascade" && route.candidates.size() < 2) {
      return fail(item, "strategy cascade needs at least two candidates (cheap first)");
    }
    if (!duration(m, "timeout", true, route.timeout)) return false;
    if (!duration(m, "attempt_timeout", true, route.attempt_timeout)) return false;
    if (const Field* c = m.find("cache")) {
      std::string text;
      if (!string(*c, text)) return false;
      if (auto on = parseBool(text)) {
        route.cache = *on;
      } else if (auto ttl = parseDuration(text); ttl && ttl->count() > 0) {
        route.cache_ttl = *ttl;
      } else {
        return fail(*c, "expected true, false or how long answers are kept (e.g. 10m), got '" +
                            text + "'");
      }
    }
    public_names_.emplace(route.name, PublicName{"route " + route.name, name->path, name->line});
    out.push_back(std::move(route));
  }
  return true;
}

// ---- governance: admin key, auth, limits, guard --------------------------------------------

bool Loader::loadAuth(const Field& f, AuthConfig& out) {
  Fields m;
  return mapping(f, kAuthKeys, m) && boolean(m, "require_keys", out.require_keys) &&
         duration(m, "reload_interval", false, out.reload_interval);
}

bool Loader::loadResponses(const Field& f, ResponsesConfig& out) {
  Fields m;
  return mapping(f, kResponsesKeys, m) && boolean(m, "enabled", out.enabled) &&
         boolean(m, "store_by_default", out.store_by_default) && age(m, "max_age", out.max_age);
}

bool Loader::loadCache(const Field& f, CacheConfig& out) {
  Fields m;
  return mapping(f, kCacheKeys, m) && boolean(m, "enabled", out.enabled) &&
         duration(m, "ttl", false, out.ttl) && size(m, "max_bytes", out.max_bytes) &&
         oneOf(m, "scope", "cache scope", kCacheScopes, out.scope) && redisUrl(m, out.redis) &&
         duration(m, "redis_timeout", false, out.redis_timeout);
}

// `redis:` (a URL) of a section, when set.
bool Loader::redisUrl(const Fields& m, RedisConfig& out) {
  const Field* redis = m.find("redis");
  if (redis == nullptr) return true;
  std::string text;
  if (!string(*redis, text)) return false;
  if (text.empty()) return true;
  auto parsed = parseRedisUrl(text);
  if (!parsed) return fail(*redis, parsed.error());
  out = std::move(*parsed);
  out.line = redis->line;
  return true;
}

bool Loader::loadLimits(const Field& f, LimitsConfig& out) {
  Fields m;
  if (!mapping(f, kLimitsKeys, m)) return false;
  if (!redisUrl(m, out.redis)) return false;
  if (!duration(m, "sync_interval", false, out.redis.sync_interval)) return false;
  const Field* teams = m.find("teams");
  if (teams == nullptr) return true;
  Fields t;
  if (!anyMapping(*teams, t)) return false;
  for (const Entry& e : t.entries()) {
    if (e.key.empty() || hasSpaceOrControl(e.key)) {
      return fail(e.value, "team name must be non-empty and contain no spaces");
    }
    Fields l;
    TeamLimitsConfig limits;
    if (!mapping(e.value, kTeamLimitKeys, l) ||
        !integer(l, "rpm", std::int64_t{0}, std::int64_t{1} << 40, limits.rpm) ||
        !integer(l, "tpm", std::int64_t{0}, std::int64_t{1} << 50, limits.tpm) ||
        !oneOf(l, "budget_period", "budget period", kBudgetPeriods, limits.budget_period)) {
      return false;
    }
    if (const Field* budget = l.find("budget_usd")) {
      std::string text;
      if (!string(*budget, text)) return false;
      const std::string v(trimSpace(text));
      char* end = nullptr;
      const double usd = v.empty() ? NAN : std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(usd) || usd < 0) {
        return fail(*budget, "expected an amount in USD (0 or more), got '" + text + "'");
      }
      limits.budget_usd = usd;
    }
    out.teams[e.key] = limits;
  }
  return true;
}

bool Loader::loadGuardDetector(const Field& f, GuardDetectorConfig& out) {
  if (!f.node.IsMap()) {
    return fail(f, "a detector is a mapping with name and regex (or terms), got " +
                       describe(f.node));
  }
  Fields m;
  const Field* name = nullptr;
  if (!mapping(f, kGuardDetectorKeys, m) || !required(f, m, "name", name) ||
      !string(*name, out.name)) {
    return false;
  }
  out.line = f.line;
  const bool label_ok =
      !out.name.empty() && std::all_of(out.name.begin(), out.name.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '_';
      });
  if (!label_ok) {
    return fail(*name, "detector name '" + out.name +
                           "' must be upper case letters, digits and '_' (it becomes the "
                           "placeholder label, e.g. [" + "EMPLOYEE_ID_1])");
  }
  if (!string(m, "validator", out.validator) ||
      !oneOf(m, "category", "category", kGuardCategories, out.category) ||
      !boolean(m, "case_insensitive", out.case_insensitive) ||
      !integer(m, "group", 0, 100, out.group)) {
    return false;
  }
  const Field* regex = m.find("regex");
  const Field* terms = m.find("terms");
  if ((regex == nullptr) == (terms == nullptr)) {
    return fail(f, "a detector needs exactly one of 'regex' or 'terms' (a deny-list)");
  }
  if (terms != nullptr) {
    for (std::string_view key : {"validator", "case_insensitive", "group"}) {
      if (const Field* extra = m.find(key)) {
        return fail(*extra, "only for regex detectors, not deny-lists ('terms')");
      }
    }
    if (!stringList(*terms, out.terms)) return false;
    if (out.terms.empty()) return fail(*terms, "a deny-list needs at least one term");
    for (const std::string& term : out.terms) {
      if (trimSpace(term).empty()) return fail(*terms, "deny-list terms must not be empty");
    }
    return true;
  }
  if (!string(*regex, out.regex)) return false;
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(!out.case_insensitive);
  RE2 re(out.regex, options);
  if (!re.ok()) return fail(*regex, "invalid regex (RE2 syntax): " + re.error());
  if (out.group > re.NumberOfCapturingGroups()) {
    return fail(f, "group " + std::to_string(out.group) + " but the regex has only " +
                       std::to_string(re.NumberOfCapturingGroups()) + " capture groups");
  }
  static constexpr std::string_view kValidators[] = {"luhn", "card", "iban", "ssn",
                                                     "ipv4", "ipv6", "jwt",  "entropy"};
  if (!out.validator.empty() && !contains(kValidators, out.validator)) {
    return fail(*m.find("validator"), "unknown validator '" + out.validator +
                                          "' (expected one of: " + join(kValidators) + ")");
  }
  return true;
}

// The entity types the guard knows: the built-ins plus this config's detectors.
bool Loader::loadGuardPolicy(const Field& f, const GuardConfig& guard, GuardPolicy& out) {
  Fields m;
  if (!anyMapping(f, m)) return false;
  for (const Entry& e : m.entries()) {
    const bool known = e.key == "default" || contains(kGuardCategories, e.key) ||
                       contains(kGuardBuiltinTypes, e.key) ||
                       std::any_of(guard.detectors.begin(), guard.detectors.end(),
                                   [&](const GuardDetectorConfig& d) { return d.name == e.key; });
    if (!known) {
      std::vector<std::string_view> names(std::begin(kGuardBuiltinTypes), std::end(kGuardBuiltinTypes));
      for (const auto& d : guard.detectors) names.push_back(d.name);
      std::string hint;
      if (auto guess = closest(e.key, names)) hint = " (did you mean '" + std::string(*guess) + "'?)";
      return fail(e.key_line, e.value.path,
                  "unknown entity type '" + e.key + "'" + hint +
                      "; expected an entity type, a category (pii, secret, custom) or default");
    }
    std::string action;
    if (!string(e.value, action)) return false;
    if (!contains(kGuardActions, action)) {
      return fail(e.value, "unknown action '" + action + "' (expected one of: " +
                               join(kGuardActions) + ")");
    }
    out[e.key] = std::move(action);
  }
  return true;
}

bool Loader::loadGuardPolicies(const Field& f, const GuardConfig& guard,
                               std::map<std::string, GuardPolicy>& out) {
  Fields m;
  if (!anyMapping(f, m)) return false;
  for (const Entry& e : m.entries()) {
    if (e.key.empty() || hasSpaceOrControl(e.key)) {
      return fail(e.value, "name must be non-empty and contain no spaces");
    }
    GuardPolicy policy;
    if (!loadGuardPolicy(e.value, guard, policy)) return false;
    out[e.key] = std::move(policy);
  }
  return true;
}

bool Loader::loadGuard(const Field& f, GuardConfig& out) {
  Fields m;
  if (!mapping(f, kGuardKeys, m)) return false;
  out.enabled = true;
  std::int64_t min_length = static_cast<std::int64_t>(out.generic_min_length);
  if (!boolean(m, "scan_output", out.scan_output) ||
      !integer(m, "generic_min_length", std::int64_t{4}, std::int64_t{4096}, min_length)) {
    return false;
  }
  out.generic_min_length = static_cast<std::size_t>(min_length);
  if (const Field* entities = m.find("entities")) {
    std::vector<Field> items;
    if (!sequence(*entities, items)) return false;
    for (const Field& item : items) {
      std::string type;
      if (!string(item, type)) return false;
      if (!contains(kGuardBuiltinTypes, type)) {
        return fail(item, "unknown entity type '" + type + "' (expected one of: " +
                              join(kGuardBuiltinTypes) + ")");
      }
      out.entities.push_back(std::move(type));
    }
  }
  if (const Field* threshold = m.find("entropy_threshold")) {
    std::string text;
    if (!string(*threshold, text)) return false;
    const std::string v(trimSpace(text));
    char* end = nullptr;
    const double value = v.empty() ? NAN : std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !(value > 0 && value <= 8)) {
      return fail(*threshold, "expected a number of bits per character in (0, 8], got '" + text +
                                  "'");
    }
    out.entropy_threshold = value;
  }
  if (const Field* detectors = m.find("detectors")) {
    std::vector<Field> items;
    if (!sequence(*detectors, items)) return false;
    for (const Field& item : items) {
      GuardDetectorConfig detector;
      if (!loadGuardDetector(item, detector)) return false;
      for (const auto& other : out.detectors) {
        if (other.name == detector.name) {
          return fail(item, "detector '" + detector.name + "' is declared twice (line " +
                                std::to_string(other.line) + ")");
        }
      }
      out.detectors.push_back(std::move(detector));
    }
  }
  if (const Field* allow = m.find("allow")) {
    Fields a;
    if (!mapping(*allow, kGuardAllowKeys, a)) return false;
    if (const Field* values = a.find("values"); values && !stringList(*values, out.allow_values)) {
      return false;
    }
    if (const Field* patterns = a.find("patterns")) {
      std::vector<Field> items;
      if (!sequence(*patterns, items)) return false;
      for (const Field& item : items) {
        std::string pattern;
        if (!string(item, pattern)) return false;
        RE2 re(pattern, RE2::Quiet);
        if (!re.ok()) return fail(item, "invalid regex (RE2 syntax): " + re.error());
        out.allow_patterns.push_back(std::move(pattern));
      }
    }
  }
  if (const Field* policy = m.find("policy"); policy && !loadGuardPolicy(*policy, out, out.policy)) {
    return false;
  }
  if (const Field* routes = m.find("routes"); routes && !loadGuardPolicies(*routes, out, out.routes)) {
    return false;
  }
  if (const Field* keys = m.find("keys"); keys && !loadGuardPolicies(*keys, out, out.keys)) {
    return false;
  }
  if (const Field* teams = m.find("teams"); teams && !loadGuardPolicies(*teams, out, out.teams)) {
    return false;
  }
  return true;
}

bool Loader::loadSignalRules(const Field& f, std::vector<SignalRule>& out) {
  std::vector<Field> items;
  if (!sequence(f, items)) return false;
  for (const Field& item : items) {
    Fields m;
    if (!mapping(item, kSignalRuleKeys, m)) return false;
    SignalRule rule;
    rule.line = item.line;
    const Field* name = nullptr;
    if (!required(item, m, "name", name) || !string(*name, rule.name)) return false;
    if (rule.name.empty() || hasSpaceOrControl(rule.name)) {
      return fail(*name, "name must be non-empty and contain no spaces");
    }
    if (const Field* k = m.find("keywords"); k && !stringList(*k, rule.keywords)) return false;
    if (const Field* p = m.find("patterns")) {
      if (!stringList(*p, rule.patterns)) return false;
      for (const std::string& pattern : rule.patterns) {
        RE2 re(pattern, RE2::Quiet);
        if (!re.ok()) return fail(*p, "invalid regular expression '" + pattern + "': " + re.error());
      }
    }
    if (rule.keywords.empty() && rule.patterns.empty()) {
      return fail(item, "a rule needs keywords or patterns");
    }
    out.push_back(std::move(rule));
  }
  return true;
}

bool Loader::loadRouting(const Field& f, RoutingConfig& out) {
  Fields m;
  if (!mapping(f, kRoutingKeys, m)) return false;
  if (const Field* b = m.find("breaker")) {
    Fields bm;
    if (!mapping(*b, kBreakerKeys, bm)) return false;
    if (!integer(bm, "failures", 1, 1000, out.breaker.failures)) return false;
    if (!integer(bm, "window", 1, 10'000, out.breaker.window)) return false;
    if (const Field* r = bm.find("error_rate")) {
      if (!real(*r, 0.0, 1.0, out.breaker.error_rate)) return false;
    }
    if (!duration(bm, "cooldown", false, out.breaker.cooldown)) return false;
  }
  if (const Field* r = m.find("retry"); r && !loadRetry(*r, out.retry)) return false;
  if (const Field* t = m.find("tasks"); t && !loadSignalRules(*t, out.tasks)) return false;
  if (const Field* r = m.find("risk"); r && !loadSignalRules(*r, out.risk)) return false;
  if (const Field* c = m.find("classifier"); c && !loadTaskClassifier(*c, out.classifier)) {
    return false;
  }
  return boolean(m, "quality_from_store", out.quality_from_store);
}

// routing.classifier: `examples` maps a task type to its example utterances; `examples_file` is
// JSON Lines, one {"task": ..., "text": ...} per line, relative to the config file.
bool Loader::loadTaskClassifier(const Field& f, TaskClassifierConfig& out) {
  Fields m;
  if (!mapping(f, kClassifierKeys, m)) return false;
  const Field* model = nullptr;
  if (!required(f, m, "embedding_model", model) || !string(*model, out.embedding_model)) {
    return false;
  }
  if (out.embedding_model.empty()) return fail(*model, "must name an embedding model");
  out.embedding_model_line = model->line;
  if (!integer(m, "k", 1, 100, out.k) || !duration(m, "timeout", false, out.timeout)) {
    return false;
  }
  if (const Field* s = m.find("min_similarity"); s && !real(*s, -1.0, 1.0, out.min_similarity)) {
    return false;
  }
  if (const Field* e = m.find("examples")) {
    Fields tasks;
    if (!anyMapping(*e, tasks)) return false;
    for (const Entry& entry : tasks.entries()) {
      const std::string& task = entry.key;
      const Field& field = entry.value;
      if (task.empty() || hasSpaceOrControl(task)) {
        return fail(field, "a task type must be non-empty and contain no spaces");
      }
      std::vector<std::string> texts;
      if (!stringList(field, texts)) return false;
      if (texts.empty()) return fail(field, "needs at least one example utterance");
      for (std::string& text : texts) {
        if (text.empty()) return fail(field, "example utterances must not be empty");
        out.examples.push_back(TaskExample{task, std::move(text)});
      }
    }
  }
  if (const Field* file = m.find("examples_file"); file && !loadTaskExamplesFile(*file, out)) {
    return false;
  }
  if (out.examples.empty()) {
    return fail(f, "the classifier needs labelled examples ('examples' or 'examples_file')");
  }
  return true;
}

bool Loader::loadTaskExamplesFile(const Field& f, TaskClassifierConfig& out) {
  std::string name;
  if (!string(f, name)) return false;
  std::filesystem::path path(name);
  if (path.is_relative() && source_.find('/') != std::string::npos) {
    path = std::filesystem::path(source_).parent_path() / path;
  }
  std::ifstream in(path);
  if (!in) {
    return fail(f, "cannot read '" + path.string() + "': " + std::strerror(errno));
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path.string() + ":" + std::to_string(number) + ": ";
    // Each line is a JSON object; JSON's flow syntax is YAML's, so yaml-cpp reads it.
    YAML::Node node;
    try {
      node = YAML::Load(line);
    } catch (const YAML::Exception& e) {
      return fail(f, where + "not a JSON object: " + e.msg);
    }
    if (!node.IsMap() || !node["task"] || !node["text"] || !node["task"].IsScalar() ||
        !node["text"].IsScalar()) {
      return fail(f, where + "expected {\"task\": \"...\", \"text\": \"...\"}");
    }
    TaskExample example{node["task"].Scalar(), node["text"].Scalar()};
    if (example.task.empty() || hasSpaceOrControl(example.task) || example.text.empty()) {
      return fail(f, where + "task must be a name without spaces and text must not be empty");
    }
    out.examples.push_back(std::move(example));
  }
  return true;
}

// `prices:` is a list; each entry prices one model (per 1M tokens) or a local provider's hardware.
bool Loader::loadPrices(const Field& f, const Config& config, std::vector<PriceConfig>& out) {
  std::vector<Field> items;
  if (!sequence(f, items)) return false;
  constexpr double kMaxPrice = 1'000'000;
  for (const Field& item : items) {
    if (!item.node.IsMap()) {
      return fail(item, "expected a price (a mapping with provider or kind, model, input, "
                        "output, ...), got " + describe(item.node));
    }
    Fields m;
    if (!mapping(item, kPriceKeys, m)) return false;
    PriceConfig price;
    price.line = item.line;
    if (!string(m, "provider", price.provider) || !string(m, "kind", price.kind) ||
        !string(m, "model", price.model)) {
      return false;
    }
    if (price.provider.empty() == price.kind.empty()) {
      return fail(item, "a price names exactly one of 'provider' (a provider name) or 'kind' "
                        "(every provider of that kind)");
    }
    std::string kind = price.kind;
    if (!price.provider.empty()) {
      const auto it = std::find_if(config.providers.begin(), config.providers.end(),
                                   [&](const ProviderConfig& p) { return p.name == price.provider; });
      if (it == config.providers.end()) {
        return fail(*m.find("provider"), "unknown provider '" + price.provider + "'");
      }
      kind = it->kind;
    } else if (std::none_of(std::begin(kProviderKinds), std::end(kProviderKinds),
                            [&](const ProviderKind& k) { return k.name == price.kind; })) {
      std::vector<std::string_view> kinds;
      for (const ProviderKind& k : kProviderKinds) kinds.push_back(k.name);
      return fail(*m.find("kind"), "unknown provider kind '" + price.kind +
                                       "' (expected one of: " + join(kinds) + ")");
    }
    if (!number(m, "input", kMaxPrice, price.input) ||
        !number(m, "output", kMaxPrice, price.output) ||
        !number(m, "cached_input", kMaxPrice, price.cached_input) ||
        !number(m, "cache_write", kMaxPrice, price.cache_write) ||
        !number(m, "hourly_usd", kMaxPrice, price.hourly_usd) ||
        !number(m, "tokens_per_second", 1e9, price.tokens_per_second) ||
        !number(m, "prompt_tokens_per_second", 1e9, price.prompt_tokens_per_second)) {
      return false;
    }
    const bool hardware = m.find("hourly_usd") != nullptr;
    const bool tokens = m.find("input") || m.find("output") || m.find("cached_input") ||
                        m.find("cache_write");
    if (hardware && tokens) {
      return fail(item, "a price is either per token (input, output, ...) or hardware "
                        "(hourly_usd, tokens_per_second), not both");
    }
    if (!hardware && (m.find("tokens_per_second") || m.find("prompt_tokens_per_second"))) {
      return fail(item, "tokens_per_second needs hourly_usd (the hardware cost)");
    }
    if (hardware && price.provider.empty()) {
      return fail(item, "hardware prices (hourly_usd) name a 'provider', not a kind");
    }
    if (hardware && kind != "local") {
      return fail(*m.find("hourly_usd"), "hardware prices are for providers of kind 'local'");
    }
    if (!hardware && !tokens) {
      return fail(item, "a price needs input/output prices (USD per 1M tokens) or hourly_usd");
    }
    if (!hardware && price.model.empty()) {
      return fail(item, "missing required key 'model'");
    }
    for (const PriceConfig& earlier : out) {
      if (earlier.provider == price.provider && earlier.kind == price.kind &&
          earlier.model == price.model) {
        return fail(item, "duplicate price (first declared on line " +
                              std::to_string(earlier.line) + ")");
      }
    }
    out.push_back(std::move(price));
  }
  return true;
}

bool Loader::loadTelemetry(const Field& f, const Config& config, TelemetryConfig& out) {
  Fields m;
  if (!mapping(f, kTelemetryKeys, m) || !boolean(m, "feedback", out.feedback)) return false;
  if (const Field* log = m.find("request_log")) {
    Fields r;
    RequestLogConfig& rl = out.request_log;
    if (!mapping(*log, kRequestLogKeys, r) || !boolean(r, "enabled", rl.enabled)) return false;
    if (!age(r, "max_age", rl.max_age)) return false;
    if (!integer(r, "max_rows", std::int64_t{0}, std::numeric_limits<std::int64_t>::max(),
                 rl.max_rows) ||
        !integer(r, "batch_size", 1, 100'000, rl.batch_size) ||
        !duration(r, "flush_interval", false, rl.flush_interval) ||
        !integer(r, "queue_capacity", 1, 10'000'000, rl.queue_capacity) ||
        !duration(r, "prune_interval", false, rl.prune_interval) ||
        !size(r, "max_payload_bytes", rl.max_payload_bytes)) {
      return false;
    }
    if (const Field* routes = r.find("payload_routes")) {
      std::vector<Field> items;
      if (!sequence(*routes, items)) return false;
      for (const Field& item : items) {
        std::string name;
        if (!item.node.IsScalar() || !string(item, name)) {
          return fail(item, "expected a route name, got " + describe(item.node));
        }
        const bool known = std::any_of(config.routes.begin(), config.routes.end(),
                                       [&](const RouteConfig& rc) { return rc.name == name; });
        if (!known) return fail(item, "unknown route '" + name + "'");
        rl.payload_routes.push_back(std::move(name));
      }
    }
  }
  if (const Field* traces = m.find("traces")) {
    if (!loadTraces(*traces, out.traces)) return false;
  }
  if (const Field* metrics = m.find("metrics")) {
    Fields mm;
    // The token is never echoed in errors.
    if (!mapping(*metrics, kMetricsKeys, mm) || !boolean(mm, "enabled", out.metrics.enabled) ||
        !string(mm, "token", out.metrics.token)) {
      return false;
    }
  }
  if (const Field* dashboard = m.find("dashboard")) {
    if (!loadDashboard(*dashboard, out.dashboard)) return false;
  }
  return true;
}

bool Loader::loadDashboard(const Field& f, DashboardConfig& out) {
  Fields m;
  if (!mapping(f, kDashboardKeys, m) || !boolean(m, "enabled", out.enabled) ||
      !duration(m, "session_ttl", false, out.session_ttl)) {
    return false;
  }
  if (out.session_ttl < Millis(60'000) || out.session_ttl > Millis(30LL * 24 * 3600 * 1000)) {
    return fail(*m.find("session_ttl"), "must be between 1m and 720h");
  }
  return true;
}

bool Loader::loadTraces(const Field& f, TracesConfig& out) {
  Fields m;
  if (!mapping(f, kTracesKeys, m) || !string(m, "endpoint", out.endpoint) ||
      !string(m, "service_name", out.service_name) ||
      !integer(m, "batch_size", 1, 100'000, out.batch_size) ||
      !duration(m, "flush_interval", false, out.flush_interval) ||
      !integer(m, "queue_capacity", 1, 10'000'000, out.queue_capacity) ||
      !duration(m, "timeout", false, out.timeout) ||
      !integer(m, "max_retries", 0, 100, out.max_retries) ||
      !boolean(m, "capture_content", out.capture_content) ||
      !size(m, "max_content_bytes", out.max_content_bytes)) {
    return false;
  }
  if (const Field* ratio = m.find("sample_ratio"); ratio && !real(*ratio, 0, 1, out.sample_ratio)) {
    return false;
  }
  if (const Field* endpoint = m.find("endpoint"); endpoint && !out.endpoint.empty()) {
    const std::string_view url = out.endpoint;
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      return fail(*endpoint, "expected an http:// or https:// URL of an OTLP/HTTP collector");
    }
  }
  if (out.service_name.empty()) {
    return fail(*m.find("service_name"), "must not be empty");
  }
  if (const Field* resource = m.find("resource")) {
    if (!loadStringMap(*resource, false, out.resource)) return false;
  }
  if (const Field* headers = m.find("headers")) {
    if (!loadStringMap(*headers, true, out.headers)) return false;
    for (const auto& [name, value] : out.headers) {
      const bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      });
      if (!token) return fail(*headers, "invalid header name '" + name + "'");
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        return fail(*headers, "header '" + name + "' contains a line break or NUL");
      }
    }
  }
  return true;
}

// A mapping of names to strings (env vars expanded). `secret_values`: values are never echoed.
bool Loader::loadStringMap(const Field& f, bool secret_values,
                           std::map<std::string, std::string>& out) {
  Fields entries;
  if (!anyMapping(f, entries)) return false;
  for (const auto& e : entries.entries()) {
    std::string value;
    if (!e.value.node.IsScalar()) {
      return fail(e.value, secret_values ? std::string("expected a string")
                                         : "expected a string, got " + describe(e.value.node));
    }
    if (!string(e.value, value)) return false;
    out[e.key] = std::move(value);
  }
  return true;
}

bool Loader::loadRag(const Field& f, RagConfig& out) {
  Fields m;
  if (!mapping(f, kRagKeys, m)) return false;
  out.enabled = true;
  if (!string(m, "path", out.path) || !string(m, "embedding_model", out.embedding_model) ||
      !integer(m, "chunk_tokens", 16, 8192, out.chunk_tokens) ||
      !integer(m, "chunk_overlap", 0, 4096, out.chunk_overlap) ||
      !integer(m, "top_k", 1, 100, out.top_k) ||
      !oneOf(m, "mode", "retrieval mode", kRagModes, out.mode) ||
      !integer(m, "hnsw_m", 2, 128, out.hnsw_m) ||
      !integer(m, "hnsw_ef_construction", 8, 4096, out.hnsw_ef_construction) ||
      !integer(m, "hnsw_ef_search", 8, 4096, out.hnsw_ef_search) ||
      !integer(m, "workers", 1, 64, out.workers)) {
    return false;
  }
  if (const Field* model = m.find("embedding_model")) out.embedding_model_line = model->line;
  if (out.chunk_overlap >= out.chunk_tokens) {
    const Field* overlap = m.find("chunk_overlap");
    return fail(overlap != nullptr ? *overlap : f,
                "must be smaller than chunk_tokens (" + std::to_string(out.chunk_tokens) + ")");
  }
  if (out.embedding_model.empty() && out.mode != "lexical" && m.find("mode") != nullptr) {
    return fail(*m.find("mode"), "mode '" + out.mode +
                                     "' needs an embedding_model (or use mode: lexical)");
  }
  if (const Field* routes = m.find("routes"); routes != nullptr && !loadRagRoutes(*routes, out)) {
    return false;
  }
  if (const Field* collections = m.find("collections")) return loadRagCollections(*collections, out);
  return true;
}

bool Loader::loadRagRerank(const Field& f, RagRerankConfig& out) {
  Fields m;
  if (!mapping(f, kRagRerankKeys, m)) return false;
  const Field* model = nullptr;
  if (!required(f, m, "model", model) || !string(*model, out.model) ||
      !integer(m, "top_n", 1, 1000, out.top_n)) {
    return false;
  }
  if (out.model.empty()) return fail(*model, "must name a reranker model");
  out.model_line = model->line;
  return true;
}

bool Loader::loadRagCollections(const Field& f, RagConfig& out) {
  Fields collections;
  if (!anyMapping(f, collections)) return false;
  for (const Entry& e : collections.entries()) {
    if (e.value.node.IsNull() || !e.value.node.IsMap()) {
      return fail(e.value, "expected a mapping with rerank, got " + describe(e.value.node));
    }
    Fields m;
    if (!mapping(e.value, kRagCollectionKeys, m)) return false;
    RagCollectionConfig collection;
    if (const Field* rerank = m.find("rerank"); rerank != nullptr &&
                                                !loadRagRerank(*rerank, collection.rerank)) {
      return false;
    }
    out.collections.emplace(e.key, std::move(collection));
  }
  return true;
}

bool Loader::loadRagRoutes(const Field& f, RagConfig& out) {
  Fields routes;
  if (!anyMapping(f, routes)) return false;
  for (const Entry& e : routes.entries()) {
    if (e.value.node.IsNull() || !e.value.node.IsMap()) {
      return fail(e.value, "expected a mapping with collection and top_k, got " +
                               describe(e.value.node));
    }
    Fields m;
    if (!mapping(e.value, kRagRouteKeys, m)) return false;
    RagRouteConfig route;
    route.top_k = out.top_k;
    const Field* collection = nullptr;
    if (!required(e.value, m, "collection", collection) ||
        !string(*collection, route.collection) || !integer(m, "top_k", 1, 100, route.top_k)) {
      return false;
    }
    if (route.collection.empty()) return fail(*collection, "must not be empty");
    if (const Field* rerank = m.find("rerank"); rerank != nullptr &&
                                                !loadRagRerank(*rerank, route.rerank)) {
      return false;
    }
    out.routes.emplace(e.key, std::move(route));
  }
  return true;
}

Result<Config> Loader::load(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    std::string message = source_;
    if (!e.mark.is_null()) message += ":" + std::to_string(e.mark.line + 1);
    message += ": YAML syntax error: " + e.msg;
    if (!e.mark.is_null()) message += " (column " + std::to_string(e.mark.column + 1) + ")";
    return switchyard::fail(ErrorCode::kInvalidArgument, std::move(message));
  }

  Config config;
  config.source = source_;
  const Field top{root, "", 1};
  if (!root.IsNull() && !root.IsMap()) {
    fail(lineOf(root), "", "expected a mapping with server, log, storage, providers, routes");
    return switchyard::fail(std::move(error_));
  }
  Fields m;
  bool ok = mapping(top, kTopKeys, m);
  // Providers before routes whatever their order in the file: routes refer to providers, and
  // alias collisions are reported at the later declaration.
  if (ok) {
    if (const Field* f = m.find("server")) {
      ok = loadServer(*f, config.server);
    } else {
      ok = proxies(nullptr, config.server.proxy);  // the environment's, if any
    }
  }
  if (ok) {
    if (const Field* f = m.find("log")) ok = loadLog(*f, config.log);
  }
  if (ok) {
    if (const Field* f = m.find("storage")) ok = loadStorage(*f, config.storage_url);
  }
  config.responses.enabled = true;  // config files store responses unless told not to
  if (ok) {
    if (const Field* f = m.find("responses")) ok = loadResponses(*f, config.responses);
  }
  if (ok) {
    if (const Field* f = m.find("cache")) ok = loadCache(*f, config.cache);
  }
  if (ok) {
    if (const Field* f = m.find("providers")) ok = loadProviders(*f, config.providers);
  }
  if (ok) ok = checkAliases(config);
  if (ok) {
    if (const Field* f = m.find("routing")) ok = loadRouting(*f, config.routing);
  }
  if (ok) {
    if (const Field* f = m.find("routes")) ok = loadRoutes(*f, config, config.routes);
  }
  if (ok) {
    if (const Field* f = m.find("prices")) ok = loadPrices(*f, config, config.prices);
  }
  // Config files log requests unless told not to; a Config built in code does not.
  config.telemetry.request_log.enabled = true;
  config.telemetry.dashboard.enabled = true;
  if (ok) {
    if (const Field* f = m.find("telemetry")) ok = loadTelemetry(*f, config, config.telemetry);
  }
  if (ok) {
    if (const Field* f = m.find("admin_key")) ok = string(*f, config.admin_key);
  }
  if (ok) {
    if (const Field* f = m.find("auth")) ok = loadAuth(*f, config.auth);
  }
  if (ok) {
    if (const Field* f = m.find("limits")) ok = loadLimits(*f, config.limits);
  }
  if (ok) {
    if (const Field* f = m.find("guard")) ok = loadGuard(*f, config.guard);
  }
  if (ok) {
    if (const Field* f = m.find("rag")) ok = loadRag(*f, config.rag);
  }
  if (!ok) return switchyard::fail(std::move(error_));
  return config;
}

}  // namespace

std::vector<std::string> modelCapabilities(const ProviderConfig& provider,
                                           const ModelConfig& model) {
  if (!model.capabilities.empty()) return model.capabilities;
  // The in-process engine does tools and grammar-constrained JSON; it takes no images.
  if (provider.kind == "local") return {"tools", "json_schema", "reasoning"};
  return {"tools", "json_schema", "vision", "reasoning"};
}

Result<Config> parseConfig(std::string_view yaml, std::string_view source) {
  // yaml-cpp throws; nothing may escape this module.
  try {
    return Loader(source).load(yaml);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal,
                std::string(source) + ": cannot read configuration: " + e.what());
  }
}

Result<Config> loadConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot read config file '" + path + "': it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const ErrorCode code = err == ENOENT   ? ErrorCode::kNotFound
                           : err == EACCES ? ErrorCode::kPermissionDenied
                                           : ErrorCode::kInvalidArgument;
    return fail(code, "cannot read config file '" + path + "': " + std::strerror(err));
  }
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigFileBytes) {
      return fail(ErrorCode::kInvalidArgument,
                  "cannot read config file '" + path + "': larger than 16 MiB");
    }
  }
  if (in.bad()) {
    return fail(ErrorCode::kInvalidArgument, "cannot read config file '" + path + "': read error");
  }
  return parseConfig(text, path);
}

std::string defaultModelPath() {
  if (const char* model = std::getenv("SWITCHYARD_MODEL"); model != nullptr && *model != 0) {
    return model;
  }
  std::string base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != 0) {
    base = std::string(home) + "/.cache";
  } else {
    base = ".cache";
  }
  return base + "/switchyard/models/tiny-chat.gguf";
}

namespace {

// The embedded defaults in three parts, so that `serve --model` can put its own model list
// between the first and the last. ${SWITCHYARD_DEFAULT_MODEL} is replaced by defaultModelPath()
// before parsing.
constexpr std::string_view kDefaultsHead =
    R"(# switchyard's embedded defaults (`switchyard serve` without --config)
server:
  listen: 127.0.0.1:8080
log:
  level: ${SWITCHYARD_LOG_LEVEL:-info}
storage:
  url: sqlite://switchyard.db
providers:
  - name: local
    kind: local
    models:
)";
constexpr std::string_view kDefaultModels = R"(      - name: tiny-chat
        path: ${SWITCHYARD_DEFAULT_MODEL}
        aliases: [default]
        context: 4096
        parallel: 4
        embeddings: true
        preload: true
)";
constexpr std::string_view kDefaultsTail =
    R"(# `switchyard ingest -n NAME PATH` fills collections beside the store (./switchyard-rag);
# requests ground on one with "rag": "NAME" (lexical retrieval: no embedding model here).
rag: {}
)";

}  // namespace

std::string_view embeddedDefaultYaml() {
  static const std::string yaml =
      std::string(kDefaultsHead) + std::string(kDefaultModels) + std::string(kDefaultsTail);
  return yaml;
}

namespace {

// A single-quoted YAML scalar holds any text once quotes are doubled and '$' escaped for the
// loader's ${VAR} expansion.
std::string yamlQuoted(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') quoted += '\'';
    if (c == '$') quoted += '$';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

}  // namespace

Result<Config> embeddedDefaultConfig() {
  std::string yaml(embeddedDefaultYaml());
  constexpr std::string_view kSlot = "${SWITCHYARD_DEFAULT_MODEL}";
  yaml.replace(yaml.find(kSlot), kSlot.size(), yamlQuoted(defaultModelPath()));
  return parseConfig(yaml, "<embedded>");
}

Result<Config> modelFilesConfig(const ModelFilesOptions& options) {
  if (options.paths.empty()) return fail(ErrorCode::kInvalidArgument, "--model: no model file");
  // The embedded defaults with one model entry per file.
  std::string yaml(kDefaultsHead);
  std::map<std::string, std::string> names;  // name -> file
  std::vector<std::string> order;
  for (const std::string& path : options.paths) {
    std::string name = std::filesystem::path(path).filename().string();
    if (asciiLower(std::string_view(name)).ends_with(".gguf")) name.resize(name.size() - 5);
    for (char& c : name) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) c = '-';
    }
    if (name.empty()) {
      return fail(ErrorCode::kInvalidArgument, "--model " + path + ": not a file name");
    }
    if (auto [it, inserted] = names.emplace(name, path); !inserted) {
      return fail(ErrorCode::kInvalidArgument,
                  "--model: " + it->second + " and " + path + " would both be served as '" + name +
                      "' (rename one, or write a config file with names of your choice)");
    }
    order.push_back(std::move(name));
  }
  // A file named default.gguf is the default itself.
  const bool alias_default = !names.contains("default");
  for (std::size_t i = 0; i < order.size(); ++i) {
    yaml += "      - name: " + yamlQuoted(order[i]) + "\n";
    yaml += "        path: " + yamlQuoted(options.paths[i]) + "\n";
    if (i == 0) {
      yaml += alias_default ? "        aliases: [default]\n" : "";
      yaml += "        preload: true\n";
    }
    yaml += "        context: " + std::to_string(options.context) + "\n";
    yaml += "        parallel: " + std::to_string(options.parallel) + "\n";
    yaml += std::string("        embeddings: ") + (options.embeddings ? "true" : "false") + "\n";
  }
  yaml += kDefaultsTail;
  return parseConfig(yaml, "<command line>");
}

std::string RedisConfig::display() const {
  if (url.empty()) return "";
  const bool v6 = host.find(':') != std::string::npos;
  return "redis://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" +
         std::to_string(db);
}

}  // namespace switchyard::config
