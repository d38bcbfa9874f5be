// The bytes of a response cache entry as read back from Redis (cache.redis): another gateway,
// another version, or anyone with write access to that database may have put them there.
//
// Properties: nothing crashes, hangs, leaks or trips UBSan, whatever the bytes; an accepted
// entry encodes again to bytes that decode, and from then on encoding is a fixed point (the
// first pass may only normalise JSON text), so nothing the reader accepts is lost or changed on
// the way back.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/cache/entry_codec.h"
#include "tests/fuzz/fuzz_support.h"

namespace cache = switchyard::cache;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = cache::decodeEntry(bytes);
  if (!decoded) {
    SY_FUZZ_CHECK_MSG(!decoded.error().message().empty(), "an error without a message");
    return 0;
  }
  const std::string once = cache::encodeEntry(decoded->entry, decoded->stored);
  auto again = cache::decodeEntry(once);
  SY_FUZZ_CHECK_MSG(again.has_value(), again ? std::string() : again.error().message());
  SY_FUZZ_CHECK(again->stored == decoded->stored);
  const std::string twice = cache::encodeEntry(again->entry, again->stored);
  SY_FUZZ_CHECK(twice == once);
  return 0;
}
