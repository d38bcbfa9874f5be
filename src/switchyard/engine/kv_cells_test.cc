#include "switchyard/engine/kv_cells.h"

#include <gtest/gtest.h>

#include <vector>

namespace switchyard::engine {
namespace {

using Cell = KvCellBook::Cell;

TEST(KvCellBookTest, SharedCellsCountOnceAndFreeWithTheLastHolder) {
  KvCellBook book;
  std::vector<Cell> a;
  for (int i = 0; i < 10; ++i) a.push_back(book.add());
  EXPECT_EQ(book.used(), 10u);

  // b shares a's first 6 cells and computes 3 of its own.
  std::vector<Cell> b(a.begin(), a.begin() + 6);
  for (Cell c : b) book.share(c);
  for (int i = 0; i < 3; ++i) b.push_back(book.add());
  EXPECT_EQ(book.used(), 13u);
  EXPECT_EQ(book.refs(a[0]), 2u);
  EXPECT_EQ(book.refs(a[9]), 1u);

  // a lets go of everything: only b's 9 remain.
  for (Cell c : a) book.release(c);
  EXPECT_EQ(book.used(), 9u);
  EXPECT_EQ(book.refs(a[0]), 1u);
  EXPECT_EQ(book.refs(a[9]), 0u);

  for (Cell c : b) book.release(c);
  EXPECT_EQ(book.used(), 0u);
}

TEST(KvCellBookTest, FreedIdsAreReused) {
  KvCellBook book;
  const Cell x = book.add();
  const Cell y = book.add();
  book.release(x);
  const Cell z = book.add();
  EXPECT_EQ(z, x);
  EXPECT_NE(z, y);
  EXPECT_EQ(book.used(), 2u);
  EXPECT_EQ(book.refs(z), 1u);
}

TEST(KvCellBookTest, DistinctCountsEachCellOnceAcrossSequences) {
  KvCellBook book;
  std::vector<Cell> a, b, c;
  for (int i = 0; i < 5; ++i) a.push_back(book.add());
  b = {a[0], a[1], a[2]};
  for (Cell x : b) book.share(x);
  b.push_back(book.add());
  c.push_back(book.add());
  const std::vector<std::span<const Cell>> ab = {a, b};
  EXPECT_EQ(book.distinct(ab), 6u);
  const std::vector<std::span<const Cell>> bc = {b, c};
  EXPECT_EQ(book.distinct(bc), 5u);
  // Repeated calls do not remember earlier ones.
  EXPECT_EQ(book.distinct(ab), 6u);
  const std::vector<std::span<const Cell>> none;
  EXPECT_EQ(book.distinct(none), 0u);
  EXPECT_EQ(book.used(), 7u);
}

TEST(KvPrefixUsableTest, FullAttentionKeepsEveryPrefix) {
  EXPECT_TRUE(kvPrefixUsable(0, 999, 1000, 0));
  EXPECT_TRUE(kvPrefixUsable(-1, -1, 0, 0));      // nothing kept, nothing needed
  EXPECT_FALSE(kvPrefixUsable(-1, -1, 10, 0));    // the sequence holds nothing it claims to
  EXPECT_FALSE(kvPrefixUsable(0, 899, 1000, 0));  // it ends before the kept prefix does
}

TEST(KvPrefixUsableTest, SlidingWindowNeedsTheLastWindowOfTheKeptPrefix) {
  // Window 512: after trimming to 2000 tokens, positions 1488..1999 must still be there.
  EXPECT_TRUE(kvPrefixUsable(1488, 1999, 2000, 512));
  EXPECT_TRUE(kvPrefixUsable(1000, 1999, 2000, 512));
  EXPECT_FALSE(kvPrefixUsable(1489, 1999, 2000, 512));
  // A short prefix inside the window needs everything from position 0.
  EXPECT_TRUE(kvPrefixUsable(0, 299, 300, 512));
  EXPECT_FALSE(kvPrefixUsable(5, 299, 300, 512));
  // A restored host-cache entry holds only the window before its own end: cut to 173 tokens it
  // holds 84..115 (seen with a 32-token window), not 141..172.
  EXPECT_FALSE(kvPrefixUsable(84, 115, 173, 32));
}

TEST(KvPrefixUsableTest, RecurrentStateIsUsableOnlyWhereItEnds) {
  // Recurrent memory holds one position, the last one; window counts as 1.
  EXPECT_TRUE(kvPrefixUsable(99, 99, 100, 0));
  EXPECT_FALSE(kvPrefixUsable(149, 149, 100, 0));
}

}  // namespace
}  // namespace switchyard::engine
