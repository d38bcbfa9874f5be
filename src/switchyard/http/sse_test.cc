#include "switchyard/http/sse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace switchyard::http {
namespace {

struct Seen {
  std::string event;
  std::string data;
  std::string id;
  std::optional<std::uint64_t> retry;

  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "{event=" << s.event << " data=" << s.data << " id=" << s.id << "}";
}

std::vector<Seen> parseInPieces(std::string_view stream, const std::vector<std::size_t>& cuts,
                                bool finish = false) {
  SseParser parser;
  std::vector<Seen> out;
  auto collect = [&](const SseEvent& e) { out.push_back({e.event, e.data, e.id, e.retry}); };
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    parser.feed(stream.substr(start, cut - start), collect);
    start = cut;
  }
  parser.feed(stream.substr(start), collect);
  if (finish) parser.finish(collect);
  return out;
}

std::vector<Seen> parseWhole(std::string_view stream, bool finish = false) {
  return parseInPieces(stream, {}, finish);
}

TEST(SseParserTest, ParsesSingleEvent) {
  auto events = parseWhole("data: hello\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "hello");
  EXPECT_EQ(events[0].event, "");
}

TEST(SseParserTest, JoinsMultiLineDataWithNewlines) {
  auto events = parseWhole("data: one\ndata:two\ndata:  three\n\n");
  ASSERT_EQ(events.size(), 1u);
  // Exactly one leading space is removed.
  EXPECT_EQ(events[0].data, "one\ntwo\n three");
}

TEST(SseParserTest, HandlesAllLineEndings) {
  const std::vector<Seen> expected = {{"", "a\nb", "", {}}, {"", "c", "", {}}};
  EXPECT_EQ(parseWhole("data: a\ndata: b\n\ndata: c\n\n"), expected);
  EXPECT_EQ(parseWhole("data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"), expected);
  EXPECT_EQ(parseWhole("data: a\rdata: b\r\rdata: c\r\r"), expected);
  EXPECT_EQ(parseWhole("data: a\r\ndata: b\r\rdata: c\n\r\n"), expected);
}

TEST(SseParserTest, CrLfSplitAcrossChunksIsOneLineEnding) {
  // Were the '\n' taken as a second line ending, "a" would be dispatched on its own.
  auto events = parseInPieces("data: a\r\ndata: b\r\n\r\n", {8});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\nb");
}

TEST(SseParserTest, IgnoresCommentsAndUnknownFields) {
  auto events = parseWhole(": keep-alive\nfoo: bar\ndata: x\n: another\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParserTest, EventNamesApplyToOneEventAndIdsPersist) {
  auto events = parseWhole(
      "event: message_start\nid: 7\ndata: {}\n\n"
      "data: second\n\n"
      "event: ping\n\n"  // no data: not dispatched, and the name does not carry over
      "data: third\nretry: 1500\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], (Seen{"message_start", "{}", "7", {}}));
  EXPECT_EQ(events[1], (Seen{"", "second", "7", {}}));
  EXPECT_EQ(events[2], (Seen{"", "third", "7", 1500u}));
}

TEST(SseParserTest, FieldWithoutColonAndEmptyData) {
  // "data" alone is a data field with an empty value; an empty data buffer still dispatches.
  auto events = parseWhole("data\n\ndata:\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "");
  EXPECT_EQ(events[1].data, "");
}

TEST(SseParserTest, BlankLinesWithoutDataDispatchNothing) {
  EXPECT_TRUE(parseWhole("\n\n\r\n: c\n\n").empty());
}

TEST(SseParserTest, InvalidRetryIsIgnored) {
  auto events = parseWhole("retry: 12a\ndata: x\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].retry.has_value());
}

TEST(SseParserTest, StripsLeadingByteOrderMarkEvenWhenSplit) {
  const std::string stream =
      "\xEF\xBB\xBF"
      "data: x\n\n";
  for (std::size_t cut = 0; cut <= 4; ++cut) {
    auto events = parseInPieces(stream, {cut});
    ASSERT_EQ(events.size(), 1u) << cut;
    EXPECT_EQ(events[0].data, "x") << cut;
  }
  // Only at the very start: later it is data.
  auto events = parseWhole(
      "data: a\n\ndata: \xEF\xBB\xBF"
      "b\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data,
            "\xEF\xBB\xBF"
            "b");
}

TEST(SseParserTest, FinishDispatchesAnUnterminatedEvent) {
  EXPECT_TRUE(parseWhole("data: [DONE]\n").empty());
  auto events = parseWhole("data: [DONE]\n", /*finish=*/true);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "[DONE]");
  events = parseWhole("data: [DONE]", /*finish=*/true);  // no line ending at all
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "[DONE]");
  EXPECT_TRUE(parseWhole("event: x\n", /*finish=*/true).empty());
}

TEST(SseParserTest, ResetForgetsPartialInputAndId) {
  SseParser parser;
  std::vector<std::string> data;
  parser.feed("id: 1\ndata: partial", [&](const SseEvent& e) { data.push_back(e.data); });
  EXPECT_GT(parser.pendingBytes(), 0u);
  parser.reset();
  EXPECT_EQ(parser.pendingBytes(), 0u);
  std::string id = "unset";
  parser.feed("data: fresh\n\n", [&](const SseEvent& e) {
    data.push_back(e.data);
    id = e.id;
  });
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0], "fresh");
  EXPECT_EQ(id, "");
}

std::string sampleStream() {
  std::string s = "\xEF\xBB\xBF: opening comment\r\n";
  s += "retry: 3000\n";
  s += "event: message_start\r\nid: abc\r\ndata: {\"type\":\"message_start\"}\r\n\r\n";
  s += "data: line1\rdata: line2\r\r";
  s += "data:{\"choices\":[{\"delta\":{\"content\":\"h\\u00e9llo \xE2\x9C\x93\"}}]}\n\n";
  s += ": ping\n\n";
  s += "event: ping\ndata\n\n";
  s += "data:  two spaces\r\nid\r\ndata: after empty id\r\n\r\n";
  s += "data: [DONE]\n\n";
  return s;
}

TEST(SseParserTest, RandomSplitPointsGiveTheSameEvents) {
  const std::string stream = sampleStream();
  const auto expected = parseWhole(stream);
  ASSERT_EQ(expected.size(), 6u);
  EXPECT_EQ(expected[0], (Seen{"message_start", R"({"type":"message_start"})", "abc", 3000u}));
  EXPECT_EQ(expected[1], (Seen{"", "line1\nline2", "abc", {}}));
  EXPECT_EQ(expected[3], (Seen{"ping", "", "abc", {}}));
  EXPECT_EQ(expected[4], (Seen{"", " two spaces\nafter empty id", "", {}}));
  EXPECT_EQ(expected[5].data, "[DONE]");

  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    std::uniform_int_distribution<std::size_t> count_dist(1, 12);
    std::uniform_int_distribution<std::size_t> pos_dist(0, stream.size());
    std::vector<std::size_t> cuts(count_dist(rng));
    for (auto& c : cuts) c = pos_dist(rng);
    std::sort(cuts.begin(), cuts.end());
    ASSERT_EQ(parseInPieces(stream, cuts), expected) << "round " << round;
  }
}

