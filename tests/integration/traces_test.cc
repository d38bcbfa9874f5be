// OpenTelemetry traces end to end: the real gateway on port 0 exports OTLP/HTTP JSON to a fake
// collector (a FakeUpstream that answers every POST with 200 and records the bodies). Checks the
// span tree (one trace, the client's traceparent honoured, parents), GenAI attributes, statuses,
// the traceparent the fake upstream received; and the request-log fields that dispatch fills
// (model_version, payloads for opted-in routes only).

#include "switchyard/server/gateway.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <thread>

#include "switchyard/core/log.h"
#include "switchyard/store/database.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace json = boost::json;
using fakes::Behavior;
using fakes::FakeUpstream;
using fakes::Reply;
using std::chrono::milliseconds;

constexpr std::string_view kClientTrace = "0af7651916cd43dd8448eb211c80319c";
constexpr std::string_view kClientSpan = "b7ad6b7169203331";
constexpr std::string_view kPrompt = "Tell me about the secret prompt text";

std::string chatBody(std::string_view model, bool stream = false, std::string_view text = kPrompt) {
  json::object body{{"model", model},
                    {"max_tokens", 7},
                    {"temperature", 0.25},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", text}}}}};
  if (stream) body["stream"] = true;
  return json::serialize(body);
}

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

// A span's attribute value as JSON (the OTLP AnyValue's one member), or null.
json::value attr(const json::value& span, std::string_view key) {
  for (const auto& a : span.at("attributes").as_array()) {
    if (str(a.at("key")) == key) {
      const auto& v = a.at("value").as_object();
      if (v.empty()) return nullptr;
      return v.begin()->value();
    }
  }
  return nullptr;
}

int statusCode(const json::value& span) {
  const auto* status = span.as_object().if_contains("status");
  if (status == nullptr) return 0;
  const auto* code = status->as_object().if_contains("code");
  return code == nullptr ? 0 : static_cast<int>(code->to_number<int>());
}

class TracesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"error", LogFormat::kText, ""}); }

  void SetUp() override {
    collector_.setBehavior(Behavior::customBody(200, "{}"));
    db_path_ = (std::filesystem::temp_directory_path() /
                ("sy_traces_it_" + std::to_string(::getpid()) + ".db"))
                   .string();
    removeDb();
  }
  void TearDown() override {
    gateway_.reset();
    removeDb();
  }
  void removeDb() {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(db_path_ + s);
  }

  void start(std::function<void(config::Config&)> adjust = {}) {
    config::Config cfg;
    cfg.source = "<test>";
    cfg.server.port = 0;
    cfg.server.workers = 1;
    cfg.server.drain_timeout = milliseconds(2000);
    cfg.log.access_log = false;
    cfg.storage_url = "sqlite://" + db_path_;
    config::ProviderConfig p;
    p.name = "up";
    p.kind = "openai";
    p.base_url = upstream_.baseUrl();
    p.api_key = "sk-upstream-secret";
    p.models = {{"fake-model", {}, 0}};
    cfg.providers = {p};
    config::RouteConfig fast;
    fast.name = "fast";
    fast.candidates = {{"up", "fake-model"}};
    fast.retry.attempts = 2;
    fast.retry.backoff = milliseconds(10);
    fast.retry.max_backoff = milliseconds(100);
    config::RouteConfig logged = fast;
    logged.name = "logged";
    cfg.routes = {fast, logged};
    cfg.guard.enabled = true;
    cfg.guard.policy = {{"CREDIT_CARD", "block"}};
    cfg.telemetry.request_log.enabled = true;
    cfg.telemetry.request_log.payload_routes = {"logged"};
    cfg.telemetry.request_log.flush_interval = milliseconds(50);
    cfg.telemetry.traces.endpoint = "http://127.0.0.1:" + std::to_string(collector_.port());
    cfg.telemetry.traces.flush_interval = milliseconds(50);
    cfg.telemetry.traces.headers = {{"Authorization", "Bearer otlp-secret"}};
    cfg.telemetry.traces.resource = {{"deployment.environment", "test"}};
    if (adjust) adjust(cfg);
    auto gw = server::Gateway::create(std::move(cfg));
    ASSERT_TRUE(gw.has_value()) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
  }

  Reply post(const std::string& body, fakes::Headers headers = {}) {
    return fakes::post(gateway_->port(), "/v1/chat/completions", body, headers);
  }

  // Every span the collector received so far.
  std::vector<json::value> spans() const {
    std::vector<json::value> out;
    for (const auto& req : collector_.requests()) {
      const json::value doc = json::parse(req.body);
      for (const auto& rs : doc.at("resourceSpans").as_array()) {
        for (const auto& ss : rs.at("scopeSpans").as_array()) {
          for (const auto& s : ss.at("spans").as_array()) out.push_back(s);
        }
      }
    }
    return out;
  }

  // The spans of the trace whose SERVER span has switchyard.request_id == `request_id`, once at
  // least `count` of them arrived (waits up to 5 s).
  std::vector<json::value> traceOf(const std::string& request_id, std::size_t count) const {
    std::vector<json::value> trace;
    for (int i = 0; i < 500; ++i) {
      trace.clear();
      const auto all = spans();
      std::string trace_id;
      for (const auto& s : all) {
        if (s.at("kind") == 2 && str(attr(s, "switchyard.request_id")) == request_id) {
          trace_id = str(s.at("traceId"));
        }
      }
      for (const auto& s : all) {
        if (!trace_id.empty() && str(s.at("traceId")) == trace_id) trace.push_back(s);
      }
      if (trace.size() >= count) return trace;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return trace;
  }

  static const json::value* find(const std::vector<json::value>& spans, int kind,
                                 std::string_view name) {
    for (const auto& s : spans) {
      if (s.at("kind") == kind && str(s.at("name")) == name) return &s;
    }
    return nullptr;
  }
  static std::vector<const json::value*> clients(const std::vector<json::value>& spans) {
    std::vector<const json::value*> out;
    for (const auto& s : spans) {
      if (s.at("kind") == 3) out.push_back(&s);
    }
    // Start times are 19-digit strings (Unix nanoseconds): string order is time order.
    std::sort(out.begin(), out.end(), [](const json::value* a, const json::value* b) {
      return str(a->at("startTimeUnixNano")) < str(b->at("startTimeUnixNano"));
    });
    return out;
  }

  FakeUpstream upstream_;
  FakeUpstream collector_;
  std::unique_ptr<server::Gateway> gateway_;
  std::string db_path_;
};

