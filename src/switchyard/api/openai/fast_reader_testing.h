#pragma once
// The differential checks every fast reader's test runs (chunk_reader, response_reader,
// request_reader): wherever the fast reader accepts a text, it must produce exactly what the
// general decoder produces; wherever it declines, the public decoder must give the general
// decoder's answer, errors (message and param) included. Test-only.

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::api::openai::testing {

template <typename T>
struct FastReaderCheck {
  std::function<std::optional<T>(std::string_view)> fast;  // the fast reader
  std::function<Result<T>(std::string_view)> general;      // the DOM decoder
  std::function<Result<T>(std::string_view)> chosen;       // the public decoder: fast, then DOM

  void expectSame(const std::string& text) const {
    const std::optional<T> quick = fast(text);
    const Result<T> any = general(text);
    const Result<T> picked = chosen(text);
    if (quick) {
      ASSERT_TRUE(any.has_value()) << text << "\n" << any.error().toString();
      EXPECT_EQ(*quick, *any) << text;
    }
    ASSERT_EQ(picked.has_value(), any.has_value()) << text;
    if (any) {
      EXPECT_EQ(*picked, *any) << text;
    } else {
      EXPECT_EQ(picked.error().message(), any.error().message()) << text;
      EXPECT_EQ(picked.error().param(), any.error().param()) << text;
    }
  }

  // Every text is taken by the fast reader (accepted) or left to the DOM decoder, and agrees.
  void expectAll(const std::vector<std::string>& texts, bool accepted) const {
    for (const std::string& text : texts) {
      EXPECT_EQ(fast(text).has_value(), accepted)
          << (accepted ? "declined: " : "accepted: ") << text;
      expectSame(text);
    }
  }

  // Every proper prefix of `text` is malformed: declined, and the same error from both.
  void expectPrefixesDeclined(const std::string& text) const {
    for (std::size_t n = 0; n < text.size(); ++n) {
      const std::string prefix = text.substr(0, n);
      EXPECT_FALSE(fast(prefix).has_value()) << prefix;
      expectSame(prefix);
    }
  }

  // `rounds` random mutations of the corpus (1–3 bytes replaced by JSON-significant ones);
  // returns how many the fast reader accepted, so a test can check the fast path was exercised.
  int expectMutationsAgree(const std::vector<std::string>& corpus, unsigned seed,
                           int rounds) const {
    std::mt19937 rng(seed);
    const std::string alphabet = "{}[]\":,0-19.eE nulltruefalse\\u";
    int accepted = 0;
    for (int round = 0; round < rounds; ++round) {
      std::string text = corpus[rng() % corpus.size()];
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
      }
      accepted += fast(text).has_value() ? 1 : 0;
      expectSame(text);
      if (::testing::Test::HasFailure()) break;
    }
    return accepted;
  }
};

// A long string body with escapes spread through it (the parser hands such strings over in
// parts).
inline std::string longEscapedText() {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += (i % 7 == 0) ? "\\n\\u00e9\\\"" : "abc";
  return text;
}

}  // namespace switchyard::api::openai::testing
