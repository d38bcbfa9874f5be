// The real gateway in-process in front of a fake OpenAI-compatible upstream (and a fake
// Anthropic one), spoken to in Ollama's native API: NDJSON streams, tool calls with object
// arguments, generate (templated and raw), embeddings, the model listing endpoints and errors in
// Ollama's format.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "switchyard/core/log.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_gateway.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using fakes::Behavior;
using fakes::Client;
using fakes::FakeUpstream;
using fakes::Reply;
using fakes::request;

class OllamaGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"warn", LogFormat::kText, ""}); }

  void SetUp() override {
    config::Config cfg = fakes::testConfig();
    cfg.providers = {
        fakes::fakeProvider("up", "openai", upstream_,
                            {{"fake-model", {"fm"}, 32768}, {"fake-embedder", {}, 0}}, "sk-secret"),
        fakes::fakeProvider("claude", "anthropic", anthropic_, {{"claude-sonnet-4-5", {}, 0}},
                            "sk-ant-secret")};
    cfg.routes = {{"fast", "up", "fake-model", 1},
                  {"embed", "up", "fake-embedder", 2},
                  {"smart", "claude", "claude-sonnet-4-5", 3}};
    fakes::noRetries(cfg);
    gateway_ = fakes::startGateway(std::move(cfg));
    ASSERT_TRUE(gateway_);
  }

  Reply post(const std::string& target, const std::string& body) {
    return request(gateway_->port(), bhttp::verb::post, target, body);
  }
  Reply get(const std::string& target) {
    return request(gateway_->port(), bhttp::verb::get, target);
  }

  FakeUpstream upstream_;
  FakeUpstream anthropic_;  // scripted with Anthropic Messages API bodies
  std::unique_ptr<server::Gateway> gateway_;
};

constexpr const char* kChat =
    R"({"model":"fast","messages":[{"role":"system","content":"Be brief."},)"
    R"({"role":"user","content":"Hi"}])";