TEST_F(TracesTest, NonStreamedChatContinuesTheClientsTrace) {
  start();
  const std::string traceparent =
      "00-" + std::string(kClientTrace) + "-" + std::string(kClientSpan) + "-01";
  Reply r = post(chatBody("fast"), {{"traceparent", traceparent}, {"tracestate", "acme=7"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto trace = traceOf(r.header("x-request-id"), 4);  // server, guard, route, client
  ASSERT_GE(trace.size(), 4u);

  const json::value* server = find(trace, 2, "chat fast");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(str(server->at("traceId")), kClientTrace);
  EXPECT_EQ(str(server->at("parentSpanId")), kClientSpan);
  EXPECT_EQ(server->at("traceState"), "acme=7");
  EXPECT_EQ(str(attr(*server, "http.request.method")), "POST");
  EXPECT_EQ(str(attr(*server, "http.route")), "/v1/chat/completions");
  EXPECT_EQ(str(attr(*server, "http.response.status_code")), "200");
  EXPECT_EQ(str(attr(*server, "gen_ai.operation.name")), "chat");
  EXPECT_EQ(str(attr(*server, "gen_ai.request.model")), "fast");
  EXPECT_EQ(statusCode(*server), 0);
  const std::string server_id = str(server->at("spanId"));

  for (const auto& s : trace) {
    EXPECT_EQ(str(s.at("traceId")), kClientTrace);
    if (&s != server) {
      EXPECT_EQ(str(s.at("parentSpanId")), server_id) << s.at("name");
    }
  }
  const json::value* guard = find(trace, 1, "guard");
  ASSERT_NE(guard, nullptr);
  EXPECT_EQ(statusCode(*guard), 0);
  const json::value* route = find(trace, 1, "route");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(str(attr(*route, "switchyard.route")), "fast");
  EXPECT_EQ(str(attr(*route, "switchyard.routing.strategy")), "priority");
  EXPECT_FALSE(str(attr(*route, "switchyard.routing.decision")).empty());
  EXPECT_EQ(attr(*route, "switchyard.local_only"), false);

  const auto attempts = clients(trace);
  ASSERT_EQ(attempts.size(), 1u);
  const json::value& client = *attempts[0];
  EXPECT_EQ(client.at("name"), "chat fake-model");
  EXPECT_EQ(str(attr(client, "gen_ai.system")), "openai");
  EXPECT_EQ(str(attr(client, "gen_ai.provider.name")), "openai");
  EXPECT_EQ(str(attr(client, "gen_ai.request.model")), "fake-model");
  EXPECT_EQ(str(attr(client, "gen_ai.response.model")), "fake-model");
  EXPECT_EQ(str(attr(client, "gen_ai.response.id")).rfind("chatcmpl-fake-", 0), 0u);
  EXPECT_EQ(str(attr(client, "gen_ai.request.max_tokens")), "7");
  EXPECT_EQ(attr(client, "gen_ai.request.temperature"), 0.25);
  EXPECT_EQ(str(attr(client, "gen_ai.usage.input_tokens")), "12");
  EXPECT_EQ(str(attr(client, "gen_ai.usage.output_tokens")), "5");
  const json::value stop = json::parse(R"({"values":[{"stringValue":"stop"}]})");
  EXPECT_EQ(attr(client, "gen_ai.response.finish_reasons"), stop);
  EXPECT_EQ(str(attr(client, "server.address")), "127.0.0.1");
  EXPECT_EQ(str(attr(client, "server.port")), std::to_string(upstream_.port()));
  EXPECT_EQ(str(attr(client, "switchyard.attempt")), "1");
  EXPECT_EQ(statusCode(client), 0);

  // The upstream joined the trace under the attempt's span, with the client's tracestate.
  const auto upstream = upstream_.lastRequest();
  EXPECT_EQ(upstream.header("traceparent"),
            "00-" + std::string(kClientTrace) + "-" + str(client.at("spanId")) + "-01");
  EXPECT_EQ(upstream.header("tracestate"), "acme=7");

  // Resource, and nothing secret in what the collector got: no prompt, no keys.
  const auto req = collector_.lastRequest();
  EXPECT_EQ(req.target, "/v1/traces");
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.header("authorization"), "Bearer otlp-secret");
  const json::value doc = json::parse(req.body);
  const json::value resource = doc.at("resourceSpans").at(0).at("resource");
  EXPECT_EQ(str(attr(resource, "service.name")), "switchyard");
  EXPECT_FALSE(str(attr(resource, "service.version")).empty());
  EXPECT_EQ(str(attr(resource, "deployment.environment")), "test");
  for (const auto& rec : collector_.requests()) {
    EXPECT_EQ(rec.body.find("secret prompt"), std::string::npos);
    EXPECT_EQ(rec.body.find("sk-upstream-secret"), std::string::npos);
    EXPECT_EQ(rec.body.find("Hello from the fake"), std::string::npos);
  }
}

TEST_F(TracesTest, StreamedChatHasUsageAndFinishReasonOnItsClientSpan) {
  start();
  Reply r = post(chatBody("fast", true));
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto trace = traceOf(r.header("x-request-id"), 4);
  const json::value* server = find(trace, 2, "chat fast");
  ASSERT_NE(server, nullptr);
  EXPECT_FALSE(server->as_object().contains("parentSpanId"));  // a new trace starts here
  EXPECT_EQ(attr(*server, "switchyard.stream"), true);
  EXPECT_EQ(str(attr(*server, "http.response.status_code")), "200");
  const auto attempts = clients(trace);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(str(attr(*attempts[0], "gen_ai.usage.input_tokens")), "12");
  EXPECT_EQ(str(attr(*attempts[0], "gen_ai.usage.output_tokens")), "5");
  EXPECT_EQ(str(attr(*attempts[0], "gen_ai.response.model")), "fake-model");
  EXPECT_FALSE(attr(*attempts[0], "gen_ai.response.finish_reasons").is_null());
  EXPECT_EQ(upstream_.lastRequest().header("traceparent"),
            "00-" + str(server->at("traceId")) + "-" + str(attempts[0]->at("spanId")) + "-01");
}

TEST_F(TracesTest, RetryAfterServerErrorGivesTwoClientSpans) {
  start();
  upstream_.pushBehavior(Behavior::error(500, "transient"));
  Reply r = post(chatBody("fast"));
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto trace = traceOf(r.header("x-request-id"), 5);
  const auto attempts = clients(trace);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(statusCode(*attempts[0]), 2);
  EXPECT_FALSE(str(attr(*attempts[0], "error.type")).empty());
  EXPECT_EQ(str(attr(*attempts[0], "http.response.status_code")), "500");
  EXPECT_EQ(str(attr(*attempts[0], "switchyard.attempt")), "1");
  EXPECT_EQ(statusCode(*attempts[1]), 0);
  EXPECT_EQ(str(attr(*attempts[1], "switchyard.attempt")), "2");
  EXPECT_EQ(str(attr(*attempts[1], "http.request.resend_count")), "1");
  EXPECT_NE(attempts[0]->at("spanId"), attempts[1]->at("spanId"));
  // Each try carried its own span id upstream.
  const auto seen = upstream_.requests();
  ASSERT_GE(seen.size(), 2u);
  const std::string trace_id = str(attempts[0]->at("traceId"));
  EXPECT_EQ(seen[seen.size() - 2].header("traceparent"),
            "00-" + trace_id + "-" + str(attempts[0]->at("spanId")) + "-01");
  EXPECT_EQ(seen.back().header("traceparent"),
            "00-" + trace_id + "-" + str(attempts[1]->at("spanId")) + "-01");
  const json::value* server = find(trace, 2, "chat fast");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(str(attr(*server, "switchyard.attempts")), "2");
  EXPECT_EQ(statusCode(*server), 0);
}

TEST_F(TracesTest, RequestBlockedByAStageEndsAtThatStage) {
  start();
  Reply r = post(chatBody("fast", false, "my card is 4111 1111 1111 1111"));
  ASSERT_EQ(r.status, 400u) << r.body;
  const auto trace = traceOf(r.header("x-request-id"), 2);
  // server + auth, limits, guard: no routing, no upstream call.
  ASSERT_EQ(trace.size(), 4u);
  EXPECT_EQ(find(trace, 1, "route"), nullptr);
  EXPECT_TRUE(clients(trace).empty());
  const json::value* server = find(trace, 2, "chat fast");
  ASSERT_NE(server, nullptr);
  for (std::string_view stage : {"auth", "limits"}) {
    const json::value* passed = find(trace, 1, stage);
    ASSERT_NE(passed, nullptr) << stage;
    EXPECT_EQ(statusCode(*passed), 0);
  }
  EXPECT_EQ(str(attr(*server, "http.response.status_code")), "400");
  EXPECT_EQ(str(attr(*server, "error.type")), "pii_blocked");
  EXPECT_EQ(statusCode(*server), 0);  // a 4xx is not the server's error
  const json::value* guard = find(trace, 1, "guard");
  ASSERT_NE(guard, nullptr);
  EXPECT_EQ(statusCode(*guard), 2);
  EXPECT_EQ(str(attr(*guard, "error.type")), "pii_blocked");
  EXPECT_EQ(upstream_.requestCount(), 0u);
  // The card's digit groups (ids in the body are hex and may hold "4111" by chance).
  EXPECT_EQ(collector_.lastRequest().body.find("4111 1111"), std::string::npos);
  EXPECT_EQ(collector_.lastRequest().body.find("4111111111111111"), std::string::npos);
}

TEST_F(TracesTest, UnsampledRequestsExportNothingAndSendNoTraceparent) {
  start([](config::Config& cfg) { cfg.telemetry.traces.sample_ratio = 0; });
  ASSERT_EQ(post(chatBody("fast")).status, 200u);
  // The client's unsampled decision is honoured too.
  ASSERT_EQ(post(chatBody("fast"), {{"traceparent", "00-" + std::string(kClientTrace) + "-" +
                                                        std::string(kClientSpan) + "-00"}})
                .status,
            200u);
  gateway_.reset();  // flushes the exporter
  EXPECT_TRUE(spans().empty());
  for (const auto& req : upstream_.requests()) EXPECT_EQ(req.header("traceparent"), "");
}

TEST_F(TracesTest, CollectorOutageIsRetriedThenCounted) {
  collector_.pushBehavior(Behavior::error(503, "busy"));
  start();
  Reply r = post(chatBody("fast"));
  ASSERT_EQ(r.status, 200u);
  // The first export got 503 and was retried with the same batch.
  for (int i = 0; i < 500 && collector_.requestCount() < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const auto exports = collector_.requests();
  ASSERT_EQ(exports.size(), 2u);
  EXPECT_EQ(exports[0].body, exports[1].body);
  EXPECT_NE(exports[1].body.find(r.header("x-request-id")), std::string::npos);
}

TEST_F(TracesTest, ContentIsNotCapturedByDefault) {
  start();
  Reply r = post(chatBody("fast"));
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto trace = traceOf(r.header("x-request-id"), 4);
  ASSERT_GE(trace.size(), 4u);
  for (const auto& s : trace) {
    EXPECT_TRUE(attr(s, "gen_ai.input.messages").is_null()) << s.at("name");
    EXPECT_TRUE(attr(s, "gen_ai.output.messages").is_null()) << s.at("name");
    EXPECT_TRUE(attr(s, "switchyard.content_withheld").is_null()) << s.at("name");
  }
}

TEST_F(TracesTest, CapturedContentIsWhatTheGuardLeft) {
  start([](config::Config& cfg) {
    cfg.telemetry.traces.capture_content = true;
    cfg.guard.policy["EMAIL"] = "redact";
    cfg.guard.routes["logged"] = {{"EMAIL", "mask"}};  // a vault: never captured
    cfg.guard.routes["private"] = {{"EMAIL", "local_only"}};
    config::ProviderConfig onprem = cfg.providers[0];  // the same fake, on-prem
    onprem.name = "onprem";
    onprem.locality = "on_prem";
    cfg.providers.push_back(onprem);
    config::RouteConfig route = cfg.routes[0];
    route.name = "private";
    route.candidates = {{"onprem", "fake-model"}};
    cfg.routes.push_back(route);
  });
  const std::string prompt = "Mail jane.doe@example.com about the secret prompt text";
  Reply r = post(chatBody("fast", false, prompt));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto trace = traceOf(r.header("x-request-id"), 4);
  const json::value* server = find(trace, 2, "chat fast");
  ASSERT_NE(server, nullptr);
  const json::value input = json::parse(str(attr(*server, "gen_ai.input.messages")));
  const json::value expected_input = json::parse(
      R"([{"role":"user","parts":[{"type":"text",)"
      R"("content":"Mail [EMAIL_1] about the secret prompt text"}]}])");
  EXPECT_EQ(input, expected_input);
  const json::value output = json::parse(str(attr(*server, "gen_ai.output.messages")));
  const json::value expected_output = json::parse(
      R"([{"role":"assistant","finish_reason":"stop",)"
      R"("parts":[{"type":"text","content":"Hello from the fake upstream!"}]}])");
  EXPECT_EQ(output, expected_output);
  // The inference span (the attempt that answered) carries the same.
  const auto attempts = clients(trace);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(json::parse(str(attr(*attempts[0], "gen_ai.input.messages"))), expected_input);
  EXPECT_EQ(json::parse(str(attr(*attempts[0], "gen_ai.output.messages"))), expected_output);

  // Streamed: the assembled answer.
  Reply streamed = post(chatBody("fast", true, prompt));
  ASSERT_EQ(streamed.status, 200u);
  trace = traceOf(streamed.header("x-request-id"), 4);
  server = find(trace, 2, "chat fast");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(json::parse(str(attr(*server, "gen_ai.input.messages"))), expected_input);
  EXPECT_EQ(json::parse(str(attr(*server, "gen_ai.output.messages"))), expected_output);

  // Masked (the vault restores the value in the answer): withheld, and says why.
  Reply masked = post(chatBody("logged", false, prompt));
  ASSERT_EQ(masked.status, 200u);
  trace = traceOf(masked.header("x-request-id"), 4);
  server = find(trace, 2, "chat logged");
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(attr(*server, "gen_ai.input.messages").is_null());
  EXPECT_TRUE(attr(*server, "gen_ai.output.messages").is_null());
  EXPECT_EQ(str(attr(*server, "switchyard.content_withheld")), "guard masked (EMAIL:mask:1)");

  // Kept on-prem: must not reach a collector either.
  Reply local = post(chatBody("private", false, prompt));
  ASSERT_EQ(local.status, 200u) << local.body;
  trace = traceOf(local.header("x-request-id"), 4);
  server = find(trace, 2, "chat private");
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(attr(*server, "gen_ai.input.messages").is_null());
  EXPECT_EQ(str(attr(*server, "switchyard.content_withheld")), "local_only (guard: EMAIL)");

  // Blocked: nothing captured.
  Reply blocked = post(chatBody("fast", false, "my card is 4111 1111 1111 1111"));
  ASSERT_EQ(blocked.status, 400u);
  trace = traceOf(blocked.header("x-request-id"), 4);
  server = find(trace, 2, "chat fast");
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(attr(*server, "gen_ai.input.messages").is_null());

  gateway_.reset();
  for (const auto& rec : collector_.requests()) {
    EXPECT_EQ(rec.body.find("jane.doe@example.com"), std::string::npos);
    // (Not just "4111": trace, span and request ids are hex and may hold those digits.)
    EXPECT_EQ(rec.body.find("4111 1111"), std::string::npos) << rec.body;
    EXPECT_EQ(rec.body.find("4111111111111111"), std::string::npos) << rec.body;
  }
}

TEST_F(TracesTest, CapturedContentIsCutToMaxContentBytes) {
  start([](config::Config& cfg) {
    cfg.telemetry.traces.capture_content = true;
    cfg.telemetry.traces.max_content_bytes = 120;
  });
  Reply r = post(chatBody("fast", false, std::string(500, 'x')));
  ASSERT_EQ(r.status, 200u);
  const auto trace = traceOf(r.header("x-request-id"), 4);
  const json::value* server = find(trace, 2, "chat fast");
  ASSERT_NE(server, nullptr);
  const std::string input = str(attr(*server, "gen_ai.input.messages"));
  EXPECT_LE(input.size(), 120u);
  EXPECT_GT(input.size(), 60u);
  const json::value v = json::parse(input);  // still valid JSON
  EXPECT_EQ(v.at(0).at("role"), "user");
}

TEST_F(TracesTest, RequestLogCarriesModelVersionAndPayloadsOnlyForOptedInRoutes) {
  start();
  ASSERT_EQ(post(chatBody("fast")).status, 200u);
  ASSERT_EQ(post(chatBody("logged")).status, 200u);
  ASSERT_EQ(post(chatBody("logged", true)).status, 200u);
  // A dated snapshot answering for the requested id: the version is the reported model.
  upstream_.pushBehavior(Behavior::customBody(
      200,
      R"({"id":"chatcmpl-x","object":"chat.completion","created":1,"model":"fake-model-2025-01-01",)"
      R"("system_fingerprint":"fp_42","choices":[{"index":0,"message":{"role":"assistant",)"
      R"("content":"dated"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,)"
      R"("completion_tokens":1,"total_tokens":4}})"));
  ASSERT_EQ(post(chatBody("fast")).status, 200u);
  gateway_.reset();  // graceful shutdown writes every row

  auto db = store::openDatabase("sqlite://" + db_path_);
  ASSERT_TRUE(db.has_value());
  auto rows = (*db)->query(
      "SELECT route, stream, model_version, request_payload, response_payload FROM request_log "
      "ORDER BY id");
  ASSERT_TRUE(rows.has_value()) << rows.error().toString();
  ASSERT_EQ(rows->size(), 4u);
  const auto& plain = (*rows)[0];
  EXPECT_EQ(plain.text(0), "fast");
  EXPECT_EQ(plain.text(2), "fp_fake");  // same model id: the fingerprint is the version
  EXPECT_EQ(plain.text(3), "");
  EXPECT_EQ(plain.text(4), "");
  const auto& logged = (*rows)[1];
  EXPECT_EQ(logged.text(0), "logged");
  EXPECT_EQ(logged.text(3), chatBody("logged"));
  EXPECT_NE(logged.text(4).find("Hello from the fake upstream!"), std::string::npos);
  const auto& streamed = (*rows)[2];
  EXPECT_EQ(streamed.text(3), chatBody("logged", true));
  EXPECT_EQ(streamed.text(4), "Hello from the fake upstream!");  // the assembled text
  EXPECT_EQ((*rows)[3].text(2), "fake-model-2025-01-01 fp_42");

  // The changelog was fed from the same field.
  auto versions = (*db)->query(
      "SELECT version FROM model_versions WHERE provider = 'up' AND model = 'fake-model' "
      "ORDER BY version");
  ASSERT_TRUE(versions.has_value());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].text(0), "fake-model-2025-01-01 fp_42");
  EXPECT_EQ((*versions)[1].text(0), "fp_fake");
}

// Every provider kind reports the version of the model that answered, streamed or not: OpenAI
// `model` + `system_fingerprint`, Anthropic `model` (message_start in streams), Gemini
// `modelVersion`. A fake upstream that starts reporting a new version shows up as a new row of
// the changelog.
TEST_F(TracesTest, ModelVersionFromEveryProviderKindFeedsTheChangelog) {
  FakeUpstream anthropic;
  FakeUpstream gemini;
  start([&](config::Config& cfg) {
    config::ProviderConfig a;
    a.name = "claude";
    a.kind = "anthropic";
    a.base_url = "http://127.0.0.1:" + std::to_string(anthropic.port());
    a.api_key = "k";
    a.models = {{"claude-x", {}, 0}};
    config::ProviderConfig g;
    g.name = "gem";
    g.kind = "gemini";
    g.base_url = "http://127.0.0.1:" + std::to_string(gemini.port()) + "/v1beta";
    g.api_key = "k";
    g.models = {{"gemini-x", {}, 0}};
    cfg.providers.push_back(a);
    cfg.providers.push_back(g);
  });
  auto anthropicBody = [](std::string_view model) {
    return R"({"id":"msg_1","type":"message","role":"assistant","model":")" +
           std::string(model) +
           R"(","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn",)"
           R"("usage":{"input_tokens":3,"output_tokens":1}})";
  };
  auto anthropicStream = [](std::string_view model) {
    return std::vector<std::string>{
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"
        "\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"" +
            std::string(model) +
            "\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":3,"
            "\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
  };
  auto geminiBody = [](std::string_view version) {
    return R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},)"
           R"("finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,)"
           R"("candidatesTokenCount":1,"totalTokenCount":4},"modelVersion":")" +
           std::string(version) + R"(","responseId":"resp-9"})";
  };
  auto geminiStream = [&](std::string_view version) {
    // Gemini names the version in every event; the first one here leaves it out.
    return std::vector<std::string>{
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
        "\"H\"}]},\"index\":0}]}\r\n\r\n",
        "data: " + json::serialize(json::parse(geminiBody(version))) + "\r\n\r\n"};
  };

  // OpenAI: streamed, with a dated id and a fingerprint.
  upstream_.pushBehavior(Behavior::customStream(
      {"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
       "\"model\":\"fake-model-2025-02-02\",\"system_fingerprint\":\"fp_s\",\"choices\":"
       "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
       "\"finish_reason\":\"stop\"}]}\n\n",
       "data: [DONE]\n\n"}));
  ASSERT_EQ(post(chatBody("fast", true)).status, 200u);

  anthropic.pushBehavior(Behavior::customBody(200, anthropicBody("claude-x-20250101")));
  ASSERT_EQ(post(chatBody("claude/claude-x")).status, 200u);
  anthropic.pushBehavior(Behavior::customStream(anthropicStream("claude-x-20250101")));
  Reply streamed = post(chatBody("claude/claude-x", true));
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  EXPECT_NE(streamed.body.find("Hi"), std::string::npos);
  // The upstream rolls out a new snapshot.
  anthropic.pushBehavior(Behavior::customStream(anthropicStream("claude-x-20250601")));
  ASSERT_EQ(post(chatBody("claude/claude-x", true)).status, 200u);

  gemini.pushBehavior(Behavior::customBody(200, geminiBody("gemini-x-001")));
  ASSERT_EQ(post(chatBody("gem/gemini-x")).status, 200u);
  gemini.pushBehavior(Behavior::customStream(geminiStream("gemini-x-002")));
  Reply gemini_streamed = post(chatBody("gem/gemini-x", true));
  ASSERT_EQ(gemini_streamed.status, 200u);
  // The attempt's span has Gemini's own ids too, though the first event named neither.
  const auto trace = traceOf(gemini_streamed.header("x-request-id"), 4);
  const auto attempts = clients(trace);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(str(attr(*attempts[0], "gen_ai.response.model")), "gemini-x-002");
  EXPECT_EQ(str(attr(*attempts[0], "gen_ai.response.id")), "resp-9");
  // Reporting the id asked for: no version to record.
  gemini.pushBehavior(Behavior::customBody(200, geminiBody("gemini-x")));
  ASSERT_EQ(post(chatBody("gem/gemini-x")).status, 200u);
  gateway_.reset();

  auto db = store::openDatabase("sqlite://" + db_path_);
  ASSERT_TRUE(db.has_value());
  auto rows = (*db)->query("SELECT provider, stream, model_version FROM request_log ORDER BY id");
  ASSERT_TRUE(rows.has_value()) << rows.error().toString();
  std::vector<std::string> logged;
  for (const auto& row : *rows) {
    logged.push_back(row.text(0) + (row.integer(1) != 0 ? " stream " : " whole ") + row.text(2));
  }
  EXPECT_EQ(logged, (std::vector<std::string>{
                        "up stream fake-model-2025-02-02 fp_s",
                        "claude whole claude-x-20250101",
                        "claude stream claude-x-20250101",
                        "claude stream claude-x-20250601",
                        "gem whole gemini-x-001",
                        "gem stream gemini-x-002",
                        "gem whole ",
                    }));
  auto versions = (*db)->query(
      "SELECT provider, model, version FROM model_versions WHERE identity IS NULL "
      "ORDER BY provider, version");
  ASSERT_TRUE(versions.has_value());
  std::vector<std::string> changelog;
  for (const auto& row : *versions) {
    changelog.push_back(row.text(0) + "/" + row.text(1) + " " + row.text(2));
  }
  EXPECT_EQ(changelog, (std::vector<std::string>{
                           "claude/claude-x claude-x-20250101",
                           "claude/claude-x claude-x-20250601",
                           "gem/gemini-x gemini-x-001",
                           "gem/gemini-x gemini-x-002",
                           "up/fake-model fake-model-2025-02-02 fp_s",
                       }));
}

}  // namespace
}  // namespace switchyard
