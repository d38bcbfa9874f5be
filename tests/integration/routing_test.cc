// Routing and reliability end to end: the real gateway on port 0 in front of two fake
// upstreams ("primary" and "backup"), with faults injected into the primary — 500s, 429 with
// Retry-After, hangs, resets, streams cut before and after the first byte — checking what the
// client gets, which upstream saw how many requests, breaker transitions and deadlines.

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "switchyard/core/log.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
using fakes::Behavior;
using fakes::Client;
using fakes::FakeUpstream;
using fakes::Reply;
using std::chrono::milliseconds;

std::string chatBody(std::string_view model, bool stream = false,
                     std::string_view content = "Hi") {
  std::string body = R"({"model":")" + std::string(model) +
                     R"(","messages":[{"role":"user","content":")" + std::string(content) +
                     R"("}])";
  if (stream) body += R"(,"stream":true)";
  return body + "}";
}

class RoutingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"warn", LogFormat::kText, ""}); }

  config::ProviderConfig provider(std::string name, const FakeUpstream& up,
                                  std::string locality) {
    config::ProviderConfig p;
    p.name = std::move(name);
    p.kind = "openai";
    p.base_url = up.baseUrl();
    p.api_key = "sk-" + p.name;
    p.locality = std::move(locality);
    p.models = {{"fake-model", {}, 0}};
    p.timeouts.first_byte = milliseconds(2000);
    p.timeouts.idle = milliseconds(2000);
    return p;
  }

  // Route "auto": primary first, backup second; "solo": primary only.
  void start(std::function<void(config::Config&)> adjust = {}) {
    config::Config cfg;
    cfg.source = "<test>";
    cfg.server.port = 0;
    cfg.server.workers = 1;
    cfg.server.drain_timeout = milliseconds(2000);
    cfg.log.access_log = false;
    cfg.providers = {provider("primary", primary_, "cloud"), provider("backup", backup_, "on_prem")};
    cfg.routing.breaker.failures = 3;
    cfg.routing.breaker.cooldown = milliseconds(400);
    config::RouteConfig route;
    route.name = "auto";
    route.candidates = {{"primary", "fake-model"}, {"backup", "fake-model"}};
    route.retry.attempts = 2;
    route.retry.backoff = milliseconds(10);
    route.retry.max_backoff = milliseconds(200);
    config::RouteConfig solo = route;
    solo.name = "solo";
    solo.candidates.resize(1);
    cfg.routes = {route, solo};
    if (adjust) adjust(cfg);
    auto gw = server::Gateway::create(std::move(cfg));
    ASSERT_TRUE(gw.has_value()) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
  }

  void SetUp() override { start(); }

  Reply post(const std::string& body, fakes::Headers headers = {}) {
    return fakes::post(gateway_->port(), "/v1/chat/completions", body, headers);
  }

  FakeUpstream primary_;
  FakeUpstream backup_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(RoutingTest, ServerErrorIsRetriedOnTheSameDeployment) {
  primary_.pushBehavior(Behavior::error(500, "transient"));
  Reply r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(primary_.requestCount(), 2u);
  EXPECT_EQ(backup_.requestCount(), 0u);
  EXPECT_EQ(r.header("x-switchyard-provider"), "primary");
  EXPECT_NE(r.header("x-switchyard-decision").find("after 1 failed attempt"), std::string::npos)
      << r.header("x-switchyard-decision");
}

TEST_F(RoutingTest, PersistentFailureFallsBackToTheNextCandidate) {
  primary_.setBehavior(Behavior::error(503, "down"));
  Reply r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(primary_.requestCount(), 2u);  // both attempts
  EXPECT_EQ(backup_.requestCount(), 1u);
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");
  EXPECT_EQ(r.header("x-switchyard-route"), "auto");
}

TEST_F(RoutingTest, EveryCandidateFailingReportsTheLastError) {
  primary_.setBehavior(Behavior::error(503, "primary down"));
  backup_.setBehavior(Behavior::error(502, "backup down"));
  Reply r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 502u) << r.body;
  const std::string message(r.json().at("error").at("message").as_string());
  EXPECT_NE(message.find("all 2 candidate(s) failed after 4 attempt(s)"), std::string::npos)
      << message;
  EXPECT_NE(message.find("backup down"), std::string::npos) << message;
}

