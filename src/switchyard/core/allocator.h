#pragma once
// The process's memory allocator.
//
// Release builds link gperftools' tcmalloc (CMake option SY_ALLOCATOR): a proxied request makes
// about a hundred small allocations, mostly on one I/O thread and freed on it, which tcmalloc's
// per-thread caches serve in a few dozen instructions where glibc's malloc spends a few hundred
// (docs/benchmarks.md has the numbers). Sanitizer builds keep the system allocator, which the
// sanitizers replace with their own.

#include <cstddef>
#include <optional>
#include <string_view>

namespace switchyard {

// "tcmalloc" or "system".
std::string_view allocatorName();

// Hands memory the program has freed back to the operating system now. tcmalloc keeps freed
// pages for reuse and returns them gradually; call this after freeing something large (an
// unloaded model's buffers) so the process's RSS drops at once. A no-op on the system allocator,
// which returns large blocks (mmap'd) when they are freed.
void releaseFreeMemory();

// Bytes the application holds from the allocator right now, where the allocator can tell
// (tcmalloc); nullopt otherwise.
std::optional<std::size_t> allocatedBytes();

}  // namespace switchyard
