#include "switchyard/eval/suite.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace switchyard::eval {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTypes[] = {
    "equals",   "contains",  "contains-any", "contains-all", "icontains", "regex",
    "is-json",  "json-schema", "tool-call",  "numeric",      "choice",    "similar",
    "llm-judge", "latency",  "cost",         "refuses",      "no-pii",    "code-tests"};

std::string at(std::string_view source, const YAML::Node& n) {
  return std::string(source) + ":" + std::to_string(n.Mark().line + 1);
}

// YAML -> JSON. Plain scalars that read as numbers, booleans or null become those; quoted ones
// stay strings.
json::value toJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : n) o[kv.first.as<std::string>()] = toJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& item : n) a.push_back(toJson(item));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return json::string(s);
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      std::int64_t i = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return i;
      double d = 0;
      auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec2 == std::errc() && p2 == s.data() + s.size() && !s.empty()) return d;
      return json::string(s);
    }
    default:
      return nullptr;
  }
}

// What toJson and the loader can take, checked once over the parsed tree: every mapping key a
// plain scalar (YAML's `? [a, b]` complex keys have no JSON form), and at most kMaxSuiteNodes
// nodes with aliases expanded (a few lines of anchors can otherwise name billions of nodes).
constexpr std::size_t kMaxSuiteNodes = 1'000'000;

struct ShapeError {
  YAML::Mark mark;
  std::string message;
};

std::optional<ShapeError> checkShape(const YAML::Node& n, std::size_t& nodes) {
  if (++nodes > kMaxSuiteNodes) {
    return ShapeError{n.Mark(), "the suite has more than " + std::to_string(kMaxSuiteNodes) +
                                    " values once its aliases are expanded"};
  }
  if (n.IsMap()) {
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) return ShapeError{kv.first.Mark(), "keys must be plain strings"};
      if (auto e = checkShape(kv.second, nodes)) return e;
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (auto e = checkShape(item, nodes)) return e;
    }
  }
  return std::nullopt;
}

std::unexpected<Status> bad(const std::string& where, std::string_view key, std::string_view msg) {
  return fail(ErrorCode::kInvalidArgument,
              where + ": " + std::string(key) + (key.empty() ? "" : ": ") + std::string(msg));
}

std::string scalarText(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

Result<double> number(const json::value& v, const std::string& where, std::string_view key) {
  if (v.is_number()) return v.to_number<double>();
  if (v.is_string()) {
    const std::string s(v.as_string());
    double d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return d;
  }
  return bad(where, key, "expected a number, got " + json::serialize(v));
}

Result<std::vector<std::string>> stringList(const json::value& v, const std::string& where,
                                            std::string_view key) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_string() && !item.is_number()) {
        return bad(where, key, "expected a list of strings");
      }
      out.push_back(scalarText(item));
    }
  } else if (v.is_string()) {
    out.push_back(std::string(v.as_string()));
  } else {
    return bad(where, key, "expected a string or a list of strings");
  }
  return out;
}

