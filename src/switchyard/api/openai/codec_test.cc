#include "switchyard/api/openai/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/errors.h"
#include "switchyard/api/openai/request_reader.h"
#include "switchyard/api/openai/responses_codec.h"

namespace switchyard::api::openai {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string readTestdata(const std::string& name) {
  std::ifstream in(std::string(SY_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing testdata file " << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> readLines(const std::string& name) {
  std::istringstream in(readTestdata(name));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

json::value parseOrDie(std::string_view text) {
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 1000;
  json::value v = json::parse(text, ec, {}, options);
  EXPECT_FALSE(ec) << "not JSON: " << ec.message() << "\n" << text;
  return v;
}

// Semantic JSON equality: key order and whitespace do not matter.
::testing::AssertionResult sameJson(std::string_view actual, std::string_view expected) {
  const json::value a = parseOrDie(actual);
  const json::value e = parseOrDie(expected);
  if (a == e) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\n  actual:   " << json::serialize(a) << "\n  expected: " << json::serialize(e);
}

// Every name in `keys` is a member of `object`.
::testing::AssertionResult hasKeys(const json::value& object,
                                   std::initializer_list<std::string_view> keys) {
  const json::object* o = object.if_object();
  if (o == nullptr) return ::testing::AssertionFailure() << "not an object";
  for (auto key : keys) {
    if (!o->contains(key)) {
      return ::testing::AssertionFailure() << "missing '" << key << "' in " << json::serialize(*o);
    }
  }
  return ::testing::AssertionSuccess();
}

ChatRequest decodeChatOk(std::string_view body) {
  auto r = decodeChatRequest(body);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().toString() + " param=" + r.error().param());
  return r ? *r : ChatRequest{};
}

// ---- golden files: client request -> upstream request ---------------------------------------

TEST(ChatRequestGolden, BasicRequestBecomesUpstreamJson) {
  const ChatRequest req = decodeChatOk(readTestdata("chat_basic.request.json"));
  EXPECT_TRUE(sameJson(encodeChatRequest(req), readTestdata("chat_basic.upstream.json")));
}

TEST(ChatRequestGolden, ToolConversationBecomesUpstreamJson) {
  const ChatRequest req = decodeChatOk(readTestdata("chat_tools.request.json"));
  EXPECT_TRUE(sameJson(encodeChatRequest(req), readTestdata("chat_tools.upstream.json")));
}

TEST(ChatRequestGolden, DecodedFieldsAreTyped) {
  const ChatRequest req = decodeChatOk(readTestdata("chat_tools.request.json"));
  EXPECT_EQ(req.model, "local/qwen");
  ASSERT_EQ(req.messages.size(), 6u);
  EXPECT_EQ(req.messages[0].role, Role::kDeveloper);
  const Message& call = req.messages[2];
  EXPECT_EQ(call.role, Role::kAssistant);
  EXPECT_EQ(call.content_form, Message::ContentForm::kNull);
  ASSERT_EQ(call.tool_calls.size(), 2u);
  EXPECT_EQ(call.tool_calls[1].id, "call_2");
  EXPECT_EQ(call.tool_calls[1].arguments, "{\"city\":\"Oslo\" }");  // exact text, spaces kept
  EXPECT_EQ(req.messages[3].tool_call_id, "call_1");
  EXPECT_EQ(req.messages[4].content_form, Message::ContentForm::kParts);
  EXPECT_EQ(req.messages[5].reasoning_content, "Both calls returned.");
  EXPECT_TRUE(req.messages[5].extra.contains("x_note"));
  ASSERT_EQ(req.tools.size(), 2u);
  EXPECT_EQ(req.tools[0].strict, true);
  EXPECT_TRUE(req.tools[1].parameters.is_null());
  EXPECT_EQ(req.tool_choice.mode, ToolChoice::Mode::kFunction);
  EXPECT_EQ(req.tool_choice.function_name, "get_weather");
  EXPECT_EQ(req.parallel_tool_calls, false);
  EXPECT_EQ(req.response_format.kind, ResponseFormat::Kind::kJsonSchema);
  EXPECT_EQ(req.response_format.schema_name, "answer");
  EXPECT_EQ(req.response_format.strict, true);
  EXPECT_EQ(req.max_tokens, 256);
  EXPECT_TRUE(req.max_tokens_is_completion);
  EXPECT_EQ(req.top_logprobs, 3);
  EXPECT_EQ(req.top_k, 40);
  EXPECT_DOUBLE_EQ(*req.min_p, 0.05);
  EXPECT_DOUBLE_EQ(*req.repetition_penalty, 1.1);
  EXPECT_TRUE(req.stream);
  EXPECT_TRUE(req.include_usage);
  EXPECT_EQ(req.reasoning_effort, "low");
  EXPECT_TRUE(req.extra.contains("functions"));
  EXPECT_TRUE(req.extra.contains("function_call"));
  EXPECT_TRUE(req.extra.contains("x_vendor"));
  EXPECT_FALSE(req.extra.contains("top_k"));
}

TEST(ChatRequestGolden, BasicRequestParts) {
  const ChatRequest req = decodeChatOk(readTestdata("chat_basic.request.json"));
  ASSERT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(req.messages[0].content_form, Message::ContentForm::kString);
  const auto& parts = req.messages[1].content;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].kind, ContentPart::Kind::kText);
  EXPECT_EQ(parts[1].kind, ContentPart::Kind::kImage);
  EXPECT_EQ(parts[1].image_url, "https://example.com/cat.png");
  EXPECT_EQ(parts[1].image_detail, "low");
  EXPECT_EQ(parts[2].kind, ContentPart::Kind::kOther);
  EXPECT_EQ(parts[2].raw.at("type"), "input_audio");
  EXPECT_EQ(req.messages[1].name, "ann");
  EXPECT_EQ(req.stop, std::vector<std::string>{"\n\n"});
  EXPECT_FALSE(req.presence_penalty.has_value());  // null means unset
  EXPECT_FALSE(req.max_tokens_is_completion);
  EXPECT_FALSE(req.stream);
}

TEST(ChatRequestEncode, ModelAndMessagesComeFirst) {
  const ChatRequest req =
      decodeChatOk(R"({"temperature":1,"messages":[{"role":"user","content":"hi"}],"model":"m"})");
  EXPECT_EQ(encodeChatRequest(req),
            R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1.0})");
}

// ---- round trips ----------------------------------------------------------------------------

TEST(ChatRequestRoundTrip, GoldenRequestsSurviveEncodeDecode) {
  for (const char* name : {"chat_basic.request.json", "chat_tools.request.json"}) {
    const ChatRequest first = decodeChatOk(readTestdata(name));
    const ChatRequest second = decodeChatOk(encodeChatRequest(first));
    EXPECT_TRUE(first == second) << name << "\n"
                                 << encodeChatRequest(first) << "\n"
                                 << encodeChatRequest(second);
  }
}

