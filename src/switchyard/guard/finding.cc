#include "switchyard/guard/finding.h"

#include <array>

namespace switchyard::guard {

std::string_view categoryName(Category category) {
  switch (category) {
    case Category::kPii:
      return "pii";
    case Category::kSecret:
      return "secret";
    case Category::kCustom:
      return "custom";
  }
  return "custom";
}

std::string redactedPreview(std::string_view text, const Finding& finding) {
  std::string out = finding.type + "(len=" + std::to_string(finding.size());
  if (finding.category == Category::kSecret && finding.end <= text.size() &&
      finding.begin < finding.end) {
    // Public, documented prefixes only: they say which vendor's key it was, nothing more.
    static constexpr std::array<std::string_view, 16> kPrefixes = {
        "sk-ant-", "sk-proj-", "sk-svcacct-", "sk-admin-", "github_pat_", "ghp_", "gho_",
        "ghu_",    "ghs_",     "ghr_",        "xoxb-",     "xoxp-",       "AKIA", "ASIA",
        "AIza",    "-----BEGIN"};
    std::string_view value = text.substr(finding.begin, finding.size());
    for (std::string_view p : kPrefixes) {
      if (value.size() > p.size() + 8 && value.starts_with(p)) {
        out += ", ";
        out += p;
        out += "…";
        break;
      }
    }
  }
  out += ')';
  return out;
}

}  // namespace switchyard::guard
