#include "switchyard/guard/detector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "switchyard/guard/test_util.h"

namespace switchyard::guard {
namespace {

using testing::defaultDetector;
using testing::typedValues;
using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Positive {
  std::string text;
  std::string type;
  std::string value;
};

std::vector<Positive> positives() {
  const std::string gh = testing::githubToken(1), oa = testing::openaiKey(2),
                    an = testing::anthropicKey(3), sl = testing::slackToken(4),
                    gk = testing::gcpKey(5), aws = testing::awsSecret(6),
                    pem = testing::pemBlock(7), jwt(testing::kJwt),
                    pat = "github_pat_11ABCDEFG0" + testing::mixedToken(70, 8),
                    azure = testing::randomString(testing::kBase64, 86, 9) + "==";
  return {
      // e-mail
      {"Contact me at john.doe@example.com please", "EMAIL", "john.doe@example.com"},
      {"<a.b+tag@mail.example.co.uk>", "EMAIL", "a.b+tag@mail.example.co.uk"},
      {"Mail an jöhn@beispiel.de bitte", "EMAIL", "jöhn@beispiel.de"},
      {"メールはjohn@example.jpまで", "EMAIL", "john@example.jp"},
      {"email: user_1@sub-domain.example.org.", "EMAIL", "user_1@sub-domain.example.org"},
      // phones
      {"Call +1 (415) 555-2671 now", "PHONE", "+1 (415) 555-2671"},
      {"E.164: +14155552671.", "PHONE", "+14155552671"},
      {"London office +44 20 7946 0958", "PHONE", "+44 20 7946 0958"},
      {"Berlin +49 30 12345678", "PHONE", "+49 30 12345678"},
      {"Paris +33 6 12 34 56 78", "PHONE", "+33 6 12 34 56 78"},
      {"call (415) 555-2671", "PHONE", "(415) 555-2671"},
      {"call 415-555-2671 or", "PHONE", "415-555-2671"},
      {"call 415.555.2671", "PHONE", "415.555.2671"},
      {"Tel. 020 7946 0958", "PHONE", "020 7946 0958"},
      {"portable 06 12 34 56 78", "PHONE", "06 12 34 56 78"},
      {"Büro 030 12345678", "PHONE", "030 12345678"},
      // cards
      {"card 4111 1111 1111 1111 exp 12/29", "CREDIT_CARD", "4111 1111 1111 1111"},
      {"card 4111-1111-1111-1111", "CREDIT_CARD", "4111-1111-1111-1111"},
      {"pan=5555555555554444;", "CREDIT_CARD", "5555555555554444"},
      {"amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005"},
      {"Discover 6011111111111117", "CREDIT_CARD", "6011111111111117"},
      {"JCB 3530111333300000", "CREDIT_CARD", "3530111333300000"},
      {"diners 30569309025904", "CREDIT_CARD", "30569309025904"},
      {"Karte: 2223003122003222.", "CREDIT_CARD", "2223003122003222"},
      // IBAN
      {"IBAN DE89 3704 0044 0532 0130 00 please", "IBAN", "DE89 3704 0044 0532 0130 00"},
      {"to GB29NWBK60161331926819.", "IBAN", "GB29NWBK60161331926819"},
      {"FR14 2004 1010 0505 0001 3M02 606 merci", "IBAN", "FR14 2004 1010 0505 0001 3M02 606"},
      {"NO93 8601 1117 947", "IBAN", "NO93 8601 1117 947"},
      // SSN
      {"SSN 536-22-1234 on file", "US_SSN", "536-22-1234"},
      {"social security number: 536221234", "US_SSN", "536221234"},
      // IP
      {"from 192.168.10.20 at", "IP_ADDRESS", "192.168.10.20"},
      {"host 2001:db8:85a3::8a2e:370:7334 down", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"},
      {"link fe80::1ff:fe23:4567:890a%", "IP_ADDRESS", "fe80::1ff:fe23:4567:890a"},
      // all eight groups (no "::"), and six before an embedded IPv4
      {"addr 2001:0db8:85a3:0000:0000:8a2e:0370:7334 up", "IP_ADDRESS",
       "2001:0db8:85a3:0000:0000:8a2e:0370:7334"},
      {"mapped 0:0:0:0:0:ffff:192.168.1.1 up", "IP_ADDRESS", "0:0:0:0:0:ffff:192.168.1.1"},
      // secrets
      {"key AKIAIOSFODNN7EXAMPLE in", "AWS_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE"},
      {"aws_secret_access_key = " + aws + "\n", "AWS_SECRET_KEY", aws},
      {"AWS secret: \"" + aws + "\"", "AWS_SECRET_KEY", aws},
      {"maps key=" + gk, "GCP_API_KEY", gk},
      {R"({"type": "service_account", "private_key_id": "0123456789abcdef0123456789abcdef01234567"})",
       "GCP_SERVICE_ACCOUNT_KEY", "0123456789abcdef0123456789abcdef01234567"},
      {"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + azure +
           ";EndpointSuffix=core.windows.net",
       "AZURE_STORAGE_KEY", azure},
      {"token " + gh + " ok", "GITHUB_TOKEN", gh},
      {"GH=" + pat, "GITHUB_TOKEN", pat},
      {"SLACK_BOT_TOKEN=" + sl, "SLACK_TOKEN", sl},
      {"post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX ok",
       "SLACK_WEBHOOK",
       "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"},
      {"OPENAI_API_KEY=" + oa, "OPENAI_API_KEY", oa},
      {"use " + an + " for claude", "ANTHROPIC_API_KEY", an},
      {"here:\n" + pem + "\nthanks", "PRIVATE_KEY", pem},
      {R"({"private_key": ")" + testing::pemBlock(10, "\\n") + R"(\n"})", "PRIVATE_KEY",
       testing::pemBlock(10, "\\n")},
      {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAA", "PRIVATE_KEY",
       "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAA"},
      {"Authorization: Bearer " + jwt, "JWT", jwt},
      {"password: hunter2!x", "SECRET", "hunter2!x"},
      {R"({"db_password": "S3cure-Passw0rd"})", "SECRET", "S3cure-Passw0rd"},
      {"API_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0", "SECRET", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"},
      {"my secret token is Zx81Kq0pLm3NvB7cYt2W.", "SECRET", "Zx81Kq0pLm3NvB7cYt2W"},
      {"postgres://admin:pa55w0rd@db.internal:5432/app", "SECRET", "pa55w0rd"},
  };
}

TEST(DetectorTest, FindsTruePositives) {
  const Detector& d = defaultDetector();
  for (const auto& p : positives()) {
    Pairs got = typedValues(d, p.text);
    Pairs want = {{p.type, p.value}};
    EXPECT_EQ(got, want) << "text: " << p.text;
  }
}

TEST(DetectorTest, IgnoresRealisticNegatives) {
  const std::vector<std::string> negatives = {
      "Order #123456789012 shipped on 2024-01-15 10:30:00",
      "ORD-2024-000123-45 and invoice INV-20240115-0001",
      "timestamp 1700000000000 and 1700000000",
      "release v1.2.3, version 2.10.0.1, 1.2.3.4.5",
      "request id 550e8400-e29b-41d4-a716-446655440000",
      "commit 3f786850e387550fdab836ed7e6dc881de23001b",
      "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "card 4111 1111 1111 1112 fails Luhn",
      "number 1234567812345678",
      "IBAN DE89 3704 0044 0532 0130 01 has a bad checksum",
      "SSN 000-12-3456 or 666-12-3456 or 900-12-3456 or 123-00-4567",
      "ISBN 978-3-16-148410-0, pi 3.14159265358979, $1,234,567.89",
      "std::vector<int> v; a::b::c; 10:30:00; 00:1A:2B:3C:4D:5E",
      "call 123-456-7890 is not a NANP number",
      "the key insight is that tokens are cheap; max_tokens=4096",
      "password = os.environ['DB_PASSWORD']",
      "password: ********",
      "api_key: <your-api-key-here>",
      "token: YOUR_TOKEN_GOES_HERE_PLEASE",
      "the sk-learn package and task-management-system-for-teams",
      "sk-this-is-not-a-real-key-at-all",
      "eyeballs.are.round and e.g. something",
      "phone extension 12 34 and score 0 10 20",
      "256.300.1.1 is not an address",
      "Reach us at @handle or user@localhost",
      "matrix 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
  };
  const Detector& d = defaultDetector();
  for (const auto& text : negatives) {
    EXPECT_EQ(typedValues(d, text), Pairs{}) << "text: " << text;
  }
}

TEST(DetectorTest, FindingsCarryKindCategoryAndSpan) {
  const Detector& d = defaultDetector();
  std::string text = "mail a@example.com, key AKIAIOSFODNN7EXAMPLE";
  auto f = d.scan(text);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].kind, EntityKind::kEmail);
  EXPECT_EQ(f[0].category, Category::kPii);
  EXPECT_EQ(f[0].begin, 5u);
  EXPECT_EQ(f[0].end, 18u);
  EXPECT_EQ(f[1].kind, EntityKind::kAwsAccessKey);
  EXPECT_EQ(f[1].category, Category::kSecret);
  EXPECT_EQ(categoryName(f[1].category), "secret");
}

TEST(DetectorTest, MoreSpecificSecretWinsOverlap) {
  const Detector& d = defaultDetector();
  const std::string an = testing::anthropicKey(11);
  // Also a generic SECRET candidate (after "api_key:") and an OpenAI-shaped "sk-" token.
  EXPECT_EQ(typedValues(d, "api_key: " + an), (Pairs{{"ANTHROPIC_API_KEY", an}}));
}

TEST(DetectorTest, ManyEntitiesInOneText) {
  const Detector& d = defaultDetector();
  std::string text =
      "Hi, I'm Jane (jane@corp.example), card 4012 8888 8888 1881, IBAN "
      "GB29NWBK60161331926819, phone +44 20 7946 0958, server 10.1.2.3.";
  Pairs want = {{"EMAIL", "jane@corp.example"},
                {"CREDIT_CARD", "4012 8888 8888 1881"},
                {"IBAN", "GB29NWBK60161331926819"},
                {"PHONE", "+44 20 7946 0958"},
                {"IP_ADDRESS", "10.1.2.3"}};
  EXPECT_EQ(typedValues(d, text), want);
}

// An address whose '@' lies just past the bytes searched around the previous '@' (260 after
// it) keeps its whole local part (found by tests/fuzz/guard_fuzz: the second address's search
// used to start where the first one's ended, and "jane.doe" came out as "e.doe").
TEST(DetectorTest, AddressRightAfterAnotherAddressesRegionKeepsItsLocalPart) {
  const Detector& d = defaultDetector();
  for (std::size_t gap = 240; gap <= 270; ++gap) {
    const std::string text =
        "a@corp.example " + std::string(gap, '.') + " jane.doe@example.com end";
    Pairs want = {{"EMAIL", "a@corp.example"}, {"EMAIL", "jane.doe@example.com"}};
    EXPECT_EQ(typedValues(d, text), want) << "gap " << gap;
  }
}

TEST(DetectorTest, CardInsideLongerDigitGroupsFoundFromTheRightGroup) {
  const Detector& d = defaultDetector();
  EXPECT_EQ(typedValues(d, "ref 12 4111 1111 1111 1111"),
            (Pairs{{"CREDIT_CARD", "4111 1111 1111 1111"}}));
  EXPECT_EQ(typedValues(d, "4111 1111 1111 1111 2025"),
            (Pairs{{"CREDIT_CARD", "4111 1111 1111 1111"}}));
}

TEST(DetectorTest, EntitySelection) {
  DetectorOptions o;
  o.entities = {"EMAIL"};
  auto d = Detector::create(o);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(typedValues(**d, "a@example.com 4111111111111111"),
            (Pairs{{"EMAIL", "a@example.com"}}));

  o.entities = {"NOT_A_TYPE"};
  auto bad = Detector::create(o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("NOT_A_TYPE"), std::string::npos);
}

TEST(DetectorTest, CustomRegexWithValidatorAndGroup) {
  DetectorOptions o;
  o.entities = {"EMAIL"};
  o.regexes = {{"EMPLOYEE_ID", R"(\bEMP-[0-9]{6}\b)", "", Category::kCustom, false, 0},
               {"ACCOUNT_CARD", R"(acct card ([0-9 ]{13,23}[0-9]))", "card", Category::kPii,
                true, 1}};
  auto d = Detector::create(o);
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(typedValues(**d, "EMP-123456 and emp-123456 and EMP-1234567"),
            (Pairs{{"EMPLOYEE_ID", "EMP-123456"}}));
  auto f = (*d)->scan("ACCT CARD 4111 1111 1111 1111 / acct card 4111 1111 1111 1112");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, "ACCOUNT_CARD");
  EXPECT_EQ(f[0].category, Category::kPii);
  EXPECT_EQ(f[0].kind, EntityKind::kCustom);
  EXPECT_EQ(f[0].begin, 10u);
}

TEST(DetectorTest, CustomOptionErrorsNameTheDetector) {
  DetectorOptions o;
  o.regexes = {{"BROKEN", "(unclosed", "", Category::kCustom, false, 0}};
  auto d = Detector::create(o);
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message().find("BROKEN"), std::string::npos);