ChatRequest fullChatRequest() {
  ChatRequest r;
  r.model = "m";
  Message sys;
  sys.role = Role::kSystem;
  sys.content.push_back({.text = "be \"nice\"\n\ttabs \\ and \x01 control"});
  Message user;
  user.role = Role::kUser;
  user.content_form = Message::ContentForm::kParts;
  user.content.push_back({.text = "look:"});
  user.content.push_back({.kind = ContentPart::Kind::kImage,
                          .image_url = "data:image/png;base64,iVBORw0KGgo=",
                          .image_detail = "high"});
  user.content.push_back({.kind = ContentPart::Kind::kOther,
                          .raw = json::parse(R"({"type":"file","file":{"file_id":"f1"}})")});
  Message asst;
  asst.role = Role::kAssistant;
  asst.content_form = Message::ContentForm::kNull;
  asst.tool_calls.push_back({"call_9", "f", R"({"a": [1, 2]})"});
  asst.reasoning_content = "thinking";
  Message tool;
  tool.role = Role::kTool;
  tool.tool_call_id = "call_9";
  tool.content.push_back({.text = "ok"});
  Message refused;
  refused.role = Role::kAssistant;
  refused.content_form = Message::ContentForm::kNull;
  refused.refusal = "no";
  refused.extra["audio"] = json::parse(R"({"id":"a1"})");
  r.messages = {sys, user, asst, tool, refused};
  r.tools.push_back({"f", "does f", json::parse(R"({"type":"object","properties":{}})"), false});
  r.tool_choice.mode = ToolChoice::Mode::kRequired;
  r.parallel_tool_calls = true;
  r.response_format.kind = ResponseFormat::Kind::kJsonObject;
  r.temperature = 0.7;
  r.top_p = 0.9;
  r.frequency_penalty = 0.1;
  r.presence_penalty = -0.1;
  r.max_tokens = 100;
  r.seed = -42;
  r.n = 2;
  r.stop = {"a", "b"};
  r.logit_bias["123"] = 5;
  r.logprobs = true;
  r.top_logprobs = 0;
  r.reasoning_effort = "high";
  r.user = "u";
  r.metadata["k"] = "v";
  r.top_k = 20;
  r.min_p = 0.1;
  r.repetition_penalty = 1.05;
  r.stream = true;
  r.include_usage = true;
  r.extra["service_tier"] = "flex";
  r.extra["x_float"] = 1.0;  // a double that happens to be integral stays a double
  r.extra["x_big"] = json::value(std::uint64_t{18446744073709551615ull});
  return r;
}

TEST(ChatRequestRoundTrip, EveryFieldSurvives) {
  const ChatRequest original = fullChatRequest();
  const std::string wire = encodeChatRequest(original);
  auto decoded = decodeChatRequest(wire);
  ASSERT_TRUE(decoded) << decoded.error().toString() << "\n" << wire;
  EXPECT_TRUE(*decoded == original) << wire << "\n" << encodeChatRequest(*decoded);
  EXPECT_EQ(encodeChatRequest(*decoded), wire);
}

TEST(ChatRequestRoundTrip, ContentFormsAreKept) {
  const ChatRequest req = decodeChatOk(
      R"({"model":"m","messages":[{"role":"user","content":"s"},)"
      R"({"role":"user","content":[{"type":"text","text":"p"}]},)"
      R"({"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]})");
  const json::value wire = parseOrDie(encodeChatRequest(req));
  const json::array& messages = wire.at("messages").as_array();
  EXPECT_TRUE(messages[0].at("content").is_string());
  EXPECT_TRUE(messages[1].at("content").is_array());
  EXPECT_TRUE(messages[2].at("content").is_null());
}

TEST(ChatRequestRoundTrip, MaxCompletionTokensKeyIsRemembered) {
  const ChatRequest a = decodeChatOk(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":9})");
  EXPECT_THAT(encodeChatRequest(a), HasSubstr(R"("max_completion_tokens":9)"));
  EXPECT_THAT(encodeChatRequest(a), ::testing::Not(HasSubstr(R"("max_tokens")")));
  const ChatRequest b =
      decodeChatOk(R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":9})");
  EXPECT_THAT(encodeChatRequest(b), HasSubstr(R"("max_tokens":9)"));
  EXPECT_THAT(encodeChatRequest(b), ::testing::Not(HasSubstr("max_completion_tokens")));
}

TEST(ChatRequestEncode, StreamOptionsOnlyWhenStreamingWithUsage) {
  ChatRequest req = decodeChatOk(R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
  req.include_usage = true;
  EXPECT_THAT(encodeChatRequest(req), ::testing::Not(HasSubstr("stream_options")));
  req.stream = true;
  EXPECT_THAT(encodeChatRequest(req),
              HasSubstr(R"("stream":true,"stream_options":{"include_usage":true})"));
  req.include_usage = false;
  EXPECT_THAT(encodeChatRequest(req), ::testing::Not(HasSubstr("stream_options")));
}

TEST(ChatRequestDecode, StreamOptionsWithoutStreamAreIgnored) {
  const ChatRequest req = decodeChatOk(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}})");
  EXPECT_FALSE(req.include_usage);
  EXPECT_FALSE(req.extra.contains("stream_options"));
}

TEST(ChatRequestDecode, UnknownFieldsArePreservedAndReEmitted) {
  const std::string body =
      R"({"model":"m","messages":[{"role":"user","content":"x","cache_hint":{"ttl":3}}],)"
      R"("web_search_options":{"search_context_size":"low"},"prediction":null,)"
      R"("x":{"a":[1,-2,3.25,"s",true,null,{"b":{}}],"e":"\u00e9\n"}})";
  const ChatRequest req = decodeChatOk(body);
  EXPECT_EQ(req.extra.size(), 3u);
  EXPECT_TRUE(req.extra.at("prediction").is_null());
  EXPECT_EQ(req.messages[0].extra.at("cache_hint").at("ttl"), 3);
  const json::value wire = parseOrDie(encodeChatRequest(req));
  const json::value in = parseOrDie(body);
  EXPECT_EQ(wire.at("web_search_options"), in.at("web_search_options"));
  EXPECT_EQ(wire.at("x"), in.at("x"));
  EXPECT_TRUE(wire.at("prediction").is_null());
  EXPECT_EQ(wire.at("messages").at(0).at("cache_hint"), in.at("messages").at(0).at("cache_hint"));
}

TEST(ChatRequestDecode, BothMaxTokensKeysKeepBoth) {
  const ChatRequest req = decodeChatOk(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":7})");
  EXPECT_EQ(req.max_tokens, 7);
  EXPECT_TRUE(req.max_tokens_is_completion);
  const json::value wire = parseOrDie(encodeChatRequest(req));
  EXPECT_EQ(wire.at("max_completion_tokens"), 7);
  EXPECT_EQ(wire.at("max_tokens"), 5);
}

TEST(ChatRequestDecode, LenientShapesClientsSend) {
  const ChatRequest req = decodeChatOk(
      R"({"model":"m","messages":[)"
      R"({"role":"user","content":[{"type":"image_url","image_url":"https://x/y.png"}]},)"
      R"({"role":"assistant","content":"","tool_calls":[{"id":"c","function":{"name":"f","arguments":{"a":1}}}]}],)"
      R"("temperature":1,"n":2.0,"tools":[],"tool_choice":null})");
  EXPECT_EQ(req.messages[0].content[0].image_url, "https://x/y.png");
  EXPECT_EQ(req.messages[1].tool_calls[0].arguments, R"({"a":1})");
  EXPECT_EQ(req.temperature, 1.0);
  EXPECT_EQ(req.n, 2);
  EXPECT_EQ(req.tool_choice.mode, ToolChoice::Mode::kUnset);
}

// ---- validation -----------------------------------------------------------------------------

struct BadRequest {
  std::string body;
  std::string message;
  std::string param;
};

std::string withMessages(std::string_view messages) {
  return R"({"model":"m","messages":)" + std::string(messages) + "}";
}
std::string withField(std::string_view field_json) {
  return R"({"model":"m","messages":[{"role":"user","content":"hi"}],)" + std::string(field_json) +
         "}";
}

class ChatValidation : public ::testing::TestWithParam<BadRequest> {};

TEST_P(ChatValidation, RejectsWithMessageAndParam) {
  const BadRequest& c = GetParam();
  auto r = decodeChatRequest(c.body);
  ASSERT_FALSE(r.has_value()) << c.body;
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), c.message) << c.body;
  EXPECT_EQ(r.error().param(), c.param) << c.body;
  EXPECT_EQ(httpStatusFor(r.error()), 400u);
}

const std::string kExpectedToolChoice =
    "(expected 'none', 'auto', 'required' or "
    "{\"type\":\"function\",\"function\":{\"name\":...}})";

