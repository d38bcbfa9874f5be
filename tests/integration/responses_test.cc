// The real gateway in-process in front of a fake OpenAI-compatible upstream ("up") and a fake
// Anthropic one ("claude", scripted with Messages API bodies and SSE), spoken to in the
// Responses API (POST /v1/responses): text, streaming event order, tool round trips,
// json_schema, rejected stateful features and errors before and inside a stream.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <map>

#include "switchyard/core/log.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"
#include "tests/fakes/test_gateway.h"

namespace switchyard {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using fakes::Behavior;
using fakes::FakeUpstream;
using fakes::eventNames;
using fakes::post;
using fakes::Reply;
using fakes::SseEvent;
using fakes::sseEvents;

std::string textOf(const std::vector<SseEvent>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e.name == "response.output_text.delta") text += e.data.at("delta").as_string();
  }
  return text;
}

class ResponsesGatewayTest : public ::testing::Test {
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

  Reply responses(const std::string& body) { return responsesAt("/v1/responses", body); }
  Reply responsesAt(const std::string& path, const std::string& body) {
    return post(gateway_->port(), path, body, {{"authorization", "Bearer client-key"}});
  }

  json::value upstreamBody() { return json::parse(openai_.lastRequest().body); }

  FakeUpstream openai_;
  FakeUpstream anthropic_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(ResponsesGatewayTest, TextResponseFromAnOpenAIUpstream) {
  Reply r = responses(R"({"model":"fast","instructions":"Be brief.","input":"Hi",
                          "temperature":0.5,"max_output_tokens":64,"metadata":{"k":"v"}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("object"), "response");
  EXPECT_EQ(j.at("id"), json::value("resp_" + r.header("x-request-id")));
  EXPECT_EQ(j.at("status"), "completed");
  EXPECT_EQ(j.at("model"), "fake-model");
  EXPECT_EQ(j.at("instructions"), "Be brief.");
  EXPECT_EQ(j.at("temperature"), 0.5);
  EXPECT_EQ(j.at("max_output_tokens"), 64);
  EXPECT_EQ(j.at("metadata").at("k"), "v");
  EXPECT_EQ(j.at("store"), false);
  ASSERT_EQ(j.at("output").as_array().size(), 1u);
  const auto& msg = j.at("output").at(0);
  EXPECT_EQ(msg.at("type"), "message");
  EXPECT_EQ(msg.at("role"), "assistant");
  EXPECT_EQ(msg.at("content").at(0).at("type"), "output_text");
  EXPECT_EQ(msg.at("content").at(0).at("text"), "Hello from the fake upstream!");
  EXPECT_EQ(j.at("usage").at("input_tokens"), 12);
  EXPECT_EQ(j.at("usage").at("output_tokens"), 5);
  EXPECT_EQ(j.at("usage").at("total_tokens"), 17);
  EXPECT_EQ(r.header("x-switchyard-provider"), "up");

  auto sent = openai_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/chat/completions");
  EXPECT_EQ(sent.header("authorization"), "Bearer sk-openai-secret");
  auto up = json::parse(sent.body);
  EXPECT_EQ(up.at("model"), "fake-model");
  EXPECT_EQ(up.at("max_completion_tokens"), 64);
  EXPECT_EQ(up.at("temperature"), 0.5);
  EXPECT_FALSE(up.as_object().contains("metadata"));
  EXPECT_EQ(up.at("messages"), json::parse(R"([{"role":"system","content":"Be brief."},
                                                {"role":"user","content":"Hi"}])"));
}

TEST_F(ResponsesGatewayTest, OutputTextLogprobsComeFromTheUpstreamsChatLogprobs) {
  const std::string entry =
      R"({"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[{"token":"Hi",)"
      R"("logprob":-0.5,"bytes":[72,105]},{"token":"Yo","logprob":-1.5,"bytes":[89,111]}]})";
  openai_.pushBehavior(Behavior::customBody(
      200, R"({"id":"c1","object":"chat.completion","created":1,"model":"fake-model",)"
           R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},)"
           R"("logprobs":{"content":[)" +
               entry +
               R"(],"refusal":null},"finish_reason":"stop"}],)"
               R"("usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})"));
  Reply r = responses(R"({"model":"fast","input":"Hi","top_logprobs":2,
                          "include":["message.output_text.logprobs"]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value j = r.json();
  EXPECT_EQ(j.at("top_logprobs"), 2);
  EXPECT_EQ(j.at("output").at(0).at("content").at(0).at("logprobs"),
            json::array{json::parse(entry)});
  const json::value up = upstreamBody();
  EXPECT_EQ(up.at("logprobs"), true);
  EXPECT_EQ(up.at("top_logprobs"), 2);
}

TEST_F(ResponsesGatewayTest, StreamFollowsTheDocumentedEventOrder) {
  Reply r = responses(R"({"model":"fast","input":"Hi","stream":true})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sseEvents(r.body);
  const std::vector<std::string> want_head = {
      "response.created", "response.in_progress", "response.output_item.added",
      "response.content_part.added", "response.output_text.delta"};
  const std::vector<std::string> want_tail = {
      "response.output_text.delta", "response.output_text.done", "response.content_part.done",
      "response.output_item.done", "response.completed"};
  auto got = eventNames(events);
  ASSERT_GE(got.size(), want_head.size() + want_tail.size());
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.begin() + 5), want_head);
  EXPECT_EQ(std::vector<std::string>(got.end() - 5, got.end()), want_tail);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].data.at("sequence_number"), static_cast<std::int64_t>(i));
    EXPECT_EQ(events[i].data.at("type"), json::value(events[i].name));
  }
  EXPECT_EQ(textOf(events), "Hello from the fake upstream!");
  const auto& done = events.back().data.at("response");
  EXPECT_EQ(done.at("status"), "completed");
  EXPECT_EQ(done.at("output").at(0).at("content").at(0).at("text"),
            "Hello from the fake upstream!");
  EXPECT_EQ(done.at("usage").at("output_tokens"), 5);  // usage asked of the upstream
  EXPECT_EQ(upstreamBody().at("stream_options").at("include_usage"), true);
}

