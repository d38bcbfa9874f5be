// Documents as RAG ingestion reads them: plain text, Markdown and HTML (libxml2 underneath),
// then the chunker, with a small budget so that long paragraphs are cut into windows.
//
// Properties: nothing crashes, leaks or trips UBSan; no chunk is empty or over a page count it
// cannot have; no word of a paragraph is lost: each one is in some chunk.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "switchyard/rag/chunker.h"
#include "switchyard/rag/document.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace rag = switchyard::rag;

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (at < text.size()) {
    while (at < text.size() && space(text[at])) ++at;
    const std::size_t start = at;
    while (at < text.size() && !space(text[at])) ++at;
    if (at > start) out.push_back(text.substr(start, at - start));
  }
  return out;
}

void check(const rag::ParsedDocument& doc) {
  const rag::ChunkOptions options{.chunk_tokens = 12, .overlap_tokens = 3};
  const std::vector<rag::Chunk> chunks = rag::chunkDocument(doc, options);
  std::unordered_set<std::string_view> seen;
  for (const rag::Chunk& c : chunks) {
    SY_FUZZ_CHECK(!c.text.empty());
    SY_FUZZ_CHECK(c.page >= 0);
    for (std::string_view w : words(c.text)) seen.insert(w);
  }
  for (const rag::Block& b : doc.blocks) {
    if (b.kind != rag::Block::Kind::kParagraph) continue;
    for (std::string_view w : words(b.text)) SY_FUZZ_CHECK_MSG(seen.contains(w), w);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  check(rag::parseText(content));
  check(rag::parseMarkdown(content));
  if (auto html = rag::parseHtml(content)) check(*html);
  return 0;
}
