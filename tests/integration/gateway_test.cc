// The real gateway in-process on port 0 against a fake OpenAI-compatible upstream (also port
// 0), driven by a blocking HTTP client: what a client sends, what the upstream receives, what
// comes back, including upstream faults.

#include "switchyard/server/gateway.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "switchyard/core/log.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"
#include "tests/fakes/test_gateway.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using fakes::Behavior;
using fakes::FakeUpstream;
using fakes::Client;
using fakes::Reply;
using fakes::sseData;

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"warn", LogFormat::kText, ""}); }

  void SetUp() override { start(); }

  void start(std::chrono::milliseconds first_byte = std::chrono::milliseconds(2000),
             bool access_log = false) {
    config::Config cfg = fakes::testConfig();
    cfg.server.max_body_bytes = 64 * 1024;
    cfg.server.drain_timeout = std::chrono::milliseconds(2000);
    cfg.log.access_log = access_log;
    config::ProviderConfig p = fakes::fakeProvider(
        "up", "openai", upstream_, {{"fake-model", {"fm"}, 0}, {"fake-embedder", {}, 0}});
    p.timeouts.first_byte = first_byte;
    p.timeouts.idle = first_byte;
    cfg.providers = {p};
    cfg.routes = {{"fast", "up", "fake-model", 1}};
    fakes::noRetries(cfg);
    gateway_ = fakes::startGateway(std::move(cfg));
    ASSERT_TRUE(gateway_);
  }

  static std::string chatBody(std::string_view model, bool stream = false,
                              std::string_view extra = "") {
    std::string body = R"({"model":")" + std::string(model) +
                       R"(","messages":[{"role":"user","content":"Hi"}])";
    if (stream) body += R"(,"stream":true)";
    if (!extra.empty()) {
      body += ",";
      body += extra;
    }
    body += "}";
    return body;
  }

  FakeUpstream upstream_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(GatewayTest, ChatRoutesRewritesModelAndForwardsUnknownFields) {
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions",
                   chatBody("fast", false, R"("temperature":0.5,"x_vendor_knob":{"a":[1,2]})"));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("object"), "chat.completion");
  EXPECT_EQ(j.at("choices").at(0).at("message").at("content"), "Hello from the fake upstream!");
  EXPECT_EQ(r.header("x-switchyard-provider"), "up");
  EXPECT_EQ(r.header("x-switchyard-model"), "fake-model");
  EXPECT_EQ(r.header("x-switchyard-route"), "fast");
  EXPECT_FALSE(r.header("x-request-id").empty());

  auto sent = upstream_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/chat/completions");
  EXPECT_EQ(sent.header("authorization"), "Bearer sk-test-secret");
  auto up = json::parse(sent.body);
  EXPECT_EQ(up.at("model"), "fake-model");
  EXPECT_EQ(up.at("temperature").as_double(), 0.5);
  EXPECT_EQ(up.at("x_vendor_knob"), json::parse(R"({"a":[1,2]})"));
}

// A response nothing edits reaches the client as the upstream wrote it: members the gateway
// does not model (message annotations, detailed usage, a vendor's own) and the upstream's
// layout included. (The guard's output filter, which edits the text, is in governance_test.)
TEST_F(GatewayTest, ChatRelaysTheUpstreamBodyAsItCame) {
  const std::string body = R"({
  "id": "chatcmpl-relay", "object": "chat.completion", "created": 1700000000,
  "model": "fake-model-2025-01-01", "service_tier": "default",
  "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
    "message": {"role": "assistant", "content": "See the docs.", "refusal": null,
      "annotations": [{"type": "url_citation", "url_citation": {"url": "https://example.com",
        "title": "Docs", "start_index": 0, "end_index": 13}}]}}],
  "usage": {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11,
    "prompt_tokens_details": {"cached_tokens": 2, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "accepted_prediction_tokens": 1}},
  "x_vendor": {"region": "eu-west"}
}
)";
  upstream_.pushBehavior(Behavior::customBody(200, body));
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions", chatBody("fast"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.header("x-switchyard-model"), "fake-model");

  // A body that is not a chat completion is never relayed.
  upstream_.pushBehavior(Behavior::customBody(200, R"({"id":"x","choices":"many"})"));
  r = c.post("/v1/chat/completions", chatBody("fast"));
  EXPECT_EQ(r.status, 502u) << r.body;
}

