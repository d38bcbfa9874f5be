#include "switchyard/routing/signals.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace switchyard::routing {
namespace {

constexpr std::pair<Capability, std::string_view> kCapNames[] = {
    {kCapTools, "tools"},
    {kCapJsonSchema, "json_schema"},
    {kCapVision, "vision"},
    {kCapReasoning, "reasoning"},
};

std::string lowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Whole-word (or whole-phrase) occurrence of `needle` in `hay`; both lower case.
bool containsWord(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return false;
  for (std::size_t at = hay.find(needle); at != std::string_view::npos;
       at = hay.find(needle, at + 1)) {
    const bool left = at == 0 || !isWordChar(hay[at - 1]) || !isWordChar(needle.front());
    const std::size_t end = at + needle.size();
    const bool right = end == hay.size() || !isWordChar(hay[end]) || !isWordChar(needle.back());
    if (left && right) return true;
  }
  return false;
}

// The built-in lexical classifier: cheap signals that hold up on real prompts. Config rules
// run first and can override any of these.
struct Builtin {
  std::string_view task;
  std::array<std::string_view, 16> words;
};
constexpr Builtin kBuiltins[] = {
    {"code",
     {"```", "function", "compile", "stack trace", "traceback", "refactor", "python",
      "javascript", "typescript", "c++", "rust", "golang", "sql", "regex", "segfault", "unit test"}},
    {"math",
     {"solve", "equation", "integral", "derivative", "probability", "theorem", "prove",
      "calculate", "compute", "arithmetic", "algebra", "matrix", "how many", "sum of", "", ""}},
    {"extraction",
     {"extract", "parse", "fields", "json", "table", "entities", "fill in", "classify",
      "categorize", "label", "", "", "", "", "", ""}},
    {"summarization",
     {"summarize", "summarise", "summary", "tl;dr", "tldr", "key points", "condense", "", "", "",
      "", "", "", "", "", ""}},
    {"translation",
     {"translate", "translation", "in french", "in german", "in spanish", "into english", "", "",
      "", "", "", "", "", "", "", ""}},
};

bool looksLikeMath(std::string_view text) {
  int digits = 0, ops = 0;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) ++digits;
    if (c == '+' || c == '*' || c == '/' || c == '=' || c == '^') ++ops;
  }
  return digits >= 2 && ops >= 2 && text.size() < 400;
}

std::int64_t textChars(const api::Message& m) {
  std::int64_t chars = 0;
  for (const auto& part : m.content) {
    if (part.kind == api::ContentPart::Kind::kText) {
      chars += static_cast<std::int64_t>(part.text.size());
    }
  }
  for (const auto& call : m.tool_calls) chars += static_cast<std::int64_t>(call.arguments.size());
  return chars;
}

}  // namespace

unsigned capabilityBits(const std::vector<std::string>& names) {
  unsigned bits = 0;
  for (const auto& n : names) {
    for (const auto& [bit, name] : kCapNames) {
      if (n == name) bits |= bit;
    }
  }
  return bits;
}

