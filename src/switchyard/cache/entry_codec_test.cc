#include "switchyard/cache/entry_codec.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace switchyard::cache {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Every field set to something other than its default, so a field the codec forgot differs.
api::Message fullMessage() {
  api::Message m;
  m.role = api::Role::kAssistant;
  m.content_form = api::Message::ContentForm::kParts;
  m.content.push_back({.kind = api::ContentPart::Kind::kText,
                       .text = std::string("h\xc3\xa9llo\n\0x", 9),
                       .cache_control = json::parse(R"({"type":"ephemeral"})")});
  m.content.push_back({.kind = api::ContentPart::Kind::kImage,
                       .image_url = "data:image/png;base64,AAAA",
                       .image_detail = "low"});
  m.content.push_back({.kind = api::ContentPart::Kind::kOther,
                       .raw = json::parse(R"({"type":"input_audio","input_audio":{"data":"x"}})")});
  m.name = "bot";
  m.tool_calls.push_back({.id = "call_1",
                          .name = "get_weather",
                          .arguments = R"({"city":"Paris"})",
                          .cache_control = json::parse(R"({"type":"ephemeral"})")});
  m.tool_call_id = "call_0";
  m.reasoning_content = "thinking...";
  m.reasoning_signature = "sig==";
  m.redacted_reasoning = {"opaque1", "", "opaque2"};
  m.tool_error = true;
  m.cache_control = json::parse(R"({"type":"ephemeral","ttl":"1h"})");
  m.refusal = "no";
  m.extra = json::parse(R"({"function_call":{"name":"f"},"n":1.5})").as_object();
  return m;
}

api::Usage fullUsage(std::int64_t base) {
  return {.prompt_tokens = base,
          .completion_tokens = base + 1,
          .total_tokens = 2 * base + 1,
          .cached_tokens = -3,
          .cache_write_tokens = std::numeric_limits<std::int64_t>::max(),
          .reasoning_tokens = std::numeric_limits<std::int64_t>::min()};
}

Entry chatEntry() {
  api::ChatResponse r;
  r.id = "chatcmpl-1";
  r.model = "gpt-x";
  r.created = 1'700'000'000;
  r.choices.push_back({.index = 0,
                       .message = fullMessage(),
                       .finish_reason = api::FinishReason::kToolCalls,
                       .stop_sequence = "END",
                       .logprobs = json::parse(R"({"content":[{"token":"a","logprob":-0.5}]})")});
  r.choices.push_back({.index = 7, .finish_reason = api::FinishReason::kContentFilter});
  r.usage = fullUsage(11);
  r.system_fingerprint = "fp_1";
  r.service_tier = "default";
  r.upstream_json = R"({"id":"chatcmpl-1"})";
  Entry e;
  e.value = std::move(r);
  e.provider = "openai";
  e.model = "gpt-x";
  e.model_version = "gpt-x-2025-01-01";
  e.ttl = 90s;
  return e;
}

Entry chunksEntry() {
  std::vector<StoredChunk> chunks(3);
  api::ChatChunk& a = chunks[0].chunk;
  a.id = "c1";
  a.model = "m";
  a.created = -5;
  api::ChoiceDelta d;
  d.index = 2;
  d.role = api::Role::kAssistant;
  d.content = "";
  d.reasoning_content = "r";
  d.reasoning_signature = "s";
  d.redacted_reasoning = "x";
  d.refusal = "no";
  d.tool_calls.push_back({.index = 1, .id = "call", .name = "f", .arguments = "{\"a\""});
  d.finish_reason = api::FinishReason::kLength;
  d.stop_sequence = "\n\n";
  d.logprobs = json::parse("[1,2]");
  a.choices.push_back(d);
  a.prompt_usage = fullUsage(1);
  a.system_fingerprint = "fp";
  chunks[0].json = R"({"id":"c1","choices":[]})";
  chunks[1].chunk.choices.push_back({.index = 0, .content = "hi"});
  chunks[1].json = "short";  // a small string: its view must follow the move into the entry
  chunks[2].chunk.usage = fullUsage(9);
  Entry e;
  e.value = std::move(chunks);
  e.provider = "local";
  e.model = "tiny";
  e.ttl = 1h;
  return e;
}

