// The metrics other modules feed into GET /metrics, scraped from the real gateway after real
// traffic: circuit breakers tripped by a failing upstream, guard redactions, a price change
// applied by a config reload, and (with llama.cpp) the engine of a tiny local model.

#include "switchyard/server/gateway.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "switchyard/config/config.h"
#include "switchyard/core/log.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"
#include "tests/fakes/test_gateway.h"
#ifdef SY_LLAMA_DIR
#include "tests/fakes/tiny_models.h"
#endif

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
using fakes::Behavior;
using fakes::Client;
using fakes::FakeUpstream;
using fakes::Reply;

std::string scrape(unsigned short port) {
  Reply m = fakes::request(port, bhttp::verb::get, "/metrics");
  EXPECT_EQ(m.status, 200u) << m.body;
  return m.body;
}

// The value of the sample `series` (name and labels as rendered), or NaN when absent.
double sample(const std::string& text, const std::string& series) {
  const std::string needle = "\n" + series + " ";
  const std::size_t at = text.find(needle);
  if (at == std::string::npos) return std::nan("");
  return std::strtod(text.c_str() + at + needle.size(), nullptr);
}

constexpr std::string_view kAdminKey = "admin-metrics-key";

class MetricsIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"error", LogFormat::kText, ""}); }

  void SetUp() override {
    const std::string stem = std::filesystem::temp_directory_path() /
                             ("sy_metrics_it_" + std::to_string(::getpid()));
    config_path_ = stem + ".yaml";
    db_path_ = stem + ".db";
    removeFiles();
    ::setenv("SWITCHYARD_ADMIN_KEY", std::string(kAdminKey).c_str(), 1);
    writeConfig(1.0);
    auto cfg = config::loadConfigFile(config_path_);
    ASSERT_TRUE(cfg) << cfg.error().toString();
    auto gw = server::Gateway::create(std::move(*cfg));
    ASSERT_TRUE(gw) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
  }
  void TearDown() override {
    gateway_.reset();
    ::unsetenv("SWITCHYARD_ADMIN_KEY");
    removeFiles();
  }
  void removeFiles() {
    std::filesystem::remove(config_path_);
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(db_path_ + s);
  }

  // Route "priced" → a (priced at `input_usd` per 1M prompt tokens), "flaky" → b.
  void writeConfig(double input_usd) {
    std::ofstream out(config_path_);
    out << "server:\n  listen: 127.0.0.1:0\n  workers: 1\n"
        << "log:\n  access_log: false\n"
        << "storage:\n  url: sqlite://" << db_path_ << "\n"
        << "providers:\n"
        << "  - name: a\n    kind: openai\n    base_url: " << a_.baseUrl()
        << "\n    models: [fake-model]\n"
        << "  - name: b\n    kind: openai\n    base_url: " << b_.baseUrl()
        << "\n    models: [fake-model]\n"
        << "routes:\n"
        << "  - name: priced\n    target: a/fake-model\n"
        << "  - name: flaky\n    target: b/fake-model\n"
        << "routing:\n  retry: {attempts: 1}\n  breaker: {failures: 2, cooldown: 60s}\n"
        << "guard:\n  policy: {EMAIL: redact}\n"
        << "prices:\n  - provider: a\n    model: fake-model\n    input: " << input_usd
        << "\n    output: 0\n";
  }

  static std::string chat(std::string_view model, std::string_view content = "Hi") {
    return R"({"model":")" + std::string(model) + R"(","messages":[{"role":"user","content":")" +
           std::string(content) + R"("}]})";
  }

  FakeUpstream a_;
  FakeUpstream b_;
  std::string config_path_;
  std::string db_path_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(MetricsIntegrationTest, BreakerStateAndTransitionsAfterAFailingUpstream) {
  Client c(gateway_->port());
  ASSERT_EQ(c.post("/v1/chat/completions", chat("flaky")).status, 200u);
  std::string text = scrape(gateway_->port());
  EXPECT_EQ(sample(text, R"(switchyard_breaker_state{provider="b",model="fake-model"})"), 0);
  EXPECT_EQ(sample(text, R"(switchyard_breaker_transitions_total{provider="b",model="fake-model",to="open"})"), 0);

  b_.pushBehavior(Behavior::error(500, "down"));
  b_.pushBehavior(Behavior::error(500, "down"));
  EXPECT_GE(c.post("/v1/chat/completions", chat("flaky")).status, 500u);
  EXPECT_GE(c.post("/v1/chat/completions", chat("flaky")).status, 500u);
  text = scrape(gateway_->port());
  EXPECT_EQ(sample(text, R"(switchyard_breaker_state{provider="b",model="fake-model"})"), 2)
      << text;
  EXPECT_EQ(sample(text, R"(switchyard_breaker_transitions_total{provider="b",model="fake-model",to="open"})"), 1);
  EXPECT_EQ(sample(text, R"(switchyard_breaker_transitions_total{provider="b",model="fake-model",to="closed"})"), 0);
  // The other deployment is untouched.
  EXPECT_EQ(sample(text, R"(switchyard_breaker_state{provider="a",model="fake-model"})"), 0);
  EXPECT_NE(text.find("# TYPE switchyard_breaker_state gauge\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE switchyard_breaker_transitions_total counter\n"), std::string::npos);
}

