#include "switchyard/api/openai/responses_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "switchyard/api/anthropic/golden_test_util.h"
#include "switchyard/api/errors.h"
#include "switchyard/api/openai/codec.h"

namespace switchyard::api::openai {
namespace {

namespace json = boost::json;
using anthropic::testing::expectJsonGolden;
using anthropic::testing::readTestdata;

ResponseMeta meta(json::object echo = {}) {
  return ResponseMeta{"abc", 1700000000, "gpt-4o-mini", std::move(echo), ""};
}

Status decodeError(std::string_view body) {
  auto r = decodeResponsesRequest(body);
  EXPECT_FALSE(r) << body;
  return r ? Status::ok() : r.error();
}

TEST(ResponsesGolden, FullRequestToChatCompletionsUpstream) {
  auto r = decodeResponsesRequest(readTestdata("responses_full.request.json"));
  ASSERT_TRUE(r) << r.error().message();
  r->chat.model = "gpt-4o-mini";
  expectJsonGolden("responses_full.upstream.json", encodeChatRequest(r->chat));
}

TEST(ResponsesGolden, FullRequestEchoesItsParameters) {
  auto r = decodeResponsesRequest(readTestdata("responses_full.request.json"));
  ASSERT_TRUE(r) << r.error().message();
  expectJsonGolden("responses_full.echo.json", json::serialize(r->echo));
}

TEST(ResponsesGolden, ChatResponseToResponseObject) {
  auto upstream = decodeChatResponse(readTestdata("responses_response.upstream.json"));
  ASSERT_TRUE(upstream) << upstream.error().message();
  auto req = decodeResponsesRequest(R"({"model":"m","input":"hi","metadata":{"k":"v"}})");
  ASSERT_TRUE(req);
  expectJsonGolden("responses_response.client.json",
                   encodeResponse(*upstream, meta(std::move(req->echo))));
}

TEST(ResponsesCodec, StringInputIsOneUserMessage) {
  auto r = decodeResponsesRequest(R"({"model":"m","input":"Say hi","instructions":"Be brief"})");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->chat.messages.size(), 2u);
  EXPECT_EQ(r->chat.messages[0].role, Role::kSystem);
  EXPECT_EQ(r->chat.messages[0].text(), "Be brief");
  EXPECT_EQ(r->chat.messages[1].role, Role::kUser);
  EXPECT_EQ(r->chat.messages[1].text(), "Say hi");
  EXPECT_FALSE(r->chat.stream);
  EXPECT_EQ(r->echo.at("instructions"), "Be brief");
  EXPECT_EQ(r->echo.at("tool_choice"), "auto");
  EXPECT_EQ(r->echo.at("parallel_tool_calls"), true);
  EXPECT_TRUE(r->echo.at("temperature").is_null());
}

TEST(ResponsesCodec, ToolRoundTripGroupsCallsIntoOneAssistantTurn) {
  auto r = decodeResponsesRequest(R"({"model":"m","input":[
    {"role":"user","content":"q"},
    {"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},
    {"type":"function_call","call_id":"c2","name":"g","arguments":"{}"},
    {"type":"function_call_output","call_id":"c1","output":"one"},
    {"type":"function_call_output","call_id":"c2","output":"two"}]})");
  ASSERT_TRUE(r) << r.error().message();
  const auto& m = r->chat.messages;
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[1].role, Role::kAssistant);
  EXPECT_EQ(m[1].content_form, Message::ContentForm::kNull);
  ASSERT_EQ(m[1].tool_calls.size(), 2u);
  EXPECT_EQ(m[1].tool_calls[0].id, "c1");
  EXPECT_EQ(m[1].tool_calls[0].arguments, R"({"a":1})");
  EXPECT_EQ(m[1].tool_calls[1].name, "g");
  EXPECT_EQ(m[2].role, Role::kTool);
  EXPECT_EQ(m[2].tool_call_id, "c1");
  EXPECT_EQ(m[2].text(), "one");
  EXPECT_EQ(m[3].tool_call_id, "c2");
}