TEST(SseParserTest, ByteByByteGivesTheSameEvents) {
  const std::string stream = sampleStream();
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(parseInPieces(stream, cuts), parseWhole(stream));
}

TEST(AppendSseEventTest, FramesDataAndEventName) {
  std::string out;
  appendSseEvent(out, R"({"a":1})");
  EXPECT_EQ(out, "data: {\"a\":1}\n\n");
  out.clear();
  appendSseEvent(out, "x", "content_block_delta");
  EXPECT_EQ(out, "event: content_block_delta\ndata: x\n\n");
  out.clear();
  appendSseEvent(out, "a\nb\r\nc\rd");
  EXPECT_EQ(out, "data: a\ndata: b\ndata: c\ndata: d\n\n");
  out.clear();
  appendSseEvent(out, "");
  EXPECT_EQ(out, "data: \n\n");
  out = "prefix|";
  appendSseEvent(out, "y", "bad\r\nname");
  EXPECT_EQ(out, "prefix|event: badname\ndata: y\n\n");
}

TEST(AppendSseEventTest, RoundTripsThroughTheParser) {
  std::mt19937 rng(7);
  const std::string alphabet = "ab \n\r:{}\"";
  for (int round = 0; round < 500; ++round) {
    std::uniform_int_distribution<std::size_t> len_dist(0, 24);
    std::uniform_int_distribution<std::size_t> char_dist(0, alphabet.size() - 1);
    std::string data(len_dist(rng), ' ');
    for (char& c : data) c = alphabet[char_dist(rng)];
    std::string stream;
    appendSseEvent(stream, data, "evt");
    appendSseEvent(stream, "second");

    // Any line break reads back as '\n'.
    std::string normalized;
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (data[i] == '\r') {
        normalized += '\n';
        if (i + 1 < data.size() && data[i + 1] == '\n') ++i;
      } else {
        normalized += data[i];
      }
    }
    auto events = parseWhole(stream);
    ASSERT_EQ(events.size(), 2u) << "data: " << data;
    EXPECT_EQ(events[0].event, "evt");
    EXPECT_EQ(events[0].data, normalized);
    EXPECT_EQ(events[1].data, "second");
  }
}

}  // namespace
}  // namespace switchyard::http
