#include "switchyard/guard/redact.h"

#include <algorithm>

namespace switchyard::guard {
namespace {

void wipe(std::string& s) {
  // volatile writes: the compiler may not drop them as dead stores before the free.
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
}

std::size_t utf8Length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Characters a placeholder may contain between its brackets.
bool placeholderChar(char c) { return c != '[' && c != ']' && c != ' ' && c != '\n' && c != '\t'; }

}  // namespace

Vault::~Vault() {
  while (!by_value_.empty()) {
    auto node = by_value_.extract(by_value_.begin());
    wipe(node.key());
  }
  for (auto& [placeholder, value] : by_placeholder_) wipe(value);
}

const std::string& Vault::placeholder(std::string_view type, std::string_view value) {
  std::string key;
  key.reserve(type.size() + 1 + value.size());
  key.append(type).push_back('\0');
  key.append(value);
  auto it = by_value_.find(key);
  if (it != by_value_.end()) {
    wipe(key);
    return it->second;
  }
  int n = ++counters_[std::string(type)];
  std::string ph = "[" + std::string(type) + "_" + std::to_string(n) + "]";
  max_placeholder_size_ = std::max(max_placeholder_size_, ph.size());
  by_placeholder_.emplace(ph, std::string(value));
  return by_value_.emplace(std::move(key), std::move(ph)).first->second;
}

std::optional<std::string_view> Vault::valueOf(std::string_view placeholder) const {
  auto it = by_placeholder_.find(std::string(placeholder));
  if (it == by_placeholder_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string redact(std::string_view text, std::span<const Finding> findings, Style style,
                   Vault* vault) {
  Vault local;
  if (vault == nullptr) vault = &local;
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const Finding& f : findings) {
    if (f.begin < pos || f.end > text.size() || f.begin >= f.end) continue;  // not for us
    out.append(text.substr(pos, f.begin - pos));
    std::string_view value = text.substr(f.begin, f.size());
    switch (style) {
      case Style::kTyped:
        out += vault->placeholder(f.type, value);
        break;
      case Style::kType:
        out += '[';
        out += f.type;
        out += ']';
        break;
      case Style::kMask:
        out.append(utf8Length(value), '*');
        break;
    }
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

std::string restore(std::string_view text, const Vault& vault) {
  std::string out;
  out.reserve(text.size());
  const std::size_t max = vault.maxPlaceholderSize();
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t open = text.find('[', pos);
    if (open == std::string_view::npos || max == 0) break;
    out.append(text.substr(pos, open - pos));
    std::size_t close = text.find(']', open + 1);
    if (close != std::string_view::npos && close - open + 1 <= max) {
      if (auto value = vault.valueOf(text.substr(open, close - open + 1))) {
        out.append(*value);
        pos = close + 1;
        continue;
      }
    }
    out.push_back('[');
    pos = open + 1;
  }
  out.append(text.substr(pos));
  return out;
}

std::string StreamRestorer::push(std::string_view chunk) {
  pending_.append(chunk);
  // Only the last '[' can open a placeholder that is still incomplete.
  std::size_t open = pending_.rfind('[');
  std::size_t hold = pending_.size();
  if (open != std::string::npos && pending_.size() - open < vault_.maxPlaceholderSize() &&
      std::all_of(pending_.begin() + static_cast<std::ptrdiff_t>(open) + 1, pending_.end(),
                  placeholderChar)) {
    hold = open;
  }
  std::string out = restore(std::string_view(pending_).substr(0, hold), vault_);
  pending_.erase(0, hold);
  return out;
}

std::string StreamRestorer::finish() {
  std::string out = restore(pending_, vault_);
  pending_.clear();
  return out;
}

}  // namespace switchyard::guard
