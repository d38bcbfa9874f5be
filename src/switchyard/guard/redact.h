#pragma once
// Redaction: replace findings with typed placeholders ("[EMAIL_1]"), and the reversible mask that
// puts the values back into a model's answer. A Vault belongs to one request and one thread; it
// holds raw values, so it has no printer, is never logged, and wipes its memory when destroyed.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "switchyard/guard/finding.h"

namespace switchyard::guard {

enum class Style : std::uint8_t {
  kTyped,  // [EMAIL_1], [EMAIL_2] ...: same value -> same number within one Vault
  kType,   // [EMAIL]
  kMask,   // one '*' per character of the value
};

class Vault {
 public:
  Vault() = default;
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;
  Vault(Vault&&) = default;
  Vault& operator=(Vault&&) = default;

  // The placeholder for a (type, value) pair, numbered per type from 1 in order of first sight.
  const std::string& placeholder(std::string_view type, std::string_view value);

  // The value behind a placeholder such as "[EMAIL_1]", if this vault issued it.
  std::optional<std::string_view> valueOf(std::string_view placeholder) const;

  std::size_t size() const { return by_placeholder_.size(); }
  std::size_t maxPlaceholderSize() const { return max_placeholder_size_; }

 private:
  std::unordered_map<std::string, std::string> by_value_;        // type '\0' value -> placeholder
  std::unordered_map<std::string, std::string> by_placeholder_;  // placeholder -> value
  std::unordered_map<std::string, int> counters_;                // type -> last number
  std::size_t max_placeholder_size_ = 0;
};

// Copies text with every finding replaced. Findings must be sorted and non-overlapping (as
// Detector::scan returns them). With a vault, kTyped placeholders are recorded there and stay
// consistent across calls (all messages of one request); without one, within this call.
std::string redact(std::string_view text, std::span<const Finding> findings, Style style,
                   Vault* vault = nullptr);

// Replaces every placeholder the vault issued with its value; other text is copied unchanged.
std::string restore(std::string_view text, const Vault& vault);

// restore() for a stream of chunks: a placeholder split across chunks ("[EMA" + "IL_1]") is held
// back until it is complete or cannot be one. Holds at most vault.maxPlaceholderSize() bytes.
class StreamRestorer {
 public:
  explicit StreamRestorer(const Vault& vault) : vault_(vault) {}
  std::string push(std::string_view chunk);
  std::string finish();  // whatever is held back, restored where possible

 private:
  const Vault& vault_;
  std::string pending_;
};

}  // namespace switchyard::guard
