// Reports over a request log written by RequestLog, on SQLite and on a real PostgreSQL.

#include "switchyard/telemetry/report.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>

#include "switchyard/store/testing/postgres_test_server.h"
#include "switchyard/telemetry/request_log.h"

namespace switchyard::telemetry {
namespace {

namespace json = boost::json;

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

config::Config reportConfig() {
  config::Config c;
  config::ProviderConfig oai;
  oai.name = "oai";
  oai.kind = "openai";
  config::ProviderConfig local;
  local.name = "local";
  local.kind = "local";
  c.providers = {oai, local};
  config::PriceConfig hw;
  hw.provider = "local";
  hw.hourly_usd = 3.6;
  c.prices = {hw};
  return c;
}

class ReportTest : public ::testing::TestWithParam<std::string> {
 protected:
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
      auto db = store::openDatabase(url_);
      ASSERT_TRUE(db);
      ASSERT_TRUE((*db)->execScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public").isOk());
    } else {
      path_ = std::filesystem::temp_directory_path() /
              ("sy_report_" + std::to_string(::getpid()) + ".db");
      for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + s);
      url_ = "sqlite://" + path_.string();
    }
    auto db = store::openDatabase(url_);
    ASSERT_TRUE(db);
    auto log = RequestLog::open(std::move(*db), {}, registry_);
    ASSERT_TRUE(log) << log.error().toString();
    const PriceTable prices(config_);
    auto add = [&](std::string id, std::string provider, std::string model, std::string key,
                   int status, std::int64_t prompt, std::int64_t completion, bool stream,
                   double total_ms, double ttft_ms) {
      RequestRecord r;
      r.ts_ms = nowMs() - 1000;
      r.request_id = std::move(id);
      r.endpoint = "chat";
      r.format = "openai";
      r.provider = std::move(provider);
      r.model = std::move(model);
      r.key_id = std::move(key);
      r.team = "search";
      r.route = "fast";
      r.status = status;
      r.stream = stream;
      r.total_ms = total_ms;
      r.ttft_ms = ttft_ms;
      r.overhead_ms = 0.0;
      r.usage.prompt_tokens = prompt;
      r.usage.completion_tokens = completion;
      r.cost_usd = prices.cost(r.provider, r.model, r.usage);
      ASSERT_TRUE((*log)->enqueue(std::move(r)));
    };
    // Two gpt-4o calls at $0.0075 each (1000 * 2.50 + 500 * 10 per 1M).
    add("c1", "oai", "gpt-4o", "k1", 200, 1000, 500, false, 800, 800);
    add("c2", "oai", "gpt-4o", "k2", 200, 1000, 500, false, 900, 900);
    add("c3", "oai", "gpt-4o", "k2", 500, 0, 0, false, 50, 0);
    // A local stream: 1000 tokens decoded in 10 s (100 tokens/s).
    add("l1", "local", "tiny", "k1", 200, 100, 1000, true, 10'500, 500);
    ASSERT_TRUE((*log)->enqueueFeedback({nowMs(), "c1", 1.0, "good", ""}));
    ASSERT_TRUE((*log)->enqueueFeedback({nowMs(), "c2", 0.0, "bad", ""}));
    (*log)->flush();
    db_ = store::openDatabase(url_).value();
  }
  void TearDown() override {
    db_.reset();
    if (!path_.empty()) {
      for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + s);
    }
  }

  json::value report(ReportOptions options) {
    options.since_ms = nowMs() - 3'600'000;
    options.json = true;
    const PriceTable prices(config_);
    auto out = runReport(*db_, config_, prices, options);
    EXPECT_TRUE(out) << out.error().toString();
    return out ? json::parse(*out) : json::value();
  }

  config::Config config_ = reportConfig();
  Registry registry_;
  std::string url_;
  std::filesystem::path path_;
  store::DatabasePtr db_;
};

