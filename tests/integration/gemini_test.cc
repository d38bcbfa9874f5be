// The real gateway in-process with a fake Gemini upstream ("gem"): a FakeUpstream scripted with
// GenerateContentResponse bodies and SSE transcripts in the shape Google documents for
// generateContent and streamGenerateContent?alt=sse. OpenAI and Anthropic clients reach it.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "switchyard/core/log.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace json = boost::json;
using fakes::Behavior;
using fakes::FakeUpstream;
using fakes::post;
using fakes::Reply;
using fakes::sseEvents;

// A GenerateContentResponse as Google documents it.
std::string geminiResponse(const std::string& parts, const std::string& finish = "STOP") {
  return R"({"candidates":[{"content":{"role":"model","parts":)" + parts +
         R"(},"finishReason":")" + finish + R"(","index":0}],
    "usageMetadata":{"promptTokenCount":21,"candidatesTokenCount":9,"thoughtsTokenCount":4,
                     "cachedContentTokenCount":16,"totalTokenCount":34},
    "modelVersion":"gemini-2.5-flash","responseId":"resp-1"})";
}

// SSE events (one GenerateContentResponse each), cut into small pieces that split events.
std::vector<std::string> geminiStream(const std::vector<std::string>& events) {
  std::string sse;
  // One line per event, as Gemini sends it (the literals above span lines for reading).
  for (const auto& e : events) sse += "data: " + json::serialize(json::parse(e)) + "\r\n\r\n";
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < sse.size(); i += 29) pieces.push_back(sse.substr(i, 29));
  return pieces;
}

const std::vector<std::string> kParallelCallStream = {
    R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Let me "}]},"index":0}],
        "modelVersion":"gemini-2.5-flash","responseId":"r-2"})",
    R"({"candidates":[{"content":{"role":"model","parts":[{"text":"check."}]},"index":0}],
        "modelVersion":"gemini-2.5-flash","responseId":"r-2"})",
    R"({"candidates":[{"content":{"role":"model","parts":[
        {"functionCall":{"name":"get_weather","args":{"location":"Paris"}},
         "thoughtSignature":"c2lnLW9uZQ=="},
        {"functionCall":{"name":"get_weather","args":{"location":"Zürich"}}}]},
        "finishReason":"STOP","index":0}],
        "usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":12,"totalTokenCount":42},
        "modelVersion":"gemini-2.5-flash","responseId":"r-2"})"};

class GeminiGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"warn", LogFormat::kText, ""}); }

  void SetUp() override {
    config::Config cfg;
    cfg.source = "<test>";
    cfg.server.host = "127.0.0.1";
    cfg.server.port = 0;
    cfg.server.workers = 1;
    cfg.log.access_log = false;
    config::ProviderConfig gem;
    gem.name = "gem";
    gem.kind = "gemini";
    gem.base_url = "http://127.0.0.1:" + std::to_string(gemini_.port()) + "/v1beta";
    gem.api_key = "AIza-gemini-secret";
    gem.models = {{"gemini-2.5-flash", {}, 0}, {"text-embedding-004", {}, 0}};
    cfg.providers = {gem};
    cfg.routes = {{"flash", "gem", "gemini-2.5-flash", 1}};
    // One upstream failure must reach the client as it is: no retries here (routing_test
    // covers them).
    cfg.routing.retry.attempts = 1;
    for (auto& r : cfg.routes) r.retry.attempts = 1;
    auto gw = server::Gateway::create(std::move(cfg));
    ASSERT_TRUE(gw.has_value()) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
  }

  Reply chat(const std::string& body) {
    return post(gateway_->port(), "/v1/chat/completions", body);
  }

  FakeUpstream gemini_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(GeminiGatewayTest, OpenAIClientNonStreaming) {
  gemini_.setBehavior(Behavior::customBody(
      200, geminiResponse(R"([{"text":"Weighing it up.","thought":true},{"text":"Hello!"}])")));
  Reply r = chat(R"({"model":"flash","messages":[{"role":"system","content":"Be brief."},
    {"role":"user","content":"Hi"}],"temperature":0.2,"max_tokens":64,
    "reasoning_effort":"low"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("object"), "chat.completion");
  EXPECT_EQ(j.at("model"), "gemini-2.5-flash");
  EXPECT_EQ(j.at("choices").at(0).at("message").at("content"), "Hello!");
  EXPECT_EQ(j.at("choices").at(0).at("message").at("reasoning_content"), "Weighing it up.");
  EXPECT_EQ(j.at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(j.at("usage"), json::parse(R"({"prompt_tokens":21,"completion_tokens":13,
    "total_tokens":34,"prompt_tokens_details":{"cached_tokens":16},
    "completion_tokens_details":{"reasoning_tokens":4}})"));
  EXPECT_EQ(r.header("x-switchyard-provider"), "gem");

  auto sent = gemini_.lastRequest();
  EXPECT_EQ(sent.target, "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(sent.header("x-goog-api-key"), "AIza-gemini-secret");
  EXPECT_EQ(sent.target.find("key="), std::string::npos);  // never in the URL
  EXPECT_EQ(sent.header("authorization"), "");
  auto up = json::parse(sent.body);
  EXPECT_EQ(up.at("systemInstruction"), json::parse(R"({"parts":[{"text":"Be brief."}]})"));
  EXPECT_EQ(up.at("contents"), json::parse(R"([{"role":"user","parts":[{"text":"Hi"}]}])"));
  EXPECT_EQ(up.at("generationConfig"), json::parse(R"({"temperature":0.2,"maxOutputTokens":64,
    "thinkingConfig":{"thinkingBudget":1024,"includeThoughts":true}})"));
}

TEST_F(GeminiGatewayTest, OpenAIClientStreaming) {
  gemini_.setBehavior(Behavior::customStream(geminiStream(
      {R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}]})",
       R"({"candidates":[{"content":{"role":"model","parts":[{"text":"lo Zürich"}]},
           "finishReason":"STOP","index":0}],
           "usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8},
           "modelVersion":"gemini-2.5-flash"})"})));
  Reply r = chat(R"({"model":"flash","stream":true,"stream_options":{"include_usage":true},
    "messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sseEvents(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().data, "[DONE]");
  std::string text, finish;
  bool saw_usage = false;
  for (const auto& e : events) {
    if (!e.data.is_object()) continue;
    for (const auto& ch : e.data.at("choices").as_array()) {
      const auto& d = ch.at("delta").as_object();
      if (auto* t = d.if_contains("content"); t && t->is_string()) text += t->as_string();
      if (ch.at("finish_reason").is_string()) finish = ch.at("finish_reason").as_string();
    }
    if (auto* u = e.data.as_object().if_contains("usage"); u && u->is_object()) {
      saw_usage = true;
      EXPECT_EQ(u->at("prompt_tokens"), 5);
      EXPECT_EQ(u->at("completion_tokens"), 3);
    }
  }
  EXPECT_EQ(text, "Hello Zürich");
  EXPECT_EQ(finish, "stop");
  EXPECT_TRUE(saw_usage);
  EXPECT_EQ(gemini_.lastRequest().target,
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
}

TEST_F(GeminiGatewayTest, ParallelToolCallsStreamedAndSignatureSurvivesTwoTurns) {
  // Turn 1: the model calls two functions at once; the first call is signed.
  gemini_.pushBehavior(Behavior::customStream(geminiStream(kParallelCallStream)));
  Reply r = chat(R"({"model":"flash","stream":true,"messages":[
    {"role":"user","content":"Weather in Paris and Zürich?"}],
    "tools":[{"type":"function","function":{"name":"get_weather","parameters":{
      "type":"object","properties":{"location":{"type":"string"}},"required":["location"],
      "additionalProperties":false}}}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  std::map<int, json::object> calls;  // by tool-call index, as an OpenAI client accumulates
  std::string finish;
  for (const auto& e : sseEvents(r.body)) {
    if (!e.data.is_object()) continue;
    for (const auto& ch : e.data.at("choices").as_array()) {
      if (auto* tc = ch.at("delta").as_object().if_contains("tool_calls")) {
        for (const auto& call : tc->as_array()) {
          calls[static_cast<int>(call.at("index").as_int64())] = call.as_object();
        }
      }
      if (ch.at("finish_reason").is_string()) finish = ch.at("finish_reason").as_string();
    }
  }
  ASSERT_EQ(calls.size(), 2u) << r.body;
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(json::parse(calls[1].at("function").at("arguments").as_string()),
            json::parse(R"({"location":"Zürich"})"));
  const std::string id0(calls[0].at("id").as_string());
  const std::string id1(calls[1].at("id").as_string());
  EXPECT_NE(id0, id1);
  auto up1 = json::parse(gemini_.lastRequest().body);
  EXPECT_EQ(up1.at("tools").at(0).at("functionDeclarations").at(0).at("parameters"),
            json::parse(R"({"type":"OBJECT","properties":{"location":{"type":"STRING"}},
                            "required":["location"]})"));

  // Turn 2: the client sends the calls back with their results, as the OpenAI SDK does.
  gemini_.pushBehavior(Behavior::customBody(200, geminiResponse(R"([{"text":"Both sunny."}])")));
  json::object body;
  body["model"] = "flash";
  json::array messages;
  messages.push_back(json::parse(R"({"role":"user","content":"Weather in Paris and Zürich?"})"));
  json::object assistant;
  assistant["role"] = "assistant";
  assistant["content"] = "Let me check.";
  json::array tool_calls;
  for (auto& [index, call] : calls) {
    json::object c;
    c["id"] = call.at("id");
    c["type"] = "function";
    c["function"] = call.at("function");
    tool_calls.push_back(std::move(c));
  }
  assistant["tool_calls"] = std::move(tool_calls);
  messages.push_back(std::move(assistant));
  messages.push_back(json::value{{"role", "tool"}, {"tool_call_id", id0}, {"content", "22C"}});
  messages.push_back(json::value{{"role", "tool"}, {"tool_call_id", id1}, {"content", "18C"}});
  body["messages"] = std::move(messages);
  r = chat(json::serialize(body));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("choices").at(0).at("message").at("content"), "Both sunny.");

  auto up2 = json::parse(gemini_.lastRequest().body);
  EXPECT_EQ(up2.at("contents"), json::parse(R"([
    {"role":"user","parts":[{"text":"Weather in Paris and Zürich?"}]},
    {"role":"model","parts":[{"text":"Let me check."},
      {"functionCall":{"name":"get_weather","args":{"location":"Paris"}},
       "thoughtSignature":"c2lnLW9uZQ=="},
      {"functionCall":{"name":"get_weather","args":{"location":"Zürich"}}}]},
    {"role":"user","parts":[
      {"functionResponse":{"name":"get_weather","response":{"output":"22C"}}},
      {"functionResponse":{"name":"get_weather","response":{"output":"18C"}}}]}])"))
      << json::serialize(up2.at("contents"));
}

TEST_F(GeminiGatewayTest, Upstream429KeepsStatusAndRetryAfter) {
  Behavior b = Behavior::customBody(
      429, R"({"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).",
                "status":"RESOURCE_EXHAUSTED"}})");
  b.headers = {{"Retry-After", "17"}};
  gemini_.setBehavior(b);
  Reply r = chat(R"({"model":"flash","messages":[{"role":"user","content":"Hi"}]})");
  EXPECT_EQ(r.status, 429u) << r.body;
  EXPECT_EQ(r.header("retry-after"), "17");
  EXPECT_EQ(r.json().at("error").at("type"), "rate_limit_error") << r.body;
  EXPECT_NE(r.json().at("error").at("message").as_string().find("exhausted"), std::string::npos);

  // The same before the first byte of a stream: a plain error response.
  r = chat(R"({"model":"flash","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  EXPECT_EQ(r.status, 429u) << r.body;
  EXPECT_EQ(r.header("retry-after"), "17");

  gemini_.setBehavior(Behavior::customBody(
      400, R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.",
                "status":"INVALID_ARGUMENT"}})"));
  r = chat(R"({"model":"flash","messages":[{"role":"user","content":"Hi"}]})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error").at("code"), "INVALID_ARGUMENT");
}