INSTANTIATE_TEST_SUITE_P(
    Cases, ChatValidation,
    ::testing::Values(
        BadRequest{"[]", "request body must be a JSON object, got array", ""},
        BadRequest{"\"hi\"", "request body must be a JSON object, got string", ""},
        BadRequest{R"({"messages":[{"role":"user","content":"hi"}]})",
                   "you must provide a model parameter", "model"},
        BadRequest{R"({"model":5,"messages":[{"role":"user","content":"hi"}]})",
                   "you must provide a model parameter", "model"},
        BadRequest{R"({"model":"","messages":[{"role":"user","content":"hi"}]})",
                   "you must provide a model parameter", "model"},
        BadRequest{R"({"model":"m"})", "missing required parameter: 'messages'", "messages"},
        BadRequest{withMessages("null"), "missing required parameter: 'messages'", "messages"},
        BadRequest{withMessages("{}"), "invalid type for 'messages': expected an array, got object",
                   "messages"},
        BadRequest{withMessages("[]"),
                   "invalid value for 'messages': expected at least one message", "messages"},
        BadRequest{withMessages(R"(["hi"])"),
                   "invalid type for 'messages[0]': expected an object, got string", "messages[0]"},
        BadRequest{withMessages(R"([{"content":"x"}])"),
                   "missing required parameter: 'messages[0].role'", "messages[0].role"},
        BadRequest{
            withMessages(R"([{"role":"user","content":"a"},{"role":"function","content":"x"}])"),
            "invalid value for 'messages[1].role': 'function' (expected system, developer, "
            "user, assistant or tool)",
            "messages[1].role"},
        BadRequest{withMessages(R"([{"role":3,"content":"x"}])"),
                   "invalid type for 'messages[0].role': expected a string, got integer",
                   "messages[0].role"},
        BadRequest{withMessages(R"([{"role":"user"}])"),
                   "missing required parameter: 'messages[0].content'", "messages[0].content"},
        BadRequest{withMessages(R"([{"role":"user","content":null}])"),
                   "invalid value for 'messages[0].content': content may be null only on an "
                   "assistant message with tool_calls or a refusal",
                   "messages[0].content"},
        BadRequest{
            withMessages(R"([{"role":"user","content":"a"},{"role":"assistant","content":null}])"),
            "invalid value for 'messages[1].content': content may be null only on an "
            "assistant message with tool_calls or a refusal",
            "messages[1].content"},
        BadRequest{withMessages(R"([{"role":"user","content":42}])"),
                   "invalid type for 'messages[0].content': expected a string or an array of "
                   "content parts, got integer",
                   "messages[0].content"},
        BadRequest{withMessages(R"([{"role":"user","content":[]}])"),
                   "invalid value for 'messages[0].content': expected at least one content part",
                   "messages[0].content"},
        BadRequest{withMessages(R"([{"role":"user","content":["x"]}])"),
                   "invalid type for 'messages[0].content[0]': expected an object, got string",
                   "messages[0].content[0]"},
        BadRequest{withMessages(R"([{"role":"user","content":[{"text":"x"}]}])"),
                   "missing required parameter: 'messages[0].content[0].type'",
                   "messages[0].content[0].type"},
        BadRequest{withMessages(R"([{"role":"user","content":[{"type":"text"}]}])"),
                   "missing required parameter: 'messages[0].content[0].text'",
                   "messages[0].content[0].text"},
        BadRequest{withMessages(R"([{"role":"user","content":[{"type":"text","text":1}]}])"),
                   "invalid type for 'messages[0].content[0].text': expected a string, got integer",
                   "messages[0].content[0].text"},
        BadRequest{
            withMessages(
                R"([{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"detail":"low"}}]}])"),
            "missing required parameter: 'messages[0].content[1].image_url.url'",
            "messages[0].content[1].image_url.url"},
        BadRequest{
            withMessages(
                R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"u","detail":1}}]}])"),
            "invalid type for 'messages[0].content[0].image_url.detail': expected a string, "
            "got integer",
            "messages[0].content[0].image_url.detail"},
        BadRequest{withMessages(R"([{"role":"user","content":"a"},{"role":"tool","content":"r"}])"),
                   "missing required parameter: 'messages[1].tool_call_id'",
                   "messages[1].tool_call_id"},
        BadRequest{withMessages(R"([{"role":"user","content":"a","name":5}])"),
                   "invalid type for 'messages[0].name': expected a string, got integer",
                   "messages[0].name"},
        BadRequest{withMessages(R"([{"role":"assistant","content":null,"refusal":5}])"),
                   "invalid type for 'messages[0].refusal': expected a string, got integer",
                   "messages[0].refusal"},
        BadRequest{
            withMessages(
                R"([{"role":"user","content":"a","tool_calls":[{"id":"c","function":{"name":"f"}}]}])"),
            "invalid value for 'messages[0].tool_calls': tool_calls are only allowed on "
            "assistant messages",
            "messages[0].tool_calls"},
        BadRequest{withMessages(R"([{"role":"assistant","tool_calls":{}}])"),
                   "invalid type for 'messages[0].tool_calls': expected an array, got object",
                   "messages[0].tool_calls"},
        BadRequest{
            withMessages(R"([{"role":"assistant","tool_calls":[{"function":{"name":"f"}}]}])"),
            "missing required parameter: 'messages[0].tool_calls[0].id'",
            "messages[0].tool_calls[0].id"},
        BadRequest{withMessages(R"([{"role":"assistant","tool_calls":[{"id":"c"}]}])"),
                   "missing required parameter: 'messages[0].tool_calls[0].function'",
                   "messages[0].tool_calls[0].function"},
        BadRequest{
            withMessages(
                R"([{"role":"assistant","tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}])"),
            "missing required parameter: 'messages[0].tool_calls[0].function.name'",
            "messages[0].tool_calls[0].function.name"},
        BadRequest{
            withMessages(
                R"([{"role":"assistant","tool_calls":[{"id":"c","type":"custom","function":{"name":"f"}}]}])"),
            "invalid value for 'messages[0].tool_calls[0].type': 'custom' (expected "
            "'function')",
            "messages[0].tool_calls[0].type"},
        BadRequest{withField(R"("tools":{})"),
                   "invalid type for 'tools': expected an array, got object", "tools"},
        BadRequest{withField(R"("tools":["f"])"),
                   "invalid type for 'tools[0]': expected an object, got string", "tools[0]"},
        BadRequest{withField(R"("tools":[{"function":{"name":"f"}}])"),
                   "missing required parameter: 'tools[0].type'", "tools[0].type"},
        BadRequest{withField(R"("tools":[{"type":"custom","custom":{"name":"f"}}])"),
                   "invalid value for 'tools[0].type': 'custom' (only 'function' tools are "
                   "supported)",
                   "tools[0].type"},
        BadRequest{withField(R"("tools":[{"type":"function"}])"),
                   "missing required parameter: 'tools[0].function'", "tools[0].function"},
        BadRequest{
            withField(
                R"("tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{}}])"),
            "missing required parameter: 'tools[1].function.name'", "tools[1].function.name"},
        BadRequest{withField(R"("tools":[{"type":"function","function":{"name":""}}])"),
                   "invalid value for 'tools[0].function.name': must not be empty",
                   "tools[0].function.name"},
        BadRequest{
            withField(R"("tools":[{"type":"function","function":{"name":"f","description":1}}])"),
            "invalid type for 'tools[0].function.description': expected a string, got "
            "integer",
            "tools[0].function.description"},
        BadRequest{
            withField(R"("tools":[{"type":"function","function":{"name":"f","parameters":"x"}}])"),
            "invalid type for 'tools[0].function.parameters': expected an object, got string",
            "tools[0].function.parameters"},
        BadRequest{
            withField(R"("tools":[{"type":"function","function":{"name":"f","strict":"yes"}}])"),
            "invalid type for 'tools[0].function.strict': expected a boolean, got string",
            "tools[0].function.strict"},
        BadRequest{withField(R"("tool_choice":"sometimes")"),
                   "invalid value for 'tool_choice': 'sometimes' " + kExpectedToolChoice,
                   "tool_choice"},
        BadRequest{withField(R"("tool_choice":{"type":"allowed_tools"})"),
                   "invalid value for 'tool_choice.type': 'allowed_tools' " + kExpectedToolChoice,
                   "tool_choice.type"},
        BadRequest{withField(R"("tool_choice":{"type":"function"})"),
                   "missing required parameter: 'tool_choice.function'", "tool_choice.function"},
        BadRequest{withField(R"("tool_choice":{"type":"function","function":{}})"),
                   "missing required parameter: 'tool_choice.function.name'",
                   "tool_choice.function.name"},
        BadRequest{withField(R"("tool_choice":1)"),
                   "invalid type for 'tool_choice': expected a string or an object, got integer",
                   "tool_choice"},
        BadRequest{withField(R"("response_format":"json")"),
                   "invalid type for 'response_format': expected an object, got string",
                   "response_format"},
        BadRequest{withField(R"("response_format":{})"),
                   "missing required parameter: 'response_format.type'", "response_format.type"},
        BadRequest{withField(R"("response_format":{"type":"xml"})"),
                   "invalid value for 'response_format.type': 'xml' (expected 'text', "
                   "'json_object' or 'json_schema')",
                   "response_format.type"},
        BadRequest{withField(R"("response_format":{"type":"json_schema"})"),
                   "missing required parameter: 'response_format.json_schema'",
                   "response_format.json_schema"},
        BadRequest{
            withField(R"("response_format":{"type":"json_schema","json_schema":{"schema":{}}})"),
            "missing required parameter: 'response_format.json_schema.name'",
            "response_format.json_schema.name"},
        BadRequest{
            withField(
                R"("response_format":{"type":"json_schema","json_schema":{"name":"n","schema":[]}})"),
            "invalid type for 'response_format.json_schema.schema': expected an object, got "
            "array",
            "response_format.json_schema.schema"},
        BadRequest{withField(R"("temperature":"hot")"),
                   "invalid type for 'temperature': expected a number, got string", "temperature"},
        BadRequest{withField(R"("temperature":2.5)"),
                   "invalid value for 'temperature': 2.5 is greater than the maximum of 2",
                   "temperature"},
        BadRequest{withField(R"("temperature":-0.1)"),
                   "invalid value for 'temperature': -0.1 is less than the minimum of 0",
                   "temperature"},
        BadRequest{withField(R"("top_p":1.5)"),
                   "invalid value for 'top_p': 1.5 is greater than the maximum of 1", "top_p"},
        BadRequest{withField(R"("top_p":true)"),
                   "invalid type for 'top_p': expected a number, got boolean", "top_p"},
        BadRequest{withField(R"("n":0)"), "invalid value for 'n': 0 is less than the minimum of 1",
                   "n"},
        BadRequest{withField(R"("n":129)"),
                   "invalid value for 'n': 129 is greater than the maximum of 128", "n"},
        BadRequest{withField(R"("n":1.5)"), "invalid type for 'n': expected an integer, got number",
                   "n"},
        BadRequest{withField(R"("max_tokens":0)"),
                   "invalid value for 'max_tokens': 0 is less than the minimum of 1", "max_tokens"},
        BadRequest{withField(R"("max_tokens":"10")"),
                   "invalid type for 'max_tokens': expected an integer, got string", "max_tokens"},
        BadRequest{withField(R"("max_completion_tokens":-5)"),
                   "invalid value for 'max_completion_tokens': -5 is less than the minimum of 1",
                   "max_completion_tokens"},
        BadRequest{withField(R"("presence_penalty":3)"),
                   "invalid value for 'presence_penalty': 3 is greater than the maximum of 2",
                   "presence_penalty"},
        BadRequest{withField(R"("frequency_penalty":-2.5)"),
                   "invalid value for 'frequency_penalty': -2.5 is less than the minimum of -2",
                   "frequency_penalty"},
        BadRequest{withField(R"("top_logprobs":21)"),
                   "invalid value for 'top_logprobs': 21 is greater than the maximum of 20",
                   "top_logprobs"},
        BadRequest{withField(R"("top_logprobs":-1)"),
                   "invalid value for 'top_logprobs': -1 is less than the minimum of 0",
                   "top_logprobs"},
        BadRequest{withField(R"("logprobs":1)"),
                   "invalid type for 'logprobs': expected a boolean, got integer", "logprobs"},
        BadRequest{withField(R"("stop":["a","b","c","d","e"])"),
                   "invalid value for 'stop': expected at most 4 stop sequences, got 5", "stop"},
        BadRequest{withField(R"("stop":["a",1])"),
                   "invalid type for 'stop[1]': expected a string, got integer", "stop[1]"},
        BadRequest{withField(R"("stop":5)"),
                   "invalid type for 'stop': expected a string or an array of strings, got integer",
                   "stop"},
        BadRequest{withField(R"("stream":"true")"),
                   "invalid type for 'stream': expected a boolean, got string", "stream"},
        BadRequest{
            withField(R"("stream":true,"stream_options":{"include_usage":"yes"})"),
            "invalid type for 'stream_options.include_usage': expected a boolean, got string",
            "stream_options.include_usage"},
        BadRequest{withField(R"("stream_options":[])"),
                   "invalid type for 'stream_options': expected an object, got array",
                   "stream_options"},
        BadRequest{withField(R"("seed":"x")"),
                   "invalid type for 'seed': expected an integer, got string", "seed"},
        BadRequest{withField(R"("seed":18446744073709551615)"),
                   "invalid value for 'seed': integer is too large", "seed"},
        BadRequest{withField(R"("logit_bias":[])"),
                   "invalid type for 'logit_bias': expected an object, got array", "logit_bias"},
        BadRequest{withField(R"("metadata":"x")"),
                   "invalid type for 'metadata': expected an object, got string", "metadata"},
        BadRequest{withField(R"("user":5)"),
                   "invalid type for 'user': expected a string, got integer", "user"},
        BadRequest{withField(R"("reasoning_effort":5)"),
                   "invalid type for 'reasoning_effort': expected a string, got integer",
                   "reasoning_effort"},
        BadRequest{withField(R"("parallel_tool_calls":"no")"),
                   "invalid type for 'parallel_tool_calls': expected a boolean, got string",
                   "parallel_tool_calls"},
        BadRequest{withField(R"("top_k":"x")"),
                   "invalid type for 'top_k': expected an integer, got string", "top_k"},
        BadRequest{withField(R"("min_p":2)"),
                   "invalid value for 'min_p': 2 is greater than the maximum of 1", "min_p"},
        BadRequest{withField(R"("repetition_penalty":0)"),
                   "invalid value for 'repetition_penalty': 0 must be greater than 0",
                   "repetition_penalty"}));

