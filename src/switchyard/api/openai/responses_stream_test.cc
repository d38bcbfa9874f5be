#include "switchyard/api/openai/responses_stream.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <sstream>

#include "switchyard/api/anthropic/golden_test_util.h"
#include "switchyard/api/openai/codec.h"

namespace switchyard::api::openai {
namespace {

namespace json = boost::json;
using anthropic::testing::expectSseGolden;
using anthropic::testing::parseSse;
using anthropic::testing::readTestdata;

std::vector<ChatChunk> upstreamChunks() {
  std::istringstream in(readTestdata("responses_stream.upstream.jsonl"));
  std::vector<ChatChunk> chunks;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto c = decodeChatChunk(line);
    EXPECT_TRUE(c) << c.error().message();
    if (c) chunks.push_back(*c);
  }
  return chunks;
}

ResponseMeta meta() { return ResponseMeta{"abc", 1700000000, "fallback", json::object{}, ""}; }

TEST(ResponsesStreamGolden, ReasoningTextAndParallelToolCalls) {
  ResponsesStreamEncoder encoder(meta());
  std::string out;
  for (const auto& c : upstreamChunks()) encoder.onChunk(c, out);
  encoder.finish(out);
  expectSseGolden("responses_stream.client.sse", out);
}

TEST(ResponsesStream, EventOrderSequenceNumbersAndConsistency) {
  ResponsesStreamEncoder encoder(meta());
  std::string out;
  for (const auto& c : upstreamChunks()) encoder.onChunk(c, out);
  encoder.finish(out);
  const auto events = parseSse(out);
  ASSERT_GE(events.size(), 10u);
  std::vector<std::string> types;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].first, events[i].second.at("type").as_string()) << i;
    EXPECT_EQ(events[i].second.at("sequence_number"), static_cast<std::int64_t>(i));
    types.push_back(events[i].first);
  }
  EXPECT_EQ(types[0], "response.created");
  EXPECT_EQ(types[1], "response.in_progress");
  EXPECT_EQ(types.back(), "response.completed");
  // Every added item is done exactly once, before the response completes, and deltas of an
  // item come between its added and done events.
  std::map<std::int64_t, int> state;  // output_index -> 1 open, 2 done
  std::map<std::int64_t, std::string> args;
  std::string text;
  for (const auto& [type, data] : events) {
    if (type == "response.output_item.added") {
      EXPECT_EQ(state[data.at("output_index").as_int64()], 0);
      state[data.at("output_index").as_int64()] = 1;
    } else if (type == "response.output_item.done") {
      EXPECT_EQ(state[data.at("output_index").as_int64()], 1);
      state[data.at("output_index").as_int64()] = 2;
    } else if (type.ends_with(".delta")) {
      EXPECT_EQ(state[data.at("output_index").as_int64()], 1) << type;
      if (type == "response.function_call_arguments.delta") {
        args[data.at("output_index").as_int64()] += data.at("delta").as_string().c_str();
      } else if (type == "response.output_text.delta") {
        text += data.at("delta").as_string().c_str();
      }
    }
  }
  for (const auto& [index, s] : state) EXPECT_EQ(s, 2) << index;
  const auto& final = events.back().second.at("response");
  EXPECT_EQ(final.at("status"), "completed");
  EXPECT_EQ(final.at("model"), "gpt-4o-mini");
  const auto& output = final.at("output").as_array();
  ASSERT_EQ(output.size(), 4u);
  EXPECT_EQ(output[0].at("type"), "reasoning");
  EXPECT_EQ(output[0].at("summary").at(0).at("text"), "Thinking.");
  EXPECT_EQ(output[1].at("content").at(0).at("text"), json::value(text));
  EXPECT_EQ(text, "Hello \"x\"");
  EXPECT_EQ(output[2].at("arguments"), json::value(args[2]));
  EXPECT_EQ(output[2].at("arguments"), R"({"city":"Paris"})");
  EXPECT_EQ(output[3].at("call_id"), "call_2");
  EXPECT_EQ(final.at("usage").at("input_tokens_details").at("cached_tokens"), 4);
  EXPECT_EQ(final.at("usage").at("output_tokens_details").at("reasoning_tokens"), 2);
}

TEST(ResponsesStream, CitationsOnTheResponseObject) {
  ResponseMeta m = meta();
  m.citations_json = R"([{"index":1,"chunk_id":7}])";
  ResponsesStreamEncoder encoder(m);
  std::string out;
  for (const auto& c : upstreamChunks()) encoder.onChunk(c, out);
  encoder.finish(out);
  const auto events = parseSse(out);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().second.at("response").at("citations").at(0).at("chunk_id"), 7);
  EXPECT_EQ(events.back().second.at("response").at("citations").at(0).at("chunk_id"), 7);
  EXPECT_EQ(events.back().first, "response.completed");
}

TEST(ResponsesStream, LengthEndsIncomplete) {
  ResponsesStreamEncoder encoder(meta());
  std::string out;
  ChatChunk c;
  c.model = "m";
  c.choices.push_back(ChoiceDelta{.content = std::string("abc")});
  encoder.onChunk(c, out);
  ChatChunk end;
  end.choices.push_back(ChoiceDelta{.finish_reason = FinishReason::kLength});
  encoder.onChunk(end, out);
  encoder.finish(out);
  const auto events = parseSse(out);
  EXPECT_EQ(events.back().first, "response.incomplete");
  EXPECT_EQ(events.back().second.at("response").at("incomplete_details").at("reason"),
            "max_output_tokens");
  // The message was cut: incomplete in its output_item.done and in the final Response.
  EXPECT_EQ(events.back().second.at("response").at("output").at(0).at("status"), "incomplete");
  bool item_done = false;
  for (const auto& [name, data] : events) {
    if (name != "response.output_item.done") continue;
    item_done = true;
    EXPECT_EQ(data.at("item").at("status"), "incomplete");
  }
  EXPECT_TRUE(item_done);
}

// A chat token's logprob object, as chat completions stream them.
json::value tokenLogprob(std::string_view token, double logprob) {
  json::array bytes;
  for (unsigned char b : token) bytes.push_back(b);
  return json::object{
      {"token", token},
      {"logprob", logprob},
      {"bytes", bytes},
      {"top_logprobs",
       json::array{json::object{{"token", token}, {"logprob", logprob}, {"bytes", bytes}}}}};
}

TEST(ResponsesStream, LogprobsRideOnTheDeltasAndTheFinishedText) {
  ResponsesStreamEncoder encoder(meta());
  std::string out;
  const std::vector<std::pair<std::string, double>> tokens = {{"Hel", -0.5}, {"lo", -1.25}};
  for (const auto& [token, logprob] : tokens) {
    ChatChunk c;
    c.choices.push_back(ChoiceDelta{.content = token});
    c.choices.back().logprobs =
        json::object{{"content", json::array{tokenLogprob(token, logprob)}}};
    encoder.onChunk(c, out);
  }
  ChatChunk plain;  // a delta without logprobs adds none
  plain.choices.push_back(ChoiceDelta{.content = std::string("!")});
  encoder.onChunk(plain, out);
  encoder.finish(out);

  json::array whole;
  std::vector<json::value> per_delta;
  for (const auto& [name, data] : parseSse(out)) {
    if (name == "response.output_text.delta") per_delta.push_back(data.at("logprobs"));
    if (name == "response.output_text.done") whole = data.at("logprobs").as_array();
    if (name == "response.completed") {
      EXPECT_EQ(data.at("response").at("output").at(0).at("content").at(0).at("logprobs"), whole);
    }
  }
  ASSERT_EQ(per_delta.size(), 3u);
  EXPECT_EQ(per_delta[0], json::array{tokenLogprob("Hel", -0.5)});
  EXPECT_EQ(per_delta[1], json::array{tokenLogprob("lo", -1.25)});
  EXPECT_EQ(per_delta[2], json::array{});
  EXPECT_EQ(whole, (json::array{tokenLogprob("Hel", -0.5), tokenLogprob("lo", -1.25)}));
}

TEST(ResponsesStream, FailureMidStreamSendsErrorThenFailed) {
  ResponsesStreamEncoder encoder(meta());
  std::string out;
  ChatChunk c;
  c.choices.push_back(ChoiceDelta{.content = std::string("par")});
  encoder.onChunk(c, out);
  encoder.fail(Status(ErrorCode::kUpstream, "upstream stream broke"), out);
  std::string after;
  encoder.finish(after);
  EXPECT_TRUE(after.empty()) << "nothing may follow a failure";
  const auto events = parseSse(out);
  ASSERT_GE(events.size(), 3u);
  const auto& error = events[events.size() - 2];
  EXPECT_EQ(error.first, "error");
  EXPECT_EQ(error.second.at("message"), "upstream stream broke");
  EXPECT_TRUE(error.second.at("param").is_null());
  EXPECT_EQ(error.second.at("code"), "upstream_error");  // OpenAI's error type, as in error bodies
  EXPECT_EQ(events.back().first, "response.failed");
  EXPECT_EQ(events.back().second.at("response").at("status"), "failed");
  EXPECT_EQ(events.back().second.at("response").at("error").at("code"), "server_error");
}