TEST_F(RoutingTest, ClientErrorsAreNotRetriedNorFallenBack) {
  primary_.pushBehavior(Behavior::error(400, "bad request from upstream"));
  Reply r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(primary_.requestCount(), 1u);
  EXPECT_EQ(backup_.requestCount(), 0u);
}

TEST_F(RoutingTest, RetryAfterIsHonouredWhenShortAndSkippedWhenLong) {
  Behavior limited = Behavior::error(429, "slow down");
  limited.headers = {{"Retry-After", "1"}};
  // 1 s is longer than max_backoff (200 ms): go to the backup at once instead of waiting.
  primary_.pushBehavior(limited);
  auto t0 = std::chrono::steady_clock::now();
  Reply r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(900));

  // With room to wait, the same deployment is retried after the Retry-After.
  gateway_.reset();
  start([](config::Config& c) { c.routes[0].retry.max_backoff = milliseconds(3000); });
  primary_.clearRequests();
  backup_.clearRequests();
  primary_.pushBehavior(limited);
  t0 = std::chrono::steady_clock::now();
  r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("x-switchyard-provider"), "primary");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(950));
  EXPECT_EQ(primary_.requestCount(), 2u);
}

TEST_F(RoutingTest, ResetAndHangFallBackWithinTheAttemptTimeout) {
  gateway_.reset();
  start([](config::Config& c) {
    c.routes[0].attempt_timeout = milliseconds(300);
    c.routes[0].retry.attempts = 1;
  });
  primary_.pushBehavior(Behavior::reset());
  Reply r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");

  primary_.pushBehavior(Behavior::hang());
  const auto t0 = std::chrono::steady_clock::now();
  r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1500));
}

TEST_F(RoutingTest, TotalDeadlineBoundsRetriesAndFallbacks) {
  gateway_.reset();
  start([](config::Config& c) {
    c.routes[0].timeout = milliseconds(500);
    c.routes[0].attempt_timeout = milliseconds(400);
  });
  primary_.setBehavior(Behavior::hang());
  backup_.setBehavior(Behavior::hang());
  const auto t0 = std::chrono::steady_clock::now();
  Reply r = post(chatBody("auto"));
  EXPECT_EQ(r.status, 504u) << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1500));
}

TEST_F(RoutingTest, StreamFallsBackBeforeTheFirstByte) {
  primary_.setBehavior(Behavior::error(500, "down"));
  Reply r = post(chatBody("auto", true));
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");  // headers name who answered
  bool done = false;
  auto events = fakes::sseData(r.body, &done);
  EXPECT_TRUE(done);
  EXPECT_FALSE(events.empty());
  EXPECT_EQ(backup_.requestCount(), 1u);
}

TEST_F(RoutingTest, StreamCutAfterTheFirstByteIsAnErrorEventNotAFallback) {
  primary_.pushBehavior(Behavior::cutStream(2));
  Reply r = post(chatBody("auto", true));
  EXPECT_EQ(r.status, 200u);
  bool done = false;
  auto events = fakes::sseData(r.body, &done);
  EXPECT_FALSE(done);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().as_object().contains("error")) << r.body;
  EXPECT_EQ(backup_.requestCount(), 0u) << "bytes reached the client: no second answer";
}

TEST_F(RoutingTest, BreakerOpensSkipsTheDeploymentThenProbesAndCloses) {
  gateway_.reset();
  start([](config::Config& c) { c.routes[0].retry.attempts = 1; });
  primary_.setBehavior(Behavior::error(500, "down"));
  for (int i = 0; i < 3; ++i) {
    Reply r = post(chatBody("auto"));
    EXPECT_EQ(r.header("x-switchyard-provider"), "backup");
  }
  EXPECT_EQ(primary_.requestCount(), 3u);
  // Open: the primary receives nothing; the plan puts it last, the backup answers.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(post(chatBody("auto")).status, 200u);
  EXPECT_EQ(primary_.requestCount(), 3u);

  // Explain shows the breaker.
  Reply explain = fakes::post(gateway_->port(), "/v1/route/explain", chatBody("auto"));
  ASSERT_EQ(explain.status, 200u) << explain.body;
  auto plan = explain.json().at("plan").as_array();
  EXPECT_EQ(plan.front().as_string(), "backup/fake-model");
  EXPECT_EQ(explain.json().at("candidates").as_array()[0].at("breaker").as_string(), "open");

  // After the cooldown, one probe goes through; it succeeds and closes the breaker.
  primary_.setBehavior(Behavior::normal());
  std::this_thread::sleep_for(milliseconds(450));
  Reply probe = post(chatBody("auto"));
  EXPECT_EQ(probe.status, 200u);
  EXPECT_EQ(primary_.requestCount(), 4u);
  EXPECT_EQ(post(chatBody("auto")).header("x-switchyard-provider"), "primary");
}

