#include "switchyard/api/anthropic/messages_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <limits>

#include "switchyard/api/anthropic/golden_test_util.h"
#include "switchyard/api/errors.h"
#include "switchyard/api/openai/codec.h"

namespace switchyard::api::anthropic {
namespace {

namespace json = boost::json;
using testing::expectJsonGolden;
using testing::readTestdata;

ChatRequest decodeOk(std::string_view body) {
  auto r = decodeMessagesRequest(body);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? *r : ChatRequest{};
}

Status decodeErr(std::string_view body) {
  auto r = decodeMessagesRequest(body);
  EXPECT_FALSE(r.has_value());
  return r ? Status::ok() : r.error();
}

// ---- golden: client request -> upstream request ----------------------------------------------

TEST(AnthropicGolden, FullRequestToAnthropicUpstream) {
  ChatRequest req = decodeOk(readTestdata("messages_full.request.json"));
  auto body = encodeMessagesRequest(req, "claude");
  ASSERT_TRUE(body) << body.error().message();
  expectJsonGolden("messages_full.anthropic_upstream.json", *body);
}

TEST(AnthropicGolden, FullRequestToOpenAIUpstream) {
  ChatRequest req = decodeOk(readTestdata("messages_full.request.json"));
  expectJsonGolden("messages_full.openai_upstream.json", openai::encodeChatRequest(req));
}

TEST(AnthropicGolden, OpenAIClientToAnthropicUpstream) {
  auto req = openai::decodeChatRequest(readTestdata("openai_tools.request.json"));
  ASSERT_TRUE(req) << req.error().message();
  auto body = encodeMessagesRequest(*req, "claude");
  ASSERT_TRUE(body) << body.error().message();
  expectJsonGolden("openai_tools.anthropic_upstream.json", *body);
}

TEST(AnthropicGolden, UpstreamResponseToBothClients) {
  auto res = decodeMessagesResponse(readTestdata("response.upstream.json"));
  ASSERT_TRUE(res) << res.error().message();
  expectJsonGolden("response.anthropic_client.json", encodeMessagesResponse(*res));
  expectJsonGolden("response.openai_client.json", openai::encodeChatResponse(*res));
}

TEST(AnthropicGolden, OpenAIResponseToAnthropicClient) {
  const char* upstream = R"({"id":"chatcmpl-1","object":"chat.completion","created":1,
    "model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,
    "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},
    {"id":"call_2","type":"function","function":{"name":"g","arguments":"not json"}}]},
    "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":7,
    "total_tokens":37,"prompt_tokens_details":{"cached_tokens":20}}})";
  auto res = openai::decodeChatResponse(upstream);
  ASSERT_TRUE(res) << res.error().message();
  const json::value got = json::parse(encodeMessagesResponse(*res));
  const json::value want = json::parse(R"({"id":"msg_1","type":"message","role":"assistant",
    "model":"gpt-4o-mini","content":[
      {"type":"tool_use","id":"call_1","name":"f","input":{"a":1}},
      {"type":"tool_use","id":"call_2","name":"g","input":{"_raw_arguments":"not json"}}],
    "stop_reason":"tool_use","stop_sequence":null,
    "usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":20,
             "output_tokens":7}})");
  EXPECT_EQ(want, got) << json::serialize(got);
}

TEST(AnthropicEncode, MessageIdsHaveAnthropicsPrefix) {
  EXPECT_EQ(messageId("msg_013Zva2CMHLNnXjNJJKqJ2EF"), "msg_013Zva2CMHLNnXjNJJKqJ2EF");
  EXPECT_EQ(messageId("chatcmpl-01a2282799be8c12"), "msg_01a2282799be8c12");
  EXPECT_EQ(messageId("gen-1732"), "msg_gen-1732");  // OpenRouter, Gemini: prefixed, kept whole
  EXPECT_EQ(messageId(""), "msg_switchyard");
}

// ---- decoding: what the native request holds -------------------------------------------------