TEST(ResponsesStream, EmptyStreamStillCompletes) {
  ResponsesStreamEncoder encoder(meta());
  std::string out;
  encoder.finish(out);
  const auto events = parseSse(out);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].first, "response.completed");
  EXPECT_EQ(events[2].second.at("response").at("model"), "fallback");
  EXPECT_TRUE(events[2].second.at("response").at("output").as_array().empty());
}

TEST(ResponsesStream, TextAfterAToolCallIsASecondMessageWithItsOwnId) {
  ResponsesStreamEncoder encoder(meta());
  std::string out;
  auto chunk = [](ChoiceDelta d) {
    ChatChunk c;
    c.choices.push_back(std::move(d));
    return c;
  };
  encoder.onChunk(chunk(ChoiceDelta{.content = std::string("before")}), out);
  encoder.onChunk(chunk(ChoiceDelta{.tool_calls = {ToolCallDelta{
                                        .index = 0, .id = "c1", .name = "f", .arguments = "{}"}}}),
                  out);
  encoder.onChunk(chunk(ChoiceDelta{.content = std::string("after")}), out);
  encoder.finish(out);
  const auto events = parseSse(out);
  const auto& output = events.back().second.at("response").at("output").as_array();
  ASSERT_EQ(output.size(), 3u);
  EXPECT_EQ(output[0].at("id"), "msg_abc");
  EXPECT_EQ(output[1].at("id"), "fc_abc_0");
  EXPECT_EQ(output[1].at("arguments"), "{}");
  EXPECT_EQ(output[2].at("id"), "msg_abc_1");
  EXPECT_EQ(output[2].at("content").at(0).at("text"), "after");
  // The tool call was closed (arguments done, item done) before the second message opened.
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e.first);
  auto args_done = std::find(types.begin(), types.end(), "response.function_call_arguments.done");
  auto second_text = std::find(args_done, types.end(), "response.output_text.delta");
  EXPECT_NE(args_done, types.end());
  EXPECT_NE(second_text, types.end());
}

TEST(ResponsesStream, StreamedRefusalIsARefusalPartWithItsOwnEvents) {
  ResponsesStreamEncoder encoder(meta());
  std::string out;
  for (const char* piece : {"I can't ", "help with that."}) {
    ChatChunk c;
    c.choices.push_back(ChoiceDelta{.refusal = std::string(piece)});
    encoder.onChunk(c, out);
  }
  ChatChunk last;
  last.choices.push_back(ChoiceDelta{.finish_reason = FinishReason::kStop});
  encoder.onChunk(last, out);
  encoder.finish(out);
  const auto events = parseSse(out);
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e.first);
  const std::vector<std::string> expected = {
      "response.created",         "response.in_progress",       "response.output_item.added",
      "response.content_part.added", "response.refusal.delta",  "response.refusal.delta",
      "response.refusal.done",    "response.content_part.done", "response.output_item.done",
      "response.completed"};
  EXPECT_EQ(types, expected);
  EXPECT_EQ(events[3].second.at("part"), json::parse(R"({"type":"refusal","refusal":""})"));
  EXPECT_EQ(events[5].second.at("delta"), "help with that.");
  EXPECT_EQ(events[5].second.at("item_id"), "msg_abc");
  EXPECT_EQ(events[6].second.at("refusal"), "I can't help with that.");
  EXPECT_EQ(events[7].second.at("part"),
            json::parse(R"({"type":"refusal","refusal":"I can't help with that."})"));
  const auto& output = events.back().second.at("response").at("output").as_array();
  ASSERT_EQ(output.size(), 1u);
  EXPECT_EQ(output[0].at("content"),
            json::parse(R"([{"type":"refusal","refusal":"I can't help with that."}])"));
}


}  // namespace
}  // namespace switchyard::api::openai