TEST_F(GeminiGatewayTest, ErrorInsideTheStreamReachesEachClientInItsFormat) {
  const std::vector<std::string> events = {
      R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Partial"}]},"index":0}]})",
      R"({"error":{"code":503,"message":"The model is overloaded. Please try again later.",
          "status":"UNAVAILABLE"}})"};
  gemini_.setBehavior(Behavior::customStream(geminiStream(events)));
  Reply r = chat(R"({"model":"flash","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200u);
  auto chunks = sseEvents(r.body);
  ASSERT_FALSE(chunks.empty());
  ASSERT_TRUE(chunks.back().data.is_object()) << r.body;
  ASSERT_TRUE(chunks.back().data.as_object().contains("error")) << r.body;
  EXPECT_NE(chunks.back().data.at("error").at("message").as_string().find("overloaded"),
            std::string::npos);
  EXPECT_NE(r.body.find("Partial"), std::string::npos);

  r = post(gateway_->port(), "/v1/messages",
           R"({"model":"flash","max_tokens":100,"stream":true,
               "messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200u);
  auto aevents = sseEvents(r.body);
  ASSERT_FALSE(aevents.empty());
  EXPECT_EQ(aevents.back().name, "error") << r.body;
  EXPECT_EQ(aevents.back().data.at("error").at("type"), "overloaded_error") << r.body;

  // A body that ends before any finishReason was cut.
  gemini_.setBehavior(Behavior::customStream(geminiStream({events[0]})));
  r = chat(R"({"model":"flash","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200u);
  chunks = sseEvents(r.body);
  ASSERT_FALSE(chunks.empty());
  ASSERT_TRUE(chunks.back().data.is_object()) << r.body;
  EXPECT_TRUE(chunks.back().data.as_object().contains("error")) << r.body;
}

