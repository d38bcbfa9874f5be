#include "switchyard/engine/stop_matcher.h"

#include <gtest/gtest.h>

namespace switchyard::engine {
namespace {

std::string feedAll(StopMatcher& m, std::initializer_list<std::string_view> pieces,
                    bool* stopped = nullptr) {
  std::string out;
  for (auto p : pieces) {
    auto o = m.feed(p);
    out += o.text;
    if (o.stopped) {
      if (stopped) *stopped = true;
      return out;
    }
  }
  if (stopped) *stopped = false;
  return out + m.flush();
}

TEST(StopMatcherTest, PassesTextThroughWithoutStops) {
  StopMatcher m({});
  EXPECT_EQ(m.feed("hello").text, "hello");
  EXPECT_EQ(m.feed(" world").text, " world");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcherTest, StopInsideOnePiece) {
  StopMatcher m({"END"});
  bool stopped = false;
  EXPECT_EQ(feedAll(m, {"abcENDxyz"}, &stopped), "abc");
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(m.feed("more").text.empty());
}

TEST(StopMatcherTest, StopAcrossTokenBoundariesIsHeldBackThenCut) {
  StopMatcher m({"</answer>"});
  auto a = m.feed("42 </");
  EXPECT_EQ(a.text, "42 ");  // "</" could start the stop string
  EXPECT_FALSE(a.stopped);
  auto b = m.feed("ans");
  EXPECT_EQ(b.text, "");
  auto c = m.feed("wer> trailing");
  EXPECT_TRUE(c.stopped);
  EXPECT_EQ(c.text, "");
}

TEST(StopMatcherTest, FalseStartIsReleased) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.feed("ST").text, "");
  EXPECT_EQ(m.feed("ART").text, "START");
  bool stopped = true;
  StopMatcher m2({"STOP"});
  EXPECT_EQ(feedAll(m2, {"a S", "TO"}, &stopped), "a STO");  // flushed at the end
  EXPECT_FALSE(stopped);
}

TEST(StopMatcherTest, EarliestOfSeveralStopsWins) {
  StopMatcher m({"bb", "a"});
  bool stopped = false;
  EXPECT_EQ(feedAll(m, {"xxbbya"}, &stopped), "xx");
  EXPECT_TRUE(stopped);
  EXPECT_EQ(m.matched(), "bb");  // the one found, not the first listed
}

TEST(StopMatcherTest, MatchedNamesTheStopFound) {
  StopMatcher m({"", "END", "EN"});  // empty strings are dropped, not matched
  EXPECT_EQ(m.matched(), "");
  (void)m.feed("abc E");
  EXPECT_EQ(m.matched(), "");  // only a possible start so far
  EXPECT_TRUE(m.feed("ND").stopped);
  EXPECT_EQ(m.matched(), "END");  // both start at one place: the one listed first
}

TEST(StopMatcherTest, HoldsBackSplitUtf8) {
  // "é" is C3 A9; "€" is E2 82 AC.
  StopMatcher m({});
  EXPECT_EQ(m.feed("caf\xC3").text, "caf");
  EXPECT_EQ(m.feed("\xA9 \xE2\x82").text, "\xC3\xA9 ");
  EXPECT_EQ(m.feed("\xAC").text, "\xE2\x82\xAC");
}

TEST(StopMatcherTest, IncompleteUtf8Tail) {
  EXPECT_EQ(incompleteUtf8Tail(""), 0u);
  EXPECT_EQ(incompleteUtf8Tail("abc"), 0u);
  EXPECT_EQ(incompleteUtf8Tail("a\xC3"), 1u);
  EXPECT_EQ(incompleteUtf8Tail("a\xC3\xA9"), 0u);
  EXPECT_EQ(incompleteUtf8Tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incompleteUtf8Tail("\xF0\x9F\x98\x80"), 0u);
}

}  // namespace
}  // namespace switchyard::engine
