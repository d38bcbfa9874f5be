#include "switchyard/guard/detector.h"

#include <re2/re2.h>
#include <re2/set.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "switchyard/guard/fast_match.h"
#include "switchyard/guard/validators.h"

namespace switchyard::guard {
namespace {

constexpr int kMaxGroups = 4;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isAlnum(char c) { return isDigit(c) || isAlpha(c); }
bool isWord(char c) { return isAlnum(c) || c == '_'; }
bool isSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// The first ASCII digit at or after `i`, or text.size(). Prose is mostly digit-free, so skip
// 16 bytes at a time where SSE2 is available.
std::size_t nextDigit(std::string_view text, std::size_t i) {
  const std::size_t n = text.size();
#if defined(__SSE2__)
  const __m128i zero = _mm_set1_epi8('0');
  const __m128i nine = _mm_set1_epi8(9);
  while (i + 16 <= n) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    __m128i d = _mm_sub_epi8(v, zero);
    int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < n && !isDigit(text[i])) ++i;
  return i;
}

// A number-like entity must not be a piece of a longer token: no letter, digit or underscore
// next to it, and no "-", ".", "/" or ":" that continues a digit run (dates, versions, ids).
bool numericBoundary(std::string_view t, std::size_t b, std::size_t e) {
  auto joiner = [](char c) { return c == '-' || c == '.' || c == '/' || c == ':'; };
  if (b > 0) {
    char c = t[b - 1];
    if (isWord(c)) return false;
    if (joiner(c) && b >= 2 && isDigit(t[b - 2])) return false;
  }
  if (e < t.size()) {
    char c = t[e];
    if (isWord(c)) return false;
    if (joiner(c) && e + 1 < t.size() && isDigit(t[e + 1])) return false;
  }
  return true;
}

// The digits of s, copied into `buf` (no allocation per candidate). More than kMaxDigits digits
// give a view of kMaxDigits + 1 of them: longer than any number a check accepts.
constexpr std::size_t kMaxDigits = 63;
std::string_view digitsOf(std::string_view s, char (&buf)[kMaxDigits + 1]) {
  std::size_t n = 0;
  for (char c : s) {
    if (!isDigit(c)) continue;
    buf[n++] = c;
    if (n > kMaxDigits) break;
  }
  return {buf, n};
}

// Where a candidate sits: the whole regex match [mb, me) and the reported span [b, e), which a
// check may narrow.
struct Candidate {
  std::size_t mb, me, b, e;
};

struct Limits {
  double entropy_threshold;
  std::size_t generic_min_length;
};

using Check = bool (*)(std::string_view text, Candidate& c, const Limits& limits);

// Where the next search starts after a rejected candidate.
enum class Resume : std::uint8_t {
  kEnd,        // after the match: the default, keeps every pattern linear
  kNextGroup,  // after the match's first separator: a digit run may hold an entity further in
  kNextByte,   // one byte on: literal alternations (deny lists), whose matches are short
};

bool checkEmail(std::string_view t, Candidate& c, const Limits&) {
  std::string_view m = t.substr(c.b, c.e - c.b);
  std::size_t at = m.find('@');
  std::string_view local = m.substr(0, at), domain = m.substr(at + 1);
  if (local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  if (domain.size() > 253 || domain.find("..") != std::string_view::npos) return false;
  if (c.e < t.size() && (isAlnum(t[c.e]) || t[c.e] == '@')) return false;
  // A local part with Latin letters beyond ASCII ("jöhn@"): extend over them so that no piece
  // of the address is left behind. Other scripts end the address (CJK text has no spaces).
  std::size_t b = c.b;
  while (b >= 2) {
    auto lead = static_cast<unsigned char>(t[b - 2]);
    auto cont = static_cast<unsigned char>(t[b - 1]);
    if (lead < 0xC3 || lead > 0xC9 || (cont & 0xC0) != 0x80) break;
    unsigned cp = ((lead & 0x1Fu) << 6) | (cont & 0x3Fu);
    if (cp < 0xC0 || cp > 0x24F || cp == 0xD7 || cp == 0xF7) break;
    b -= 2;
    while (b > 0 && (isAlnum(t[b - 1]) || t[b - 1] == '.' || t[b - 1] == '_' ||
                     t[b - 1] == '-' || t[b - 1] == '+')) {
      --b;
    }
  }
  const std::size_t local_size = c.b + at - b;
  c.b = b;
  return local_size <= 64;
}

bool checkPhone(std::string_view t, Candidate& c, const Limits&) {
  std::string_view m = t.substr(c.b, c.e - c.b);
  if (!numericBoundary(t, c.b, c.e)) return false;
  if (c.b > 0 && (t[c.b - 1] == '+' || t[c.b - 1] == '@' || t[c.b - 1] == '#')) return false;
  // A group of a longer grouped number ("DE89 3704 0044 0532 0130 01") is no phone number.
  if (m.front() != '+') {
    if (c.b >= 2 && (t[c.b - 1] == ' ' || t[c.b - 1] == '-') && isDigit(t[c.b - 2])) return false;
    if (c.e + 1 < t.size() && (t[c.e] == ' ' || t[c.e] == '-') && isDigit(t[c.e + 1])) {
      return false;
    }
  }
  char buf[kMaxDigits + 1];
  const std::string_view d = digitsOf(m, buf);
  int open = 0, parens = 0;
  const bool plus = m.front() == '+';
  char prev = plus ? '+' : 0;
  for (char ch : m.substr(plus ? 1 : 0)) {
    if (ch == '(') {
      if (open || ++parens > 1) return false;
      open = 1;
    } else if (ch == ')') {
      if (!open) return false;
      open = 0;
    } else if (!isDigit(ch) && !isDigit(prev) && prev != ')' && prev != '(' && prev != '+') {
      return false;  // two separators in a row
    }
    prev = ch;
  }
  if (open) return false;
  if (std::all_of(d.begin(), d.end(), [&](char x) { return x == d[0]; })) return false;
  if (m.front() == '+') return d.size() >= 8 && d.size() <= 15;
  if (m.front() == '0') return d.size() >= 9 && d.size() <= 12;
  return d.size() == 10 || d.size() == 11;  // NANP, with or without the leading 1
}

bool checkCard(std::string_view t, Candidate& c, const Limits&) {
  std::string_view m = t.substr(c.b, c.e - c.b);
  if (!numericBoundary(t, c.b, c.e)) return false;
  char sep = 0;
  std::size_t group = 0, groups = 0;
  for (char ch : m) {
    if (isDigit(ch)) {
      ++group;
      continue;
    }
    if (sep != 0 && ch != sep) return false;  // mixed separators: not a card as people type it
    sep = ch;
    if (group < 3 || group > 6) return false;
    group = 0;
    ++groups;
  }
  if (sep != 0 && (group < 3 || group > 6 || groups > 4)) return false;
  char buf[kMaxDigits + 1];
  const std::string_view d = digitsOf(m, buf);
  return luhnValid(d) && cardIssuerValid(d);
}

bool checkIban(std::string_view t, Candidate& c, const Limits&) {
  std::string_view m = t.substr(c.b, c.e - c.b);
  int want = ibanLength(m.substr(0, 2));
  if (want == 0) return false;
  // The regex may have run into a following word; keep exactly the registered length.
  char buf[64];
  std::size_t size = 0;
  std::size_t i = 0;
  for (; i < m.size() && size < static_cast<std::size_t>(want) && size < sizeof buf; ++i) {
    if (m[i] != ' ') buf[size++] = m[i];
  }
  if (size != static_cast<std::size_t>(want)) return false;
  const std::string_view compact(buf, size);
  if (i < m.size() && m[i] != ' ') return false;
  c.e = c.b + i;
  return ibanValid(compact) && (c.b == 0 || !isWord(t[c.b - 1]));
}

bool checkSsn(std::string_view t, Candidate& c, const Limits&) {
  if (!numericBoundary(t, c.b, c.e)) return false;
  char buf[kMaxDigits + 1];
  const std::string_view d = digitsOf(t.substr(c.b, c.e - c.b), buf);
  if (d.size() != 9) return false;
  auto num = [&](std::size_t from, std::size_t n) {
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) v = v * 10 + (d[i] - '0');
    return v;
  };
  return ssnValid(num(0, 3), num(3, 2), num(5, 4));
}

bool checkIpv4(std::string_view t, Candidate& c, const Limits&) {
  if (!numericBoundary(t, c.b, c.e)) return false;
  if (!ipv4Valid(t.substr(c.b, c.e - c.b))) return false;
  // "version 10.2.0.1" and "v 1.2.3.4" are versions, not addresses.
  std::size_t k = c.b;
  while (k > 0 && t[k - 1] == ' ') --k;
  std::size_t w = k;
  while (w > 0 && isAlpha(t[w - 1])) --w;
  std::string word;
  for (std::size_t i = w; i < k; ++i) word.push_back(lower(t[i]));
  return word != "version" && word != "ver" && word != "v" && word != "release";
}

bool checkIpv6(std::string_view t, Candidate& c, const Limits&) {
  if (c.b > 0 && (isWord(t[c.b - 1]) || t[c.b - 1] == ':' || t[c.b - 1] == '.')) return false;
  if (c.e < t.size() && (isWord(t[c.e]) || t[c.e] == ':')) return false;
  std::string_view m = t.substr(c.b, c.e - c.b);
  int hex = 0, groups = 0;
  bool digit = false, in_group = false;
  for (char ch : m) {
    if (isHex(ch)) {
      ++hex;
      digit = digit || isDigit(ch);
      if (!in_group) ++groups;
      in_group = true;
    } else {
      in_group = false;
    }
  }
  // Keeps C++ ("std::map", "a::b") and short tokens out; "fe80::1" still passes.
  return digit && groups >= 2 && hex >= 5 && ipv6Valid(m);
}

// After the match, nothing that would continue the token.
bool tokenEnd(std::string_view t, std::size_t e) {
  return e >= t.size() || !(isAlnum(t[e]) || t[e] == '_' || t[e] == '-');
}

bool checkTokenEnd(std::string_view t, Candidate& c, const Limits&) { return tokenEnd(t, c.e); }

bool checkSlackToken(std::string_view t, Candidate& c, const Limits&) {
  std::string_view m = t.substr(c.b, c.e - c.b);
  return std::any_of(m.begin() + 5, m.end(), isDigit) && tokenEnd(t, c.e);
}

bool checkOpenai(std::string_view t, Candidate& c, const Limits&) {
  std::string_view m = t.substr(c.b, c.e - c.b);
  if (m.starts_with("sk-ant-")) return false;
  std::string_view body = m.substr(3);
  bool lo = false, up = false, dg = false;
  for (char ch : body) {
    lo = lo || (ch >= 'a' && ch <= 'z');
    up = up || (ch >= 'A' && ch <= 'Z');
    dg = dg || isDigit(ch);
  }
  return int{lo} + int{up} + int{dg} >= 2 && entropyAtLeast(body, 3.0) && tokenEnd(t, c.e);
}

bool checkAnthropic(std::string_view t, Candidate& c, const Limits&) {
  std::string_view body = t.substr(c.b + 7, c.e - c.b - 7);
  return std::any_of(body.begin(), body.end(), isDigit) && entropyAtLeast(body, 3.0) &&
         tokenEnd(t, c.e);
}

bool checkAwsSecret(std::string_view t, Candidate& c, const Limits&) {
  std::string_view v = t.substr(c.b, c.e - c.b);
  bool lo = false, up = false, dg = false;
  for (char ch : v) {
    lo = lo || (ch >= 'a' && ch <= 'z');
    up = up || (ch >= 'A' && ch <= 'Z');
    dg = dg || isDigit(ch);
  }
  return lo && up && dg;
}

bool checkJwt(std::string_view t, Candidate& c, const Limits&) {
  if (c.e < t.size() && (isWord(t[c.e]) || t[c.e] == '-')) return false;
  // A '.' ending a sentence is fine; one that starts a fourth part is not a JWT.
  if (c.e + 1 < t.size() && t[c.e] == '.' && (isWord(t[c.e + 1]) || t[c.e + 1] == '-')) {
    return false;
  }
  return jwtValid(t.substr(c.b, c.e - c.b));
}

bool looksLikeUuid(std::string_view v) {
  if (v.size() != 36) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? v[i] != '-' : !isHex(v[i])) return false;
  }
  return true;
}