Result<AssertionSpec> parseAssertion(const json::value& v, const std::string& where) {
  static const std::set<std::string_view> kKeys = {
      "type", "value", "values", "mode", "not", "threshold", "tolerance", "weight", "schema",
      "name", "arguments", "judge", "rubric", "entities"};
  AssertionSpec a;
  a.where = where;
  if (v.is_string()) {  // shorthand: "- is-json"
    a.type = std::string(v.as_string());
  } else if (!v.is_object()) {
    return bad(where, "assert", "expected a mapping with a `type`");
  } else {
    const auto& o = v.as_object();
    for (const auto& kv : o) {
      if (!kKeys.contains(kv.key())) {
        return bad(where, "assert." + std::string(kv.key()),
                   "unknown key (expected one of: type, value, values, mode, not, threshold, "
                   "tolerance, weight, schema, name, arguments, judge, rubric, entities)");
      }
    }
    if (!o.contains("type") || !o.at("type").is_string()) {
      return bad(where, "assert", "`type` is required");
    }
    a.type = std::string(o.at("type").as_string());
    if (auto* x = o.if_contains("value")) {
      if (x->is_array()) {
        auto list = stringList(*x, where, "assert.value");
        if (!list) return fail(list.error());
        a.values = std::move(*list);
      } else {
        a.value = scalarText(*x);
      }
    }
    if (auto* x = o.if_contains("values")) {
      auto list = stringList(*x, where, "assert.values");
      if (!list) return fail(list.error());
      a.values = std::move(*list);
    }
    if (auto* x = o.if_contains("mode")) {
      const std::string m = scalarText(*x);
      if (m != "any" && m != "all") return bad(where, "assert.mode", "expected any or all");
      a.all = m == "all";
    }
    if (auto* x = o.if_contains("not")) {
      if (!x->is_bool()) return bad(where, "assert.not", "expected true or false");
      a.negate = x->as_bool();
    }
    for (auto [key, out] : {std::pair<std::string_view, double*>{"threshold", &a.threshold},
                            {"tolerance", &a.tolerance}, {"weight", &a.weight}}) {
      if (auto* x = o.if_contains(key)) {
        auto d = number(*x, where, "assert." + std::string(key));
        if (!d) return fail(d.error());
        *out = *d;
      }
    }
    if (a.weight < 0) return bad(where, "assert.weight", "must not be negative");
    if (auto* x = o.if_contains("schema")) {
      if (!x->is_object()) return bad(where, "assert.schema", "expected a JSON schema object");
      a.json = *x;
    }
    if (auto* x = o.if_contains("arguments")) a.json = *x;
    if (auto* x = o.if_contains("name")) a.value = scalarText(*x);
    if (auto* x = o.if_contains("judge")) a.judge = scalarText(*x);
    if (auto* x = o.if_contains("rubric")) a.rubric = scalarText(*x);
    if (auto* x = o.if_contains("entities")) {
      auto list = stringList(*x, where, "assert.entities");
      if (!list) return fail(list.error());
      a.entities = std::move(*list);
    }
  }
  if (std::find(std::begin(kTypes), std::end(kTypes), a.type) == std::end(kTypes)) {
    std::string all;
    for (auto t : kTypes) all += (all.empty() ? "" : ", ") + std::string(t);
    return bad(where, "assert.type", "unknown assertion type '" + a.type + "' (expected one of: " +
                                         all + ")");
  }
  // Aliases and per-type requirements.
  if (a.type == "contains-any" || a.type == "contains-all") {
    a.all = a.type == "contains-all";
    a.type = "contains";
  }
  auto need = [&](bool ok, std::string_view key, std::string_view what) -> Status {
    if (ok) return Status::ok();
    return Status(ErrorCode::kInvalidArgument,
                  where + ": assert." + std::string(key) + ": " + a.type + " needs " +
                      std::string(what));
  };
  Status s;
  if (a.type == "equals" || a.type == "regex" || a.type == "choice") {
    s = need(!a.value.empty(), "value", "a value");
  } else if (a.type == "contains" || a.type == "icontains") {
    if (!a.value.empty()) a.values.insert(a.values.begin(), a.value);
    a.value.clear();
    s = need(!a.values.empty(), "value", "a value or values");
  } else if (a.type == "json-schema") {
    s = need(a.json.is_object(), "schema", "a schema");
  } else if (a.type == "tool-call") {
    s = need(!a.value.empty(), "name", "the tool's name");
  } else if (a.type == "numeric") {
    s = need(!a.value.empty(), "value", "the expected number");
  } else if (a.type == "similar") {
    s = need(!a.value.empty(), "value", "the reference text");
    if (a.threshold == 0) a.threshold = 0.8;
  } else if (a.type == "llm-judge") {
    s = need(!a.rubric.empty(), "rubric", "a rubric");
    if (a.threshold == 0) a.threshold = 0.5;
  } else if (a.type == "latency" || a.type == "cost") {
    if (a.threshold == 0 && !a.value.empty()) {
      auto d = number(json::value(a.value), where, "assert.value");
      if (!d) return fail(d.error());
      a.threshold = *d;
    }
    s = need(a.threshold > 0, "threshold", a.type == "latency" ? "a threshold in ms" :
                                                                  "a threshold in USD");
  }
  if (!s.isOk()) return fail(std::move(s));
  if (a.type == "regex" && a.value.find("{{") == std::string::npos) {
    RE2 re(a.value, RE2::Quiet);
    if (!re.ok()) return bad(where, "assert.value", "bad regex: " + re.error());
  }
  return a;
}

