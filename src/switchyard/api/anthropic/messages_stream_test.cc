#include "switchyard/api/anthropic/messages_stream.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <sstream>

#include "switchyard/api/anthropic/golden_test_util.h"
#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/openai/codec.h"

namespace switchyard::api::anthropic {
namespace {

namespace json = boost::json;
using testing::expectJsonLinesGolden;
using testing::expectSseGolden;
using testing::parseSse;
using testing::readTestdata;

// Decodes a whole upstream SSE transcript into native chunks.
std::vector<ChatChunk> decodeTranscript(const std::string& sse, Status* status = nullptr,
                                        bool* done = nullptr) {
  MessagesStreamDecoder decoder;
  std::vector<ChatChunk> chunks;
  for (const auto& [event, data] : parseSse(sse)) {
    Status s = decoder.onEvent(event, json::serialize(data), chunks);
    if (!s.isOk()) {
      if (status != nullptr) *status = s;
      break;
    }
  }
  if (done != nullptr) *done = decoder.done();
  return chunks;
}

std::string encodeAll(const std::vector<ChatChunk>& chunks) {
  MessagesStreamEncoder encoder("fallback-model");
  std::string out;
  for (const auto& c : chunks) encoder.onChunk(c, out);
  encoder.finish(out);
  return out;
}

TEST(AnthropicStreamGolden, UpstreamToOpenAIClient) {
  bool done = false;
  auto chunks = decodeTranscript(readTestdata("stream_tools.upstream.sse"), nullptr, &done);
  EXPECT_TRUE(done);
  std::vector<std::string> lines;
  for (const auto& c : chunks) {
    std::string line;
    openai::appendChatChunk(c, line);
    lines.push_back(line);
  }
  expectJsonLinesGolden("stream_tools.openai_client.jsonl", lines);
}

TEST(AnthropicStreamGolden, UpstreamToAnthropicClientRoundTrips) {
  auto chunks = decodeTranscript(readTestdata("stream_tools.upstream.sse"));
  const std::string out = encodeAll(chunks);
  expectSseGolden("stream_tools.anthropic_client.sse", out);
}

TEST(AnthropicStreamGolden, OpenAIUpstreamToAnthropicClient) {
  std::istringstream in(readTestdata("openai_stream.upstream.jsonl"));
  std::vector<ChatChunk> chunks;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto c = openai::decodeChatChunk(line);
    ASSERT_TRUE(c) << c.error().message();
    chunks.push_back(*c);
  }
  expectSseGolden("openai_stream.anthropic_client.sse", encodeAll(chunks));
}

// Concatenates every tool's streamed arguments, by Anthropic block index.
std::map<std::int64_t, std::string> toolInputs(const std::string& sse) {
  std::map<std::int64_t, std::string> inputs;
  for (const auto& [event, data] : parseSse(sse)) {
    if (event == "content_block_delta" &&
        data.at("delta").at("type") == "input_json_delta") {
      inputs[data.at("index").as_int64()] += data.at("delta").at("partial_json").as_string();
    }
  }
  return inputs;
}

TEST(AnthropicStream, ToolArgumentsSplitAcrossManyChunksArriveWhole) {
  const std::string args = R"({"city":"Zürich \"quoted\"","days":[1,2,3],"n":null})";
  std::vector<ChatChunk> chunks(1);
  chunks[0].id = "c1";
  chunks[0].choices.emplace_back().role = Role::kAssistant;
  // Two parallel calls, the second interleaved with the first (some servers do this).
  for (std::size_t i = 0; i < args.size(); i += 2) {
    for (int tool = 0; tool < 2; ++tool) {
      ChatChunk c;
      ToolCallDelta& d = c.choices.emplace_back().tool_calls.emplace_back();
      d.index = tool;
      if (i == 0) {
        d.id = "call_" + std::to_string(tool);
        d.name = "f";
      }
      d.arguments = args.substr(i, 2);
      chunks.push_back(c);
    }
  }
  ChatChunk last;
  last.choices.emplace_back().finish_reason = FinishReason::kToolCalls;
  chunks.push_back(last);
  const std::string out = encodeAll(chunks);
  auto inputs = toolInputs(out);
  ASSERT_EQ(inputs.size(), 2u);
  for (const auto& [index, text] : inputs) {
    EXPECT_EQ(json::parse(text), json::parse(args)) << "block " << index;
  }
  auto events = parseSse(out);
  EXPECT_EQ(events.back().first, "message_stop");
  EXPECT_EQ(events[events.size() - 2].second.at("delta").at("stop_reason"), "tool_use");
  // Every started block is stopped exactly once, before message_delta.
  std::map<std::int64_t, int> starts, stops;
  for (const auto& [event, data] : events) {
    if (event == "content_block_start") ++starts[data.at("index").as_int64()];
    if (event == "content_block_stop") ++stops[data.at("index").as_int64()];
  }
  EXPECT_EQ(starts, stops);
}

