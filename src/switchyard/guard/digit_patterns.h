#pragma once
// Hand-written matchers for the built-in digit patterns (phones, cards, US SSN, IPv4). Each one
// finds exactly what RE2 finds for its regex below (leftmost match, Perl-style greedy choice at
// that start), so the detector calls these instead of an RE2 search per digit run: the shapes are
// trivial, an RE2 call costs more in set-up than the match itself on a 15-byte run, and the
// differential test (digit_patterns_test.cc) pins the equivalence against RE2 on random input.
// Custom regexes and every other built-in still go through RE2.
//
// Stateless free functions; thread-safe.

#include <cstddef>
#include <string_view>

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

}  // namespace switchyard::guard