std::string capabilityNames(unsigned bits) {
  std::string out;
  for (const auto& [bit, name] : kCapNames) {
    if ((bits & bit) == 0) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

Classifier::Classifier(const config::RoutingConfig& config)
    : tasks_(compile(config.tasks)), risk_(compile(config.risk)) {}

std::vector<Classifier::Rule> Classifier::compile(const std::vector<config::SignalRule>& rules) {
  std::vector<Rule> out;
  for (const auto& r : rules) {
    Rule rule;
    rule.name = r.name;
    for (const auto& k : r.keywords) rule.keywords.push_back(lowerCopy(k));
    RE2::Options options;
    options.set_case_sensitive(false);
    options.set_log_errors(false);
    for (const auto& p : r.patterns) rule.patterns.push_back(std::make_unique<RE2>(p, options));
    out.push_back(std::move(rule));
  }
  return out;
}

const Classifier::Rule* Classifier::match(const std::vector<Rule>& rules, std::string_view text,
                                          std::string_view lowered, std::string* why) {
  for (const Rule& rule : rules) {
    for (const auto& k : rule.keywords) {
      if (containsWord(lowered, k)) {
        if (why) *why = "keyword '" + k + "'";
        return &rule;
      }
    }
    for (const auto& p : rule.patterns) {
      if (p->ok() && RE2::PartialMatch(text, *p)) {
        if (why) *why = "pattern '" + p->pattern() + "'";
        return &rule;
      }
    }
  }
  return nullptr;
}

void Classifier::classify(std::string_view text, RequestSignals& out) const {
  // Long prompts: the classifier reads the first and last few KB, where the ask usually is.
  constexpr std::size_t kWindow = 4096;
  std::string sample;
  if (text.size() > 2 * kWindow) {
    sample.assign(text.substr(0, kWindow));
    sample += '\n';
    sample += text.substr(text.size() - kWindow);
    text = sample;
  }
  const std::string lowered = lowerCopy(text);
  std::string why;
  if (const Rule* r = match(tasks_, text, lowered, &why)) {
    out.task_type = r->name;
    out.task_reason = "rule " + r->name + ": " + why;
  } else {
    out.task_type = "chat";
    out.task_reason = "default";
    for (const Builtin& b : kBuiltins) {
      const auto hit = std::find_if(b.words.begin(), b.words.end(), [&](std::string_view w) {
        return !w.empty() && containsWord(lowered, w);
      });
      if (hit != b.words.end()) {
        out.task_type = std::string(b.task);
        out.task_reason = "built-in: '" + std::string(*hit) + "'";
        break;
      }
    }
    if (out.task_type == "chat" && looksLikeMath(text)) {
      out.task_type = "math";
      out.task_reason = "built-in: arithmetic";
    }
  }
  if (out.risk_tier.empty()) {
    if (const Rule* r = match(risk_, text, lowered, nullptr)) {
      out.risk_tier = r->name;
    } else {
      out.risk_tier = "low";
    }
  }
}

RequestSignals signalsOf(const api::ChatRequest& request, const Classifier& classifier,
                         std::string_view risk_header) {
  RequestSignals s;
  s.risk_tier = std::string(risk_header);
  std::int64_t chars = 0;
  const api::Message* last_user = nullptr;
  for (const auto& m : request.messages) {
    chars += textChars(m);
    for (const auto& part : m.content) {
      if (part.kind == api::ContentPart::Kind::kImage) s.needs |= kCapVision;
    }
    if (m.role == api::Role::kUser) last_user = &m;
  }
  for (const auto& t : request.tools) {
    chars += static_cast<std::int64_t>(t.name.size() + t.description.size()) + 64;
  }
  if (!request.tools.empty()) s.needs |= kCapTools;
  if (request.response_format.kind == api::ResponseFormat::Kind::kJsonSchema ||
      request.response_format.kind == api::ResponseFormat::Kind::kJsonObject) {
    s.needs |= kCapJsonSchema;
  }
  if (request.thinking.mode == api::ThinkingConfig::Mode::kEnabled ||
      !request.reasoning_effort.empty()) {
    s.needs |= kCapReasoning;
  }
  s.prompt_tokens = chars / 4 + 4 * static_cast<std::int64_t>(request.messages.size());
  s.max_tokens = request.max_tokens.value_or(0);
  classifier.classify(last_user ? last_user->text() : std::string(), s);
  return s;
}

RequestSignals signalsOf(const api::CompletionRequest& request, const Classifier& classifier,
                         std::string_view risk_header) {
  RequestSignals s;
  s.risk_tier = std::string(risk_header);
  std::string text;
  if (request.prompt.is_string()) {
    text = std::string(request.prompt.get_string());
  } else if (request.prompt.is_array()) {
    for (const auto& p : request.prompt.get_array()) {
      if (p.is_string()) text += std::string(p.get_string());
    }
  }
  s.prompt_tokens = static_cast<std::int64_t>(text.size()) / 4;
  s.max_tokens = request.max_tokens.value_or(0);
  classifier.classify(text, s);
  return s;
}

RequestSignals signalsOf(const api::EmbeddingRequest& request) {
  RequestSignals s;
  std::int64_t chars = 0;
  for (const auto& t : request.texts) chars += static_cast<std::int64_t>(t.size());
  s.prompt_tokens = chars / 4;
  s.task_type = "embedding";
  s.task_reason = "endpoint";
  s.risk_tier = "low";
  return s;
}

}  // namespace switchyard::routing