TEST_F(RoutingTest, SoloRouteWithOpenBreakerAnswers503WithRetryAfter) {
  gateway_.reset();
  start([](config::Config& c) { c.routes[1].retry.attempts = 1; });
  primary_.setBehavior(Behavior::error(500, "down"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(post(chatBody("solo")).status, 500u);
  Reply r = post(chatBody("solo"));
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(primary_.requestCount(), 3u);
}

TEST_F(RoutingTest, ExplainEqualsTheChoiceActuallyMade) {
  gateway_.reset();
  start([](config::Config& c) {
    c.routing.tasks = {{"code", {"python"}, {}, 1}};
    c.routes[0].candidates[0].tasks = {"chat"};  // the cloud primary only for chat
  });
  for (std::string_view content : {"Hi there", "Write python please"}) {
    const std::string body = chatBody("auto", false, content);
    Reply explain = fakes::post(gateway_->port(), "/v1/route/explain", body);
    ASSERT_EQ(explain.status, 200u);
    const auto json = explain.json();
    Reply r = post(body);
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(std::string(json.at("plan").as_array().front().as_string()),
              r.header("x-switchyard-provider") + "/" + r.header("x-switchyard-model"))
        << content;
    EXPECT_EQ(std::string(json.at("decision").as_string()), r.header("x-switchyard-decision"));
  }
  EXPECT_EQ(primary_.requestCount(), 1u);
  EXPECT_EQ(backup_.requestCount(), 1u);
}

TEST_F(RoutingTest, RiskHeaderSteersAndBadValuesAreRejected) {
  gateway_.reset();
  start([](config::Config& c) { c.routes[0].candidates[0].risk = {"high"}; });
  Reply low = post(chatBody("auto"));
  EXPECT_EQ(low.header("x-switchyard-provider"), "backup");
  Reply high = post(chatBody("auto"), {{"x-switchyard-risk", "high"}});
  EXPECT_EQ(high.header("x-switchyard-provider"), "primary");
  Reply bad = post(chatBody("auto"), {{"x-switchyard-risk", "high; drop table"}});
  EXPECT_EQ(bad.status, 400u);
}

// The guard's verdict drives routing: a prompt with PII on a local-only policy never reaches
// the cloud fake upstream, while a plain prompt does.
TEST_F(RoutingTest, PiiStaysOnPremAndNeverReachesTheCloud) {
  gateway_.reset();
  start([](config::Config& c) {
    c.guard.enabled = true;
    c.guard.policy = {{"EMAIL", "local_only"}};
  });
  Reply plain = post(chatBody("auto", false, "What is the capital of France?"));
  EXPECT_EQ(plain.status, 200u);
  EXPECT_EQ(plain.header("x-switchyard-provider"), "primary");
  EXPECT_EQ(primary_.requestCount(), 1u);

  const std::string secret = "Write to jane.doe@example.com about the invoice";
  Reply pii = post(chatBody("auto", false, secret));
  EXPECT_EQ(pii.status, 200u) << pii.body;
  EXPECT_EQ(pii.header("x-switchyard-provider"), "backup");
  EXPECT_NE(pii.header("x-switchyard-decision").find("local-only"), std::string::npos);
  EXPECT_EQ(primary_.requestCount(), 1u) << "the cloud upstream received the PII request";
  ASSERT_EQ(backup_.requestCount(), 1u);
  EXPECT_NE(backup_.lastRequest().body.find("jane.doe@example.com"), std::string::npos);

  // Streaming takes the same path.
  Reply stream = post(chatBody("auto", true, secret));
  EXPECT_EQ(stream.status, 200u);
  EXPECT_EQ(stream.header("x-switchyard-provider"), "backup");
  EXPECT_EQ(primary_.requestCount(), 1u);

  // A cloud-only route refuses it (403) and the cloud upstream still sees nothing.
  Reply solo = post(chatBody("solo", false, secret));
  EXPECT_EQ(solo.status, 403u) << solo.body;
  EXPECT_NE(solo.body.find("local_only_no_candidate"), std::string::npos) << solo.body;
  EXPECT_EQ(solo.body.find("jane.doe"), std::string::npos) << "never echo the value";
  // Naming the cloud model directly does not get around it.
  Reply direct = post(chatBody("primary/fake-model", false, secret));
  EXPECT_EQ(direct.status, 403u);
  EXPECT_EQ(primary_.requestCount(), 1u);

  // Explain shows why.
  Reply explain = fakes::post(gateway_->port(), "/v1/route/explain", chatBody("auto", false, secret));
  ASSERT_EQ(explain.status, 200u);
  EXPECT_TRUE(explain.json().at("signals").at("local_only").as_bool());
  EXPECT_EQ(explain.json().at("candidates").as_array()[0].at("excluded_by").as_string(),
            "sensitive data stays on on_prem providers");
}

TEST_F(RoutingTest, ExplainOfUnknownModelNamesTheError) {
  Reply explain = fakes::post(gateway_->port(), "/v1/route/explain", chatBody("nope"));
  ASSERT_EQ(explain.status, 200u);
  EXPECT_EQ(explain.json().at("error").at("type").as_string(), "model_not_found");
}

}  // namespace
}  // namespace switchyard