TEST(AnthropicDecode, MapsEveryFeature) {
  ChatRequest r = decodeOk(readTestdata("messages_full.request.json"));
  EXPECT_EQ(r.model, "claude-sonnet-4-5");
  EXPECT_EQ(r.max_tokens, 2048);
  ASSERT_EQ(r.messages.size(), 6u);  // system, user, assistant, tool, tool, user
  EXPECT_EQ(r.messages[0].role, Role::kSystem);
  ASSERT_EQ(r.messages[0].content.size(), 2u);
  EXPECT_EQ(r.messages[0].content[1].cache_control, json::parse(R"({"type":"ephemeral"})"));
  const Message& user = r.messages[1];
  ASSERT_EQ(user.content.size(), 3u);
  EXPECT_EQ(user.content[1].kind, ContentPart::Kind::kImage);
  EXPECT_EQ(user.content[1].image_url, "data:image/png;base64,iVBORw0KGgo=");
  EXPECT_EQ(user.content[2].image_url, "https://example.com/cat.jpg");
  const Message& assistant = r.messages[2];
  EXPECT_EQ(assistant.reasoning_content, "The user wants weather.");
  EXPECT_EQ(assistant.reasoning_signature, "sig-abc");
  ASSERT_EQ(assistant.tool_calls.size(), 2u);
  EXPECT_EQ(json::parse(assistant.tool_calls[0].arguments),
            json::parse(R"({"city":"Paris","unit":"celsius"})"));
  EXPECT_EQ(assistant.tool_calls[1].arguments, "{}");
  EXPECT_EQ(r.messages[3].role, Role::kTool);
  EXPECT_EQ(r.messages[3].tool_call_id, "toolu_01");
  EXPECT_EQ(r.messages[3].text(), "18°C, sunny");
  EXPECT_FALSE(r.messages[3].tool_error);
  EXPECT_TRUE(r.messages[4].tool_error);
  EXPECT_EQ(r.messages[5].text(), "Thanks!");
  ASSERT_EQ(r.tools.size(), 2u);
  EXPECT_FALSE(r.tools[1].cache_control.is_null());
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kRequired);
  EXPECT_EQ(r.parallel_tool_calls, false);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n\nHuman:", "END"}));
  EXPECT_EQ(r.top_k, 40);
  EXPECT_EQ(r.user, "user-123");
  EXPECT_EQ(r.thinking.mode, ThinkingConfig::Mode::kEnabled);
  EXPECT_EQ(r.thinking.budget_tokens, 1024);
  EXPECT_EQ(r.reasoning_effort, "low");
  EXPECT_FALSE(r.stream);
}

TEST(AnthropicDecode, ToolChoiceVariantsAndStreamUsage) {
  auto r = decodeOk(R"({"model":"m","max_tokens":5,"stream":true,
    "messages":[{"role":"user","content":"hi"}],
    "tools":[{"name":"f","input_schema":{"type":"object"}}],
    "tool_choice":{"type":"tool","name":"f"}})");
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kFunction);
  EXPECT_EQ(r.tool_choice.function_name, "f");
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.messages[0].content_form, Message::ContentForm::kString);
  r = decodeOk(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
    "tool_choice":{"type":"none"}})");
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kNone);
  r = decodeOk(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
    "tool_choice":{"type":"auto"},"thinking":{"type":"disabled"},"service_tier":"auto"})");
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kAuto);
  EXPECT_EQ(r.thinking.mode, ThinkingConfig::Mode::kDisabled);
  EXPECT_EQ(r.extra.at("service_tier"), "auto");  // unknown fields travel verbatim
}

TEST(AnthropicDecode, ServerToolsAndDocumentsStayVerbatim) {
  auto r = decodeOk(R"({"model":"m","max_tokens":5,
    "messages":[{"role":"user","content":[{"type":"document","source":{"type":"text",
      "media_type":"text/plain","data":"doc"}}]}],
    "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":2}]})");
  ASSERT_EQ(r.messages[0].content.size(), 1u);
  EXPECT_EQ(r.messages[0].content[0].kind, ContentPart::Kind::kOther);
  EXPECT_EQ(r.tools[0].native.at("max_uses"), 2);
  auto body = encodeMessagesRequest(r, "claude");
  ASSERT_TRUE(body);
  const json::value v = json::parse(*body);
  EXPECT_EQ(v.at("tools").at(0), json::parse(
      R"({"type":"web_search_20250305","name":"web_search","max_uses":2})"));
  EXPECT_EQ(v.at("messages").at(0).at("content").at(0).at("type"), "document");
}

