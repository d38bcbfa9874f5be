#include "switchyard/core/allocator.h"

#if SY_TCMALLOC
#include <gperftools/malloc_extension_c.h>
#endif

namespace switchyard {

#if SY_TCMALLOC

std::string_view allocatorName() { return "tcmalloc"; }

void releaseFreeMemory() { MallocExtension_ReleaseFreeMemory(); }

std::optional<std::size_t> allocatedBytes() {
  std::size_t bytes = 0;
  if (MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &bytes) == 0) {
    return std::nullopt;
  }
  return bytes;
}

#else

std::string_view allocatorName() { return "system"; }

void releaseFreeMemory() {}

std::optional<std::size_t> allocatedBytes() { return std::nullopt; }

#endif

}  // namespace switchyard
