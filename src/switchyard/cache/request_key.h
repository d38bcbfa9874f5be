#pragma once
// CacheKey: what identifies a request for the response cache. A SHA-256 over everything that
// shapes the answer (the deployment it was planned to, the scope that may share it, and every
// field of the request but the ones that only shape the framing: `stream`,
// `stream_options.include_usage` and the model name, which the deployment stands for), each
// field tagged and length-prefixed, so two requests share a key only when they are the same
// request. A cryptographic hash, because with a shared scope a collision would hand one caller
// another's answer.

#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "switchyard/api/types.h"

namespace switchyard::cache {

struct CacheKey {
  std::array<unsigned char, 32> digest{};

  bool operator==(const CacheKey&) const = default;
};

struct CacheKeyHash {
  std::size_t operator()(const CacheKey& key) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, key.digest.data(), sizeof h);  // already uniformly distributed
    return h;
  }
};

// Where a request was planned to (the primary candidate), and who may share its answer.
struct KeyContext {
  std::string_view scope;     // "key:<id>", "team:<name>", "global"
  std::string_view provider;  // the plan's first deployment
  std::string_view model;
  bool stream = false;  // a streamed answer is kept as its chunks, apart from a whole one
};

CacheKey chatKey(const KeyContext& where, const api::ChatRequest& request);
CacheKey embeddingKey(const KeyContext& where, const api::EmbeddingRequest& request);

}  // namespace switchyard::cache