  o.regexes = {{"V", "x", "no-such-validator", Category::kCustom, false, 0}};
  d = Detector::create(o);
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message().find("no-such-validator"), std::string::npos);

  o.regexes = {{"G", "x", "", Category::kCustom, false, 2}};
  EXPECT_FALSE(Detector::create(o).has_value());

  o.regexes.clear();
  o.deny_lists = {{"CODENAME", {"ok", ""}, Category::kCustom}};
  EXPECT_FALSE(Detector::create(o).has_value());

  o.deny_lists.clear();
  o.allow_patterns = {"(bad"};
  EXPECT_FALSE(Detector::create(o).has_value());
}

TEST(DetectorTest, DenyListIsCaseInsensitiveWholeWordAndPrefersLongest) {
  DetectorOptions o;
  o.entities = {"EMAIL"};
  o.deny_lists = {{"CODENAME", {"Bluebird", "Project Blue", "Project Bluebird", "Zürich-X", "C++"},
                   Category::kCustom}};
  auto d = Detector::create(o);
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(typedValues(**d, "about PROJECT BLUEBIRD and bluebirds and xbluebird"),
            (Pairs{{"CODENAME", "PROJECT BLUEBIRD"}}));
  EXPECT_EQ(typedValues(**d, "see project blue, then BlueBird."),
            (Pairs{{"CODENAME", "project blue"}, {"CODENAME", "BlueBird"}}));
  EXPECT_EQ(typedValues(**d, "Team ZÜRICH-X ships C++ code"),
            (Pairs{{"CODENAME", "ZÜRICH-X"}, {"CODENAME", "C++"}}));
  EXPECT_EQ(typedValues(**d, "nothing here"), Pairs{});
}

