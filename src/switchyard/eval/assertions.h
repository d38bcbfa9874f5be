#pragma once
// Assertions: grade one model output against one AssertionSpec. Most kinds are pure functions
// of the output (equals, contains, regex, JSON, tool calls, numbers, choices, latency, cost,
// refusal, PII); `similar`, `llm-judge` and `code-tests` need services (embeddings, a judge
// model, the sandbox) that the runner provides through GradeServices. Thread-safe: the shared
// detectors and regexes are immutable once built.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/eval/sandbox.h"
#include "switchyard/eval/suite.h"

namespace switchyard::eval {

struct ToolCall {
  std::string name;
  std::string arguments;  // JSON text as the model produced it
};

// What a target answered for one case (or why it did not).
struct Output {
  std::string text;
  std::vector<ToolCall> tool_calls;
  std::string error;  // non-empty: the request failed; every assertion fails with it
  double latency_ms = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0;
  bool cached = false;
  // The deployment that answered ("provider/model", from x-switchyard-provider / -model), when
  // the gateway said; routes resolve to it.
  std::string deployment;
};

struct AssertionResult {
  bool passed = false;
  double score = 0;  // 0..1 (similarity and judge scores are continuous)
  std::string reason;
};

// The calls that some assertions make; implemented by the runner over the gateway's HTTP API.
class GradeServices {
 public:
  virtual ~GradeServices() = default;
  virtual boost::asio::awaitable<Result<std::vector<double>>> embed(std::string model,
                                                                    std::string text) = 0;
  virtual boost::asio::awaitable<Result<std::string>> chat(std::string model,
                                                           std::vector<Message> messages) = 0;
  virtual boost::asio::awaitable<Result<SandboxResult>> runPython(std::string program) = 0;
};

struct GradeOptions {
  std::string judge;       // default llm-judge target; "" = none configured
  std::string embedder;    // embedding model for `similar`; "" = none configured
  bool allow_code = false;  // code-tests run only when set (--allow-code-exec)
};

// Grades kinds that need no services; std::nullopt for similar, llm-judge and code-tests.
std::optional<AssertionResult> gradeLocal(const AssertionSpec& spec, const Output& output);

// Grades any kind (applies `not`).
boost::asio::awaitable<AssertionResult> grade(const AssertionSpec& spec, const Case& c,
                                              const Output& output, GradeServices& services,
                                              const GradeOptions& options);

// Helpers, exposed for tests.
std::optional<double> extractNumber(std::string_view text);  // after "####", else the last one
std::optional<char> extractChoice(std::string_view text);    // "Answer: (C)" -> 'C'
bool looksLikeRefusal(std::string_view text);
double cosineSimilarity(const std::vector<double>& a, const std::vector<double>& b);
std::optional<double> parseJudgeScore(std::string_view reply);  // "SCORE: 7" -> 0.7
std::vector<Message> judgeMessages(const std::string& rubric, const Case& c,
                                   const std::string& answer);
// The program code-tests runs: the answer's code (its first fenced block, else all of it; the
// case's prompt prepended when the answer lacks `def <entry_point>`), the tests, check(entry).
std::string codeProgram(const Case& c, const std::string& answer);

}  // namespace switchyard::eval
