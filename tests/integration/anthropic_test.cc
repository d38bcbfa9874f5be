// The real gateway in-process with two upstreams: a fake OpenAI-compatible one ("up") and a
// fake Anthropic one ("claude", scripted with canned Messages API bodies and SSE transcripts
// from Anthropic's documentation). Anthropic clients reach both; OpenAI clients reach Claude.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>

#include "switchyard/core/log.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_gateway.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace json = boost::json;
namespace bhttp = boost::beast::http;
using fakes::Behavior;
using fakes::Client;
using fakes::eventNames;
using fakes::FakeUpstream;
using fakes::Headers;
using fakes::post;
using fakes::Reply;
using fakes::SseEvent;
using fakes::sseEvents;

std::string textOf(const std::vector<SseEvent>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e.name == "content_block_delta" && e.data.at("delta").at("type") == "text_delta") {
      text += e.data.at("delta").at("text").as_string();
    }
  }
  return text;
}

constexpr const char* kAnthropicMessage = R"({
  "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [{"type": "text", "text": "Hi! My name is Claude."}],
  "stop_reason": "end_turn", "stop_sequence": null,
  "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 1000}})";

// Anthropic's documented stream for a tool call, cut into pieces that split events, lines and
// even a UTF-8 character.
std::vector<std::string> anthropicToolStream(bool with_error = false) {
  std::string sse =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\","
      "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
      "\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2},"
      "\"content\":[],\"stop_reason\":null}}\n\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
      "\"text\":\"\"}}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
      "\"text\":\"Okay, checking Zürich\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
  if (with_error) {
    sse += "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
           "\"message\":\"Overloaded\"}}\n\n";
  } else {
    sse +=
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
        "\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\","
        "\"input\":{}}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\" \\\"Zürich\\\"}\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: message_delta\n"
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
        "\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  }
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < sse.size(); i += 37) pieces.push_back(sse.substr(i, 37));
  return pieces;
}

class AnthropicGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"warn", LogFormat::kText, ""}); }

  void SetUp() override {
    config::Config cfg = fakes::testConfig();
    cfg.providers = {
        fakes::fakeProvider("up", "openai", openai_, {{"fake-model", {}, 0}}, "sk-openai-secret"),
        fakes::fakeProvider("claude", "anthropic", anthropic_, {{"claude-sonnet-4-5", {}, 0}},
                            "sk-ant-secret")};
    cfg.routes = {{"fast", "up", "fake-model", 1}, {"smart", "claude", "claude-sonnet-4-5", 2}};
    fakes::noRetries(cfg);
    gateway_ = fakes::startGateway(std::move(cfg));
    ASSERT_TRUE(gateway_);
  }

  static std::string messagesBody(std::string_view model, bool stream = false,
                                  std::string_view extra = "") {
    std::string body = R"({"model":")" + std::string(model) +
                       R"(","max_tokens":256,"system":"Be brief.",)"
                       R"("messages":[{"role":"user","content":"Hi"}])";
    if (stream) body += R"(,"stream":true)";
    if (!extra.empty()) body += "," + std::string(extra);
    return body + "}";
  }

  Reply messages(const std::string& body) {
    return post(gateway_->port(), "/v1/messages", body,
                {{"x-api-key", "client-key"}, {"anthropic-version", "2023-06-01"}});
  }

  FakeUpstream openai_;
  FakeUpstream anthropic_;
  std::unique_ptr<server::Gateway> gateway_;
};

// ---- Anthropic client -> OpenAI-compatible upstream ---------------------------------------

