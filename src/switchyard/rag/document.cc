#include "switchyard/rag/document.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <memory>
#include <mutex>

#include "switchyard/core/strings.h"

namespace switchyard::rag {
namespace {

bool isBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string_view trimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == text.size()) break;
    start = end + 1;
  }
  return lines;
}

// Paragraphs separated by blank lines; lines of one paragraph joined by '\n'.
void appendParagraphs(std::string_view text, int page, std::vector<Block>& out) {
  std::string paragraph;
  auto flush = [&] {
    std::string_view t = trimView(paragraph);
    if (!t.empty()) out.push_back({Block::Kind::kParagraph, 0, std::string(t), page});
    paragraph.clear();
  };
  for (std::string_view line : splitLines(text)) {
    if (isBlank(line)) {
      flush();
      continue;
    }
    if (!paragraph.empty()) paragraph += '\n';
    paragraph += trimView(line);
  }
  flush();
}

// ---- HTML -----------------------------------------------------------------------------------

int headingLevel(std::string_view tag) {
  if (tag.size() == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6') return tag[1] - '0';
  return 0;
}

bool skipped(std::string_view tag) {
  static constexpr std::string_view kSkip[] = {"script", "style",  "noscript", "template",
                                               "svg",    "nav",    "head",     "iframe",
                                               "object", "button", "select",   "form"};
  return std::find(std::begin(kSkip), std::end(kSkip), tag) != std::end(kSkip);
}

bool blockLevel(std::string_view tag) {
  static constexpr std::string_view kBlocks[] = {
      "p",       "div",    "li",     "ul",      "ol",     "table",   "tr",     "td",
      "th",      "pre",    "blockquote", "section", "article", "header", "footer", "main",
      "aside",   "dl",     "dt",     "dd",      "figure", "figcaption", "hr",
      "address", "details", "summary", "caption", "body",  "thead", "tbody"};
  return std::find(std::begin(kBlocks), std::end(kBlocks), tag) != std::end(kBlocks);
}

void collectText(const xmlNode* node, std::string& out) {
  for (const xmlNode* n = node; n != nullptr; n = n->next) {
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
      if (n->content != nullptr) {
        out += reinterpret_cast<const char*>(n->content);
        out += ' ';
      }
    } else if (n->type == XML_ELEMENT_NODE) {
      const std::string tag = asciiLower(reinterpret_cast<const char*>(n->name));
      if (skipped(tag)) continue;
      collectText(n->children, out);
      out += ' ';
    }
  }
}

class HtmlWalker {
 public:
  explicit HtmlWalker(ParsedDocument& doc) : doc_(doc) {}

  void walk(const xmlNode* node) {
    for (const xmlNode* n = node; n != nullptr; n = n->next) {
      if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content != nullptr) {
          paragraph_ += reinterpret_cast<const char*>(n->content);
        }
        continue;
      }
      if (n->type != XML_ELEMENT_NODE) continue;
      const std::string tag = asciiLower(reinterpret_cast<const char*>(n->name));
      if (tag == "title" && doc_.title.empty()) {
        std::string text;
        collectText(n->children, text);
        doc_.title = normalizeSpace(text);
        continue;
      }
      if (tag == "head") {  // only its <title> matters
        walk(n->children);
        paragraph_.clear();
        continue;
      }
      if (skipped(tag)) continue;
      if (int level = headingLevel(tag); level > 0) {
        flush();
        std::string text;
        collectText(n->children, text);
        std::string heading = normalizeSpace(text);
        if (!heading.empty()) {
          doc_.blocks.push_back({Block::Kind::kHeading, level, heading, 0});
        }
        continue;
      }
      if (tag == "br") {
        paragraph_ += ' ';
        continue;
      }
      const bool block = blockLevel(tag);
      if (block) flush();
      walk(n->children);
      if (block) flush();
    }
  }

  void flush() {
    std::string text = normalizeSpace(paragraph_);
    paragraph_.clear();
    if (!text.empty()) doc_.blocks.push_back({Block::Kind::kParagraph, 0, std::move(text), 0});
  }

 private:
  ParsedDocument& doc_;
  std::string paragraph_;
};

// ---- PDF ------------------------------------------------------------------------------------

void quietPoppler(const std::string&, void*) {}

std::string utf8(const poppler::ustring& s) {
  const poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

std::string_view formatName(Format format) {
  switch (format) {
    case Format::kText: return "text";
    case Format::kMarkdown: return "markdown";
    case Format::kHtml: return "html";
    case Format::kPdf: return "pdf";
  }
  return "text";
}

Result<Format> parseFormat(std::string_view name) {
  const std::string n = asciiLower(name);
  if (n == "text" || n == "txt" || n == "plain" || n.empty()) return Format::kText;
  if (n == "markdown" || n == "md") return Format::kMarkdown;
  if (n == "html" || n == "htm") return Format::kHtml;
  if (n == "pdf") return Format::kPdf;
  return fail(ErrorCode::kInvalidArgument,
              "unknown document format '" + std::string(name) +
                  "' (expected one of: text, markdown, html, pdf)");
}

Format formatForPath(std::string_view path) {
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return Format::kText;
  }
  const std::string ext = asciiLower(path.substr(dot + 1));
  if (ext == "md" || ext == "markdown" || ext == "mdx") return Format::kMarkdown;
  if (ext == "html" || ext == "htm" || ext == "xhtml") return Format::kHtml;
  if (ext == "pdf") return Format::kPdf;
  return Format::kText;
}

std::string normalizeSpace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (unsigned char c : text) {
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c);
  }
  return out;
}