TEST(ResponsesCodec, TextFormatsMapToResponseFormat) {
  auto j = decodeResponsesRequest(
      R"({"model":"m","input":"x","text":{"format":{"type":"json_object"}}})");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->chat.response_format.kind, ResponseFormat::Kind::kJsonObject);
  auto s = decodeResponsesRequest(R"({"model":"m","input":"x","text":{"format":
      {"type":"json_schema","name":"n","schema":{"type":"object"},"strict":true}}})");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->chat.response_format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(s->chat.response_format.schema_name, "n");
  EXPECT_EQ(s->chat.response_format.strict, true);
  EXPECT_NE(encodeChatRequest(s->chat).find(R"("json_schema":{"name":"n")"), std::string::npos)
      << encodeChatRequest(s->chat);
  Status missing = decodeError(
      R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","schema":{}}}})");
  EXPECT_EQ(missing.param(), "text.format.name");
}

TEST(ResponsesCodec, StatefulAndBuiltInFeaturesAreRejectedByName) {
  struct Case {
    const char* body;
    const char* param;
    const char* words;
  };
  const Case cases[] = {
      {R"({"model":"m","input":"x","previous_response_id":"resp_1"})", "previous_response_id",
       "previous_response_id"},
      {R"({"model":"m","input":"x","store":true})", "store", "store: true"},
      {R"({"model":"m","input":"x","background":true})", "background", "background"},
      {R"({"model":"m","input":"x","conversation":"conv_1"})", "conversation", "conversation"},
      {R"({"model":"m","input":"x","tools":[{"type":"web_search"}]})", "tools[0].type",
       "built-in tool 'web_search'"},
      {R"({"model":"m","input":"x","tools":[{"type":"file_search","vector_store_ids":["v"]}]})",
       "tools[0].type", "built-in tool 'file_search'"},
      {R"({"model":"m","input":"x","tools":[{"type":"computer_use_preview"}]})", "tools[0].type",
       "computer_use_preview"},
      {R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})", "input[0].type",
       "item_reference"},
      {R"({"model":"m","input":[{"type":"web_search_call","id":"ws"}]})", "input[0].type",
       "web_search_call"},
      {R"({"model":"m","input":"x","include":["reasoning.encrypted_content"]})", "include",
       "reasoning.encrypted_content"},
      {R"({"model":"m","input":"x","include":["message.output_text.logprobs",)"
       R"("file_search_call.results"]})",
       "include", "file_search_call.results"},
      {R"({"model":"m","input":"x","bogus_field":1})", "bogus_field", "bogus_field"},
  };
  for (const auto& c : cases) {
    Status s = decodeError(c.body);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << c.body;
    EXPECT_EQ(httpStatusFor(s), 400u) << c.body;
    EXPECT_EQ(s.param(), c.param) << c.body;
    EXPECT_NE(s.message().find(c.words), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("not supported"), std::string::npos) << s.message();
  }
  // store: false and background: false are the stateless defaults.
  EXPECT_TRUE(
      decodeResponsesRequest(R"({"model":"m","input":"x","store":false,"background":false})"));
}

TEST(ResponsesCodec, StoredResponsesWhenOffered) {
  const ResponsesOptions on{.stored = true, .store_by_default = true};
  auto parse = [](std::string_view body) { return parseResponsesBody(body)->get_object(); };

  // Stateless (the default): the stateful fields say that stored responses are off.
  Status off = decodeError(R"({"model":"m","input":"x","previous_response_id":"resp_1"})");
  EXPECT_NE(off.message().find("stored responses are off"), std::string::npos) << off.message();

  // Offered: store follows the request, else the default; the echo says both.
  auto plain = decodeResponsesRequest(parse(R"({"model":"m","input":"x"})"), on, nullptr);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_TRUE(plain->store);
  EXPECT_EQ(plain->echo.at("store"), true);
  EXPECT_TRUE(plain->echo.at("previous_response_id").is_null());
  auto no =
      decodeResponsesRequest(parse(R"({"model":"m","input":"x","store":false})"), on, nullptr);
  ASSERT_TRUE(no);
  EXPECT_FALSE(no->store);
  auto asked = decodeResponsesRequest(parse(R"({"model":"m","input":"x","store":true})"),
                                      {.stored = true, .store_by_default = false}, nullptr);
  ASSERT_TRUE(asked);
  EXPECT_TRUE(asked->store);

  // The conversation so far goes after the instructions and before the new input; function
  // calls in it join their assistant turn as replayed output does.
  const boost::json::array history = boost::json::parse(R"([
    {"id":"msg_1","type":"message","role":"user","content":[{"type":"input_text","text":"q1"}]},
    {"id":"msg_2","type":"message","role":"assistant","status":"completed",
     "content":[{"type":"output_text","text":"a1","annotations":[]}]},
    {"id":"fc_2","type":"function_call","status":"completed","call_id":"c1","name":"f",
     "arguments":"{}"}])")
                                         .as_array();
  auto next = decodeResponsesRequest(
      parse(R"({"model":"m","instructions":"be brief","previous_response_id":"resp_2",)"
            R"("input":[{"type":"function_call_output","call_id":"c1","output":"42"}]})"),
      on, &history);
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(next->previous_response_id, "resp_2");
  EXPECT_EQ(next->echo.at("previous_response_id"), "resp_2");
  const auto& m = next->chat.messages;
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].role, Role::kSystem);
  EXPECT_EQ(m[1].role, Role::kUser);
  EXPECT_EQ(m[1].content.at(0).text, "q1");
  EXPECT_EQ(m[2].role, Role::kAssistant);
  EXPECT_EQ(m[2].content.at(0).text, "a1");
  ASSERT_EQ(m[2].tool_calls.size(), 1u);
  EXPECT_EQ(m[2].tool_calls[0].id, "c1");
  EXPECT_EQ(m[3].role, Role::kTool);

  EXPECT_EQ(decodeResponsesRequest(parse(R"({"model":"m","input":"x","previous_response_id":7})"),
                                   on, nullptr)
                .error()
                .param(),
            "previous_response_id");
  EXPECT_EQ(decodeResponsesRequest(parse(R"({"model":"m","input":"x","previous_response_id":""})"),
                                   on, nullptr)
                .error()
                .param(),
            "previous_response_id");
}