TEST_F(ResponsesGatewayTest, ToolCallRoundTrip) {
  openai_.pushBehavior(Behavior::toolCall());
  const std::string tools =
      R"("tools":[{"type":"function","name":"get_weather","description":"Weather",
          "parameters":{"type":"object","properties":{"location":{"type":"string"}}},
          "strict":true}],"tool_choice":"required","parallel_tool_calls":false)";
  Reply first = responses(R"({"model":"fast","input":"Weather in Paris?",)" + tools + "}");
  ASSERT_EQ(first.status, 200u) << first.body;
  auto j = first.json();
  const auto& call = j.at("output").at(0);
  EXPECT_EQ(call.at("type"), "function_call");
  EXPECT_EQ(call.at("call_id"), "call_fake_1");
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("arguments"), R"({"location":"Paris","unit":"celsius"})");
  EXPECT_EQ(j.at("tools").at(0).at("name"), "get_weather");
  auto up = upstreamBody();
  EXPECT_EQ(up.at("tools"), json::parse(R"([{"type":"function","function":{"name":"get_weather",
      "description":"Weather","parameters":{"type":"object","properties":{"location":
      {"type":"string"}}},"strict":true}}])"));
  EXPECT_EQ(up.at("tool_choice"), "required");
  EXPECT_EQ(up.at("parallel_tool_calls"), false);

  // The client sends the call and its output back, statelessly.
  std::string second_body = R"({"model":"fast","input":[
      {"role":"user","content":"Weather in Paris?"},)" +
                            json::serialize(call) + R"(,
      {"type":"function_call_output","call_id":"call_fake_1","output":"18C"}],)" +
                            tools + "}";
  Reply second = responses(second_body);
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(second.json().at("output").at(0).at("content").at(0).at("text"),
            "Hello from the fake upstream!");
  auto msgs = upstreamBody().at("messages");
  ASSERT_EQ(msgs.as_array().size(), 3u);
  EXPECT_EQ(msgs.at(1).at("role"), "assistant");
  EXPECT_EQ(msgs.at(1).at("tool_calls").at(0).at("id"), "call_fake_1");
  EXPECT_EQ(msgs.at(1).at("tool_calls").at(0).at("function").at("arguments"),
            R"({"location":"Paris","unit":"celsius"})");
  EXPECT_EQ(msgs.at(2), json::parse(R"({"role":"tool","content":"18C",
                                        "tool_call_id":"call_fake_1"})"));
}

