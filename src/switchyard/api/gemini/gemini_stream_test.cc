#include "switchyard/api/gemini/gemini_stream.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "switchyard/api/anthropic/golden_test_util.h"
#include "switchyard/api/anthropic/messages_stream.h"
#include "switchyard/api/gemini/gemini_codec.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/http/sse.h"

namespace switchyard::api::gemini {
namespace {

namespace json = boost::json;
using anthropic::testing::expectJsonLinesGolden;
using anthropic::testing::expectSseGolden;
using anthropic::testing::readTestdata;

// Feeds an SSE transcript to the decoder `piece` bytes at a time, as the provider does.
std::vector<ChatChunk> decodeInPieces(const std::string& sse, std::size_t piece,
                                      Status* status = nullptr) {
  http::SseParser parser;
  GenerateContentStreamDecoder decoder(1700000000, "req-1");
  std::vector<ChatChunk> chunks;
  Status s;
  auto on_event = [&](const http::SseEvent& e) {
    if (s.isOk()) s = decoder.onEvent(e.data, chunks);
  };
  for (std::size_t i = 0; i < sse.size(); i += piece) {
    parser.feed(std::string_view(sse).substr(i, piece), on_event);
  }
  parser.finish(on_event);
  if (s.isOk()) s = decoder.finish(chunks);
  if (status != nullptr) *status = s;
  return chunks;
}

std::vector<std::string> openaiLines(const std::vector<ChatChunk>& chunks) {
  std::vector<std::string> lines;
  for (const auto& c : chunks) {
    std::string line;
    openai::appendChatChunk(c, line);
    lines.push_back(line);
  }
  return lines;
}

TEST(GeminiStreamGolden, UpstreamToOpenAIClient) {
  Status s;
  auto chunks = decodeInPieces(readTestdata("stream_tools.upstream.sse"), 1 << 20, &s);
  ASSERT_TRUE(s.isOk()) << s.message();
  expectJsonLinesGolden("stream_tools.openai_client.jsonl", openaiLines(chunks));
}

TEST(GeminiStreamGolden, UpstreamToAnthropicClient) {
  auto chunks = decodeInPieces(readTestdata("stream_tools.upstream.sse"), 1 << 20);
  anthropic::MessagesStreamEncoder encoder("fallback");
  std::string out;
  for (const auto& c : chunks) encoder.onChunk(c, out);
  encoder.finish(out);
  expectSseGolden("stream_tools.anthropic_client.sse", out);
}

TEST(GeminiStream, EventsSplitAcrossReadsDecodeTheSame) {
  const std::string sse = readTestdata("stream_tools.upstream.sse");
  const auto whole = openaiLines(decodeInPieces(sse, 1 << 20));
  for (std::size_t piece : {1u, 2u, 7u, 37u}) {
    EXPECT_EQ(openaiLines(decodeInPieces(sse, piece)), whole) << "piece " << piece;
  }
}

TEST(GeminiStream, ParallelCallsTextReasoningFinishAndUsage) {
  auto chunks = decodeInPieces(readTestdata("stream_tools.upstream.sse"), 5);
  std::string text, reasoning;
  std::vector<ToolCallDelta> calls;
  FinishReason finish = FinishReason::kNone;
  std::optional<Usage> usage;
  for (const auto& c : chunks) {
    EXPECT_EQ(c.id, "r-stream-1");
    EXPECT_EQ(c.model, "gemini-2.5-pro");
    if (c.usage) usage = c.usage;
    for (const auto& d : c.choices) {
      if (d.content) text += *d.content;
      if (d.reasoning_content) reasoning += *d.reasoning_content;
      for (const auto& t : d.tool_calls) calls.push_back(t);
      if (d.finish_reason != FinishReason::kNone) finish = d.finish_reason;
    }
  }
  EXPECT_EQ(text, "Checking both cities.");
  EXPECT_EQ(reasoning, "Thinking about Zürich…");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].index, 0);
  EXPECT_EQ(calls[1].index, 1);
  EXPECT_EQ(json::parse(calls[1].arguments), json::parse(R"({"location":"Zürich",
    "unit":"celsius"})"));
  EXPECT_EQ(parseToolCallId(calls[0].id).signature, "Q2lRQjBlMktiK3NpZy8x");
  EXPECT_EQ(parseToolCallId(calls[1].id).signature, "");
  EXPECT_EQ(finish, FinishReason::kToolCalls);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->prompt_tokens, 50);
  EXPECT_EQ(usage->completion_tokens, 32);
  EXPECT_EQ(usage->reasoning_tokens, 12);
  EXPECT_EQ(usage->cached_tokens, 32);
  EXPECT_EQ(usage->total_tokens, 82);
  // The usage chunk comes last and has no choices.
  EXPECT_TRUE(chunks.back().choices.empty());
}

TEST(GeminiStream, ErrorEventMidStream) {
  const std::string sse =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}\n\n"
      "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\","
      "\"status\":\"UNAVAILABLE\"}}\n\n";
  Status s;
  auto chunks = decodeInPieces(sse, 9, &s);
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_NE(s.message().find("overloaded"), std::string::npos);
  ASSERT_EQ(chunks.size(), 1u);  // what came before the error
  EXPECT_EQ(chunks[0].choices[0].content, "Hi");
}

TEST(GeminiStream, CutStreamAndBlockedPromptAreErrors) {
  Status s;
  decodeInPieces("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}]}\n\n",
                 4, &s);
  EXPECT_EQ(s.code(), ErrorCode::kUpstream);
  EXPECT_NE(s.message().find("finishReason"), std::string::npos);
  decodeInPieces("data: {\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"}}\n\n", 4,
                 &s);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("PROHIBITED_CONTENT"), std::string::npos);
  decodeInPieces("data: {not json\n\n", 4, &s);
  EXPECT_EQ(s.code(), ErrorCode::kUpstream);
}

TEST(GeminiStream, FinishReasonsMapInStreams) {
  auto chunks = decodeInPieces(
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},"
      "\"finishReason\":\"MAX_TOKENS\"}]}\n\n",
      3);
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks.back().choices.at(0).finish_reason, FinishReason::kLength);
}

}  // namespace
}  // namespace switchyard::api::gemini
