#include "switchyard/cache/request_key.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <functional>
#include <string>
#include <vector>

namespace switchyard::cache {
namespace {

const KeyContext kWhere{"key:k1", "oai", "gpt-x"};

api::ChatRequest base() {
  api::ChatRequest r;
  r.model = "auto";
  api::Message system;
  system.role = api::Role::kSystem;
  system.content.push_back({.text = "Be brief."});
  api::Message user;
  user.content.push_back({.text = "What is 2+2?"});
  r.messages = {system, user};
  return r;
}

TEST(RequestKeyTest, SameRequestSameKeyWhateverTheFraming) {
  const CacheKey k = chatKey(kWhere, base());
  EXPECT_EQ(chatKey(kWhere, base()), k);
  api::ChatRequest framed = base();
  framed.model = "some-alias";  // the deployment in KeyContext stands for the model
  framed.stream = true;
  framed.include_usage = true;
  EXPECT_EQ(chatKey(kWhere, framed), k);
}

TEST(RequestKeyTest, WhereItGoesAndWhoAsksArePartOfTheKey) {
  const CacheKey k = chatKey(kWhere, base());
  EXPECT_NE(chatKey({"key:k2", "oai", "gpt-x"}, base()), k);
  EXPECT_NE(chatKey({"key:k1", "other", "gpt-x"}, base()), k);
  EXPECT_NE(chatKey({"key:k1", "oai", "gpt-y"}, base()), k);
  EXPECT_NE(chatKey({"key:k1", "oai", "gpt-x", true}, base()), k);
  // Fields are length-prefixed: moving a character across a boundary changes the key.
  EXPECT_NE(chatKey({"key:k1o", "ai", "gpt-x"}, base()), k);
}

TEST(RequestKeyTest, EveryFieldThatShapesTheAnswerChangesTheKey) {
  const CacheKey k = chatKey(kWhere, base());
  const std::vector<std::pair<std::string, std::function<void(api::ChatRequest&)>>> edits = {
      {"text", [](auto& r) { r.messages[1].content[0].text = "What is 2+3?"; }},
      {"role", [](auto& r) { r.messages[0].role = api::Role::kDeveloper; }},
      {"form", [](auto& r) { r.messages[1].content_form = api::Message::ContentForm::kParts; }},
      {"image",
       [](auto& r) {
         r.messages[1].content.push_back(
             {.kind = api::ContentPart::Kind::kImage, .image_url = "https://x/y.png"});
       }},
      {"name", [](auto& r) { r.messages[1].name = "ann"; }},
      {"tool call",
       [](auto& r) {
         r.messages[0].tool_calls.push_back({"c1", "f", "{}", {}});
       }},
      {"reasoning", [](auto& r) { r.messages[0].reasoning_content = "hm"; }},
      {"signature", [](auto& r) { r.messages[0].reasoning_signature = "sig"; }},
      {"cache_control",
       [](auto& r) { r.messages[1].content[0].cache_control = boost::json::parse("{}"); }},
      {"message extra", [](auto& r) { r.messages[1].extra["x"] = 1; }},
      {"tools", [](auto& r) { r.tools.push_back({.name = "get_weather"}); }},
      {"tool_choice", [](auto& r) { r.tool_choice.mode = api::ToolChoice::Mode::kRequired; }},
      {"response_format",
       [](auto& r) { r.response_format.kind = api::ResponseFormat::Kind::kJsonObject; }},
      {"temperature", [](auto& r) { r.temperature = 0.0; }},
      {"temperature -0", [](auto& r) { r.temperature = -0.0; }},
      {"top_p", [](auto& r) { r.top_p = 0.5; }},
      {"max_tokens", [](auto& r) { r.max_tokens = 16; }},
      {"max_completion_tokens", [](auto& r) { r.max_tokens_is_completion = true; }},
      {"seed", [](auto& r) { r.seed = 7; }},
      {"n", [](auto& r) { r.n = 2; }},
      {"stop", [](auto& r) { r.stop = {"\n"}; }},
      {"logprobs", [](auto& r) { r.logprobs = true; }},
      {"reasoning_effort", [](auto& r) { r.reasoning_effort = "high"; }},
      {"thinking", [](auto& r) { r.thinking.mode = api::ThinkingConfig::Mode::kEnabled; }},
      {"user", [](auto& r) { r.user = "u-1"; }},
      {"metadata", [](auto& r) { r.metadata["tag"] = "a"; }},
      {"top_k", [](auto& r) { r.top_k = 40; }},
      {"extra", [](auto& r) { r.extra["logit_scale"] = 2; }},
  };
  std::vector<CacheKey> seen{k};
  for (const auto& [what, edit] : edits) {
    api::ChatRequest r = base();
    edit(r);
    const CacheKey changed = chatKey(kWhere, r);
    for (const CacheKey& other : seen) EXPECT_NE(changed, other) << what;
    seen.push_back(changed);
  }
}

TEST(RequestKeyTest, Embeddings) {
  api::EmbeddingRequest r;
  r.model = "embed";
  r.texts = {"a", "b"};
  const CacheKey k = embeddingKey(kWhere, r);
  EXPECT_EQ(embeddingKey(kWhere, r), k);
  api::EmbeddingRequest joined = r;
  joined.texts = {"ab"};
  EXPECT_NE(embeddingKey(kWhere, joined), k);
  api::EmbeddingRequest base64 = r;
  base64.encoding_format = "base64";
  EXPECT_NE(embeddingKey(kWhere, base64), k);
  api::EmbeddingRequest dims = r;
  dims.dimensions = 64;
  EXPECT_NE(embeddingKey(kWhere, dims), k);
  // A chat request never shares a key with an embedding request.
  api::ChatRequest chat;
  EXPECT_NE(chatKey(kWhere, chat), embeddingKey(kWhere, api::EmbeddingRequest{}));
}

}  // namespace
}  // namespace switchyard::cache
