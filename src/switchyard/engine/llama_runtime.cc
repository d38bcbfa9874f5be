#include "switchyard/engine/llama_runtime.h"

#include <llama.h>
#include <log.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <string>
#include <string_view>

namespace switchyard::engine {
namespace {

spdlog::level::level_enum toSpdlog(ggml_log_level level) {
  switch (level) {
    case GGML_LOG_LEVEL_ERROR:
      return spdlog::level::err;
    case GGML_LOG_LEVEL_WARN:
      return spdlog::level::warn;
    case GGML_LOG_LEVEL_INFO:
      return spdlog::level::debug;
    default:
      return spdlog::level::trace;
  }
}

thread_local std::string last_error;  // the calling thread's latest whole llama.cpp error line

// llama.cpp logs a line in pieces (GGML_LOG_LEVEL_CONT continues the previous one); collect the
// pieces per thread and emit whole lines.
void logCallback(ggml_log_level level, const char* text, void* /*user_data*/) {
  thread_local std::string line;
  thread_local ggml_log_level line_level = GGML_LOG_LEVEL_INFO;
  if (level != GGML_LOG_LEVEL_CONT) {
    if (!line.empty()) {
      spdlog::log(toSpdlog(line_level), "llama: {}", line);
      line.clear();
    }
    line_level = level;
  }
  if (line_level == GGML_LOG_LEVEL_ERROR && text != nullptr) {
    if (level != GGML_LOG_LEVEL_CONT) last_error.clear();
    last_error += text;
    while (!last_error.empty() && last_error.back() == '\n') last_error.pop_back();
  }
  if (!spdlog::should_log(toSpdlog(line_level))) return;
  std::string_view piece(text == nullptr ? "" : text);
  while (!piece.empty()) {
    const auto nl = piece.find('\n');
    line.append(piece.substr(0, nl));
    if (nl == std::string_view::npos) break;
    if (!line.empty()) spdlog::log(toSpdlog(line_level), "llama: {}", line);
    line.clear();
    piece.remove_prefix(nl + 1);
  }
}

}  // namespace

void clearLastLlamaError() { last_error.clear(); }
std::string lastLlamaError() { return last_error; }

void ensureLlamaRuntime() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(logCallback, nullptr);
    llama_backend_init();
    // common/ (chat templates, sampling) logs through its own stderr writer thread; keep only
    // its errors, ours say what matters through spdlog.
    common_log_set_verbosity_thold(LOG_LEVEL_ERROR);
  });
}

}  // namespace switchyard::engine