TEST_F(GatewayTest, AliasesAndExplicitProviderModelResolve) {
  Client c(gateway_->port());
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody("fm")).status, 200u);
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).at("model"), "fake-model");
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody("up/some-unlisted")).status, 200u);
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).at("model"), "some-unlisted");
  // "name:latest" is Ollama's spelling of "name": clients moved from Ollama's /v1 send it.
  Reply latest = c.post("/v1/chat/completions", chatBody("fm:latest"));
  EXPECT_EQ(latest.status, 200u) << latest.body;
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).at("model"), "fake-model");
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody("nope:latest")).status, 404u);
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody(":latest")).status, 404u);
}

// Azure OpenAI: the model is the deployment, in the path with the api-version; the key goes in
// `api-key`, not Authorization.
TEST(AzureGatewayTest, DeploymentPathApiVersionAndKeyHeader) {
  FakeUpstream upstream;
  config::Config cfg;
  cfg.source = "<test>";
  cfg.server.host = "127.0.0.1";
  cfg.server.port = 0;
  cfg.server.workers = 1;
  cfg.log.access_log = false;
  config::ProviderConfig p;
  p.name = "az";
  p.kind = "azure";
  std::string origin = upstream.baseUrl();
  origin.resize(origin.size() - std::string_view("/v1").size());
  p.base_url = origin;
  p.api_key = "azure-secret";
  p.api_version = "2024-10-21";
  config::ModelConfig m;
  m.name = "gpt-4o prod";  // deployment names may hold characters a path must escape
  m.aliases = {"prod"};
  p.models = {m};
  cfg.providers = {p};
  auto gw = server::Gateway::create(std::move(cfg));
  ASSERT_TRUE(gw) << gw.error().toString();
  (*gw)->start();

  Client c((*gw)->port());
  Reply r = c.post("/v1/chat/completions",
                   R"({"model":"prod","messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto sent = upstream.lastRequest();
  EXPECT_EQ(sent.target, "/openai/deployments/gpt-4o%20prod/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(sent.header("api-key"), "azure-secret");
  EXPECT_EQ(sent.header("authorization"), "");

  Reply s = c.post("/v1/chat/completions",
                   R"({"model":"prod","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(s.status, 200u) << s.body;
  EXPECT_NE(s.body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(upstream.lastRequest().target,
            "/openai/deployments/gpt-4o%20prod/chat/completions?api-version=2024-10-21");

  Reply e = c.post("/v1/embeddings", R"({"model":"prod","input":"hello"})");
  EXPECT_EQ(upstream.lastRequest().target,
            "/openai/deployments/gpt-4o%20prod/embeddings?api-version=2024-10-21");
  (*gw)->shutdown();
}

TEST_F(GatewayTest, KeepsOneUpstreamConnectionAcrossRequests) {
  Client c(gateway_->port());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.post("/v1/chat/completions", chatBody("fast")).status, 200u);
  EXPECT_EQ(upstream_.requestCount(), 5u);
  EXPECT_EQ(upstream_.connectionsAccepted(), 1u);
}

TEST_F(GatewayTest, StreamRelaysChunksAndEndsWithDone) {
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions", chatBody("fast", true));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  bool done = false;
  auto events = sseData(r.body, &done);
  EXPECT_TRUE(done);
  std::string text;
  for (auto& e : events) {
    EXPECT_EQ(e.at("object"), "chat.completion.chunk");
    EXPECT_FALSE(e.as_object().contains("usage") && !e.at("usage").is_null())
        << "usage leaked to a client that did not ask for it";
    for (auto& ch : e.at("choices").as_array()) {
      if (auto* d = ch.at("delta").as_object().if_contains("content")) {
        text += d->as_string().c_str();
      }
    }
  }
  EXPECT_EQ(text, "Hello from the fake upstream!");
  // The gateway always asks for usage upstream, to log it.
  auto up = json::parse(upstream_.lastRequest().body);
  EXPECT_EQ(up.at("stream_options").at("include_usage"), true);
}

// Stream events nothing edits are relayed as the upstream wrote them (OpenAI's "obfuscation"
// member included); an event whose data spans several lines is written again on one.
TEST_F(GatewayTest, StreamRelaysEventsAsTheUpstreamWroteThem) {
  const std::string first =
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,)"
      R"("delta":{"role":"assistant","content":"Hi"},"finish_reason":null}],"obfuscation":"x1y2"})";
  const std::string usage =
      R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";
  upstream_.pushBehavior(Behavior::customStream({
      "data: " + first + "\n\n",
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\n"
      "data: \"choices\":[{\"index\":0,\"delta\":{\"content\":\" "
      "there\"},\"finish_reason\":\"stop\"}]}\n\n",
      "data: " + usage + "\n\n",
      "data: [DONE]\n\n",
  }));
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions",
                   chatBody("fast", true, R"("stream_options":{"include_usage":true})"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("data: " + first + "\n\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("data: " + usage + "\n\n"), std::string::npos) << r.body;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.empty() || line.starts_with("data: ")) << "not SSE: " << line;
  }
  bool done = false;
  auto events = sseData(r.body, &done);
  ASSERT_EQ(events.size(), 3u) << r.body;
  EXPECT_TRUE(done);
  EXPECT_EQ(events[1].at("choices").at(0).at("delta").at("content"), " there");
  EXPECT_EQ(events[1].at("choices").at(0).at("finish_reason"), "stop");
}

TEST_F(GatewayTest, StreamIncludesUsageWhenAsked) {
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions",
                   chatBody("fast", true, R"("stream_options":{"include_usage":true})"));
  ASSERT_EQ(r.status, 200u);
  auto events = sseData(r.body);
  ASSERT_FALSE(events.empty());
  auto& last = events.back();
  EXPECT_TRUE(last.at("choices").as_array().empty());
  EXPECT_EQ(last.at("usage").at("prompt_tokens"), 12);
}

TEST_F(GatewayTest, StreamedToolCallArgumentsSurviveSplitting) {
  upstream_.setBehavior(Behavior::toolCall());
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions", chatBody("fast", true));
  ASSERT_EQ(r.status, 200u);
  std::string args;
  std::string name;
  std::string finish;
  for (auto& e : sseData(r.body)) {
    for (auto& ch : e.at("choices").as_array()) {
      if (auto* tc = ch.at("delta").as_object().if_contains("tool_calls")) {
        for (auto& call : tc->as_array()) {
          auto& fn = call.at("function").as_object();
          if (auto* n = fn.if_contains("name")) name += n->as_string().c_str();
          if (auto* a = fn.if_contains("arguments")) args += a->as_string().c_str();
        }
      }
      if (!ch.at("finish_reason").is_null()) finish = ch.at("finish_reason").as_string().c_str();
    }
  }
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(args, R"({"location":"Paris","unit":"celsius"})");
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(GatewayTest, UpstreamErrorsKeepStatusAndMessage) {
  Client c(gateway_->port());
  upstream_.pushBehavior(Behavior::error(429, "slow down please"));
  Reply r = c.post("/v1/chat/completions", chatBody("fast"));
  EXPECT_EQ(r.status, 429u);
  EXPECT_NE(r.body.find("slow down please"), std::string::npos) << r.body;

  upstream_.pushBehavior(Behavior::error(500, "boom"));
  r = c.post("/v1/chat/completions", chatBody("fast", true));
  EXPECT_EQ(r.status, 500u) << "a failure before the first byte is a plain error response";
  EXPECT_EQ(r.json().at("error").at("message").as_string().find("boom") != std::string::npos,
            true);
}

TEST_F(GatewayTest, UpstreamResetIs502AndGatewayKeepsServing) {
  Client c(gateway_->port());
  upstream_.pushBehavior(Behavior::reset());
  Reply r = c.post("/v1/chat/completions", chatBody("fast"));
  EXPECT_EQ(r.status, 502u) << r.body;
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody("fast")).status, 200u);
}

TEST_F(GatewayTest, UpstreamHangTimesOutWith504) {
  gateway_.reset();
  start(std::chrono::milliseconds(300));
  upstream_.pushBehavior(Behavior::hang());
  Client c(gateway_->port());
  const auto t0 = std::chrono::steady_clock::now();
  Reply r = c.post("/v1/chat/completions", chatBody("fast"));
  EXPECT_EQ(r.status, 504u) << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(GatewayTest, StreamCutMidwaySendsErrorEventWithoutDone) {
  upstream_.pushBehavior(Behavior::cutStream(2));
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions", chatBody("fast", true));
  ASSERT_EQ(r.status, 200u);
  bool done = false;
  auto events = sseData(r.body, &done);
  EXPECT_FALSE(done);
  ASSERT_GE(events.size(), 3u);
  EXPECT_TRUE(events.back().as_object().contains("error")) << r.body;
  // The error is an event of a complete response: the connection stays open, as after any
  // other (a client that pooled it would otherwise send its next request into a closing socket).
  EXPECT_EQ(c.post("/v1/chat/completions", chatBody("fast")).status, 200u);
}

TEST_F(GatewayTest, ClientDisconnectCancelsUpstreamCall) {
  upstream_.setBehavior(Behavior::hang());
  {
    Client c(gateway_->port());
    c.send("/v1/chat/completions", chatBody("fast"));
    ASSERT_TRUE(upstream_.waitForActiveConnections(1, std::chrono::seconds(5)));
    c.close();
  }
  EXPECT_TRUE(upstream_.waitForActiveConnections(0, std::chrono::seconds(5)))
      << "the upstream request outlived its client";
}

TEST_F(GatewayTest, EmbeddingsRoundTripBase64AndFloat) {
  Client c(gateway_->port());
  Reply f = c.post("/v1/embeddings", R"({"model":"fake-embedder","input":["a","b"]})");
  ASSERT_EQ(f.status, 200u) << f.body;
  auto fj = f.json();
  ASSERT_EQ(fj.at("data").as_array().size(), 2u);
  auto& vec = fj.at("data").at(0).at("embedding").as_array();
  EXPECT_EQ(vec.size(), 8u);

  Reply b = c.post("/v1/embeddings",
                   R"({"model":"fake-embedder","input":["a","b"],"encoding_format":"base64"})");
  ASSERT_EQ(b.status, 200u) << b.body;
  EXPECT_TRUE(b.json().at("data").at(0).at("embedding").is_string());
}

TEST_F(GatewayTest, CompletionsPassThrough) {
  Client c(gateway_->port());
  Reply r = c.post("/v1/completions", R"({"model":"fast","prompt":"Once upon"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("object"), "text_completion");
  EXPECT_EQ(upstream_.lastRequest().target, "/v1/completions");
}

TEST_F(GatewayTest, ModelsListsRoutesAliasesAndModels) {
  Client c(gateway_->port());
  Reply r = c.call(bhttp::verb::get, "/v1/models");
  ASSERT_EQ(r.status, 200u);
  std::vector<std::string> ids;
  const json::value listing = r.json();
  // `created`: when the listing was loaded (this test's gateway started a moment ago), not 0.
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  for (auto& m : listing.at("data").as_array()) {
    ids.emplace_back(m.at("id").as_string());
    const std::int64_t created = m.at("created").as_int64();
    EXPECT_LE(created, now_s);
    EXPECT_GT(created, now_s - 600) << m;
  }
  for (const char* want : {"fast", "fm", "fake-model", "up/fake-model", "fake-embedder"}) {
    EXPECT_NE(std::find(ids.begin(), ids.end(), want), ids.end()) << want;
  }
  // GET /v1/models/{model}: one entry; an id with a '/' as is or percent-encoded.
  for (const char* path :
       {"/v1/models/fast", "/v1/models/up/fake-model", "/models/up%2Ffake-model"}) {
    Reply one = c.call(bhttp::verb::get, path);
    ASSERT_EQ(one.status, 200u) << path << ": " << one.body;
    EXPECT_EQ(one.json().at("object"), "model");
    EXPECT_EQ(one.json().at("owned_by").as_string().empty(), false);
    EXPECT_EQ(one.json().at("created"), listing.at("data").at(0).at("created"));
  }
  EXPECT_EQ(c.call(bhttp::verb::get, "/v1/models/up%2Ffake-model").json().at("id"),
            "up/fake-model");
  Reply missing = c.call(bhttp::verb::get, "/v1/models/nope");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.json().at("error").at("code"), "model_not_found");
  EXPECT_EQ(c.call(bhttp::verb::delete_, "/v1/models/fast").status, 405u);
}

// Without a rag: section, a request that names a collection is refused, not answered
// ungrounded (nor is the body's "rag" forwarded to the upstream as an unknown field).
TEST_F(GatewayTest, RagWithoutARagSectionIsA400NotAnUngroundedAnswer) {
  Client c(gateway_->port());
  const std::size_t before = upstream_.requestCount();
  Reply body =
      c.post("/v1/chat/completions",
             R"({"model":"fast","messages":[{"role":"user","content":"x"}],"rag":"docs"})");
  EXPECT_EQ(body.status, 400u) << body.body;
  EXPECT_EQ(body.json().at("error").at("param"), "rag");
  EXPECT_EQ(body.json().at("error").at("code"), "rag_not_enabled");
  EXPECT_NE(body.body.find("no rag: section"), std::string::npos) << body.body;
  Reply header = fakes::request(gateway_->port(), bhttp::verb::post, "/v1/chat/completions",
                                R"({"model":"fast","messages":[{"role":"user","content":"x"}]})",
                                {{"x-switchyard-rag", "docs"}});
  EXPECT_EQ(header.status, 400u) << header.body;
  EXPECT_EQ(header.json().at("error").at("param"), "x-switchyard-rag");
  EXPECT_EQ(upstream_.requestCount(), before);
  EXPECT_EQ(c.post("/v1/chat/completions",
                   R"({"model":"fast","messages":[{"role":"user","content":"x"}]})")
                .status,
            200u);
}

TEST_F(GatewayTest, BadInputGetsClearOpenAIErrors) {
  Client c(gateway_->port());
  struct Case {
    std::string target, body;
    unsigned status;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"/v1/chat/completions", "{not json", 400, "JSON"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}]})", 400, "model"},
      {"/v1/chat/completions", R"({"model":"fast"})", 400, "messages"},
      {"/v1/chat/completions", R"({"model":"fast","messages":"hi"})", 400, "messages"},
      {"/v1/chat/completions", R"({"model":"fast","messages":[{"role":"user","content":"x"}],"temperature":"hot"})", 400, "temperature"},
      {"/v1/chat/completions", R"({"model":"nope","messages":[{"role":"user","content":"x"}]})", 404, "nope"},
      {"/v1/chat/completions", "{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", 400, ""},
      {"/v1/nothing", "{}", 404, "/v1/nothing"},
  };
  for (const auto& tc : cases) {
    Reply r = c.post(tc.target, tc.body);
    EXPECT_EQ(r.status, tc.status) << tc.body << " -> " << r.body;
    auto j = r.json();
    ASSERT_TRUE(j.as_object().contains("error")) << r.body;
    EXPECT_NE(j.at("error").at("message").as_string().find(tc.needle), std::string::npos)
        << r.body;
  }
  EXPECT_EQ(upstream_.requestCount(), 0u) << "bad input must never reach the upstream";
  EXPECT_EQ(c.call(bhttp::verb::get, "/v1/chat/completions").status, 405u);
}

