#include "switchyard/rag/chunker.h"

#include <algorithm>
#include <cctype>

namespace switchyard::rag {
namespace {

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::string joinWords(const std::vector<std::string_view>& w, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) out += ' ';
    out += w[i];
  }
  return out;
}

class Builder {
 public:
  Builder(const ChunkOptions& options, const TokenCounter& count)
      : budget_(static_cast<std::size_t>(std::max(1, options.chunk_tokens))),
        overlap_(static_cast<std::size_t>(std::max(0, options.overlap_tokens))),
        count_(count) {}

  void heading(int level, const std::string& text) {
    flush(false);
    while (!stack_.empty() && stack_.back().first >= level) stack_.pop_back();
    stack_.emplace_back(level, text);
    section_.clear();
    for (const auto& [l, t] : stack_) {
      if (!section_.empty()) section_ += " > ";
      section_ += t;
    }
  }

  void paragraph(const std::string& text, int page) {
    if (!parts_.empty() && page != page_) flush(false);
    const std::size_t tokens = count_(text);
    if (tokens > budget_) {
      flush(false);
      window(text, tokens, page);
      return;
    }
    if (!parts_.empty() && tokens_ + tokens > budget_) flush(true);
    if (parts_.empty()) page_ = page;
    parts_.push_back(text);
    tokens_ += tokens;
  }

  std::vector<Chunk> finish() {
    flush(false);
    return std::move(chunks_);
  }

 private:
  // Ends the current chunk; with `carry`, its last overlap_ tokens start the next one.
  void flush(bool carry) {
    if (parts_.empty() || (parts_.size() == 1 && carried_ && parts_[0] == carry_text_)) {
      parts_.clear();
      tokens_ = 0;
      carried_ = false;
      return;
    }
    std::string text;
    for (const std::string& p : parts_) {
      if (!text.empty()) text += "\n\n";
      text += p;
    }
    parts_.clear();
    tokens_ = 0;
    carried_ = false;
    emit(text, page_);
    if (carry && overlap_ > 0) {
      carry_text_ = tail(text, overlap_);
      if (!carry_text_.empty()) {
        parts_.push_back(carry_text_);
        tokens_ = count_(carry_text_);
        carried_ = true;
      }
    }
  }

  void emit(std::string text, int page) {
    Chunk chunk;
    chunk.tokens = static_cast<int>(count_(text));
    chunk.text = std::move(text);
    chunk.section = section_;
    chunk.page = page;
    chunks_.push_back(std::move(chunk));
  }

  // About the last `tokens` tokens of `text`, at word boundaries.
  std::string tail(const std::string& text, std::size_t tokens) const {
    const auto w = words(text);
    if (w.empty()) return {};
    const std::size_t total = std::max<std::size_t>(1, count_(text));
    const double words_per_token = static_cast<double>(w.size()) / static_cast<double>(total);
    std::size_t n = static_cast<std::size_t>(static_cast<double>(tokens) * words_per_token);
    n = std::clamp<std::size_t>(n, 1, w.size());
    if (n >= w.size()) return {};  // the whole chunk: nothing new would follow it
    return joinWords(w, w.size() - n, w.size());
  }

  // A paragraph longer than the budget: windows of budget_ tokens sharing overlap_ tokens.
  void window(const std::string& text, std::size_t tokens, int page) {
    const auto w = words(text);
    if (w.empty()) return;
    const double words_per_token = static_cast<double>(w.size()) / static_cast<double>(tokens);
    const std::size_t size = std::max<std::size_t>(
        1, static_cast<std::size_t>(static_cast<double>(budget_) * words_per_token));
    const std::size_t overlap = std::min<std::size_t>(
        size - 1, static_cast<std::size_t>(static_cast<double>(overlap_) * words_per_token));
    const std::size_t step = std::max<std::size_t>(1, size - overlap);
    for (std::size_t start = 0; start < w.size(); start += step) {
      const std::size_t end = std::min(w.size(), start + size);
      emit(joinWords(w, start, end), page);
      if (end == w.size()) break;
    }
  }

  std::size_t budget_;
  std::size_t overlap_;
  const TokenCounter& count_;
  std::vector<std::pair<int, std::string>> stack_;
  std::string section_;
  std::vector<std::string> parts_;
  std::size_t tokens_ = 0;
  int page_ = 0;
  bool carried_ = false;
  std::string carry_text_;
  std::vector<Chunk> chunks_;
};

}  // namespace

std::size_t estimateTokens(std::string_view text) {
  std::size_t n = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool space = std::isspace(c) != 0;
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return (n * 4 + 2) / 3;
}

std::vector<Chunk> chunkDocument(const ParsedDocument& doc, const ChunkOptions& options,
                                 const TokenCounter& count) {
  Builder builder(options, count);
  for (const Block& block : doc.blocks) {
    if (block.kind == Block::Kind::kHeading) {
      builder.heading(block.level, block.text);
    } else {
      builder.paragraph(block.text, block.page);
    }
  }
  return builder.finish();
}

}  // namespace switchyard::rag
