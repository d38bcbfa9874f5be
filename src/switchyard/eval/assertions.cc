#include "switchyard/eval/assertions.h"

#include <re2/re2.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>

#include "switchyard/core/strings.h"
#include "switchyard/eval/json_schema.h"
#include "switchyard/guard/detector.h"

namespace switchyard::eval {

namespace json = boost::json;

namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

AssertionResult pass(std::string reason = "", double score = 1) { return {true, score, reason}; }
AssertionResult failed(std::string reason, double score = 0) { return {false, score, reason}; }

std::string shorten(std::string_view s, std::size_t n = 80) {
  if (s.size() <= n) return std::string(s);
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole code points
  return std::string(s.substr(0, n)) + "...";
}

// Models often wrap JSON in a fenced block; accept that.
std::string_view stripFence(std::string_view text) {
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  if (t.starts_with("```") && t.ends_with("```") && t.size() >= 6) {
    t.remove_suffix(3);
    t.remove_prefix(t.find('\n') == std::string_view::npos ? 3 : t.find('\n') + 1);
  }
  return t;
}

std::optional<json::value> parseJson(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  json::value v = json::parse(stripFence(text), ec);
  if (ec) {
    error = ec.message();
    return std::nullopt;
  }
  return v;
}

bool subsetMatches(const json::value& want, const json::value& got) {
  if (want.is_object()) {
    if (!got.is_object()) return false;
    for (const auto& kv : want.as_object()) {
      auto* g = got.as_object().if_contains(kv.key());
      if (g == nullptr || !subsetMatches(kv.value(), *g)) return false;
    }
    return true;
  }
  if (want.is_number() && got.is_number()) {
    return want.to_number<double>() == got.to_number<double>();
  }
  return want == got;
}

const guard::Detector* detectorFor(const std::vector<std::string>& entities, std::string& error) {
  static std::mutex mu;
  static std::map<std::vector<std::string>, guard::DetectorPtr> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(entities);
  if (it != cache.end()) return it->second.get();
  guard::DetectorOptions options;
  options.entities = entities;
  auto d = guard::Detector::create(options);
  if (!d) {
    error = d.error().message();
    return nullptr;
  }
  return cache.emplace(entities, std::move(*d)).first->second.get();
}

AssertionResult gradeToolCall(const AssertionSpec& spec, const Output& output) {
  if (output.tool_calls.empty()) return failed("no tool call (answered with text)");
  std::string seen;
  for (const auto& call : output.tool_calls) {
    if (call.name != spec.value) {
      seen += (seen.empty() ? "" : ", ") + call.name;
      continue;
    }
    if (spec.json.is_null()) return pass();
    std::string error;
    auto args = parseJson(call.arguments, error);
    if (!args) return failed("tool " + call.name + ": arguments are not JSON: " + error);
    if (subsetMatches(spec.json, *args)) return pass();
    return failed("tool " + call.name + ": arguments " + shorten(call.arguments) +
                  " do not match " + json::serialize(spec.json));
  }
  return failed("called " + seen + ", not " + spec.value);
}

}  // namespace

std::optional<double> extractNumber(std::string_view text) {
  std::string_view t = text;
  if (auto pos = t.rfind("####"); pos != std::string_view::npos) t = t.substr(pos + 4);
  static const RE2 kNumber(R"((-?\$?\d[\d,]*(?:\.\d+)?))");
  re2::StringPiece input(t.data(), t.size());
  std::string match, last;
  while (RE2::FindAndConsume(&input, kNumber, &match)) last = match;
  if (last.empty()) return std::nullopt;
  std::string clean;
  for (char c : last) {
    if (c != ',' && c != '$') clean += c;
  }
  double d = 0;
  auto [p, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), d);
  if (ec != std::errc()) return std::nullopt;
  (void)p;
  return d;
}

std::optional<char> extractChoice(std::string_view text) {
  static const RE2 kExplicit(R"((?i)answer\s*(?:is|:)?\s*:?\s*\(?([A-J])\b)");
  static const RE2 kLeading(R"(^\s*\(?([A-J])(?:[).:\s]|$))");
  static const RE2 kStandalone(R"(\b([A-J])\b)");
  std::string letter;
  re2::StringPiece input(text.data(), text.size());
  if (RE2::PartialMatch(input, kExplicit, &letter) || RE2::PartialMatch(input, kLeading, &letter) ||
      RE2::PartialMatch(input, kStandalone, &letter)) {
    return static_cast<char>(std::toupper(static_cast<unsigned char>(letter[0])));
  }
  return std::nullopt;
}