TEST_F(ResponsesGatewayTest, StreamedToolCallArgumentsArriveAsDeltas) {
  openai_.pushBehavior(Behavior::toolCall());
  Reply r = responses(R"({"model":"fast","input":"Weather?","stream":true,
      "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto events = sseEvents(r.body);
  std::string args;
  int deltas = 0;
  for (const auto& e : events) {
    if (e.name == "response.function_call_arguments.delta") {
      args += e.data.at("delta").as_string();
      ++deltas;
    }
  }
  EXPECT_GT(deltas, 5);
  EXPECT_EQ(args, R"({"location":"Paris","unit":"celsius"})");
  auto got = eventNames(events);
  auto done = std::find(got.begin(), got.end(), "response.function_call_arguments.done");
  ASSERT_NE(done, got.end());
  EXPECT_EQ(*(done + 1), "response.output_item.done");
  EXPECT_EQ(got.back(), "response.completed");
  const auto& item = events.back().data.at("response").at("output").at(0);
  EXPECT_EQ(item.at("type"), "function_call");
  EXPECT_EQ(item.at("arguments"), json::value(args));
  EXPECT_EQ(item.at("call_id"), "call_fake_1");
}

TEST_F(ResponsesGatewayTest, JsonSchemaBecomesResponseFormat) {
  Reply r = responses(R"({"model":"fast","input":"Give JSON","text":{"format":{
      "type":"json_schema","name":"answer","strict":true,
      "schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}}}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("text").at("format").at("name"), "answer");
  EXPECT_EQ(upstreamBody().at("response_format"), json::parse(R"({"type":"json_schema",
      "json_schema":{"name":"answer","schema":{"type":"object","properties":{"a":
      {"type":"string"}},"required":["a"]},"strict":true}})"));
}

TEST_F(ResponsesGatewayTest, StatefulFeaturesAreRejectedWithoutCallingTheUpstream) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"model":"fast","input":"x","previous_response_id":"resp_1"})", "previous_response_id"},
      {R"({"model":"fast","input":"x","store":true})", "store"},
      {R"({"model":"fast","input":"x","background":true})", "background"},
      {R"({"model":"fast","input":"x","tools":[{"type":"web_search"}]})", "tools[0].type"},
  };
  for (const auto& [body, param] : cases) {
    Reply r = responses(body);
    EXPECT_EQ(r.status, 400u) << body;
    auto e = r.json().at("error");
    EXPECT_EQ(e.at("type"), "invalid_request_error") << r.body;
    EXPECT_EQ(e.at("param"), param) << r.body;
    EXPECT_EQ(e.at("code"), "unsupported_parameter") << r.body;
    EXPECT_NE(std::string(e.at("message").as_string()).find("not supported"), std::string::npos);
  }
  EXPECT_EQ(openai_.requestCount(), 0u);
}

TEST_F(ResponsesGatewayTest, ErrorsUseOpenAIsFormat) {
  Reply unknown = responses(R"({"model":"nope","input":"x"})");
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  EXPECT_TRUE(unknown.json().at("error").at("message").is_string());
  openai_.pushBehavior(Behavior::error(429, "slow down"));
  Reply limited = responses(R"({"model":"fast","input":"x"})");
  EXPECT_EQ(limited.status, 429u) << limited.body;
  EXPECT_EQ(limited.json().at("error").at("type"), "rate_limit_error");
  Reply get = [&] {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), gateway_->port()));
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/v1/responses", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    return Reply{res.result_int(), res.base(), res.body()};
  }();
  EXPECT_EQ(get.status, 405u);
  EXPECT_EQ(get.header("allow"), "POST");
}

TEST_F(ResponsesGatewayTest, AStreamCutMidWayEndsWithErrorAndFailedEvents) {
  openai_.pushBehavior(Behavior::cutStream(3));
  Reply r = responses(R"({"model":"fast","input":"Hi","stream":true})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto events = sseEvents(r.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[events.size() - 2].name, "error");
  EXPECT_TRUE(events[events.size() - 2].data.at("message").is_string());
  EXPECT_EQ(events.back().name, "response.failed");
  EXPECT_EQ(events.back().data.at("response").at("status"), "failed");
  EXPECT_EQ(events.back().data.at("response").at("error").at("code"), "server_error");
  EXPECT_FALSE(textOf(events).empty());  // what arrived before the cut was relayed
}

TEST_F(ResponsesGatewayTest, UpstreamFailureBeforeTheFirstByteIsAPlainError) {
  openai_.pushBehavior(Behavior::error(500, "boom"));
  Reply r = responses(R"({"model":"fast","input":"Hi","stream":true})");
  EXPECT_EQ(r.status, 500u) << r.body;  // nothing was streamed yet: a normal error response
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_TRUE(r.json().at("error").at("message").is_string());
}

// ---- Responses client -> Anthropic upstream -----------------------------------------------

constexpr const char* kAnthropicMessage = R"({
  "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [{"type": "thinking", "thinking": "Greet back.", "signature": "sig"},
              {"type": "text", "text": "Hi! My name is Claude."}],
  "stop_reason": "max_tokens", "stop_sequence": null,
  "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 1000}})";

