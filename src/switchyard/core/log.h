#pragma once
// Logging setup and structured events on top of spdlog. Thread-safe (spdlog's mt sinks).
// Two formats: human text and JSON lines. Secrets never reach a log: callers log fields they
// chose, never raw headers or bodies, and redactSecret() masks anything key-like.

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "switchyard/core/status.h"

namespace switchyard {

enum class LogFormat { kText, kJson };

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  LogFormat format = LogFormat::kText;
  std::string file;  // empty: stderr
};

Status setupLogging(const LogOptions& options);

// One typed field of a structured event.
struct LogField {
  std::string_view key;
  std::variant<std::string_view, long long, double, bool> value;

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, long long v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(static_cast<long long>(v)) {}
  LogField(std::string_view k, unsigned v) : key(k), value(static_cast<long long>(v)) {}
  LogField(std::string_view k, long v) : key(k), value(static_cast<long long>(v)) {}
  LogField(std::string_view k, unsigned long v) : key(k), value(static_cast<long long>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
};

// Logs `event` with fields: `event k=v k=v` in text mode, `{"event":..., "k":v}` as JSON.
void logEvent(spdlog::level::level_enum level, std::string_view event,
              std::initializer_list<LogField> fields);

// "sk-abc...xyz" -> "sk-a…(redacted)". Safe to log; keeps enough to tell keys apart.
std::string redactSecret(std::string_view secret);

// Appends `s` to `out` escaped as the inside of a JSON string.
void appendJsonEscaped(std::string& out, std::string_view s);

}  // namespace switchyard
