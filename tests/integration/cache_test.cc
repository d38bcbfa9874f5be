// The response cache (`cache:`) in the real gateway in front of a fake OpenAI-compatible
// upstream: repeated chat requests (OpenAI and Anthropic APIs, streamed or not) and embeddings
// answered without reaching the upstream, the client's Cache-Control, what is never cached
// (errors, cut streams), Age, metrics and the admin flush.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/core/log.h"
#include "switchyard/limits/testing/redis_test_server.h"
#include "switchyard/server/gateway.h"
#include "switchyard/store/database.h"
#include "switchyard/telemetry/metrics.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"
#include "tests/fakes/test_gateway.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using fakes::Behavior;
using fakes::FakeUpstream;
using fakes::Headers;
using fakes::Reply;

constexpr std::string_view kAdmin = "cache-admin-key";

std::string chatBody(std::string_view text, bool stream = false) {
  json::object body{{"model", "fast"},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", text}}}}};
  if (stream) body["stream"] = true;
  return json::serialize(body);
}

Behavior answering(std::string content) {
  Behavior b = Behavior::normal();
  b.content = std::move(content);
  return b;
}

// The text of a streamed OpenAI chat answer.
std::string streamedText(const Reply& r) {
  std::string text;
  for (const auto& chunk : fakes::sseData(r.body)) {
    for (const auto& choice : chunk.at("choices").as_array()) {
      const auto& delta = choice.at("delta").as_object();
      if (const auto* c = delta.if_contains("content"); c && c->is_string()) {
        text += c->as_string();
      }
    }
  }
  return text;
}

// A series' value in GET /metrics' text (0 when the series does not exist yet).
double metric(std::string_view series) {
  const std::string text = telemetry::Registry::global().render();
  const std::size_t at = text.find("\n" + std::string(series) + " ");  // not a # HELP line
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

class CacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    (void)setupLogging({"warn", LogFormat::kText, ""});
    ::unsetenv("SWITCHYARD_ADMIN_KEY");
  }

  void SetUp() override {
    config::Config cfg = fakes::testConfig();
    cfg.providers = {fakes::fakeProvider("up", "openai", upstream_,
                                         {{"fake-model", {}, 0}, {"fake-embedder", {}, 0}})};
    cfg.routes = {{"fast", "up", "fake-model", 1}, {"creative", "up", "fake-model", 2}};
    cfg.routes[1].cache = false;
    cfg.admin_key = std::string(kAdmin);
    cfg.cache.enabled = true;
    fakes::noRetries(cfg);
    gateway_ = fakes::startGateway(std::move(cfg));
    ASSERT_TRUE(gateway_);
  }

  Reply chat(std::string_view text, bool stream = false, const Headers& headers = {}) {
    return fakes::post(gateway_->port(), "/v1/chat/completions", chatBody(text, stream), headers);
  }

  FakeUpstream upstream_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(CacheTest, ARepeatedChatRequestIsAnsweredFromTheCache) {
  // Counters outlive a gateway (one registry per process): compare with what came before.
  const std::string prompt_tokens =
      R"(switchyard_tokens_total{route="fast",provider="up",model="fake-model",kind="prompt"})";
  const double prompt_before = metric(prompt_tokens);
  upstream_.setBehavior(answering("first answer"));
  Reply first = chat("What is 2+2?");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(first.header("age"), "");

  upstream_.setBehavior(answering("second answer"));
  Reply second = chat("What is 2+2?");
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(second.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(second.header("age"), "0");
  EXPECT_EQ(second.body, first.body);  // the same answer, byte for byte
  EXPECT_EQ(second.json().at("choices").at(0).at("message").at("content"), "first answer");
  EXPECT_EQ(second.header("x-switchyard-provider"), "up");
  EXPECT_EQ(second.header("x-switchyard-model"), "fake-model");
  EXPECT_TRUE(
      second.header("x-switchyard-decision").starts_with("answered from the response cache"))
      << second.header("x-switchyard-decision");
  EXPECT_EQ(upstream_.requestCount(), 1u);

  // Another question, or the same one with other sampling, is another request.
  Reply other = chat("What is 2+3?");
  EXPECT_EQ(other.header("x-switchyard-cache"), "miss");
  json::value hot = json::parse(chatBody("What is 2+2?"));
  hot.as_object()["temperature"] = 1.5;
  Reply warmer = fakes::post(gateway_->port(), "/v1/chat/completions", json::serialize(hot));
  EXPECT_EQ(warmer.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(upstream_.requestCount(), 3u);
  EXPECT_EQ(metric("switchyard_cache_lookups_total{result=\"hit\"}"), 1);
  EXPECT_EQ(metric("switchyard_cache_lookups_total{result=\"miss\"}"), 3);
  EXPECT_EQ(metric("switchyard_cache_entries"), 3);
  // Tokens the upstream processed: three calls of 12 prompt tokens, none for the hit. The log
  // phase (which counts them) runs after the client has its answer: wait for the three, then
  // give a fourth (the hit) time to show if it were counted.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metric(prompt_tokens) - prompt_before < 36 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(metric(prompt_tokens) - prompt_before, 36);
}

TEST_F(CacheTest, ARouteMayTurnTheCacheOff) {
  const std::string body =
      R"({"model":"creative","messages":[{"role":"user","content":"A poem, please"}]})";
  for (int i = 0; i < 2; ++i) {
    Reply r = fakes::post(gateway_->port(), "/v1/chat/completions", body);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-switchyard-cache"), "");
  }
  EXPECT_EQ(upstream_.requestCount(), 2u);
}

TEST_F(CacheTest, AStreamIsReplayedAsItCame) {
  upstream_.setBehavior(answering("one two three four"));
  Reply first = chat("Count", true);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-switchyard-cache"), "miss");
  upstream_.setBehavior(answering("five six"));
  Reply second = chat("Count", true);
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(second.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(second.header("content-type"), "text/event-stream");
  EXPECT_EQ(streamedText(second), "one two three four");
  bool done = false;
  EXPECT_EQ(fakes::sseData(second.body, &done), fakes::sseData(first.body));
  EXPECT_TRUE(done);
  // Usage was not asked for: the replay strips it as the live stream did.
  for (const auto& chunk : fakes::sseData(second.body)) {
    EXPECT_FALSE(chunk.as_object().contains("usage") && !chunk.at("usage").is_null());
  }
  EXPECT_EQ(upstream_.requestCount(), 1u);

  // With include_usage the replay carries the original usage.
  json::value with_usage = json::parse(chatBody("Count", true));
  with_usage.as_object()["stream_options"] = json::object{{"include_usage", true}};
  Reply usage = fakes::post(gateway_->port(), "/v1/chat/completions", json::serialize(with_usage));
  EXPECT_EQ(usage.header("x-switchyard-cache"), "hit");
  const auto chunks = fakes::sseData(usage.body);
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.back().at("usage").at("completion_tokens"), 4);
  EXPECT_EQ(upstream_.requestCount(), 1u);

  // A whole answer is cached apart from a streamed one.
  Reply whole = chat("Count");
  EXPECT_EQ(whole.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(upstream_.requestCount(), 2u);
}

TEST_F(CacheTest, TheAnthropicApiSharesTheCache) {
  const std::string body =
      R"({"model":"fast","max_tokens":64,"messages":[{"role":"user","content":"Hi there"}]})";
  upstream_.setBehavior(answering("hello once"));
  Reply first = fakes::post(gateway_->port(), "/v1/messages", body);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-switchyard-cache"), "miss");
  upstream_.setBehavior(answering("hello twice"));
  Reply second = fakes::post(gateway_->port(), "/v1/messages", body);
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(second.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(second.json().at("type"), "message");
  EXPECT_EQ(second.json().at("content").at(0).at("text"), "hello once");
  EXPECT_EQ(second.json().at("usage"), first.json().at("usage"));

  std::string streamed = body;
  streamed.insert(1, R"("stream":true,)");
  Reply s1 = fakes::post(gateway_->port(), "/v1/messages", streamed);
  Reply s2 = fakes::post(gateway_->port(), "/v1/messages", streamed);
  EXPECT_EQ(s1.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(s2.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(fakes::eventNames(fakes::sseEvents(s2.body)),
            fakes::eventNames(fakes::sseEvents(s1.body)));
  EXPECT_NE(s2.body.find("\"text\":\" twice\""), std::string::npos) << s2.body;
  EXPECT_EQ(upstream_.requestCount(), 2u);
}

TEST_F(CacheTest, TheResponsesAndOllamaApisAreCachedToo) {
  upstream_.setBehavior(answering("from the upstream"));
  const std::string responses = R"({"model":"fast","input":"Tell me once","store":false})";
  Reply r1 = fakes::post(gateway_->port(), "/v1/responses", responses);
  Reply r2 = fakes::post(gateway_->port(), "/v1/responses", responses);
  ASSERT_EQ(r2.status, 200u) << r2.body;
  EXPECT_EQ(r1.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(r2.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(r2.json().at("output").at(0).at("content").at(0).at("text"), "from the upstream");
  EXPECT_NE(r2.json().at("id"), r1.json().at("id"));  // a Response of its own, same answer
  // The body's cache controls are read here too (and taken out).
  const std::string in_namespace =
      R"({"model":"fast","input":"Tell me once","store":false,"cache":{"namespace":"n1"}})";
  Reply r3 = fakes::post(gateway_->port(), "/v1/responses", in_namespace);
  ASSERT_EQ(r3.status, 200u) << r3.body;
  EXPECT_EQ(r3.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).as_object().count("cache"), 0u);
  EXPECT_EQ(
      fakes::post(gateway_->port(), "/v1/responses", in_namespace).header("x-switchyard-cache"),
      "hit");

  // Ollama streams by default (NDJSON): replayed line by line.
  const std::string ollama = R"({"model":"fast","messages":[{"role":"user","content":"Hey"}]})";
  Reply o1 = fakes::post(gateway_->port(), "/api/chat", ollama);
  Reply o2 = fakes::post(gateway_->port(), "/api/chat", ollama);
  ASSERT_EQ(o2.status, 200u) << o2.body;
  EXPECT_EQ(o1.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(o2.header("x-switchyard-cache"), "hit");
  std::string text;
  for (const auto& line : o2.lines()) text += line.at("message").at("content").as_string();
  EXPECT_EQ(text, "from the upstream");
  EXPECT_EQ(o2.lines().back().at("done"), true);
  EXPECT_EQ(upstream_.requestCount(), 3u);
}

TEST_F(CacheTest, CacheControlFromTheClient) {
  upstream_.setBehavior(answering("old"));
  ASSERT_EQ(chat("Q").header("x-switchyard-cache"), "miss");

  // no-cache: asks upstream, and the fresh answer replaces the cached one.
  upstream_.setBehavior(answering("new"));
  Reply refreshed = chat("Q", false, {{"Cache-Control", "no-cache"}});
  EXPECT_EQ(refreshed.header("x-switchyard-cache"), "refresh");
  EXPECT_EQ(refreshed.json().at("choices").at(0).at("message").at("content"), "new");
  Reply after = chat("Q");
  EXPECT_EQ(after.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(after.json().at("choices").at(0).at("message").at("content"), "new");
  EXPECT_EQ(upstream_.requestCount(), 2u);

  // no-store: neither read nor written.
  upstream_.setBehavior(answering("private"));
  Reply bypass = chat("Secret Q", false, {{"cache-control", "no-store"}});
  EXPECT_EQ(bypass.header("x-switchyard-cache"), "bypass");
  EXPECT_EQ(chat("Secret Q").header("x-switchyard-cache"), "miss");
  EXPECT_EQ(upstream_.requestCount(), 4u);

  // max-age: an answer older than that is not served (and stays for others).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Reply young = chat("Q", false, {{"Cache-Control", "max-age=0"}});
  EXPECT_EQ(young.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(upstream_.requestCount(), 5u);
  Reply any_age = chat("Q", false, {{"Cache-Control", "max-age=3600, private"}});
  EXPECT_EQ(any_age.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(upstream_.requestCount(), 5u);
}

// LiteLLM's per-request controls, in the body: `"cache": {...}` (extra_body in the SDKs).
TEST_F(CacheTest, CacheControlsInTheBody) {
  auto withControls = [](std::string_view text, std::string_view controls) {
    json::value body = json::parse(chatBody(text));
    body.as_object()["cache"] = json::parse(controls);
    return json::serialize(body);
  };
  auto post = [&](const std::string& body) {
    return fakes::post(gateway_->port(), "/v1/chat/completions", body);
  };
  upstream_.setBehavior(answering("kept"));
  Reply first = post(withControls("B", R"({"ttl": 1})"));
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-switchyard-cache"), "miss");
  // Taken out of the request: not forwarded, and not part of the key.
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).as_object().count("cache"), 0u);
  EXPECT_EQ(chat("B").header("x-switchyard-cache"), "hit");

  // no-cache: asked again, and stored; no-store: served from the cache, nothing stored.
  EXPECT_EQ(post(withControls("B", R"({"no-cache": true})")).header("x-switchyard-cache"),
            "refresh");
  EXPECT_EQ(post(withControls("B", R"({"no-store": true})")).header("x-switchyard-cache"), "hit");
  EXPECT_EQ(post(withControls("B2", R"({"no-store": true})")).header("x-switchyard-cache"), "miss");
  EXPECT_EQ(chat("B2").header("x-switchyard-cache"), "miss");
  EXPECT_EQ(post(withControls("B2", R"({"use-cache": false})")).header("x-switchyard-cache"),
            "bypass");
  EXPECT_EQ(upstream_.requestCount(), 5u);

  // A namespace keeps its answers apart.
  EXPECT_EQ(post(withControls("B2", R"({"namespace": "eval-7"})")).header("x-switchyard-cache"),
            "miss");
  EXPECT_EQ(post(withControls("B2", R"({"namespace": "eval-7"})")).header("x-switchyard-cache"),
            "hit");
  EXPECT_EQ(chat("B2").header("x-switchyard-cache"), "hit");  // the one without a namespace
  EXPECT_EQ(upstream_.requestCount(), 6u);

  // ttl: 1 second for this answer (refreshed above with the cache's own TTL; store one anew).
  EXPECT_EQ(post(withControls("B3", R"({"ttl": 1})")).header("x-switchyard-cache"), "miss");
  EXPECT_EQ(chat("B3").header("x-switchyard-cache"), "hit");
  // s-maxage: only answers at most that old.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(post(withControls("B", R"({"s-maxage": 0})")).header("x-switchyard-cache"), "miss");
  EXPECT_EQ(chat("B3").header("x-switchyard-cache"), "miss");  // its ttl passed
  EXPECT_EQ(upstream_.requestCount(), 9u);

  // Wrong types are a 400 naming the field, before anything is sent.
  Reply bad = post(withControls("B", R"({"ttl": "5m"})"));
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.json().at("error").at("param"), "cache.ttl");
  Reply unknown = post(withControls("B", R"({"no_cache": true})"));
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_NE(unknown.body.find("no-cache"), std::string::npos) << unknown.body;
  EXPECT_EQ(post(withControls("B", "[1]")).status, 400u);
  EXPECT_EQ(upstream_.requestCount(), 9u);
}

TEST_F(CacheTest, FailuresAndCutStreamsAreNotCached) {
  upstream_.pushBehavior(Behavior::error(500));
  EXPECT_EQ(chat("Q").status, 500u);
  Reply ok = chat("Q");
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.header("x-switchyard-cache"), "miss");

  upstream_.pushBehavior(Behavior::cutStream(2));
  Reply cut = chat("Stream Q", true);
  EXPECT_EQ(cut.status, 200u);  // the stream had begun: the error arrives inside it
  Reply whole = chat("Stream Q", true);
  EXPECT_EQ(whole.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(streamedText(whole), "Hello from the fake upstream!");
  EXPECT_EQ(chat("Stream Q", true).header("x-switchyard-cache"), "hit");
  EXPECT_EQ(upstream_.requestCount(), 4u);
}

TEST_F(CacheTest, EmbeddingsAreCachedToo) {
  const std::string body = R"({"model":"fake-embedder","input":["alpha","beta"]})";
  Reply first = fakes::post(gateway_->port(), "/v1/embeddings", body);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-switchyard-cache"), "miss");
  Reply second = fakes::post(gateway_->port(), "/v1/embeddings", body);
  EXPECT_EQ(second.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(second.json().at("data"), first.json().at("data"));
  Reply base64 = fakes::post(gateway_->port(), "/v1/embeddings",
                             R"({"model":"fake-embedder","input":["alpha","beta"],)"
                             R"("encoding_format":"base64"})");
  EXPECT_EQ(base64.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(upstream_.requestCount(), 2u);
}

TEST_F(CacheTest, TheAdminFlushesTheCache) {
  ASSERT_EQ(chat("Q").header("x-switchyard-cache"), "miss");
  ASSERT_EQ(chat("Q").header("x-switchyard-cache"), "hit");
  Reply anonymous = fakes::request(gateway_->port(), bhttp::verb::delete_, "/admin/cache");
  EXPECT_EQ(anonymous.status, 401u) << anonymous.body;
  Reply wrong = fakes::request(gateway_->port(), bhttp::verb::post, "/admin/cache", "",
                               {{"Authorization", "Bearer " + std::string(kAdmin)}});
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.header("allow"), "GET, DELETE");
  Reply stats = fakes::request(gateway_->port(), bhttp::verb::get, "/admin/cache", "",
                               {{"Authorization", "Bearer " + std::string(kAdmin)}});
  ASSERT_EQ(stats.status, 200u) << stats.body;
  EXPECT_EQ(stats.json().at("entries"), 1);
  EXPECT_EQ(stats.json().at("hits"), 1);
  EXPECT_EQ(stats.json().at("misses"), 1);
  EXPECT_EQ(stats.json().at("scope"), "key");
  EXPECT_EQ(stats.json().at("ttl_ms"), 3600000);
  EXPECT_GT(stats.json().at("bytes").as_int64(), 0);
  EXPECT_EQ(fakes::request(gateway_->port(), bhttp::verb::get, "/admin/cache").status, 401u);
  Reply flushed = fakes::request(gateway_->port(), bhttp::verb::delete_, "/admin/cache", "",
                                 {{"Authorization", "Bearer " + std::string(kAdmin)}});
  ASSERT_EQ(flushed.status, 200u) << flushed.body;
  EXPECT_EQ(flushed.json().at("flushed"), 1);
  EXPECT_EQ(chat("Q").header("x-switchyard-cache"), "miss");
}

// The request log marks a hit and prices it at nothing; its usage is the original answer's.
TEST(CacheLogTest, AHitIsLoggedAndCostsNothing) {
  (void)setupLogging({"warn", LogFormat::kText, ""});
  const std::string db_path = fakes::testTempPath("cache_log.db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix);
  FakeUpstream upstream;
  config::Config cfg = fakes::testConfig();
  cfg.providers = {fakes::fakeProvider("up", "openai", upstream, {{"fake-model", {}, 0}})};
  cfg.storage_url = "sqlite://" + db_path;
  cfg.telemetry.request_log.enabled = true;
  config::PriceConfig price;
  price.provider = "up";
  price.model = "fake-model";
  price.input = 1.0;
  price.output = 2.0;
  cfg.prices = {price};
  cfg.cache.enabled = true;
  auto gateway = fakes::startGateway(std::move(cfg));
  ASSERT_TRUE(gateway);
  const std::string body =
      R"({"model":"fake-model","messages":[{"role":"user","content":"Price me"}]})";
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(fakes::post(gateway->port(), "/v1/chat/completions", body).status, 200u);
  }
  gateway.reset();  // graceful shutdown writes every row
  auto db = store::openDatabase("sqlite://" + db_path);
  ASSERT_TRUE(db) << db.error().toString();
  auto rows = (*db)->query(
      "SELECT cache, cost_usd, prompt_tokens, completion_tokens, attempts, decision FROM "
      "request_log ORDER BY id");
  ASSERT_TRUE(rows) << rows.error().toString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].text(0), "miss");
  EXPECT_NEAR((*rows)[0].real(1), 22e-6, 1e-12);  // 12 prompt tokens at $1/M + 5 at $2/M
  EXPECT_EQ((*rows)[0].integer(4), 1);
  EXPECT_EQ((*rows)[1].text(0), "hit");
  EXPECT_EQ((*rows)[1].real(1), 0.0);
  EXPECT_EQ((*rows)[1].integer(2), 12);
  EXPECT_EQ((*rows)[1].integer(3), 5);
  EXPECT_EQ((*rows)[1].integer(4), 0);  // no upstream attempt
  EXPECT_TRUE((*rows)[1].text(5).starts_with("answered from the response cache"));
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix);
}

// ---- two gateways sharing a Redis tier (cache.redis) -------------------------------------------

class SharedCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"error", LogFormat::kText, ""}); }

  void SetUp() override {
    auto server = limits::testing::RedisTestServer::start();
    ASSERT_TRUE(server) << server.error().message();
    redis_ = std::move(*server);
    a_ = start();
    b_ = start();
    ASSERT_TRUE(a_ && b_);
  }

  std::unique_ptr<server::Gateway> start(std::size_t max_bytes = 256ULL << 20) {
    config::Config cfg = fakes::testConfig();
    cfg.cache.max_bytes = max_bytes;
    cfg.providers = {fakes::fakeProvider("up", "openai", upstream_,
                                         {{"fake-model", {}, 0}, {"fake-embedder", {}, 0}})};
    cfg.routes = {{"fast", "up", "fake-model", 1}};
    cfg.admin_key = std::string(kAdmin);
    cfg.cache.enabled = true;
    cfg.cache.redis.url = redis_->url();
    cfg.cache.redis.host = "127.0.0.1";
    cfg.cache.redis.port = redis_->port();
    cfg.cache.redis_timeout = std::chrono::milliseconds(500);
    fakes::noRetries(cfg);
    return fakes::startGateway(std::move(cfg));
  }

  static json::value admin(server::Gateway& g, bhttp::verb verb) {
    Reply r = fakes::request(g.port(), verb, "/admin/cache", "",
                             {{"Authorization", "Bearer " + std::string(kAdmin)}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body);
  }

  // Writes to Redis go out after the answer: wait until `g` has written `n`.
  static void written(server::Gateway& g, std::uint64_t n) {
    for (int i = 0; i < 300; ++i) {
      if (admin(g, bhttp::verb::get).at("redis").at("writes").to_number<std::uint64_t>() >= n) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "the gateway did not write " << n << " entries to Redis";
  }

  FakeUpstream upstream_;
  std::unique_ptr<limits::testing::RedisTestServer> redis_;
  std::unique_ptr<server::Gateway> a_;
  std::unique_ptr<server::Gateway> b_;
};

TEST_F(SharedCacheTest, AnAnswerOneGatewayGotIsAHitOnTheOther) {
  upstream_.setBehavior(answering("from the upstream"));
  Reply first = fakes::post(a_->port(), "/v1/chat/completions", chatBody("Shared?"));
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-switchyard-cache"), "miss");
  written(*a_, 1);

  upstream_.setBehavior(answering("a second upstream answer"));
  Reply second = fakes::post(b_->port(), "/v1/chat/completions", chatBody("Shared?"));
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(second.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(second.body, first.body);  // byte for byte, the upstream's own JSON
  EXPECT_EQ(second.header("x-switchyard-provider"), "up");
  EXPECT_EQ(second.header("x-switchyard-model"), "fake-model");
  EXPECT_FALSE(second.header("age").empty());
  EXPECT_EQ(upstream_.requestCount(), 1u);

  // B kept it in memory: Redis is not asked again.
  Reply third = fakes::post(b_->port(), "/v1/chat/completions", chatBody("Shared?"));
  EXPECT_EQ(third.header("x-switchyard-cache"), "hit");
  const json::value stats = admin(*b_, bhttp::verb::get);
  EXPECT_EQ(stats.at("hits"), 2);
  EXPECT_EQ(stats.at("entries"), 1);
  EXPECT_EQ(stats.at("redis").at("hits"), 1);
  EXPECT_EQ(stats.at("redis").at("up"), true);
  EXPECT_EQ(stats.at("redis").at("url").as_string().find('@'), std::string::npos);
  EXPECT_EQ(upstream_.requestCount(), 1u);
}

TEST_F(SharedCacheTest, StreamsAndEmbeddingsAreSharedToo) {
  upstream_.setBehavior(answering("one two three"));
  Reply first = fakes::post(a_->port(), "/v1/chat/completions", chatBody("Count", true));
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string embed = R"({"model":"fake-embedder","input":["alpha","beta"]})";
  Reply vectors = fakes::post(a_->port(), "/v1/embeddings", embed);
  ASSERT_EQ(vectors.status, 200u) << vectors.body;
  written(*a_, 2);

  Reply replayed = fakes::post(b_->port(), "/v1/chat/completions", chatBody("Count", true));
  ASSERT_EQ(replayed.status, 200u) << replayed.body;
  EXPECT_EQ(replayed.header("x-switchyard-cache"), "hit");
  bool done = false;
  EXPECT_EQ(fakes::sseData(replayed.body, &done), fakes::sseData(first.body));
  EXPECT_TRUE(done);
  Reply again = fakes::post(b_->port(), "/v1/embeddings", embed);
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(again.header("x-switchyard-cache"), "hit");
  EXPECT_EQ(again.json().at("data"), vectors.json().at("data"));
  EXPECT_EQ(upstream_.requestCount(), 2u);
}

TEST_F(SharedCacheTest, WithRedisDownEachGatewayAnswersFromItsOwnMemory) {
  upstream_.setBehavior(answering("kept locally"));
  ASSERT_EQ(fakes::post(a_->port(), "/v1/chat/completions", chatBody("Q")).status, 200u);
  written(*a_, 1);
  redis_->stop();

  // A still has it in memory; B cannot ask Redis, so it is a miss, answered by the upstream.
  EXPECT_EQ(
      fakes::post(a_->port(), "/v1/chat/completions", chatBody("Q")).header("x-switchyard-cache"),
      "hit");
  const auto started = std::chrono::steady_clock::now();
  Reply miss = fakes::post(b_->port(), "/v1/chat/completions", chatBody("Q"));
  ASSERT_EQ(miss.status, 200u) << miss.body;
  EXPECT_EQ(miss.header("x-switchyard-cache"), "miss");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(upstream_.requestCount(), 2u);
  // B keeps its own answer in memory meanwhile.
  EXPECT_EQ(
      fakes::post(b_->port(), "/v1/chat/completions", chatBody("Q")).header("x-switchyard-cache"),
      "hit");
  // Its write to Redis, made after the answer, is dropped.
  json::value stats = admin(*b_, bhttp::verb::get);
  for (int i = 0; i < 300 && stats.at("redis").at("dropped") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats = admin(*b_, bhttp::verb::get);
  }
  EXPECT_EQ(stats.at("redis").at("up"), false);
  EXPECT_GE(stats.at("redis").at("errors").to_number<int>(), 1);
  EXPECT_EQ(stats.at("redis").at("dropped"), 1);

  // A flush while Redis is down flushes the memory and says what it could not do.
  const json::value flushed = admin(*a_, bhttp::verb::delete_);
  EXPECT_EQ(flushed.at("flushed"), 1);
  EXPECT_TRUE(flushed.as_object().contains("redis_error")) << flushed;
}

TEST_F(SharedCacheTest, AnAnswerTooLargeForMemoryIsServedFromRedis) {
  // 1 KiB of memory: a shard holds 64 bytes, less than any answer.
  auto small = start(1024);
  ASSERT_TRUE(small);
  upstream_.setBehavior(answering("too large for this memory"));
  Reply first = fakes::post(small->port(), "/v1/chat/completions", chatBody("Big?"));
  ASSERT_EQ(first.status, 200u) << first.body;
  written(*small, 1);
  for (int i = 0; i < 2; ++i) {
    Reply again = fakes::post(small->port(), "/v1/chat/completions", chatBody("Big?"));
    EXPECT_EQ(again.header("x-switchyard-cache"), "hit");
    EXPECT_EQ(again.body, first.body);
  }
  const json::value stats = admin(*small, bhttp::verb::get);
  EXPECT_EQ(stats.at("entries"), 0);
  EXPECT_EQ(stats.at("redis").at("hits"), 2);
  EXPECT_EQ(upstream_.requestCount(), 1u);
}

TEST_F(SharedCacheTest, TheAdminFlushEmptiesRedis) {
  upstream_.setBehavior(answering("to be flushed"));
  ASSERT_EQ(fakes::post(a_->port(), "/v1/chat/completions", chatBody("F1")).status, 200u);
  ASSERT_EQ(fakes::post(a_->port(), "/v1/chat/completions", chatBody("F2")).status, 200u);
  written(*a_, 2);
  // B holds F1 in its memory too (a hit read from Redis).
  ASSERT_EQ(
      fakes::post(b_->port(), "/v1/chat/completions", chatBody("F1")).header("x-switchyard-cache"),
      "hit");
  ASSERT_EQ(admin(*b_, bhttp::verb::get).at("entries"), 1);
  const json::value flushed = admin(*a_, bhttp::verb::delete_);
  EXPECT_EQ(flushed.at("flushed"), 2);
  EXPECT_EQ(flushed.at("redis_flushed"), 2);
  // A's flush reaches B's memory (pub/sub) shortly after.
  json::value stats = admin(*b_, bhttp::verb::get);
  for (int i = 0; i < 300 && stats.at("entries") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats = admin(*b_, bhttp::verb::get);
  }
  EXPECT_EQ(stats.at("entries"), 0);
  Reply after = fakes::post(b_->port(), "/v1/chat/completions", chatBody("F1"));
  EXPECT_EQ(after.header("x-switchyard-cache"), "miss");
  EXPECT_EQ(upstream_.requestCount(), 3u);
}

TEST(SilentRedisTest, ALookupWaitsNoLongerThanTheTimeout) {
  (void)setupLogging({"error", LogFormat::kText, ""});
  // A "Redis" that accepts connections (the kernel's backlog does) and never answers.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  FakeUpstream upstream;
  config::Config cfg = fakes::testConfig();
  cfg.providers = {fakes::fakeProvider("up", "openai", upstream, {{"fake-model", {}, 0}})};
  cfg.cache.enabled = true;
  cfg.cache.redis.url = "redis://127.0.0.1";
  cfg.cache.redis.host = "127.0.0.1";
  cfg.cache.redis.port = ntohs(addr.sin_port);
  cfg.cache.redis_timeout = std::chrono::milliseconds(100);
  auto gateway = fakes::startGateway(std::move(cfg));
  ASSERT_TRUE(gateway);
  const std::string body =
      R"({"model":"fake-model","messages":[{"role":"user","content":"Anyone there?"}]})";
  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    Reply r = fakes::post(gateway->port(), "/v1/chat/completions",
                          R"({"model":"fake-model","messages":[{"role":"user","content":"Q)" +
                              std::to_string(i) + R"("}]})");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-switchyard-cache"), "miss");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1)) << i;
  }
  gateway.reset();
  ::close(listener);
}