TEST_F(ResponsesGatewayTest, AnthropicUpstreamAnswersAResponsesRequest) {
  anthropic_.setBehavior(Behavior::customBody(200, kAnthropicMessage));
  Reply r = responses(R"({"model":"smart","instructions":"Be brief.","input":"Hi",
                          "max_output_tokens":50,"reasoning":{"effort":"low"}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("model"), "claude-sonnet-4-5-20250929");
  EXPECT_EQ(j.at("status"), "incomplete");
  EXPECT_EQ(j.at("incomplete_details").at("reason"), "max_output_tokens");
  ASSERT_EQ(j.at("output").as_array().size(), 2u);
  EXPECT_EQ(j.at("output").at(0).at("type"), "reasoning");
  EXPECT_EQ(j.at("output").at(0).at("summary").at(0).at("text"), "Greet back.");
  EXPECT_EQ(j.at("output").at(1).at("content").at(0).at("text"), "Hi! My name is Claude.");
  EXPECT_EQ(j.at("usage").at("input_tokens"), 3105);  // uncached + cache reads + writes
  EXPECT_EQ(j.at("usage").at("input_tokens_details").at("cached_tokens"), 1000);
  EXPECT_EQ(j.at("usage").at("input_tokens_details").at("cache_write_tokens"), 10);
  EXPECT_EQ(j.at("usage").at("output_tokens"), 503);

  auto sent = anthropic_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/messages");
  EXPECT_EQ(sent.header("x-api-key"), "sk-ant-secret");
  auto up = json::parse(sent.body);
  EXPECT_EQ(up.at("system"), "Be brief.");
  EXPECT_EQ(up.at("messages"),
            json::parse(R"([{"role":"user","content":[{"type":"text","text":"Hi"}]}])"));
  // reasoning.effort low becomes a 1024-token thinking budget on top of max_output_tokens.
  EXPECT_EQ(up.at("thinking").at("budget_tokens"), 1024);
  EXPECT_EQ(up.at("max_tokens"), 50 + 1024);
}

TEST_F(ResponsesGatewayTest, AnthropicStreamBecomesResponsesEvents) {
  std::string sse =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
      "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],"
      "\"stop_reason\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2}}}\n\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
      "\"text\":\"\"}}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
      "\"text\":\"Okay, checking Zürich\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
      "\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
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
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < sse.size(); i += 37) pieces.push_back(sse.substr(i, 37));
  anthropic_.setBehavior(Behavior::customStream(pieces));
  Reply r = responses(R"({"model":"smart","input":"Weather?","stream":true,
      "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto events = sseEvents(r.body);
  EXPECT_EQ(textOf(events), "Okay, checking Zürich");
  std::string args;
  for (const auto& e : events) {
    if (e.name == "response.function_call_arguments.delta") args += e.data.at("delta").as_string();
  }
  EXPECT_EQ(args, R"({"location": "Zürich"})");
  ASSERT_EQ(events.back().name, "response.completed");
  const auto& done = events.back().data.at("response");
  ASSERT_EQ(done.at("output").as_array().size(), 2u);
  EXPECT_EQ(done.at("output").at(0).at("type"), "message");
  EXPECT_EQ(done.at("output").at(1).at("type"), "function_call");
  EXPECT_EQ(done.at("output").at(1).at("call_id"), "toolu_01");
  EXPECT_EQ(done.at("output").at(1).at("arguments"), json::value(args));
  EXPECT_EQ(done.at("usage").at("input_tokens"), 472);
  EXPECT_EQ(done.at("usage").at("output_tokens"), 89);
  EXPECT_EQ(json::parse(anthropic_.lastRequest().body).at("tools").at(0).at("name"), "get_weather");
}