bool looksLikeRefusal(std::string_view text) {
  static const RE2 kRefusal(
      R"((?i)\b(i\s*(?:'m|am)\s+(?:sorry|unable|not able)|i\s+(?:can(?:'|no)?t|cannot|won'?t|)"
      R"(will not|must decline|have to decline|refuse)\s+(?:help|assist|provide|do|comply|share|)"
      R"(give|create|write|support|fulfil|fulfill|answer|generate)|i\s+(?:can(?:'|no)?t|cannot))"
      R"(\s+help\s+with|(?:against|violates?)\s+(?:my|our|the)\s+(?:policy|policies|guidelines)|)"
      R"(as an ai(?: language model)?,? i\s+(?:can(?:'|no)?t|cannot|won'?t)|not\s+(?:able|)"
      R"(allowed|permitted)\s+to\s+(?:help|assist|provide|share)|i\s+decline))");
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), kRefusal);
}

double cosineSimilarity(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.empty()) return 0;
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na == 0 || nb == 0) return 0;
  return dot / (std::sqrt(na) * std::sqrt(nb));
}

std::optional<double> parseJudgeScore(std::string_view reply) {
  static const RE2 kScore(R"((?i)score\s*[:=]\s*\**\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+))?)");
  re2::StringPiece input(reply.data(), reply.size());
  std::string n, d, last_n, last_d;
  while (RE2::FindAndConsume(&input, kScore, &n, &d)) {
    last_n = n;
    last_d = d;
  }
  if (last_n.empty()) return std::nullopt;
  const double value = std::stod(last_n);
  const double scale = last_d.empty() ? 10.0 : std::max(1.0, std::stod(last_d));
  return std::clamp(value / scale, 0.0, 1.0);
}

std::vector<Message> judgeMessages(const std::string& rubric, const Case& c,
                                   const std::string& answer) {
  std::string input;
  for (const auto& m : c.messages) {
    if (m.role == "user") input = m.content;
  }
  return {
      {"system",
       "You grade answers strictly against a rubric. Think briefly, then end with one line "
       "'SCORE: N' where N is an integer from 0 (fails the rubric) to 10 (fully meets it)."},
      {"user", "Rubric:\n" + rubric + "\n\nQuestion:\n" + input + "\n\nAnswer to grade:\n" +
                   answer + "\n\nGrade the answer. End with 'SCORE: N'."}};
}

std::string codeProgram(const Case& c, const std::string& answer) {
  std::string code = answer;
  static const RE2 kFence(R"((?s)```(?:python|py)?[ \t]*\n(.*?)```)");
  std::string block;
  if (RE2::PartialMatch(answer, kFence, &block)) code = block;
  if (code.find("def " + c.code_entry_point) == std::string::npos) code = c.code_prompt + code;
  return code + "\n\n" + c.code_test + "\n\ncheck(" + c.code_entry_point + ")\n";
}

std::optional<AssertionResult> gradeLocal(const AssertionSpec& spec, const Output& output) {
  const std::string& text = output.text;
  const std::string& t = spec.type;
  if (t == "equals") {
    if (trim(text) == trim(spec.value)) return pass();
    return failed("expected '" + shorten(spec.value) + "', got '" + shorten(trim(text)) + "'");
  }
  if (t == "contains" || t == "icontains") {
    const bool ci = t == "icontains";
    const std::string hay = ci ? asciiLower(text) : text;
    std::size_t found = 0;
    std::string missing;
    for (const auto& v : spec.values) {
      if (hay.find(ci ? asciiLower(v) : v) != std::string::npos) {
        ++found;
      } else {
        missing += (missing.empty() ? "'" : ", '") + v + "'";
      }
    }
    const bool ok = spec.all ? found == spec.values.size() : found > 0;
    if (ok) return pass();
    return failed(spec.all || spec.values.size() == 1 ? "missing " + missing
                                                       : "none of " + missing + " found");
  }
  if (t == "regex") {
    RE2 re(spec.value, RE2::Quiet);
    if (!re.ok()) return failed("bad regex: " + re.error());
    if (RE2::PartialMatch(text, re)) return pass();
    return failed("no match for /" + spec.value + "/");
  }
  if (t == "is-json") {
    std::string error;
    if (parseJson(text, error)) return pass();
    return failed("not valid JSON: " + error);
  }
  if (t == "json-schema") {
    std::string error;
    auto v = parseJson(text, error);
    if (!v) return failed("not valid JSON: " + error);
    auto violation = validateJsonSchema(spec.json, *v);
    if (violation.empty()) return pass();
    return failed(violation);
  }
  if (t == "tool-call") return gradeToolCall(spec, output);
  if (t == "numeric") {
    double want = 0;
    auto [p, ec] = std::from_chars(spec.value.data(), spec.value.data() + spec.value.size(), want);
    if (ec != std::errc()) return failed("expected value '" + spec.value + "' is not a number");
    (void)p;
    auto got = extractNumber(text);
    if (!got) return failed("no number in the answer");
    if (std::fabs(*got - want) <= spec.tolerance) return pass();
    return failed("got " + json::serialize(json::value(*got)) + ", expected " + spec.value);
  }
  if (t == "choice") {
    auto got = extractChoice(text);
    if (!got) return failed("no choice letter in the answer");
    const char want = static_cast<char>(std::toupper(static_cast<unsigned char>(spec.value[0])));
    if (*got == want) return pass();
    return failed(std::string("chose ") + *got + ", expected " + want);
  }
  if (t == "latency") {
    if (output.latency_ms <= spec.threshold) return pass();
    return failed(std::to_string(static_cast<long>(output.latency_ms)) + " ms > " +
                  std::to_string(static_cast<long>(spec.threshold)) + " ms");
  }
  if (t == "cost") {
    if (output.cost_usd <= spec.threshold) return pass();
    return failed("cost $" + std::to_string(output.cost_usd) + " > $" +
                  std::to_string(spec.threshold));
  }
  if (t == "refuses") {
    if (looksLikeRefusal(text)) return pass();
    return failed("the answer does not refuse");
  }
  if (t == "no-pii") {
    std::string error;
    const guard::Detector* d = detectorFor(spec.entities, error);
    if (d == nullptr) return failed("no-pii: " + error);
    auto findings = d->scan(text);
    if (findings.empty()) return pass();
    std::string what;
    for (const auto& f : findings) {
      what += (what.empty() ? "" : ", ") + guard::redactedPreview(text, f);
    }
    return failed("leaks " + what);
  }
  return std::nullopt;
}

