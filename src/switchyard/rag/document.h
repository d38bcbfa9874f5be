#pragma once
// Document parsing for RAG ingestion: plain text, Markdown, HTML (libxml2's HTML parser) and PDF
// (poppler) become one ParsedDocument, a flat list of structural blocks (headings, paragraphs)
// with page numbers, that the chunker cuts into pieces. Pure functions: thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::rag {

enum class Format { kText, kMarkdown, kHtml, kPdf };

std::string_view formatName(Format format);
// "text" | "txt" | "markdown" | "md" | "html" | "htm" | "pdf" (any case); nullopt otherwise.
Result<Format> parseFormat(std::string_view name);
// From a file name's extension (.md .markdown .html .htm .xhtml .pdf; anything else: text).
Format formatForPath(std::string_view path);

struct Block {
  enum class Kind { kHeading, kParagraph };
  Kind kind = Kind::kParagraph;
  int level = 0;  // kHeading: 1..6
  std::string text;
  int page = 0;  // 1-based for PDF pages; 0 when the format has none
};

struct ParsedDocument {
  std::string title;  // <title>, PDF Title, first level-1 heading, or ""
  std::vector<Block> blocks;
};

// Parses `content` (the file's bytes). Errors: kInvalidArgument for content the parser cannot
// read at all (a PDF that poppler rejects, HTML libxml2 cannot parse).
Result<ParsedDocument> parseDocument(std::string_view content, Format format);

ParsedDocument parseText(std::string_view text);
ParsedDocument parseMarkdown(std::string_view text);
Result<ParsedDocument> parseHtml(std::string_view html);
Result<ParsedDocument> parsePdf(std::string_view bytes);

// Collapses runs of whitespace into one space and trims the ends.
std::string normalizeSpace(std::string_view text);

}  // namespace switchyard::rag