TEST(ChatRequestDecode, InvalidJsonSaysWhereAndWhy) {
  auto r = decodeChatRequest(R"({"model":"m",,})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), StartsWith("request body is not valid JSON: "));
  EXPECT_THAT(r.error().message(), HasSubstr("syntax error at offset 13"));

  auto truncated = decodeChatRequest(R"({"model":"m","messages":[)");
  ASSERT_FALSE(truncated);
  EXPECT_THAT(truncated.error().message(), StartsWith("request body is not valid JSON: "));

  auto trailing = decodeChatRequest(R"({"model":"m"} x)");
  ASSERT_FALSE(trailing);
  EXPECT_THAT(trailing.error().message(), StartsWith("request body is not valid JSON: "));

  auto empty = decodeChatRequest("  \n");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(), "request body is empty");
}

TEST(ChatRequestDecode, InvalidUtf8InAStringIsRejected) {
  std::string body = R"({"model":"m","messages":[{"role":"user","content":"bad )";
  const std::size_t offset = body.size();
  body += "\xC3\x28";  // a lead byte followed by a non-continuation byte
  body += R"("}]})";
  auto r = decodeChatRequest(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("invalid UTF-8"));
  EXPECT_THAT(r.error().message(), HasSubstr("at offset " + std::to_string(offset)));

  // An overlong encoding of '/' and a lone surrogate are just as invalid.
  EXPECT_FALSE(decodeChatRequest(withMessages("[{\"role\":\"user\",\"content\":\"\xC0\xAF\"}]")));
  EXPECT_FALSE(
      decodeChatRequest(withMessages("[{\"role\":\"user\",\"content\":\"\xED\xA0\x80\"}]")));
  // Valid multi-byte text passes untouched.
  const ChatRequest ok = decodeChatOk(
      withMessages("[{\"role\":\"user\",\"content\":\"h\xC3\xA9 \xF0\x9F\x98\x80\"}]"));
  EXPECT_EQ(ok.messages[0].text(), "h\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(ChatRequestDecode, DeeplyNestedJunkIsRejectedWithoutCrashing) {
  const std::string deep_array(200000, '[');
  auto a = decodeChatRequest(deep_array);
  ASSERT_FALSE(a);
  EXPECT_THAT(a.error().message(), StartsWith("request body is not valid JSON"));

  std::string deep_extra = withField("\"x\":" + std::string(100, '[') + std::string(100, ']'));
  auto b = decodeChatRequest(deep_extra);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::kInvalidArgument);

  // Nesting a real JSON Schema needs is fine and survives verbatim.
  std::string nested = std::string(40, '[') + "1" + std::string(40, ']');
  const ChatRequest ok = decodeChatOk(withField("\"x\":" + nested));
  EXPECT_EQ(parseOrDie(encodeChatRequest(ok)).at("x"), parseOrDie(nested));
}