TEST_F(AnthropicGatewayTest, MessagesReachAnOpenAIUpstreamTranslated) {
  Reply r = messages(messagesBody("fast", false, R"("stop_sequences":["END"],"top_k":5)"));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("type"), "message");
  EXPECT_EQ(j.at("role"), "assistant");
  EXPECT_EQ(j.at("content").at(0).at("type"), "text");
  EXPECT_EQ(j.at("content").at(0).at("text"), "Hello from the fake upstream!");
  EXPECT_EQ(j.at("stop_reason"), "end_turn");
  EXPECT_EQ(j.at("usage").at("input_tokens"), 12);
  EXPECT_EQ(j.at("usage").at("output_tokens"), 5);
  EXPECT_EQ(r.header("x-switchyard-provider"), "up");
  EXPECT_EQ(r.header("request-id"), r.header("x-request-id"));

  auto sent = openai_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/chat/completions");
  EXPECT_EQ(sent.header("authorization"), "Bearer sk-openai-secret");  // not the client's key
  EXPECT_EQ(sent.header("x-api-key"), "");
  auto up = json::parse(sent.body);
  EXPECT_EQ(up.at("model"), "fake-model");
  EXPECT_EQ(up.at("max_tokens"), 256);
  EXPECT_EQ(up.at("stop"), json::parse(R"(["END"])"));
  EXPECT_EQ(up.at("messages"), json::parse(R"([{"role":"system","content":"Be brief."},
                                                {"role":"user","content":"Hi"}])"));
}

// vLLM says which stop string ended a choice (stop_reason); Anthropic clients get it as
// stop_reason "stop_sequence" with the string, streamed or not. A stop token's id is no string.
TEST_F(AnthropicGatewayTest, VllmStopReasonBecomesTheStopSequence) {
  openai_.pushBehavior(Behavior::customBody(
      200, R"({"id":"cmpl-v","object":"chat.completion","created":1,"model":"fake-model",)"
           R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi "},)"
           R"("finish_reason":"stop","stop_reason":"END"}],)"
           R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})"));
  Reply r = messages(messagesBody("fast", false, R"("stop_sequences":["END"])"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("stop_reason"), "stop_sequence");
  EXPECT_EQ(r.json().at("stop_sequence"), "END");
  EXPECT_EQ(r.json().at("id"), "msg_cmpl-v");  // Anthropic's id prefix, the upstream's id kept

  auto chunk = [](std::string_view choice) {
    return R"(data: {"id":"cmpl-v","object":"chat.completion.chunk","created":1,)"
           R"("model":"fake-model","choices":[)" +
           std::string(choice) + "]}\n\n";
  };
  openai_.pushBehavior(Behavior::customStream(
      {chunk(R"({"index":0,"delta":{"role":"assistant","content":"Hi "},"finish_reason":null})"),
       chunk(R"({"index":0,"delta":{},"finish_reason":"stop","stop_reason":"END"})"),
       "data: [DONE]\n\n"}));
  Reply streamed = messages(messagesBody("fast", true, R"("stop_sequences":["END"])"));
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  auto events = sseEvents(streamed.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().data.at("message").at("id"), "msg_cmpl-v");
  const auto& delta = events[events.size() - 2].data;
  EXPECT_EQ(delta.at("delta").at("stop_reason"), "stop_sequence") << streamed.body;
  EXPECT_EQ(delta.at("delta").at("stop_sequence"), "END");

  openai_.pushBehavior(Behavior::customBody(
      200, R"({"id":"cmpl-v","choices":[{"index":0,"message":{"content":"Hi"},)"
           R"("finish_reason":"stop","stop_reason":151645}]})"));
  Reply token = messages(messagesBody("fast"));
  ASSERT_EQ(token.status, 200u) << token.body;
  EXPECT_EQ(token.json().at("stop_reason"), "end_turn");
  EXPECT_TRUE(token.json().at("stop_sequence").is_null());
}

TEST_F(AnthropicGatewayTest, StreamFromAnOpenAIUpstreamFollowsAnthropicEventOrder) {
  Reply r = messages(messagesBody("fast", true));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sseEvents(r.body);
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(events.front().name, "message_start");
  EXPECT_EQ(events[1].name, "ping");
  EXPECT_EQ(events[2].name, "content_block_start");
  EXPECT_EQ(events[events.size() - 3].name, "content_block_stop");
  EXPECT_EQ(events[events.size() - 2].name, "message_delta");
  EXPECT_EQ(events.back().name, "message_stop");
  EXPECT_EQ(textOf(events), "Hello from the fake upstream!");
  const auto& delta = events[events.size() - 2].data;
  EXPECT_EQ(delta.at("delta").at("stop_reason"), "end_turn");
  EXPECT_EQ(delta.at("usage").at("output_tokens"), 5);  // usage asked of the upstream
  EXPECT_EQ(json::parse(openai_.lastRequest().body).at("stream_options").at("include_usage"),
            true);
}

TEST_F(AnthropicGatewayTest, StreamedToolCallArgumentsArriveAsInputJsonDeltas) {
  Behavior b = Behavior::toolCall();
  b.tool_argument_piece = 2;
  openai_.setBehavior(b);
  Reply r = messages(messagesBody(
      "fast", true,
      R"("tools":[{"name":"get_weather","input_schema":{"type":"object"}}],)"
      R"("tool_choice":{"type":"any"})"));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto events = sseEvents(r.body);
  std::string args;
  int deltas = 0;
  for (const auto& e : events) {
    if (e.name == "content_block_start" && e.data.at("content_block").at("type") == "tool_use") {
      EXPECT_EQ(e.data.at("content_block").at("name"), "get_weather");
    }
    if (e.name == "content_block_delta" &&
        e.data.at("delta").at("type") == "input_json_delta") {
      args += e.data.at("delta").at("partial_json").as_string();
      ++deltas;
    }
  }
  EXPECT_GT(deltas, 5);
  EXPECT_EQ(json::parse(args), json::parse(b.tool_arguments));
  EXPECT_EQ(events[events.size() - 2].data.at("delta").at("stop_reason"), "tool_use");
  auto up = json::parse(openai_.lastRequest().body);
  EXPECT_EQ(up.at("tool_choice"), "required");
  EXPECT_EQ(up.at("tools").at(0).at("function").at("name"), "get_weather");
}

TEST_F(AnthropicGatewayTest, ErrorsComeInAnthropicFormat) {
  Reply r = messages(R"({"model":"fast","messages":[{"role":"user","content":"Hi"}]})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json(), json::parse(R"({"type":"error","error":{"type":"invalid_request_error",
    "message":"max_tokens: field required"}})"));

  r = messages(messagesBody("no-such-model"));
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.json().at("error").at("type"), "not_found_error");

  r = messages("{broken");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("type"), "error");

  openai_.pushBehavior(Behavior::error(429, "slow down"));
  r = messages(messagesBody("fast"));
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.json().at("error").at("type"), "rate_limit_error");
  EXPECT_NE(r.json().at("error").at("message").as_string().find("slow down"), std::string::npos);

  // A stream that fails before its first byte is a plain error response too.
  openai_.pushBehavior(Behavior::error(500, "boom"));
  r = messages(messagesBody("fast", true));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.json().at("error").at("type"), "api_error");

  r = post(gateway_->port(), "/v1/messages", "", {});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("type"), "error");
}