TEST_F(OllamaGatewayTest, ChatStreamsNdjsonByDefault) {
  Reply r = post("/api/chat", std::string(kChat) + R"(,"options":{"temperature":0.5,"top_k":3}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(r.header("x-switchyard-provider"), "up");
  auto lines = r.lines();
  ASSERT_GE(lines.size(), 2u) << r.body;
  std::string text;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(lines[i].at("done"), false);
    EXPECT_EQ(lines[i].at("model"), "fast");
    EXPECT_EQ(lines[i].at("message").at("role"), "assistant");
    text += lines[i].at("message").at("content").as_string();
  }
  EXPECT_EQ(text, "Hello from the fake upstream!");
  const auto& last = lines.back();
  EXPECT_EQ(last.at("done"), true);
  EXPECT_EQ(last.at("done_reason"), "stop");
  EXPECT_EQ(last.at("prompt_eval_count"), 12);
  EXPECT_EQ(last.at("eval_count"), 5);
  EXPECT_GT(last.at("total_duration").as_int64(), 0);
  for (const char* k : {"load_duration", "prompt_eval_duration", "eval_duration"}) {
    EXPECT_TRUE(last.at(k).is_int64()) << k;
  }
  EXPECT_TRUE(last.as_object().contains("created_at"));

  auto sent = json::parse(upstream_.lastRequest().body);
  EXPECT_EQ(sent.at("model"), "fake-model");
  EXPECT_EQ(sent.at("stream"), true);
  EXPECT_EQ(sent.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(sent.at("temperature"), 0.5);
  EXPECT_EQ(sent.at("top_k"), 3);
  EXPECT_EQ(sent.at("messages"), json::parse(R"([{"role":"system","content":"Be brief."},
                                                  {"role":"user","content":"Hi"}])"));
}

TEST_F(OllamaGatewayTest, ChatWithoutStreamingIsOneObject) {
  Reply r = post("/api/chat", std::string(kChat) + R"(,"stream":false,"format":"json"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json; charset=utf-8");
  auto j = r.json();
  EXPECT_EQ(j.at("message").at("content"), "Hello from the fake upstream!");
  EXPECT_EQ(j.at("done"), true);
  EXPECT_EQ(j.at("done_reason"), "stop");
  EXPECT_EQ(j.at("prompt_eval_count"), 12);
  EXPECT_EQ(j.at("eval_count"), 5);
  // A whole answer from an API cannot be split into its phases: all of the upstream call is
  // generation (the rate a client computes from it is the rate it saw, not an infinite one).
  EXPECT_EQ(j.at("prompt_eval_duration"), 0);
  EXPECT_GT(j.at("eval_duration").as_int64(), 0);
  EXPECT_LE(j.at("eval_duration").as_int64(), j.at("total_duration").as_int64());
  auto sent = json::parse(upstream_.lastRequest().body);
  EXPECT_EQ(sent.at("response_format"), json::parse(R"({"type":"json_object"})"));
  EXPECT_FALSE(sent.as_object().contains("stream"));
}

TEST_F(OllamaGatewayTest, StreamedToolCallArrivesWholeWithObjectArguments) {
  upstream_.setBehavior(Behavior::toolCall());
  Reply r =
      post("/api/chat", std::string(kChat) + R"(,"tools":[{"type":"function","function":{"name":)"
                                             R"("get_weather","parameters":{"type":"object"}}}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto lines = r.lines();
  int calls = 0;
  for (const auto& l : lines) {
    const auto* m = l.as_object().if_contains("message");
    if (m == nullptr || !m->as_object().contains("tool_calls")) continue;
    ++calls;
    const auto& tc = m->at("tool_calls").as_array();
    ASSERT_EQ(tc.size(), 1u);
    EXPECT_EQ(tc[0].at("function").at("name"), "get_weather");
    EXPECT_EQ(tc[0].at("function").at("arguments"),
              json::parse(R"({"location":"Paris","unit":"celsius"})"));
  }
  EXPECT_EQ(calls, 1) << r.body;
  EXPECT_EQ(lines.back().at("done"), true);
  auto sent = json::parse(upstream_.lastRequest().body);
  EXPECT_EQ(sent.at("tools").at(0).at("function").at("name"), "get_weather");
}

TEST_F(OllamaGatewayTest, ToolResultRoundTripGetsCallIds) {
  upstream_.setBehavior(Behavior::toolCall());
  Reply r = post("/api/chat", R"({"model":"fast","stream":false,"messages":[
      {"role":"user","content":"Weather?"},
      {"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather",
        "arguments":{"location":"Paris"}}}]},
      {"role":"tool","tool_name":"get_weather","content":"21C"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("message").at("tool_calls").at(0).at("function").at("arguments"),
            json::parse(R"({"location":"Paris","unit":"celsius"})"));
  auto msgs = json::parse(upstream_.lastRequest().body).at("messages").as_array();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[1].at("tool_calls").at(0).at("function").at("arguments"),
            R"({"location":"Paris"})");
  EXPECT_EQ(msgs[2].at("role"), "tool");
  EXPECT_EQ(msgs[2].at("tool_call_id"), msgs[1].at("tool_calls").at(0).at("id"));
}