// Letters joined by "_", "-" or "." and no digit: a constant or a dotted name, not a secret.
bool looksLikeIdentifier(std::string_view v, bool dotted_only) {
  bool dot = false;
  for (char ch : v) {
    if (isDigit(ch)) return false;
    if (ch == '.') {
      dot = true;
    } else if (!isAlpha(ch) && ch != '_' && ch != '-') {
      return false;
    }
  }
  return !dotted_only || dot;
}

bool checkGeneric(std::string_view t, Candidate& c, const Limits& limits) {
  while (c.e > c.b && (t[c.e - 1] == '.' || t[c.e - 1] == ',' || t[c.e - 1] == ';' ||
                       t[c.e - 1] == '?' || t[c.e - 1] == ':')) {
    --c.e;
  }
  std::string_view v = t.substr(c.b, c.e - c.b);
  // "pass" or "pwd" in the key word and what follows it, in any case.
  auto contextHas = [&](std::string_view word) {
    for (std::size_t i = c.mb; i + word.size() <= c.b; ++i) {
      std::size_t k = 0;
      while (k < word.size() && lower(t[i + k]) == word[k]) ++k;
      if (k == word.size()) return true;
    }
    return false;
  };
  const bool password = contextHas("pass") || contextHas("pwd");
  if (v.size() < (password ? std::size_t{8} : limits.generic_min_length)) return false;
  if (charClassCount(v) < 2) return false;
  if (looksLikeIdentifier(v, /*dotted_only=*/password) || looksLikeUuid(v)) return false;
  if (v.find("xxxx") != std::string_view::npos || v.find("XXXX") != std::string_view::npos ||
      v.find("****") != std::string_view::npos || v.find("...") != std::string_view::npos) {
    return false;  // a documented placeholder, not a value
  }
  // After a password word the value is a password by position: people pick weaker ones than
  // machines generate, so the entropy bar is lower there.
  double need = std::min(limits.entropy_threshold,
                         (password ? 0.75 : 0.85) * std::log2(static_cast<double>(v.size())));
  return entropyAtLeast(v, need);
}

// Prechecks: cheap necessary conditions tried at an anchor (the literal's position and size)
// before the anchored regex runs there, so that the key words and "ey"s of ordinary prose cost a
// few byte compares instead of a regex match. Each must hold wherever its pattern matches.
//
// Hostile input (a megabyte of "eyey..." or "sk-sk-...") puts an anchor every few bytes: a
// precheck must not rescan the same run for each of them, so the runs it measures are
// remembered per pattern and scan (runs are maximal: every anchor inside one shares its end).
struct PrecheckMemo {
  std::size_t token_b = 1, token_e = 0;  // the last maximal tokenRun, [b, e)
  std::size_t value_b = 1, value_e = 0;  // the last maximal run of valueChar()s
  bool end_marker_known = false;
  std::size_t end_marker = 0;            // where the last "-----END" starts (npos: none)
};
using Precheck = bool (*)(std::string_view text, std::size_t at, std::size_t size,
                          PrecheckMemo& memo);

bool wordStart(std::string_view t, std::size_t at) { return at == 0 || !isWord(t[at - 1]); }

bool tokenChar(char c) { return isAlnum(c) || c == '_' || c == '-'; }

// The end of the maximal run of `in` characters from j, measured once per run.
template <bool (*in)(char)>
std::size_t memoRun(std::string_view t, std::size_t j, std::size_t& b, std::size_t& e) {
  if (j >= b && j <= e) return e;
  std::size_t k = j;
  while (k < t.size() && in(t[k])) ++k;
  b = j;
  e = k;
  return k;
}

// \be[wy][A-Za-z0-9_\-]{8,}\.
bool precheckJwt(std::string_view t, std::size_t at, std::size_t size, PrecheckMemo& memo) {
  if (!wordStart(t, at)) return false;
  const std::size_t e = memoRun<tokenChar>(t, at + size, memo.token_b, memo.token_e);
  return e - (at + size) >= 8 && e < t.size() && t[e] == '.';
}