// ASCII deny-lists are tried only where a text position starts with a term's first two bytes;
// Unicode case folding must still find what RE2's (?i) finds there.
TEST(DetectorTest, AnchoredDenyListKeepsUnicodeFoldsAndEdges) {
  DetectorOptions o;
  o.builtins = false;
  o.deny_lists = {{"CODENAME", {"Kestrel", "x", "Sparrow"}, Category::kCustom},
                  {"CITY", {"Ürümqi"}, Category::kPii}};  // not ASCII: the set pass
  auto d = Detector::create(o);
  ASSERT_TRUE(d.has_value()) << d.error().message();
  // U+212A KELVIN SIGN folds to k, U+017F LONG S to s.
  EXPECT_EQ(typedValues(**d, "meet \u212Aestrel and \u017Fparrow"),
            (Pairs{{"CODENAME", "\u212Aestrel"}, {"CODENAME", "\u017Fparrow"}}));
  EXPECT_EQ(typedValues(**d, "x"), (Pairs{{"CODENAME", "x"}}));  // a one-byte text
  EXPECT_EQ(typedValues(**d, "the box, then X"), (Pairs{{"CODENAME", "X"}}));
  EXPECT_EQ(typedValues(**d, "kestrels fly to ürümqi"), (Pairs{{"CITY", "ürümqi"}}));
  // The terms are compared byte by byte before the regex runs: a fold inside a term, mixed
  // case, and a term cut short by the end of the text.
  EXPECT_EQ(typedValues(**d, "a KE\u017FTREL, a spa\u212Arrow? no: SpArRoW"),
            (Pairs{{"CODENAME", "KE\u017FTREL"}, {"CODENAME", "SpArRoW"}}));
  EXPECT_EQ(typedValues(**d, "kestre"), Pairs{});
}