TEST(ChatRequestDecode, RandomlyMutatedBodiesNeverCrash) {
  const std::string seed = readTestdata("chat_tools.request.json");
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string body = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % body.size();
      switch (rng() % 4) {
        case 0:
          body[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          body.erase(pos, 1 + rng() % 8);
          break;
        case 2:
          body.insert(pos, 1, "{}[]\",:0n\\"[rng() % 10]);
          break;
        case 3:
          body.resize(pos);
          break;
      }
      if (body.empty()) body = "{";
    }
    auto r = decodeChatRequest(body);
    if (r) {
      ++accepted;
      // Whatever we accept must encode to JSON that we accept again.
      EXPECT_TRUE(decodeChatRequest(encodeChatRequest(*r))) << body;
    } else {
      EXPECT_FALSE(r.error().message().empty());
      EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    }
    // Upstream-side decoders must survive the same junk.
    (void)decodeChatResponse(body);
    (void)decodeChatChunk(body);
    (void)decodeCompletionResponse(body);
    (void)decodeEmbeddingResponse(body);
    (void)decodeUpstreamError(500, body);
  }
  EXPECT_GT(accepted, 0);  // the mutations are not all fatal, so both paths ran
}

// ---- upstream responses ---------------------------------------------------------------------

TEST(ChatResponseGolden, UpstreamResponseBecomesClientJson) {
  auto res = decodeChatResponse(readTestdata("chat_response.upstream.json"));
  ASSERT_TRUE(res) << res.error().toString();
  ASSERT_EQ(res->choices.size(), 2u);
  EXPECT_EQ(res->choices[0].message.text(), "The image shows a boardwalk.");
  EXPECT_EQ(res->choices[1].message.content_form, Message::ContentForm::kNull);
  EXPECT_EQ(res->choices[1].message.tool_calls[0].arguments, "{\"q\":\"board\\nwalk\"}");
  EXPECT_EQ(res->choices[1].message.reasoning_content, "Need to look it up.");
  EXPECT_EQ(res->choices[1].finish_reason, FinishReason::kToolCalls);
  ASSERT_TRUE(res->usage);
  EXPECT_EQ(res->usage->cached_tokens, 1024);
  EXPECT_EQ(res->usage->reasoning_tokens, 12);
  EXPECT_TRUE(sameJson(encodeChatResponse(*res), readTestdata("chat_response.client.json")));
}

TEST(ChatResponseRoundTrip, NativeResponseSurvives) {
  ChatResponse r;
  r.id = "chatcmpl-9";
  r.model = "m";
  r.created = 1700000001;
  Choice& a = r.choices.emplace_back();
  a.message.role = Role::kAssistant;
  a.message.content.push_back({.text = "hello \"world\"\n"});
  a.message.reasoning_content = "hmm";
  a.finish_reason = FinishReason::kStop;
  Choice& b = r.choices.emplace_back();
  b.index = 1;
  b.message.role = Role::kAssistant;
  b.message.content_form = Message::ContentForm::kNull;
  b.message.tool_calls.push_back({"call_1", "f", "{\"x\":1}"});
  b.message.refusal = "nope";
  b.finish_reason = FinishReason::kLength;
  b.logprobs = json::parse(
      R"({"content":[{"token":"a","logprob":-0.5,"bytes":[97],"top_logprobs":[]}],"refusal":null})");
  r.usage = Usage{10, 5, 15, 4, 2, 1};
  r.system_fingerprint = "fp";
  r.service_tier = "default";
  const std::string wire = encodeChatResponse(r);
  auto back = decodeChatResponse(wire);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_TRUE(*back == r) << wire << "\n" << encodeChatResponse(*back);
}

TEST(ChatResponseEncode, MatchesTheSchemaRequiredFields) {
  ChatResponse r;
  r.id = "x";
  r.model = "m";
  r.choices.emplace_back().message.content.push_back({.text = "t"});
  const json::value v = parseOrDie(encodeChatResponse(r));
  EXPECT_TRUE(hasKeys(v, {"id", "object", "created", "model", "choices"}));
  EXPECT_EQ(v.at("object"), "chat.completion");
  const json::value& choice = v.at("choices").at(0);
  EXPECT_TRUE(hasKeys(choice, {"index", "message", "logprobs", "finish_reason"}));
  EXPECT_TRUE(choice.at("finish_reason").is_null());
  EXPECT_TRUE(choice.at("logprobs").is_null());
  EXPECT_TRUE(hasKeys(choice.at("message"), {"role", "content", "refusal"}));
  EXPECT_FALSE(v.as_object().contains("usage"));
  EXPECT_FALSE(v.as_object().contains("system_fingerprint"));
  r.usage = Usage{};
  const json::value u = parseOrDie(encodeChatResponse(r));
  EXPECT_TRUE(hasKeys(u.at("usage"), {"prompt_tokens", "completion_tokens", "total_tokens",
                                      "prompt_tokens_details", "completion_tokens_details"}));
  EXPECT_EQ(u.at("usage").at("prompt_tokens_details").at("cached_tokens"), 0);
  EXPECT_EQ(u.at("usage").at("completion_tokens_details").at("reasoning_tokens"), 0);
}

TEST(ChatResponseEncode, EscapesAndRepairsText) {
  ChatResponse r;
  r.id = "x";
  r.model = "m";
  // Control characters, quotes, backslashes, a valid emoji and a cut-off UTF-8 sequence.
  const std::string text = std::string("a\"b\\c\n\x01\x1f") + "\xF0\x9F\x98\x80" + "\xE2\x82";
  r.choices.emplace_back().message.content.push_back({.text = text});
  const std::string wire = encodeChatResponse(r);
  EXPECT_THAT(wire, HasSubstr(R"(a\"b\\c\n\u0001\u001f)"));
  const json::value v = parseOrDie(wire);
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content").as_string(),
            "a\"b\\c\n\x01\x1f\xF0\x9F\x98\x80\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(JsonEscaping, RandomStringsRoundTripThroughTheWriter) {
  // Specials at every offset and every length exercise both the 8-byte fast path and the tail.
  std::mt19937 rng(99);
  const std::string alphabet = std::string("abcXYZ 019\"\\/\n\r\t\b\f\x01\x1f\x7f", 22) +
                               "\xC3\xA9"
                               "\xE2\x82\xAC"
                               "\xF0\x9F\x98\x80";
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    const std::size_t len = rng() % 40;
    while (text.size() < len) {
      const std::size_t pick = rng() % (alphabet.size() + 3);
      if (pick >= 22 && pick < alphabet.size()) {
        // Whole multi-byte characters only, so the text stays valid UTF-8.
        text += pick < 24   ? alphabet.substr(22, 2)
                : pick < 27 ? alphabet.substr(24, 3)
                            : alphabet.substr(27, 4);
      } else {
        text += alphabet[pick % 22];
      }
    }
    const std::string wire = encodeError(Status(ErrorCode::kInternal, text));
    const json::value v = parseOrDie(wire);
    ASSERT_EQ(v.at("error").at("message").as_string(), text) << wire;
  }
}

