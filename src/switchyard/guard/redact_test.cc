#include "switchyard/guard/redact.h"

#include <gtest/gtest.h>

#include <string>

#include "switchyard/guard/test_util.h"

namespace switchyard::guard {
namespace {

using testing::defaultDetector;

TEST(RedactTest, TypedPlaceholdersNumberPerTypeAndRepeatForSameValue) {
  std::string text = "a@x.io, b@x.io, a@x.io; card 4111111111111111; again b@x.io";
  auto f = defaultDetector().scan(text);
  Vault vault;
  std::string out = redact(text, f, Style::kTyped, &vault);
  EXPECT_EQ(out, "[EMAIL_1], [EMAIL_2], [EMAIL_1]; card [CREDIT_CARD_1]; again [EMAIL_2]");
  EXPECT_EQ(vault.size(), 3u);
  EXPECT_EQ(vault.valueOf("[EMAIL_2]").value(), "b@x.io");
  EXPECT_FALSE(vault.valueOf("[EMAIL_3]").has_value());
  EXPECT_EQ(restore(out, vault), text);
}

TEST(RedactTest, VaultKeepsNumberingAcrossMessagesOfOneRequest) {
  Vault vault;
  std::string m1 = "I am a@x.io", m2 = "cc c@x.io and a@x.io";
  EXPECT_EQ(redact(m1, defaultDetector().scan(m1), Style::kTyped, &vault), "I am [EMAIL_1]");
  EXPECT_EQ(redact(m2, defaultDetector().scan(m2), Style::kTyped, &vault),
            "cc [EMAIL_2] and [EMAIL_1]");
}

TEST(RedactTest, WithoutVaultNumbersWithinTheCall) {
  std::string text = "a@x.io b@x.io a@x.io";
  EXPECT_EQ(redact(text, defaultDetector().scan(text), Style::kTyped), "[EMAIL_1] [EMAIL_2] [EMAIL_1]");
}

TEST(RedactTest, OtherStyles) {
  std::string text = "to jöhn@x.de now";
  auto f = defaultDetector().scan(text);
  EXPECT_EQ(redact(text, f, Style::kType), "to [EMAIL] now");
  EXPECT_EQ(redact(text, f, Style::kMask), "to ********* now");  // 9 characters, 10 bytes
}

TEST(RedactTest, IgnoresFindingsThatDoNotFit) {
  std::string text = "abc";
  std::vector<Finding> f = {{EntityKind::kEmail, Category::kPii, "EMAIL", 1, 9}};
  EXPECT_EQ(redact(text, f, Style::kType), "abc");
}

TEST(RestoreTest, LeavesUnknownAndMalformedBracketsAlone) {
  Vault vault;
  vault.placeholder("EMAIL", "a@x.io");
  EXPECT_EQ(restore("[EMAIL_1] [EMAIL_9] [x] [ [EMAIL_1 ] [[EMAIL_1]]", vault),
            "a@x.io [EMAIL_9] [x] [ [EMAIL_1 ] [a@x.io]");
  Vault empty;
  EXPECT_EQ(restore("[EMAIL_1]", empty), "[EMAIL_1]");
}

TEST(StreamRestorerTest, EverySplitOfPlaceholdersRestores) {
  Vault vault;
  vault.placeholder("EMAIL", "a@x.io");
  vault.placeholder("CREDIT_CARD", "4111111111111111");
  const std::string model_output =
      "Sure [EMAIL_1], I charged [CREDIT_CARD_1] [not one] and [EMAIL_1].[";
  const std::string want = restore(model_output, vault);
  ASSERT_NE(want, model_output);
  for (std::size_t i = 0; i <= model_output.size(); ++i) {
    for (std::size_t j = i; j <= model_output.size(); j += 7) {
      StreamRestorer r(vault);
      std::string got = r.push(model_output.substr(0, i));
      got += r.push(model_output.substr(i, j - i));
      got += r.push(model_output.substr(j));
      got += r.finish();
      ASSERT_EQ(got, want) << "split at " << i << ", " << j;
    }
  }
}

TEST(StreamRestorerTest, HoldsOnlyWhatCouldBeAPlaceholder) {
  Vault vault;
  vault.placeholder("EMAIL", "a@x.io");
  StreamRestorer r(vault);
  EXPECT_EQ(r.push("hello [EMA"), "hello ");
  EXPECT_EQ(r.push("IL_1] and [x y"), "a@x.io and [x y");
  EXPECT_EQ(r.push(" [CREDIT_CARD_LONGER_THAN_ANY"), " [CREDIT_CARD_LONGER_THAN_ANY");
  EXPECT_EQ(r.push("[EMAIL_"), "");
  EXPECT_EQ(r.finish(), "[EMAIL_");
}

TEST(VaultTest, SameValueDifferentTypeGetsItsOwnPlaceholder) {
  Vault vault;
  EXPECT_EQ(vault.placeholder("A", "v"), "[A_1]");
  EXPECT_EQ(vault.placeholder("B", "v"), "[B_1]");
  EXPECT_EQ(vault.placeholder("A", "w"), "[A_2]");
  EXPECT_EQ(vault.placeholder("A", "v"), "[A_1]");
  EXPECT_EQ(vault.maxPlaceholderSize(), 5u);
  Vault moved = std::move(vault);
  EXPECT_EQ(moved.valueOf("[B_1]").value(), "v");
}

}  // namespace
}  // namespace switchyard::guard
