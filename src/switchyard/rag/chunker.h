#pragma once
// Chunker: cuts a ParsedDocument into retrieval chunks along its structure. A heading starts a
// new chunk and names the section of what follows ("Setup > Linux"); a PDF page break starts a
// new chunk; paragraphs are packed up to `chunk_tokens`; a paragraph longer than that is cut into
// windows. Consecutive chunks of one section share `overlap_tokens` of text. Sizes are counted
// with the caller's TokenCounter (the embedding model's tokenizer, or estimateTokens()).
// Pure functions: thread-safe when the counter is.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/rag/document.h"

namespace switchyard::rag {

using TokenCounter = std::function<std::size_t(std::string_view)>;

// A word-based estimate: about 4/3 tokens per whitespace-separated word (English BPE average).
std::size_t estimateTokens(std::string_view text);

struct ChunkOptions {
  int chunk_tokens = 256;
  int overlap_tokens = 32;
};

struct Chunk {
  std::string text;
  std::string section;  // heading path, " > " separated; "" before the first heading
  int page = 0;         // first page of the chunk (PDF), else 0
  int tokens = 0;
};

std::vector<Chunk> chunkDocument(const ParsedDocument& doc, const ChunkOptions& options,
                                 const TokenCounter& count = estimateTokens);

}  // namespace switchyard::rag
