#include "switchyard/core/log.h"

#include <spdlog/details/fmt_helper.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace switchyard {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// Renders each record as one JSON object per line. Messages from logEvent() in JSON mode are
// already a JSON object body (`"event":...`) and are spliced in; anything else is escaped into
// a "msg" field.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(msg.payload.size() + 96);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    line += "{\"ts\":\"";
    line += ts;
    line += "\",\"level\":\"";
    const auto& lv = spdlog::level::to_string_view(msg.level);
    line.append(lv.data(), lv.size());
    line += "\",";
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (payload.starts_with("\"event\":")) {
      line += payload;
    } else {
      line += "\"msg\":\"";
      appendJsonEscaped(line, payload);
      line += '"';
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

void appendValue(std::string& out, const LogField& f, bool json) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string_view>) {
          if (json) {
            out += '"';
            appendJsonEscaped(out, v);
            out += '"';
          } else if (v.find_first_of(" \"=") != std::string_view::npos || v.empty()) {
            out += '"';
            appendJsonEscaped(out, v);
            out += '"';
          } else {
            out += v;
          }
        } else if constexpr (std::is_same_v<V, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<V, double>) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.3f", v);
          out += buf;
        } else {
          out += std::to_string(v);
        }
      },
      f.value);
}

}  // namespace

Status setupLogging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return Status(ErrorCode::kInvalidArgument,
                  "unknown log level '" + options.level +
                      "' (expected trace, debug, info, warn, error, critical or off)");
  }
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
    } catch (const spdlog::spdlog_ex& e) {
      return Status(ErrorCode::kInvalidArgument,
                    "cannot open log file " + options.file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("switchyard", sink);
  if (options.format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  g_format.store(options.format);
  return Status::ok();
}

void logEvent(spdlog::level::level_enum level, std::string_view event,
              std::initializer_list<LogField> fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  const bool json = g_format.load(std::memory_order_relaxed) == LogFormat::kJson;
  std::string line;
  line.reserve(64 + fields.size() * 24);
  if (json) {
    line += "\"event\":\"";
    appendJsonEscaped(line, event);
    line += '"';
    for (const auto& f : fields) {
      line += ",\"";
      appendJsonEscaped(line, f.key);
      line += "\":";
      appendValue(line, f, true);
    }
  } else {
    line += event;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      appendValue(line, f, false);
    }
  }
  logger->log(level, std::string_view(line));
}

std::string redactSecret(std::string_view secret) {
  if (secret.empty()) return "";
  const size_t keep = secret.size() >= 12 ? 4 : 0;
  std::string out(secret.substr(0, keep));
  out += "…(redacted)";
  return out;
}

void appendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

}  // namespace switchyard