namespace switchyard {
namespace {

// Hot reload: the config file changes under load; no request is lost, the new routes serve at
// once, a broken file is rejected while the running config keeps serving.
class ReloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"warn", LogFormat::kText, ""}); }

  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("sy_reload_" + std::to_string(::getpid()) + ".yaml");
    writeConfig("a");
    auto cfg = config::loadConfigFile(path_.string());
    ASSERT_TRUE(cfg) << cfg.error().toString();
    cfg->server.port = 0;
    cfg->server.workers = 2;
    cfg->log.access_log = false;
    auto gw = server::Gateway::create(std::move(*cfg));
    ASSERT_TRUE(gw) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
    ::setenv("SWITCHYARD_ADMIN_KEY", "admin-secret-123", 1);
  }
  void TearDown() override {
    gateway_.reset();
    std::filesystem::remove(path_);
    ::unsetenv("SWITCHYARD_ADMIN_KEY");
  }

  // Route "main" points at provider `target` ("a" or "b").
  void writeConfig(std::string_view target, std::string_view extra = "") {
    std::ofstream out(path_);
    out << "server:\n  listen: 127.0.0.1:0\n"
        << "providers:\n"
        << "  - name: a\n    kind: openai\n    base_url: " << a_.baseUrl()
        << "\n    models: [fake-model]\n"
        << "  - name: b\n    kind: openai\n    base_url: " << b_.baseUrl()
        << "\n    models: [fake-model]\n"
        << "routes:\n  - name: main\n    target: " << target << "/fake-model\n"
        << extra;
  }

  Reply reload(std::string key = "admin-secret-123") {
    return fakes::post(gateway_->port(), "/admin/reload", "",
                       {{"Authorization", "Bearer " + key}});
  }

  FakeUpstream a_;
  FakeUpstream b_;
  std::filesystem::path path_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(ReloadTest, ReloadUnderLoadLosesNoRequestAndSwitchesRoutes) {
  a_.setBehavior(Behavior::delayed(milliseconds(5)));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      Client c(gateway_->port());
      while (!stop.load()) {
        Reply r = c.post("/v1/chat/completions", chatBody("main"));
        (r.status == 200 ? ok : bad).fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(milliseconds(60));
    writeConfig(i % 2 == 0 ? "b" : "a");
    Reply r = reload();
    EXPECT_EQ(r.status, 200u) << r.body;
  }
  std::this_thread::sleep_for(milliseconds(60));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(ok.load(), 20);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(a_.requestCount(), 0u);
  EXPECT_GT(b_.requestCount(), 0u);
  // The last reload pointed "main" at a.
  EXPECT_EQ(fakes::post(gateway_->port(), "/v1/chat/completions", chatBody("main"))
                .header("x-switchyard-provider"),
            "a");
}

TEST_F(ReloadTest, BrokenConfigIsRejectedAndTheOldOneKeepsServing) {
  writeConfig("nosuchprovider");
  Reply r = reload();
  EXPECT_EQ(r.status, 400u);
  const std::string message(r.json().at("error").at("message").as_string());
  EXPECT_NE(message.find("unknown provider 'nosuchprovider'"), std::string::npos) << message;
  EXPECT_NE(message.find(path_.filename().string()), std::string::npos) << message;
  Reply chat = fakes::post(gateway_->port(), "/v1/chat/completions", chatBody("main"));
  EXPECT_EQ(chat.status, 200u);
  EXPECT_EQ(chat.header("x-switchyard-provider"), "a");
}