Result<std::vector<Message>> parseMessages(const json::value& v, const std::string& where,
                                           std::string_view key) {
  std::vector<Message> out;
  if (v.is_string()) {  // a single user message
    out.push_back({"user", std::string(v.as_string())});
    return out;
  }
  if (!v.is_array()) return bad(where, key, "expected a list of {role, content}");
  for (const auto& m : v.as_array()) {
    if (!m.is_object() || !m.as_object().contains("role") || !m.as_object().contains("content")) {
      return bad(where, key, "each message needs a role and a content");
    }
    const std::string role = scalarText(m.at("role"));
    if (role != "system" && role != "user" && role != "assistant" && role != "developer") {
      return bad(where, key, "unknown role '" + role + "'");
    }
    out.push_back({role, scalarText(m.at("content"))});
  }
  return out;
}

Result<std::vector<AssertionSpec>> parseAssertions(const json::value& v, const std::string& where) {
  std::vector<AssertionSpec> out;
  if (!v.is_array()) return bad(where, "assert", "expected a list of assertions");
  for (const auto& item : v.as_array()) {
    auto a = parseAssertion(item, where);
    if (!a) return fail(a.error());
    out.push_back(std::move(*a));
  }
  return out;
}

AssertionSpec instantiate(const AssertionSpec& spec, const json::object& vars) {
  AssertionSpec a = spec;
  a.value = renderTemplate(a.value, vars);
  for (auto& v : a.values) v = renderTemplate(v, vars);
  a.rubric = renderTemplate(a.rubric, vars);
  return a;
}

std::string letter(std::size_t i) { return std::string(1, static_cast<char>('A' + i)); }

// Importers: shape a raw record into vars, default messages and assertions.
Status applyImport(const Suite& suite, json::object& vars, Case& c, const std::string& where) {
  auto field = [&](std::string_view k) -> std::string {
    auto* v = vars.if_contains(k);
    return v ? scalarText(*v) : std::string();
  };
  if (suite.import == "mmlu") {
    std::vector<std::string> choices;
    if (auto* v = vars.if_contains("choices"); v && v->is_array()) {
      for (const auto& x : v->as_array()) choices.push_back(scalarText(x));
    } else {
      for (char l = 'A'; l <= 'J'; ++l) {
        auto* x = vars.if_contains(std::string(1, l));
        if (!x) break;
        choices.push_back(scalarText(*x));
      }
    }
    if (field("question").empty() || choices.size() < 2) {
      return Status(ErrorCode::kInvalidArgument,
                    where + ": mmlu: a record needs `question` and `choices` (or columns A, B, ...)");
    }
    std::string answer = field("answer");
    if (answer.size() == 1 && std::isdigit(static_cast<unsigned char>(answer[0]))) {
      answer = letter(static_cast<std::size_t>(answer[0] - '0'));
    } else if (answer.size() != 1) {
      auto it = std::find(choices.begin(), choices.end(), answer);
      if (it == choices.end()) {
        return Status(ErrorCode::kInvalidArgument,
                      where + ": mmlu: `answer` must be a letter, an index or a choice's text");
      }
      answer = letter(static_cast<std::size_t>(it - choices.begin()));
    }
    std::string text;
    for (std::size_t i = 0; i < choices.size(); ++i) {
      text += letter(i) + ". " + choices[i] + "\n";
    }
    vars["choices_text"] = text;
    vars["answer"] = answer;
    if (c.messages.empty() && suite.prompt.empty()) {
      c.messages.push_back({"user", "{{question}}\n\n{{choices_text}}\nAnswer with the letter of "
                                    "the correct choice only."});
    }
    if (c.asserts.empty()) {
      AssertionSpec a;
      a.type = "choice";
      a.value = "{{answer}}";
      a.where = where;
      c.asserts.push_back(a);
    }
    if (c.category.empty()) c.category = field("subject");
  } else if (suite.import == "gsm8k") {
    std::string answer = field("answer");
    if (field("question").empty() || answer.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    where + ": gsm8k: a record needs `question` and `answer`");
    }
    if (auto pos = answer.rfind("####"); pos != std::string::npos) answer = answer.substr(pos + 4);
    answer.erase(std::remove_if(answer.begin(), answer.end(),
                                [](char ch) { return ch == ',' || ch == '$' || std::isspace(
                                                  static_cast<unsigned char>(ch)); }),
                 answer.end());
    vars["final_answer"] = answer;
    if (c.messages.empty() && suite.prompt.empty()) {
      c.messages.push_back({"user", "{{question}}\n\nSolve it step by step, then give the final "
                                    "answer as a number on the last line, after '####'."});
    }
    if (c.asserts.empty()) {
      AssertionSpec a;
      a.type = "numeric";
      a.value = "{{final_answer}}";
      a.tolerance = 1e-6;
      a.where = where;
      c.asserts.push_back(a);
    }
    if (c.category.empty()) c.category = "math";
  } else if (suite.import == "humaneval") {
    c.code_prompt = field("prompt");
    c.code_test = field("test");
    c.code_entry_point = field("entry_point");
    if (c.code_prompt.empty() || c.code_test.empty() || c.code_entry_point.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    where + ": humaneval: a record needs `prompt`, `test` and `entry_point`");
    }
    if (c.id.empty()) c.id = field("task_id");
    if (c.messages.empty() && suite.prompt.empty()) {
      c.messages.push_back({"user", "Complete this Python function. Reply with the whole "
                                    "function in one ```python code block.\n\n{{prompt}}"});
    }
    if (c.asserts.empty()) {
      AssertionSpec a;
      a.type = "code-tests";
      a.where = where;
      c.asserts.push_back(a);
    }
    if (c.category.empty()) c.category = "code";
  }
  return Status::ok();
}