TEST_F(GeminiGatewayTest, AnthropicClientReachesGemini) {
  gemini_.setBehavior(Behavior::customBody(
      200, geminiResponse(R"([{"text":"Calling."},{"functionCall":{"name":"lookup",
        "args":{"q":"x"}},"thoughtSignature":"c2ln"}])")));
  Reply r = post(gateway_->port(), "/v1/messages",
                 R"({"model":"flash","max_tokens":2000,"system":"Be brief.",
                     "thinking":{"type":"enabled","budget_tokens":1024},
                     "tools":[{"name":"lookup","input_schema":{"type":"object",
                       "properties":{"q":{"type":"string"}}}}],
                     "tool_choice":{"type":"any"},
                     "messages":[{"role":"user","content":[{"type":"text","text":"Hi"},
                       {"type":"image","source":{"type":"base64","media_type":"image/jpeg",
                        "data":"/9j/4AAQ"}}]}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("type"), "message");
  EXPECT_EQ(j.at("stop_reason"), "tool_use");
  EXPECT_EQ(j.at("content").at(0).at("text"), "Calling.");
  EXPECT_EQ(j.at("content").at(1).at("type"), "tool_use");
  EXPECT_EQ(j.at("content").at(1).at("input"), json::parse(R"({"q":"x"})"));
  EXPECT_EQ(j.at("usage").at("cache_read_input_tokens"), 16);
  auto up = json::parse(gemini_.lastRequest().body);
  EXPECT_EQ(up.at("systemInstruction").at("parts").at(0).at("text"), "Be brief.");
  EXPECT_EQ(up.at("contents").at(0).at("parts").at(1),
            json::parse(R"({"inlineData":{"mimeType":"image/jpeg","data":"/9j/4AAQ"}})"));
  EXPECT_EQ(up.at("toolConfig"), json::parse(R"({"functionCallingConfig":{"mode":"ANY"}})"));
  EXPECT_EQ(up.at("generationConfig").at("thinkingConfig"),
            json::parse(R"({"thinkingBudget":1024,"includeThoughts":true})"));

  // What Gemini cannot do is a 400 in Anthropic's format and never reaches the upstream.
  const auto before = gemini_.requestCount();
  r = post(gateway_->port(), "/v1/messages",
           R"({"model":"flash","max_tokens":100,"messages":[{"role":"user","content":[
             {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}]})");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(r.json().at("error").at("type"), "invalid_request_error");
  EXPECT_NE(r.json().at("error").at("message").as_string().find("image URLs"), std::string::npos);
  EXPECT_EQ(gemini_.requestCount(), before);
}

TEST_F(GeminiGatewayTest, EmbeddingsThroughBatchEmbedContents) {
  gemini_.setBehavior(Behavior::customBody(
      200, R"({"embeddings":[{"values":[0.5,-0.25]},{"values":[0.125,1]}]})"));
  Reply r = post(gateway_->port(), "/v1/embeddings",
                 R"({"model":"text-embedding-004","input":["first text","second"],)"
                 R"("dimensions":2})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("object"), "list");
  EXPECT_EQ(j.at("model"), "text-embedding-004");
  EXPECT_EQ(j.at("data").at(0).at("embedding"), json::parse("[0.5,-0.25]"));
  EXPECT_EQ(j.at("data").at(1).at("index"), 1);
  EXPECT_EQ(j.at("data").at(1).at("embedding"), json::parse("[0.125,1]"));
  EXPECT_EQ(j.at("usage").at("prompt_tokens"), 3 + 2);  // estimated: Gemini reports none

  auto sent = gemini_.lastRequest();
  EXPECT_EQ(sent.target, "/v1beta/models/text-embedding-004:batchEmbedContents");
  EXPECT_EQ(sent.header("x-goog-api-key"), "AIza-gemini-secret");
  EXPECT_EQ(json::parse(sent.body).at("requests").at(1),
            json::parse(R"({"model":"models/text-embedding-004",
              "content":{"parts":[{"text":"second"}]},"outputDimensionality":2})"));

  // An upstream error keeps its status and Google's status name.
  gemini_.setBehavior(Behavior::customBody(
      429, R"({"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}})"));
  r = post(gateway_->port(), "/v1/embeddings", R"({"model":"text-embedding-004","input":"x"})");
  EXPECT_EQ(r.status, 429u) << r.body;
}


}  // namespace
}  // namespace switchyard
