#include "switchyard/eval/suite.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchyard::eval {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::string_view kSuite = R"(name: qa
targets:
  - fast
  - name: big
    model: up/fake-model
    price: {input_per_1m: 1.5, output_per_1m: 2}
prompt:
  - role: system
    content: Be brief.
  - role: user
    content: "{{question}}"
request: {temperature: 0, max_tokens: 32}
judge: local/tiny
defaults:
  - type: latency
    threshold: 5000
cases:
  - id: capital
    category: geo
    tags: [easy, "task=qa"]
    vars: {question: "Capital of France?", city: Paris}
    assert:
      - type: icontains
        value: "{{city}}"
        weight: 2
      - type: contains-all
        values: [a, b]
)";

TEST(SuiteTest, ParsesTargetsPromptDefaultsAndInlineCases) {
  auto s = parseSuite(kSuite, "qa.yaml");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->name, "qa");
  ASSERT_EQ(s->targets.size(), 2u);
  EXPECT_EQ(s->targets[0].name, "fast");
  EXPECT_EQ(s->targets[0].model, "fast");
  EXPECT_EQ(s->targets[1].model, "up/fake-model");
  EXPECT_DOUBLE_EQ(s->targets[1].input_per_1m, 1.5);
  EXPECT_EQ(s->request.at("max_tokens").as_int64(), 32);
  EXPECT_EQ(s->judge, "local/tiny");

  auto src = CaseSource::open(*s);
  ASSERT_TRUE(src);
  auto c = (*src)->next();
  ASSERT_TRUE(c && *c) << (c ? "" : c.error().message());
  const Case& k = **c;
  EXPECT_EQ(k.id, "capital");
  EXPECT_EQ(k.category, "geo");
  EXPECT_EQ(k.tags, (std::vector<std::string>{"easy", "task=qa"}));
  ASSERT_EQ(k.messages.size(), 2u);
  EXPECT_EQ(k.messages[1].content, "Capital of France?");
  ASSERT_EQ(k.asserts.size(), 3u);  // two own + the default
  EXPECT_EQ(k.asserts[0].type, "icontains");
  EXPECT_EQ(k.asserts[0].values, std::vector<std::string>{"Paris"});
  EXPECT_DOUBLE_EQ(k.asserts[0].weight, 2);
  EXPECT_EQ(k.asserts[1].type, "contains");
  EXPECT_TRUE(k.asserts[1].all);
  EXPECT_EQ(k.asserts[2].type, "latency");
  EXPECT_DOUBLE_EQ(k.asserts[2].threshold, 5000);
  auto end = (*src)->next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->has_value());
}