class InlineSource : public CaseSource {
 public:
  explicit InlineSource(const Suite& suite) : suite_(suite) {}
  Result<std::optional<Case>> next() override {
    if (i_ >= suite_.inline_cases.size()) return std::optional<Case>();
    const auto& [record, where] = suite_.inline_cases[i_];
    auto c = buildCase(suite_, record, static_cast<std::int64_t>(i_), where);
    ++i_;
    if (!c) return fail(c.error());
    return std::optional<Case>(std::move(*c));
  }

 private:
  const Suite& suite_;
  std::size_t i_ = 0;
};

class JsonlSource : public CaseSource {
 public:
  JsonlSource(const Suite& suite, std::string path) : suite_(suite), path_(std::move(path)) {
    in_.open(path_);
  }
  bool ok() const { return in_.is_open(); }
  Result<std::optional<Case>> next() override {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = path_ + ":" + std::to_string(line_);
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (ec || !v.is_object()) {
        return bad(where, "", "not a JSON object" + (ec ? " (" + ec.message() + ")" : ""));
      }
      auto c = buildCase(suite_, v.as_object(), index_++, where);
      if (!c) return fail(c.error());
      return std::optional<Case>(std::move(*c));
    }
    return std::optional<Case>();
  }

 private:
  const Suite& suite_;
  std::string path_;
  std::ifstream in_;
  std::int64_t line_ = 0;
  std::int64_t index_ = 0;
};

