// Governance end to end: the real gateway on port 0 with guard policies, virtual keys, rate
// limits and budgets against a fake OpenAI upstream. What the upstream receives, what the client
// sees (OpenAI and Anthropic formats), the admin API and the audit log.

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "switchyard/auth/key_store.h"
#include "switchyard/config/config.h"
#include "switchyard/core/log.h"
#include "switchyard/limits/budget.h"
#include "switchyard/limits/testing/redis_test_server.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using fakes::FakeUpstream;
using fakes::Headers;
using fakes::post;
using fakes::Reply;
using fakes::request;

constexpr std::string_view kAdmin = "admin-test-key-0123456789";
constexpr std::string_view kEmail = "jane.doe@example.com";
constexpr std::string_view kCard = "4111 1111 1111 1111";

class GovernanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    (void)setupLogging({"warn", LogFormat::kText, ""});
    ::unsetenv("SWITCHYARD_ADMIN_KEY");
  }

  void SetUp() override {
    db_path_ = ::testing::TempDir() + "/governance_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    std::filesystem::remove(db_path_);
    std::filesystem::remove(db_path_ + "-wal");
    std::filesystem::remove(db_path_ + "-shm");
  }

  config::Config baseConfig() {
    config::Config cfg;
    cfg.source = "<test>";
    cfg.server.host = "127.0.0.1";
    cfg.server.port = 0;
    cfg.server.workers = 1;
    cfg.log.access_log = false;
    cfg.storage_url = "sqlite://" + db_path_;
    config::ProviderConfig p;
    p.name = "up";
    p.kind = "openai";
    p.base_url = upstream_.baseUrl();
    p.api_key = "sk-upstream";
    p.models = {{"fake-model", {"fm"}, 0}, {"fake-embedder", {}, 0}};
    cfg.providers = {p};
    cfg.admin_key = std::string(kAdmin);
    cfg.guard.enabled = true;
    cfg.guard.policy = {{"EMAIL", "redact"}, {"CREDIT_CARD", "block"}, {"IBAN", "local_only"},
                        {"PHONE", "mask"}};
    return cfg;
  }

  void start(config::Config cfg) {
    auto gw = server::Gateway::create(std::move(cfg));
    ASSERT_TRUE(gw.has_value()) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
  }

  static std::string chat(std::string_view model, std::string_view text, bool stream = false) {
    json::object body{{"model", model},
                      {"messages", json::array{json::object{{"role", "user"}, {"content", text}}}}};
    if (stream) body["stream"] = true;
    return json::serialize(body);
  }

  Reply chatAs(std::string_view key, std::string_view model, std::string_view text = "Hi") {
    Headers h;
    if (!key.empty()) h.emplace_back("Authorization", "Bearer " + std::string(key));
    return post(gateway_->port(), "/v1/chat/completions", chat(model, text), h);
  }

  Reply admin(bhttp::verb method, const std::string& target, const std::string& body = "") {
    return request(gateway_->port(), method, target, body,
                   {{"Authorization", "Bearer " + std::string(kAdmin)}});
  }

  // Issues a key straight into the store, before the gateway starts; returns {id, secret}.
  std::pair<std::string, std::string> issueStoredKey(const auth::KeySpec& spec) {
    auto db = store::openDatabase("sqlite://" + db_path_);
    EXPECT_TRUE(db);
    if (!db) return {};
    auto keys = auth::KeyStore::open(**db);
    EXPECT_TRUE(keys);
    if (!keys) return {};
    auto issued = (*keys)->create(spec);
    EXPECT_TRUE(issued);
    if (!issued) return {};
    return {issued->record.id, issued->secret};
  }

  // Creates a key through the admin API; returns {id, secret}.
  std::pair<std::string, std::string> createKey(const std::string& spec) {
    Reply r = admin(bhttp::verb::post, "/admin/keys", spec);
    EXPECT_EQ(r.status, 201u) << r.body;
    auto j = r.json();
    return {std::string(j.at("id").as_string()), std::string(j.at("key").as_string())};
  }

  std::string db_path_;
  FakeUpstream upstream_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(GovernanceTest, RedactSendsPlaceholdersUpstreamStreamedOrNot) {
  start(baseConfig());
  for (bool stream : {false, true}) {
    upstream_.clearRequests();
    Reply r = post(gateway_->port(), "/v1/chat/completions",
                   chat("fm", "Mail " + std::string(kEmail) + " today", stream));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-switchyard-guard"), "EMAIL:redact:1");
    auto sent = json::parse(upstream_.lastRequest().body);
    EXPECT_EQ(sent.at("messages").at(0).at("content"), "Mail [EMAIL_1] today");
    EXPECT_EQ(upstream_.lastRequest().body.find(kEmail), std::string::npos);
  }
}