TEST_F(MetricsIntegrationTest, GuardInterventionsByEntityTypeAndAction) {
  const std::string series =
      R"(switchyard_guard_interventions_total{entity_type="EMAIL",action="redact"})";
  double before = sample(scrape(gateway_->port()), series);
  if (std::isnan(before)) before = 0;
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions",
                   chat("priced", "write to jane.doe@example.com and bob@example.org"));
  ASSERT_EQ(r.status, 200u) << r.body;
  ASSERT_EQ(a_.requests().size(), 1u);
  EXPECT_EQ(a_.requests()[0].body.find("jane.doe@example.com"), std::string::npos);
  EXPECT_EQ(sample(scrape(gateway_->port()), series), before + 2);
}

TEST_F(MetricsIntegrationTest, PricesChangeOnReload) {
  const std::string series =
      R"(switchyard_cost_usd_total{route="priced",provider="a",model="fake-model"})";
  // The registry is the process's: other tests' requests may have counted already.
  double before = sample(scrape(gateway_->port()), series);
  if (std::isnan(before)) before = 0;
  Client c(gateway_->port());
  ASSERT_EQ(c.post("/v1/chat/completions", chat("priced")).status, 200u);
  const double first = sample(scrape(gateway_->port()), series) - before;
  ASSERT_GT(first, 0);

  writeConfig(1000.0);
  Reply reload = fakes::post(gateway_->port(), "/admin/reload", "",
                             {{"Authorization", "Bearer " + std::string(kAdminKey)}});
  ASSERT_EQ(reload.status, 200u) << reload.body;
  ASSERT_EQ(c.post("/v1/chat/completions", chat("priced")).status, 200u);
  const double second = sample(scrape(gateway_->port()), series) - first - before;
  // The same request, now at 1000× the input price.
  EXPECT_NEAR(second / first, 1000.0, 1e-3) << first << " then " << second;
}

#ifdef SY_LLAMA_DIR
TEST(EngineMetricsIntegrationTest, LocalModelGauges) {
  (void)setupLogging({"error", LogFormat::kText, ""});
  config::Config cfg = fakes::testConfig();
  config::ModelConfig m = fakes::localModel(
      "tiny",
      fakes::makeTinyModel(fakes::tinyModelSpec(
          (std::filesystem::path(::testing::TempDir()) / "metrics-test.gguf").string())),
      2);
  m.context_window = 512;
  cfg.providers = {fakes::localProvider({m})};
  auto gw = server::Gateway::create(std::move(cfg));
  ASSERT_TRUE(gw) << gw.error().toString();
  (*gw)->start();
  const unsigned short port = (*gw)->port();

  // Not loaded before the first request.
  std::string text = scrape(port);
  EXPECT_EQ(sample(text, R"(switchyard_engine_model_loaded{provider="local",model="tiny"})"), 0)
      << text;

  Client c(port);
  std::string prompt;
  for (int i = 0; i < 20; ++i) prompt += "The quick brown fox jumps over the lazy dog. ";
  const std::string body = R"({"model":"tiny","max_tokens":5,"ignore_eos":true,"temperature":0,)"
                           R"("messages":[{"role":"user","content":")" + prompt + R"("}]})";
  ASSERT_EQ(c.post("/v1/chat/completions", body).status, 200u);
  Reply second = c.post("/v1/chat/completions", body);  // the same prompt: a prompt-cache hit
  ASSERT_EQ(second.status, 200u) << second.body;

  text = scrape(port);
  auto engine = [&](const std::string& name) {
    return sample(text, name + R"({provider="local",model="tiny"})");
  };
  EXPECT_EQ(engine("switchyard_engine_model_loaded"), 1);
  EXPECT_EQ(engine("switchyard_engine_queue_depth"), 0);
  EXPECT_EQ(engine("switchyard_engine_active_sequences"), 0);
  EXPECT_EQ(engine("switchyard_engine_generated_tokens_total"), 10);
  EXPECT_EQ(engine("switchyard_engine_kv_cache_size_cells"), 512);
  // Finished sequences keep their tokens cached for the next request with the same prefix.
  EXPECT_GT(engine("switchyard_engine_kv_cache_used_cells"), 100);
  EXPECT_NEAR(engine("switchyard_engine_kv_cache_usage_ratio"),
              engine("switchyard_engine_kv_cache_used_cells") / 512.0, 1e-9);
  EXPECT_EQ(engine("switchyard_engine_prompt_cache_hits_total"), 1);
  EXPECT_GT(engine("switchyard_engine_prompt_cached_tokens_total"), 100);
  // The second request took its own idle sequence's KV, not another's.
  EXPECT_EQ(engine("switchyard_engine_shared_prefix_tokens_total"), 0);
  EXPECT_GE(engine("switchyard_engine_generation_tokens_per_second"), 0);
  // Step time splits into the forward pass, sampling and the rest.
  const double step = engine("switchyard_engine_step_seconds_total");
  const double forward = engine("switchyard_engine_decode_seconds_total");
  const double sampling = engine("switchyard_engine_sample_seconds_total");
  EXPECT_GT(forward, 0);
  EXPECT_GT(sampling, 0);
  EXPECT_GE(step, forward + sampling);
  EXPECT_NE(text.find("# TYPE switchyard_engine_generated_tokens_total counter\n"),
            std::string::npos);
  // The request-level prompt-cache counter agrees.
  EXPECT_EQ(sample(text, R"(switchyard_prompt_cache_hits_total{provider="local",model="tiny"})"),
            1);
}
#endif

}  // namespace
}  // namespace switchyard
