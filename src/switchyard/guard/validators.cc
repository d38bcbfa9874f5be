#include "switchyard/guard/validators.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace switchyard::guard {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

// Leading `n` digits as an integer (n <= 9).
int prefix(std::string_view digits, std::size_t n) {
  int v = 0;
  for (std::size_t i = 0; i < n && i < digits.size(); ++i) v = v * 10 + (digits[i] - '0');
  return v;
}

struct IbanCountry {
  char code[3];
  int length;
};

// SWIFT IBAN registry (release 2024): country code and total IBAN length.
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
    {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
    {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33},
    {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
    {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

bool luhnAdapter(std::string_view m, double) {
  std::string digits;
  for (char c : m) {
    if (isDigit(c)) digits.push_back(c);
  }
  return luhnValid(digits);
}
bool cardAdapter(std::string_view m, double) {
  std::string digits;
  for (char c : m) {
    if (isDigit(c)) digits.push_back(c);
  }
  return luhnValid(digits) && cardIssuerValid(digits);
}
bool ibanAdapter(std::string_view m, double) {
  std::string compact;
  for (char c : m) {
    if (c == ' ') continue;
    compact.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c);
  }
  return ibanValid(compact);
}
bool ssnAdapter(std::string_view m, double) {
  std::string digits;
  for (char c : m) {
    if (isDigit(c)) digits.push_back(c);
  }
  if (digits.size() != 9) return false;
  return ssnValid(prefix(digits, 3), prefix(digits.substr(3), 2), prefix(digits.substr(5), 4));
}
bool ipv4Adapter(std::string_view m, double) { return ipv4Valid(m); }
bool ipv6Adapter(std::string_view m, double) { return ipv6Valid(m); }
bool jwtAdapter(std::string_view m, double) { return jwtValid(m); }
bool entropyAdapter(std::string_view m, double threshold) {
  return entropyAtLeast(m, threshold);
}

}  // namespace

bool luhnValid(std::string_view digits) {
  if (!allDigits(digits)) return false;
  int sum = 0;
  bool dbl = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool cardIssuerValid(std::string_view d) {
  const std::size_t n = d.size();
  if (n < 12 || n > 19 || !allDigits(d)) return false;
  const int p1 = prefix(d, 1), p2 = prefix(d, 2), p3 = prefix(d, 3), p4 = prefix(d, 4),
            p6 = prefix(d, 6);
  if (p1 == 4) return n == 13 || n == 16 || n == 19;                          // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                  // Amex
  if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925)) {
    return n >= 16;  // Discover (and its UnionPay co-brand range)
  }
  if (p4 >= 3528 && p4 <= 3589) return n >= 16;                              // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return n >= 14;  // Diners
  if (p2 == 62 || p2 == 81) return n >= 16;                                  // UnionPay
  if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 ||
      (p4 >= 6761 && p4 <= 6763)) {
    return n >= 12;  // Maestro
  }
  if (p4 == 2200 || p4 == 2201 || p4 == 2202 || p4 == 2203 || p4 == 2204) return n == 16;  // Mir
  return false;
}

int ibanLength(std::string_view country) {
  if (country.size() != 2) return 0;
  for (const auto& c : kIbanCountries) {
    if (country[0] == c.code[0] && country[1] == c.code[1]) return c.length;
  }
  return 0;
}