TEST(CacheOffTest, NoHeaderAndNoFlush) {
  (void)setupLogging({"warn", LogFormat::kText, ""});
  FakeUpstream upstream;
  config::Config cfg = fakes::testConfig();
  cfg.providers = {fakes::fakeProvider("up", "openai", upstream, {{"fake-model", {}, 0}})};
  cfg.admin_key = std::string(kAdmin);
  auto gateway = fakes::startGateway(std::move(cfg));
  ASSERT_TRUE(gateway);
  for (int i = 0; i < 2; ++i) {
    Reply r = fakes::post(gateway->port(), "/v1/chat/completions",
                          R"({"model":"fake-model","messages":[{"role":"user","content":"Q"}]})",
                          {{"Cache-Control", "max-age=60"}});
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("x-switchyard-cache"), "");
  }
  EXPECT_EQ(upstream.requestCount(), 2u);
  // LiteLLM's body controls are taken out even so: an upstream would refuse the unknown field.
  Reply controlled = fakes::post(
      gateway->port(), "/v1/chat/completions",
      R"({"model":"fake-model","messages":[{"role":"user","content":"Q"}],"cache":{"ttl":60}})");
  EXPECT_EQ(controlled.status, 200u) << controlled.body;
  EXPECT_EQ(json::parse(upstream.lastRequest().body).as_object().count("cache"), 0u);
  Reply flush = fakes::request(gateway->port(), bhttp::verb::delete_, "/admin/cache", "",
                               {{"Authorization", "Bearer " + std::string(kAdmin)}});
  EXPECT_EQ(flush.status, 404u);
  EXPECT_NE(flush.body.find("cache.enabled"), std::string::npos) << flush.body;
}

}  // namespace
}  // namespace switchyard