class CsvSource : public CaseSource {
 public:
  CsvSource(const Suite& suite, std::string path) : suite_(suite), path_(std::move(path)) {
    in_.open(path_);
  }
  bool ok() const { return in_.is_open(); }
  Result<std::optional<Case>> next() override {
    std::vector<std::string> fields;
    if (header_.empty()) {
      if (!readCsvRecord(in_, header_, line_)) return std::optional<Case>();
      for (auto& h : header_) {
        h.erase(0, h.find_first_not_of(" \t\xEF\xBB\xBF"));
        h.erase(h.find_last_not_of(" \t\r") + 1);
      }
    }
    while (true) {
      const std::int64_t first = line_ + 1;
      if (!readCsvRecord(in_, fields, line_)) return std::optional<Case>();
      if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
      const std::string where = path_ + ":" + std::to_string(first);
      if (fields.size() != header_.size()) {
        return bad(where, "", "has " + std::to_string(fields.size()) + " fields, the header has " +
                                  std::to_string(header_.size()));
      }
      json::object record;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (header_[i] == "tags") {
          json::array tags;
          std::stringstream ss(fields[i]);
          std::string t;
          while (std::getline(ss, t, ';')) {
            if (!t.empty()) tags.push_back(json::string(t));
          }
          record["tags"] = std::move(tags);
        } else {
          record[header_[i]] = fields[i];
        }
      }
      auto c = buildCase(suite_, record, index_++, where);
      if (!c) return fail(c.error());
      return std::optional<Case>(std::move(*c));
    }
  }

 private:
  const Suite& suite_;
  std::string path_;
  std::ifstream in_;
  std::vector<std::string> header_;
  std::int64_t line_ = 0;
  std::int64_t index_ = 0;
};

std::string datasetPath(const Suite& suite) {
  fs::path p(suite.dataset);
  if (p.is_relative()) p = fs::path(suite.dir) / p;
  return p.lexically_normal().string();
}

// The suite file's loader: `file:line: key: message` errors, unknown keys rejected.
class SuiteLoader {
 public:
  explicit SuiteLoader(std::string_view source) : source_(source) {}

