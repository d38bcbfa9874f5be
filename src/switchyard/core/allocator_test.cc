#include "switchyard/core/allocator.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#if SY_TCMALLOC
#include <gperftools/malloc_extension_c.h>
#endif

namespace switchyard {
namespace {

#if SY_TCMALLOC

std::size_t property(const char* name) {
  std::size_t value = 0;
  EXPECT_EQ(MallocExtension_GetNumericProperty(name, &value), 1) << name;
  return value;
}

TEST(AllocatorTest, NewAndMallocGoToTcmalloc) {
  EXPECT_EQ(allocatorName(), "tcmalloc");
  const auto before = allocatedBytes();
  ASSERT_TRUE(before.has_value());
  constexpr std::size_t kSize = 8 << 20;
  auto block = std::make_unique<char[]>(kSize);  // operator new[]
  std::memset(block.get(), 1, kSize);
  void* raw = std::malloc(kSize);
  ASSERT_NE(raw, nullptr);
  std::memset(raw, 2, kSize);
  // Only tcmalloc's own counter sees both: had either gone to glibc, it would not have moved.
  EXPECT_GE(*allocatedBytes(), *before + 2 * kSize);
  std::free(raw);
  block.reset();
  EXPECT_LT(*allocatedBytes(), *before + kSize);
}

TEST(AllocatorTest, ReleaseFreeMemoryReturnsFreedPagesToTheSystem) {
  constexpr std::size_t kSize = 64 << 20;
  void* big = std::malloc(kSize);
  ASSERT_NE(big, nullptr);
  std::memset(big, 3, kSize);
  std::free(big);
  releaseFreeMemory();
  // What tcmalloc still holds without using it is below the block it just freed: the pages went
  // back to the kernel (counted as unmapped), not kept for reuse.
  EXPECT_LT(property("tcmalloc.pageheap_free_bytes"), kSize / 2);
  EXPECT_GE(property("tcmalloc.pageheap_unmapped_bytes"), kSize / 2);
}

#else

TEST(AllocatorTest, SystemAllocator) {
  EXPECT_EQ(allocatorName(), "system");
  EXPECT_FALSE(allocatedBytes().has_value());
  releaseFreeMemory();  // a no-op, never a crash
}

#endif

}  // namespace
}  // namespace switchyard
