#pragma once
// Three kinds of checks (see CONVENTIONS.md). Never use them on untrusted input: bad input gets a
// clear 4xx, not an abort.
//   SY_CHECK(cond)  - always on; logs and aborts. For broken invariants that make going on unsafe.
//   SY_DCHECK(cond) - debug builds only.
//   SY_BUG(msg)     - logs, counts (bugCount()) and goes on. For "cannot happen" on a path where
//                     aborting would hurt more than a degraded answer.

#include <cstdint>
#include <string_view>

namespace switchyard::detail {
[[noreturn]] void checkFailed(const char* expr, const char* file, int line);
void bugReported(std::string_view message, const char* file, int line);
}  // namespace switchyard::detail

namespace switchyard {
std::uint64_t bugCount();
}

#define SY_CHECK(cond)                                                        \
  do {                                                                        \
    if (!(cond)) ::switchyard::detail::checkFailed(#cond, __FILE__, __LINE__); \
  } while (0)

#ifdef NDEBUG
#define SY_DCHECK(cond) \
  do {                  \
  } while (0)
#else
#define SY_DCHECK(cond) SY_CHECK(cond)
#endif

#define SY_BUG(msg) ::switchyard::detail::bugReported((msg), __FILE__, __LINE__)
