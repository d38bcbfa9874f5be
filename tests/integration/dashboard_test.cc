// The dashboard in the real gateway: traffic through fake upstreams (a cloud one and an on_prem
// one that takes the guard's local-only requests), then the /admin/api numbers are checked
// against what was sent; login sessions, the admin key, and the embedded /ui assets (ETag/304,
// content types, CSP). On SQLite and on a real PostgreSQL started by the test.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "switchyard/core/log.h"
#include "switchyard/eval/eval_store.h"
#include "switchyard/server/gateway.h"
#include "switchyard/store/testing/postgres_test_server.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using fakes::Behavior;
using fakes::FakeUpstream;
using fakes::Reply;
using std::chrono::milliseconds;

constexpr std::string_view kAdminKey = "dash-admin-key-0123456789";

std::string chat(std::string_view model, std::string_view content) {
  return R"({"model":")" + std::string(model) + R"(","messages":[{"role":"user","content":")" +
         std::string(content) + R"("}]})";
}

class DashboardIntegrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"error", LogFormat::kText, ""}); }

  void SetUp() override {
    if (GetParam() == "postgres") {
      static auto server = store::testing::PostgresTestServer::start();
      if (!server) {
        if (server.error().code() == ErrorCode::kUnavailable) {
          GTEST_SKIP() << server.error().message();
        }
        FAIL() << server.error().message();
      }
      url_ = (*server)->url();
      auto db = store::openDatabase(url_);
      ASSERT_TRUE(db.has_value());
      for (const char* t : {"request_log", "feedback", "eval_runs", "eval_outputs", "eval_cases",
                            "eval_scores"}) {
        (void)(*db)->exec(std::string("DELETE FROM ") + t);  // absent on the first run: fine
      }
    } else {
      path_ = std::filesystem::temp_directory_path() /
              ("sy_dashboard_it_" + std::to_string(::getpid()) + ".db");
      removeSqlite();
      url_ = "sqlite://" + path_.string();
    }
    config::Config cfg;
    cfg.source = "<test>";
    cfg.server.host = "127.0.0.1";
    cfg.server.port = 0;
    cfg.server.workers = 1;
    cfg.server.drain_timeout = milliseconds(2000);
    cfg.log.access_log = false;
    cfg.storage_url = url_;
    cfg.admin_key = std::string(kAdminKey);
    auto provider = [](std::string name, const FakeUpstream& up, std::string locality) {
      config::ProviderConfig p;
      p.name = std::move(name);
      p.kind = "openai";
      p.base_url = up.baseUrl();
      p.api_key = "sk-upstream-secret";
      p.locality = std::move(locality);
      p.models = {{"fake-model", {}, 0}};
      return p;
    };
    cfg.providers = {provider("cloud", cloud_, "cloud"), provider("onprem", onprem_, "on_prem")};
    config::RouteConfig route;
    route.name = "auto";
    route.candidates = {{"cloud", "fake-model"}, {"onprem", "fake-model"}};
    route.retry.attempts = 1;
    cfg.routes = {route};
    config::PriceConfig price;
    price.provider = "cloud";
    price.model = "fake-model";
    price.input = 1.0;
    price.output = 2.0;
    cfg.prices = {price};
    cfg.guard.enabled = true;
    cfg.guard.policy = {{"EMAIL", "local_only"}};
    cfg.telemetry.request_log.enabled = true;
    cfg.telemetry.request_log.flush_interval = milliseconds(20);
    cfg.telemetry.request_log.payload_routes = {"auto"};
    cfg.telemetry.dashboard.enabled = true;
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

  Reply get(const std::string& target, fakes::Headers headers = {}) {
    return fakes::request(gateway_->port(), bhttp::verb::get, target, "", headers);
  }
  Reply admin(const std::string& target) {
    return get(target, {{"Authorization", "Bearer " + std::string(kAdminKey)}});
  }
  // Polls the overview until the request log holds `n` rows (the writer is asynchronous).
  json::value waitForRequests(std::int64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json::value last;
    while (std::chrono::steady_clock::now() < deadline) {
      Reply r = admin("/admin/api/overview?window=1h");
      if (r.status != 200) return r.json();
      last = r.json();
      if (last.at("requests").as_int64() >= n) return last;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return last;
  }

  FakeUpstream cloud_;
  FakeUpstream onprem_;
  std::unique_ptr<server::Gateway> gateway_;
  std::string url_;
  std::filesystem::path path_;
};

TEST_P(DashboardIntegrationTest, ApiNumbersMatchTheTraffic) {
  const std::uint16_t port = gateway_->port();
  // 3 plain requests go to the cloud, 2 with an e-mail address stay on-prem, 1 cloud error,
  // 1 unknown model (rejected before routing).
  std::string first_id;
  for (int i = 0; i < 3; ++i) {
    Reply r = fakes::post(port, "/v1/chat/completions", chat("auto", "Hello number " + std::to_string(i)));
    ASSERT_EQ(r.status, 200u) << r.body;
    if (i == 0) first_id = r.header("x-request-id");
  }
  std::string pii_id;
  for (int i = 0; i < 2; ++i) {
    Reply r = fakes::post(port, "/v1/chat/completions", chat("auto", "Mail jane.doe@example.com"));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-switchyard-provider"), "onprem");
    pii_id = r.header("x-request-id");
  }
  cloud_.pushBehavior(Behavior::error(400, "bad parameter"));  // 400: not retried, no fallback
  ASSERT_EQ(fakes::post(port, "/v1/chat/completions", chat("auto", "fail please")).status, 400u);
  ASSERT_EQ(fakes::post(port, "/v1/chat/completions", chat("nope", "hi")).status, 404u);
  ASSERT_EQ(fakes::post(port, "/v1/feedback",
                        R"({"request_id":")" + first_id + R"(","score":1,"label":"good"})")
                .status,
            202u);

  const json::value o = waitForRequests(7);
  ASSERT_EQ(o.at("requests").as_int64(), 7) << json::serialize(o);
  EXPECT_EQ(o.at("errors").as_int64(), 2);
  EXPECT_EQ(o.at("latency_ms").at("total").at("count").as_int64(), 7);
  EXPECT_EQ(o.at("latency_ms").at("ttft").at("count").as_int64(), 5);
  EXPECT_GT(o.at("latency_ms").at("total").at("p50").to_number<double>(), 0);
  EXPECT_GE(o.at("latency_ms").at("total").at("p99").to_number<double>(),
            o.at("latency_ms").at("total").at("p50").to_number<double>());
  EXPECT_GT(o.at("tokens").at("prompt").as_int64(), 0);
  std::int64_t in_series = 0;
  for (const auto& v : o.at("series").at("requests").as_array()) in_series += v.as_int64();
  EXPECT_EQ(in_series, 7);

  Reply costs = admin("/admin/api/costs?window=1h");
  ASSERT_EQ(costs.status, 200u) << costs.body;
  const json::value costs_json = costs.json();
  const auto& by_model = costs_json.at("by_model").as_array();
  std::map<std::string, std::int64_t> per_model;
  for (const auto& m : by_model) per_model[std::string(m.at("name").as_string())] = m.at("requests").as_int64();
  EXPECT_EQ(per_model["cloud/fake-model"], 4);  // 3 answered + 1 failed
  EXPECT_EQ(per_model["onprem/fake-model"], 2);
  EXPECT_EQ(per_model["(not routed)"], 1);
  EXPECT_EQ(by_model[0].at("name").as_string(), "cloud/fake-model");  // the only priced one
  EXPECT_GT(by_model[0].at("cost_usd").to_number<double>(), 0);
  // Numbers are written plainly (Boost.JSON alone writes 6E1, 2.5E-1): no exponent anywhere.
  for (const std::string& body : {costs.body, admin("/admin/api/overview?window=1h").body}) {
    for (std::size_t i = 1; i < body.size(); ++i) {
      const bool exponent = (body[i] == 'E' || body[i] == 'e') &&
                            std::isdigit(static_cast<unsigned char>(body[i - 1])) &&
                            i + 1 < body.size() &&
                            (std::isdigit(static_cast<unsigned char>(body[i + 1])) ||
                             body[i + 1] == '-' || body[i + 1] == '+');
      ASSERT_FALSE(exponent) << body.substr(i > 20 ? i - 20 : 0, 40);
    }
  }

  Reply routing = admin("/admin/api/routing?window=1h");
  ASSERT_EQ(routing.status, 200u) << routing.body;
  const json::value rt = routing.json();
  EXPECT_EQ(rt.at("cloud").at("requests").as_int64(), 4);
  EXPECT_EQ(rt.at("local").at("requests").as_int64(), 2);
  EXPECT_EQ(rt.at("none").at("requests").as_int64(), 1);
  EXPECT_EQ(rt.at("local_only").as_int64(), 2);
  bool local_reason = false;
  for (const auto& d : rt.at("decisions").as_array()) {
    if (std::string(d.at("decision").as_string()).find("local-only") != std::string::npos) {
      local_reason = true;
      EXPECT_EQ(d.at("local").as_int64(), 2);
    }
  }
  EXPECT_TRUE(local_reason) << routing.body;

  Reply guard = admin("/admin/api/guard?window=1h");
  ASSERT_EQ(guard.status, 200u) << guard.body;
  const json::value g = guard.json();
  EXPECT_EQ(g.at("requests_with_findings").as_int64(), 2);
  ASSERT_EQ(g.at("by_type").as_array().size(), 1u);
  EXPECT_EQ(g.at("by_type").as_array()[0].at("type").as_string(), "EMAIL");
  EXPECT_EQ(g.at("by_type").as_array()[0].at("actions").at("local_only").as_int64(), 2);

  Reply breakers = admin("/admin/api/breakers");
  ASSERT_EQ(breakers.status, 200u);
  std::map<std::string, std::string> states;
  const json::value deployments = breakers.json().at("deployments");
  for (const auto& d : deployments.as_array()) {
    states[std::string(d.at("deployment").as_string())] = std::string(d.at("state").as_string());
  }
  EXPECT_EQ(states["cloud/fake-model"], "closed") << breakers.body;
  EXPECT_EQ(states["onprem/fake-model"], "closed") << breakers.body;

  Reply list = admin("/admin/api/requests?window=1h&limit=3");
  ASSERT_EQ(list.status, 200u) << list.body;
  EXPECT_EQ(list.json().at("data").as_array().size(), 3u);
  EXPECT_TRUE(list.json().at("has_more").as_bool());
  EXPECT_EQ(admin("/admin/api/requests?window=1h&status=error").json().at("data").as_array().size(),
            2u);

  Reply one = admin("/admin/api/requests/" + first_id);
  ASSERT_EQ(one.status, 200u) << one.body;
  const json::value one_json = one.json();
  EXPECT_EQ(one_json.at("request").at("provider").as_string(), "cloud");
  EXPECT_EQ(one_json.at("request").at("status").as_int64(), 200);
  ASSERT_EQ(one_json.at("feedback").as_array().size(), 1u);
  EXPECT_EQ(one_json.at("feedback").as_array()[0].at("label").as_string(), "good");
  // Every logged column is there, payloads included (empty until the dispatcher fills them:
  // docs/observability.md, "Limits and hand-offs").
  EXPECT_EQ(one_json.at("request").as_object().size(), 36u);
  EXPECT_EQ(one_json.at("request").at("cache"), "");  // the response cache is off
  EXPECT_TRUE(one_json.at("request").at("request_payload").is_string());
  EXPECT_EQ(one_json.at("request").at("endpoint").as_string(), "chat");
  EXPECT_EQ(one_json.at("request").at("route").as_string(), "auto");
  Reply pii = admin("/admin/api/requests/" + pii_id);
  ASSERT_EQ(pii.status, 200u);
  EXPECT_TRUE(pii.json().at("request").at("local_only").as_bool());
  EXPECT_EQ(admin("/admin/api/requests/does-not-exist").status, 404u);
  EXPECT_EQ(one.body.find("sk-upstream-secret"), std::string::npos);

  // Bad parameters name themselves.
  Reply bad = admin("/admin/api/overview?window=forever");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("window"), std::string::npos);
  EXPECT_EQ(admin("/admin/api/requests?limit=0").status, 400u);
  EXPECT_EQ(admin("/admin/api/nope").status, 404u);
}