bool ibanValid(std::string_view s) {
  if (s.size() < 15 || s.size() > 34) return false;
  int len = ibanLength(s.substr(0, 2));
  if (len == 0 || static_cast<std::size_t>(len) != s.size()) return false;
  if (!isDigit(s[2]) || !isDigit(s[3])) return false;
  // Move the first four characters to the end, letters become 10..35, remainder mod 97 == 1.
  int rem = 0;
  for (std::size_t k = 0; k < s.size(); ++k) {
    char c = s[(k + 4) % s.size()];
    if (isDigit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      rem = (rem * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

bool ssnValid(int area, int group, int serial) {
  if (area <= 0 || area == 666 || area >= 900) return false;
  if (group <= 0 || group > 99) return false;
  if (serial <= 0 || serial > 9999) return false;
  if (area == 78 && group == 5 && serial == 1120) return false;
  if (area == 219 && group == 9 && serial == 9999) return false;
  return true;
}

bool ipv4Valid(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    int value = 0;
    while (i < s.size() && isDigit(s[i]) && i - start < 4) value = value * 10 + (s[i++] - '0');
    std::size_t len = i - start;
    if (len == 0 || len > 3 || value > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool ipv6Valid(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  char buf[46];
  std::copy(s.begin(), s.end(), buf);
  buf[s.size()] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET6, buf, out) == 1;
}

namespace {

// How often each byte occurs in a text; only the counts of bytes marked in `seen` (a bitmap,
// in byte order) are set.
struct ByteCounts {
  explicit ByteCounts(std::string_view text) {
    for (unsigned char c : text) {
      const std::uint64_t bit = std::uint64_t{1} << (c & 63);
      if ((seen[c >> 6] & bit) == 0) {
        seen[c >> 6] |= bit;
        counts[c] = 0;
      }
      ++counts[c];
    }
  }
  std::array<std::uint32_t, 256> counts;
  std::array<std::uint64_t, 4> seen{};
};

}  // namespace

double shannonEntropy(std::string_view text) {
  if (text.empty()) return 0.0;
  // Only the bytes that occur are visited (a bitmap of them, in byte order, so the terms are
  // summed in the same order as a walk over all 256 counts: the result is bit for bit the same).
  ByteCounts bc(text);
  const auto& counts = bc.counts;
  const auto& seen = bc.seen;
  double h = 0.0;
  const double n = static_cast<double>(text.size());
  for (unsigned w = 0; w < 4; ++w) {
    for (std::uint64_t bits = seen[w]; bits != 0; bits &= bits - 1) {
      const unsigned c = w * 64 + static_cast<unsigned>(__builtin_ctzll(bits));
      const double p = counts[c] / n;
      h -= p * std::log2(p);
    }
  }
  return h;
}

namespace {

// c * log2(c) for the counts entropyAtLeast() meets most (filled at start-up, so that the
// function has no guarded static: callgrind's --toggle-collect on Detector::scan loses its
// balance on one).
const std::array<double, 257> kCLog2C = [] {
  std::array<double, 257> t{};
  for (std::size_t c = 1; c < t.size(); ++c) {
    t[c] = static_cast<double>(c) * std::log2(static_cast<double>(c));
  }
  return t;
}();

}  // namespace

bool entropyAtLeast(std::string_view text, double threshold) {
  if (text.empty()) return 0.0 >= threshold;
  // H = log2(n) - (1/n) * sum(c * log2(c)) over the byte counts c, with c * log2(c) from a
  // table: one log2 call instead of one per distinct byte. It differs from shannonEntropy() by
  // rounding only (far below 1e-9 for texts this detector sees); within that margin of the
  // threshold the exact value decides, so the answer is always shannonEntropy(text) >= threshold.
  ByteCounts bc(text);
  const auto& counts = bc.counts;
  const auto& seen = bc.seen;
  double sum = 0.0;
  for (unsigned w = 0; w < 4; ++w) {
    for (std::uint64_t bits = seen[w]; bits != 0; bits &= bits - 1) {
      const std::uint32_t c = counts[w * 64 + static_cast<unsigned>(__builtin_ctzll(bits))];
      sum += c < kCLog2C.size() ? kCLog2C[c] : c * std::log2(static_cast<double>(c));
    }
  }
  const double n = static_cast<double>(text.size());
  const double h = std::log2(n) - sum / n;
  constexpr double kMargin = 1e-9;
  if (h >= threshold + kMargin) return true;
  if (h <= threshold - kMargin) return false;
  return shannonEntropy(text) >= threshold;
}

int charClassCount(std::string_view text) {
  bool lower = false, upper = false, digit = false, other = false;
  for (char c : text) {
    if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (isDigit(c)) {
      digit = true;
    } else {
      other = true;
    }
  }
  return int{lower} + int{upper} + int{digit} + int{other};
}

std::optional<std::string> base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (isDigit(c)) {
      v = c - '0' + 52;
    } else if (c == '-' || c == '+') {
      v = 62;
    } else if (c == '_' || c == '/') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return std::nullopt;  // a single dangling base64 character cannot be valid
  return out;
}

bool jwtValid(std::string_view token) {
  std::size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return false;
  std::size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return false;
  }
  auto header = base64Decode(token.substr(0, d1));
  if (!header) return false;
  std::string_view h = *header;
  while (!h.empty() && (h.front() == ' ' || h.front() == '\n' || h.front() == '\r')) {
    h.remove_prefix(1);
  }
  while (!h.empty() && (h.back() == ' ' || h.back() == '\n' || h.back() == '\r')) {
    h.remove_suffix(1);
  }
  if (h.size() < 2 || h.front() != '{' || h.back() != '}') return false;
  if (h.find("\"alg\"") == std::string_view::npos) return false;
  auto payload = base64Decode(token.substr(d1 + 1, d2 - d1 - 1));
  return payload.has_value() && !payload->empty();
}

NamedValidator findValidator(std::string_view name) {
  if (name == "luhn") return luhnAdapter;
  if (name == "card") return cardAdapter;
  if (name == "iban") return ibanAdapter;
  if (name == "ssn") return ssnAdapter;
  if (name == "ipv4") return ipv4Adapter;
  if (name == "ipv6") return ipv6Adapter;
  if (name == "jwt") return jwtAdapter;
  if (name == "entropy") return entropyAdapter;
  return nullptr;
}

}  // namespace switchyard::guard