TEST(ResponsesCodec, StoredInputItemsHaveIdsAndTheItemShape) {
  auto one = storedInputItems(boost::json::value("hi"), "r1");
  EXPECT_EQ(boost::json::serialize(one),
            R"([{"role":"user","content":[{"type":"input_text","text":"hi"}],"type":"message",)"
            R"("id":"msg_r1_input0","status":"completed"}])");
  auto items = storedInputItems(boost::json::parse(R"([
      {"role":"assistant","content":"a"},
      {"type":"message","id":"msg_mine","role":"user","content":[{"type":"input_text","text":"b"}]},
      {"type":"function_call","call_id":"c","name":"f","arguments":"{}"},
      {"type":"function_call_output","call_id":"c","output":"1"},
      {"type":"reasoning","summary":[]}])"),
                                "r2");
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0].at("content").at(0).at("type"), "output_text");
  EXPECT_EQ(items[0].at("id"), "msg_r2_input0");
  EXPECT_EQ(items[1].at("id"), "msg_mine");
  EXPECT_EQ(items[2].at("id"), "fc_r2_input2");
  EXPECT_EQ(items[2].at("status"), "completed");
  EXPECT_EQ(items[3].at("id"), "fco_r2_input3");
  EXPECT_EQ(items[4].at("id"), "rs_r2_input4");
  EXPECT_FALSE(items[4].as_object().contains("status"));
}

