#pragma once
// KvCellBook: the KV cells that the engine's sequences hold in llama.cpp's unified cache, counted
// the way that cache counts them. A sequence refers to one cell per position. A cell computed
// once and then shared with another sequence (llama_memory_seq_cp on one unified cache adds the
// sequence to the cell; nothing is copied) is one cell however many sequences refer to it, and it
// is free again when the last one lets go. Not thread-safe (the engine thread owns it).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace switchyard::engine {

class KvCellBook {
 public:
  using Cell = std::uint32_t;

  // A newly computed cell, referred to once.
  Cell add();
  // One more sequence refers to `cell`.
  void share(Cell cell);
  // One fewer sequence refers to `cell`; at none it is free.
  void release(Cell cell);

  // Cells at least one sequence refers to.
  std::size_t used() const { return used_; }
  // Distinct cells among `cells` (e.g. those of the running sequences): each counted once.
  std::size_t distinct(std::span<const std::span<const Cell>> cells);
  std::uint32_t refs(Cell cell) const { return cell < refs_.size() ? refs_[cell] : 0; }

 private:
  std::vector<std::uint32_t> refs_;  // by cell id; ids are reused once free
  std::vector<Cell> free_;
  std::size_t used_ = 0;
  std::vector<std::uint64_t> seen_;  // distinct(): one mark per cell id, by generation
  std::uint64_t generation_ = 0;
};

// Whether a sequence trimmed to its first `keep` tokens still holds the KV that decoding its next
// token needs: positions keep - n_swa .. keep - 1 (all of them without a window). A
// sliding-window cache may overwrite cells that fell out of the window and saves only those inside
// it (a host-cache entry restored and cut short lacks the end of the kept prefix); recurrent state
// exists for the last position only. `pos_min`/`pos_max` are the lowest/highest positions the
// trimmed sequence holds (-1: none), `n_swa` the model's window (0: none). llama-server checks
// pos_min alone; pos_max catches the restored state.
bool kvPrefixUsable(std::int32_t pos_min, std::int32_t pos_max, std::size_t keep, int n_swa);

}  // namespace switchyard::engine