TEST(AnthropicStream, EventOrderForPlainText) {
  std::vector<ChatChunk> chunks(3);
  chunks[0].id = "chatcmpl-1";
  chunks[0].model = "gpt";
  chunks[0].choices.emplace_back().content = "";
  chunks[1].choices.emplace_back().content = "Hello";
  chunks[2].choices.emplace_back().finish_reason = FinishReason::kLength;
  chunks.emplace_back().usage = Usage{10, 5, 15, 4, 0, 0};
  const auto events = parseSse(encodeAll(chunks));
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e.first);
  EXPECT_EQ(names, (std::vector<std::string>{"message_start", "ping", "content_block_start",
                                             "content_block_delta", "content_block_stop",
                                             "message_delta", "message_stop"}));
  EXPECT_EQ(events[0].second.at("message").at("id"), "msg_1");
  EXPECT_EQ(events[0].second.at("message").at("model"), "gpt");
  EXPECT_EQ(events[3].second.at("delta").at("text"), "Hello");
  EXPECT_EQ(events[5].second.at("delta").at("stop_reason"), "max_tokens");
  EXPECT_EQ(events[5].second.at("usage"),
            json::parse(R"({"input_tokens":6,"cache_creation_input_tokens":0,
                            "cache_read_input_tokens":4,"output_tokens":5})"));
}

// Gemini signs a text answer in its last event (or on a text part): the signature cannot go
// back into the closed thinking block, and must not split the text, so it ends the message in
// a thinking block of its own.
TEST(AnthropicStream, ASignatureAfterTheTextEndsTheMessageInItsOwnThinkingBlock) {
  for (bool on_text_part : {false, true}) {
    std::vector<ChatChunk> chunks(4);
    chunks[0].choices.emplace_back().reasoning_content = "Thinking it over.";
    chunks[1].choices.emplace_back().content = "Hello";
    chunks[2].choices.emplace_back().content = " there";
    ChoiceDelta& last = chunks[3].choices.emplace_back();
    (on_text_part ? chunks[2].choices.back() : last).reasoning_signature = "c2lnbmF0dXJl";
    last.finish_reason = FinishReason::kStop;
    const auto events = parseSse(encodeAll(chunks));
    std::vector<std::string> kinds;  // block starts and deltas, by type
    for (const auto& e : events) {
      if (e.first == "content_block_start") {
        kinds.push_back(std::string(e.second.at("content_block").at("type").as_string()) + "@" +
                        std::to_string(e.second.at("index").as_int64()));
      } else if (e.first == "content_block_delta") {
        kinds.push_back(std::string(e.second.at("delta").at("type").as_string()));
      }
    }
    EXPECT_EQ(kinds, (std::vector<std::string>{"thinking@0", "thinking_delta", "text@1",
                                               "text_delta", "text_delta", "thinking@2",
                                               "signature_delta"}))
        << "signature on a text part: " << on_text_part;
    EXPECT_EQ(events[events.size() - 4].second.at("delta").at("signature"), "c2lnbmF0dXJl");
    EXPECT_EQ(events[events.size() - 3].first, "content_block_stop");
  }
}