TEST_F(GatewayTest, OversizedBodyIs413) {
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions", chatBody("fast", false,
                                                    "\"pad\":\"" + std::string(70000, 'x') + "\""));
  EXPECT_EQ(r.status, 413u);
  EXPECT_NE(r.body.find("limit"), std::string::npos);
}

// Browsers calling the API from a page (CORS): the default admits pages served from this
// machine, on any port, and nothing else.
TEST_F(GatewayTest, CorsAdmitsLocalPagesByDefault) {
  const fakes::Headers preflight = {
      {"Origin", "http://localhost:3000"},
      {"Access-Control-Request-Method", "POST"},
      {"Access-Control-Request-Headers", "authorization,content-type"}};
  Reply pre =
      fakes::request(gateway_->port(), bhttp::verb::options, "/v1/chat/completions", "", preflight);
  EXPECT_EQ(pre.status, 204u) << pre.body;
  EXPECT_EQ(pre.header("access-control-allow-origin"), "http://localhost:3000");
  EXPECT_EQ(pre.header("access-control-allow-headers"), "authorization,content-type");
  EXPECT_NE(pre.header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_EQ(pre.header("vary"), "Origin");
  EXPECT_EQ(pre.header("content-length"), "");  // a 204 has none
  EXPECT_EQ(upstream_.requestCount(), 0u);      // a preflight never reaches a model

  Reply chat = fakes::post(gateway_->port(), "/v1/chat/completions", chatBody("fast"),
                           {{"Origin", "http://127.0.0.1:8000"}});
  EXPECT_EQ(chat.status, 200u) << chat.body;
  EXPECT_EQ(chat.header("access-control-allow-origin"), "http://127.0.0.1:8000");
  EXPECT_NE(chat.header("access-control-expose-headers").find("x-request-id"), std::string::npos);
  Reply missing = fakes::post(gateway_->port(), "/v1/chat/completions", chatBody("nope"),
                              {{"Origin", "http://localhost:5173"}});
  EXPECT_EQ(missing.status, 404u);  // errors carry the headers too, so the page can read them
  EXPECT_EQ(missing.header("access-control-allow-origin"), "http://localhost:5173");

  for (const char* other : {"https://evil.example", "http://localhost.evil.example:3000",
                            "http://localhost:80x", "http://127.0.0.2:8000"}) {
    Reply r =
        fakes::request(gateway_->port(), bhttp::verb::get, "/v1/models", "", {{"Origin", other}});
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("access-control-allow-origin"), "") << other;
  }
  Reply admin = fakes::request(
      gateway_->port(), bhttp::verb::options, "/admin/reload", "",
      {{"Origin", "http://localhost:3000"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_NE(admin.status, 204u);  // the admin API is same-origin only
  EXPECT_EQ(admin.header("access-control-allow-origin"), "");
}

TEST(CorsConfigTest, StarAdmitsEveryOriginAndAnEmptyListNone) {
  (void)setupLogging({"warn", LogFormat::kText, ""});
  FakeUpstream upstream;
  for (bool any : {true, false}) {
    config::Config cfg = fakes::testConfig();
    cfg.server.cors_origins = any ? std::vector<std::string>{"*"} : std::vector<std::string>{};
    cfg.providers = {fakes::fakeProvider("up", "openai", upstream, {{"fake-model", {}, 0}})};
    auto gateway = fakes::startGateway(std::move(cfg));
    ASSERT_TRUE(gateway);
    Reply r = fakes::request(gateway->port(), bhttp::verb::get, "/v1/models", "",
                             {{"Origin", "https://app.example.com"}});
    EXPECT_EQ(r.header("access-control-allow-origin"), any ? "*" : "");
    EXPECT_EQ(r.header("vary"), "");
  }
}

TEST_F(GatewayTest, HealthAndReadiness) {
  Client c(gateway_->port());
  EXPECT_EQ(c.call(bhttp::verb::get, "/healthz").status, 200u);
  EXPECT_EQ(c.call(bhttp::verb::get, "/health").body, R"({"status":"ok"})");  // llama-server's
  EXPECT_EQ(c.call(bhttp::verb::get, "/readyz").status, 200u);
}

TEST_F(GatewayTest, ShutdownLetsInFlightRequestFinish) {
  Behavior slow = Behavior::normal();
  slow.delay = std::chrono::milliseconds(300);
  upstream_.setBehavior(slow);
  Client c(gateway_->port());
  c.send("/v1/chat/completions", chatBody("fast"));
  ASSERT_TRUE(upstream_.waitForActiveConnections(1, std::chrono::seconds(5)));
  std::thread stopper([&] { gateway_->shutdown(); });
  Reply r = c.readReply();
  stopper.join();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.json().at("choices").at(0).at("message").at("content"),
            "Hello from the fake upstream!");
  EXPECT_EQ(r.header("connection"), "close");
}

TEST_F(GatewayTest, LogsNeverContainKeysOrAuthorizationHeaders) {
  const std::string path = ::testing::TempDir() + "/sy_gateway_log.jsonl";
  std::remove(path.c_str());
  ASSERT_TRUE(setupLogging({"trace", LogFormat::kJson, path}).isOk());
  gateway_.reset();
  start(std::chrono::milliseconds(2000), /*access_log=*/true);
  {
    Client c(gateway_->port());
    auto auth = std::vector<std::pair<std::string, std::string>>{
        {"Authorization", "Bearer sk-client-secret-value"}};
    EXPECT_EQ(c.call(bhttp::verb::post, "/v1/chat/completions", chatBody("fast"), auth).status,
              200u);
    upstream_.pushBehavior(Behavior::error(401, "Incorrect API key provided: sk-test-secret"));
    EXPECT_EQ(c.call(bhttp::verb::post, "/v1/chat/completions", chatBody("fast"), auth).status,
              401u);
  }
  gateway_->shutdown();
  spdlog::default_logger()->flush();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string log = text.str();
  EXPECT_NE(log.find(R"("event":"request")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("status":401)"), std::string::npos) << log;
  EXPECT_EQ(log.find("sk-client-secret-value"), std::string::npos) << log;
  EXPECT_EQ(log.find("sk-test-secret"), std::string::npos) << log;
  ASSERT_TRUE(setupLogging({"warn", LogFormat::kText, ""}).isOk());
}

}  // namespace
}  // namespace switchyard