// The anchored patterns' prechecks must never reject what the regex accepts.
TEST(DetectorTest, PrechecksKeepEdgeForms) {
  DetectorOptions o;
  o.entities = {"SECRET", "JWT", "OPENAI_API_KEY"};
  auto d = Detector::create(o);
  ASSERT_TRUE(d.has_value());
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
      "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
  EXPECT_EQ(typedValues(**d, "(" + jwt + ")"), (Pairs{{"JWT", jwt}}));
  EXPECT_EQ(typedValues(**d, "password is 'Tr0ub4dor&3x'"), (Pairs{{"SECRET", "Tr0ub4dor&3x"}}));
  EXPECT_EQ(typedValues(**d, "Authorization: Bearer aZ3kP9qL2mX7vB4nT8wR1yU6"),
            (Pairs{{"SECRET", "aZ3kP9qL2mX7vB4nT8wR1yU6"}}));
  // '=' in the value: the group start comes from RE2, not the value-run shortcut.
  EXPECT_EQ(typedValues(**d, "api_key==aZ3kP9qL2mX7vB4nT8wR1yU6=="),
            (Pairs{{"SECRET", "=aZ3kP9qL2mX7vB4nT8wR1yU6=="}}));
  EXPECT_EQ(typedValues(**d, "secret_token =>  \"aZ3kP9qL2mX7vB4nT8wR1yU6\""),
            (Pairs{{"SECRET", "aZ3kP9qL2mX7vB4nT8wR1yU6"}}));
  EXPECT_EQ(typedValues(**d, "the key differences between monkey business and authors"),
            Pairs{});
}

TEST(DetectorTest, AllowListNeverFlags) {
  DetectorOptions o;
  o.allow_values = {"support@example.com", "AKIAIOSFODNN7EXAMPLE"};
  o.allow_patterns = {R"(.*@example\.org)"};
  auto d = Detector::create(o);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(typedValues(**d, "support@example.com, AKIAIOSFODNN7EXAMPLE, a@example.org, "
                             "b@example.net"),
            (Pairs{{"EMAIL", "b@example.net"}}));
}

TEST(DetectorTest, PlaceholdersAreNotFlaggedAgain) {
  const Detector& d = defaultDetector();
  EXPECT_EQ(typedValues(d, "mail [EMAIL_1], card [CREDIT_CARD_2], password: [SECRET_1]"),
            Pairs{});
}

TEST(DetectorTest, Utf8AroundEntities) {
  const Detector& d = defaultDetector();
  EXPECT_EQ(typedValues(d, "Grüße — écrivez à marie@exemple.fr 🙂 ou appelez +33 6 12 34 56 78…"),
            (Pairs{{"EMAIL", "marie@exemple.fr"}, {"PHONE", "+33 6 12 34 56 78"}}));
  EXPECT_EQ(typedValues(d, "卡号：4111111111111111。"), (Pairs{{"CREDIT_CARD", "4111111111111111"}}));
  // Invalid UTF-8 does not disturb scanning.
  std::string bad = "\xff\xfe a@example.com \xc3";
  EXPECT_EQ(typedValues(d, bad), (Pairs{{"EMAIL", "a@example.com"}}));
}