  Result<Suite> load(std::string_view yaml, std::string dir) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      return fail(ErrorCode::kInvalidArgument,
                  source_ + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    Suite s;
    s.path = source_;
    s.dir = std::move(dir);
    if (!root.IsMap()) return bad(source_ + ":1", "", "a suite is a mapping (name, targets, ...)");
    std::size_t nodes = 0;
    if (auto e = checkShape(root, nodes)) {
      return bad(source_ + ":" + std::to_string(e->mark.line + 1), "", e->message);
    }
    static const std::set<std::string> kKeys = {
        "name", "description", "targets", "prompt", "request", "judge", "embedder", "task_type",
        "pass_threshold", "repeats", "concurrency", "gate", "defaults", "cases", "dataset"};
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const std::string where = at(source_, kv.first);
      if (!kKeys.contains(key)) {
        return bad(where, key,
                   "unknown key (expected one of: name, description, targets, prompt, request, "
                   "judge, embedder, task_type, pass_threshold, repeats, concurrency, gate, "
                   "defaults, cases, dataset)");
      }
      const json::value v = toJson(kv.second);
      const std::string vwhere = at(source_, kv.second);
      if (key == "name") {
        s.name = scalarText(v);
      } else if (key == "description") {
        s.description = scalarText(v);
      } else if (key == "targets") {
        if (auto st = targets(kv.second, s); !st.isOk()) return fail(st);
      } else if (key == "prompt") {
        auto m = parseMessages(v, vwhere, key);
        if (!m) return fail(m.error());
        s.prompt = std::move(*m);
      } else if (key == "request") {
        if (!v.is_object()) return bad(vwhere, key, "expected a mapping of request fields");
        for (std::string_view reserved : {"model", "messages", "stream"}) {
          if (v.as_object().contains(reserved)) {
            return bad(vwhere, "request." + std::string(reserved), "is set by the runner");
          }
        }
        s.request = v.as_object();
      } else if (key == "judge") {
        s.judge = scalarText(v);
      } else if (key == "embedder") {
        s.embedder = scalarText(v);
      } else if (key == "task_type") {
        s.task_type = scalarText(v);
        if (s.task_type != "category" && !s.task_type.starts_with("tag:")) {
          return bad(vwhere, key, "expected `category` or `tag:<prefix>`");
        }
      } else if (key == "pass_threshold") {
        auto d = number(v, vwhere, key);
        if (!d) return fail(d.error());
        if (*d < 0 || *d > 1) return bad(vwhere, key, "must be between 0 and 1");
        s.pass_threshold = *d;
      } else if (key == "repeats" || key == "concurrency") {
        if (!v.is_int64() || v.as_int64() < 1 || v.as_int64() > 1000) {
          return bad(vwhere, key, "expected an integer from 1 to 1000");
        }
        (key == "repeats" ? s.repeats : s.concurrency) = static_cast<int>(v.as_int64());
      } else if (key == "gate") {
        if (!v.is_object()) return bad(vwhere, key, "expected {max_regressions, min_pass_rate}");
        for (const auto& g : v.as_object()) {
          const std::string gk = "gate." + std::string(g.key());
          auto d = number(g.value(), vwhere, gk);
          if (!d) return fail(d.error());
          if (g.key() == "max_regressions") {
            if (*d < 0) return bad(vwhere, gk, "must not be negative");
            s.max_regressions = *d;
          } else if (g.key() == "min_pass_rate") {
            if (*d < 0 || *d > 1) return bad(vwhere, gk, "must be between 0 and 1");
            s.min_pass_rate = *d;
          } else {
            return bad(vwhere, gk, "unknown key (expected max_regressions or min_pass_rate)");
          }
        }
      } else if (key == "defaults") {
        auto a = parseAssertions(v, vwhere);
        if (!a) return fail(a.error());
        s.defaults = std::move(*a);
      } else if (key == "cases") {
        if (!kv.second.IsSequence()) return bad(vwhere, key, "expected a list of cases");
        for (const auto& item : kv.second) {
          const json::value rec = toJson(item);
          const std::string cwhere = at(source_, item);
          if (!rec.is_object()) return bad(cwhere, key, "each case is a mapping");
          static const std::set<std::string_view> kCaseKeys = {
              "id", "category", "tags", "vars", "messages", "assert", "tools", "response_format",
              "expected"};
          for (const auto& f : rec.as_object()) {
            if (!kCaseKeys.contains(f.key())) {
              return bad(cwhere, "cases." + std::string(f.key()),
                         "unknown key (expected one of: id, category, tags, vars, messages, "
                         "assert, tools, response_format, expected)");
            }
          }
          // Validate now so that errors surface at load, not mid-run.
          auto c = buildCase(s, rec.as_object(), 0, cwhere);
          if (!c) return fail(c.error());
          s.inline_cases.emplace_back(rec.as_object(), cwhere);
        }
      } else if (key == "dataset") {
        if (v.is_string()) {
          s.dataset = std::string(v.as_string());
        } else if (v.is_object()) {
          for (const auto& f : v.as_object()) {
            const std::string val = scalarText(f.value());
            if (f.key() == "path") s.dataset = val;
            else if (f.key() == "format") s.dataset_format = val;
            else if (f.key() == "import") s.import = val;
            else return bad(vwhere, "dataset." + std::string(f.key()),
                            "unknown key (expected path, format, import)");
          }
        } else {
          return bad(vwhere, key, "expected a path or {path, format, import}");
        }
        if (s.dataset.empty()) return bad(vwhere, "dataset.path", "is required");
        if (s.dataset_format.empty()) {
          s.dataset_format = s.dataset.ends_with(".csv") ? "csv" : "jsonl";
        }
        if (s.dataset_format != "jsonl" && s.dataset_format != "csv") {
          return bad(vwhere, "dataset.format", "expected jsonl or csv");
        }
        if (!s.import.empty() && s.import != "mmlu" && s.import != "gsm8k" &&
            s.import != "humaneval") {
          return bad(vwhere, "dataset.import", "expected mmlu, gsm8k or humaneval");
        }
        std::error_code ec;
        if (!fs::exists(datasetPath(s), ec)) {
          return bad(vwhere, "dataset.path", "no such file: " + datasetPath(s));
        }
      }
    }
    if (s.name.empty()) s.name = fs::path(source_).stem().string();
    if (s.targets.empty()) return bad(source_ + ":1", "targets", "at least one target is required");
    if (s.inline_cases.empty() && s.dataset.empty()) {
      return bad(source_ + ":1", "cases", "give inline `cases` or a `dataset`");
    }
    if (!s.inline_cases.empty() && !s.dataset.empty()) {
      return bad(source_ + ":1", "dataset", "give either inline `cases` or a `dataset`, not both");
    }
    return s;
  }

 private:
  Status targets(const YAML::Node& n, Suite& s) {
    if (!n.IsSequence() || n.size() == 0) {
      return Status(ErrorCode::kInvalidArgument,
                    at(source_, n) + ": targets: expected a list of models or {name, model}");
    }
    std::set<std::string> seen;
    for (const auto& item : n) {
      const std::string where = at(source_, item);
      const json::value v = toJson(item);
      Target t;
      if (v.is_string()) {
        t.name = t.model = std::string(v.as_string());
      } else if (v.is_object()) {
        for (const auto& f : v.as_object()) {
          if (f.key() == "name") {
            t.name = scalarText(f.value());
          } else if (f.key() == "model") {
            t.model = scalarText(f.value());
          } else if (f.key() == "price") {
            if (!f.value().is_object()) {
              return Status(ErrorCode::kInvalidArgument,
                            where + ": targets.price: expected {input_per_1m, output_per_1m}");
            }
            for (const auto& p : f.value().as_object()) {
              auto d = number(p.value(), where, "targets.price." + std::string(p.key()));
              if (!d) return d.error();
              if (p.key() == "input_per_1m") t.input_per_1m = *d;
              else if (p.key() == "output_per_1m") t.output_per_1m = *d;
              else return Status(ErrorCode::kInvalidArgument,
                                 where + ": targets.price." + std::string(p.key()) +
                                     ": unknown key (expected input_per_1m, output_per_1m)");
            }
          } else {
            return Status(ErrorCode::kInvalidArgument,
                          where + ": targets." + std::string(f.key()) +
                              ": unknown key (expected name, model, price)");
          }
        }
        if (t.model.empty()) {
          return Status(ErrorCode::kInvalidArgument, where + ": targets.model: is required");
        }
        if (t.name.empty()) t.name = t.model;
      } else {
        return Status(ErrorCode::kInvalidArgument,
                      where + ": targets: expected a model name or {name, model, price}");
      }
      if (!seen.insert(t.name).second) {
        return Status(ErrorCode::kInvalidArgument,
                      where + ": targets: duplicate target '" + t.name + "'");
      }
      s.targets.push_back(std::move(t));
    }
    return Status::ok();
  }

  std::string source_;
};

}  // namespace