struct BadRequest {
  const char* body;
  const char* param;
  const char* message_part;
};

TEST(AnthropicDecode, RejectsInvalidRequestsNamingTheField) {
  const BadRequest cases[] = {
      {R"({"model":"m","messages":[{"role":"user","content":"x"}]})", "max_tokens",
       "field required"},
      {R"({"max_tokens":5,"messages":[{"role":"user","content":"x"}]})", "model", "model"},
      {R"({"model":"m","max_tokens":5})", "messages", "field required"},
      {R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})", "max_tokens",
       "at least 1"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})",
       "messages[0].role", "expected 'user' or 'assistant'"},
      {R"({"model":"m","max_tokens":5,"temperature":1.5,"messages":[{"role":"user","content":"x"}]})",
       "temperature", "between 0 and 1"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use",
       "id":"a","name":"f","input":{}}]}]})", "messages[0].content[0].type", "not allowed"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image",
       "source":{"type":"base64","media_type":"image/bmp","data":"AA"}}]}]})",
       "messages[0].content[0].source.media_type", "image/bmp"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
       "tool_choice":{"type":"required"}})", "tool_choice.type", "'required'"},
      {R"({"model":"m","max_tokens":2000,"messages":[{"role":"user","content":"x"}],
       "thinking":{"type":"enabled","budget_tokens":4000}})", "thinking.budget_tokens",
       "less than max_tokens"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
       "tools":[{"name":"f"}]})", "tools[0].input_schema", "field required"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
       "metadata":{"user_id":"u","other":1}})", "metadata.other", "extra inputs"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use",
       "id":"a","name":"f","input":"str"}]}]})", "messages[0].content[0].input", "an object"},
  };
  for (const auto& c : cases) {
    Status s = decodeErr(c.body);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << c.body;
    EXPECT_EQ(s.param(), c.param) << c.body << " -> " << s.message();
    EXPECT_NE(s.message().find(c.message_part), std::string::npos)
        << c.body << " -> " << s.message();
  }
  EXPECT_EQ(decodeErr("{not json").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(decodeErr("[1]").code(), ErrorCode::kInvalidArgument);
}

TEST(AnthropicDecode, CountTokensNeedsNoMaxTokens) {
  auto r = decodeMessagesRequest(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})",
                                 /*for_count_tokens=*/true);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->max_tokens);
}

// ---- encoding for the upstream ----------------------------------------------------------------

TEST(AnthropicEncode, RejectsWhatTheMessagesApiCannotExpress) {
  struct Case {
    const char* openai_request;
    const char* feature;
  };
  const Case cases[] = {
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":2})", "n > 1"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true})", "logprobs"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],
        "response_format":{"type":"json_object"}})", "response_format"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"seed":1})", "seed"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"presence_penalty":0.5})",
       "presence_penalty"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"type":"input_audio",
        "input_audio":{"data":"AA","format":"wav"}}]}]})", "input_audio"},
  };
  for (const auto& c : cases) {
    auto req = openai::decodeChatRequest(c.openai_request);
    ASSERT_TRUE(req) << c.openai_request;
    auto body = encodeMessagesRequest(*req, "claude");
    ASSERT_FALSE(body) << c.openai_request;
    EXPECT_EQ(body.error().code(), ErrorCode::kUnprocessable);
    EXPECT_EQ(httpStatusFor(body.error()), 400u);
    EXPECT_NE(body.error().message().find("provider 'claude'"), std::string::npos);
    EXPECT_NE(body.error().message().find(c.feature), std::string::npos)
        << body.error().message();
  }
  // Zero penalties are the defaults: nothing to reject.
  auto req = openai::decodeChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"presence_penalty":0})");
  ASSERT_TRUE(req);
  EXPECT_TRUE(encodeMessagesRequest(*req, "claude"));
}