// Stored responses (responses.enabled): store, previous_response_id, GET / DELETE and
// input_items, over a SQLite store in a temp dir.
class StoredResponsesTest : public ResponsesGatewayTest {
 protected:
  void SetUp() override {
    db_path_ = ::testing::TempDir() + "/stored_responses_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path_ + suffix);
    config::Config cfg = fakes::testConfig();
    cfg.providers = {
        fakes::fakeProvider("up", "openai", openai_, {{"fake-model", {}, 0}}, "sk-openai-secret")};
    cfg.routes = {{"fast", "up", "fake-model", 1}};
    cfg.storage_url = "sqlite://" + db_path_;
    cfg.responses.enabled = true;
    fakes::noRetries(cfg);
    gateway_ = fakes::startGateway(std::move(cfg));
    ASSERT_TRUE(gateway_);
  }

  Reply call(bhttp::verb method, const std::string& target) {
    return fakes::request(gateway_->port(), method, target, "",
                          {{"authorization", "Bearer client-key"}});
  }

  // The roles and texts of the messages the upstream got last, "role:text" each.
  std::vector<std::string> upstreamTurns() {
    std::vector<std::string> turns;
    const json::value body = upstreamBody();
    for (const auto& m : body.at("messages").as_array()) {
      std::string text;
      const json::value& content = m.at("content");
      if (content.is_string()) {
        text = content.as_string();
      } else if (content.is_array()) {
        for (const auto& part : content.as_array()) text += part.at("text").as_string();
      }
      turns.push_back(std::string(m.at("role").as_string()) + ":" + text);
    }
    return turns;
  }

  std::string db_path_;
};

TEST_F(StoredResponsesTest, AConversationContinuesFromTheStoredResponse) {
  Reply first = responses(R"({"model":"fast","instructions":"Be brief.","input":"Hi"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string id(first.json().at("id").as_string());
  EXPECT_EQ(first.json().at("store"), true);  // the default, as OpenAI's
  EXPECT_TRUE(first.json().at("previous_response_id").is_null());

  Reply second =
      responses(R"({"model":"fast","previous_response_id":")" + id + R"(","input":"And again?"})");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(second.json().at("previous_response_id"), json::value(id));
  // The instructions are not carried over (as OpenAI's); the conversation is.
  EXPECT_EQ(upstreamTurns(),
            (std::vector<std::string>{"user:Hi", "assistant:Hello from the fake upstream!",
                                      "user:And again?"}));
  EXPECT_EQ(json::parse(call(bhttp::verb::get, "/v1/responses/" + id).body),
            first.json());  // GET returns the Response as it was sent

  // A third turn sees both earlier ones.
  const std::string id2(second.json().at("id").as_string());
  Reply third = responses(R"({"model":"fast","previous_response_id":")" + id2 +
                          R"(","input":[{"role":"user","content":"Third"}]})");
  ASSERT_EQ(third.status, 200u) << third.body;
  EXPECT_EQ(upstreamTurns().size(), 5u);
  EXPECT_EQ(upstreamTurns().back(), "user:Third");
}

TEST_F(StoredResponsesTest, AStreamedResponseIsStoredBeforeItsLastEvent) {
  Reply first = responses(R"({"model":"fast","input":"Hi","stream":true})");
  ASSERT_EQ(first.status, 200u) << first.body;
  auto events = sseEvents(first.body);
  ASSERT_FALSE(events.empty());
  const json::value& done = events.back().data.at("response");
  EXPECT_EQ(done.at("store"), true);
  const std::string id(done.at("id").as_string());
  // Continued at once (the client read response.completed, nothing more).
  Reply second = responses(R"({"model":"fast","previous_response_id":")" + id +
                           R"(","input":"More","stream":true})");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(upstreamTurns(),
            (std::vector<std::string>{"user:Hi", "assistant:Hello from the fake upstream!",
                                      "user:More"}));
  Reply got = call(bhttp::verb::get, "/v1/responses/" + id);
  ASSERT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(got.json(), done);
}

