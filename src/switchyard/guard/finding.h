#pragma once
// Finding: where a detector saw a PII or secret entity. A finding holds the entity's type and
// byte span, never its value, so it is always safe to log. Plain value type.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchyard::guard {

enum class Category : std::uint8_t { kPii, kSecret, kCustom };

// Built-in entity kinds; custom detectors (regex, deny-list) report kCustom with their own type.
enum class EntityKind : std::uint8_t {
  kEmail,
  kPhone,
  kCreditCard,
  kIban,
  kUsSsn,
  kIpv4,
  kIpv6,
  kAwsAccessKey,
  kAwsSecretKey,
  kGcpApiKey,
  kGcpServiceAccountKey,
  kAzureStorageKey,
  kGithubToken,
  kSlackToken,
  kSlackWebhook,
  kOpenaiApiKey,
  kAnthropicApiKey,
  kPrivateKey,
  kJwt,
  kGenericSecret,
  kCustom,
};

std::string_view categoryName(Category category);  // "pii", "secret", "custom"

struct Finding {
  EntityKind kind = EntityKind::kCustom;
  Category category = Category::kCustom;
  std::string type;   // placeholder label: "EMAIL", "CREDIT_CARD", or a custom detector's name
  std::size_t begin = 0;  // byte offsets into the scanned text, [begin, end)
  std::size_t end = 0;

  std::size_t size() const { return end - begin; }
  bool operator==(const Finding&) const = default;
};

// A log-safe hint at a finding's value: its type and length, plus at most the first few
// characters of a secret's well-known public prefix (e.g. "sk-ant-", "ghp_"), never more.
// Example: "GITHUB_TOKEN(len=40, ghp_…)", "EMAIL(len=20)".
std::string redactedPreview(std::string_view text, const Finding& finding);

}  // namespace switchyard::guard