TEST_F(ReloadTest, ReloadNeedsTheAdminKey) {
  EXPECT_EQ(reload("wrong").status, 401u);
  ::unsetenv("SWITCHYARD_ADMIN_KEY");
  Reply r = reload("admin-secret-123");
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.body.find("SWITCHYARD_ADMIN_KEY"), std::string::npos);
}

// A listen address given on the command line (`serve --listen`) is kept by a reload: the file's
// is no change to warn about ("takes effect after a restart"); without --listen it is.
TEST_F(ReloadTest, ListenFromTheCommandLineIsNoChangeOnReload) {
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  spdlog::default_logger()->sinks().push_back(ring);
  auto warned = [&] {
    for (const std::string& line : ring->last_formatted()) {
      if (line.find("config_reload_partial") != std::string::npos) return true;
    }
    return false;
  };
  for (bool from_cli : {true, false}) {
    SCOPED_TRACE(from_cli ? "--listen" : "listen from the file");
    writeConfig("a");
    auto cfg = config::loadConfigFile(path_.string());
    ASSERT_TRUE(cfg) << cfg.error().toString();
    cfg->server.port = 0;  // as --listen 127.0.0.1:0 would set it
    cfg->server.listen_from_cli = from_cli;
    auto gw = server::Gateway::create(std::move(*cfg));
    ASSERT_TRUE(gw) << gw.error().toString();
    (*gw)->start();
    // The same file but for its listen address.
    std::string text;
    {
      std::ifstream in(path_);
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string from = "127.0.0.1:0", to = "127.0.0.1:1";
    text.replace(text.find(from), from.size(), to);
    std::ofstream(path_) << text;
    const bool before = warned();
    ASSERT_TRUE((*gw)->reload().isOk());
    EXPECT_FALSE(before);
    EXPECT_EQ(warned(), !from_cli);
    Reply chat = fakes::post((*gw)->port(), "/v1/chat/completions", chatBody("main"));
    EXPECT_EQ(chat.status, 200u);  // still listening where it was
  }
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), ring), sinks.end());
}

TEST_F(ReloadTest, GatewayReloadAddsRoutesToTheModelList) {
  writeConfig("a", "  - name: extra\n    target: b/fake-model\n");
  ASSERT_TRUE(gateway_->reload().isOk());
  Reply models = fakes::request(gateway_->port(), bhttp::verb::get, "/v1/models");
  EXPECT_NE(models.body.find("\"extra\""), std::string::npos) << models.body;
  // Ollama clients see it too.
  Reply tags = fakes::request(gateway_->port(), bhttp::verb::get, "/api/tags");
  EXPECT_NE(tags.body.find("\"extra\""), std::string::npos) << tags.body;
  Reply show = fakes::post(gateway_->port(), "/api/show", R"({"model":"extra"})");
  EXPECT_EQ(show.status, 200u) << show.body;
}

// The nearest-neighbour task classifier: labelled examples embedded by an on-prem embedding
// model (a fake whose embeddings are hashed word counts, so texts sharing words are near). The
// cloud "primary" serves only the task "legal"; "backup" serves everything.
class TaskExamplesTest : public RoutingTest {
 protected:
  void SetUp() override {}

  void startWithExamples(std::function<void(config::Config&)> adjust = {}) {
    start([&](config::Config& c) {
      config::ProviderConfig e = provider("embedder", embedder_, "on_prem");
      e.models = {{"fake-embedder", {}, 0}};
      c.providers.push_back(std::move(e));
      c.routes[0].candidates[0].tasks = {"legal"};
      c.routing.classifier.embedding_model = "embedder/fake-embedder";
      c.routing.classifier.k = 3;
      c.routing.classifier.min_similarity = 0.3;
      c.routing.classifier.timeout = milliseconds(300);
      for (const char* text : {"review the indemnity clause in this supplier contract",
                               "is this non disclosure agreement enforceable",
                               "draft a termination clause for the lease agreement",
                               "what liability does the contract put on the vendor"}) {
        c.routing.classifier.examples.push_back({"legal", text});
      }
      for (const char* text : {"how are you doing today", "tell me something fun about cats",
                               "good morning what is new with you"}) {
        c.routing.classifier.examples.push_back({"chat", text});
      }
      if (adjust) adjust(c);
    });
  }