TEST(SuiteTest, ErrorsNameFileLineAndKey) {
  auto s = parseSuite("name: x\ntargets: [a]\ncases:\n  - vars: {q: 1}\n    asert: []\n", "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("s.yaml:4: cases.asert: unknown key"), std::string::npos)
      << s.error().message();

  s = parseSuite("targets: [a]\nprompt: hi\ncases:\n  - assert:\n      - type: contanes\n",
                 "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("s.yaml:4: assert.type: unknown assertion type 'contanes'"),
            std::string::npos)
      << s.error().message();

  s = parseSuite("targets: [a]\nprompt: hi\ncases:\n  - assert: [{type: regex, value: '(('}]\n",
                 "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("bad regex"), std::string::npos) << s.error().message();

  s = parseSuite("prompt: hi\ncases:\n  - assert: [is-json]\n", "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("targets: at least one target"), std::string::npos);

  s = parseSuite("targets: [a]\nrepeats: 0\nprompt: hi\ncases:\n  - assert: [is-json]\n", "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("s.yaml:2: repeats:"), std::string::npos)
      << s.error().message();

  s = parseSuite("targets: [a]\nprompt: hi\ncases:\n  - assert: [{type: latency}]\n", "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("latency needs a threshold"), std::string::npos);

  s = parseSuite("targets: [a]\nbogus: 1\n", "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("s.yaml:2: bogus: unknown key"), std::string::npos);

  s = parseSuite("targets: [a, a]\nprompt: hi\ncases:\n  - assert: [is-json]\n", "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("duplicate target"), std::string::npos);
}

// YAML that parses but has no JSON form, or expands past any sane size, is an error at its line,
// not an exception out of the loader (the eval fuzzer found the first).
TEST(SuiteTest, ComplexKeysAndAliasBombsAreErrors) {
  auto s = parseSuite("targets: [a]\n? [x, y]\n: mmlu\n", "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "s.yaml:2: keys must be plain strings");

  s = parseSuite("targets: [a]\nprompt: hi\ncases:\n  - vars:\n      ? {q: 1}\n      : 2\n",
                 "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "s.yaml:5: keys must be plain strings");

  // Ten levels of ten aliases each: 10^10 values once expanded, from a dozen lines.
  std::string bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 10; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    bomb += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) bomb += (j ? ", " : "") + prev;
    bomb += "]\n";
  }
  s = parseSuite(
      "targets: [a]\nprompt: hi\ncases:\n  - vars:\n" +
          [&] {
            std::string indented;
            std::istringstream lines(bomb);
            for (std::string line; std::getline(lines, line);) indented += "      " + line + "\n";
            return indented;
          }(),
      "s.yaml");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("more than 1000000 values once its aliases are expanded"),
            std::string::npos)
      << s.error().message();
}

TEST(SuiteTest, RenderTemplate) {
  json::object vars{{"a", "x"}, {"n", 3}};
  EXPECT_EQ(renderTemplate("{{a}}-{{ n }}-{{missing}}-{{", vars), "x-3-{{missing}}-{{");
}

TEST(SuiteTest, CsvReaderHandlesQuotesAndNewlines) {
  std::istringstream in("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n1,,3");
  std::vector<std::string> f;
  std::int64_t line = 0;
  ASSERT_TRUE(readCsvRecord(in, f, line));
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(readCsvRecord(in, f, line));
  EXPECT_EQ(f, (std::vector<std::string>{"x, y", "say \"hi\"", "two\nlines"}));
  EXPECT_EQ(line, 3);
  ASSERT_TRUE(readCsvRecord(in, f, line));
  EXPECT_EQ(f, (std::vector<std::string>{"1", "", "3"}));
  EXPECT_FALSE(readCsvRecord(in, f, line));
}

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("eval-suite-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  Result<Suite> suite(const std::string& yaml) {
    write("suite.yaml", yaml);
    return loadSuite((dir_ / "suite.yaml").string());
  }
  std::vector<Case> all(const Suite& s) {
    std::vector<Case> out;
    auto src = CaseSource::open(s);
    EXPECT_TRUE(src);
    for (;;) {
      auto c = (*src)->next();
      EXPECT_TRUE(c) << (c ? "" : c.error().message());
      if (!c || !*c) break;
      out.push_back(std::move(**c));
    }
    return out;
  }
  fs::path dir_;
};

TEST_F(DatasetTest, JsonlRowsBecomeVariables) {
  write("data.jsonl", "{\"id\":\"one\",\"q\":\"2+2?\",\"a\":\"4\",\"category\":\"math\"}\n\n"
                      "{\"q\":\"3+3?\",\"a\":\"6\"}\n");
  auto s = suite("targets: [m]\nprompt: '{{q}}'\ndataset: data.jsonl\n"
                 "defaults:\n  - {type: equals, value: '{{a}}'}\n");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(countCases(*s), 2);
  auto cases = all(*s);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].id, "one");
  EXPECT_EQ(cases[0].category, "math");
  EXPECT_EQ(cases[0].messages[0].content, "2+2?");
  EXPECT_EQ(cases[0].asserts[0].value, "4");
  EXPECT_EQ(cases[1].id, "case-1");
  EXPECT_EQ(cases[1].index, 1);
  EXPECT_EQ(cases[1].asserts[0].value, "6");
}

TEST_F(DatasetTest, JsonlErrorsNameTheLine) {
  write("data.jsonl", "{\"q\":\"a\"}\nnot json\n");
  auto s = suite("targets: [m]\nprompt: '{{q}}'\ndataset: data.jsonl\ndefaults: [is-json]\n");
  ASSERT_TRUE(s);
  auto src = CaseSource::open(*s);
  ASSERT_TRUE((*src)->next());
  auto bad = (*src)->next();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("data.jsonl:2"), std::string::npos);
}

TEST_F(DatasetTest, MmluCsvImport) {
  write("mmlu.csv", "question,A,B,C,D,answer,subject\n\"Largest planet?\",Mars,Jupiter,Venus,"
                    "Earth,B,astronomy\nH2O is?,water,salt,iron,gold,0,chemistry\n");
  auto s = suite("targets: [m]\ndataset: {path: mmlu.csv, import: mmlu}\n");
  ASSERT_TRUE(s) << s.error().message();
  auto cases = all(*s);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].category, "astronomy");
  EXPECT_NE(cases[0].messages[0].content.find("B. Jupiter"), std::string::npos);
  ASSERT_EQ(cases[0].asserts.size(), 1u);
  EXPECT_EQ(cases[0].asserts[0].type, "choice");
  EXPECT_EQ(cases[0].asserts[0].value, "B");
  EXPECT_EQ(cases[1].asserts[0].value, "A");
}