ParsedDocument parseText(std::string_view text) {
  ParsedDocument doc;
  appendParagraphs(text, 0, doc.blocks);
  return doc;
}

ParsedDocument parseMarkdown(std::string_view text) {
  ParsedDocument doc;
  std::string paragraph;
  std::size_t paragraph_lines = 0;
  auto flush = [&] {
    std::string_view t = trimView(paragraph);
    if (!t.empty()) doc.blocks.push_back({Block::Kind::kParagraph, 0, std::string(t), 0});
    paragraph.clear();
    paragraph_lines = 0;
  };
  auto heading = [&](int level, std::string_view title) {
    std::string t = normalizeSpace(title);
    if (t.empty()) return;
    if (level == 1 && doc.title.empty()) doc.title = t;
    doc.blocks.push_back({Block::Kind::kHeading, level, std::move(t), 0});
  };

  std::string fence;  // the open code fence ("```" or "~~~"), or ""
  const auto lines = splitLines(text);
  std::size_t i = 0;
  // YAML front matter: skipped (its title: line becomes the title).
  if (!lines.empty() && trimView(lines[0]) == "---") {
    for (std::size_t j = 1; j < lines.size(); ++j) {
      if (trimView(lines[j]) == "---" || trimView(lines[j]) == "...") {
        for (std::size_t k = 1; k < j; ++k) {
          std::string_view l = trimView(lines[k]);
          if (l.starts_with("title:")) {
            std::string_view v = trimView(l.substr(6));
            if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
              v = v.substr(1, v.size() - 2);
            }
            doc.title = std::string(v);
          }
        }
        i = j + 1;
        break;
      }
    }
  }
  for (; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::string_view trimmed = trimView(line);
    if (!fence.empty()) {
      paragraph += '\n';
      if (trimmed.starts_with(fence)) {
        fence.clear();
        flush();
        continue;
      }
      paragraph += line;
      continue;
    }
    if (trimmed.starts_with("```") || trimmed.starts_with("~~~")) {
      flush();
      fence = std::string(trimmed.substr(0, 3));
      paragraph = std::string(trimmed.substr(3));  // the language tag stays as a hint
      ++paragraph_lines;
      continue;
    }
    if (isBlank(line)) {
      flush();
      continue;
    }
    // ATX heading: up to three spaces, 1-6 '#', a space.
    if (line.size() - trimmed.size() <= 3 && trimmed.starts_with('#')) {
      std::size_t level = 0;
      while (level < trimmed.size() && trimmed[level] == '#') ++level;
      if (level <= 6 && (level == trimmed.size() || trimmed[level] == ' ' || trimmed[level] == '\t')) {
        flush();
        std::string_view title = trimView(trimmed.substr(level));
        while (!title.empty() && title.back() == '#') title.remove_suffix(1);
        heading(static_cast<int>(level), title);
        continue;
      }
    }
    // Setext heading: one paragraph line underlined with === or ---.
    if (paragraph_lines == 1 && !trimmed.empty() &&
        (trimmed.find_first_not_of('=') == std::string_view::npos ||
         trimmed.find_first_not_of('-') == std::string_view::npos)) {
      const int level = trimmed.front() == '=' ? 1 : 2;
      std::string title = paragraph;
      paragraph.clear();
      paragraph_lines = 0;
      heading(level, title);
      continue;
    }
    if (!paragraph.empty()) paragraph += '\n';
    paragraph += trimmed;
    ++paragraph_lines;
  }
  flush();
  return doc;
}

Result<ParsedDocument> parseHtml(std::string_view html) {
  if (html.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return fail(ErrorCode::kPayloadTooLarge, "HTML document larger than 2 GiB");
  }
  const int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                      HTML_PARSE_NONET | HTML_PARSE_NOBLANKS | HTML_PARSE_COMPACT;
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
      htmlReadMemory(html.data(), static_cast<int>(html.size()), nullptr, "UTF-8", options),
      &xmlFreeDoc);
  if (!doc) {
    if (trimView(html).empty()) return ParsedDocument{};
    return fail(ErrorCode::kInvalidArgument, "cannot parse HTML");
  }
  ParsedDocument parsed;
  HtmlWalker walker(parsed);
  walker.walk(xmlDocGetRootElement(doc.get()));
  walker.flush();
  if (parsed.title.empty()) {
    for (const Block& b : parsed.blocks) {
      if (b.kind == Block::Kind::kHeading && b.level == 1) {
        parsed.title = b.text;
        break;
      }
    }
  }
  return parsed;
}

Result<ParsedDocument> parsePdf(std::string_view bytes) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { poppler::set_debug_error_function(&quietPoppler, nullptr); });
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return fail(ErrorCode::kPayloadTooLarge, "PDF larger than 2 GiB");
  }
  std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
      bytes.data(), static_cast<int>(bytes.size())));
  if (!doc) return fail(ErrorCode::kInvalidArgument, "not a readable PDF");
  if (doc->is_locked()) {
    return fail(ErrorCode::kInvalidArgument, "the PDF is encrypted (password protected)");
  }
  ParsedDocument parsed;
  parsed.title = normalizeSpace(utf8(doc->info_key("Title")));
  const int pages = doc->pages();
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (!page) continue;
    appendParagraphs(utf8(page->text()), i + 1, parsed.blocks);
  }
  return parsed;
}

Result<ParsedDocument> parseDocument(std::string_view content, Format format) {
  switch (format) {
    case Format::kText: return parseText(content);
    case Format::kMarkdown: return parseMarkdown(content);
    case Format::kHtml: return parseHtml(content);
    case Format::kPdf: return parsePdf(content);
  }
  return parseText(content);
}

}  // namespace switchyard::rag
