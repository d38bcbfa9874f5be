#pragma once
// HostPromptCache: KV state of sequences evicted from the llama_context, kept in host RAM so a
// later request with the same prefix restores it instead of recomputing it. Bounded in bytes,
// least recently used out first. Not thread-safe (the engine thread owns it).

#include <cstddef>
#include <cstdint>
#include <list>
#include <span>
#include <vector>

namespace switchyard::engine {

using TokenSeq = std::vector<std::int32_t>;

// The LoRA adapter set a sequence's KV was computed with: one scale per loaded adapter, empty for
// the base model. KV is shared only between equal sets.
using AdapterKey = std::vector<float>;

// Length of the common prefix of two token sequences.
std::size_t commonPrefix(std::span<const std::int32_t> a, std::span<const std::int32_t> b);

class HostPromptCache {
 public:
  struct Entry {
    TokenSeq tokens;                  // the tokens whose KV `state` holds
    std::vector<std::uint8_t> state;  // llama_state_seq_get_data()
    AdapterKey adapters;              // the adapter set `state` was computed with
  };

  explicit HostPromptCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // Keeps `entry`, evicting the least recently used ones to make room. An entry that is a prefix
  // of the new one is dropped (the new one covers it); a new one that is a prefix of a kept one
  // is not stored (among entries of the same adapter set). Returns false when it is not stored.
  bool insert(Entry entry);

  // The entry of adapter set `adapters` sharing the longest prefix with `prompt`: its position
  // for take() and the prefix length; {npos, 0} when none shares anything.
  struct Match {
    std::size_t index = static_cast<std::size_t>(-1);
    std::size_t prefix = 0;
  };
  Match findBest(std::span<const std::int32_t> prompt, const AdapterKey& adapters = {}) const;

  // Removes and returns the entry at `index` (from findBest).
  Entry take(std::size_t index);

  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::size_t maxBytes() const { return max_bytes_; }

 private:
  static std::size_t cost(const Entry& e) {
    return e.state.size() + e.tokens.size() * sizeof(std::int32_t);
  }
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::list<Entry> entries_;  // most recently used first
};

}  // namespace switchyard::engine
