#pragma once
// Fast paths that find exactly what an RE2 search finds, for the built-in patterns where an RE2
// call per candidate region costs more in set-up than the match itself:
// - hand-written matchers for the digit patterns (phones, cards, US SSN, IPv4): their shapes are
//   trivial (digit groups and separators), and the checks after them already parse the digits;
// - the e-mail search: one anchored RE2 match per '@' instead of an unanchored search through
//   the window around it.
// Each one gives the same leftmost match (Perl-style greedy choice at that start) as the RE2
// search it replaces; the differential test (fast_match_test.cc) pins that against RE2 on random
// input. Custom regexes and every other built-in still go through RE2 as before.
//
// Stateless free functions; thread-safe.

#include <cstddef>
#include <string_view>

namespace re2 {
class RE2;
}

namespace switchyard::guard {

// Searches text[from, to) the way RE2::Match(text, from, to, UNANCHORED, &m, 1) does in Latin-1
// mode: the match lies inside [from, to), while \b sees the whole text (the bytes around the
// region too). On a match sets [mb, me) and returns true. Linear: each start is tried in at most
// the pattern's longest match length.
using DigitMatcher = bool (*)(std::string_view text, std::size_t from, std::size_t to,
                              std::size_t& mb, std::size_t& me);

// The regexes the matchers stand for (the detector's table and the test use these).
inline constexpr const char* kIntlPhonePattern = R"(\+[1-9][0-9 .\-()]{6,22}[0-9])";
inline constexpr const char* kNanpPhonePattern =
    R"((?:\b1[ .\-]?)?(?:\([2-9][0-9]{2}\) ?|\b[2-9][0-9]{2}[ .\-])[2-9][0-9]{2}[ .\-][0-9]{4}\b)";
inline constexpr const char* kNationalPhonePattern =
    R"(\b0[1-9][0-9]{0,3}(?:[ \-][0-9]{2,8}){1,4}\b)";
inline constexpr const char* kCardPattern = R"(\b[0-9](?:[ \-]?[0-9]){11,18}\b)";
inline constexpr const char* kSsnPattern = R"(\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b)";
inline constexpr const char* kIpv4Pattern = R"(\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b)";

bool matchIntlPhone(std::string_view text, std::size_t from, std::size_t to, std::size_t& mb,
                    std::size_t& me);
bool matchNanpPhone(std::string_view text, std::size_t from, std::size_t to, std::size_t& mb,
                    std::size_t& me);
bool matchNationalPhone(std::string_view text, std::size_t from, std::size_t to,
                        std::size_t& mb, std::size_t& me);
bool matchCard(std::string_view text, std::size_t from, std::size_t to, std::size_t& mb,
               std::size_t& me);
bool matchSsn(std::string_view text, std::size_t from, std::size_t to, std::size_t& mb,
              std::size_t& me);
bool matchIpv4(std::string_view text, std::size_t from, std::size_t to, std::size_t& mb,
               std::size_t& me);

// The built-in e-mail pattern (Latin-1; bytes >= 0x80 allowed in domain labels).
inline constexpr const char* kEmailPattern =
    R"([A-Za-z0-9][A-Za-z0-9._%+\-]*@(?:[A-Za-z0-9\x80-\xff](?:[A-Za-z0-9\x80-\xff\-]*[A-Za-z0-9\x80-\xff])?\.)+[A-Za-z]{2,24})";

// What RE2::Match(text, from, to, UNANCHORED, &m, 1) finds for `email` (compiled from
// kEmailPattern): every match holds one '@' and its local part is a run of [A-Za-z0-9._%+-]
// starting with a letter or digit, so the leftmost match starts at the first letter or digit of
// the run before the first '@' whose domain matches; one anchored match per '@' decides that.
bool searchEmail(const re2::RE2& email, std::string_view text, std::size_t from, std::size_t to,
                 std::size_t& mb, std::size_t& me);

// The generic SECRET after a key word. Group 1, the value, is the run of value characters
// that ends the match.
inline constexpr const char* kKeywordSecretPattern =
    R"((?i:key|secret|token|passw(?:or)?d|passphrase|pwd|credentials?|auth)[A-Za-z0-9_\-]{0,24}["'\]]?\s*(?:[:=]>?\s*|\s+(?:is\s+|was\s+)?)["'`]?(?i:(?:bearer|basic|token)\s+)?([A-Za-z0-9_\-+/=.~!@#$%^&*?]{8,}))";
// The same up to the value's first 8 characters. Whether the full pattern matches, and along
// which path, depends only on this head (its value group then takes the whole run), so RE2
// matches the head and the run is extended by hand: RE2 does not walk long values (a JWT after
// "Token:"), and the value's start needs no submatch engine.
inline constexpr const char* kKeywordSecretHeadPattern =
    R"((?i:key|secret|token|passw(?:or)?d|passphrase|pwd|credentials?|auth)[A-Za-z0-9_\-]{0,24}["'\]]?\s*(?:[:=]>?\s*|\s+(?:is\s+|was\s+)?)["'`]?(?i:(?:bearer|basic|token)\s+)?([A-Za-z0-9_\-+/=.~!@#$%^&*?]{8}))";

// What RE2::Match(text, from, to, ANCHOR_START, m, 2) finds for kKeywordSecretPattern, given
// `head` compiled from kKeywordSecretHeadPattern (Latin-1): on a match sets the match end and
// where the value (group 1) starts; both end at `me`.
bool matchKeywordSecret(const re2::RE2& head, std::string_view text, std::size_t from,
                        std::size_t to, std::size_t& me, std::size_t& vb);

}  // namespace switchyard::guard