Entry embeddingsEntry() {
  api::EmbeddingResponse r;
  r.model = "embed";
  r.embeddings = {{0.0f, -1.5f, 3.25e-30f, std::numeric_limits<float>::infinity()}, {}, {42.0f}};
  r.usage = fullUsage(4);
  Entry e;
  e.value = std::move(r);
  e.provider = "p";
  e.model = "embed";
  e.ttl = 1ms;
  return e;
}

const auto kStored = std::chrono::system_clock::time_point(1'764'000'000'123ms);

TEST(EntryCodecTest, AWholeAnswerComesBackFieldForField) {
  const Entry e = chatEntry();
  auto decoded = decodeEntry(encodeEntry(e, kStored));
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(decoded->stored, kStored);
  EXPECT_EQ(decoded->entry.ttl, e.ttl);
  EXPECT_EQ(decoded->entry.provider, e.provider);
  EXPECT_EQ(decoded->entry.model, e.model);
  EXPECT_EQ(decoded->entry.model_version, e.model_version);
  EXPECT_EQ(std::get<api::ChatResponse>(decoded->entry.value),
            std::get<api::ChatResponse>(e.value));
}

TEST(EntryCodecTest, AStreamComesBackChunkForChunk) {
  const Entry e = chunksEntry();
  auto decoded = decodeEntry(encodeEntry(e, kStored));
  ASSERT_TRUE(decoded) << decoded.error().message();
  const auto& want = std::get<std::vector<StoredChunk>>(e.value);
  const auto& got = std::get<std::vector<StoredChunk>>(decoded->entry.value);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].json, want[i].json);
    api::ChatChunk chunk = got[i].chunk;
    EXPECT_TRUE(chunk.upstream_json.empty());  // set by the cache once the entry is in place
    EXPECT_EQ(chunk, want[i].chunk) << "chunk " << i;
  }
}

TEST(EntryCodecTest, EmbeddingsComeBackBitForBit) {
  const Entry e = embeddingsEntry();
  auto decoded = decodeEntry(encodeEntry(e, kStored));
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(std::get<api::EmbeddingResponse>(decoded->entry.value),
            std::get<api::EmbeddingResponse>(e.value));
}

TEST(EntryCodecTest, EveryTruncationIsAnError) {
  for (const Entry& e : {chatEntry(), chunksEntry(), embeddingsEntry()}) {
    const std::string bytes = encodeEntry(e, kStored);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(decodeEntry(std::string_view(bytes).substr(0, n))) << "prefix " << n;
    }
    EXPECT_FALSE(decodeEntry(bytes + "x"));  // bytes after the entry
  }
}

TEST(EntryCodecTest, CorruptBytesAreAnErrorOrAnEntryNeverACrash) {
  // Each byte flipped in turn: the reader either rejects it or reads some entry; the sanitizers
  // check that it never reads out of bounds or reserves what the input cannot hold.
  const std::string bytes = encodeEntry(chunksEntry(), kStored);
  int rejected = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::string corrupt = bytes;
      corrupt[i] = static_cast<char>(static_cast<unsigned char>(corrupt[i]) ^ flip);
      if (!decodeEntry(corrupt)) ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

// With SY_CACHE_ENTRY_SEEDS=DIR, writes the three entries' bytes there: the seeds of the
// cache_entries fuzz target (tests/fuzz/seeds/cache_entries), made again when the format changes.
TEST(EntryCodecTest, WritesFuzzSeedsWhenAsked) {
  const char* dir = std::getenv("SY_CACHE_ENTRY_SEEDS");
  if (dir == nullptr) GTEST_SKIP() << "SY_CACHE_ENTRY_SEEDS is not set";
  const std::pair<const char*, Entry> seeds[] = {
      {"chat", chatEntry()}, {"chunks", chunksEntry()}, {"embeddings", embeddingsEntry()}};
  for (const auto& [name, entry] : seeds) {
    std::ofstream out(std::string(dir) + "/" + name, std::ios::binary);
    out << encodeEntry(entry, kStored);
    ASSERT_TRUE(out.good()) << name;
  }
}

TEST(EntryCodecTest, OtherFormatsAndVersionsAreRejectedByName) {
  EXPECT_FALSE(decodeEntry(""));
  auto other = decodeEntry("{\"json\":1}");
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("SYCE"), std::string::npos);
  std::string bytes = encodeEntry(chatEntry(), kStored);
  bytes[4] = 9;
  auto version = decodeEntry(bytes);
  ASSERT_FALSE(version);
  EXPECT_NE(version.error().message().find("version 9"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::cache
