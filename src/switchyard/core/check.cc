#include "switchyard/core/check.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>

namespace switchyard {
namespace {
std::atomic<std::uint64_t> g_bugs{0};
}

std::uint64_t bugCount() { return g_bugs.load(std::memory_order_relaxed); }

namespace detail {

void checkFailed(const char* expr, const char* file, int line) {
  spdlog::critical("check failed: {} at {}:{}", expr, file, line);
  spdlog::shutdown();
  std::abort();
}

void bugReported(std::string_view message, const char* file, int line) {
  g_bugs.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("bug: {} at {}:{}", message, file, line);
}

}  // namespace detail
}  // namespace switchyard
