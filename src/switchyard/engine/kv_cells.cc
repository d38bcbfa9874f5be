#include "switchyard/engine/kv_cells.h"

#include <algorithm>

#include "switchyard/core/check.h"

namespace switchyard::engine {

KvCellBook::Cell KvCellBook::add() {
  Cell cell;
  if (free_.empty()) {
    cell = static_cast<Cell>(refs_.size());
    refs_.push_back(0);
  } else {
    cell = free_.back();
    free_.pop_back();
  }
  refs_[cell] = 1;
  ++used_;
  return cell;
}

void KvCellBook::share(Cell cell) {
  SY_DCHECK(cell < refs_.size() && refs_[cell] > 0);
  ++refs_[cell];
}

void KvCellBook::release(Cell cell) {
  SY_DCHECK(cell < refs_.size() && refs_[cell] > 0);
  if (--refs_[cell] == 0) {
    free_.push_back(cell);
    --used_;
  }
}

std::size_t KvCellBook::distinct(std::span<const std::span<const Cell>> cells) {
  if (seen_.size() < refs_.size()) seen_.resize(refs_.size(), 0);
  ++generation_;
  std::size_t n = 0;
  for (const auto& seq : cells) {
    for (const Cell c : seq) {
      if (seen_[c] != generation_) {
        seen_[c] = generation_;
        ++n;
      }
    }
  }
  return n;
}

bool kvPrefixUsable(std::int32_t pos_min, std::int32_t pos_max, std::size_t keep, int n_swa) {
  if (keep == 0) return true;
  const auto last = static_cast<std::int64_t>(keep) - 1;
  if (pos_min < 0 || pos_max != last) return false;
  const auto window = static_cast<std::int64_t>(std::max(1, n_swa));
  return pos_min <= std::max<std::int64_t>(0, last + 1 - window);
}

}  // namespace switchyard::engine