TEST_F(AnthropicGatewayTest, UpstreamStreamCutMidwayEndsWithAnErrorEvent) {
  openai_.pushBehavior(Behavior::cutStream(3));
  Client c(gateway_->port());
  const Headers headers{{"x-api-key", "client-key"}, {"anthropic-version", "2023-06-01"}};
  Reply r = c.call(bhttp::verb::post, "/v1/messages", messagesBody("fast", true), headers);
  ASSERT_EQ(r.status, 200u);
  auto events = sseEvents(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "error");
  EXPECT_EQ(events.back().data.at("type"), "error");
  EXPECT_FALSE(events.back().data.at("error").at("message").as_string().empty());
  for (const auto& e : events) EXPECT_NE(e.name, "message_stop");
  // A complete response: its connection serves the next request.
  EXPECT_EQ(c.call(bhttp::verb::post, "/v1/messages", messagesBody("fast", false), headers).status,
            200u);
}

TEST_F(AnthropicGatewayTest, ServerToolsAreRejectedForOtherProviders) {
  Reply r = messages(messagesBody(
      "fast", false, R"("tools":[{"type":"web_search_20250305","name":"web_search"}])"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.json().at("error").at("message").as_string().find("web_search_20250305"),
            std::string::npos);
  EXPECT_EQ(openai_.requestCount(), 0u);
}

TEST_F(AnthropicGatewayTest, CountTokensEstimatesForOtherProviders) {
  Reply r = post(gateway_->port(), "/v1/messages/count_tokens",
                 R"({"model":"fast","messages":[{"role":"user","content":")" +
                     std::string(400, 'x') + R"("}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-token-count"), "estimate");
  EXPECT_GE(r.json().at("input_tokens").as_int64(), 100);
  EXPECT_LE(r.json().at("input_tokens").as_int64(), 120);
  EXPECT_EQ(openai_.requestCount(), 0u);
}

