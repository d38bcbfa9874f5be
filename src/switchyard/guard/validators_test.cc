#include "switchyard/guard/validators.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

namespace switchyard::guard {
namespace {

TEST(ValidatorsTest, Luhn) {
  for (const char* ok : {"4111111111111111", "378282246310005", "6011111111111117", "0"}) {
    EXPECT_TRUE(luhnValid(ok)) << ok;
  }
  for (const char* bad : {"4111111111111112", "1234567812345678", "", "4111-1111", "abc"}) {
    EXPECT_FALSE(luhnValid(bad)) << bad;
  }
}

TEST(ValidatorsTest, CardIssuerPrefixAndLength) {
  struct Case {
    const char* digits;
    bool ok;
  };
  const Case cases[] = {
      {"4111111111111111", true},     // Visa 16
      {"4222222222222", true},        // Visa 13
      {"411111111111111", false},     // Visa 15: no such length
      {"5555555555554444", true},     // Mastercard
      {"2223003122003222", true},     // Mastercard 2-series
      {"378282246310005", true},      // Amex 15
      {"3782822463100051", false},    // Amex 16
      {"6011111111111117", true},     // Discover
      {"3530111333300000", true},     // JCB
      {"30569309025904", true},       // Diners 14
      {"6200000000000005", true},     // UnionPay
      {"6759649826438453", true},     // Maestro
      {"1234567812345670", false},    // no issuer starts with 1
      {"9999999999999995", false},
  };
  for (const auto& c : cases) EXPECT_EQ(cardIssuerValid(c.digits), c.ok) << c.digits;
}

TEST(ValidatorsTest, IbanLengthTableAndChecksum) {
  EXPECT_EQ(ibanLength("DE"), 22);
  EXPECT_EQ(ibanLength("NO"), 15);
  EXPECT_EQ(ibanLength("RU"), 33);
  EXPECT_EQ(ibanLength("US"), 0);
  for (const char* ok : {"DE89370400440532013000", "GB29NWBK60161331926819",
                         "FR1420041010050500013M02606", "NL91ABNA0417164300",
                         "CH9300762011623852957", "NO9386011117947", "BE68539007547034",
                         "ES9121000418450200051332", "IT60X0542811101000000123456"}) {
    EXPECT_TRUE(ibanValid(ok)) << ok;
  }
  for (const char* bad : {"DE89370400440532013001",    // checksum
                          "GB29NWBK60161331926818",    // checksum
                          "DE8937040044053201300",     // length
                          "US89370400440532013000",    // no IBAN country
                          "DE89 3704 0044 0532 0130 00"}) {  // not compact
    EXPECT_FALSE(ibanValid(bad)) << bad;
  }
}

TEST(ValidatorsTest, SsnRules) {
  EXPECT_TRUE(ssnValid(536, 22, 1234));
  EXPECT_TRUE(ssnValid(899, 99, 9999));
  EXPECT_FALSE(ssnValid(0, 12, 3456));
  EXPECT_FALSE(ssnValid(666, 12, 3456));
  EXPECT_FALSE(ssnValid(900, 12, 3456));
  EXPECT_FALSE(ssnValid(123, 0, 4567));
  EXPECT_FALSE(ssnValid(123, 45, 0));
  EXPECT_FALSE(ssnValid(78, 5, 1120));
  EXPECT_FALSE(ssnValid(219, 9, 9999));
}

TEST(ValidatorsTest, IpAddresses) {
  for (const char* ok : {"192.168.1.1", "0.0.0.0", "255.255.255.255", "10.0.0.1"}) {
    EXPECT_TRUE(ipv4Valid(ok)) << ok;
  }
  for (const char* bad : {"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "a.b.c.d", ""}) {
    EXPECT_FALSE(ipv4Valid(bad)) << bad;
  }
  for (const char* ok : {"2001:db8::1", "fe80::1ff:fe23:4567:890a", "::1", "::ffff:192.0.2.128",
                         "2001:0db8:85a3:0000:0000:8a2e:0370:7334"}) {
    EXPECT_TRUE(ipv6Valid(ok)) << ok;
  }
  for (const char* bad : {"10:30:00", "1:2:3:4:5:6:7:8:9", "2001:db8:::1", "g::1", ":"}) {
    EXPECT_FALSE(ipv6Valid(bad)) << bad;
  }
}

TEST(ValidatorsTest, EntropyAndClasses) {
  EXPECT_DOUBLE_EQ(shannonEntropy(""), 0.0);
  EXPECT_DOUBLE_EQ(shannonEntropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(shannonEntropy("abcd"), 2.0);
  EXPECT_GT(shannonEntropy("Qz7xK9mP2vL8nR4tW6yB"), 4.0);
  EXPECT_EQ(charClassCount("abc"), 1);
  EXPECT_EQ(charClassCount("aB3!"), 4);
}

// shannonEntropy visits only the bytes that occur; thresholds compare against its exact value,
// so it must equal the plain walk over all 256 counts bit for bit (uniform distributions such as
// 8 symbols x 3 give exactly 3.0 both ways).
TEST(ValidatorsTest, EntropyEqualsTheWalkOverAllCounts) {
  auto reference = [](std::string_view text) {
    std::array<std::uint32_t, 256> counts{};
    for (unsigned char c : text) ++counts[c];
    double h = 0.0;
    const double n = static_cast<double>(text.size());
    for (std::uint32_t c : counts) {
      if (c == 0) continue;
      const double p = c / n;
      h -= p * std::log2(p);
    }
    return h;
  };
  std::uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::string s(1 + x % 80, ' ');
    for (char& c : s) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(i % 2 == 0 ? x % 256 : 'a' + x % (1 + i % 26));
    }
    ASSERT_EQ(shannonEntropy(s), reference(s)) << i;
  }
  EXPECT_EQ(shannonEntropy("aaabbbcccdddeeefffggghhh"), 3.0);
}

// entropyAtLeast is shannonEntropy(s) >= t: also with t exactly at the value and one ulp either
// side, and for texts longer than its table of counts.
TEST(ValidatorsTest, EntropyAtLeastAgreesWithTheExactValue) {
  std::uint64_t x = 0x2545F4914F6CDD1Dull;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  std::size_t above = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s(1 + next() % (i % 10 == 0 ? 700 : 90), ' ');
    const std::uint64_t alphabet = 1 + i % 64;
    for (char& c : s) c = static_cast<char>('!' + next() % alphabet);
    const double h = shannonEntropy(s);
    for (double t : {h, std::nextafter(h, 0.0), std::nextafter(h, 9.0), 3.0, 3.5, h - 1e-10,
                     h + 1e-10, 0.85 * std::log2(static_cast<double>(s.size()))}) {
      ASSERT_EQ(entropyAtLeast(s, t), h >= t) << "'" << s << "' t=" << t;
      above += h >= t ? 1 : 0;
    }
  }
  EXPECT_GT(above, 20000u);
  // Uniform distributions are exact in both forms (8 symbols x 3: exactly 3 bits).
  EXPECT_TRUE(entropyAtLeast("aaabbbcccdddeeefffggghhh", 3.0));
  EXPECT_FALSE(entropyAtLeast("aaabbbcccdddeeefffggghhh", std::nextafter(3.0, 4.0)));
  EXPECT_TRUE(entropyAtLeast("", 0.0));
  EXPECT_FALSE(entropyAtLeast("", 0.5));
}

TEST(ValidatorsTest, Base64AndJwt) {
  EXPECT_EQ(base64Decode("eyJhbGciOiJIUzI1NiJ9").value(), R"({"alg":"HS256"})");
  EXPECT_EQ(base64Decode("aGk=").value(), "hi");
  EXPECT_FALSE(base64Decode("a$b").has_value());
  EXPECT_TRUE(jwtValid(
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_"
      "XgL0n3I9PlFUP0THsR8U"));
  EXPECT_TRUE(jwtValid("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."));  // alg none: empty signature
  EXPECT_FALSE(jwtValid("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.sig"));  // header without alg
  EXPECT_FALSE(jwtValid("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0"));    // two parts
  EXPECT_FALSE(jwtValid("not.a.jwt"));
}

TEST(ValidatorsTest, NamedValidators) {
  EXPECT_NE(findValidator("luhn"), nullptr);
  EXPECT_EQ(findValidator("nope"), nullptr);
  EXPECT_TRUE(findValidator("card")("4111 1111 1111 1111", 3.5));
  EXPECT_FALSE(findValidator("card")("4111 1111 1111 1112", 3.5));
  EXPECT_TRUE(findValidator("iban")("de89 3704 0044 0532 0130 00", 3.5));
  EXPECT_TRUE(findValidator("ssn")("536-22-1234", 3.5));
  EXPECT_FALSE(findValidator("entropy")("aaaaaaaa", 3.5));
}

}  // namespace
}  // namespace switchyard::guard
