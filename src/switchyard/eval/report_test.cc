#include "switchyard/eval/report.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <sstream>

namespace switchyard::eval {
namespace {

namespace json = boost::json;
namespace pt = boost::property_tree;

// Parses XML (throws on malformed input); HTML is checked after dropping its doctype line.
pt::ptree parseXml(std::string text) {
  if (text.starts_with("<!DOCTYPE html>")) text = text.substr(text.find('\n') + 1);
  std::istringstream in(text);
  pt::ptree tree;
  pt::read_xml(in, tree);
  return tree;
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = EvalStore::open("sqlite::memory:");
    ASSERT_TRUE(opened);
    store_ = std::move(*opened);
    for (std::string id : {"base", "cur"}) {
      RunInfo r;
      r.id = id;
      r.suite = "qa <suite>";
      r.suite_path = "/qa.yaml";
      r.started_at = nowIso8601();
      r.status = "done";
      r.targets = "[]";
      r.options = "{}";
      r.baseline = id == "cur" ? "base" : "";
      ASSERT_TRUE(store_->createRun(r).isOk());
    }
    std::vector<ResultRecord> batch;
    for (int i = 0; i < 3; ++i) {
      for (std::string run : {"base", "cur"}) {
        for (std::string target : {"local", "cloud"}) {
          ResultRecord r;
          r.run_id = run;
          r.case_idx = i;
          r.case_id = "case & " + std::to_string(i);
          r.category = i == 2 ? "math" : "geo";
          r.task_type = r.category;
          r.target = target;
          r.passed = !(run == "cur" && target == "local" && i == 1);
          r.score = r.passed ? 1 : 0;
          r.output.text = "answer <b>" + std::to_string(i) + "</b>\x01";
          r.output.latency_ms = 10 + i;
          r.output.cost_usd = target == "cloud" ? 0.002 : 0;
          r.assertions = {{"equals", r.passed, r.score, 1, r.passed ? "" : "expected \"x\""}};
          batch.push_back(r);
        }
      }
    }
    ASSERT_TRUE(store_->write(batch).isOk());
  }

  std::string report(ReportFormat f) {
    std::ostringstream out;
    auto s = writeReport(*store_, "cur", f, out);
    EXPECT_TRUE(s.isOk()) << s.message();
    return out.str();
  }

  std::unique_ptr<EvalStore> store_;
};

TEST_F(ReportTest, TableShowsTargetsBaselineAndFailures) {
  const std::string t = report(ReportFormat::kTable);
  EXPECT_NE(t.find("local"), std::string::npos);
  EXPECT_NE(t.find("66.7%"), std::string::npos) << t;
  EXPECT_NE(t.find("1 regressed"), std::string::npos) << t;
  EXPECT_NE(t.find("REGRESSED case & 1 on local"), std::string::npos) << t;
  EXPECT_NE(t.find("FAIL case & 1 [local] equals: expected \"x\""), std::string::npos) << t;
}

TEST_F(ReportTest, JsonIsValidAndComplete) {
  const auto v = json::parse(report(ReportFormat::kJson));
  EXPECT_EQ(v.at("run").at("id"), "cur");
  EXPECT_EQ(v.at("targets").as_array().size(), 2u);
  EXPECT_EQ(v.at("outputs").as_array().size(), 6u);
  EXPECT_EQ(v.at("baseline").at("regressions").as_int64(), 1);
  EXPECT_EQ(v.at("baseline").at("regressed").at(0).at("case"), "case & 1");
}

TEST_F(ReportTest, JunitIsWellFormedWithFailures) {
  const std::string x = report(ReportFormat::kJunit);
  pt::ptree tree;
  ASSERT_NO_THROW(tree = parseXml(x)) << x;
  const auto& suites = tree.get_child("testsuites");
  EXPECT_EQ(suites.get<int>("<xmlattr>.tests"), 6);
  EXPECT_EQ(suites.get<int>("<xmlattr>.failures"), 1);
  int failures = 0;
  for (const auto& [name, tc] : suites.get_child("testsuite")) {
    if (name != "testcase") continue;
    if (auto f = tc.get_child_optional("failure")) {
      ++failures;
      EXPECT_EQ(f->get<std::string>("<xmlattr>.type"), "regression");
    }
  }
  EXPECT_EQ(failures, 1);
}

TEST_F(ReportTest, HtmlIsSelfContainedWellFormedWithCharts) {
  const std::string h = report(ReportFormat::kHtml);
  pt::ptree tree;
  ASSERT_NO_THROW(tree = parseXml(h)) << h;
  EXPECT_EQ(h.find("http://") , h.find("http://www.w3.org/2000/svg"));  // no external links
  EXPECT_EQ(h.find("<script src"), std::string::npos);
  EXPECT_EQ(h.find("<link"), std::string::npos);
  EXPECT_NE(h.find("Pass rate per target"), std::string::npos);
  EXPECT_NE(h.find("Pass rate per category"), std::string::npos);
  EXPECT_NE(h.find("Latency per target"), std::string::npos);
  EXPECT_NE(h.find("Cost per target"), std::string::npos);
  EXPECT_NE(h.find("<td>math</td><td>cloud</td><td>1</td><td>100.0%</td><td>1.000</td><td>12</td>"
                   "<td>$0.002000</td>"),
            std::string::npos);
  EXPECT_NE(h.find("(regressed)"), std::string::npos);
  EXPECT_NE(h.find("answer &lt;b&gt;1&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(h.find('\x01'), std::string::npos);
}

TEST_F(ReportTest, UnknownRunAndFormat) {
  std::ostringstream out;
  auto s = writeReport(*store_, "nope", ReportFormat::kTable, out);
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_FALSE(parseReportFormat("pdf"));
  EXPECT_EQ(*parseReportFormat("junit"), ReportFormat::kJunit);
}

}  // namespace
}  // namespace switchyard::eval

namespace switchyard::eval {
namespace {

TEST(XmlEscapeTest, EscapesAndDropsControlCharacters) {
  EXPECT_EQ(xmlEscape("a<b>&\"'\x02\n"), "a&lt;b&gt;&amp;&quot;&#39;\n");
}

}  // namespace
}  // namespace switchyard::eval