TEST(AnthropicEncode, DefaultsMaxTokensAndFitsTheThinkingBudget) {
  auto req = openai::decodeChatRequest(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":true})");
  ASSERT_TRUE(req);
  auto v = json::parse(*encodeMessagesRequest(*req, "p"));
  EXPECT_EQ(v.at("max_tokens"), kDefaultMaxTokens);
  EXPECT_EQ(v.at("stream"), true);
  EXPECT_FALSE(v.as_object().contains("thinking"));
  EXPECT_FALSE(v.as_object().contains("stream_options"));

  req = openai::decodeChatRequest(R"({"model":"m","messages":[{"role":"user","content":"x"}],
    "reasoning_effort":"high","max_tokens":100})");
  ASSERT_TRUE(req);
  v = json::parse(*encodeMessagesRequest(*req, "p"));
  EXPECT_EQ(v.at("thinking").at("budget_tokens"), 16384);
  EXPECT_EQ(v.at("max_tokens"), 16384 + 100);  // the budget comes on top of the answer

  // A client's max_tokens may be as large as int64 allows: the sum saturates (no overflow).
  req = openai::decodeChatRequest(R"({"model":"m","messages":[{"role":"user","content":"x"}],
    "reasoning_effort":"low","max_tokens":9223372036854775807})");
  ASSERT_TRUE(req);
  v = json::parse(*encodeMessagesRequest(*req, "p"));
  EXPECT_EQ(v.at("max_tokens"), std::numeric_limits<std::int64_t>::max());
}

TEST(AnthropicEncode, CountTokensRequestHasNoGenerationFields) {
  ChatRequest r = decodeOk(readTestdata("messages_full.request.json"));
  auto body = encodeCountTokensRequest(r, "claude");
  ASSERT_TRUE(body);
  const json::object o = json::parse(*body).as_object();
  EXPECT_TRUE(o.contains("messages"));
  EXPECT_TRUE(o.contains("system"));
  EXPECT_TRUE(o.contains("tools"));
  EXPECT_TRUE(o.contains("thinking"));
  for (const char* k : {"max_tokens", "stream", "temperature", "top_k", "top_p",
                        "stop_sequences", "metadata"}) {
    EXPECT_FALSE(o.contains(k)) << k;
  }
}

// ---- responses, usage, errors ------------------------------------------------------------------

TEST(AnthropicResponse, StopReasonsMapBothWays) {
  EXPECT_EQ(stopReasonName(FinishReason::kStop, "", false), "end_turn");
  EXPECT_EQ(stopReasonName(FinishReason::kStop, "END", false), "stop_sequence");
  EXPECT_EQ(stopReasonName(FinishReason::kLength, "", false), "max_tokens");
  EXPECT_EQ(stopReasonName(FinishReason::kToolCalls, "", true), "tool_use");
  EXPECT_EQ(stopReasonName(FinishReason::kContentFilter, "", false), "refusal");
  EXPECT_EQ(stopReasonName(FinishReason::kNone, "", true), "tool_use");

  for (const auto& [wire, native] : std::vector<std::pair<std::string, FinishReason>>{
           {"end_turn", FinishReason::kStop},
           {"stop_sequence", FinishReason::kStop},
           {"max_tokens", FinishReason::kLength},
           {"tool_use", FinishReason::kToolCalls},
           {"refusal", FinishReason::kContentFilter}}) {
    const std::string body = R"({"id":"msg_1","type":"message","role":"assistant","model":"c",
      "content":[{"type":"text","text":"hi"}],"stop_reason":")" + wire +
                             R"(","stop_sequence":)" +
                             (wire == "stop_sequence" ? "\"END\"" : "null") +
                             R"(,"usage":{"input_tokens":1,"output_tokens":1}})";
    auto res = decodeMessagesResponse(body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->choices[0].finish_reason, native) << wire;
    // And back: the Anthropic client sees what the upstream said.
    EXPECT_EQ(json::parse(encodeMessagesResponse(*res)).at("stop_reason"), wire.c_str());
  }
}