TEST_F(StoredResponsesTest, StoreFalseIsNotKeptAndUnknownIdsAre404s) {
  Reply r = responses(R"({"model":"fast","input":"Hi","store":false})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("store"), false);
  const std::string id(r.json().at("id").as_string());
  Reply got = call(bhttp::verb::get, "/v1/responses/" + id);
  EXPECT_EQ(got.status, 404u) << got.body;
  EXPECT_EQ(got.json().at("error").at("message"),
            json::value("No response found with id '" + id + "'."));

  const std::size_t before = openai_.requestCount();
  Reply cont = responses(R"({"model":"fast","previous_response_id":")" + id + R"(","input":"x"})");
  EXPECT_EQ(cont.status, 404u) << cont.body;
  auto e = cont.json().at("error");
  EXPECT_EQ(e.at("message"), json::value("Previous response with id '" + id + "' not found."));
  EXPECT_EQ(e.at("param"), "previous_response_id");
  EXPECT_EQ(e.at("code"), "previous_response_not_found");
  EXPECT_EQ(openai_.requestCount(), before);  // nothing went upstream

  EXPECT_EQ(responses(R"({"model":"fast","input":"x","previous_response_id":5})").status, 400u);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/responses/").status, 404u);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/responses/a/b").status, 404u);
  Reply put = call(bhttp::verb::put, "/v1/responses/" + id);
  EXPECT_EQ(put.status, 405u);
  EXPECT_EQ(put.header("allow"), "GET, DELETE");
  EXPECT_EQ(call(bhttp::verb::post, "/v1/responses/" + id + "/input_items").status, 405u);
}

TEST_F(StoredResponsesTest, AClientsOwnRequestIdDoesNotNameTheStoredResponse) {
  // x-request-id is the client's to choose, and may repeat: each stored Response still gets an
  // id of its own, so neither overwrites the other.
  const fakes::Headers h = {{"authorization", "Bearer client-key"}, {"x-request-id", "same-id"}};
  Reply a = post(gateway_->port(), "/v1/responses", R"({"model":"fast","input":"A"})", h);
  Reply b = post(gateway_->port(), "/v1/responses", R"({"model":"fast","input":"B"})", h);
  ASSERT_EQ(a.status, 200u) << a.body;
  ASSERT_EQ(b.status, 200u) << b.body;
  EXPECT_EQ(a.header("x-request-id"), "same-id");
  EXPECT_NE(a.json().at("id"), b.json().at("id"));
  for (const Reply* r : {&a, &b}) {
    Reply got =
        call(bhttp::verb::get, "/v1/responses/" + std::string(r->json().at("id").as_string()));
    ASSERT_EQ(got.status, 200u) << got.body;
    EXPECT_EQ(got.json(), r->json());
  }
  // Not stored: the id stays resp_<x-request-id>.
  Reply c =
      post(gateway_->port(), "/v1/responses", R"({"model":"fast","input":"C","store":false})", h);
  EXPECT_EQ(c.json().at("id"), "resp_same-id");
}

TEST_F(StoredResponsesTest, ItemReferencesBringStoredItemsBack) {
  Reply first = responses(R"({"model":"fast","input":"Hi","store":true})");
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string answer(first.json().at("output").at(0).at("id").as_string());
  Reply listed =
      call(bhttp::verb::get,
           "/v1/responses/" + std::string(first.json().at("id").as_string()) + "/input_items");
  const std::string question(listed.json().at("data").at(0).at("id").as_string());

  // Both the stored input item and the output item, by reference, then a new turn.
  Reply next = responses(R"({"model":"fast","store":false,"input":[)"
                         R"({"type":"item_reference","id":")" +
                         question +
                         R"("},)"
                         R"({"type":"item_reference","id":")" +
                         answer +
                         R"("},)"
                         R"({"role":"user","content":"Again"}]})");
  ASSERT_EQ(next.status, 200u) << next.body;
  EXPECT_EQ(upstreamTurns(),
            (std::vector<std::string>{"user:Hi", "assistant:Hello from the fake upstream!",
                                      "user:Again"}));

  const std::size_t before = openai_.requestCount();
  Reply unknown = responses(R"({"model":"fast","input":[)"
                            R"({"role":"user","content":"x"},)"
                            R"({"type":"item_reference","id":"msg_ffffffffffffffffffffffff"}]})");
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  EXPECT_EQ(unknown.json().at("error").at("param"), "input[1].id");
  Reply no_id = responses(R"({"model":"fast","input":[{"type":"item_reference"}]})");
  EXPECT_EQ(no_id.status, 400u) << no_id.body;
  EXPECT_EQ(no_id.json().at("error").at("param"), "input[0].id");
  EXPECT_EQ(openai_.requestCount(), before);
}