TEST_P(DashboardIntegrationTest, EvaluationRunsAreListed) {
  auto store = eval::EvalStore::open(url_);
  ASSERT_TRUE(store.has_value()) << store.error().toString();
  eval::RunInfo run;
  run.id = "run-dash-1";
  run.suite = "smoke";
  run.suite_path = "smoke.yaml";
  run.started_at = eval::nowIso8601();
  run.status = "done";
  run.targets = R"([{"name":"auto","model":"auto"}])";
  run.options = "{}";
  run.cases_total = 4;
  ASSERT_TRUE((*store)->createRun(run).isOk());
  std::vector<eval::ResultRecord> batch;
  for (int i = 0; i < 4; ++i) {
    eval::ResultRecord r;
    r.run_id = run.id;
    r.case_idx = i;
    r.case_id = "c" + std::to_string(i);
    r.category = "qa";
    r.input = "[]";
    r.target = "auto";
    r.passed = i < 3;
    r.score = r.passed ? 1 : 0;
    batch.push_back(std::move(r));
  }
  ASSERT_TRUE((*store)->write(batch).isOk());

  Reply runs = admin("/admin/api/eval/runs");
  ASSERT_EQ(runs.status, 200u) << runs.body;
  ASSERT_EQ(runs.json().at("data").as_array().size(), 1u);
  const json::value r = runs.json().at("data").as_array()[0];
  EXPECT_EQ(r.at("id").as_string(), "run-dash-1");
  EXPECT_DOUBLE_EQ(r.at("pass_rate").to_number<double>(), 0.75);
  Reply detail = admin("/admin/api/eval/runs/run-dash-1");
  ASSERT_EQ(detail.status, 200u) << detail.body;
  EXPECT_EQ(detail.json().at("failures").as_array().size(), 1u);
  EXPECT_EQ(admin("/admin/api/eval/runs/nope").status, 404u);
}

