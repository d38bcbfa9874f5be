// The telemetry module in the real gateway: requests through a fake upstream show up in
// GET /metrics and, after a graceful shutdown, as request-log rows (with cost and feedback) in
// the store, on SQLite and on a real PostgreSQL started by the test.

#include "switchyard/server/gateway.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

#include <filesystem>

#include "switchyard/core/log.h"
#include "switchyard/store/database.h"
#include "switchyard/store/testing/postgres_test_server.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
using fakes::Behavior;
using fakes::Client;
using fakes::FakeUpstream;
using fakes::Reply;

class TelemetryIntegrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"error", LogFormat::kText, ""}); }

  void SetUp() override {
    if (GetParam() == "postgres") {
      static auto server = store::testing::PostgresTestServer::start();
      if (!server) {
        if (server.error().message().find("binaries") != std::string::npos) {
          GTEST_SKIP() << server.error().message();
        }
        FAIL() << server.error().message();
      }
      url_ = (*server)->url();
    } else {
      path_ = std::filesystem::temp_directory_path() /
              ("sy_telemetry_it_" + std::to_string(::getpid()) + ".db");
      removeSqlite();
      url_ = "sqlite://" + path_.string();
    }
    provider_ = "tele_" + GetParam();
    config::Config cfg;
    cfg.source = "<test>";
    cfg.server.host = "127.0.0.1";
    cfg.server.port = 0;
    cfg.server.workers = 1;
    cfg.server.drain_timeout = std::chrono::milliseconds(2000);
    cfg.log.access_log = false;
    cfg.storage_url = url_;
    config::ProviderConfig p;
    p.name = provider_;
    p.kind = "openai";
    p.base_url = upstream_.baseUrl();
    p.api_key = "sk-test-secret";
    p.models = {{"fake-model", {}, 0}};
    cfg.providers = {p};
    cfg.routes = {{"fast", provider_, "fake-model", 1}};
    config::PriceConfig price;
    price.provider = provider_;
    price.model = "fake-model";
    price.input = 1.0;
    price.output = 2.0;
    cfg.prices = {price};
    cfg.telemetry.request_log.enabled = true;
    cfg.telemetry.metrics.token = "scrape-token";
    auto gw = server::Gateway::create(std::move(cfg));
    ASSERT_TRUE(gw.has_value()) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
  }
  void TearDown() override {
    gateway_.reset();
    removeSqlite();
  }
  void removeSqlite() {
    if (path_.empty()) return;
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + s);
  }

  std::string metric(const std::string& body, const std::string& prefix) {
    const std::size_t at = body.find(prefix);
    if (at == std::string::npos) return "(missing: " + prefix + ")";
    return body.substr(at + prefix.size(), body.find('\n', at) - at - prefix.size());
  }

  FakeUpstream upstream_;
  std::unique_ptr<server::Gateway> gateway_;
  std::string url_;
  std::string provider_;
  std::filesystem::path path_;
};

constexpr std::string_view kChat =
    R"({"model":"fast","messages":[{"role":"user","content":"Hi"}]})";
constexpr std::string_view kStream =
    R"({"model":"fast","stream":true,"messages":[{"role":"user","content":"Hi"}]})";