TEST(ResponsesCodec, OutputTextLogprobsAreAskedForAndReturned) {
  auto r = decodeResponsesRequest(
      R"({"model":"m","input":"x","include":["message.output_text.logprobs"],"top_logprobs":2})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->chat.logprobs, true);
  EXPECT_EQ(r->chat.top_logprobs, 2);
  EXPECT_EQ(r->echo.at("top_logprobs"), 2);
  // top_logprobs alone returns none (as OpenAI), and chat completions want it only with logprobs.
  auto alone = decodeResponsesRequest(R"({"model":"m","input":"x","top_logprobs":2})");
  ASSERT_TRUE(alone);
  EXPECT_FALSE(alone->chat.logprobs);
  EXPECT_FALSE(alone->chat.top_logprobs);
  EXPECT_EQ(decodeError(R"({"model":"m","input":"x","top_logprobs":21})").param(), "top_logprobs");
  EXPECT_EQ(decodeError(R"({"model":"m","input":"x","top_logprobs":"2"})").param(), "top_logprobs");

  ChatResponse response;
  Choice c;
  c.message.role = Role::kAssistant;
  c.message.content.push_back(ContentPart{.text = "Hi"});
  c.finish_reason = FinishReason::kStop;
  const json::value entry =
      json::parse(R"({"token":"Hi","logprob":-0.25,"bytes":[72,105],"top_logprobs":[{"token":"Hi",)"
                  R"("logprob":-0.25,"bytes":[72,105]}]})");
  c.logprobs = json::object{{"content", json::array{entry}}, {"refusal", nullptr}};
  response.choices.push_back(c);
  json::value v = json::parse(encodeResponse(response, meta()));
  EXPECT_EQ(v.at("output").at(0).at("content").at(0).at("logprobs"), json::array{entry});
  response.choices[0].logprobs = nullptr;  // none asked for: an empty list, as before
  v = json::parse(encodeResponse(response, meta()));
  EXPECT_EQ(v.at("output").at(0).at("content").at(0).at("logprobs"), json::array{});
}

TEST(ResponsesCodec, InvalidInputNamesTheField) {
  EXPECT_EQ(decodeError(R"({"input":"x"})").param(), "model");
  EXPECT_EQ(decodeError(R"({"model":"m"})").param(), "input");
  EXPECT_EQ(decodeError(R"({"model":"m","input":5})").param(), "input");
  EXPECT_EQ(decodeError(R"({"model":"m","input":[{"role":"robot","content":"x"}]})").param(),
            "input[0].role");
  EXPECT_EQ(
      decodeError(R"({"model":"m","input":[{"role":"user","content":[{"type":"nope"}]}]})").param(),
      "input[0].content[0].type");
  EXPECT_EQ(decodeError(R"({"model":"m","input":"x","temperature":3})").param(), "temperature");
  EXPECT_EQ(decodeError(R"({"model":"m","input":"x","max_output_tokens":0})").param(),
            "max_output_tokens");
  EXPECT_EQ(
      decodeError(R"({"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]})")
          .param(),
      "input[0].call_id");
  EXPECT_EQ(decodeError("not json").code(), ErrorCode::kInvalidArgument);
}

TEST(ResponsesCodec, LengthFinishIsIncomplete) {
  ChatResponse r;
  r.model = "m";
  Choice c;
  c.message.role = Role::kAssistant;
  c.message.content.push_back(ContentPart{.text = "partial"});
  c.finish_reason = FinishReason::kLength;
  r.choices.push_back(c);
  r.usage = Usage{.prompt_tokens = 3, .completion_tokens = 5, .total_tokens = 8};
  json::value v = json::parse(encodeResponse(r, meta()));
  EXPECT_EQ(v.at("status"), "incomplete");
  EXPECT_EQ(v.at("incomplete_details").at("reason"), "max_output_tokens");
  EXPECT_FALSE(v.as_object().contains("completed_at"));
  EXPECT_EQ(v.at("output").at(0).at("content").at(0).at("text"), "partial");
  EXPECT_EQ(v.at("output").at(0).at("status"), "incomplete");  // the item that was cut
  EXPECT_EQ(v.at("usage").at("total_tokens"), 8);

  // Reasoning, then a message cut short: only the message is incomplete.
  r.choices[0].message.reasoning_content = "thought";
  v = json::parse(encodeResponse(r, meta()));
  ASSERT_EQ(v.at("output").as_array().size(), 2u);
  EXPECT_EQ(v.at("output").at(0).at("type"), "reasoning");
  EXPECT_EQ(v.at("output").at(0).at("status"), "completed");
  EXPECT_EQ(v.at("output").at(1).at("status"), "incomplete");
  r.choices[0].finish_reason = FinishReason::kStop;
  v = json::parse(encodeResponse(r, meta()));
  EXPECT_EQ(v.at("output").at(1).at("status"), "completed");
  EXPECT_EQ(v.at("id"), "resp_abc");
}

TEST(ResponsesCodec, RefusalBecomesARefusalPart) {
  ChatResponse r;
  Choice c;
  c.message.role = Role::kAssistant;
  c.message.content_form = Message::ContentForm::kNull;
  c.message.refusal = "I can't help with that.";
  c.finish_reason = FinishReason::kStop;
  r.choices.push_back(c);
  json::value v = json::parse(encodeResponse(r, meta()));
  EXPECT_EQ(v.at("status"), "completed");
  EXPECT_EQ(v.at("model"), "gpt-4o-mini");  // the meta's model when the upstream names none
  const auto& part = v.at("output").at(0).at("content").at(0);
  EXPECT_EQ(part.at("type"), "refusal");
  EXPECT_EQ(part.at("refusal"), "I can't help with that.");
}

}  // namespace
}  // namespace switchyard::api::openai