TEST_P(DashboardIntegrationTest, AdminKeyAndSessions) {
  // No credentials, a wrong key, a made-up cookie: 401, and no data.
  for (const fakes::Headers& h :
       {fakes::Headers{}, fakes::Headers{{"Authorization", "Bearer wrong"}},
        fakes::Headers{{"Cookie", "sy_session=" + std::string(64, 'a')}}}) {
    Reply r = get("/admin/api/overview", h);
    EXPECT_EQ(r.status, 401u) << r.body;
    EXPECT_EQ(r.body.find("\"requests\""), std::string::npos);
  }
  EXPECT_EQ(fakes::post(gateway_->port(), "/admin/api/login", R"({"key":"wrong"})").status, 401u);
  EXPECT_EQ(fakes::post(gateway_->port(), "/admin/api/login", "not json").status, 400u);
  EXPECT_EQ(get("/admin/api/login").status, 405u);

  Reply login = fakes::post(gateway_->port(), "/admin/api/login",
                            R"({"key":")" + std::string(kAdminKey) + R"("})");
  ASSERT_EQ(login.status, 200u) << login.body;
  const std::string cookie = login.header("set-cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("Max-Age=43200"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find(kAdminKey), std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));  // sy_session=<token>
  ASSERT_EQ(session.size(), std::string("sy_session=").size() + 64);
  Reply ok = get("/admin/api/overview", {{"Cookie", "theme=dark; " + session}});
  EXPECT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(ok.header("cache-control"), "no-store");
  Reply who = get("/admin/api/session", {{"Cookie", session}});
  EXPECT_EQ(who.status, 200u);
  EXPECT_TRUE(who.json().at("authenticated").as_bool());
  EXPECT_FALSE(get("/admin/api/session").json().at("authenticated").as_bool());

  Reply out = fakes::post(gateway_->port(), "/admin/api/logout", "{}", {{"Cookie", session}});
  EXPECT_EQ(out.status, 200u);
  EXPECT_NE(out.header("set-cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(get("/admin/api/overview", {{"Cookie", session}}).status, 401u);
}

TEST_P(DashboardIntegrationTest, FailedLoginsAreThrottled) {
  const std::uint16_t port = gateway_->port();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(fakes::post(port, "/admin/api/login", R"({"key":"guess)" + std::to_string(i) + "\"}")
                  .status,
              401u);
  }
  // Now even the right key waits: no oracle for the next guess.
  Reply limited =
      fakes::post(port, "/admin/api/login", R"({"key":")" + std::string(kAdminKey) + R"("})");
  EXPECT_EQ(limited.status, 429u) << limited.body;
  EXPECT_FALSE(limited.header("retry-after").empty());
  EXPECT_TRUE(limited.header("set-cookie").empty());
  // The Bearer key still opens the API (scripts are not locked out by someone guessing).
  EXPECT_EQ(admin("/admin/api/breakers").status, 200u);
}

TEST_P(DashboardIntegrationTest, StaticAssetsWithEtagsAndCsp) {
  Reply page = get("/ui");
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/ui/app.js"), std::string::npos);
  const std::string csp = page.header("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(page.header("cache-control"), "no-cache");
  EXPECT_EQ(get("/ui/").body, page.body);

  Reply js = get("/ui/app.js");
  ASSERT_EQ(js.status, 200u);
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_GT(js.body.size(), 10'000u);
  const std::string etag = js.header("etag");
  ASSERT_FALSE(etag.empty());
  Reply again = get("/ui/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), etag);
  EXPECT_EQ(get("/ui/app.js", {{"If-None-Match", "\"other\""}}).status, 200u);
  Reply css = get("/ui/app.css");
  EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");
  EXPECT_NE(css.header("etag"), etag);
  EXPECT_EQ(get("/ui/missing.js").status, 404u);
  EXPECT_EQ(fakes::post(gateway_->port(), "/ui/app.js", "{}").status, 405u);
}

INSTANTIATE_TEST_SUITE_P(Stores, DashboardIntegrationTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchyard
