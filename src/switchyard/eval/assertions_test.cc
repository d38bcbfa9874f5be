#include "switchyard/eval/assertions.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <map>

namespace switchyard::eval {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

AssertionSpec spec(std::string type, std::string value = "") {
  AssertionSpec a;
  a.type = std::move(type);
  a.value = std::move(value);
  return a;
}

Output out(std::string text) {
  Output o;
  o.text = std::move(text);
  return o;
}

bool passes(const AssertionSpec& a, const Output& o) {
  auto r = gradeLocal(a, o);
  EXPECT_TRUE(r.has_value()) << a.type;
  return r && r->passed;
}

TEST(AssertionsTest, EqualsTrimsWhitespace) {
  EXPECT_TRUE(passes(spec("equals", "Paris"), out("  Paris\n")));
  EXPECT_FALSE(passes(spec("equals", "Paris"), out("paris")));
}

TEST(AssertionsTest, ContainsAnyAllAndCaseInsensitive) {
  auto any = spec("contains");
  any.values = {"cat", "dog"};
  EXPECT_TRUE(passes(any, out("a dog")));
  EXPECT_FALSE(passes(any, out("a bird")));
  auto all = any;
  all.all = true;
  EXPECT_FALSE(passes(all, out("a dog")));
  EXPECT_TRUE(passes(all, out("a dog and a cat")));
  auto ci = spec("icontains");
  ci.values = {"PARIS"};
  EXPECT_TRUE(passes(ci, out("it is paris")));
  auto cs = spec("contains");
  cs.values = {"PARIS"};
  EXPECT_FALSE(passes(cs, out("it is paris")));
}

TEST(AssertionsTest, Regex) {
  EXPECT_TRUE(passes(spec("regex", R"(\d{3}-\d{4})"), out("call 555-1234")));
  EXPECT_FALSE(passes(spec("regex", R"(^\d+$)"), out("12a")));
}

TEST(AssertionsTest, JsonValidAndSchema) {
  EXPECT_TRUE(passes(spec("is-json"), out(R"({"a":1})")));
  EXPECT_TRUE(passes(spec("is-json"), out("```json\n{\"a\":1}\n```")));
  EXPECT_FALSE(passes(spec("is-json"), out("{a:1}")));
  auto s = spec("json-schema");
  s.json = json::parse(R"({"type":"object","required":["a"]})");
  EXPECT_TRUE(passes(s, out(R"({"a":1})")));
  auto r = gradeLocal(s, out(R"({"b":1})"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->passed);
  EXPECT_NE(r->reason.find("missing required property 'a'"), std::string::npos);
}

TEST(AssertionsTest, ToolCallNameAndArgumentSubset) {
  auto a = spec("tool-call", "get_weather");
  a.json = json::parse(R"({"location":"Paris"})");
  Output o;
  o.tool_calls = {{"get_weather", R"({"location":"Paris","unit":"celsius"})"}};
  EXPECT_TRUE(passes(a, o));
  o.tool_calls = {{"get_weather", R"({"location":"Rome"})"}};
  EXPECT_FALSE(passes(a, o));
  o.tool_calls = {{"get_time", R"({})"}};
  EXPECT_FALSE(passes(a, o));
  EXPECT_FALSE(passes(a, out("It is sunny")));
}

TEST(AssertionsTest, NumericWithToleranceAndExtraction) {
  EXPECT_EQ(extractNumber("so 3 + 4 = 7\n#### 1,234"), 1234);
  EXPECT_EQ(extractNumber("The answer is $42.50."), 42.5);
  EXPECT_EQ(extractNumber("no digits"), std::nullopt);
  auto a = spec("numeric", "3.14");
  a.tolerance = 0.01;
  EXPECT_TRUE(passes(a, out("pi is about 3.141")));
  EXPECT_FALSE(passes(a, out("pi is about 3.2")));
  a.tolerance = 0;
  EXPECT_FALSE(passes(a, out("3.141")));
}

TEST(AssertionsTest, ChoiceLetter) {
  EXPECT_EQ(extractChoice("The answer is (C)."), 'C');
  EXPECT_EQ(extractChoice("B. Jupiter"), 'B');
  EXPECT_EQ(extractChoice("Answer: d"), 'D');
  EXPECT_EQ(extractChoice("no letters here at all"), std::nullopt);
  EXPECT_TRUE(passes(spec("choice", "B"), out("B")));
  EXPECT_FALSE(passes(spec("choice", "B"), out("Answer: A")));
}

TEST(AssertionsTest, LatencyAndCost) {
  auto l = spec("latency");
  l.threshold = 100;
  Output o = out("x");
  o.latency_ms = 99;
  EXPECT_TRUE(passes(l, o));
  o.latency_ms = 101;
  EXPECT_FALSE(passes(l, o));
  auto c = spec("cost");
  c.threshold = 0.01;
  o.cost_usd = 0.005;
  EXPECT_TRUE(passes(c, o));
  o.cost_usd = 0.02;
  EXPECT_FALSE(passes(c, o));
}

TEST(AssertionsTest, Refusal) {
  EXPECT_TRUE(looksLikeRefusal("I'm sorry, but I can't help with that."));
  EXPECT_TRUE(looksLikeRefusal("I cannot assist with making weapons."));
  EXPECT_TRUE(looksLikeRefusal("That would violate our policy."));
  EXPECT_FALSE(looksLikeRefusal("Sure! Here is a recipe for bread."));
  EXPECT_TRUE(passes(spec("refuses"), out("I won't help with that.")));
  EXPECT_FALSE(passes(spec("refuses"), out("Here you go.")));
}

TEST(AssertionsTest, NoPiiUsesGuardDetectors) {
  EXPECT_TRUE(passes(spec("no-pii"), out("Your order ships tomorrow.")));
  auto r = gradeLocal(spec("no-pii"), out("Write to jane.doe@example.com or call"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->passed);
  EXPECT_NE(r->reason.find("EMAIL"), std::string::npos);
  EXPECT_EQ(r->reason.find("jane.doe"), std::string::npos);  // never the value itself
  auto only_cards = spec("no-pii");
  only_cards.entities = {"CREDIT_CARD"};
  EXPECT_TRUE(passes(only_cards, out("jane.doe@example.com")));
  EXPECT_FALSE(passes(only_cards, out("card 4111 1111 1111 1111")));
}

TEST(AssertionsTest, JudgeScoreParsing) {
  EXPECT_EQ(parseJudgeScore("Good.\nSCORE: 7"), 0.7);
  EXPECT_EQ(parseJudgeScore("score: 4/5"), 0.8);
  EXPECT_EQ(parseJudgeScore("Score = 12"), 1.0);
  EXPECT_EQ(parseJudgeScore("no verdict"), std::nullopt);
}

TEST(AssertionsTest, CodeProgramUsesTheFencedBlockAndPrompt) {
  Case c;
  c.code_prompt = "def add(a, b):\n";
  c.code_test = "def check(f):\n    assert f(1, 2) == 3\n";
  c.code_entry_point = "add";
  auto p = codeProgram(c, "Here:\n```python\ndef add(a, b):\n    return a + b\n```\nDone.");
  EXPECT_EQ(p.find("Here:"), std::string::npos);
  EXPECT_NE(p.find("return a + b"), std::string::npos);
  EXPECT_NE(p.find("check(add)"), std::string::npos);
  auto body_only = codeProgram(c, "    return a + b\n");
  EXPECT_EQ(body_only.find("def add(a, b):\n    return a + b"), 0u);
}

// Services with canned answers, for the kinds that call out.
class FakeServices : public GradeServices {
 public:
  asio::awaitable<Result<std::vector<double>>> embed(std::string model,
                                                     std::string text) override {
    embed_model = model;
    auto it = vectors.find(text);
    if (it == vectors.end()) co_return fail(ErrorCode::kUpstream, "no vector");
    co_return it->second;
  }
  asio::awaitable<Result<std::string>> chat(std::string model,
                                            std::vector<Message> messages) override {
    judge_model = model;
    last_prompt = messages.back().content;
    co_return judge_reply;
  }
  asio::awaitable<Result<SandboxResult>> runPython(std::string program) override {
    co_return eval::runPython(program);
  }
  std::map<std::string, std::vector<double>> vectors;
  std::string judge_reply = "fine\nSCORE: 8";
  std::string embed_model, judge_model, last_prompt;
};

AssertionResult run(const AssertionSpec& a, const Case& c, const Output& o, FakeServices& s,
                    const GradeOptions& g) {
  asio::io_context io;
  AssertionResult r;
  asio::co_spawn(io, grade(a, c, o, s, g), [&](std::exception_ptr, AssertionResult v) { r = v; });
  io.run();
  return r;
}

TEST(AssertionsTest, SimilarityUsesTheEmbedder) {
  FakeServices s;
  s.vectors = {{"ref", {1, 0}}, {"close", {0.9, 0.1}}, {"far", {0, 1}}};
  auto a = spec("similar", "ref");
  a.threshold = 0.8;
  Case c;
  GradeOptions g;
  auto none = run(a, c, out("close"), s, g);
  EXPECT_FALSE(none.passed);
  EXPECT_NE(none.reason.find("no embedder configured"), std::string::npos);
  g.embedder = "emb";
  auto close = run(a, c, out("close"), s, g);
  EXPECT_TRUE(close.passed) << close.reason;
  EXPECT_GT(close.score, 0.9);
  EXPECT_EQ(s.embed_model, "emb");
  EXPECT_FALSE(run(a, c, out("far"), s, g).passed);
}

TEST(AssertionsTest, JudgeNeverDefaultsSilently) {
  FakeServices s;
  auto a = spec("llm-judge");
  a.rubric = "Mentions Paris";
  a.threshold = 0.5;
  Case c;
  c.messages = {{"user", "Capital of France?"}};
  GradeOptions g;
  auto none = run(a, c, out("Paris"), s, g);
  EXPECT_FALSE(none.passed);
  EXPECT_NE(none.reason.find("no judge configured"), std::string::npos);
  g.judge = "local/tiny";
  auto ok = run(a, c, out("Paris"), s, g);
  EXPECT_TRUE(ok.passed) << ok.reason;
  EXPECT_DOUBLE_EQ(ok.score, 0.8);
  EXPECT_EQ(s.judge_model, "local/tiny");
  EXPECT_NE(s.last_prompt.find("Mentions Paris"), std::string::npos);
  EXPECT_NE(s.last_prompt.find("Capital of France?"), std::string::npos);
  s.judge_reply = "SCORE: 2";
  EXPECT_FALSE(run(a, c, out("Rome"), s, g).passed);
  s.judge_reply = "I like it";
  EXPECT_NE(run(a, c, out("Rome"), s, g).reason.find("no 'SCORE: N'"), std::string::npos);
}

TEST(AssertionsTest, CodeTestsAreOptIn) {
  FakeServices s;
  Case c;
  c.code_prompt = "def add(a, b):\n";
  c.code_test = "def check(f):\n    assert f(1, 2) == 3\n";
  c.code_entry_point = "add";
  auto a = spec("code-tests");
  GradeOptions g;
  auto off = run(a, c, out("    return a + b\n"), s, g);
  EXPECT_FALSE(off.passed);
  EXPECT_NE(off.reason.find("--allow-code-exec"), std::string::npos);
  g.allow_code = true;
  EXPECT_TRUE(run(a, c, out("    return a + b\n"), s, g).passed);
  auto wrong = run(a, c, out("    return a - b\n"), s, g);
  EXPECT_FALSE(wrong.passed);
  EXPECT_NE(wrong.reason.find("AssertionError"), std::string::npos);
}

TEST(AssertionsTest, NotInvertsAndErrorsFail) {
  FakeServices s;
  Case c;
  auto a = spec("icontains");
  a.values = {"sorry"};
  a.negate = true;
  EXPECT_TRUE(run(a, c, out("Sure"), s, {}).passed);
  EXPECT_FALSE(run(a, c, out("Sorry"), s, {}).passed);
  Output err;
  err.error = "HTTP 502: boom";
  auto e = run(spec("is-json"), c, err, s, {});
  EXPECT_FALSE(e.passed);
  EXPECT_NE(e.reason.find("HTTP 502"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::eval
