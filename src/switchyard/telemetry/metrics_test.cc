#include "switchyard/telemetry/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace switchyard::telemetry {
namespace {

TEST(MetricsTest, RendersCountersWithEscapedLabelsAndHelp) {
  Registry r;
  auto& requests = r.counter("sy_requests_total", "Requests.\nBy \\route.", {"route", "code"});
  requests.with({"a\"b\\c\nd", "200"}).inc();
  requests.with({"a\"b\\c\nd", "200"}).inc(2);
  requests.with({"fast", "500"}).inc();
  r.gauge("sy_up", "Up.").with({}).set(1);
  EXPECT_EQ(r.render(),
            "# HELP sy_requests_total Requests.\\nBy \\\\route.\n"
            "# TYPE sy_requests_total counter\n"
            "sy_requests_total{route=\"a\\\"b\\\\c\\nd\",code=\"200\"} 3\n"
            "sy_requests_total{route=\"fast\",code=\"500\"} 1\n"
            "# HELP sy_up Up.\n"
            "# TYPE sy_up gauge\n"
            "sy_up 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.histogram("sy_latency_seconds", "Latency.", {"route"}, {0.125, 0.5, 1});
  auto& fast = h.with({"fast"});
  for (double v : {0.0625, 0.125, 0.25, 2.0}) fast.observe(v);  // 0.125 is le="0.125"
  EXPECT_EQ(r.render(),
            "# HELP sy_latency_seconds Latency.\n"
            "# TYPE sy_latency_seconds histogram\n"
            "sy_latency_seconds_bucket{route=\"fast\",le=\"0.125\"} 2\n"
            "sy_latency_seconds_bucket{route=\"fast\",le=\"0.5\"} 3\n"
            "sy_latency_seconds_bucket{route=\"fast\",le=\"1\"} 3\n"
            "sy_latency_seconds_bucket{route=\"fast\",le=\"+Inf\"} 4\n"
            "sy_latency_seconds_sum{route=\"fast\"} 2.4375\n"
            "sy_latency_seconds_count{route=\"fast\"} 4\n");
}

TEST(MetricsTest, SameNameReturnsTheSameFamilyAndChildrenAreStable) {
  Registry r;
  auto& a = r.counter("sy_x_total", "X.", {"k"});
  auto& b = r.counter("sy_x_total", "X.", {"k"});
  EXPECT_EQ(&a, &b);
  Counter* child = &a.with({"v"});
  for (int i = 0; i < 100; ++i) a.with({std::to_string(i)}).inc();
  EXPECT_EQ(child, &a.with({"v"}));
}

TEST(MetricsTest, CallbacksReportAtScrapeTimeUntilTheHandleGoes) {
  Registry r;
  int depth = 3;
  {
    auto handle = r.callback("sy_queue_depth", "Queued.", MetricType::kGauge, {"model"},
                             [&] { return std::vector<Sample>{{{"m"}, double(depth)}}; });
    EXPECT_NE(r.render().find("sy_queue_depth{model=\"m\"} 3\n"), std::string::npos);
    depth = 5;
    EXPECT_NE(r.render().find("sy_queue_depth{model=\"m\"} 5\n"), std::string::npos);
    EXPECT_NE(r.render().find("# TYPE sy_queue_depth gauge\n"), std::string::npos);
  }
  EXPECT_EQ(r.render(), "");
}

TEST(MetricsTest, SeveralCallbacksFeedOneFamilyNewestWinsOnEqualLabels) {
  Registry r;
  auto old_feed = r.callback("sy_engine_queue_depth", "Queued.", MetricType::kGauge,
                             {"provider", "model"}, [] {
                               return std::vector<Sample>{{{"local", "a"}, 1}, {{"local", "b"}, 2}};
                             });
  {
    auto new_feed = r.callback("sy_engine_queue_depth", "Queued.", MetricType::kGauge,
                               {"provider", "model"}, [] {
                                 return std::vector<Sample>{{{"local", "b"}, 7},
                                                            {{"other", "c"}, 3}};
                               });
    const std::string text = r.render();
    EXPECT_EQ(text,
              "# HELP sy_engine_queue_depth Queued.\n"
              "# TYPE sy_engine_queue_depth gauge\n"
              "sy_engine_queue_depth{provider=\"local\",model=\"a\"} 1\n"
              "sy_engine_queue_depth{provider=\"local\",model=\"b\"} 7\n"
              "sy_engine_queue_depth{provider=\"other\",model=\"c\"} 3\n");
  }
  // The newer feed is gone: the older one reports alone again.
  EXPECT_NE(r.render().find("sy_engine_queue_depth{provider=\"local\",model=\"b\"} 2\n"),
            std::string::npos);
  old_feed = {};
  EXPECT_EQ(r.render(), "");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& c = r.counter("sy_c_total", "C.", {"t"});
  auto& h = r.histogram("sy_h", "H.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10'000; ++i) {
        c.with({i % 2 ? "odd" : "even"}).inc();
        h.with({}).observe(t);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.with({"odd"}).value() + c.with({"even"}).value(), 40'000);
  EXPECT_EQ(h.with({}).count(), 40'000u);
  EXPECT_EQ(h.with({}).sum(), 10'000.0 * (0 + 1 + 2 + 3));
}

}  // namespace
}  // namespace switchyard::telemetry