TEST_F(StoredResponsesTest, InputTokensCountsTheConversation) {
  // An OpenAI-compatible upstream cannot count: the gateway's documented estimate, and a header
  // that says so; nothing goes upstream.
  Reply alone = responsesAt("/v1/responses/input_tokens",
                            R"({"model":"fast","input":"Tell me a joke about cats"})");
  ASSERT_EQ(alone.status, 200u) << alone.body;
  EXPECT_EQ(alone.json().at("object"), "response.input_tokens");
  const std::int64_t n = alone.json().at("input_tokens").as_int64();
  EXPECT_GT(n, 0);
  EXPECT_EQ(alone.header("x-switchyard-token-count"), "estimate");
  EXPECT_EQ(alone.header("x-switchyard-provider"), "up");
  EXPECT_EQ(openai_.requestCount(), 0u);

  // With previous_response_id the stored conversation counts too.
  Reply first = responses(R"({"model":"fast","input":"Tell me a joke about cats"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  Reply more = responsesAt("/v1/responses/input_tokens",
                           R"({"model":"fast","input":"Tell me a joke about cats",)"
                           R"("previous_response_id":")" +
                               std::string(first.json().at("id").as_string()) + R"("})");
  ASSERT_EQ(more.status, 200u) << more.body;
  EXPECT_GT(more.json().at("input_tokens").as_int64(), 2 * n);
  EXPECT_EQ(openai_.requestCount(), 1u);  // only the create

  EXPECT_EQ(responsesAt("/v1/responses/input_tokens", R"({"input":"x"})").status, 400u);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/responses/input_tokens").status, 405u);
}

TEST_F(StoredResponsesTest, InputItemsArePagedAndDeleteForgets) {
  Reply r = responses(R"({"model":"fast","input":[
      {"role":"user","content":"one"},
      {"role":"assistant","content":"two"},
      {"type":"message","role":"user","content":[{"type":"input_text","text":"three"}]}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const std::string id(r.json().at("id").as_string());
  const std::string items = "/v1/responses/" + id + "/input_items";

  Reply all = call(bhttp::verb::get, items);
  ASSERT_EQ(all.status, 200u) << all.body;
  auto list = all.json();
  EXPECT_EQ(list.at("object"), "list");
  ASSERT_EQ(list.at("data").as_array().size(), 3u);
  EXPECT_EQ(list.at("data").at(0).at("content").at(0).at("text"), "three");  // newest first
  EXPECT_EQ(list.at("data").at(0).at("type"), "message");
  EXPECT_EQ(list.at("has_more"), false);
  EXPECT_EQ(list.at("first_id"), list.at("data").at(0).at("id"));

  Reply page1 = call(bhttp::verb::get, items + "?order=asc&limit=2");
  ASSERT_EQ(page1.status, 200u) << page1.body;
  auto p1 = page1.json();
  ASSERT_EQ(p1.at("data").as_array().size(), 2u);
  EXPECT_EQ(p1.at("data").at(0).at("content").at(0).at("text"), "one");
  EXPECT_EQ(p1.at("data").at(1).at("content").at(0).at("type"), "output_text");
  EXPECT_EQ(p1.at("has_more"), true);
  Reply page2 =
      call(bhttp::verb::get,
           items + "?order=asc&limit=2&after=" + std::string(p1.at("last_id").as_string()));
  ASSERT_EQ(page2.status, 200u) << page2.body;
  EXPECT_EQ(page2.json().at("data").as_array().size(), 1u);
  EXPECT_EQ(page2.json().at("has_more"), false);
  EXPECT_EQ(call(bhttp::verb::get, items + "?limit=0").status, 400u);
  EXPECT_EQ(call(bhttp::verb::get, items + "?order=sideways").status, 400u);
  EXPECT_EQ(call(bhttp::verb::get, items + "?after=nope").status, 400u);

  Reply del = call(bhttp::verb::delete_, "/v1/responses/" + id);
  ASSERT_EQ(del.status, 200u) << del.body;
  EXPECT_EQ(del.json(),
            json::parse(R"({"id":")" + id + R"(","object":"response","deleted":true})"));
  EXPECT_EQ(call(bhttp::verb::get, "/v1/responses/" + id).status, 404u);
  EXPECT_EQ(call(bhttp::verb::delete_, "/v1/responses/" + id).status, 404u);
  EXPECT_EQ(call(bhttp::verb::get, items).status, 404u);
}

}  // namespace
}  // namespace switchyard