TEST(AnthropicStream, CitationsRideOnMessageStart) {
  MessagesStreamEncoder encoder("m");
  encoder.setCitations(R"([{"index":1,"source":"a.md"}])");
  std::string out;
  ChatChunk c;
  c.choices.emplace_back().content = "Hi [1]";
  encoder.onChunk(c, out);
  encoder.finish(out);
  const auto events = parseSse(out);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].first, "message_start");
  EXPECT_EQ(events[0].second.at("message").at("citations").at(0).at("source"), "a.md");
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_FALSE(events[i].second.as_object().contains("citations")) << events[i].first;
  }
  // Without citations the message has no such member.
  EXPECT_FALSE(parseSse(encodeAll({}))[0].second.at("message").as_object().contains("citations"));
}

TEST(AnthropicStream, EmptyStreamStillFormsAMessage) {
  const auto events = parseSse(encodeAll({}));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].first, "message_start");
  EXPECT_EQ(events[0].second.at("message").at("model"), "fallback-model");
  EXPECT_EQ(events[2].second.at("delta").at("stop_reason"), "end_turn");
  EXPECT_EQ(events[3].first, "message_stop");
}

TEST(AnthropicStream, FailureMidStreamIsAnErrorEvent) {
  MessagesStreamEncoder encoder;
  std::string out;
  ChatChunk c;
  c.choices.emplace_back().content = "partial";
  encoder.onChunk(c, out);
  encoder.fail(Status(ErrorCode::kUpstream, "upstream stream broke"), out);
  encoder.finish(out);  // ignored after an error
  const auto events = parseSse(out);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back().first, "error");
  EXPECT_EQ(events.back().second, json::parse(R"({"type":"error","error":{"type":"api_error",
    "message":"upstream stream broke"}})"));
  for (const auto& e : events) EXPECT_NE(e.first, "message_stop");
}

TEST(AnthropicStream, DecoderReportsErrorEvents) {
  const std::string sse =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
      "\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
      "\"message\":\"Overloaded\"}}\n\n";
  Status status;
  bool done = true;
  auto chunks = decodeTranscript(sse, &status, &done);
  EXPECT_FALSE(done);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[1].choices[0].content, "Hi");
  EXPECT_EQ(status.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(status.errorType(), "overloaded_error");
  EXPECT_EQ(status.httpStatus(), 529);
  EXPECT_NE(status.message().find("Overloaded"), std::string::npos);
  // Re-encoded for an Anthropic client, the type survives.
  EXPECT_EQ(json::parse(encodeError(status)).at("error").at("type"), "overloaded_error");
}

TEST(AnthropicStream, DecoderIgnoresUnknownEventsAndRejectsGarbage) {
  MessagesStreamDecoder decoder;
  std::vector<ChatChunk> out;
  EXPECT_TRUE(decoder.onEvent("future_event", R"({"type":"future_event"})", out).isOk());
  EXPECT_TRUE(decoder.onEvent("ping", R"({"type":"ping"})", out).isOk());
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(decoder.onEvent("content_block_delta", "{not json", out).code(),
            ErrorCode::kUpstream);
}

TEST(AnthropicStream, StopSequenceSurvivesTheRoundTrip) {
  const std::string sse =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
      "\"model\":\"c\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
      "\"stop_sequence\",\"stop_sequence\":\"END\"},\"usage\":{\"output_tokens\":7}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  const auto events = parseSse(encodeAll(decodeTranscript(sse)));
  const auto& delta = events[events.size() - 2].second;
  EXPECT_EQ(delta.at("delta").at("stop_reason"), "stop_sequence");
  EXPECT_EQ(delta.at("delta").at("stop_sequence"), "END");
  EXPECT_EQ(delta.at("usage").at("output_tokens"), 7);
  EXPECT_EQ(delta.at("usage").at("input_tokens"), 3);
}

}  // namespace
}  // namespace switchyard::api::anthropic
