#include "switchyard/rag/chunker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace switchyard::rag {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// One token per word: easy arithmetic.
std::size_t wordCount(std::string_view text) {
  std::size_t n = 0;
  bool in = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

std::string numbered(std::string_view prefix, int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) {
    if (!out.empty()) out += ' ';
    out += std::string(prefix) + std::to_string(i);
  }
  return out;
}

Block heading(int level, std::string text) { return {Block::Kind::kHeading, level, text, 0}; }
Block para(std::string text, int page = 0) {
  return {Block::Kind::kParagraph, 0, std::move(text), page};
}

TEST(ChunkerTest, EstimateTokens) {
  EXPECT_EQ(estimateTokens(""), 0u);
  EXPECT_EQ(estimateTokens("one"), 2u);  // rounded up
  EXPECT_EQ(estimateTokens("one two three"), 4u);
  EXPECT_EQ(estimateTokens("  a  b\nc d e f "), 8u);
}

TEST(ChunkerTest, HeadingsStartChunksAndNameSections) {
  ParsedDocument doc;
  doc.blocks = {para("preface text"),
                heading(1, "Setup"),
                para("install it"),
                heading(2, "Linux"),
                para("use apt"),
                heading(2, "Windows"),
                para("use msi"),
                heading(1, "Usage"),
                para("run it")};
  auto chunks = chunkDocument(doc, {100, 10}, wordCount);
  ASSERT_EQ(chunks.size(), 5u);
  EXPECT_EQ(chunks[0].section, "");
  EXPECT_EQ(chunks[0].text, "preface text");
  EXPECT_EQ(chunks[1].section, "Setup");
  EXPECT_EQ(chunks[2].section, "Setup > Linux");
  EXPECT_EQ(chunks[2].text, "use apt");
  EXPECT_EQ(chunks[3].section, "Setup > Windows");
  EXPECT_EQ(chunks[4].section, "Usage");
  EXPECT_EQ(chunks[4].tokens, 2);
}

TEST(ChunkerTest, ParagraphsPackUpToTheBudgetWithOverlap) {
  ParsedDocument doc;
  for (int i = 0; i < 10; ++i) doc.blocks.push_back(para(numbered("p" + std::to_string(i) + "w", 0, 30)));
  auto chunks = chunkDocument(doc, {100, 10}, wordCount);
  ASSERT_GE(chunks.size(), 4u);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].tokens, 100) << i;
    EXPECT_EQ(chunks[i].tokens, static_cast<int>(wordCount(chunks[i].text)));
  }
  // The next chunk starts with the previous chunk's last 10 words.
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    const std::string& prev = chunks[i - 1].text;
    const std::string tail = prev.substr(prev.size() - std::string("p0w29").size());
    EXPECT_THAT(chunks[i].text, StartsWith(numbered(tail.substr(0, 3), 20, 30))) << i;
  }
  // Nothing lost: every paragraph's last word appears somewhere.
  std::string all;
  for (const Chunk& c : chunks) all += c.text + " ";
  for (int i = 0; i < 10; ++i) EXPECT_THAT(all, HasSubstr("p" + std::to_string(i) + "w29"));
}

TEST(ChunkerTest, LongParagraphIsWindowedWithOverlap) {
  ParsedDocument doc;
  doc.blocks = {heading(1, "Big"), para(numbered("w", 0, 250))};
  auto chunks = chunkDocument(doc, {100, 20}, wordCount);
  ASSERT_EQ(chunks.size(), 3u);  // 0-99, 80-179, 160-249
  EXPECT_THAT(chunks[0].text, StartsWith("w0 w1"));
  EXPECT_THAT(chunks[1].text, StartsWith("w80 w81"));
  EXPECT_THAT(chunks[2].text, StartsWith("w160 "));
  EXPECT_THAT(chunks[2].text, ::testing::EndsWith("w249"));
  for (const Chunk& c : chunks) {
    EXPECT_EQ(c.section, "Big");
    EXPECT_LE(c.tokens, 100);
  }
}

TEST(ChunkerTest, PageBreaksStartChunks) {
  ParsedDocument doc;
  doc.blocks = {para("one", 1), para("two", 1), para("three", 2)};
  auto chunks = chunkDocument(doc, {100, 10}, wordCount);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "one\n\ntwo");
  EXPECT_EQ(chunks[0].page, 1);
  EXPECT_EQ(chunks[1].text, "three");
  EXPECT_EQ(chunks[1].page, 2);
}

TEST(ChunkerTest, UsesTheGivenTokenizer) {
  ParsedDocument doc;
  doc.blocks = {para("aaaa bbbb"), para("cccc dddd")};
  // A tokenizer that sees one token per character: 9 tokens per paragraph, budget 12.
  auto chars = [](std::string_view t) { return t.size(); };
  EXPECT_EQ(chunkDocument(doc, {12, 0}, chars).size(), 2u);
  EXPECT_EQ(chunkDocument(doc, {12, 0}, wordCount).size(), 1u);
}

TEST(ChunkerTest, EmptyDocumentHasNoChunks) {
  EXPECT_TRUE(chunkDocument(ParsedDocument{}, {}, wordCount).empty());
  ParsedDocument headings_only;
  headings_only.blocks = {heading(1, "A"), heading(2, "B")};
  EXPECT_TRUE(chunkDocument(headings_only, {}, wordCount).empty());
}

}  // namespace
}  // namespace switchyard::rag
