#pragma once
// Helpers shared by the guard tests. Secrets are assembled at run time from a seeded generator
// so that no real-looking credential sits in the repository for scanners to trip on.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/guard/detector.h"

namespace switchyard::guard::testing {

inline constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Deterministic random string over `alphabet` (xorshift; the same seed gives the same string).
inline std::string randomString(std::string_view alphabet, std::size_t n, std::uint64_t seed) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  std::string s;
  s.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s.push_back(alphabet[x % alphabet.size()]);
  }
  return s;
}

// Random alphanumeric string that surely mixes upper case, lower case and digits.
inline std::string mixedToken(std::size_t n, std::uint64_t seed) {
  std::string s = randomString(kAlnum, n, seed);
  if (n >= 3) {
    s[0] = 'Q';
    s[1] = 'z';
    s[2] = '7';
  }
  return s;
}

inline std::string githubToken(std::uint64_t seed) { return "ghp_" + mixedToken(36, seed); }
inline std::string openaiKey(std::uint64_t seed) {
  return "sk-proj-" + mixedToken(48, seed) + "_" + mixedToken(20, seed + 1);
}
inline std::string anthropicKey(std::uint64_t seed) {
  return "sk-ant-api03-" + mixedToken(86, seed) + "-" + mixedToken(6, seed + 1) + "AA";
}
inline std::string slackToken(std::uint64_t seed) {
  return "xoxb-" + std::to_string(100000000000 + seed) + "-" +
         std::to_string(200000000000 + seed) + "-" + mixedToken(24, seed);
}
inline std::string gcpKey(std::uint64_t seed) { return "AIza" + mixedToken(35, seed); }
inline std::string awsSecret(std::uint64_t seed) {
  std::string s = randomString(kBase64, 40, seed);
  s[0] = 'W';
  s[1] = 'j';
  s[2] = '5';
  return s;
}
inline std::string pemBlock(std::uint64_t seed, std::string_view newline = "\n") {
  std::string s = "-----BEGIN PRIVATE KEY-----";
  for (int i = 0; i < 4; ++i) {
    s += newline;
    s += randomString(kBase64, 64, seed + static_cast<std::uint64_t>(i));
  }
  s += newline;
  s += "-----END PRIVATE KEY-----";
  return s;
}
inline constexpr std::string_view kJwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwia"
    "WF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

// (type, value) of each finding, in order.
inline std::vector<std::pair<std::string, std::string>> typedValues(const Detector& d,
                                                                   std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : d.scan(text)) {
    out.emplace_back(f.type, std::string(text.substr(f.begin, f.size())));
  }
  return out;
}

inline const Detector& defaultDetector() {
  static const DetectorPtr d = [] {
    auto r = Detector::create({});
    return r ? std::move(*r) : nullptr;
  }();
  return *d;
}

}  // namespace switchyard::guard::testing
