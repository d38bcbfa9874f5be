// Evaluation inputs: a suite file (YAML written by a user), and a model's answer, which the
// assertions grade. The same bytes serve as both; the answer is also given as tool-call
// arguments and as a JSON instance of a schema it may itself hold.
//
// Properties: nothing crashes, hangs, leaks or trips UBSan; a rejected suite gets an error that
// names its file; every local assertion grades the answer with a score in [0, 1], above 0 when
// it passed.

#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/eval/assertions.h"
#include "switchyard/eval/json_schema.h"
#include "switchyard/eval/suite.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace eval = switchyard::eval;
namespace json = boost::json;

std::vector<eval::AssertionSpec> specs() {
  auto spec = [](std::string type, std::string value = {}) {
    eval::AssertionSpec s;
    s.type = std::move(type);
    s.value = std::move(value);
    return s;
  };
  std::vector<eval::AssertionSpec> out = {
      spec("equals", "Paris"),
      spec("icontains", "paris"),
      spec("regex", R"(\b\d{3}-\d{4}\b)"),
      spec("is-json"),
      spec("numeric", "42"),
      spec("choice", "C"),
      spec("refuses"),
      spec("no-pii"),
      spec("latency"),
      spec("cost"),
  };
  eval::AssertionSpec any = spec("contains");  // the loader's form of contains-any
  any.values = {"yes", "oui", "{"};
  out.push_back(any);
  eval::AssertionSpec all = spec("contains");  // contains-all
  all.values = {"a", "b"};
  all.all = true;
  out.push_back(all);
  eval::AssertionSpec schema = spec("json-schema");
  schema.json = json::parse(R"({"type":"object","required":["answer"],
      "properties":{"answer":{"type":"string","minLength":1,"pattern":"^[A-Z]"},
                    "score":{"type":"number","minimum":0,"maximum":10},
                    "tags":{"type":"array","items":{"type":"string"},"maxItems":3}},
      "additionalProperties":false})");
  out.push_back(schema);
  eval::AssertionSpec call = spec("tool-call", "get_weather");
  call.json = json::parse(R"({"city":"Paris"})");
  out.push_back(call);
  eval::AssertionSpec near = spec("numeric", "3.14");
  near.tolerance = 0.01;
  out.push_back(near);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // Datasets are resolved against a directory that does not exist: no file is read.
  if (auto suite = eval::parseSuite(text, "fuzz.yaml", "/nonexistent/switchyard-fuzz")) {
    (void)eval::countCases(*suite);
  } else {
    const std::string& message = suite.error().message();
    SY_FUZZ_CHECK_MSG(message.starts_with("fuzz.yaml"), message);
  }

  (void)eval::extractNumber(text);
  (void)eval::extractChoice(text);
  (void)eval::looksLikeRefusal(text);
  if (auto score = eval::parseJudgeScore(text)) SY_FUZZ_CHECK(*score >= 0 && *score <= 1);

  eval::Output output;
  output.text = std::string(text);
  output.tool_calls.push_back({"get_weather", std::string(text)});
  static const std::vector<eval::AssertionSpec> kSpecs = specs();
  for (const eval::AssertionSpec& spec : kSpecs) {
    auto graded = eval::gradeLocal(spec, output);
    SY_FUZZ_CHECK_MSG(graded.has_value(), spec.type);
    SY_FUZZ_CHECK_MSG(graded->score >= 0 && graded->score <= 1, spec.type);
    SY_FUZZ_CHECK_MSG(!graded->passed || graded->score > 0, spec.type);
  }

  // The answer as a schema and as an instance of itself.
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (!ec) (void)eval::validateJsonSchema(value, value);
  return 0;
}