TEST(ChatResponseDecode, RejectsWhatIsNotACompletion) {
  auto not_json = decodeChatResponse("<html>502 Bad Gateway</html>");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().code(), ErrorCode::kUpstream);
  EXPECT_THAT(not_json.error().message(), StartsWith("upstream response is not valid JSON"));

  auto no_choices = decodeChatResponse(R"({"id":"x"})");
  ASSERT_FALSE(no_choices);
  EXPECT_EQ(no_choices.error().code(), ErrorCode::kUpstream);

  auto error_body = decodeChatResponse(
      R"({"error":{"message":"model overloaded","type":"server_error","param":null,"code":null}})");
  ASSERT_FALSE(error_body);
  EXPECT_EQ(error_body.error().code(), ErrorCode::kUpstream);
  EXPECT_THAT(error_body.error().message(), HasSubstr("model overloaded"));

  auto bad_choice = decodeChatResponse(R"({"choices":[{"index":0}]})");
  ASSERT_FALSE(bad_choice);
  EXPECT_THAT(bad_choice.error().message(), HasSubstr("choices[0]"));
}

// ---- streaming ------------------------------------------------------------------------------

TEST(ChatChunkGolden, ToolCallDeltasSplitAcrossChunks) {
  const auto upstream = readLines("chat_stream.upstream.jsonl");
  const auto client = readLines("chat_stream.client.jsonl");
  ASSERT_EQ(upstream.size(), client.size());

  struct Accumulated {
    std::string id, name, arguments;
  };
  std::vector<Accumulated> calls;
  FinishReason finish = FinishReason::kNone;
  std::optional<Usage> usage;
  for (std::size_t i = 0; i < upstream.size(); ++i) {
    auto chunk = decodeChatChunk(upstream[i]);
    ASSERT_TRUE(chunk) << chunk.error().toString();
    std::string out;
    appendChatChunk(*chunk, out);
    EXPECT_TRUE(sameJson(out, client[i])) << "line " << i + 1;
    for (const auto& choice : chunk->choices) {
      for (const auto& d : choice.tool_calls) {
        if (calls.size() <= static_cast<std::size_t>(d.index)) calls.resize(d.index + 1);
        calls[d.index].id += d.id;
        calls[d.index].name += d.name;
        calls[d.index].arguments += d.arguments;
      }
      if (choice.finish_reason != FinishReason::kNone) finish = choice.finish_reason;
    }
    if (chunk->usage) usage = chunk->usage;
  }
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].id, "call_1");
  EXPECT_EQ(calls[0].name, "get_weather");
  EXPECT_EQ(calls[0].arguments, "{\"city\": \"Paris\"}");
  EXPECT_EQ(calls[1].id, "call_2");
  EXPECT_EQ(calls[1].name, "get_time");
  EXPECT_EQ(calls[1].arguments, "{}");
  EXPECT_EQ(finish, FinishReason::kToolCalls);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->total_tokens, 51);
  EXPECT_EQ(usage->reasoning_tokens, 3);
}

TEST(ChatChunkEncode, UsageOnlyChunkHasEmptyChoices) {
  ChatChunk c;
  c.id = "x";
  c.model = "m";
  c.created = 5;
  c.usage = Usage{1, 2, 3, 0, 0, 0};
  std::string out = "data: ";
  appendChatChunk(c, out);
  EXPECT_THAT(out, StartsWith("data: {"));
  const json::value v = parseOrDie(std::string_view(out).substr(6));
  EXPECT_TRUE(hasKeys(v, {"id", "object", "created", "model", "choices", "usage"}));
  EXPECT_EQ(v.at("object"), "chat.completion.chunk");
  EXPECT_TRUE(v.at("choices").as_array().empty());
  EXPECT_EQ(v.at("usage").at("total_tokens"), 3);

  c.usage.reset();
  c.choices.emplace_back().content = "hi";
  out.clear();
  appendChatChunk(c, out);
  const json::value w = parseOrDie(out);
  EXPECT_FALSE(w.as_object().contains("usage"));
  const json::value& choice = w.at("choices").at(0);
  EXPECT_TRUE(hasKeys(choice, {"index", "delta", "finish_reason"}));
  EXPECT_EQ(choice.at("delta"), parseOrDie(R"({"content":"hi"})"));
}

TEST(ChatChunkEncode, ToolCallDeltaShape) {
  ChatChunk c;
  ChoiceDelta& d = c.choices.emplace_back();
  d.tool_calls.push_back({0, "call_1", "f", ""});
  d.tool_calls.push_back({0, "", "", "{\"a\""});
  std::string out;
  appendChatChunk(c, out);
  const json::value v = parseOrDie(out);
  EXPECT_EQ(
      v.at("choices").at(0).at("delta").at("tool_calls"),
      parseOrDie(
          R"([{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}},)"
          R"({"index":0,"function":{"arguments":"{\"a\""}}])"));
}

TEST(ChatChunkRoundTrip, NativeChunkSurvives) {
  ChatChunk c;
  c.id = "id";
  c.model = "m";
  c.created = 9;
  c.system_fingerprint = "fp";
  ChoiceDelta& d = c.choices.emplace_back();
  d.role = Role::kAssistant;
  d.content = "";
  d.reasoning_content = "r";
  d.refusal = "no";
  d.tool_calls.push_back({1, "c", "f", "{"});
  d.finish_reason = FinishReason::kContentFilter;
  c.usage = Usage{3, 4, 7, 1, 0, 2};
  std::string out;
  appendChatChunk(c, out);
  auto back = decodeChatChunk(out);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_TRUE(*back == c) << out;
}

TEST(ChatChunkDecode, ToleratesVendorShapes) {
  // vLLM's newer "reasoning" key, a null content, Azure's prompt-filter-only first chunk.
  auto a = decodeChatChunk(
      R"({"id":"x","choices":[{"index":0,"delta":{"reasoning":"think","content":null}}]})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->choices[0].reasoning_content, "think");
  EXPECT_FALSE(a->choices[0].content);
  auto b = decodeChatChunk(R"({"id":"","choices":[],"prompt_filter_results":[]})");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->choices.empty());
  auto c = decodeChatChunk(R"({"error":{"message":"boom"}})");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message(), HasSubstr("boom"));
}

// ---- completions ----------------------------------------------------------------------------

TEST(CompletionRequest, DecodeEncodeRoundTrip) {
  const std::string body =
      R"({"model":"m","prompt":["a","b"],"max_tokens":0,"temperature":0.5,"top_p":0.25,)"
      R"("seed":3,"stop":"\n","stream":true,"stream_options":{"include_usage":true},)"
      R"("echo":true,"logprobs":2,"suffix":null})";
  auto req = decodeCompletionRequest(body);
  ASSERT_TRUE(req) << req.error().toString();
  EXPECT_EQ(req->max_tokens, 0);
  EXPECT_TRUE(req->include_usage);
  EXPECT_EQ(req->extra.size(), 3u);
  const std::string wire = encodeCompletionRequest(*req);
  EXPECT_TRUE(sameJson(wire, R"({"model":"m","prompt":["a","b"],"max_tokens":0,"temperature":0.5,)"
                             R"("top_p":0.25,"seed":3,"stop":["\n"],"stream":true,)"
                             R"("stream_options":{"include_usage":true},"echo":true,"logprobs":2,)"
                             R"("suffix":null})"));
  auto back = decodeCompletionRequest(wire);
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == *req);
}