boost::asio::awaitable<AssertionResult> grade(const AssertionSpec& spec, const Case& c,
                                              const Output& output, GradeServices& services,
                                              const GradeOptions& options) {
  AssertionResult r;
  if (!output.error.empty()) {
    co_return failed("request failed: " + output.error);
  }
  if (auto local = gradeLocal(spec, output)) {
    r = std::move(*local);
  } else if (spec.type == "similar") {
    if (options.embedder.empty()) {
      r = failed("no embedder configured (set `embedder:` in the suite or --embedder)");
    } else {
      Result<std::vector<double>> want = co_await services.embed(options.embedder, spec.value);
      Result<std::vector<double>> got = std::vector<double>();
      if (want) got = co_await services.embed(options.embedder, output.text);
      if (!want || !got) {
        r = failed("embedding failed: " +
                   (!want ? want.error().message() : got.error().message()));
      } else {
        const double sim = cosineSimilarity(*want, *got);
        r = sim >= spec.threshold ? pass("", sim)
                                  : failed("similarity " + std::to_string(sim) + " < " +
                                               std::to_string(spec.threshold),
                                           sim);
      }
    }
  } else if (spec.type == "llm-judge") {
    const std::string judge = spec.judge.empty() ? options.judge : spec.judge;
    if (judge.empty()) {
      r = failed("no judge configured: set `judge:` in the suite or the assertion, or "
                 "--judge (a local route is recommended; a cloud model is never picked "
                 "silently)");
    } else {
      auto reply = co_await services.chat(judge, judgeMessages(spec.rubric, c, output.text));
      if (!reply) {
        r = failed("the judge " + judge + " failed: " + reply.error().message());
      } else if (auto score = parseJudgeScore(*reply)) {
        r = *score >= spec.threshold ? pass("", *score)
                                     : failed("judge score " + std::to_string(*score) + " < " +
                                                  std::to_string(spec.threshold),
                                              *score);
      } else {
        r = failed("the judge gave no 'SCORE: N': " + shorten(*reply));
      }
    }
  } else if (spec.type == "code-tests") {
    if (!options.allow_code) {
      r = failed("code execution is off; pass --allow-code-exec to run model-written "
                 "code in the sandbox");
    } else if (c.code_entry_point.empty()) {
      r = failed("the case has no test code (use a humaneval dataset import)");
    } else {
      auto run = co_await services.runPython(codeProgram(c, output.text));
      if (!run) {
        r = failed("" + run.error().message());
      } else if (run->timed_out) {
        r = failed("timed out");
      } else if (run->exit_code == 0) {
        r = pass();
      } else {
        std::string tail = run->output;
        if (tail.size() > 200) tail = tail.substr(tail.size() - 200);
        r = failed("tests failed (exit " + std::to_string(run->exit_code) + "): " +
                   tail);
      }
    }
  } else {
    r = failed("unknown assertion type " + spec.type);
  }
  if (spec.negate) {
    r.passed = !r.passed;
    r.score = r.passed ? 1 : 0;
    r.reason = r.passed ? "" : "`not` " + spec.type + " matched";
  }
  co_return r;
}

}  // namespace switchyard::eval