// ---- Anthropic upstream ---------------------------------------------------------------------

TEST_F(AnthropicGatewayTest, AnthropicUpstreamGetsItsHeadersAndWireFormat) {
  anthropic_.setBehavior(Behavior::customBody(200, kAnthropicMessage));
  Reply r = messages(R"({"model":"smart","max_tokens":2048,"system":"Be brief.",
    "messages":[{"role":"user","content":"Hi"}],
    "thinking":{"type":"enabled","budget_tokens":1024},"metadata":{"user_id":"u1"}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("id"), "msg_013Zva2CMHLNnXjNJJKqJ2EF");
  EXPECT_EQ(j.at("content").at(0).at("text"), "Hi! My name is Claude.");
  EXPECT_EQ(j.at("usage"), json::parse(R"({"input_tokens":2095,"cache_creation_input_tokens":10,
    "cache_read_input_tokens":1000,"output_tokens":503})"));

  auto sent = anthropic_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/messages");
  EXPECT_EQ(sent.header("x-api-key"), "sk-ant-secret");
  EXPECT_EQ(sent.header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(sent.header("authorization"), "");
  auto up = json::parse(sent.body);
  EXPECT_EQ(up.at("model"), "claude-sonnet-4-5");
  EXPECT_EQ(up.at("system"), "Be brief.");
  EXPECT_EQ(up.at("thinking"), json::parse(R"({"type":"enabled","budget_tokens":1024})"));
  EXPECT_EQ(up.at("metadata").at("user_id"), "u1");
  EXPECT_FALSE(up.as_object().contains("reasoning_effort"));
}

TEST_F(AnthropicGatewayTest, OpenAIClientReachesClaude) {
  anthropic_.setBehavior(Behavior::customBody(200, kAnthropicMessage));
  Reply r = post(gateway_->port(), "/v1/chat/completions",
                 R"({"model":"smart","messages":[{"role":"system","content":"S"},
                     {"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("object"), "chat.completion");
  EXPECT_EQ(j.at("choices").at(0).at("message").at("content"), "Hi! My name is Claude.");
  EXPECT_EQ(j.at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(j.at("usage").at("prompt_tokens"), 3105);
  EXPECT_EQ(j.at("usage").at("prompt_tokens_details").at("cached_tokens"), 1000);
  auto up = json::parse(anthropic_.lastRequest().body);
  EXPECT_EQ(up.at("max_tokens"), 4096);  // required upstream, defaulted
  EXPECT_EQ(up.at("system"), "S");
  EXPECT_EQ(up.at("messages"), json::parse(R"([{"role":"user","content":[
    {"type":"text","text":"Hi"}]}])"));

  // What the Messages API cannot do is a 400 naming it, and never reaches the upstream.
  const auto before = anthropic_.requestCount();
  r = post(gateway_->port(), "/v1/chat/completions",
           R"({"model":"smart","n":3,"messages":[{"role":"user","content":"Hi"}]})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.json().at("error").at("message").as_string().find("n > 1"), std::string::npos);
  EXPECT_EQ(anthropic_.requestCount(), before);
}

TEST_F(AnthropicGatewayTest, AnthropicStreamRelaysToBothClientFormats) {
  anthropic_.setBehavior(Behavior::customStream(anthropicToolStream()));
  // Anthropic in, Anthropic out: the events survive the round trip.
  Reply r = messages(messagesBody("smart", true));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto events = sseEvents(r.body);
  EXPECT_EQ(eventNames(events),
            (std::vector<std::string>{"message_start", "ping", "content_block_start",
                                      "content_block_delta", "content_block_stop",
                                      "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop",
                                      "message_delta", "message_stop"}));
  EXPECT_EQ(textOf(events), "Okay, checking Zürich");
  EXPECT_EQ(events[5].data.at("content_block").at("id"), "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
  EXPECT_EQ(events[9].data.at("delta").at("stop_reason"), "tool_use");
  EXPECT_EQ(events[9].data.at("usage").at("output_tokens"), 89);
  EXPECT_EQ(events[9].data.at("usage").at("input_tokens"), 472);
  EXPECT_EQ(json::parse(anthropic_.lastRequest().body).at("stream"), true);

  // OpenAI in, Anthropic out: chunks with streamed tool-call arguments.
  r = post(gateway_->port(), "/v1/chat/completions",
           R"({"model":"smart","stream":true,"stream_options":{"include_usage":true},
               "messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto chunks = sseEvents(r.body);
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.back().data, "[DONE]");
  std::string text, args, finish;
  bool saw_usage = false;
  for (const auto& c : chunks) {
    if (!c.data.is_object()) continue;
    for (const auto& ch : c.data.at("choices").as_array()) {
      const auto& d = ch.at("delta").as_object();
      if (auto* t = d.if_contains("content"); t && t->is_string()) text += t->as_string();
      if (auto* calls = d.if_contains("tool_calls")) {
        for (const auto& call : calls->as_array()) {
          args += call.at("function").at("arguments").as_string();
        }
      }
      if (ch.at("finish_reason").is_string()) finish = ch.at("finish_reason").as_string();
    }
    if (auto* u = c.data.as_object().if_contains("usage"); u && u->is_object()) {
      saw_usage = true;
      EXPECT_EQ(u->at("prompt_tokens"), 472);
      EXPECT_EQ(u->at("completion_tokens"), 89);
    }
  }
  EXPECT_EQ(text, "Okay, checking Zürich");
  EXPECT_EQ(json::parse(args), json::parse(R"({"location": "Zürich"})"));
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_TRUE(saw_usage);
}

TEST_F(AnthropicGatewayTest, ErrorEventInsideTheUpstreamStreamReachesEachClientInItsFormat) {
  anthropic_.setBehavior(Behavior::customStream(anthropicToolStream(/*with_error=*/true)));
  Reply r = messages(messagesBody("smart", true));
  ASSERT_EQ(r.status, 200u);
  auto events = sseEvents(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(textOf(events), "Okay, checking Zürich");
  EXPECT_EQ(events.back().name, "error");
  EXPECT_EQ(events.back().data.at("error").at("type"), "overloaded_error");

  r = post(gateway_->port(), "/v1/chat/completions",
           R"({"model":"smart","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200u);
  auto chunks = sseEvents(r.body);
  ASSERT_FALSE(chunks.empty());
  ASSERT_TRUE(chunks.back().data.is_object()) << r.body;
  EXPECT_TRUE(chunks.back().data.as_object().contains("error")) << r.body;
  EXPECT_NE(chunks.back().data.at("error").at("message").as_string().find("Overloaded"),
            std::string::npos);
}

TEST_F(AnthropicGatewayTest, AnthropicUpstreamErrorsKeepStatusAndType) {
  anthropic_.setBehavior(Behavior::customBody(
      529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
  Reply r = messages(messagesBody("smart"));
  EXPECT_EQ(r.status, 529u);
  EXPECT_EQ(r.json().at("error").at("type"), "overloaded_error");
  r = messages(messagesBody("smart", true));
  EXPECT_EQ(r.status, 529u);
  EXPECT_EQ(r.json().at("error").at("type"), "overloaded_error");
}

TEST_F(AnthropicGatewayTest, CountTokensIsForwardedToAnthropic) {
  anthropic_.setBehavior(Behavior::customBody(200, R"({"input_tokens":2095})"));
  Reply r = post(gateway_->port(), "/v1/messages/count_tokens",
                 R"({"model":"smart","system":"S","messages":[{"role":"user","content":"Hi"}],
                     "tools":[{"name":"f","input_schema":{"type":"object"}}]})",
                 {{"x-api-key", "client-key"}, {"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"input_tokens":2095})"));
  EXPECT_EQ(r.header("x-switchyard-token-count"), "upstream");
  auto sent = anthropic_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/messages/count_tokens");
  auto up = json::parse(sent.body);
  EXPECT_EQ(up.at("model"), "claude-sonnet-4-5");
  EXPECT_FALSE(up.as_object().contains("max_tokens"));
  EXPECT_EQ(up.at("tools").at(0).at("name"), "f");
}

}  // namespace
}  // namespace switchyard