TEST_P(ReportTest, UsageGroupsByModelKeyTeamRouteWithFeedback) {
  auto doc = report({.kind = "usage"});
  const auto& models = doc.at("by_model").as_array();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].at("model"), "oai/gpt-4o");  // most expensive first
  EXPECT_EQ(models[0].at("requests").to_number<std::int64_t>(), 3);
  EXPECT_EQ(models[0].at("errors").to_number<std::int64_t>(), 1);
  EXPECT_EQ(models[0].at("prompt_tokens").to_number<std::int64_t>(), 2000);
  EXPECT_NEAR(models[0].at("cost_usd").to_number<double>(), 0.015, 1e-12);
  EXPECT_EQ(models[0].at("feedback").to_number<std::int64_t>(), 2);
  EXPECT_DOUBLE_EQ(models[0].at("avg_score").to_number<double>(), 0.5);
  EXPECT_EQ(models[1].at("model"), "local/tiny");
  EXPECT_TRUE(models[1].at("avg_score").is_null());
  const auto& keys = doc.at("by_key").as_array();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(doc.at("by_team").as_array()[0].at("requests").to_number<std::int64_t>(), 4);
  EXPECT_EQ(doc.at("by_route").as_array().size(), 1u);

  auto one = report({.kind = "cost", .by = "key"});
  EXPECT_FALSE(one.as_object().contains("by_model"));
  EXPECT_EQ(one.at("by_key").as_array().size(), 2u);
}

TEST_P(ReportTest, TcoComparesBothWaysWithBreakEven) {
  auto doc = report({.kind = "tco"});
  const auto& cloud = doc.at("cloud");
  EXPECT_EQ(cloud.at("requests").to_number<std::int64_t>(), 2);  // errors excluded
  EXPECT_NEAR(cloud.at("api_cost_usd").to_number<double>(), 0.015, 1e-12);
  // 1000 completion tokens at the measured 100 tokens/s = 10 s at $3.60/h.
  EXPECT_NEAR(cloud.at("self_hosted_cost_usd").to_number<double>(), 0.01, 1e-9);
  const auto& local = doc.at("local");
  EXPECT_EQ(local.at("requests").to_number<std::int64_t>(), 1);
  // Through gpt-4o-mini: 100 * 0.15 + 1000 * 0.60 per 1M.
  EXPECT_NEAR(local.at("api_cost_usd").to_number<double>(), 0.000615, 1e-12);
  EXPECT_NEAR(doc.at("hardware").at("tokens_per_second").to_number<double>(), 100, 1e-9);
  EXPECT_EQ(doc.at("hardware").at("tokens_per_second_source"), "measured from the log");
  // $3.60 * 730 h / ($0.015 / 3000 tokens).
  EXPECT_NEAR(doc.at("break_even_tokens_per_month").to_number<double>(), 525'600'000, 1e-3);
  EXPECT_NEAR(doc.at("machine_output_tokens_per_month").to_number<double>(), 262'800'000, 1e-3);
}

TEST_P(ReportTest, TextTablesAndBadOptions) {
  ReportOptions options;
  options.kind = "cost";
  options.since_ms = nowMs() - 3'600'000;
  const PriceTable prices(config_);
  auto text = runReport(*db_, config_, prices, options);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("By model:\n"
                       "model       requests     cost   share  per 1k requests  cached tokens\n"
                       "----------  --------  -------  ------  ---------------  -------------\n"
                       "oai/gpt-4o         3  $0.0150  100.0%            $5.00              0\n"),
            std::string::npos)
      << *text;
  options.kind = "tco";
  auto tco = runReport(*db_, config_, prices, options);
  ASSERT_TRUE(tco);
  EXPECT_NE(tco->find("Break-even: self-hosting costs less than the API above 525,600,000"),
            std::string::npos)
      << *tco;
  options.kind = "spend";
  EXPECT_FALSE(runReport(*db_, config_, prices, options));
  options.kind = "usage";
  options.by = "colour";
  EXPECT_FALSE(runReport(*db_, config_, prices, options));
}

INSTANTIATE_TEST_SUITE_P(Stores, ReportTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(ParseSinceTest, Periods) {
  EXPECT_EQ(*parseSince("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(*parseSince("24h"), 86'400'000LL);
  EXPECT_EQ(*parseSince("30m"), 1'800'000LL);
  EXPECT_EQ(*parseSince("2w"), 14 * 86'400'000LL);
  EXPECT_FALSE(parseSince("7"));
  EXPECT_FALSE(parseSince("d"));
  EXPECT_FALSE(parseSince("-1d"));
  EXPECT_FALSE(parseSince("7y"));
}

}  // namespace
}  // namespace switchyard::telemetry