// A run of [0-9 .()+-] is measured 255 bytes at a time: what decides the gates may sit on
// either side of that step.
TEST(DetectorTest, LongDigitRunsKeepTheirShape) {
  for (std::size_t pad : {1, 200, 240, 250, 254, 255, 256, 300, 600}) {
    const std::string spaces(pad, ' ');
    EXPECT_EQ(typedValues(defaultDetector(), "call" + spaces + "+1 415 555 2671 now"),
              (Pairs{{"PHONE", "+1 415 555 2671"}}))
        << pad;
    EXPECT_EQ(typedValues(defaultDetector(), "ssn:" + spaces + "536-22-1234."),
              (Pairs{{"US_SSN", "536-22-1234"}}))
        << pad;
    EXPECT_EQ(typedValues(defaultDetector(), "at" + spaces + "10.20.30.40 ok"),
              (Pairs{{"IP_ADDRESS", "10.20.30.40"}}))
        << pad;
  }
}

TEST(DetectorTest, HostileInputsCompleteWithCorrectResults) {
  const Detector& d = defaultDetector();
  const std::size_t n = 1 << 20;
  for (const std::string& unit :
       {std::string("a"), std::string("1"), std::string("1 "), std::string("a@"),
        std::string("::"), std::string("1."), std::string("key: "), std::string("ey"),
        std::string("-----BEGIN PRIVATE KEY-----"), std::string("sk-"), std::string("+1 "),
        std::string("AB12 "), std::string("\xc3\xa9")}) {
    std::string text;
    while (text.size() < n) text += unit;
    auto f = d.scan(text);
    if (unit.starts_with("-----BEGIN")) {
      // Headers of blocks that never end: each is flagged, and nothing else.
      ASSERT_EQ(f.size(), (n + unit.size() - 1) / unit.size());
      EXPECT_EQ(f[1].begin, unit.size());
      EXPECT_EQ(f[1].end, 2 * unit.size());
    } else {
      EXPECT_TRUE(f.empty()) << "unit '" << unit << "': " << f.size() << " findings";
    }
  }
  // A real entity at the end of a hostile prefix is still found.
  std::string text(n, '1');
  text += " a@example.com";
  EXPECT_EQ(typedValues(d, text), (Pairs{{"EMAIL", "a@example.com"}}));
}

TEST(DetectorTest, PreviewNeverShowsTheValue) {
  const Detector& d = defaultDetector();
  const std::string gh = testing::githubToken(12);
  std::string text = "email bob@example.com token " + gh;
  auto f = d.scan(text);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(redactedPreview(text, f[0]), "EMAIL(len=15)");
  EXPECT_EQ(redactedPreview(text, f[1]), "GITHUB_TOKEN(len=40, ghp_…)");
  EXPECT_EQ(redactedPreview(text, f[1]).find(gh.substr(4, 8)), std::string::npos);
}

TEST(DetectorTest, SharedAcrossThreads) {
  const Detector& d = defaultDetector();
  std::string text = "a@example.com 4111111111111111 " + testing::githubToken(13);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (d.scan(text).size() != 3) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(DetectorTest, JwtAtTheEndOfASentenceIsFound) {
  const std::string text = "Session " + std::string(guard::testing::kJwt) + ". Next";
  auto v = typedValues(defaultDetector(), text);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0],
            (std::pair<std::string, std::string>{"JWT", std::string(guard::testing::kJwt)}));
  // A fourth dotted part makes it something else.
  EXPECT_TRUE(typedValues(defaultDetector(), std::string(guard::testing::kJwt) + ".abc").empty());
}

}  // namespace
}  // namespace switchyard::guard