TEST(CompletionRequest, Validation) {
  const std::pair<std::string, std::pair<std::string, std::string>> cases[] = {
      {R"({"prompt":"x"})", {"you must provide a model parameter", "model"}},
      {R"({"model":"m"})", {"missing required parameter: 'prompt'", "prompt"}},
      {R"({"model":"m","prompt":[1,"a"]})",
       {"invalid value for 'prompt': expected a string, an array of strings, an array of token "
        "ids or an array of token id arrays",
        "prompt"}},
      {R"({"model":"m","prompt":"x","max_tokens":-1})",
       {"invalid value for 'max_tokens': -1 is less than the minimum of 0", "max_tokens"}},
      {R"({"model":"m","prompt":"x","temperature":3})",
       {"invalid value for 'temperature': 3 is greater than the maximum of 2", "temperature"}},
      {R"({"model":"m","prompt":"x","stop":[1]})",
       {"invalid type for 'stop[0]': expected a string, got integer", "stop[0]"}},
  };
  for (const auto& [body, expected] : cases) {
    auto r = decodeCompletionRequest(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().message(), expected.first) << body;
    EXPECT_EQ(r.error().param(), expected.second) << body;
  }
  EXPECT_TRUE(decodeCompletionRequest(R"({"model":"m","prompt":[[1,2],[3]]})"));
  EXPECT_TRUE(decodeCompletionRequest(R"({"model":"m","prompt":[1,2]})"));
}

TEST(CompletionResponse, DecodeEncodeAsWholeAndChunk) {
  const std::string upstream =
      R"({"id":"cmpl-1","object":"text_completion","created":1589478378,"model":"m",)"
      R"("choices":[{"text":"\n\nThis is","index":0,"logprobs":null,"finish_reason":"length"}],)"
      R"("usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}})";
  auto res = decodeCompletionResponse(upstream);
  ASSERT_TRUE(res) << res.error().toString();
  EXPECT_EQ(res->choices[0].finish_reason, FinishReason::kLength);
  const json::value whole = parseOrDie(encodeCompletionResponse(*res, false));
  EXPECT_TRUE(hasKeys(whole, {"id", "object", "created", "model", "choices", "usage"}));
  EXPECT_EQ(whole.at("object"), "text_completion");
  EXPECT_TRUE(hasKeys(whole.at("choices").at(0), {"finish_reason", "index", "logprobs", "text"}));
  EXPECT_EQ(whole.at("usage").at("total_tokens"), 12);
  auto back = decodeCompletionResponse(encodeCompletionResponse(*res, false));
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == *res);

  auto chunk = decodeCompletionResponse(
      R"({"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"text":"Hi","index":0,"logprobs":null,"finish_reason":null}]})");
  ASSERT_TRUE(chunk);
  EXPECT_FALSE(chunk->usage);
  const json::value c = parseOrDie(encodeCompletionResponse(*chunk, true));
  EXPECT_FALSE(c.as_object().contains("usage"));
  EXPECT_TRUE(c.at("choices").at(0).at("finish_reason").is_null());
  // A whole response always reports usage, zero when unknown.
  EXPECT_EQ(parseOrDie(encodeCompletionResponse(*chunk, false)).at("usage").at("total_tokens"), 0);

  auto usage_only = decodeCompletionResponse(
      R"({"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})");
  ASSERT_TRUE(usage_only);
  EXPECT_TRUE(usage_only->choices.empty());
}

// ---- embeddings -----------------------------------------------------------------------------

TEST(EmbeddingRequest, DecodeForms) {
  auto one = decodeEmbeddingRequest(R"({"model":"e","input":"hello"})");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->texts, std::vector<std::string>{"hello"});
  EXPECT_EQ(one->inputCount(), 1u);
  auto many = decodeEmbeddingRequest(
      R"({"model":"e","input":["a","b"],"encoding_format":"base64","dimensions":256,"user":"u","x":1})");
  ASSERT_TRUE(many);
  EXPECT_EQ(many->texts.size(), 2u);
  EXPECT_EQ(many->encoding_format, "base64");
  EXPECT_EQ(many->dimensions, 256);
  EXPECT_EQ(many->extra.at("x"), 1);
  auto back = decodeEmbeddingRequest(encodeEmbeddingRequest(*many));
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == *many);
  auto tokens = decodeEmbeddingRequest(R"({"model":"e","input":[[1,2],[3]]})");
  ASSERT_TRUE(tokens);
  EXPECT_TRUE(tokens->texts.empty());
  EXPECT_EQ(tokens->inputCount(), 2u);
  EXPECT_TRUE(sameJson(encodeEmbeddingRequest(*tokens), R"({"model":"e","input":[[1,2],[3]]})"));
}

TEST(EmbeddingRequest, Validation) {
  const std::pair<std::string, std::pair<std::string, std::string>> cases[] = {
      {R"({"input":"x"})", {"you must provide a model parameter", "model"}},
      {R"({"model":"e"})", {"missing required parameter: 'input'", "input"}},
      {R"({"model":"e","input":[]})",
       {"invalid value for 'input': expected at least one input", "input"}},
      {R"({"model":"e","input":5})",
       {"invalid type for 'input': expected a string or an array, got integer", "input"}},
      {R"({"model":"e","input":["a",1]})",
       {"invalid value for 'input': expected a string, an array of strings, an array of token ids "
        "or an array of token id arrays",
        "input"}},
      {R"({"model":"e","input":"x","encoding_format":"int8"})",
       {"invalid value for 'encoding_format': 'int8' (expected 'float' or 'base64')",
        "encoding_format"}},
      {R"({"model":"e","input":"x","dimensions":0})",
       {"invalid value for 'dimensions': 0 is less than the minimum of 1", "dimensions"}},
  };
  for (const auto& [body, expected] : cases) {
    auto r = decodeEmbeddingRequest(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().message(), expected.first) << body;
    EXPECT_EQ(r.error().param(), expected.second) << body;
  }
}

TEST(EmbeddingResponse, Base64FromUpstreamFloatsToClient) {
  auto res = decodeEmbeddingResponse(readTestdata("embeddings_base64.upstream.json"));
  ASSERT_TRUE(res) << res.error().toString();
  ASSERT_EQ(res->embeddings.size(), 2u);
  EXPECT_EQ(res->embeddings[0], (std::vector<float>{1.0f, -2.5f, 0.0f}));  // placed by index
  EXPECT_EQ(res->embeddings[1], (std::vector<float>{0.125f, 3.0f}));
  EXPECT_EQ(res->usage.prompt_tokens, 8);
  EXPECT_TRUE(
      sameJson(encodeEmbeddingResponse(*res, "float"), readTestdata("embeddings.client.json")));
  EXPECT_TRUE(sameJson(encodeEmbeddingResponse(*res, ""), readTestdata("embeddings.client.json")));
}

TEST(EmbeddingResponse, Base64ToClientAndBack) {
  EmbeddingResponse r;
  r.model = "e";
  r.embeddings = {{1.0f, -2.5f, 0.0f}, {0.125f, 3.0f}, {}};
  r.usage.prompt_tokens = 4;
  r.usage.total_tokens = 4;
  const std::string wire = encodeEmbeddingResponse(r, "base64");
  const json::value v = parseOrDie(wire);
  EXPECT_TRUE(hasKeys(v, {"object", "model", "data", "usage"}));
  EXPECT_EQ(v.at("object"), "list");
  EXPECT_TRUE(hasKeys(v.at("data").at(0), {"index", "object", "embedding"}));
  EXPECT_EQ(v.at("data").at(0).at("embedding"), "AACAPwAAIMAAAAAA");
  EXPECT_EQ(v.at("data").at(1).at("embedding"), "AAAAPgAAQEA=");
  EXPECT_EQ(v.at("data").at(2).at("embedding"), "");
  EXPECT_EQ(v.at("usage"), parseOrDie(R"({"prompt_tokens":4,"total_tokens":4})"));
  auto back = decodeEmbeddingResponse(wire);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_TRUE(*back == r);
}