TEST_F(OllamaGatewayTest, ChatReachesAnAnthropicProviderWithImagesAndTools) {
  anthropic_.setBehavior(Behavior::customBody(200, R"({
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "A red pixel."},
                {"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                 "input": {"city": "Zürich"}}],
    "stop_reason": "tool_use", "stop_sequence": null,
    "usage": {"input_tokens": 20, "output_tokens": 7}})"));
  Reply r = post("/api/chat", R"({"model":"smart","stream":false,"think":"low",
    "messages":[{"role":"system","content":"Be brief."},
                {"role":"user","content":"What is this?","images":["iVBORw0KGgoAAAA"]}],
    "tools":[{"type":"function","function":{"name":"get_weather",
              "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
    "options":{"num_predict":300}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(r.header("x-switchyard-provider"), "claude");
  EXPECT_EQ(j.at("model"), "smart");
  EXPECT_EQ(j.at("message").at("content"), "A red pixel.");
  EXPECT_EQ(j.at("message").at("tool_calls").at(0).at("function").at("arguments"),
            json::parse(R"({"city":"Zürich"})"));
  EXPECT_EQ(j.at("done_reason"), "stop");
  EXPECT_EQ(j.at("prompt_eval_count"), 20);
  EXPECT_EQ(j.at("eval_count"), 7);

  auto sent = anthropic_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/messages");
  EXPECT_EQ(sent.header("x-api-key"), "sk-ant-secret");
  auto body = json::parse(sent.body);
  EXPECT_EQ(body.at("system"), "Be brief.");
  const auto& content = body.at("messages").at(0).at("content").as_array();
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[1].at("type"), "image");
  EXPECT_EQ(content[1].at("source"),
            json::parse(R"({"type":"base64","media_type":"image/png","data":"iVBORw0KGgoAAAA"})"));
  EXPECT_EQ(body.at("tools").at(0).at("name"), "get_weather");
  EXPECT_EQ(body.at("thinking").at("type"), "enabled");  // think "low" -> a thinking budget
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(OllamaGatewayTest, AnthropicStreamBecomesNdjsonWithAWholeToolCall) {
  const std::string sse =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
      "\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],"
      "\"stop_reason\":null,\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
      "\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
      "\"text_delta\",\"text\":\"Checking\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
      "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
      "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
      "\"input_json_delta\",\"partial_json\":\" \\\"Bern\\\"}\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
      "event: message_delta\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
      "\"usage\":{\"output_tokens\":12}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < sse.size(); i += 29) pieces.push_back(sse.substr(i, 29));
  anthropic_.setBehavior(Behavior::customStream(pieces));
  Reply r = post("/api/chat", R"({"model":"smart","messages":[{"role":"user","content":"Bern?"}],
    "tools":[{"type":"function","function":{"name":"get_weather"}}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  auto lines = r.lines();
  std::string text;
  std::vector<json::value> calls;
  for (const auto& l : lines) {
    const auto* m = l.as_object().if_contains("message");
    if (m == nullptr) continue;
    text += m->at("content").as_string();
    if (const auto* tc = m->as_object().if_contains("tool_calls")) {
      for (const auto& c : tc->as_array()) calls.push_back(c);
    }
  }
  EXPECT_EQ(text, "Checking");
  ASSERT_EQ(calls.size(), 1u) << r.body;
  EXPECT_EQ(calls[0].at("function").at("name"), "get_weather");
  EXPECT_EQ(calls[0].at("function").at("arguments"), json::parse(R"({"city":"Bern"})"));
  const auto& last = lines.back();
  EXPECT_EQ(last.at("done"), true);
  EXPECT_EQ(last.at("prompt_eval_count"), 30);
  EXPECT_EQ(last.at("eval_count"), 12);
  EXPECT_EQ(json::parse(anthropic_.lastRequest().body).at("stream"), true);
}

TEST_F(OllamaGatewayTest, ErrorMidStreamIsAFinalErrorLine) {
  upstream_.pushBehavior(Behavior::cutStream(3));
  Client c(gateway_->port());
  Reply r = c.post("/api/chat", std::string(kChat) + "}");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto lines = r.lines();
  ASSERT_GE(lines.size(), 2u) << r.body;
  EXPECT_EQ(lines.front().at("done"), false);
  const auto& last = lines.back().as_object();
  ASSERT_TRUE(last.contains("error")) << r.body;
  EXPECT_TRUE(last.at("error").is_string());
  EXPECT_FALSE(last.contains("done"));
  // A complete response: its connection serves the next request.
  EXPECT_EQ(c.post("/api/chat", std::string(kChat) + R"(,"stream":false})").status, 200u);
}

TEST_F(OllamaGatewayTest, ClientDisconnectCancelsTheUpstreamCall) {
  for (const char* stream : {"true", "false"}) {
    upstream_.setBehavior(Behavior::hang());
    {
      asio::io_context io;
      beast::tcp_stream conn(io);
      conn.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), gateway_->port()));
      bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/api/chat", 11};
      req.set(bhttp::field::host, "127.0.0.1");
      req.body() = std::string(kChat) + R"(,"stream":)" + stream + "}";
      req.prepare_payload();
      bhttp::write(conn, req);
      ASSERT_TRUE(upstream_.waitForActiveConnections(1, std::chrono::seconds(5))) << stream;
      conn.close();
    }
    EXPECT_TRUE(upstream_.waitForActiveConnections(0, std::chrono::seconds(5)))
        << "the upstream request outlived its client (stream " << stream << ")";
  }
}

TEST_F(OllamaGatewayTest, UpstreamErrorBeforeStreamingIsAnHttpError) {
  upstream_.setBehavior(Behavior::error(429, "slow down"));
  Reply r = post("/api/chat", std::string(kChat) + "}");
  EXPECT_EQ(r.status, 429u) << r.body;
  auto j = r.json();
  ASSERT_TRUE(j.at("error").is_string()) << r.body;
  EXPECT_NE(std::string(j.at("error").as_string()).find("slow down"), std::string::npos);
}

TEST_F(OllamaGatewayTest, BadRequestsAndUnknownModelsInOllamaFormat) {
  Reply unknown = post("/api/chat", R"({"model":"nope","messages":[]})");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.json(), json::parse(R"({"error":"model 'nope' not found"})"));
  Reply bad = post("/api/chat", R"({"model":"fast","messages":"hi"})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(std::string(bad.json().at("error").as_string()).find("messages"), std::string::npos);
  Reply opt = post("/api/chat", R"({"model":"fast","options":{"mirostat":2},"messages":[]})");
  EXPECT_EQ(opt.status, 400u);
  EXPECT_NE(opt.body.find("options.mirostat"), std::string::npos);
  Reply suffix = post("/api/generate", R"({"model":"fast","prompt":"a","suffix":"b"})");
  EXPECT_EQ(suffix.status, 400u);
  EXPECT_NE(suffix.body.find("suffix"), std::string::npos);
  // Pull: a model the gateway serves is there ("success", NDJSON unless stream is false);
  // nothing is downloaded, so another name is a 404 saying so. Push and the rest: 501.
  Reply pull = post("/api/pull", R"({"model":"llama3"})");
  EXPECT_EQ(pull.status, 404u);
  EXPECT_NE(pull.body.find("does not download models"), std::string::npos) << pull.body;
  Reply served = post("/api/pull", R"({"model":"fast"})");
  EXPECT_EQ(served.status, 200u) << served.body;
  EXPECT_EQ(served.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(served.body, "{\"status\":\"success\"}\n");
  Reply whole = post("/api/pull", R"({"name":"fast:latest","stream":false})");
  EXPECT_EQ(whole.status, 200u) << whole.body;
  EXPECT_EQ(whole.json(), json::parse(R"({"status":"success"})"));
  EXPECT_EQ(post("/api/pull", R"({"model":"fast","stream":"no"})").status, 400u);
  Reply push = post("/api/push", R"({"model":"fast"})");
  EXPECT_EQ(push.status, 501u);
  EXPECT_TRUE(push.json().at("error").is_string());
  Reply method = get("/api/chat");
  EXPECT_EQ(method.status, 405u);
  EXPECT_TRUE(method.json().at("error").is_string());
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(OllamaGatewayTest, LoadProbesAnswerWithoutCallingTheProvider) {
  Reply chat = post("/api/chat", R"({"model":"fast","messages":[]})");
  ASSERT_EQ(chat.status, 200u) << chat.body;
  EXPECT_EQ(chat.json().at("done_reason"), "load");
  Reply gen = post("/api/generate", R"({"model":"fast:latest"})");
  ASSERT_EQ(gen.status, 200u) << gen.body;
  EXPECT_EQ(gen.json().at("done_reason"), "load");
  EXPECT_EQ(gen.json().at("model"), "fast:latest");
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

TEST_F(OllamaGatewayTest, GenerateIsAChatWithSystemAndOneUserMessage) {
  Reply r = post("/api/generate",
                 R"({"model":"fast","prompt":"Why?","system":"Be brief.","stream":false,)"
                 R"("options":{"num_predict":7}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("response"), "Hello from the fake upstream!");
  EXPECT_EQ(j.at("done"), true);
  EXPECT_EQ(j.at("eval_count"), 5);
  auto sent = upstream_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/chat/completions");
  auto body = json::parse(sent.body);
  EXPECT_EQ(body.at("max_tokens"), 7);
  EXPECT_EQ(body.at("messages"), json::parse(R"([{"role":"system","content":"Be brief."},
                                                  {"role":"user","content":"Why?"}])"));
}

TEST_F(OllamaGatewayTest, GenerateStreamsResponseLines) {
  Reply r = post("/api/generate", R"({"model":"fast","prompt":"Why?"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  auto lines = r.lines();
  std::string text;
  for (const auto& l : lines) {
    if (l.at("done") == false) text += l.at("response").as_string();
  }
  EXPECT_EQ(text, "Hello from the fake upstream!");
  EXPECT_EQ(lines.back().at("done"), true);
  EXPECT_EQ(lines.back().at("eval_count"), 5);
}

TEST_F(OllamaGatewayTest, RawGenerateIsATextCompletion) {
  Reply r = post("/api/generate", R"({"model":"fast","prompt":"[INST]Hi[/INST]","raw":true})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto lines = r.lines();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.back().at("done"), true);
  std::string text;
  for (const auto& l : lines) {
    if (l.at("done") == false) text += l.at("response").as_string();
  }
  EXPECT_FALSE(text.empty());
  auto sent = upstream_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/completions");
  EXPECT_EQ(json::parse(sent.body).at("prompt"), "[INST]Hi[/INST]");
}

TEST_F(OllamaGatewayTest, EmbedAndLegacyEmbeddings) {
  Reply r = post("/api/embed", R"({"model":"embed","input":["a","b"]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("model"), "embed");
  ASSERT_EQ(j.at("embeddings").as_array().size(), 2u);
  EXPECT_EQ(j.at("embeddings").at(0).as_array().size(), 8u);
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).at("input"), json::parse(R"(["a","b"])"));
  Reply legacy = post("/api/embeddings", R"({"model":"embed","prompt":"a"})");
  ASSERT_EQ(legacy.status, 200u) << legacy.body;
  EXPECT_EQ(legacy.json().at("embedding"), j.at("embeddings").at(0));
}

TEST_F(OllamaGatewayTest, TagsShowPsVersionAndRoot) {
  Reply tags = get("/api/tags");
  ASSERT_EQ(tags.status, 200u);
  std::vector<std::string> names;
  const json::value listing = tags.json();
  for (const auto& m : listing.at("models").as_array()) {
    names.emplace_back(m.at("name").as_string());
    EXPECT_EQ(m.at("model"), m.at("name"));
    EXPECT_TRUE(m.at("details").at("format").is_string());
    EXPECT_TRUE(m.at("size").is_int64());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"claude-sonnet-4-5", "claude/claude-sonnet-4-5",
                                             "embed", "fake-embedder", "fake-model", "fast", "fm",
                                             "smart", "up/fake-embedder", "up/fake-model"}));

  Reply show = post("/api/show", R"({"model":"fast:latest"})");
  ASSERT_EQ(show.status, 200u) << show.body;
  EXPECT_EQ(show.json().at("model_info").at("switchyard.upstream_model"), "fake-model");
  EXPECT_EQ(show.json().at("model_info").at("general.context_length"), 32768);
  Reply missing = post("/api/show", R"({"model":"x"})");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.json(), json::parse(R"({"error":"model 'x' not found"})"));

  Reply ps = get("/api/ps");
  ASSERT_EQ(ps.status, 200u);
  EXPECT_EQ(ps.json(), json::parse(R"({"models":[]})"));
  Reply version = get("/api/version");
  ASSERT_EQ(version.status, 200u);
  EXPECT_FALSE(version.json().at("version").as_string().empty());

  Reply root = get("/");
  EXPECT_EQ(root.status, 200u);
  EXPECT_EQ(root.body, "Ollama is running");
  Reply head = request(gateway_->port(), bhttp::verb::head, "/");
  EXPECT_EQ(head.status, 200u);
}

}  // namespace
}  // namespace switchyard
