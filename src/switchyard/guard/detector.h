#pragma once
// Detector: finds PII and secrets in text with linear-time regexes (RE2; the built-in digit
// patterns through equivalent hand-written matchers, fast_match.h) plus validators (checksums,
// registries, entropy, context words). Built once from DetectorOptions with Detector::create();
// immutable and safe to share between threads afterwards (scans keep scratch buffers per thread).
//
// The options mirror a future `guard:` config section; see README.md for the entity table.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/guard/finding.h"

namespace switchyard::guard {

// A user regex. The span reported is capture group `group` (0 = the whole match).
struct CustomRegexOptions {
  std::string name;              // the type label, e.g. "EMPLOYEE_ID" -> [EMPLOYEE_ID_1]
  std::string pattern;           // RE2 syntax, UTF-8
  std::string validator;         // "" or a name findValidator() knows: luhn, iban, ssn, ...
  Category category = Category::kCustom;
  bool case_insensitive = false;
  int group = 0;
};

// Terms flagged case-insensitively as whole words (project code names, client names ...).
struct DenyListOptions {
  std::string name = "DENYLIST";  // the type label
  std::vector<std::string> terms;
  Category category = Category::kCustom;
};

struct DetectorOptions {
  // Built-in entity types to run, by label ("EMAIL", "CREDIT_CARD", "SECRET" ...). Empty: all.
  std::vector<std::string> entities;
  // false: no built-in types at all (custom detectors only); `entities` is then ignored.
  bool builtins = true;
  // Generic secrets: a value after a word like key/secret/token/password is flagged when its
  // Shannon entropy reaches min(entropy_threshold, 0.85 * log2(length)), it mixes at least two
  // character classes, and it is at least generic_min_length long (8 after password words).
  double entropy_threshold = 3.5;
  std::size_t generic_min_length = 16;
  std::vector<CustomRegexOptions> regexes;
  std::vector<DenyListOptions> deny_lists;
  // Values never flagged, compared exactly (e.g. a support address, a documented test key).
  std::vector<std::string> allow_values;
  // Values never flagged when one of these RE2 patterns matches the whole value.
  std::vector<std::string> allow_patterns;
};

// Every built-in type label, in table order (for validation and docs).
const std::vector<std::string_view>& builtinEntityTypes();
// The category of a built-in type label (pii or secret); custom for anything else.
Category builtinCategory(std::string_view type);

class Detector {
 public:
  // Fails with kInvalidArgument naming the offending option: an unknown entity type or validator,
  // a regex RE2 cannot compile, an empty deny-list term.
  [[nodiscard]] static Result<std::unique_ptr<Detector>> create(const DetectorOptions& options);
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // Non-overlapping findings sorted by begin. Where two candidates overlap, the more specific
  // one (e.g. ANTHROPIC_API_KEY over a generic SECRET) or else the longer one wins.
  std::vector<Finding> scan(std::string_view text) const;

  // The longest text one entity plus the context it needs can span, in bytes; streaming
  // scanners must hold back at least this much (PEM blocks excepted, see StreamScanner).
  std::size_t maxEntitySpan() const { return max_entity_span_; }

  struct Impl;

 private:
  explicit Detector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::size_t max_entity_span_ = 256;
};

using DetectorPtr = std::unique_ptr<Detector>;

}  // namespace switchyard::guard