// \bsk-[A-Za-z0-9_\-]{20,} (OpenAI, with or without proj-/svcacct-/admin-; sk-ant- likewise).
bool precheckSkKey(std::string_view t, std::size_t at, std::size_t size, PrecheckMemo& memo) {
  return wordStart(t, at) &&
         memoRun<tokenChar>(t, at + size, memo.token_b, memo.token_e) - (at + size) >= 20;
}

// A whole PEM block needs an END line somewhere after its BEGIN.
bool precheckPemEnd(std::string_view t, std::size_t at, std::size_t, PrecheckMemo& memo) {
  if (!memo.end_marker_known) {
    memo.end_marker = t.rfind("-----END");
    memo.end_marker_known = true;
  }
  return memo.end_marker != std::string_view::npos && memo.end_marker > at;
}

// Whether one of a deny list's terms can match at `at` (the regex matches case-insensitively
// with Unicode folding): compared byte by byte as far as that is certain. The only non-ASCII
// characters that fold to ASCII letters are U+212A (k) and U+017F (s), and no ASCII byte folds
// to a non-ASCII one, so the comparison stops with "maybe" at a non-ASCII byte of the text where
// the term has k or s, and at a non-ASCII byte of the term.
bool termMayStartAt(const std::vector<std::string>& terms, std::string_view t, std::size_t at) {
  for (const std::string& term : terms) {
    std::size_t k = 0;
    for (; k < term.size(); ++k) {
      const char want = term[k];
      if (static_cast<unsigned char>(want) >= 0x80) return true;
      if (at + k >= t.size()) break;
      const char got = t[at + k];
      if (lower(got) == lower(want)) continue;
      if (static_cast<unsigned char>(got) >= 0x80 && (lower(want) == 'k' || lower(want) == 's')) {
        return true;
      }
      break;
    }
    if (k == term.size()) return true;
  }
  return false;
}

// Deny-list terms that start with a word character must start a word.
bool precheckTerm(std::string_view t, std::size_t at, std::size_t, PrecheckMemo&) {
  return !(isWord(t[at]) && at > 0 && isWord(t[at - 1]));
}

bool valueChar(char c) {
  switch (c) {
    case '_': case '-': case '+': case '/': case '=': case '.': case '~': case '!': case '@':
    case '#': case '$': case '%': case '^': case '&': case '*': case '?':
      return true;
    default:
      return isAlnum(c);
  }
}

// The generic SECRET after a key word: the rest of the word, an optional quote, a separator
// (':', '=', or white space), then, after at most two short words the regex may skip (is, was,
// bearer, basic, token) and a quote, a run of at least 8 value characters.
bool precheckKeyword(std::string_view t, std::size_t at, std::size_t size, PrecheckMemo& memo) {
  const std::size_t n = t.size();
  std::size_t j = memoRun<tokenChar>(t, at + size, memo.token_b, memo.token_e);
  if (j < n && (t[j] == '"' || t[j] == '\'' || t[j] == ']')) ++j;
  bool separated = false;
  while (j < n && isSpace(t[j])) {
    ++j;
    separated = true;
  }
  if (j < n && (t[j] == ':' || t[j] == '=')) {
    separated = true;
    ++j;
  }
  if (!separated) return false;
  for (int word = 0; word < 3; ++word) {
    while (j < n && (isSpace(t[j]) || t[j] == '>')) ++j;
    if (j < n && (t[j] == '"' || t[j] == '\'' || t[j] == '`')) ++j;
    const std::size_t k = memoRun<valueChar>(t, j, memo.value_b, memo.value_e);
    if (k - j >= 8) return true;
    char w[8] = {};
    if (k - j > 6) return false;
    for (std::size_t i = j; i < k; ++i) w[i - j] = lower(t[i]);
    const std::string_view v(w, k - j);
    if (v != "is" && v != "was" && v != "bearer" && v != "basic" && v != "token") return false;
    j = k;
  }
  return false;
}

// Window ends for anchored patterns: the next whitespace (tokens), or the end of the text.
constexpr int kToSpace = 0;
constexpr int kToEnd = -1;
constexpr std::size_t kMaxTokenWindow = 1024;  // no token secret is longer

// Where a pattern is searched. Most run in one RE2::Set pass over the whole text and then only
// if the set says they match; the families below are searched only inside small regions a byte
// loop finds, which is much cheaper than a full DFA pass per pattern on ordinary prose.
enum class Trigger : std::uint8_t {
  kSet,
  kDigits,  // runs of [0-9 .()+-] holding enough digits (numbers, cards, phones, IPv4)
  kAt,      // a window around each '@' (e-mail)
  kColons,  // runs of [0-9A-Fa-f:.] with at least two ':' (IPv6)
  kIban,    // two upper-case letters at a word start right before a digit run's first two digits
};

// What a run of [0-9 .()+-] holds, so that a digit pattern runs only where it could match.
struct RunShape {
  std::size_t digits = 0, dots = 0, dashes = 0, spaces = 0, parens = 0, plus = 0;
};

// The bytes of a run of [0-9 .()+-], each as a one in its own 8-bit lane of a packed counter
// (digits, '.', '-', ' ', '(', '+', ')'); 0 for any other byte. Summing these over at most 255
// bytes counts a run's shape with one table load and one add per byte.
constexpr std::array<std::uint64_t, 256> kRunLanes = [] {
  std::array<std::uint64_t, 256> t{};
  for (unsigned c = '0'; c <= '9'; ++c) t[c] = 1;
  t['.'] = std::uint64_t{1} << 8;
  t['-'] = std::uint64_t{1} << 16;
  t[' '] = std::uint64_t{1} << 24;
  t['('] = std::uint64_t{1} << 32;
  t['+'] = std::uint64_t{1} << 40;
  t[')'] = std::uint64_t{1} << 48;
  return t;
}();

// Adds the run of [0-9 .()+-] from e to `shape` and returns where it ends.
std::size_t measureRun(std::string_view t, std::size_t e, RunShape& shape) {
  const std::size_t n = t.size();
  while (true) {
    std::uint64_t packed = 0;
    const std::size_t stop = std::min(n, e + 255);  // no lane overflows
    while (e < stop) {
      const std::uint64_t lane = kRunLanes[static_cast<unsigned char>(t[e])];
      if (lane == 0) break;
      packed += lane;
      ++e;
    }
    shape.digits += packed & 0xFF;
    shape.dots += (packed >> 8) & 0xFF;
    shape.dashes += (packed >> 16) & 0xFF;
    shape.spaces += (packed >> 24) & 0xFF;
    shape.parens += (packed >> 32) & 0xFF;
    shape.plus += (packed >> 40) & 0xFF;
    if (e < stop || e == n) return e;
  }
}

bool gateIntlPhone(const RunShape& s) { return s.plus > 0 && s.digits >= 8; }
bool gateNanpPhone(const RunShape& s) {
  return s.digits >= 10 && (s.parens > 0 || s.dots + s.dashes + s.spaces >= 2);
}
bool gateNationalPhone(const RunShape& s) { return s.digits >= 9 && s.dashes + s.spaces >= 1; }
bool gateCard(const RunShape& s) { return s.digits >= 12; }
bool gateSsn(const RunShape& s) { return s.digits >= 9 && s.dashes >= 2; }
bool gateIpv4(const RunShape& s) { return s.digits >= 4 && s.dots >= 3; }

struct BuiltinSpec {
  EntityKind kind;
  Category category;
  const char* type;
  int priority;
  const char* pattern;
  int group;
  Check check;
  Resume resume;
  Trigger trigger;
  // What the RE2::Set runs for a kSet pattern: a cheaper regex that matches wherever the pattern
  // can (a necessary condition), without the long counted repetitions that make a combined DFA
  // explode. nullptr: the pattern itself.
  const char* prefilter = nullptr;
  bool (*gate)(const RunShape&) = nullptr;  // kDigits only
  // kSet only: literals ('|'-separated) one of which every match contains, starting at most
  // `lead` bytes after the match does; the full pattern then runs only in windows around them
  // instead of over the whole text. nullptr: run over the whole text.
  const char* anchors = nullptr;
  int lead = 0;
  int span = kToSpace;  // window end: bytes after the literal, kToSpace or kToEnd
  bool anchors_ci = false;  // anchors match ignoring ASCII case (text compared lower-cased)
  // Every match starts exactly `lead` bytes before its anchor: one anchored attempt per anchor
  // instead of a search through a window.
  bool exact = true;
};

// Patterns run in Latin-1 mode: they are byte-oriented and ASCII-only except where a class
// names bytes >= 0x80 on purpose (internationalised e-mail domains).
const BuiltinSpec kBuiltins[] = {
    {EntityKind::kEmail, Category::kPii, "EMAIL", 60, kEmailPattern, 0, checkEmail, Resume::kEnd,
     Trigger::kAt},
    {EntityKind::kPhone, Category::kPii, "PHONE", 40, kIntlPhonePattern, 0,
     checkPhone, Resume::kEnd, Trigger::kDigits, nullptr, gateIntlPhone},
    {EntityKind::kPhone, Category::kPii, "PHONE", 40, kNanpPhonePattern, 0, checkPhone,
     Resume::kNextGroup, Trigger::kDigits, nullptr, gateNanpPhone},
    {EntityKind::kPhone, Category::kPii, "PHONE", 40, kNationalPhonePattern, 0, checkPhone,
     Resume::kNextGroup, Trigger::kDigits, nullptr, gateNationalPhone},
    {EntityKind::kCreditCard, Category::kPii, "CREDIT_CARD", 70,
     kCardPattern, 0, checkCard, Resume::kNextGroup, Trigger::kDigits, nullptr, gateCard},
    {EntityKind::kIban, Category::kPii, "IBAN", 70,
     R"(\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b)", 0, checkIban,
     Resume::kEnd, Trigger::kIban},
    {EntityKind::kUsSsn, Category::kPii, "US_SSN", 65, kSsnPattern, 0,
     checkSsn, Resume::kEnd, Trigger::kDigits, nullptr, gateSsn},
    {EntityKind::kUsSsn, Category::kPii, "US_SSN", 65,
     R"((?i:\bssn|social security(?: number| no\.?)?|\bss#)[^0-9\n]{0,20}([0-9]{9}|[0-9]{3}[ \-][0-9]{2}[ \-][0-9]{4})\b)",
     1, checkSsn, Resume::kEnd, Trigger::kSet,
     R"((?i:ssn|social security|ss#))", nullptr, "ssn|social security|ss#", 0, 80, true},
    {EntityKind::kIpv4, Category::kPii, "IP_ADDRESS", 45, kIpv4Pattern,
     0, checkIpv4, Resume::kEnd, Trigger::kDigits, nullptr, gateIpv4},
    {EntityKind::kIpv6, Category::kPii, "IP_ADDRESS", 45,
     R"([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3})", 0, checkIpv6,
     Resume::kEnd, Trigger::kColons},
    {EntityKind::kAwsAccessKey, Category::kSecret, "AWS_ACCESS_KEY", 90,
     R"(\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b)", 0, nullptr, Resume::kEnd, Trigger::kSet,
     R"((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{4})", nullptr, "AKIA|ASIA|ABIA|ACCA", 0, 24},
    {EntityKind::kAwsSecretKey, Category::kSecret, "AWS_SECRET_KEY", 85,
     R"((?i:aws)[A-Za-z0-9_\-. ]{0,32}(?i:secret|key)[A-Za-z0-9_\-]{0,24}["'\]]?\s*(?:[:=]>?|\s)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$))",
     1, checkAwsSecret, Resume::kEnd, Trigger::kSet,
     R"((?i:aws)[A-Za-z0-9_\-. ]*(?i:secret|key))", nullptr, "aws", 0, 200, true},
    {EntityKind::kGcpApiKey, Category::kSecret, "GCP_API_KEY", 90,
     R"(\bAIza[0-9A-Za-z_\-]{35})", 0, checkTokenEnd, Resume::kEnd, Trigger::kSet,
     R"(AIza)", nullptr, "AIza", 0, 48},
    {EntityKind::kGcpServiceAccountKey, Category::kSecret, "GCP_SERVICE_ACCOUNT_KEY", 85,
     R"re("private_key_id"\s*:\s*"([0-9a-f]{40})")re", 1, nullptr, Resume::kEnd, Trigger::kSet,
     R"re("private_key_id")re", nullptr, "\"private_key_id\"", 0, 120},
    {EntityKind::kAzureStorageKey, Category::kSecret, "AZURE_STORAGE_KEY", 85,
     R"((?i:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/]{40,100}={0,2}))", 1, nullptr,
     Resume::kEnd, Trigger::kSet,
     R"((?i:accountkey|sharedaccesskey)\s*=)", nullptr, "accountkey|sharedaccesskey", 0, 200, true},
    {EntityKind::kAzureStorageKey, Category::kSecret, "AZURE_STORAGE_KEY", 85,
     R"([?&;]sig=([A-Za-z0-9%+/]{40,120}(?:%3[Dd]|=){0,2}))", 1, nullptr, Resume::kEnd, Trigger::kSet,
     R"([?&;]sig=)", nullptr, "sig=", 1, 160},
    {EntityKind::kGithubToken, Category::kSecret, "GITHUB_TOKEN", 90,
     R"(\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255}))", 0, checkTokenEnd,
     Resume::kEnd, Trigger::kSet,
     R"(gh[pousr]_[A-Za-z0-9]{8}|github_pat_)", nullptr, "ghp_|gho_|ghu_|ghs_|ghr_|github_pat_"},
    {EntityKind::kSlackToken, Category::kSecret, "SLACK_TOKEN", 90,
     R"(\bxox[abprse]-[A-Za-z0-9\-]{10,250})", 0, checkSlackToken, Resume::kEnd, Trigger::kSet,
     R"(xox[abprse]-)", nullptr, "xox"},
    {EntityKind::kSlackWebhook, Category::kSecret, "SLACK_WEBHOOK", 90,
     R"(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,200})", 0,
     nullptr, Resume::kEnd, Trigger::kSet,
     R"(hooks\.slack\.com/)", nullptr, "hooks.slack.com/", 8},
    {EntityKind::kAnthropicApiKey, Category::kSecret, "ANTHROPIC_API_KEY", 95,
     R"(\bsk-ant-[A-Za-z0-9_\-]{20,250})", 0, checkAnthropic, Resume::kEnd, Trigger::kSet,
     R"(sk-ant-)", nullptr, "sk-ant-"},
    {EntityKind::kOpenaiApiKey, Category::kSecret, "OPENAI_API_KEY", 90,
     R"(\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,250})", 0, checkOpenai, Resume::kEnd, Trigger::kSet,
     R"(\bsk-)", nullptr, "sk-"},
    // A whole block, and (for one cut short) the header with the base64 body that follows. Two
    // patterns, not one alternation: a failed search for END would rescan the rest of the text
    // for every BEGIN.
    {EntityKind::kPrivateKey, Category::kSecret, "PRIVATE_KEY", 100,
     R"(-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----)",
     0, nullptr, Resume::kEnd, Trigger::kSet,
     R"(-----BEGIN[ A-Z0-9]*PRIVATE KEY[\s\S]*-----END)", nullptr, "-----BEGIN", 0, kToEnd},
    {EntityKind::kPrivateKey, Category::kSecret, "PRIVATE_KEY", 100,
     R"(-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s\\]*)", 0, nullptr,
     Resume::kEnd, Trigger::kSet,
     R"(-----BEGIN[ A-Z0-9]*PRIVATE KEY)", nullptr, "-----BEGIN", 0, kToEnd},
    {EntityKind::kJwt, Category::kSecret, "JWT", 85,
     R"(\be[wy][A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*)", 0, checkJwt,
     Resume::kEnd, Trigger::kSet,
     R"(\be[wy][A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.)", nullptr, "ey|ew"},
    {EntityKind::kGenericSecret, Category::kSecret, "SECRET", 75,
     R"(\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/@]{1,64}:([^\s:/@]{3,128})@)", 1, nullptr,
     Resume::kEnd, Trigger::kSet,
     R"(://[^\s:/@]+:[^\s:/@]+@)", nullptr, "://", 17, kToSpace, false, false},
    {EntityKind::kGenericSecret, Category::kSecret, "SECRET", 30,
     kKeywordSecretPattern, 1, checkGeneric, Resume::kEnd, Trigger::kSet,
     R"((?i:key|secret|token|passw|pwd|credential|auth)[A-Za-z0-9_\-]*["'\]]?\s*(?:[:=]>?\s*|\s+(?:is\s+|was\s+)?)["'`]?(?i:(?:bearer|basic|token)\s+)?[A-Za-z0-9_\-+/=.~!@#$%^&*?]{8})", nullptr, "key|secret|token|passw|passp|pwd|credential|auth", 0, 340, true},
};

Precheck precheckFor(const BuiltinSpec& b) {
  const std::string_view anchors = b.anchors;
  if (b.kind == EntityKind::kJwt) return precheckJwt;
  if (b.kind == EntityKind::kOpenaiApiKey || b.kind == EntityKind::kAnthropicApiKey) {
    return precheckSkKey;
  }
  if (b.kind == EntityKind::kGenericSecret && anchors.starts_with("key|")) return precheckKeyword;
  if (b.kind == EntityKind::kPrivateKey && std::string_view(b.pattern).find("-----END") !=
                                               std::string_view::npos) {
    return precheckPemEnd;
  }
  return nullptr;
}

// The hand-written matcher standing in for a built-in digit pattern (fast_match.h), if any.
DigitMatcher digitMatcherFor(const char* pattern) {
  static const std::pair<const char*, DigitMatcher> kMatchers[] = {
      {kIntlPhonePattern, matchIntlPhone}, {kNanpPhonePattern, matchNanpPhone},
      {kNationalPhonePattern, matchNationalPhone}, {kCardPattern, matchCard},
      {kSsnPattern, matchSsn}, {kIpv4Pattern, matchIpv4}};
  for (const auto& [p, m] : kMatchers) {
    if (std::strcmp(p, pattern) == 0) return m;
  }
  return nullptr;
}

// Custom detectors run in UTF-8 mode with their own checks.
using CustomCheck = NamedValidator;

}  // namespace

namespace {

// Two bytes as one table index, in the host's byte order (the table is built the same way).
inline unsigned pairKey(const unsigned char* p) {
  std::uint16_t key;
  std::memcpy(&key, p, 2);
  return key;
}

}  // namespace

struct Detector::Impl {
  struct Pattern {
    EntityKind kind;
    Category category;
    std::string type;
    int priority;
    std::unique_ptr<RE2> re;
    int group;
    Check check;             // built-ins
    CustomCheck validator;   // custom regexes
    bool whole_word;         // deny lists
    Resume resume;
    Trigger trigger = Trigger::kSet;
    bool (*gate)(const RunShape&) = nullptr;  // kDigits: can a run of this shape hold one?
    DigitMatcher matcher = nullptr;  // kDigits: finds what `re` would, without RE2
    std::vector<std::string> anchors;  // kSet: search only around these (see BuiltinSpec)
    int lead = 0;
    int span = kToSpace;
    bool anchors_ci = false;
    bool exact = true;
    std::size_t min_anchor = 0, max_anchor = 0;  // anchor sizes, in bytes
    Precheck precheck = nullptr;  // anchored patterns: tried before the regex at each anchor
    std::unique_ptr<RE2> head;  // the generic SECRET's head (see matchKeywordSecret())
    std::vector<std::string> terms;  // anchored deny lists: the terms, for termMayStartAt()
  };

  // One anchor literal, filed under its first byte (both cases for case-insensitive ones). The
  // anchor pass looks each text position's byte pair up in `pair_hit` (a byte per pair, set
  // where some anchor can start with that pair) and only then walks the entries of the first
  // byte.
  struct AnchorEntry {
    std::size_t slot;     // index into anchor_ids
    std::string literal;  // lower-cased when ci; empty: the byte pair is all there is to check
    unsigned second = 0;  // the second byte (lower-cased when ci), unless any_second
    bool any_second = false;
    bool ci = false;
  };

  Limits limits;
  std::vector<Pattern> patterns;
  std::vector<int> latin1_ids, utf8_ids;  // set index -> pattern index
  std::vector<int> digit_ids, at_ids, colon_ids;  // patterns searched in regions
  int iban_id = -1;
  std::vector<int> anchor_ids;  // patterns tried only at their anchors (one pass for all)
  std::array<std::vector<AnchorEntry>, 256> anchor_first;
  // Indexed by pairKey(): the pair as one 16-bit load. A byte per pair rather than a bit: the
  // pass then costs two loads, a shift and an or per position.
  std::vector<std::uint8_t> pair_hit = std::vector<std::uint8_t>(1 << 16);
  std::unique_ptr<RE2::Set> latin1_set, utf8_set;
  std::unordered_set<std::string> allow_values;
  std::vector<std::unique_ptr<RE2>> allow_res;

  // The priority of the first pattern with the finding's kind and type (built-in kinds have one
  // type each, so theirs is looked up by kind).
  std::array<int, static_cast<std::size_t>(EntityKind::kCustom)> kind_priority{};
  int priorityOf(const Finding& f) const {
    if (f.kind != EntityKind::kCustom) return kind_priority[static_cast<std::size_t>(f.kind)];
    for (const auto& p : patterns) {
      if (p.kind == f.kind && p.type == f.type) return p.priority;
    }
    return 0;
  }

  bool allowed(std::string_view value) const {
    if (allow_values.empty() && allow_res.empty()) return false;
    if (allow_values.contains(std::string(value))) return true;
    re2::StringPiece sp(value.data(), value.size());
    return std::any_of(allow_res.begin(), allow_res.end(),
                       [&](const auto& re) { return RE2::FullMatch(sp, *re); });
  }

  // Finds every match in [from, to) (UNANCHORED), or only one starting at `from` (ANCHOR_START);
  // returns where the last accepted finding ends (0: none).
  std::size_t locate(const Pattern& p, std::string_view text, std::size_t from, std::size_t to,
                     std::vector<Finding>& out, RE2::Anchor anchor = RE2::UNANCHORED) const;
  void runRegions(std::string_view text, std::vector<Finding>& out) const;
  void runAnchored(std::string_view text, std::vector<Finding>& out) const;
  void addAnchor(std::size_t slot, std::string_view literal, bool ci);
  void addPairOnly(std::size_t slot, unsigned first, int second, bool ci);
  void markPair(unsigned first, unsigned second) {
    const unsigned char pair[2] = {static_cast<unsigned char>(first),
                                   static_cast<unsigned char>(second)};
    pair_hit[pairKey(pair)] = 1;
  }
  void runSet(const RE2::Set* set, const std::vector<int>& ids, std::string_view text,
              std::vector<Finding>& out) const;
};

std::size_t Detector::Impl::locate(const Pattern& p, std::string_view text, std::size_t from,
                                   std::size_t to, std::vector<Finding>& out,
                                   RE2::Anchor anchor) const {
  re2::StringPiece sp(text.data(), text.size());
  re2::StringPiece sub[kMaxGroups + 1];
  const int nsub = p.group + 1;
  std::size_t pos = from;
  std::size_t accepted_end = 0;
  // The whole text stays the match context, so \b and the checks see past the region's edges.
  auto next_match = [&] {
    if (p.trigger == Trigger::kAt && anchor == RE2::UNANCHORED) {  // e-mail, see searchEmail()
      std::size_t mb = 0, me = 0;
      if (!searchEmail(*p.re, text, pos, to, mb, me)) return false;
      sub[0] = re2::StringPiece(text.data() + mb, me - mb);
      return true;
    }
    if (p.head != nullptr && anchor == RE2::ANCHOR_START) {  // see matchKeywordSecret()
      std::size_t me = 0, vb = 0;
      if (!matchKeywordSecret(*p.head, text, pos, to, me, vb)) return false;
      sub[0] = re2::StringPiece(text.data() + pos, me - pos);
      sub[p.group] = re2::StringPiece(text.data() + vb, me - vb);
      return true;
    }
    if (p.matcher == nullptr) return p.re->Match(sp, pos, to, anchor, sub, nsub);
    std::size_t mb = 0, me = 0;
    if (!p.matcher(text, pos, to, mb, me)) return false;
    sub[0] = re2::StringPiece(text.data() + mb, me - mb);
    return true;
  };
  while (pos <= to && next_match()) {
    Candidate c;
    c.mb = static_cast<std::size_t>(sub[0].data() - text.data());
    c.me = c.mb + sub[0].size();
    bool ok = sub[p.group].data() != nullptr;
    if (ok) {
      c.b = static_cast<std::size_t>(sub[p.group].data() - text.data());
      c.e = c.b + sub[p.group].size();
      ok = c.e > c.b;
    }
    if (ok && p.check) ok = p.check(text, c, limits);
    if (ok && p.validator) ok = p.validator(text.substr(c.b, c.e - c.b), limits.entropy_threshold);
    if (ok && p.whole_word) {
      // Only sides where the term itself starts or ends with a word character need a boundary.
      auto word = [](char ch) { return isWord(ch); };
      if (word(text[c.b]) && c.b > 0 && word(text[c.b - 1])) ok = false;
      if (word(text[c.e - 1]) && c.e < text.size() && word(text[c.e])) ok = false;
    }
    if (ok && allowed(text.substr(c.b, c.e - c.b))) ok = false;
    std::size_t next = c.me;
    if (ok) {
      out.push_back(Finding{p.kind, p.category, p.type, c.b, c.e});
      next = std::max(c.e, c.me);
      accepted_end = next;
    } else if (p.resume == Resume::kNextByte) {
      next = c.mb + 1;
    } else if (p.resume == Resume::kNextGroup) {
      std::size_t k = c.mb;
      while (k < c.me && isDigit(text[k])) ++k;
      next = k < c.me ? k + 1 : c.me;
    }
    pos = std::max(next, c.mb + 1);
    if (anchor != RE2::UNANCHORED) break;
  }
  return accepted_end;
}

namespace {

unsigned lowerByte(unsigned c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Both cases of an ASCII letter, else the byte itself.
std::vector<unsigned> caseVariants(unsigned c, bool ci) {
  if (ci && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return {c | 0x20u, c & ~0x20u};
  return {c};
}

bool literalAt(std::string_view t, std::size_t i, const std::string& literal, bool ci) {
  if (t.size() - i < literal.size()) return false;
  for (std::size_t k = 2; k < literal.size(); ++k) {
    const char c = ci ? lower(t[i + k]) : t[i + k];
    if (c != literal[k]) return false;
  }
  return true;
}

}  // namespace

void Detector::Impl::addAnchor(std::size_t slot, std::string_view literal, bool ci) {
  AnchorEntry e;
  e.slot = slot;
  e.ci = ci;
  e.literal.assign(literal);
  if (ci) std::transform(e.literal.begin(), e.literal.end(), e.literal.begin(), lower);
  const auto first = caseVariants(static_cast<unsigned char>(e.literal[0]), ci);
  if (e.literal.size() == 1) {
    e.any_second = true;
  } else {
    e.second = static_cast<unsigned char>(e.literal[1]);
  }
  for (unsigned f : first) {
    if (e.any_second) {
      for (unsigned b = 0; b < 256; ++b) markPair(f, b);
    } else {
      for (unsigned b : caseVariants(e.second, ci)) markPair(f, b);
    }
    anchor_first[f].push_back(e);
  }
}

void Detector::Impl::addPairOnly(std::size_t slot, unsigned first, int second, bool ci) {
  AnchorEntry e;
  e.slot = slot;
  e.ci = ci;
  e.any_second = second < 0;
  e.second = e.any_second ? 0 : lowerByte(static_cast<unsigned>(second));
  for (unsigned f : caseVariants(first, ci)) {
    if (e.any_second) {
      for (unsigned b = 0; b < 256; ++b) markPair(f, b);
    } else {
      for (unsigned b : caseVariants(e.second, ci)) markPair(f, b);
    }
    anchor_first[f].push_back(e);
  }
}

void Detector::Impl::runAnchored(std::string_view text, std::vector<Finding>& out) const {
  if (anchor_ids.empty() || text.empty()) return;
  // Anchor positions per pattern, reused by this thread's scans (no allocation once warm).
  thread_local std::vector<std::vector<std::size_t>> found;
  if (found.size() < anchor_ids.size()) found.resize(anchor_ids.size());
  for (std::size_t k = 0; k < anchor_ids.size(); ++k) found[k].clear();

  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  auto visit = [&](std::size_t i, unsigned b0, unsigned b1) {
    for (const AnchorEntry& a : anchor_first[b0]) {
      if (!a.any_second && (a.ci ? lowerByte(b1) : b1) != a.second) continue;
      if (a.literal.size() > 2 && !literalAt(text, i, a.literal, a.ci)) continue;
      found[a.slot].push_back(i);
    }
  };
  const std::uint8_t* hit = pair_hit.data();
  std::size_t i = 0;
  // 64 positions at a time: their table bytes are gathered into a mask without a branch per
  // position (prose hits a pair every dozen bytes or so: a branch each would mispredict often),
  // then only the set bits are visited, in order.
  for (; i + 64 < n; i += 64) {
    std::uint64_t mask = 0;
    for (unsigned j = 0; j < 64; ++j) {
      mask |= std::uint64_t{hit[pairKey(s + i + j)]} << j;
    }
    for (; mask != 0; mask &= mask - 1) {
      const std::size_t k = i + static_cast<std::size_t>(__builtin_ctzll(mask));
      visit(k, s[k], s[k + 1]);
    }
  }
  for (; i + 1 < n; ++i) {
    if (hit[pairKey(s + i)] != 0) visit(i, s[i], s[i + 1]);
  }
  const unsigned char last[2] = {s[n - 1], 0};
  if (hit[pairKey(last)] != 0) visit(n - 1, s[n - 1], 0);

  std::vector<std::size_t> starts;
  std::vector<std::pair<std::size_t, std::size_t>> windows;
  for (std::size_t slot = 0; slot < anchor_ids.size(); ++slot) {
    const std::vector<std::size_t>& at = found[slot];
    if (at.empty()) continue;
    const Pattern& p = patterns[static_cast<std::size_t>(anchor_ids[slot])];
    const auto lead = static_cast<std::size_t>(p.lead);
    if (p.exact) {
      std::size_t done = 0;  // matches do not overlap: skip starts inside the last finding
      std::size_t last = std::string_view::npos;
      PrecheckMemo memo;
      for (std::size_t a : at) {  // ascending: the pass walks the text once
        if (a < lead) continue;
        const std::size_t q = a - lead;
        if (q == last || q < done) continue;
        last = q;
        if (p.precheck != nullptr && !p.precheck(text, a, p.min_anchor, memo)) continue;
        if (!p.terms.empty() && !termMayStartAt(p.terms, text, a)) continue;
        std::size_t e = n;
        if (p.span > 0) {
          e = std::min(n, q + lead + static_cast<std::size_t>(p.span));
        } else if (p.span == kToSpace) {
          e = q;
          const std::size_t cap = std::min(n, q + kMaxTokenWindow);
          while (e < cap && !isSpace(text[e])) ++e;
        }
        done = std::max(done, locate(p, text, q, e, out, RE2::ANCHOR_START));
      }
      continue;
    }
    windows.clear();
    for (std::size_t q : at) {
      const std::size_t b = q > lead ? q - lead : 0;
      std::size_t e = n;
      if (p.span > 0) {
        e = std::min(n, q + static_cast<std::size_t>(p.span));
      } else if (p.span == kToSpace) {
        e = std::min(n, q + p.max_anchor);
        const std::size_t cap = std::min(n, q + kMaxTokenWindow);
        while (e < cap && !isSpace(text[e])) ++e;
      }
      windows.emplace_back(b, e);
    }
    // Overlapping windows merge, so each byte is searched once per pattern.
    std::size_t b = 0, e = 0;
    bool open = false;
    for (const auto& [wb, we] : windows) {
      if (open && wb <= e) {
        e = std::max(e, we);
        continue;
      }
      if (open) locate(p, text, b, e, out);
      b = wb;
      e = we;
      open = true;
    }
    if (open) locate(p, text, b, e, out);
  }
}

void Detector::Impl::runSet(const RE2::Set* set, const std::vector<int>& ids,
                            std::string_view text, std::vector<Finding>& out) const {
  if (ids.empty()) return;
  std::vector<int> hits;
  RE2::Set::ErrorInfo info{};
  if (!set->Match(re2::StringPiece(text.data(), text.size()), &hits, &info)) {
    if (info.kind == RE2::Set::kNoError) return;  // nothing matched
    // The prefilter DFA ran out of memory on this input: run every pattern instead.
    hits.clear();
    for (std::size_t i = 0; i < ids.size(); ++i) hits.push_back(static_cast<int>(i));
  }
  std::sort(hits.begin(), hits.end());
  for (int h : hits) {
    locate(patterns[static_cast<std::size_t>(ids[static_cast<std::size_t>(h)])], text, 0,
           text.size(), out);
  }
}

void Detector::Impl::runRegions(std::string_view text, std::vector<Finding>& out) const {
  const std::size_t n = text.size();
  if (!digit_ids.empty() || iban_id >= 0) {
    auto inRun = [](char c) {
      return isDigit(c) || c == ' ' || c == '.' || c == '-' || c == '(' || c == ')' || c == '+';
    };
    auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    std::size_t i = 0;
    while (i < n) {
      i = nextDigit(text, i);
      if (i >= n) break;
      // An IBAN starts with its country code right before the first digits of a run.
      if (iban_id >= 0 && i >= 2 && i + 1 < n && isDigit(text[i + 1]) && upper(text[i - 1]) &&
          upper(text[i - 2]) && (i == 2 || !isWord(text[i - 3]))) {
        locate(patterns[static_cast<std::size_t>(iban_id)], text, i - 2, n, out,
               RE2::ANCHOR_START);
      }
      std::size_t b = i;
      while (b > 0 && inRun(text[b - 1]) && !isDigit(text[b - 1])) --b;
      RunShape shape;
      const std::size_t e = measureRun(text, b, shape);
      if (shape.digits >= 4) {
        for (int id : digit_ids) {
          const Pattern& p = patterns[static_cast<std::size_t>(id)];
          if (p.gate(shape)) locate(p, text, b, e, out);
        }
      }
      i = e;
    }
  }
  if (!at_ids.empty()) {
    std::size_t i = 0;
    while (i < n) {
      const void* at = std::memchr(text.data() + i, '@', n - i);
      if (at == nullptr) break;
      std::size_t a = static_cast<std::size_t>(static_cast<const char*>(at) - text.data());
      // Up to 64 bytes of local part (plus a little for Latin letters) and a 253-byte domain.
      // The region may start inside the previous one (which holds no '@' past its last one's
      // domain): starting where that one ended would cut this address's local part short.
      std::size_t b = a > 96 ? a - 96 : 0;
      std::size_t e = std::min(n, a + 260);
      // Windows of neighbouring '@'s merge into one region.
      while (true) {
        const void* next = e < n ? std::memchr(text.data() + a + 1, '@', e - a - 1) : nullptr;
        if (next == nullptr) break;
        a = static_cast<std::size_t>(static_cast<const char*>(next) - text.data());
        e = std::min(n, a + 260);
      }
      for (int id : at_ids) locate(patterns[static_cast<std::size_t>(id)], text, b, e, out);
      i = e;
    }
  }
  if (!colon_ids.empty()) {
    auto inRun = [](char c) { return isHex(c) || c == ':' || c == '.'; };
    std::size_t i = 0;
    while (i < n) {
      const void* colon = std::memchr(text.data() + i, ':', n - i);
      if (colon == nullptr) break;
      std::size_t c = static_cast<std::size_t>(static_cast<const char*>(colon) - text.data());
      std::size_t b = c, e = c, colons = 0;
      bool double_colon = false;
      while (b > i && inRun(text[b - 1])) --b;
      for (; e < n && inRun(text[e]); ++e) {
        if (text[e] != ':') continue;
        ++colons;
        double_colon = double_colon || (e > b && text[e - 1] == ':');
      }
      // checkIpv6 accepts only what inet_pton does: a "::", or all eight groups (seven colons,
      // six before an embedded IPv4). Times ("02:30:00") and the like need no regex.
      if (colons >= 2 && (double_colon || colons >= 6)) {
        for (int id : colon_ids) locate(patterns[static_cast<std::size_t>(id)], text, b, e, out);
      }
      i = e;
    }
  }
}

const std::vector<std::string_view>& builtinEntityTypes() {
  static const std::vector<std::string_view> types = [] {
    std::vector<std::string_view> v;
    for (const auto& b : kBuiltins) {
      if (std::find(v.begin(), v.end(), b.type) == v.end()) v.emplace_back(b.type);
    }
    return v;
  }();
  return types;
}

Category builtinCategory(std::string_view type) {
  for (const auto& b : kBuiltins) {
    if (b.type == type) return b.category;
  }
  return Category::kCustom;
}

Result<std::unique_ptr<Detector>> Detector::create(const DetectorOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->limits = {options.entropy_threshold, options.generic_min_length};
  const auto& known = builtinEntityTypes();
  for (const auto& name : options.entities) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return fail(ErrorCode::kInvalidArgument, "guard: unknown entity type '" + name + "'");
    }
  }
  if (options.entropy_threshold <= 0 || options.entropy_threshold > 8) {
    return fail(ErrorCode::kInvalidArgument, "guard: entropy_threshold must be in (0, 8]");
  }

  RE2::Options latin1;
  latin1.set_encoding(RE2::Options::EncodingLatin1);
  latin1.set_log_errors(false);
  latin1.set_max_mem(int64_t{8} << 20);
  RE2::Options utf8;
  utf8.set_log_errors(false);
  utf8.set_max_mem(int64_t{8} << 20);
  RE2::Options set_latin1 = latin1, set_utf8 = utf8;
  set_latin1.set_max_mem(int64_t{64} << 20);
  set_utf8.set_max_mem(int64_t{64} << 20);
  impl->latin1_set = std::make_unique<RE2::Set>(set_latin1, RE2::UNANCHORED);
  impl->utf8_set = std::make_unique<RE2::Set>(set_utf8, RE2::UNANCHORED);

  auto addPattern = [&](Impl::Pattern p, const std::string& pattern, bool is_latin1,
                        const std::string& what, const char* prefilter = nullptr,
                        bool in_set = true) -> Status {
    p.re = std::make_unique<RE2>(pattern, is_latin1 ? latin1 : utf8);
    if (!p.re->ok()) {
      return Status(ErrorCode::kInvalidArgument,
                    "guard: " + what + ": invalid regex: " + p.re->error());
    }
    if (p.group < 0 || p.group > std::min(kMaxGroups, p.re->NumberOfCapturingGroups())) {
      return Status(ErrorCode::kInvalidArgument, "guard: " + what + ": no capture group " +
                                                     std::to_string(p.group));
    }
    if (!in_set) {
      impl->anchor_ids.push_back(static_cast<int>(impl->patterns.size()));
      impl->patterns.push_back(std::move(p));
      return Status::ok();
    }
    std::string err;
    RE2::Set* set = is_latin1 ? impl->latin1_set.get() : impl->utf8_set.get();
    if (set->Add(prefilter != nullptr ? std::string(prefilter) : pattern, &err) < 0) {
      return Status(ErrorCode::kInvalidArgument, "guard: " + what + ": invalid regex: " + err);
    }
    (is_latin1 ? impl->latin1_ids : impl->utf8_ids)
        .push_back(static_cast<int>(impl->patterns.size()));
    impl->patterns.push_back(std::move(p));
    return Status::ok();
  };

  for (const auto& b : kBuiltins) {
    if (!options.builtins) break;
    if (!options.entities.empty() &&
        std::find(options.entities.begin(), options.entities.end(), b.type) ==
            options.entities.end()) {
      continue;
    }
    Impl::Pattern p{b.kind, b.category, b.type, b.priority, nullptr, b.group, b.check,
                    nullptr, false, b.resume, b.trigger};
    if (b.trigger != Trigger::kSet) {
      p.gate = b.gate;
      p.matcher = digitMatcherFor(b.pattern);
      p.re = std::make_unique<RE2>(b.pattern, latin1);
      if (!p.re->ok()) {
        return fail(ErrorCode::kInternal, std::string("guard: built-in ") + b.type + ": " +
                                              p.re->error());
      }
      if (b.trigger == Trigger::kIban) {
        impl->iban_id = static_cast<int>(impl->patterns.size());
      } else {
        auto& ids = b.trigger == Trigger::kDigits ? impl->digit_ids
                    : b.trigger == Trigger::kAt   ? impl->at_ids
                                                  : impl->colon_ids;
        ids.push_back(static_cast<int>(impl->patterns.size()));
      }
      impl->patterns.push_back(std::move(p));
      continue;
    }
    const bool anchored = b.anchors != nullptr;
    if (anchored) {
      const std::size_t slot = impl->anchor_ids.size();
      p.min_anchor = std::string_view(b.anchors).size();
      for (std::string_view a = b.anchors; !a.empty();) {
        const std::size_t bar = std::min(a.find('|'), a.size());
        p.anchors.emplace_back(a.substr(0, bar));
        impl->addAnchor(slot, a.substr(0, bar), b.anchors_ci);
        p.min_anchor = std::min(p.min_anchor, bar);
        p.max_anchor = std::max(p.max_anchor, bar);
        a.remove_prefix(std::min(bar + 1, a.size()));
      }
      p.lead = b.lead;
      p.span = b.span;
      p.anchors_ci = b.anchors_ci;
      p.exact = b.exact;
      p.precheck = precheckFor(b);
      if (p.precheck == precheckKeyword) {
        p.head = std::make_unique<RE2>(kKeywordSecretHeadPattern, latin1);
        if (!p.head->ok()) return fail(ErrorCode::kInternal, "guard: built-in SECRET head");
      }
    }
    if (Status s = addPattern(std::move(p), b.pattern, true, b.type, b.prefilter, !anchored);
        !s.isOk()) {
      return fail(std::move(s));  // a broken built-in is a bug; tests keep it from shipping
    }
  }

  for (const auto& r : options.regexes) {
    const std::string what = "regex '" + r.name + "'";
    if (r.name.empty()) return fail(ErrorCode::kInvalidArgument, "guard: a regex needs a name");
    CustomCheck validator = nullptr;
    if (!r.validator.empty()) {
      validator = findValidator(r.validator);
      if (validator == nullptr) {
        return fail(ErrorCode::kInvalidArgument,
                    "guard: " + what + ": unknown validator '" + r.validator + "'");
      }
    }
    std::string pattern = r.case_insensitive ? "(?i)" + r.pattern : r.pattern;
    Impl::Pattern p{EntityKind::kCustom, r.category, r.name, 80, nullptr, r.group, nullptr,
                    validator, false, Resume::kEnd};
    if (Status s = addPattern(std::move(p), pattern, false, what); !s.isOk()) {
      return fail(std::move(s));
    }
  }

  for (const auto& d : options.deny_lists) {
    const std::string what = "deny list '" + d.name + "'";
    if (d.name.empty()) return fail(ErrorCode::kInvalidArgument, "guard: a deny list needs a name");
    if (d.terms.empty()) continue;
    std::string alternation = "(?i)(?:";
    for (std::size_t i = 0; i < d.terms.size(); ++i) {
      if (d.terms[i].empty()) {
        return fail(ErrorCode::kInvalidArgument, "guard: " + what + ": empty term");
      }
      if (i > 0) alternation += '|';
      alternation += RE2::QuoteMeta(d.terms[i]);
    }
    alternation += ')';
    Impl::Pattern p{EntityKind::kCustom, d.category, d.name, 80, nullptr, 0, nullptr,
                    nullptr, true, Resume::kNextByte};
    // Longest match, so that "Project Bluebird" wins over "Project Blue".
    RE2::Options longest = utf8;
    longest.set_longest_match(true);
    p.re = std::make_unique<RE2>(alternation, longest);
    if (!p.re->ok()) {
      return fail(ErrorCode::kInvalidArgument, "guard: " + what + ": " + p.re->error());
    }
    // Terms that start with two ASCII bytes are tried only where a text position starts with
    // that pair (any case; 'k' and 's' also fold to U+212A KELVIN SIGN and U+017F LONG S,
    // whose UTF-8 starts 0xE2 / 0xC5); other lists go through the set pass.
    const bool ascii_start = std::all_of(d.terms.begin(), d.terms.end(), [](const auto& t) {
      return static_cast<unsigned char>(t[0]) < 0x80;
    });
    if (ascii_start) {
      const std::size_t slot = impl->anchor_ids.size();
      std::size_t longest = 0;
      auto folds = [](char c) { return lower(c) == 'k' || lower(c) == 's'; };
      for (const auto& t : d.terms) {
        longest = std::max(longest, t.size());
        const auto c0 = static_cast<unsigned char>(t[0]);
        const int c1 = t.size() > 1 ? static_cast<unsigned char>(t[1]) : -1;
        if (folds(t[0])) {
          impl->addPairOnly(slot, 0xE2, -1, false);
          impl->addPairOnly(slot, 0xC5, -1, false);
        }
        if (c1 < 0 || c1 >= 0x80 || folds(static_cast<char>(c1))) {
          impl->addPairOnly(slot, c0, -1, true);
        } else {
          impl->addPairOnly(slot, c0, c1, true);
        }
      }
      p.lead = 0;
      p.span = static_cast<int>(longest * 3 + 8);  // a folded letter may take 3 bytes
      p.exact = true;
      p.min_anchor = p.max_anchor = 1;
      p.precheck = precheckTerm;
      p.terms = d.terms;
      impl->anchor_ids.push_back(static_cast<int>(impl->patterns.size()));
      impl->patterns.push_back(std::move(p));
      continue;
    }
    std::string err;
    if (impl->utf8_set->Add(alternation, &err) < 0) {
      return fail(ErrorCode::kInvalidArgument, "guard: " + what + ": " + err);
    }
    impl->utf8_ids.push_back(static_cast<int>(impl->patterns.size()));
    impl->patterns.push_back(std::move(p));
  }

  for (const auto& v : options.allow_values) impl->allow_values.insert(v);
  for (const auto& a : options.allow_patterns) {
    auto re = std::make_unique<RE2>(a, utf8);
    if (!re->ok()) {
      return fail(ErrorCode::kInvalidArgument,
                  "guard: allow pattern '" + a + "': invalid regex: " + re->error());
    }
    impl->allow_res.push_back(std::move(re));
  }

  for (auto it = impl->patterns.rbegin(); it != impl->patterns.rend(); ++it) {
    if (it->kind != EntityKind::kCustom) {
      impl->kind_priority[static_cast<std::size_t>(it->kind)] = it->priority;  // first one wins
    }
  }

  if (!impl->latin1_ids.empty() && !impl->latin1_set->Compile()) {
    return fail(ErrorCode::kInvalidArgument, "guard: built-in patterns do not compile as a set");
  }
  if (!impl->utf8_ids.empty() && !impl->utf8_set->Compile()) {
    return fail(ErrorCode::kInvalidArgument, "guard: custom patterns do not compile as a set");
  }
  return std::unique_ptr<Detector>(new Detector(std::move(impl)));
}

Detector::Detector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Detector::~Detector() = default;

std::vector<Finding> Detector::scan(std::string_view text) const {
  std::vector<Finding> raw;
  if (text.empty()) return raw;
  raw.reserve(std::min<std::size_t>(64, text.size() / 32 + 4));
  impl_->runRegions(text, raw);
  impl_->runAnchored(text, raw);
  impl_->runSet(impl_->latin1_set.get(), impl_->latin1_ids, text, raw);
  impl_->runSet(impl_->utf8_set.get(), impl_->utf8_ids, text, raw);
  if (raw.empty()) return raw;

  // Overlaps are resolved on small keys (span, priority, index) in this thread's scratch
  // vectors; the findings themselves move once, into the result. Sorting the keys with the same
  // comparison gives the same order as sorting the findings did, ties included.
  struct Key {
    std::size_t begin, end;
    std::size_t index;
    int priority;
  };
  thread_local std::vector<Key> keys, kept;
  keys.clear();
  kept.clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    keys.push_back(Key{raw[i].begin, raw[i].end, i, impl_->priorityOf(raw[i])});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  for (const Key& f : keys) {
    bool keep = true;
    while (!kept.empty() && kept.back().end > f.begin) {
      const Key& last = kept.back();
      if (f.priority > last.priority ||
          (f.priority == last.priority && f.end - f.begin > last.end - last.begin)) {
        kept.pop_back();
      } else {
        keep = false;
        break;
      }
    }
    if (keep) kept.push_back(f);
  }
  std::vector<Finding> out;
  out.reserve(kept.size());
  for (const Key& k : kept) out.push_back(std::move(raw[k.index]));
  return out;
}

}  // namespace switchyard::guard
