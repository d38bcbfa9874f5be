#include "switchyard/telemetry/trace_content.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace switchyard::telemetry {
namespace {

namespace json = boost::json;

api::Message text(api::Role role, std::string body) {
  api::Message m;
  m.role = role;
  m.content.push_back({});
  m.content.back().text = std::move(body);
  return m;
}

TEST(TraceContentTest, ChatRequestFollowsTheGenAiMessageShape) {
  api::ChatRequest r;
  r.messages.push_back(text(api::Role::kSystem, "Be brief."));
  r.messages.push_back(text(api::Role::kUser, "Weather in \"Paris\"?"));
  api::Message call;
  call.role = api::Role::kAssistant;
  call.content_form = api::Message::ContentForm::kNull;
  call.tool_calls.push_back({"call_1", "get_weather", R"({"city":"Paris"})", nullptr});
  r.messages.push_back(call);
  api::Message result = text(api::Role::kTool, "18C");
  result.tool_call_id = "call_1";
  r.messages.push_back(result);

  const json::value v = json::parse(inputMessagesJson(r, 16 * 1024));
  const json::value expected = json::parse(R"([
    {"role":"system","parts":[{"type":"text","content":"Be brief."}]},
    {"role":"user","parts":[{"type":"text","content":"Weather in \"Paris\"?"}]},
    {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather",
                                  "arguments":{"city":"Paris"}}]},
    {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"18C"}]}])");
  EXPECT_EQ(v, expected);
}

TEST(TraceContentTest, OutputsCarryFinishReasons) {
  api::ChatResponse chat;
  chat.choices.push_back({});
  chat.choices[0].message = text(api::Role::kAssistant, "Sunny.");
  chat.choices[0].finish_reason = api::FinishReason::kLength;
  EXPECT_EQ(json::parse(outputMessagesJson(chat, 1024)),
            json::parse(R"([{"role":"assistant","finish_reason":"length",
                             "parts":[{"type":"text","content":"Sunny."}]}])"));

  api::CompletionRequest prompt;
  prompt.prompt = json::array{"one", "two"};
  EXPECT_EQ(json::parse(inputMessagesJson(prompt, 1024)),
            json::parse(R"([{"role":"user","parts":[{"type":"text","content":"one"}]},
                            {"role":"user","parts":[{"type":"text","content":"two"}]}])"));
  api::CompletionResponse completion;
  completion.choices.push_back({0, "three", api::FinishReason::kStop, nullptr});
  EXPECT_EQ(json::parse(outputMessagesJson(completion, 1024)),
            json::parse(R"([{"role":"assistant","finish_reason":"stop",
                             "parts":[{"type":"text","content":"three"}]}])"));
}

TEST(TraceContentTest, LongContentIsCutAndStaysValidJson) {
  for (std::size_t max : {40u, 64u, 100u, 257u, 1000u}) {
    api::ChatRequest r;
    // Multi-byte characters and escapes: a cut must not split either.
    r.messages.push_back(text(api::Role::kUser, std::string(300, 'a') + "\"\n"));
    r.messages.push_back(text(api::Role::kUser, "ünïcödé ✓ ünïcödé ✓ ünïcödé ✓ ünïcödé ✓"));
    r.messages.push_back(text(api::Role::kUser, "the last one"));
    api::Message call;
    call.role = api::Role::kAssistant;
    call.tool_calls.push_back({"c", "f", std::string(200, '{'), nullptr});  // not JSON
    r.messages.push_back(call);
    const std::string out = inputMessagesJson(r, max);
    EXPECT_LE(out.size(), max) << out;
    boost::system::error_code ec;
    const json::value v = json::parse(out, ec);
    ASSERT_FALSE(ec) << max << ": " << out;
    ASSERT_TRUE(v.is_array());
  }
  // Within the budget nothing is cut.
  api::ChatRequest small;
  small.messages.push_back(text(api::Role::kUser, "hi"));
  EXPECT_EQ(inputMessagesJson(small, 1000),
            R"([{"role":"user","parts":[{"type":"text","content":"hi"}]}])");
}

TEST(TraceContentTest, StreamedOutputAssemblesChoicesAndToolCalls) {
  StreamedOutput out(1024);
  api::ChatChunk a;
  a.choices.push_back({});
  a.choices[0].content = "Hel";
  out.add(a);
  api::ChatChunk b;
  b.choices.push_back({});
  b.choices[0].content = "lo";
  b.choices[0].tool_calls.push_back({0, "call_9", "lookup", R"({"q":)"});
  out.add(b);
  api::ChatChunk c;
  c.choices.push_back({});
  c.choices[0].tool_calls.push_back({0, "", "", R"("x"})"});
  c.choices[0].finish_reason = api::FinishReason::kToolCalls;
  out.add(c);
  EXPECT_EQ(json::parse(out.json()),
            json::parse(R"([{"role":"assistant","finish_reason":"tool_calls","parts":[
                {"type":"text","content":"Hello"},
                {"type":"tool_call","id":"call_9","name":"lookup","arguments":{"q":"x"}}]}])"));

  // Text beyond the cap is not kept.
  StreamedOutput capped(8);
  api::CompletionResponse piece;
  piece.choices.push_back({0, "0123456789", api::FinishReason::kNone, nullptr});
  capped.add(piece);
  capped.add(piece);
  EXPECT_LE(capped.json().size(), 8u);
}

}  // namespace
}  // namespace switchyard::telemetry