TEST(EmbeddingResponse, FloatsRoundTrip) {
  EmbeddingResponse r;
  r.model = "e";
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  r.embeddings.resize(3);
  for (auto& e : r.embeddings) {
    for (int i = 0; i < 64; ++i) e.push_back(dist(rng));
  }
  auto back = decodeEmbeddingResponse(encodeEmbeddingResponse(r, "float"));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->embeddings.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(back->embeddings[i].size(), 64u);
    for (std::size_t j = 0; j < 64; ++j) {
      EXPECT_FLOAT_EQ(back->embeddings[i][j], r.embeddings[i][j]);
    }
  }
}

TEST(EmbeddingResponse, RejectsBadData) {
  EXPECT_FALSE(decodeEmbeddingResponse(R"({"data":[{"index":0,"embedding":"AAA"}]})"));
  EXPECT_FALSE(decodeEmbeddingResponse(R"({"data":[{"index":0,"embedding":"!!!!"}]})"));
  EXPECT_FALSE(decodeEmbeddingResponse(R"({"data":[{"index":3,"embedding":[1]}]})"));
  EXPECT_FALSE(decodeEmbeddingResponse(
      R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]})"));
  EXPECT_FALSE(decodeEmbeddingResponse(R"({"data":[{"index":0,"embedding":["x"]}]})"));
  EXPECT_FALSE(decodeEmbeddingResponse(R"({"object":"list"})"));
}

// ---- errors ---------------------------------------------------------------------------------

TEST(UpstreamError, OpenAiErrorJson) {
  const Status s = decodeUpstreamError(
      404,
      R"({"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}})");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.httpStatus(), 404);
  EXPECT_EQ(s.message(), "upstream returned 404: The model `gpt-9` does not exist");
  EXPECT_EQ(s.param(), "model");
  EXPECT_EQ(s.errorType(), "model_not_found");
  EXPECT_EQ(httpStatusFor(s), 404u);
  EXPECT_TRUE(
      sameJson(encodeError(s),
               R"({"error":{"message":"upstream returned 404: The model `gpt-9` does not exist",)"
               R"("type":"not_found_error","param":"model","code":"model_not_found"}})"));
}

TEST(UpstreamError, StatusDecidesTheCode) {
  EXPECT_EQ(decodeUpstreamError(429, R"({"error":{"message":"slow down"}})").code(),
            ErrorCode::kRateLimited);
  const Status unavailable =
      decodeUpstreamError(503, R"({"error":{"message":"overloaded","code":503}})");
  EXPECT_EQ(unavailable.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(unavailable.message(), "upstream returned 503: overloaded");
  EXPECT_EQ(unavailable.errorType(), "503");
  EXPECT_EQ(decodeUpstreamError(500, R"({"error":"plain string"})").message(),
            "upstream returned 500: plain string");
  EXPECT_EQ(decodeUpstreamError(400, R"({"message":"top-level","code":400})").message(),
            "upstream returned 400: top-level");
}

TEST(UpstreamError, NonJsonBodiesAreTruncated) {
  const Status html = decodeUpstreamError(502, "<html>\r\n<body>bad gateway</body>\n</html>\n");
  EXPECT_EQ(html.code(), ErrorCode::kUpstream);
  EXPECT_EQ(html.httpStatus(), 502);
  EXPECT_EQ(html.message(), "upstream returned 502: <html>  <body>bad gateway</body> </html>");

  const std::string long_body(5000, 'x');
  const Status truncated = decodeUpstreamError(500, long_body);
  EXPECT_LT(truncated.message().size(), 260u);
  EXPECT_THAT(truncated.message(), StartsWith("upstream returned 500: xxxx"));

  EXPECT_EQ(decodeUpstreamError(503, "").message(), "upstream returned 503 with an empty body");
  // Invalid UTF-8 in the body never reaches a client's JSON.
  const Status binary = decodeUpstreamError(500, std::string("\xFF\xFE oops", 7));
  EXPECT_TRUE(sameJson(encodeError(binary), encodeError(binary)));
  EXPECT_THAT(binary.message(), HasSubstr("\xEF\xBF\xBD"));
}

TEST(EncodeError, MatchesTheErrorSchema) {
  const json::value v = parseOrDie(encodeError(Status(ErrorCode::kRateLimited, "too \"many\"")));
  EXPECT_TRUE(hasKeys(v.at("error"), {"message", "type", "param", "code"}));
  EXPECT_EQ(v.at("error").at("message"), "too \"many\"");
  EXPECT_EQ(v.at("error").at("type"), "rate_limit_error");
  EXPECT_TRUE(v.at("error").at("param").is_null());
  EXPECT_TRUE(v.at("error").at("code").is_null());

  auto bad = decodeChatRequest(withField(R"("temperature":9)"));
  ASSERT_FALSE(bad);
  EXPECT_TRUE(sameJson(encodeError(bad.error()),
                       R"({"error":{"message":"invalid value for 'temperature': 9 is greater than )"
                       R"(the maximum of 2","type":"invalid_request_error","param":"temperature",)"
                       R"("code":null}})"));
}

// Boost.JSON reads 1e400 as infinity and 0e400 as NaN, which JSON cannot hold and which a range
// check lets through (NaN compares false): every client decoder says the number is out of range.
TEST(ClientBodies, NumbersBeyondADoubleAreErrors) {
  for (const char* number : {"0e400", "-0e309", "1e400", "-1e999"}) {
    const std::string n(number);
    auto expectOutOfRange = [&](const Status& s, const std::string& what) {
      EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << what << " " << n;
      EXPECT_THAT(s.message(), HasSubstr("a number is out of range")) << what << " " << n;
    };
    const std::string messages = R"("messages":[{"role":"user","content":"hi"}])";
    // A typed field and an unknown one that would travel upstream as it came.
    for (const std::string& body :
         {R"({"model":"m",)" + messages + R"(,"temperature":)" + n + "}",
          R"({"model":"m",)" + messages + R"(,"thinking":{"budget_tokens":)" + n + "}}"}) {
      EXPECT_FALSE(readCommonChatRequest(body)) << body;
      auto chat = decodeChatRequest(body);
      ASSERT_FALSE(chat) << body;
      expectOutOfRange(chat.error(), "chat");
    }
    auto completion = decodeCompletionRequest(R"({"model":"m","prompt":"x","top_p":)" + n + "}");
    ASSERT_FALSE(completion);
    expectOutOfRange(completion.error(), "completions");
    auto embedding = decodeEmbeddingRequest(R"({"model":"m","input":"x","dimensions":)" + n + "}");
    ASSERT_FALSE(embedding);
    expectOutOfRange(embedding.error(), "embeddings");
    auto responses = decodeResponsesRequest(R"({"model":"m","input":"x","temperature":)" + n + "}");
    ASSERT_FALSE(responses);
    expectOutOfRange(responses.error(), "responses");
    auto messages_request = anthropic::decodeMessagesRequest(R"({"model":"m","max_tokens":5,)" +
                                                             messages + R"(,"top_k":)" + n + "}");
    ASSERT_FALSE(messages_request);
    expectOutOfRange(messages_request.error(), "anthropic");
  }
  // What a double holds is fine, however it is written.
  EXPECT_TRUE(decodeChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0e-400,"x":1e308})"));
}

}  // namespace
}  // namespace switchyard::api::openai
