#include "switchyard/guard/stream_scanner.h"

#include <algorithm>

namespace switchyard::guard {
namespace {

constexpr std::size_t kLeftContext = 64;

bool continuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

StreamScanner::StreamScanner(const Detector& detector, Vault* vault, StreamScanOptions options)
    : detector_(detector), vault_(vault != nullptr ? vault : &own_vault_), options_(options) {
  if (options_.hold_back == 0) options_.hold_back = detector_.maxEntitySpan();
  options_.max_hold = std::max(options_.max_hold, options_.hold_back);
}

StreamScanner::Output StreamScanner::push(std::string_view chunk) {
  buffer_.append(chunk);
  if (buffer_.size() < options_.hold_back + std::max<std::size_t>(options_.scan_step, 1)) {
    return {};
  }
  // Scan with a little already-emitted text in front, so that "abc4111..." is judged as the
  // whole text would be; findings that start in that context were settled before.
  std::string text = left_ + buffer_;
  std::vector<Finding> found = detector_.scan(text);
  const std::size_t off = left_.size();
  std::vector<Finding> local;
  for (auto& f : found) {
    if (f.begin < off || (options_.keep && !options_.keep(f))) continue;
    f.begin -= off;
    f.end -= off;
    local.push_back(std::move(f));
  }
  // Back to the start of the UTF-8 character at `at`: at most three continuation bytes. A longer
  // run is not UTF-8 (cutting inside it splits no character), and following it further back
  // could move the cut into an entity after the check below.
  auto characterStart = [&](std::size_t at) {
    for (int i = 0; i < 3 && at > 0 && continuationByte(buffer_[at]); ++i) --at;
    return at;
  };
  std::size_t cut = characterStart(buffer_.size() - options_.hold_back);
  for (const Finding& f : local) {
    if (f.begin < cut && f.end > cut) cut = f.begin;  // never cut through an entity
  }
  if (buffer_.size() - cut > options_.max_hold) {
    cut = characterStart(buffer_.size() - options_.hold_back);
  }
  if (cut == 0) return {};
  return emit(cut, local);
}

StreamScanner::Output StreamScanner::finish() {
  std::string text = left_ + buffer_;
  std::vector<Finding> found = detector_.scan(text);
  std::vector<Finding> local;
  for (auto& f : found) {
    if (f.begin < left_.size() || (options_.keep && !options_.keep(f))) continue;
    f.begin -= left_.size();
    f.end -= left_.size();
    local.push_back(std::move(f));
  }
  return emit(buffer_.size(), local);
}

StreamScanner::Output StreamScanner::emit(std::size_t cut, const std::vector<Finding>& found) {
  Output out;
  std::vector<Finding> mine;
  for (const Finding& f : found) {
    if (f.end <= cut) {
      mine.push_back(f);
    } else if (f.begin < cut) {
      // Only when max_hold forced the cut: redact the part that leaves now.
      Finding part = f;
      part.end = cut;
      mine.push_back(part);
    }
  }
  std::string_view emitted = std::string_view(buffer_).substr(0, cut);
  out.text = redact(emitted, mine, options_.style, vault_);
  for (Finding& f : mine) {
    f.begin += base_;
    f.end += base_;
  }
  out.findings = std::move(mine);
  left_.append(emitted);
  if (left_.size() > kLeftContext) left_.erase(0, left_.size() - kLeftContext);
  buffer_.erase(0, cut);
  base_ += cut;
  return out;
}

}  // namespace switchyard::guard