const std::vector<std::string_view>& assertionTypes() {
  static const std::vector<std::string_view> types(std::begin(kTypes), std::end(kTypes));
  return types;
}

std::string renderTemplate(std::string_view text, const json::object& vars) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto open = text.find("{{", i);
    if (open == std::string_view::npos) break;
    const auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    std::string_view name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (auto* v = vars.if_contains(name)) {
      out += scalarText(*v);
    } else {
      out.append(text.substr(open, close + 2 - open));
    }
    i = close + 2;
  }
  out.append(text.substr(i));
  return out;
}

Result<Case> buildCase(const Suite& suite, const json::object& record, std::int64_t index,
                       const std::string& where) {
  Case c;
  c.index = index;
  json::object vars;
  if (auto* v = record.if_contains("vars")) {
    if (!v->is_object()) return bad(where, "vars", "expected a mapping of names to values");
    vars = v->as_object();
  }
  // Dataset rows: every other field is a variable too.
  static const std::set<std::string_view> kSpecial = {"id", "category", "tags", "vars", "messages",
                                                      "assert", "tools", "response_format"};
  for (const auto& kv : record) {
    if (!kSpecial.contains(kv.key())) vars[kv.key()] = kv.value();
  }
  if (auto* v = record.if_contains("id")) c.id = scalarText(*v);
  if (auto* v = record.if_contains("category")) c.category = scalarText(*v);
  if (auto* v = record.if_contains("tags")) {
    auto list = stringList(*v, where, "tags");
    if (!list) return fail(list.error());
    c.tags = std::move(*list);
  }
  if (auto* v = record.if_contains("messages")) {
    auto m = parseMessages(*v, where, "messages");
    if (!m) return fail(m.error());
    c.messages = std::move(*m);
  }
  if (auto* v = record.if_contains("assert")) {
    auto a = parseAssertions(*v, where);
    if (!a) return fail(a.error());
    c.asserts = std::move(*a);
  }
  if (auto* v = record.if_contains("tools")) {
    if (!v->is_array()) return bad(where, "tools", "expected a list of OpenAI tool definitions");
    c.tools = *v;
  }
  if (auto* v = record.if_contains("response_format")) {
    if (!v->is_object()) return bad(where, "response_format", "expected an object");
    c.response_format = *v;
  }
  if (!suite.import.empty()) {
    if (auto s = applyImport(suite, vars, c, where); !s.isOk()) return fail(std::move(s));
  }
  if (c.messages.empty()) c.messages = suite.prompt;
  if (c.messages.empty()) {
    return bad(where, "messages", "the case has no messages and the suite no `prompt`");
  }
  for (auto& m : c.messages) m.content = renderTemplate(m.content, vars);
  std::vector<AssertionSpec> asserts;
  asserts.reserve(c.asserts.size() + suite.defaults.size());
  for (const auto& a : c.asserts) asserts.push_back(instantiate(a, vars));
  for (const auto& a : suite.defaults) asserts.push_back(instantiate(a, vars));
  c.asserts = std::move(asserts);
  if (c.asserts.empty()) {
    return bad(where, "assert", "the case has no assertions and the suite no `defaults`");
  }
  if (c.id.empty()) c.id = "case-" + std::to_string(index);
  return c;
}

