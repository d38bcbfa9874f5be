#include "switchyard/engine/prompt_cache.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace switchyard::engine {

std::size_t commonPrefix(std::span<const std::int32_t> a, std::span<const std::int32_t> b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

bool HostPromptCache::insert(Entry entry) {
  const std::size_t c = cost(entry);
  if (entry.tokens.empty() || c > max_bytes_) return false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->adapters != entry.adapters) {
      ++it;
      continue;
    }
    const std::size_t common = commonPrefix(it->tokens, entry.tokens);
    if (common == entry.tokens.size()) return false;  // already covered
    if (common == it->tokens.size()) {
      bytes_ -= cost(*it);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  while (!entries_.empty() && bytes_ + c > max_bytes_) {
    bytes_ -= cost(entries_.back());
    entries_.pop_back();
  }
  bytes_ += c;
  entries_.push_front(std::move(entry));
  return true;
}

HostPromptCache::Match HostPromptCache::findBest(std::span<const std::int32_t> prompt,
                                                 const AdapterKey& adapters) const {
  Match best;
  std::size_t i = 0;
  for (const auto& e : entries_) {
    const std::size_t common = e.adapters == adapters ? commonPrefix(e.tokens, prompt) : 0;
    if (common > best.prefix) best = {i, common};
    ++i;
  }
  return best;
}

HostPromptCache::Entry HostPromptCache::take(std::size_t index) {
  auto it = std::next(entries_.begin(), static_cast<std::ptrdiff_t>(index));
  Entry e = std::move(*it);
  bytes_ -= cost(e);
  entries_.erase(it);
  return e;
}

}  // namespace switchyard::engine