  static constexpr std::string_view kLegal =
      "Please check the indemnity and liability terms of our vendor contract";

  FakeUpstream embedder_{{.embedding_dimensions = 64, .bag_of_words_embeddings = true}};
};

TEST_F(TaskExamplesTest, NearestExamplesDecideTheTaskTheRulesMiss) {
  startWithExamples();
  ASSERT_EQ(embedder_.requestCount(), 1u);  // the examples, in one batch, at start-up
  EXPECT_NE(embedder_.lastRequest().body.find("supplier contract"), std::string::npos);

  // Explain and the real request agree, and name the examples' vote.
  const std::string legal = chatBody("auto", false, kLegal);
  Reply explain = fakes::post(gateway_->port(), "/v1/route/explain", legal);
  ASSERT_EQ(explain.status, 200u) << explain.body;
  const auto signals = explain.json().at("signals");
  EXPECT_EQ(signals.at("task_type").as_string(), "legal");
  EXPECT_NE(std::string(signals.at("task_reason").as_string()).find("nearest examples: legal"),
            std::string::npos)
      << signals;
  Reply r = post(legal);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-provider"), "primary");
  EXPECT_EQ(embedder_.requestCount(), 3u);  // explain + the request
  EXPECT_NE(embedder_.lastRequest().body.find("indemnity and liability"), std::string::npos);

  // Small talk is not legal: the cloud candidate is excluded.
  r = post(chatBody("auto", false, "how are you doing this morning"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");
  EXPECT_EQ(embedder_.requestCount(), 4u);
  EXPECT_EQ(primary_.requestCount(), 1u);

  // A route that does not route by task ("solo") costs no embedding call.
  r = post(chatBody("solo", false, kLegal));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(embedder_.requestCount(), 4u);
}

TEST_F(TaskExamplesTest, ConfigRulesComeFirstAndSkipTheEmbeddingCall) {
  startWithExamples([](config::Config& c) {
    c.routing.tasks = {{"code", {"segfault"}, {}, 1}};
  });
  Reply r = post(chatBody("auto", false, "the vendor contract parser has a segfault"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");  // code, not legal
  EXPECT_EQ(embedder_.requestCount(), 1u);                  // start-up only
}

TEST_F(TaskExamplesTest, WithoutTheEmbedderTheBuiltInClassifierDecides) {
  // Down at start-up: the gateway starts anyway, without an index.
  embedder_.setBehavior(Behavior::error(503, "embedder down"));
  startWithExamples();
  Reply r = post(chatBody("auto", false, kLegal));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");  // built-in: chat
  EXPECT_EQ(embedder_.requestCount(), 1u);                  // no index: no per-request call
}

TEST_F(TaskExamplesTest, AnEmbeddingCallPastItsTimeoutFallsBackToTheBuiltInClassifier) {
  startWithExamples();
  embedder_.pushBehavior(Behavior::hang());
  const auto started = std::chrono::steady_clock::now();
  Reply r = post(chatBody("auto", false, kLegal));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-provider"), "backup");
  EXPECT_GE(took, milliseconds(250));  // waited for the classifier's timeout (300 ms)...
  EXPECT_LT(took, milliseconds(5000));  // ...not for the request's
  // The next request classifies again.
  r = post(chatBody("auto", false, kLegal));
  EXPECT_EQ(r.header("x-switchyard-provider"), "primary");
}

TEST_F(TaskExamplesTest, AnUnknownEmbeddingModelIsAConfigError) {
  config::Config cfg;
  cfg.source = "<test>";
  cfg.server.port = 0;
  cfg.providers = {provider("primary", primary_, "cloud")};
  config::RouteConfig route;
  route.name = "auto";
  route.candidates = {{"primary", "fake-model"}};
  cfg.routes = {route};
  cfg.routing.classifier.embedding_model = "nope/embedder";
  cfg.routing.classifier.examples = {{"legal", "contract"}};
  auto gw = server::Gateway::create(std::move(cfg));
  ASSERT_FALSE(gw);
  EXPECT_NE(gw.error().message().find("routing.classifier.embedding_model: 'nope/embedder' is "
                                      "not a model this gateway serves"),
            std::string::npos)
      << gw.error().message();
}

}  // namespace
}  // namespace switchyard