TEST_F(GovernanceTest, MaskSendsPlaceholdersUpstream) {
  start(baseConfig());
  Reply r = post(gateway_->port(), "/v1/chat/completions",
                 chat("fm", "Call me at +44 20 7946 0958 please"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-guard"), "PHONE:mask:1");
  auto sent = json::parse(upstream_.lastRequest().body);
  EXPECT_EQ(sent.at("messages").at(0).at("content"), "Call me at [PHONE_1] please");
}

TEST_F(GovernanceTest, MaskRestoresTheValueInTheAnswerStreamedOrNot) {
  start(baseConfig());
  for (bool stream : {false, true}) {
    fakes::Behavior echo = fakes::Behavior::normal();
    echo.content = "I will call [PHONE_1] tomorrow";
    upstream_.pushBehavior(echo);
    Reply r = post(gateway_->port(), "/v1/chat/completions",
                   chat("fm", "Call me at +44 20 7946 0958", stream));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_NE(r.body.find("+44 20 7946 0958"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("[PHONE_1]"), std::string::npos) << r.body;
  }
}

// The response cache keeps what the upstream answered to the masked request: another caller's
// number masks to the same request and gets the cached answer with its own number restored.
TEST_F(GovernanceTest, CachedAnswersAreKeptMaskedAndRestoredPerRequest) {
  config::Config cfg = baseConfig();
  cfg.cache.enabled = true;
  start(std::move(cfg));
  for (bool stream : {false, true}) {
    upstream_.clearRequests();
    fakes::Behavior echo = fakes::Behavior::normal();
    echo.content = "I will call [PHONE_1] tomorrow";
    upstream_.setBehavior(echo);
    Reply first = post(gateway_->port(), "/v1/chat/completions",
                       chat("fm", "Call me at +44 20 7946 0958", stream));
    ASSERT_EQ(first.status, 200u) << first.body;
    EXPECT_EQ(first.header("x-switchyard-cache"), "miss");
    Reply second = post(gateway_->port(), "/v1/chat/completions",
                        chat("fm", "Call me at +1 415 555 0100", stream));
    ASSERT_EQ(second.status, 200u) << second.body;
    EXPECT_EQ(second.header("x-switchyard-cache"), "hit");
    EXPECT_EQ(upstream_.requestCount(), 1u);
    EXPECT_NE(second.body.find("+1 415 555 0100"), std::string::npos) << second.body;
    EXPECT_EQ(second.body.find("7946"), std::string::npos) << second.body;
    EXPECT_EQ(second.body.find("[PHONE_1]"), std::string::npos) << second.body;
  }
  upstream_.clearBehaviors();
}

// With the default scope ("key") one key's cached answers are not another's.
TEST_F(GovernanceTest, CachedAnswersStayWithTheKeyThatMadeThem) {
  config::Config cfg = baseConfig();
  cfg.cache.enabled = true;
  cfg.auth.require_keys = true;
  start(std::move(cfg));
  auto [id_a, key_a] = createKey(R"({"name":"a","team":"ml"})");
  auto [id_b, key_b] = createKey(R"({"name":"b","team":"ml"})");
  EXPECT_EQ(chatAs(key_a, "fm", "Q").header("x-switchyard-cache"), "miss");
  EXPECT_EQ(chatAs(key_a, "fm", "Q").header("x-switchyard-cache"), "hit");
  EXPECT_EQ(chatAs(key_b, "fm", "Q").header("x-switchyard-cache"), "miss");
  EXPECT_EQ(chatAs(key_b, "fm", "Q").header("x-switchyard-cache"), "hit");
  EXPECT_EQ(upstream_.requestCount(), 2u);
  EXPECT_EQ(chatAs("", "fm", "Q").status, 401u);  // the cache answers no one unidentified
}

// With scope "team", keys of one team share answers; other teams do not see them.
TEST_F(GovernanceTest, ATeamScopedCacheIsSharedWithinTheTeam) {
  config::Config cfg = baseConfig();
  cfg.cache.enabled = true;
  cfg.cache.scope = "team";
  cfg.auth.require_keys = true;
  start(std::move(cfg));
  auto [id_a, key_a] = createKey(R"({"name":"a","team":"ml"})");
  auto [id_b, key_b] = createKey(R"({"name":"b","team":"ml"})");
  auto [id_c, key_c] = createKey(R"({"name":"c","team":"ops"})");
  EXPECT_EQ(chatAs(key_a, "fm", "Q").header("x-switchyard-cache"), "miss");
  EXPECT_EQ(chatAs(key_b, "fm", "Q").header("x-switchyard-cache"), "hit");
  EXPECT_EQ(chatAs(key_c, "fm", "Q").header("x-switchyard-cache"), "miss");
  EXPECT_EQ(upstream_.requestCount(), 2u);
}

// Legacy text completions: the prompt is masked and the value comes back in the text.
TEST_F(GovernanceTest, MaskRestoresTheValueInTextCompletionsStreamedOrNot) {
  start(baseConfig());
  for (bool stream : {false, true}) {
    fakes::Behavior echo = fakes::Behavior::normal();
    echo.content = "I will call [PHONE_1] tomorrow";
    upstream_.pushBehavior(echo);
    json::object body{{"model", "fm"}, {"prompt", "Call me at +44 20 7946 0958"}};
    if (stream) body["stream"] = true;
    Reply r = post(gateway_->port(), "/v1/completions", json::serialize(body));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(upstream_.lastRequest().body.find("7946"), std::string::npos);
    EXPECT_NE(r.body.find("+44 20 7946 0958"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("[PHONE_1]"), std::string::npos) << r.body;
  }
}

TEST_F(GovernanceTest, BlockIs400NamingTheTypeInOpenAIAndAnthropicFormats) {
  start(baseConfig());
  const std::string text = "My card is " + std::string(kCard);
  Reply r = post(gateway_->port(), "/v1/chat/completions", chat("fm", text));
  ASSERT_EQ(r.status, 400u) << r.body;
  auto err = r.json().at("error");
  EXPECT_EQ(err.at("code"), "pii_blocked");
  EXPECT_EQ(err.at("type"), "invalid_request_error");
  EXPECT_NE(std::string(err.at("message").as_string()).find("CREDIT_CARD"), std::string::npos);
  EXPECT_EQ(r.body.find("4111"), std::string::npos);

  Reply a = post(gateway_->port(), "/v1/messages",
                 json::serialize(json::object{
                     {"model", "fm"},
                     {"max_tokens", 16},
                     {"messages", json::array{json::object{{"role", "user"}, {"content", text}}}}}),
                 {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(a.status, 400u) << a.body;
  auto aj = a.json();
  EXPECT_EQ(aj.at("type"), "error");
  EXPECT_EQ(aj.at("error").at("type"), "invalid_request_error");
  EXPECT_NE(std::string(aj.at("error").at("message").as_string()).find("CREDIT_CARD"),
            std::string::npos);
  EXPECT_EQ(a.body.find("4111"), std::string::npos);
  EXPECT_EQ(upstream_.requestCount(), 0u);  // nothing left the gateway
}

TEST_F(GovernanceTest, LocalOnlyIsHandedToRoutingAndVisibleInTheHeader) {
  start(baseConfig());
  Reply r = post(gateway_->port(), "/v1/chat/completions",
                 chat("fm", "IBAN DE89 3704 0044 0532 0130 00"));
  // The fixture's only provider is in the cloud: routing refuses rather than send it there.
  EXPECT_EQ(r.header("x-switchyard-guard"), "IBAN:local_only:1");
  EXPECT_NE(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("local_only"), std::string::npos) << r.body;
  EXPECT_EQ(upstream_.requestCount(), 0u);
  EXPECT_EQ(r.body.find("DE89"), std::string::npos);
}

TEST_F(GovernanceTest, CompletionAndEmbeddingPayloadsAreScanned) {
  start(baseConfig());
  Reply c = post(gateway_->port(), "/v1/completions",
                 json::serialize(json::object{{"model", "fm"}, {"prompt", "to " + std::string(kEmail)}}));
  ASSERT_EQ(c.status, 200u) << c.body;
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).at("prompt"), "to [EMAIL_1]");
  Reply e = post(gateway_->port(), "/v1/embeddings",
                 json::serialize(json::object{{"model", "fake-embedder"},
                                              {"input", json::array{"a", std::string(kEmail)}}}));
  ASSERT_EQ(e.status, 200u) << e.body;
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).at("input").at(1), "[EMAIL_1]");
}

TEST_F(GovernanceTest, KeysWrongMissingScopeRevokeRotate) {
  auto cfg = baseConfig();
  cfg.auth.require_keys = true;
  start(std::move(cfg));
  auto [id, secret] = createKey(R"({"name":"ci","team":"ml","models":["fm"]})");
  EXPECT_TRUE(secret.starts_with("sy-"));

  EXPECT_EQ(chatAs("", "fm").status, 401u);
  Reply wrong = chatAs("sy-wrong", "fm");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.json().at("error").at("type"), "authentication_error");
  EXPECT_EQ(chatAs(secret, "fm").status, 200u);
  // Anthropic clients send x-api-key.
  Reply anthropic = post(gateway_->port(), "/v1/messages",
                         R"({"model":"fm","max_tokens":8,"messages":[{"role":"user","content":"Hi"}]})",
                         {{"x-api-key", secret}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(anthropic.status, 200u) << anthropic.body;

  Reply scoped = chatAs(secret, "up/fake-model");
  EXPECT_EQ(scoped.status, 403u) << scoped.body;
  EXPECT_EQ(scoped.json().at("error").at("code"), "model_not_allowed");

  // Rotation: the old secret stops working at once, the new one works.
  Reply rotated = admin(bhttp::verb::post, "/admin/keys/" + id + "/rotate");
  ASSERT_EQ(rotated.status, 200u) << rotated.body;
  const std::string fresh(rotated.json().at("key").as_string());
  EXPECT_EQ(chatAs(secret, "fm").status, 401u);
  EXPECT_EQ(chatAs(fresh, "fm").status, 200u);

  // Revocation: 401 on the very next request.
  ASSERT_EQ(admin(bhttp::verb::post, "/admin/keys/" + id + "/revoke").status, 200u);
  Reply revoked = chatAs(fresh, "fm");
  EXPECT_EQ(revoked.status, 401u);
  EXPECT_NE(revoked.body.find("revoked"), std::string::npos);

  // The list never shows secrets or hashes.
  Reply list = admin(bhttp::verb::get, "/admin/keys");
  ASSERT_EQ(list.status, 200u);
  EXPECT_EQ(list.body.find(fresh), std::string::npos);
  EXPECT_EQ(list.body.find(auth::hashKey(fresh)), std::string::npos);
  EXPECT_EQ(list.json().at("data").at(0).at("revoked"), true);

  // The audit log has the admin actions, never key material.
  Reply audit = admin(bhttp::verb::get, "/admin/audit?limit=10");
  ASSERT_EQ(audit.status, 200u);
  std::vector<std::string> actions;
  const json::value entries = audit.json();
  for (const auto& e : entries.at("data").as_array()) {
    actions.emplace_back(e.at("action").as_string());
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"key.revoke", "key.rotate", "key.create"}));
  EXPECT_EQ(audit.body.find(secret), std::string::npos);
  EXPECT_EQ(audit.body.find(fresh), std::string::npos);
}

TEST_F(GovernanceTest, AdminApiNeedsTheAdminKey) {
  start(baseConfig());
  Reply none = request(gateway_->port(), bhttp::verb::get, "/admin/keys");
  EXPECT_EQ(none.status, 401u);
  Reply wrong = request(gateway_->port(), bhttp::verb::get, "/admin/keys", "",
                        {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401u);
  Reply bad = admin(bhttp::verb::post, "/admin/keys", R"({"name":"x","rpm":"ten"})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.json().at("error").at("param"), "rpm");
  Reply huge =
      admin(bhttp::verb::post, "/admin/keys", R"({"name":"x","tpm":18446744073709551615})");
  EXPECT_EQ(huge.status, 400u);
  EXPECT_EQ(huge.json().at("error").at("param"), "tpm");
  // A number no double holds (metadata would be stored as text JSON cannot read back).
  Reply nan = admin(bhttp::verb::post, "/admin/keys", R"({"name":"x","metadata":{"n":0e400}})");
  EXPECT_EQ(nan.status, 400u) << nan.body;
  EXPECT_NE(nan.body.find("out of range"), std::string::npos) << nan.body;
}

TEST_F(GovernanceTest, AdminApiWithoutAnAdminKeyIs403AndSaysHowToSetOne) {
  auto cfg = baseConfig();
  cfg.admin_key.clear();
  start(std::move(cfg));
  Reply r = request(gateway_->port(), bhttp::verb::get, "/admin/keys", "",
                    {{"Authorization", "Bearer anything"}});
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.body.find("SWITCHYARD_ADMIN_KEY"), std::string::npos);
}

TEST_F(GovernanceTest, GuardInterventionsAreAuditedAndCountedWithoutValues) {
  start(baseConfig());
  Reply r = post(gateway_->port(), "/v1/chat/completions", chat("fm", std::string(kEmail)));
  ASSERT_EQ(r.status, 200u);
  const std::string request_id = r.header("x-request-id");
  Reply audit = admin(bhttp::verb::get, "/admin/audit");
  ASSERT_EQ(audit.status, 200u);
  auto entry = audit.json().at("data").at(0);
  EXPECT_EQ(entry.at("action"), "guard.redact");
  EXPECT_EQ(entry.at("target"), "EMAIL");
  EXPECT_EQ(entry.at("request_id").as_string(), request_id);
  EXPECT_EQ(audit.body.find(kEmail), std::string::npos);
  Reply counts = admin(bhttp::verb::get, "/admin/guard");
  EXPECT_EQ(counts.json().at("interventions").at("EMAIL").at("redact"), 1);
}

TEST_F(GovernanceTest, RateLimit429WithRetryAfterAndHeaders) {
  start(baseConfig());
  auto [id, secret] = createKey(R"({"name":"slow","rpm":2})");
  Reply first = chatAs(secret, "fm");
  ASSERT_EQ(first.status, 200u);
  EXPECT_EQ(first.header("x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(first.header("x-ratelimit-remaining-requests"), "1");
  EXPECT_FALSE(first.header("x-ratelimit-reset-requests").empty());
  ASSERT_EQ(chatAs(secret, "fm").status, 200u);
  Reply limited = chatAs(secret, "fm");
  ASSERT_EQ(limited.status, 429u) << limited.body;
  EXPECT_EQ(limited.json().at("error").at("code"), "rate_limit_exceeded");
  EXPECT_GE(std::atoi(limited.header("Retry-After").c_str()), 1);
  EXPECT_EQ(limited.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(chatAs("", "fm").status, 200u);  // anonymous (keys not required): not this key's limit
}

TEST_F(GovernanceTest, SpendSurvivesARestartAndAnExhaustedBudgetIs429) {
  auth::KeySpec spec;
  spec.name = "capped";
  spec.budget_usd = 5;
  spec.budget_period = "day";
  const auto [id, secret] = issueStoredKey(spec);
  ASSERT_FALSE(secret.empty());
  {
    // An earlier run of the gateway spent the budget (written behind by BudgetTracker).
    auto db = store::openDatabase("sqlite://" + db_path_);
    ASSERT_TRUE(db);
    auto budgets = limits::BudgetTracker::open(db->get());
    ASSERT_TRUE(budgets);
    (*budgets)->settle("key:" + id, "day", 0, 5.0, limits::BudgetTracker::SystemClock::now());
  }
  start(baseConfig());
  Reply r = chatAs(secret, "fm");
  ASSERT_EQ(r.status, 429u) << r.body;
  EXPECT_EQ(r.json().at("error").at("code"), "budget_exceeded");
  EXPECT_NE(std::string(r.json().at("error").at("message").as_string()).find("$5.00 of $5.00"),
            std::string::npos);
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

// The config file changes, POST /admin/reload, and the next request gets the new guard policy
// and team limits; a team whose limits did not change keeps its bucket (no reset by reload).
TEST_F(GovernanceTest, ReloadAppliesNewGuardPolicyAndLimitsAndKeepsBuckets) {
  const std::string path = db_path_ + ".yaml";
  auto write = [&](std::string_view email_action, std::string_view extra) {
    std::ofstream f(path, std::ios::trunc);
    f << "server: {listen: \"127.0.0.1:0\", workers: 1}\n"
      << "log: {access_log: false}\n"
      << "storage: {url: \"sqlite://" << db_path_ << "\"}\n"
      << "admin_key: \"" << kAdmin << "\"\n"
      << "telemetry: {request_log: {enabled: false}}\n"
      << "providers:\n"
      << "  - {name: up, kind: openai, base_url: \"" << upstream_.baseUrl()
      << "\", api_key: sk-upstream, models: [{name: fake-model, aliases: [fm]}]}\n"
      << "limits: {teams: {ml: {rpm: 3}}}\n"
      << "guard:\n"
      << "  policy: {EMAIL: " << email_action << "}\n"
      << extra;
  };
  write("redact", "");
  auto cfg = config::loadConfigFile(path);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().toString();
  start(std::move(*cfg));
  auto [id, secret] = createKey(R"({"name":"ci","team":"ml"})");
  Reply before = chatAs(secret, "fm", "Mail " + std::string(kEmail));
  ASSERT_EQ(before.status, 200u) << before.body;
  EXPECT_EQ(before.header("x-switchyard-guard"), "EMAIL:redact:1");

  // Block e-mail addresses, and add a deny-list that only the new config knows.
  write("block", "  detectors: [{name: PROJECT, terms: [Nightjar]}]\n  keys: {ci: {PROJECT: redact}}\n");
  Reply reload = admin(bhttp::verb::post, "/admin/reload");
  ASSERT_EQ(reload.status, 200u) << reload.body;
  // Audit writes are queued to a background thread: wait for the entry.
  std::string newest;
  for (int i = 0; i < 200 && newest != "config.reload"; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    newest = admin(bhttp::verb::get, "/admin/audit").json().at("data").at(0).at("action").as_string();
  }
  EXPECT_EQ(newest, "config.reload");
  Reply blocked = chatAs(secret, "fm", "Mail " + std::string(kEmail));
  ASSERT_EQ(blocked.status, 400u) << blocked.body;
  EXPECT_EQ(blocked.json().at("error").at("code"), "pii_blocked");
  upstream_.clearRequests();
  Reply project = chatAs(secret, "fm", "About Nightjar");
  ASSERT_EQ(project.status, 200u) << project.body;
  EXPECT_EQ(json::parse(upstream_.lastRequest().body).at("messages").at(0).at("content"),
            "About [PROJECT_1]");
  // Team ml had 3 requests a minute and still has: all three are spent, reload or not.
  Reply limited = chatAs(secret, "fm");
  EXPECT_EQ(limited.status, 429u) << limited.body;

  // A broken config is refused with file:line and the running settings stay.
  write("block", "  detectors: [{name: BAD, regex: \"(unclosed\"}]\n");
  Reply bad = admin(bhttp::verb::post, "/admin/reload");
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_NE(bad.body.find(".yaml:"), std::string::npos) << bad.body;
  std::filesystem::remove(path);
}

// Google's clients send the key as ?key=...: it identifies the virtual key, and it never reaches
// the access log, the request log, the store or the upstream.
TEST_F(GovernanceTest, GoogleKeyQueryParameterIsACredentialAndNeverLogged) {
  const std::string log_path = db_path_ + ".log";
  std::filesystem::remove(log_path);
  ASSERT_TRUE(setupLogging({"debug", LogFormat::kJson, log_path}).isOk());
  config::Config cfg = baseConfig();
  cfg.auth.require_keys = true;
  cfg.log.access_log = true;
  cfg.telemetry.request_log.enabled = true;
  cfg.telemetry.request_log.flush_interval = std::chrono::milliseconds(10);
  start(std::move(cfg));
  auto [id, secret] = createKey(R"({"name":"gemini-client"})");
  Reply ok = post(gateway_->port(), "/v1/chat/completions?key=" + secret, chat("fm", "Hi"));
  ASSERT_EQ(ok.status, 200u) << ok.body;
  Reply streamed =
      post(gateway_->port(), "/v1/chat/completions?alt=sse&key=" + secret, chat("fm", "Hi", true));
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  Reply wrong = post(gateway_->port(), "/v1/chat/completions?key=sy-wrong-0123456789",
                     chat("fm", "Hi"));
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.body.find("sy-wrong-0123456789"), std::string::npos);
  EXPECT_EQ(upstream_.lastRequest().target.find(secret), std::string::npos);
  for (const auto& [name, value] : upstream_.lastRequest().headers) {
    EXPECT_EQ(value.find(secret), std::string::npos) << name;
  }
  gateway_->shutdown();
  gateway_.reset();  // flushes the request log
  spdlog::default_logger()->flush();
  auto slurp = [](const std::string& file) {
    std::ifstream f(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  const std::string log = slurp(log_path);
  EXPECT_NE(log.find("\"request\""), std::string::npos) << "the access log was written";
  EXPECT_EQ(log.find(secret), std::string::npos);
  for (const std::string& file : {db_path_, db_path_ + "-wal"}) {
    EXPECT_EQ(slurp(file).find(secret), std::string::npos) << file;
  }
  (void)setupLogging({"warn", LogFormat::kText, ""});
  std::filesystem::remove(log_path);
}

// Two gateways with `limits.redis` on one Redis enforce one team limit between them: of 20
// requests alternating between the two, about the team's 4 a minute pass. Each gateway alone
// would let its own 4 through (8); the sync interval (10 ms) is well under the gap between
// requests (30 ms), so at most one more slips through a round in progress on each.
TEST_F(GovernanceTest, TwoGatewaysOnOneRedisShareATeamLimit) {
  auto redis = limits::testing::RedisTestServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  auth::KeySpec spec;
  spec.name = "ci";
  spec.team = "ml";
  const std::string secret = issueStoredKey(spec).second;
  ASSERT_FALSE(secret.empty());
  config::Config cfg = baseConfig();
  cfg.guard.enabled = false;
  cfg.limits.teams["ml"].rpm = 4;
  cfg.limits.redis.url = (*redis)->url();
  cfg.limits.redis.host = "127.0.0.1";
  cfg.limits.redis.port = (*redis)->port();
  cfg.limits.redis.sync_interval = std::chrono::milliseconds(10);
  start(cfg);
  auto other = server::Gateway::create(cfg);
  ASSERT_TRUE(other.has_value()) << other.error().toString();
  (*other)->start();
  const std::uint16_t ports[] = {gateway_->port(), (*other)->port()};

  int admitted = 0;
  int limited = 0;
  for (int i = 0; i < 20; ++i) {
    Headers h{{"Authorization", "Bearer " + secret}};
    Reply r = post(ports[i % 2], "/v1/chat/completions", chat("fm", "Hi"), h);
    if (r.status == 200u) ++admitted;
    if (r.status == 429u) {
      ++limited;
      EXPECT_EQ(r.json().at("error").at("code"), "rate_limit_exceeded");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  EXPECT_GE(admitted, 4);
  EXPECT_LE(admitted, 6) << "the gateways did not share the team's bucket";
  EXPECT_EQ(admitted + limited, 20);
  (*other)->shutdown();
}

TEST_F(GovernanceTest, StoredResponsesBelongToTheKeyThatMadeThem) {
  config::Config cfg = baseConfig();
  cfg.responses.enabled = true;
  cfg.auth.require_keys = true;
  start(std::move(cfg));
  auto [id_a, key_a] = createKey(R"({"name":"a"})");
  auto [id_b, key_b] = createKey(R"({"name":"b"})");
  auto as = [&](const std::string& key, bhttp::verb method, const std::string& target,
                const std::string& body = "") {
    Headers h{{"Content-Type", "application/json"}};
    if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
    return request(gateway_->port(), method, target, body, h);
  };
  Reply made = as(key_a, bhttp::verb::post, "/v1/responses", R"({"model":"fm","input":"Hi"})");
  ASSERT_EQ(made.status, 200u) << made.body;
  const std::string rid(made.json().at("id").as_string());
  const std::string path = "/v1/responses/" + rid;
  const std::string next =
      R"({"model":"fm","input":"More","previous_response_id":")" + rid + R"("})";

  EXPECT_EQ(as(key_a, bhttp::verb::get, path).status, 200u);
  // Another key neither sees, continues nor deletes it: to it, the response does not exist.
  Reply other = as(key_b, bhttp::verb::get, path);
  EXPECT_EQ(other.status, 404u) << other.body;
  EXPECT_EQ(as(key_b, bhttp::verb::get, path + "/input_items").status, 404u);
  EXPECT_EQ(as(key_b, bhttp::verb::delete_, path).status, 404u);
  const std::string item(made.json().at("output").at(0).at("id").as_string());
  const std::string referencing =
      R"({"model":"fm","input":[{"type":"item_reference","id":")" + item + R"("}]})";
  EXPECT_EQ(as(key_b, bhttp::verb::post, "/v1/responses", referencing).status, 404u);
  const std::size_t upstream_before = upstream_.requestCount();
  Reply continued = as(key_b, bhttp::verb::post, "/v1/responses", next);
  EXPECT_EQ(continued.status, 404u) << continued.body;
  EXPECT_EQ(upstream_.requestCount(), upstream_before);
  // Without a key: 401, as for any model request; the admin key reads every key's responses.
  EXPECT_EQ(as("", bhttp::verb::get, path).status, 401u);
  EXPECT_EQ(as("", bhttp::verb::post, "/v1/responses", next).status, 401u);
  EXPECT_EQ(admin(bhttp::verb::get, path).status, 200u);
  // Its own key continues it.
  EXPECT_EQ(as(key_a, bhttp::verb::post, "/v1/responses", referencing).status, 200u);
  Reply mine = as(key_a, bhttp::verb::post, "/v1/responses", next);
  EXPECT_EQ(mine.status, 200u) << mine.body;
  EXPECT_EQ(as(key_a, bhttp::verb::delete_, path).status, 200u);

  // The stored conversation passes the guard again with every request that continues it: an
  // e-mail address said in the first turn is redacted upstream in the second too.
  Reply said = as(key_a, bhttp::verb::post, "/v1/responses",
                  R"({"model":"fm","input":"Write to )" + std::string(kEmail) + R"("})");
  ASSERT_EQ(said.status, 200u) << said.body;
  EXPECT_EQ(upstream_.lastRequest().body.find(kEmail), std::string::npos);
  Reply then = as(key_a, bhttp::verb::post, "/v1/responses",
                  R"({"model":"fm","input":"And again","previous_response_id":")" +
                      std::string(said.json().at("id").as_string()) + R"("})");
  ASSERT_EQ(then.status, 200u) << then.body;
  const std::string upstream_body = upstream_.lastRequest().body;
  EXPECT_NE(upstream_body.find("And again"), std::string::npos) << upstream_body;
  EXPECT_NE(upstream_body.find("Write to"), std::string::npos) << upstream_body;
  EXPECT_EQ(upstream_body.find(kEmail), std::string::npos) << upstream_body;
}

}  // namespace
}  // namespace switchyard
