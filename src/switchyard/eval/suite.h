#pragma once
// Suite: an evaluation suite loaded from YAML — targets to compare, a prompt template, default
// assertions, and cases given inline or streamed from a JSONL/CSV dataset (optionally through an
// importer for MMLU-, GSM8K- or HumanEval-shaped records). Cases are produced one at a time by a
// CaseSource so that a 100k-case dataset never sits in memory. Suite is an immutable value after
// loading; a CaseSource is used by one thread at a time.

#include <boost/json/value.hpp>

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::eval {

struct Message {
  std::string role;
  std::string content;
};

// One assertion as written in the suite; string fields may hold {{variables}} until a case
// instantiates it.
struct AssertionSpec {
  std::string type;  // see assertionTypes()
  std::string value;
  std::vector<std::string> values;
  bool all = false;           // contains: all of `values` (default: any)
  bool negate = false;        // `not: true` inverts pass/fail
  double threshold = 0;       // similar / llm-judge minimum score, latency ms, cost USD
  double tolerance = 0;       // numeric: absolute tolerance
  double weight = 1.0;
  boost::json::value json;    // json-schema: the schema; tool-call: expected arguments (subset)
  std::string judge;          // llm-judge: target, overrides the suite's
  std::string rubric;         // llm-judge
  std::vector<std::string> entities;  // no-pii: entity types (empty: all)
  std::string where;          // file:line it came from, for messages
};

// The assertion type names the loader accepts.
const std::vector<std::string_view>& assertionTypes();

struct Target {
  std::string name;   // label in reports and the store ("local-small", or the model itself)
  std::string model;  // what is sent as "model": a route, an alias or "provider/model"
  double input_per_1m = 0;   // USD per 1M prompt tokens, when the gateway reports no cost
  double output_per_1m = 0;  // USD per 1M completion tokens
};

// A case ready to run: messages and assertions with variables substituted.
struct Case {
  std::int64_t index = 0;  // ordinal in the suite (stable across runs of the same suite)
  std::string id;          // from the data, else "case-<index>"
  std::string category;
  std::vector<std::string> tags;
  std::vector<Message> messages;
  boost::json::value tools;            // null when none
  boost::json::value response_format;  // null when none
  std::vector<AssertionSpec> asserts;
  // HumanEval-style code execution: the program prefix and the test code.
  std::string code_prompt, code_test, code_entry_point;
};

struct Suite {
  std::string path;  // file it was loaded from
  std::string dir;   // its directory (datasets are relative to it)
  std::string name;
  std::string description;
  std::vector<Target> targets;
  std::vector<Message> prompt;          // template used by cases that give no messages
  std::vector<AssertionSpec> defaults;  // applied to every case
  boost::json::object request;          // extra chat-completion fields (temperature, max_tokens)
  std::string judge;                    // llm-judge target; "" = none configured
  std::string embedder;                 // embedding model for `similar`
  std::string task_type = "category";   // "category" or "tag:<prefix>" (e.g. tag:task=)
  double pass_threshold = 1.0;          // a case passes when its weighted score reaches this
  int repeats = 1;
  int concurrency = 4;
  double max_regressions = 0;           // allowed regressed cases vs --baseline (>=1: count,
                                        // <1: fraction of compared cases)
  double min_pass_rate = 0;             // CI gate: every target's pass rate must reach this
  // Cases: inline (kept as JSON records, small suites) or a dataset streamed from disk.
  std::vector<std::pair<boost::json::object, std::string>> inline_cases;  // record, where
  std::string dataset;         // path (relative to dir) of a .jsonl / .csv file
  std::string dataset_format;  // jsonl | csv
  std::string import;          // "" | mmlu | gsm8k | humaneval
};

// Loads and validates a suite file. Errors name `file:line: key: message`.
Result<Suite> loadSuite(const std::string& path);
Result<Suite> parseSuite(std::string_view yaml, std::string_view source, std::string dir = ".");

// Replaces {{name}} (spaces allowed inside the braces) with vars[name]; strings as they are,
// other JSON values serialized. Unknown names stay as written.
std::string renderTemplate(std::string_view text, const boost::json::object& vars);

// Turns one record (inline case, JSONL object or CSV row) into a Case.
Result<Case> buildCase(const Suite& suite, const boost::json::object& record, std::int64_t index,
                       const std::string& where);

// Streams the suite's cases in order.
class CaseSource {
 public:
  static Result<std::unique_ptr<CaseSource>> open(const Suite& suite);
  virtual ~CaseSource() = default;
  // The next case, std::nullopt at the end, or an error naming file:line.
  virtual Result<std::optional<Case>> next() = 0;
};

// Counts the cases without building them (for the progress bar); -1 when unknown.
std::int64_t countCases(const Suite& suite);

// RFC 4180 CSV: one record per call from `in` (quoted fields may span lines). Returns false at
// the end of input. `line` is advanced by the physical lines read.
bool readCsvRecord(std::istream& in, std::vector<std::string>& fields, std::int64_t& line);

}  // namespace switchyard::eval