Result<std::unique_ptr<CaseSource>> CaseSource::open(const Suite& suite) {
  if (suite.dataset.empty()) return std::make_unique<InlineSource>(suite);
  const std::string path = datasetPath(suite);
  if (suite.dataset_format == "csv") {
    auto src = std::make_unique<CsvSource>(suite, path);
    if (!src->ok()) return fail(ErrorCode::kNotFound, path + ": cannot open the dataset");
    return std::unique_ptr<CaseSource>(std::move(src));
  }
  auto src = std::make_unique<JsonlSource>(suite, path);
  if (!src->ok()) return fail(ErrorCode::kNotFound, path + ": cannot open the dataset");
  return std::unique_ptr<CaseSource>(std::move(src));
}

std::int64_t countCases(const Suite& suite) {
  if (suite.dataset.empty()) return static_cast<std::int64_t>(suite.inline_cases.size());
  std::ifstream in(datasetPath(suite));
  if (!in) return -1;
  std::int64_t n = 0;
  if (suite.dataset_format == "csv") {
    std::vector<std::string> fields;
    std::int64_t line = 0;
    if (!readCsvRecord(in, fields, line)) return 0;
    while (readCsvRecord(in, fields, line)) {
      if (!(fields.size() == 1 && fields[0].empty())) ++n;
    }
    return n;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++n;
  }
  return n;
}

bool readCsvRecord(std::istream& in, std::vector<std::string>& fields, std::int64_t& line) {
  fields.clear();
  std::string field;
  bool quoted = false, any = false, was_quoted = false;
  int c;
  while ((c = in.get()) != EOF) {
    any = true;
    const char ch = static_cast<char>(c);
    if (quoted) {
      if (ch == '"') {
        if (in.peek() == '"') {
          field += '"';
          in.get();
        } else {
          quoted = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
      continue;
    }
    if (ch == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (ch == ',') {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (ch == '\n') {
      ++line;
      if (!field.empty() && field.back() == '\r') field.pop_back();
      fields.push_back(std::move(field));
      return true;
    } else {
      field += ch;
    }
  }
  if (!any) return false;
  if (!field.empty() && field.back() == '\r') field.pop_back();
  fields.push_back(std::move(field));
  ++line;
  return true;
}

Result<Suite> parseSuite(std::string_view yaml, std::string_view source, std::string dir) {
  return SuiteLoader(source).load(yaml, std::move(dir));
}

Result<Suite> loadSuite(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::kNotFound, path + ": cannot read the suite file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return parseSuite(ss.str(), path, dir);
}

}  // namespace switchyard::eval