TEST_F(DatasetTest, Gsm8kAndHumanEvalImports) {
  write("gsm.jsonl", R"({"question":"Sum of 1000 and 234?","answer":"1000+234=1234\n#### 1,234"})"
                     "\n");
  auto s = suite("targets: [m]\ndataset: {path: gsm.jsonl, import: gsm8k}\n");
  ASSERT_TRUE(s) << s.error().message();
  auto cases = all(*s);
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].asserts[0].type, "numeric");
  EXPECT_EQ(cases[0].asserts[0].value, "1234");
  EXPECT_EQ(cases[0].category, "math");

  write("he.jsonl", R"({"task_id":"HE/0","prompt":"def add(a, b):\n","test":"def check(f):\n    assert f(1, 2) == 3\n","entry_point":"add"})"
                    "\n");
  s = suite("targets: [m]\ndataset: {path: he.jsonl, import: humaneval}\n");
  ASSERT_TRUE(s) << s.error().message();
  cases = all(*s);
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].id, "HE/0");
  EXPECT_EQ(cases[0].asserts[0].type, "code-tests");
  EXPECT_EQ(cases[0].code_entry_point, "add");

  write("bad.jsonl", R"({"question":"x"})" "\n");
  s = suite("targets: [m]\ndataset: {path: bad.jsonl, import: gsm8k}\n");
  ASSERT_TRUE(s);
  auto src = CaseSource::open(*s);
  auto c = (*src)->next();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("bad.jsonl:1: gsm8k: a record needs"), std::string::npos);
}

TEST_F(DatasetTest, MissingDatasetIsAnError) {
  auto s = suite("targets: [m]\ndataset: nope.jsonl\n");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("suite.yaml:2: dataset.path: no such file"),
            std::string::npos)
      << s.error().message();
}

}  // namespace
}  // namespace switchyard::eval

namespace switchyard::eval {
namespace {

// The suites in examples/eval load and every case builds.
TEST(ExamplesTest, EveryExampleSuiteLoads) {
  const std::filesystem::path dir = std::filesystem::path(SY_SOURCE_DIR) / "examples" / "eval";
  int suites = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++suites;
    auto s = loadSuite(entry.path().string());
    ASSERT_TRUE(s) << s.error().message();
    auto src = CaseSource::open(*s);
    ASSERT_TRUE(src);
    int n = 0;
    for (;;) {
      auto c = (*src)->next();
      ASSERT_TRUE(c) << c.error().message();
      if (!*c) break;
      ++n;
    }
    EXPECT_GT(n, 1) << entry.path();
    EXPECT_EQ(n, countCases(*s)) << entry.path();
  }
  EXPECT_EQ(suites, 4);
}

}  // namespace
}  // namespace switchyard::eval