TEST_P(TelemetryIntegrationTest, MetricsRequestLogAndFeedback) {
  Client c(gateway_->port());
  Reply ok = c.post("/v1/chat/completions", std::string(kChat));
  ASSERT_EQ(ok.status, 200u) << ok.body;
  const std::string id = ok.header("x-request-id");
  ASSERT_EQ(c.post("/v1/chat/completions", std::string(kStream)).status, 200u);
  upstream_.pushBehavior(Behavior::error(400, "bad parameter"));  // not retried
  ASSERT_EQ(c.post("/v1/chat/completions", std::string(kChat)).status, 400u);
  upstream_.pushBehavior(Behavior::error(429, "slow down"));  // retried once, then answered
  ASSERT_EQ(c.post("/v1/chat/completions", std::string(kChat)).status, 200u);
  ASSERT_EQ(c.post("/v1/chat/completions",
                   R"({"model":"nope","messages":[{"role":"user","content":"Hi"}]})")
                .status,
            404u);

  // /metrics needs the configured token.
  Reply denied = fakes::request(gateway_->port(), bhttp::verb::get, "/metrics");
  EXPECT_EQ(denied.status, 401u);
  EXPECT_EQ(denied.body.find("scrape-token"), std::string::npos);
  ::setenv("SWITCHYARD_ADMIN_KEY", "admin-secret", 1);  // the admin key opens it too
  EXPECT_EQ(fakes::request(gateway_->port(), bhttp::verb::get, "/metrics", "",
                           {{"Authorization", "Bearer admin-secret"}})
                .status,
            200u);
  ::unsetenv("SWITCHYARD_ADMIN_KEY");
  Reply m = fakes::request(gateway_->port(), bhttp::verb::get, "/metrics", "",
                           {{"Authorization", "Bearer scrape-token"}});
  ASSERT_EQ(m.status, 200u);
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string series = "{endpoint=\"chat\",route=\"fast\",provider=\"" + provider_ +
                             "\",model=\"fake-model\"";
  EXPECT_EQ(metric(m.body, "switchyard_requests_total" + series + ",status=\"200\"} "), "3");
  EXPECT_EQ(metric(m.body, "switchyard_requests_total" + series + ",status=\"400\"} "), "1");
  EXPECT_EQ(metric(m.body, "switchyard_request_duration_seconds_count" + series + "} "), "4");
  EXPECT_EQ(metric(m.body, "switchyard_time_to_first_token_seconds_count" + series + "} "), "3");
  EXPECT_NE(m.body.find("switchyard_request_errors_total" + series + ",type="), std::string::npos);
  const std::string tokens =
      "switchyard_tokens_total{route=\"fast\",provider=\"" + provider_ + "\",model=\"fake-model\"";
  EXPECT_EQ(metric(m.body, tokens + ",kind=\"prompt\"} "), "36");      // 12 per answer
  EXPECT_EQ(metric(m.body, tokens + ",kind=\"completion\"} "), "15");  // 5 words per answer
  // (12 * $1 + 5 * $2) per 1M tokens, three times.
  const double cost = std::stod(metric(
      m.body, "switchyard_cost_usd_total{route=\"fast\",provider=\"" + provider_ +
                  "\",model=\"fake-model\"} "));
  EXPECT_NEAR(cost, 66e-6, 1e-12);
  EXPECT_NE(m.body.find("# TYPE switchyard_gateway_overhead_seconds histogram\n"),
            std::string::npos);

  Reply fb = c.post("/v1/feedback", R"({"request_id":")" + id + R"(","score":1,"label":"good"})");
  EXPECT_EQ(fb.status, 202u) << fb.body;
  Reply bad = c.post("/v1/feedback", R"({"score":1})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.json().at("error").at("param"), "request_id");

  c.close();
  gateway_.reset();  // graceful shutdown: every queued row is written

  auto db = store::openDatabase(url_);
  ASSERT_TRUE(db) << db.error().toString();
  auto rows = (*db)->query(
      "SELECT request_id, status, stream, route, model, prompt_tokens, completion_tokens, "
      "cost_usd, ttft_ms, error_type, endpoint, attempts FROM request_log WHERE provider "
      "= ? OR requested_model = 'nope' ORDER BY id",
      std::vector<store::Value>{provider_});
  ASSERT_TRUE(rows) << rows.error().toString();
  ASSERT_EQ(rows->size(), 5u);
  const store::Row& first = (*rows)[0];
  EXPECT_EQ(first.text(0), id);
  EXPECT_EQ(first.integer(1), 200);
  EXPECT_EQ(first.integer(2), 0);
  EXPECT_EQ(first.text(3), "fast");
  EXPECT_EQ(first.text(4), "fake-model");
  EXPECT_EQ(first.integer(5), 12);
  EXPECT_EQ(first.integer(6), 5);
  EXPECT_NEAR(first.real(7), 22e-6, 1e-12);
  EXPECT_FALSE(first.isNull(8));
  EXPECT_TRUE(first.isNull(9));
  EXPECT_EQ(first.text(10), "chat");
  EXPECT_EQ((*rows)[1].integer(2), 1);  // streamed
  EXPECT_EQ((*rows)[2].integer(1), 400);
  EXPECT_FALSE((*rows)[2].text(9).empty());
  EXPECT_EQ(first.integer(11), 1);
  EXPECT_EQ((*rows)[3].integer(1), 200);
  EXPECT_EQ((*rows)[3].integer(11), 2);  // the 429 was retried
  EXPECT_EQ((*rows)[4].integer(1), 404);
  EXPECT_EQ((*rows)[4].text(9), "model_not_found");
  auto joined = (*db)->query(
      "SELECT f.score, f.label FROM feedback f JOIN request_log r ON r.request_id = "
      "f.request_id WHERE r.provider = ?",
      std::vector<store::Value>{provider_});
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->size(), 1u);
  EXPECT_DOUBLE_EQ((*joined)[0].real(0), 1.0);
  EXPECT_EQ((*joined)[0].text(1), "good");
}

INSTANTIATE_TEST_SUITE_P(Stores, TelemetryIntegrationTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchyard
