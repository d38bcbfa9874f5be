#include "switchyard/guard/fast_match.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstring>

namespace switchyard::guard {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

bool dig(char c) { return c >= '0' && c <= '9'; }
bool dig29(char c) { return c >= '2' && c <= '9'; }
// RE2's \b is ASCII: [0-9A-Za-z_].
bool word(char c) {
  return dig(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// \b at i, with the whole text as context.
bool boundary(std::string_view t, std::size_t i) {
  const bool before = i > 0 && word(t[i - 1]);
  const bool after = i < t.size() && word(t[i]);
  return before != after;
}

// \b at i where t[i - 1] is a digit.
bool boundaryAfterDigit(std::string_view t, std::size_t i) { return i >= t.size() || !word(t[i]); }

// Digits from q before `to`, at most `cap` of them counted; q moves past them.
std::size_t digitRun(std::string_view t, std::size_t& q, std::size_t to, std::size_t cap) {
  std::size_t n = 0;
  while (q < to && n < cap && dig(t[q])) {
    ++q;
    ++n;
  }
  return n;
}

// The leftmost start in [from, to) where `at(s, me, skip)` matches. A failed start may set
// `skip` to the first start that could still match (all between are known to fail).
template <typename At>
bool leftmost(std::string_view t, std::size_t from, std::size_t to, std::size_t& mb,
              std::size_t& me, At at) {
  to = std::min(to, t.size());
  for (std::size_t s = from; s < to;) {
    if (!dig(t[s])) {
      ++s;
      continue;
    }
    std::size_t skip = s + 1;
    if (at(s, me, skip)) {
      mb = s;
      return true;
    }
    s = std::max(skip, s + 1);
  }
  return false;
}

// [2-9][0-9]{2}[ .\-][0-9]{4}\b at q: the end, or kNone.
bool nanpSep(char c) { return c == ' ' || c == '.' || c == '-'; }
std::size_t nanpTail(std::string_view t, std::size_t q, std::size_t to) {
  if (q + 8 > to || !dig29(t[q]) || !dig(t[q + 1]) || !dig(t[q + 2]) || !nanpSep(t[q + 3])) {
    return kNone;
  }
  for (std::size_t k = q + 4; k < q + 8; ++k) {
    if (!dig(t[k])) return kNone;
  }
  return boundaryAfterDigit(t, q + 8) ? q + 8 : kNone;
}

// (?:\([2-9][0-9]{2}\) ?|\b[2-9][0-9]{2}[ .\-]) then the tail, at p.
std::size_t nanpMain(std::string_view t, std::size_t p, std::size_t to) {
  if (p >= to) return kNone;
  if (t[p] == '(') {
    if (p + 5 > to || !dig29(t[p + 1]) || !dig(t[p + 2]) || !dig(t[p + 3]) || t[p + 4] != ')') {
      return kNone;
    }
    const std::size_t q = p + 5;
    if (q < to && t[q] == ' ') {
      if (const std::size_t e = nanpTail(t, q + 1, to); e != kNone) return e;
    }
    return nanpTail(t, q, to);
  }
  if (!boundary(t, p) || p + 4 > to || !dig29(t[p]) || !dig(t[p + 1]) || !dig(t[p + 2]) ||
      !nanpSep(t[p + 3])) {
    return kNone;
  }
  return nanpTail(t, p + 4, to);
}

}  // namespace

bool matchIntlPhone(std::string_view t, std::size_t from, std::size_t to, std::size_t& mb,
                    std::size_t& me) {
  to = std::min(to, t.size());
  auto cls = [](char c) {
    return dig(c) || c == ' ' || c == '.' || c == '-' || c == '(' || c == ')';
  };
  for (std::size_t s = from; s < to; ++s) {
    const void* plus = std::memchr(t.data() + s, '+', to - s);
    if (plus == nullptr) return false;
    s = static_cast<std::size_t>(static_cast<const char*>(plus) - t.data());
    if (s + 1 >= to || t[s + 1] < '1' || t[s + 1] > '9') continue;
    // [0-9 .\-()]{6,22} greedy, then a digit: the last digit at s+8 .. s+24 inside the run.
    const std::size_t lim = std::min(to, s + 25);
    std::size_t last = kNone;
    for (std::size_t j = s + 2; j < lim && cls(t[j]); ++j) {
      if (j >= s + 8 && dig(t[j])) last = j;
    }
    if (last != kNone) {
      mb = s;
      me = last + 1;
      return true;
    }
  }
  return false;
}

bool matchNanpPhone(std::string_view t, std::size_t from, std::size_t to, std::size_t& mb,
                    std::size_t& me) {
  to = std::min(to, t.size());
  for (std::size_t s = from; s < to; ++s) {
    const char c = t[s];
    if (c != '(' && !dig(c)) continue;
    std::size_t e = kNone;
    // (?:\b1[ .\-]?)? is tried first: with the separator, then without.
    if (c == '1' && boundary(t, s)) {
      if (s + 1 < to && nanpSep(t[s + 1])) e = nanpMain(t, s + 2, to);
      if (e == kNone) e = nanpMain(t, s + 1, to);
    }
    if (e == kNone) e = nanpMain(t, s, to);
    if (e != kNone) {
      mb = s;
      me = e;
      return true;
    }
  }
  return false;
}

bool matchNationalPhone(std::string_view t, std::size_t from, std::size_t to, std::size_t& mb,
                        std::size_t& me) {
  return leftmost(t, from, to, mb, me, [&](std::size_t s, std::size_t& e, std::size_t&) {
    if (t[s] != '0' || s + 1 >= to || t[s + 1] < '1' || t[s + 1] > '9' || !boundary(t, s)) {
      return false;
    }
    // [0-9]{0,3} must take the whole digit run (a digit cannot start a group).
    std::size_t q = s + 2;
    if (digitRun(t, q, to, 4) > 3) return false;
    // (?:[ \-][0-9]{2,8}){1,4}: each group takes its whole digit run, 2 to 8 digits.
    std::size_t ends[5] = {};
    int groups = 0;
    while (groups < 4 && q < to && (t[q] == ' ' || t[q] == '-')) {
      std::size_t r = q + 1;
      const std::size_t g = digitRun(t, r, to, 9);
      if (g < 2 || g > 8) break;
      q = r;
      ends[++groups] = q;
    }
    // \b: after the last group only if no word character follows; after an earlier one the
    // next group's separator always makes one.
    if (groups > 0 && !boundaryAfterDigit(t, ends[groups])) --groups;
    if (groups == 0) return false;
    e = ends[groups];
    return true;
  });
}

bool matchCard(std::string_view t, std::size_t from, std::size_t to, std::size_t& mb,
               std::size_t& me) {
  return leftmost(t, from, to, mb, me, [&](std::size_t s, std::size_t& e, std::size_t& skip) {
    if (!boundary(t, s)) return false;
    // (?:[ \-]?[0-9]){11,18}: one way through at each step; ends[k] after k steps.
    std::size_t ends[19] = {};
    int k = 0;
    std::size_t q = s + 1;
    while (k < 18) {
      if (q < to && (t[q] == ' ' || t[q] == '-')) {
        if (q + 1 >= to || !dig(t[q + 1])) break;
        q += 2;
      } else if (q < to && dig(t[q])) {
        q += 1;
      } else {
        break;
      }
      ends[++k] = q;
    }
    if (k < 11) {
      skip = q;  // every later start in this chain ends here too, with fewer steps
      return false;
    }
    for (; k >= 11; --k) {
      if (boundaryAfterDigit(t, ends[k])) {
        e = ends[k];
        return true;
      }
    }
    return false;
  });
}

bool matchSsn(std::string_view t, std::size_t from, std::size_t to, std::size_t& mb,
              std::size_t& me) {
  return leftmost(t, from, to, mb, me, [&](std::size_t s, std::size_t& e, std::size_t&) {
    if (s + 11 > to || !boundary(t, s) || t[s + 3] != '-' || t[s + 6] != '-') return false;
    for (std::size_t i : {1, 2, 4, 5, 7, 8, 9, 10}) {
      if (!dig(t[s + i])) return false;
    }
    if (!boundaryAfterDigit(t, s + 11)) return false;
    e = s + 11;
    return true;
  });
}

bool matchIpv4(std::string_view t, std::size_t from, std::size_t to, std::size_t& mb,
               std::size_t& me) {
  return leftmost(t, from, to, mb, me, [&](std::size_t s, std::size_t& e, std::size_t&) {
    if (!boundary(t, s)) return false;
    std::size_t q = s;
    for (int g = 0; g < 3; ++g) {
      const std::size_t n = digitRun(t, q, to, 4);
      if (n == 0 || n > 3 || q >= to || t[q] != '.') return false;
      ++q;
    }
    const std::size_t n = digitRun(t, q, to, 4);
    if (n == 0 || n > 3 || !boundaryAfterDigit(t, q)) return false;
    e = q;
    return true;
  });
}

bool searchEmail(const re2::RE2& email, std::string_view t, std::size_t from, std::size_t to,
                 std::size_t& mb, std::size_t& me) {
  to = std::min(to, t.size());
  auto local = [](char c) {
    return word(c) || c == '.' || c == '%' || c == '+' || c == '-';  // word() includes '_'
  };
  auto alnum = [](char c) { return word(c) && c != '_'; };
  const re2::StringPiece sp(t.data(), t.size());
  re2::StringPiece m;
  for (std::size_t i = from; i < to;) {
    const void* hit = std::memchr(t.data() + i, '@', to - i);
    if (hit == nullptr) return false;
    const auto at = static_cast<std::size_t>(static_cast<const char*>(hit) - t.data());
    std::size_t s = at;
    while (s > from && local(t[s - 1])) --s;
    while (s < at && !alnum(t[s])) ++s;
    if (s < at && email.Match(sp, s, to, re2::RE2::ANCHOR_START, &m, 1)) {
      mb = s;
      me = s + m.size();
      return true;
    }
    i = at + 1;
  }
  return false;
}

bool matchKeywordSecret(const re2::RE2& head, std::string_view t, std::size_t from,
                        std::size_t to, std::size_t& me, std::size_t& vb) {
  to = std::min(to, t.size());
  const re2::StringPiece sp(t.data(), t.size());
  re2::StringPiece m;
  if (!head.Match(sp, from, to, re2::RE2::ANCHOR_START, &m, 1)) return false;
  const std::size_t e = from + m.size();
  vb = e - 8;
  auto value = [](char c) {
    switch (c) {
      case '_': case '-': case '+': case '/': case '=': case '.': case '~': case '!': case '@':
      case '#': case '$': case '%': case '^': case '&': case '*': case '?':
        return true;
      default:
        return word(c);
    }
  };
  me = e;
  while (me < to && value(t[me])) ++me;
  return true;
}

}  // namespace switchyard::guard
