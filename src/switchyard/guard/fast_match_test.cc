// The hand-written digit matchers must find exactly what RE2 finds for the regexes they stand
// for: same leftmost start, same end, same "no match", on random text with random search regions.

#include "switchyard/guard/fast_match.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <cstdint>
#include <string>
#include <vector>

namespace switchyard::guard {
namespace {

struct Case {
  const char* name;
  const char* pattern;
  DigitMatcher match;
};

const Case kCases[] = {
    {"intl phone", kIntlPhonePattern, matchIntlPhone},
    {"NANP phone", kNanpPhonePattern, matchNanpPhone},
    {"national phone", kNationalPhonePattern, matchNationalPhone},
    {"card", kCardPattern, matchCard},
    {"ssn", kSsnPattern, matchSsn},
    {"ipv4", kIpv4Pattern, matchIpv4},
};

struct Rng {
  std::uint64_t x;
  std::uint64_t next() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

// Text built from the pieces these patterns are made of, so that matches, near misses and
// edge cases (a region cut inside a run, a letter right after a number) are all frequent.
std::string randomText(Rng& rng) {
  static const char* const kPieces[] = {
      "0", "1", "2", "5", "9", "00", "12", "415", "555", "2671", "1234", "12345678", "123456789",
      " ", " ", "-", "-", ".", "(", ")", "+", "+1", "+44", "a", "x", "_", "\n", "/", ":", "#",
      // whole entities and pieces of them, so that every pattern matches often
      "415-555-2671", "(415) 555-2671", "415.555.", "1-", "536-22-1234", "536-22-", "192.168.",
      "10.0.0.1", "4111 1111 1111 1111", "4111-1111-", "020 7946 0958", "06 12 34 56 78"};
  std::string s;
  const std::size_t pieces = 1 + rng.below(24);
  for (std::size_t i = 0; i < pieces; ++i) s += kPieces[rng.below(std::size(kPieces))];
  return s;
}

RE2::Options latin1() {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  return o;
}

// Returns how many matches the walk compared.
std::size_t expectSame(const Case& c, const RE2& re, const std::string& text, std::size_t from,
                       std::size_t to) {
  std::size_t matches = 0;
  const re2::StringPiece sp(text.data(), text.size());
  // Walk the region like the detector does: search, then go on after each match.
  for (std::size_t pos = from; pos <= to;) {
    re2::StringPiece m;
    const bool want = re.Match(sp, pos, to, RE2::UNANCHORED, &m, 1);
    std::size_t mb = 0, me = 0;
    const bool got = c.match(text, pos, to, mb, me);
    EXPECT_EQ(got, want) << c.name << " on '" << text << "' [" << pos << ", " << to << ")";
    if (!want || got != want) return matches;
    ++matches;
    const auto wb = static_cast<std::size_t>(m.data() - text.data());
    EXPECT_EQ(mb, wb) << c.name << " on '" << text << "' [" << pos << ", " << to << ")";
    EXPECT_EQ(me, wb + m.size()) << c.name << " on '" << text << "' [" << pos << ", " << to
                                 << ")";
    if (mb != wb) return matches;
    pos = mb + 1;
  }
  return matches;
}

TEST(FastMatchTest, AgreeWithRe2OnRandomText) {
  Rng rng{0x5eed};
  for (const Case& c : kCases) {
    RE2 re(c.pattern, latin1());
    ASSERT_TRUE(re.ok()) << c.name;
    std::size_t matches = 0;
    for (int i = 0; i < 40000; ++i) {
      const std::string text = randomText(rng);
      matches += expectSame(c, re, text, 0, text.size());
      // A region inside the text: \b must still see the bytes around it.
      const std::size_t from = rng.below(text.size() + 1);
      const std::size_t to = from + rng.below(text.size() - from + 1);
      matches += expectSame(c, re, text, from, to);
      if (::testing::Test::HasFailure()) break;
    }
    // The generator makes real matches for every pattern, not only near misses.
    EXPECT_GT(matches, 1000u) << c.name;
  }
}

TEST(FastMatchTest, AgreeWithRe2OnKnownShapes) {
  const std::vector<std::string> texts = {
      "+1 (415) 555-2671", "+14155552671.", "+44 20 7946 0958", "+33 6 12 34 56 78",
      "(415) 555-2671", "415-555-2671", "1-415-555-2671", "1 (415) 555-2671", "1(415)555-2671",
      "415.555.2671x", "020 7946 0958", "06 12 34 56 78", "030 12345678", "0301 23 45 67 89 01",
      "4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444;", "3782 822463 10005",
      "41111111111111111111111", "4111 1111 1111 1111 1111 1111", "536-22-1234", "1536-22-1234",
      "536-22-12345", "192.168.10.20", "1.2.3.4.5", "1234.1.1.1", "10.0.0.1a", "version 1.2.3.4",
      "+1 +1 +1 +1 +1", "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", "0 0 0 0 0 0 0 0 0",
  };
  for (const Case& c : kCases) {
    RE2 re(c.pattern, latin1());
    for (const auto& text : texts) {
      for (std::size_t from = 0; from <= text.size(); ++from) {
        expectSame(c, re, text, from, text.size());
        expectSame(c, re, text, 0, from);
      }
    }
  }
}

std::string randomEmailText(Rng& rng) {
  static const char* const kPieces[] = {
      "a", "jane.roe", "x1", "_", "-", "%", "+", ".", "..", "@", "@", "@", "example", "com",
      "co.uk", "c", "sub-domain", "1", " ", "\xc3\xa9", "\xe4\xbe\x8b", ".org", "x-", "(", ":"};
  std::string s;
  const std::size_t pieces = 1 + rng.below(20);
  for (std::size_t i = 0; i < pieces; ++i) s += kPieces[rng.below(std::size(kPieces))];
  return s;
}

TEST(FastMatchTest, EmailSearchAgreesWithRe2) {
  RE2 re(kEmailPattern, latin1());
  ASSERT_TRUE(re.ok());
  Rng rng{0xe7a11};
  std::size_t matches = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::string text = randomEmailText(rng);
    const std::size_t from = i % 2 == 0 ? 0 : rng.below(text.size() + 1);
    const std::size_t to = i % 2 == 0 ? text.size() : from + rng.below(text.size() - from + 1);
    const re2::StringPiece sp(text.data(), text.size());
    for (std::size_t pos = from; pos <= to;) {
      re2::StringPiece m;
      const bool want = re.Match(sp, pos, to, RE2::UNANCHORED, &m, 1);
      std::size_t mb = 0, me = 0;
      const bool got = searchEmail(re, text, pos, to, mb, me);
      ASSERT_EQ(got, want) << "'" << text << "' [" << pos << ", " << to << ")";
      if (!want) break;
      ++matches;
      const auto wb = static_cast<std::size_t>(m.data() - text.data());
      ASSERT_EQ(mb, wb) << "'" << text << "' [" << pos << ", " << to << ")";
      ASSERT_EQ(me, wb + m.size()) << "'" << text << "' [" << pos << ", " << to << ")";
      pos = mb + 1;
    }
  }
  EXPECT_GT(matches, 10000u);  // the generator makes real addresses, not only near misses
}

std::string randomSecretText(Rng& rng) {
  static const char* const kPieces[] = {
      "key", "KEY", "api_key", "secret", "token", "Token", "password", "passwd", "pwd", "auth",
      "credentials", "passphrase", " ", "  ", "\n", ":", "=", "=>", ": ", "\"", "'", "`", "]",
      " is ", " was ", "Bearer ", "basic ", "token ", "abc", "S3cure-Pa", "9f8e7d6c5b4a3928",
      "==", "/+", ".", "~!@#", "x", "-", "_", ",", ";", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"};
  std::string s;
  const std::size_t pieces = 1 + rng.below(14);
  for (std::size_t i = 0; i < pieces; ++i) s += kPieces[rng.below(std::size(kPieces))];
  return s;
}

// The generic SECRET: RE2 on the head plus the run extended by hand gives the full pattern's
// match and value group, at every start and with every region end.
TEST(FastMatchTest, KeywordSecretAgreesWithTheFullPattern) {
  RE2 full(kKeywordSecretPattern, latin1()), head(kKeywordSecretHeadPattern, latin1());
  ASSERT_TRUE(full.ok() && head.ok());
  Rng rng{0x5ec2e7};
  std::size_t matches = 0;
  for (int i = 0; i < 30000; ++i) {
    const std::string text = randomSecretText(rng);
    const re2::StringPiece sp(text.data(), text.size());
    for (std::size_t from = 0; from < text.size(); ++from) {
      const std::size_t to = i % 3 == 0 ? from + rng.below(text.size() - from + 1) : text.size();
      re2::StringPiece m[2];
      const bool want = full.Match(sp, from, to, RE2::ANCHOR_START, m, 2);
      std::size_t me = 0, vb = 0;
      const bool got = matchKeywordSecret(head, text, from, to, me, vb);
      ASSERT_EQ(got, want) << "'" << text << "' [" << from << ", " << to << ")";
      if (!want) continue;
      ++matches;
      ASSERT_EQ(me, from + m[0].size()) << "'" << text << "' [" << from << ", " << to << ")";
      ASSERT_EQ(vb, static_cast<std::size_t>(m[1].data() - text.data()))
          << "'" << text << "' [" << from << ", " << to << ")";
      ASSERT_EQ(me, vb + m[1].size());
    }
  }
  EXPECT_GT(matches, 10000u);
}

}  // namespace
}  // namespace switchyard::guard
