#include "switchyard/guard/stream_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "switchyard/guard/test_util.h"

namespace switchyard::guard {
namespace {

using testing::defaultDetector;

struct Streamed {
  std::string text;
  std::vector<Finding> findings;
};

Streamed streamChunks(const std::vector<std::string_view>& chunks, StreamScanOptions o = {}) {
  StreamScanner s(defaultDetector(), nullptr, o);
  Streamed out;
  auto take = [&](StreamScanner::Output r) {
    out.text += r.text;
    out.findings.insert(out.findings.end(), r.findings.begin(), r.findings.end());
  };
  for (auto c : chunks) take(s.push(c));
  take(s.finish());
  EXPECT_EQ(s.held(), 0u);
  return out;
}

// `text` arriving in reads of `size` bytes (the last one shorter).
Streamed streamInReadsOf(std::string_view text, std::size_t size) {
  std::vector<std::string_view> chunks;
  for (std::size_t i = 0; i < text.size(); i += size) chunks.push_back(text.substr(i, size));
  return streamChunks(chunks);
}

Streamed whole(std::string_view text) {
  auto f = defaultDetector().scan(text);
  return {redact(text, f, Style::kTyped), f};
}

// Long enough that the scanner emits before the end, with entities of several kinds.
std::string mixedText() {
  std::string t =
      "Thanks! Reach john.doe@example.com or +44 20 7946 0958. The card was 4111 1111 1111 1111 "
      "and the IBAN DE89 3704 0044 0532 0130 00. ";
  t += std::string(300, '.') + " ";
  t += "Token " + testing::githubToken(21) + " and again john.doe@example.com, SSN 536-22-1234. ";
  t += "Résumé: ünïcödé text — then 2001:db8::8a2e:370:7334 and password: hunter2!x end";
  return t;
}

TEST(StreamScannerTest, EverySingleSplitMatchesTheWholeScan) {
  const std::string text = mixedText();
  const Streamed want = whole(text);
  ASSERT_EQ(want.findings.size(), 9u);
  for (std::size_t i = 0; i <= text.size(); ++i) {
    std::string_view v(text);
    for (std::size_t step : {1u, 64u}) {
      StreamScanOptions o;
      o.scan_step = step;
      Streamed got = streamChunks({v.substr(0, i), v.substr(i)}, o);
      ASSERT_EQ(got.text, want.text) << "split at " << i << ", step " << step;
      ASSERT_EQ(got.findings, want.findings) << "split at " << i << ", step " << step;
    }
  }
}

TEST(StreamScannerTest, TokenSizedChunksMatchTheWholeScan) {
  const std::string text = mixedText();
  const Streamed want = whole(text);
  for (std::size_t size : {1u, 2u, 3u, 5u, 17u, 64u}) {
    Streamed got = streamInReadsOf(text, size);
    EXPECT_EQ(got.text, want.text) << "chunk size " << size;
    EXPECT_EQ(got.findings, want.findings) << "chunk size " << size;
  }
}

// Not UTF-8: an entity followed by a long run of stray continuation bytes (found by
// tests/fuzz/guard_fuzz). Looking for a character's start, the cut used to walk back over the
// whole run into the token, and the token's last character left unredacted.
TEST(StreamScannerTest, StrayContinuationBytesDoNotMoveTheCutIntoAnEntity) {
  const std::string token = testing::githubToken(7);
  const std::string text = "Token " + token + std::string(400, '\x86') + " end";
  const Streamed want = whole(text);
  ASSERT_EQ(want.findings.size(), 1u);
  for (std::size_t size : {1u, 4u, 64u}) {
    Streamed got = streamInReadsOf(text, size);
    EXPECT_EQ(got.text, want.text) << "chunk size " << size;
    EXPECT_EQ(got.findings, want.findings) << "chunk size " << size;
  }
}

TEST(StreamScannerTest, EmailSplitInsideTheLocalPart) {
  Streamed got = streamChunks({"write to john.do", "e@example.com today"});
  EXPECT_EQ(got.text, "write to [EMAIL_1] today");
  ASSERT_EQ(got.findings.size(), 1u);
  EXPECT_EQ(got.findings[0].begin, 9u);
}

TEST(StreamScannerTest, EmitsBeforeTheEndAndHoldsAtMostHoldBack) {
  StreamScanOptions o;
  o.hold_back = 32;
  o.scan_step = 16;
  StreamScanner s(defaultDetector(), nullptr, o);
  std::string emitted;
  for (int i = 0; i < 20; ++i) {
    emitted += s.push("0123456789 ").text;
    EXPECT_LE(s.held(), 32u + 16u + 11u);
  }
  EXPECT_GE(emitted.size(), 200u - 32u);
  emitted += s.finish().text;
  EXPECT_EQ(emitted.size(), 220u);
}

TEST(StreamScannerTest, PrivateKeyArrivingSlowlyIsHeldWholeThenRedacted) {
  const std::string pem = testing::pemBlock(22);
  const std::string text = "key:\n" + pem + "\ndone " + std::string(300, '-');
  Streamed got = streamInReadsOf(text, 8);
  EXPECT_EQ(got.text, "key:\n[PRIVATE_KEY_1]\ndone " + std::string(300, '-'));
}

TEST(StreamScannerTest, SharesTheRequestVault) {
  Vault vault;
  std::string prompt = "I am a@x.io";
  redact(prompt, defaultDetector().scan(prompt), Style::kTyped, &vault);
  StreamScanner s(defaultDetector(), &vault);
  std::string out = s.push("Hello a@x.io, meet b@x.io").text;
  out += s.finish().text;
  EXPECT_EQ(out, "Hello [EMAIL_1], meet [EMAIL_2]");
}

}  // namespace
}  // namespace switchyard::guard
