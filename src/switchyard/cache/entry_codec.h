#pragma once
// The response cache's entries as bytes, for the tier that several gateways share (Redis):
// every field of a whole answer, a stream's chunks (with the upstream's JSON of each) or
// embeddings, and who answered when, so an answer read back is the one that was stored —
// fields that only some APIs carry (Anthropic's thinking signatures, cache-control markers,
// logprobs, pass-through extras) included.
//
// The format: "SYCE" and a version byte, then tagged values (varint lengths and integers,
// zigzag for signed ones, IEEE floats little-endian, JSON values as their text). A reader of
// another version, or of bytes that are not a whole entry, gets an error, never a partial
// entry. Thread-compatible (pure functions).

#include <chrono>
#include <string>
#include <string_view>

#include "switchyard/cache/response_cache.h"
#include "switchyard/core/status.h"

namespace switchyard::cache {

struct DecodedEntry {
  // `stored` and `bytes` are the reader's to set (ResponseCache::insert).
  Entry entry;
  // When the answer was stored, on the wall clock.
  std::chrono::system_clock::time_point stored;
};

// `stored`: when the entry was stored, on the wall clock (gateways do not share a steady one).
std::string encodeEntry(const Entry& entry, std::chrono::system_clock::time_point stored);

// kInvalidArgument naming what is wrong when `bytes` are not an entry of this format version.
Result<DecodedEntry> decodeEntry(std::string_view bytes);

}  // namespace switchyard::cache