TEST(AnthropicResponse, UsageKeepsCacheReadsAndWritesApart) {
  auto res = decodeMessagesResponse(readTestdata("response.upstream.json"));
  ASSERT_TRUE(res && res->usage);
  EXPECT_EQ(res->usage->prompt_tokens, 1150);  // 120 uncached + 1000 read + 30 written
  EXPECT_EQ(res->usage->cached_tokens, 1000);
  EXPECT_EQ(res->usage->cache_write_tokens, 30);
  EXPECT_EQ(res->usage->completion_tokens, 48);
  EXPECT_EQ(res->usage->total_tokens, 1198);
}

TEST(AnthropicErrors, EncodeInAnthropicFormatWithTheRightType) {
  struct Case {
    Status status;
    const char* type;
    unsigned http;
  };
  const Case cases[] = {
      {Status(ErrorCode::kInvalidArgument, "bad"), "invalid_request_error", 400},
      {Status(ErrorCode::kUnprocessable, "nope"), "invalid_request_error", 400},
      {Status(ErrorCode::kUnauthenticated, "who"), "authentication_error", 401},
      {Status(ErrorCode::kPermissionDenied, "no").withHttpStatus(402), "billing_error", 402},
      {Status(ErrorCode::kNotFound, "model"), "not_found_error", 404},
      {Status(ErrorCode::kPayloadTooLarge, "big"), "request_too_large", 413},
      {Status(ErrorCode::kRateLimited, "slow"), "rate_limit_error", 429},
      {Status(ErrorCode::kInternal, "bug"), "api_error", 500},
      {Status(ErrorCode::kUpstream, "garbage"), "api_error", 502},
      {Status(ErrorCode::kUnavailable, "busy"), "overloaded_error", 503},
      {Status(ErrorCode::kDeadlineExceeded, "slow"), "timeout_error", 504},
  };
  for (const auto& c : cases) {
    const json::value v = json::parse(encodeError(c.status));
    EXPECT_EQ(v.at("type"), "error");
    EXPECT_EQ(v.at("error").at("type"), c.type) << c.status.message();
    EXPECT_EQ(v.at("error").at("message"), c.status.message().c_str());
    EXPECT_EQ(httpStatusFor(c.status), c.http) << c.status.message();
  }
}

TEST(AnthropicErrors, UpstreamErrorsKeepStatusTypeAndMessage) {
  Status s = decodeUpstreamError(
      529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.httpStatus(), 529);
  EXPECT_EQ(s.errorType(), "overloaded_error");
  EXPECT_EQ(s.message(), "upstream returned 529: Overloaded");
  EXPECT_EQ(json::parse(encodeError(s)).at("error").at("type"), "overloaded_error");

  s = decodeUpstreamError(404, R"({"type":"error","error":{"type":"not_found_error",
    "message":"model: claude-9"}})");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(httpStatusFor(s), 404u);
  // An OpenAI client gets the same failure in its own format.
  EXPECT_EQ(json::parse(openai::encodeError(s)).at("error").at("type"), "not_found_error");

  s = decodeUpstreamError(502, "<html>bad gateway</html>");
  EXPECT_EQ(s.code(), ErrorCode::kUpstream);
  EXPECT_NE(s.message().find("bad gateway"), std::string::npos);
}

TEST(AnthropicCountTokens, EstimateGrowsWithContent) {
  ChatRequest small = decodeOk(R"({"model":"m","max_tokens":1,
    "messages":[{"role":"user","content":"hello there"}]})");
  ChatRequest big = decodeOk(R"({"model":"m","max_tokens":1,
    "messages":[{"role":"user","content":")" + std::string(4000, 'a') + R"("}]})");
  const auto a = estimateInputTokens(small);
  const auto b = estimateInputTokens(big);
  EXPECT_GT(a, 0);
  EXPECT_GE(b, 1000);
  EXPECT_LE(b, 1100);
  EXPECT_EQ(json::parse(encodeCountTokensResponse(b)).at("input_tokens"), b);
  auto up = decodeCountTokensResponse(R"({"input_tokens":2095})");
  ASSERT_TRUE(up);
  EXPECT_EQ(*up, 2095);
  EXPECT_FALSE(decodeCountTokensResponse(R"({"tokens":1})"));
}

}  // namespace
}  // namespace switchyard::api::anthropic
