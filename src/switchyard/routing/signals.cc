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

bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// A keyword as a whole word (or phrase): \b only where the keyword starts or ends with a word
// character, so that "c++" and "```" still match.
std::string keywordRegex(std::string_view keyword) {
  std::string out;
  if (isWordChar(keyword.front())) out += "\\b";
  out += RE2::QuoteMeta(keyword);
  if (isWordChar(keyword.back())) out += "\\b";
  return out;
}

// The built-in lexical classifier: cheap signals that hold up on real prompts. Config rules
// run first and can override any of these.
std::vector<config::SignalRule> builtinRules() {
  return {
      {"code",
       {"```", "function", "compile", "compiler", "stack trace", "traceback", "refactor",
        "python", "javascript", "typescript", "c++", "rust", "golang", "sql", "regex", "segfault",
        "unit test", "bug", "exception"},
       {}},
      {"math",
       {"solve", "equation", "integral", "derivative", "probability", "theorem", "prove",
        "calculate", "compute", "arithmetic", "algebra", "matrix", "how many", "sum of"},
       {R"(\d+\s*[-+*/^=]\s*\d+\s*[-+*/^=]\s*\d+)"}},
      {"extraction",
       {"extract", "parse", "fields", "json", "table", "entities", "fill in", "classify",
        "categorize", "label"},
       {}},
      {"summarization",
       {"summarize", "summarise", "summary", "tl;dr", "tldr", "key points", "condense"},
       {}},
      {"translation",
       {"translate", "translation", "in french", "in german", "in spanish", "into english"},
       {}},
  };
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
    : tasks_(compile(config.tasks)), builtin_(compile(builtinRules())), risk_(compile(config.risk)) {}

Classifier::RuleSet Classifier::compile(const std::vector<config::SignalRule>& rules) {
  RuleSet out;
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);
  out.set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (const auto& r : rules) {
    std::string alternation;
    for (const auto& k : r.keywords) {
      if (k.empty()) continue;
      if (!alternation.empty()) alternation += '|';
      alternation += keywordRegex(k);
    }
    for (const auto& p : r.patterns) {
      if (!alternation.empty()) alternation += '|';
      alternation += "(?:" + p + ")";
    }
    if (alternation.empty()) alternation = "[^\\s\\S]";  // matches nothing
    const std::string pattern = "(" + alternation + ")";
    auto re = std::make_unique<RE2>(pattern, options);
    // Config patterns were checked at load; a rule that still fails to compile never matches.
    if (!re->ok() || out.set->Add(pattern, nullptr) < 0) {
      re = std::make_unique<RE2>("([^\\s\\S])", options);
      (void)out.set->Add("[^\\s\\S]", nullptr);
    }
    out.names.push_back(r.name);
    out.regexes.push_back(std::move(re));
  }
  if (!out.set->Compile()) out.set.reset();
  return out;
}

int Classifier::match(const RuleSet& rules, std::string_view text, std::string* why) {
  if (!rules.set || rules.names.empty()) return -1;
  std::vector<int> hits;
  if (!rules.set->Match(text, &hits) || hits.empty()) return -1;
  const int first = *std::min_element(hits.begin(), hits.end());
  if (why != nullptr) {
    std::string matched;
    if (RE2::PartialMatch(text, *rules.regexes[static_cast<std::size_t>(first)], &matched)) {
      *why = "'" + matched.substr(0, 40) + "'";
    }
  }
  return first;
}

void Classifier::classify(std::string_view text, RequestSignals& out, bool explain) const {
  // Long prompts: the classifier reads the first and last few KB, where the ask usually is.
  constexpr std::size_t kWindow = 4096;
  std::string sample;
  if (text.size() > 2 * kWindow) {
    sample.assign(text.substr(0, kWindow));
    sample += '\n';
    sample += text.substr(text.size() - kWindow);
    text = sample;
  }
  std::string why;
  std::string* reason = explain ? &why : nullptr;
  if (int rule = match(tasks_, text, reason); rule >= 0) {
    out.task_type = tasks_.names[static_cast<std::size_t>(rule)];
    out.task_reason = "rule " + out.task_type + ": " + why;
  } else if (rule = match(builtin_, text, reason); rule >= 0) {
    out.task_type = builtin_.names[static_cast<std::size_t>(rule)];
    out.task_reason = "built-in: " + why;
  } else {
    out.task_type = "chat";
    out.task_reason = "default";
  }
  if (out.risk_tier.empty()) {
    const int rule = match(risk_, text, nullptr);
    out.risk_tier = rule >= 0 ? risk_.names[static_cast<std::size_t>(rule)] : "low";
  }
}

RequestSignals signalsOf(const api::ChatRequest& request, const Classifier* classifier,
                         std::string_view risk_header, bool explain) {
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
  if (classifier != nullptr) {
    classifier->classify(last_user ? last_user->text() : std::string(), s, explain);
  } else if (s.risk_tier.empty()) {
    s.risk_tier = "low";
  }
  return s;
}

RequestSignals signalsOf(const api::CompletionRequest& request, const Classifier* classifier,
                         std::string_view risk_header, bool explain) {
  RequestSignals s;
  s.risk_tier = std::string(risk_header);
  const std::string text = promptText(request);
  s.prompt_tokens = static_cast<std::int64_t>(text.size()) / 4;
  s.max_tokens = request.max_tokens.value_or(0);
  if (classifier != nullptr) {
    classifier->classify(text, s, explain);
  } else if (s.risk_tier.empty()) {
    s.risk_tier = "low";
  }
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

std::string lastUserText(const api::ChatRequest& request) {
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == api::Role::kUser) return it->text();
  }
  return {};
}

std::string promptText(const api::CompletionRequest& request) {
  std::string text;
  if (request.prompt.is_string()) {
    text = std::string(request.prompt.get_string());
  } else if (request.prompt.is_array()) {
    for (const auto& p : request.prompt.get_array()) {
      if (p.is_string()) text += std::string(p.get_string());
    }
  }
  return text;
}

}  // namespace switchyard::routing
