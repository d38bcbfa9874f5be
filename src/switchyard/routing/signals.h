#pragma once
// RequestSignals: what routing needs to know about a request, taken once from the decoded
// request (capabilities it needs, its size) and from the classifier (task type, risk tier).
// Classifier: config rules (keywords, RE2 patterns) first, then a built-in lexical classifier.
// Immutable after construction: thread-safe.

#include <re2/re2.h>
#include <re2/set.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/types.h"
#include "switchyard/config/config.h"

namespace switchyard::routing {

enum Capability : unsigned {
  kCapTools = 1u << 0,
  kCapJsonSchema = 1u << 1,
  kCapVision = 1u << 2,
  kCapReasoning = 1u << 3,
};
unsigned capabilityBits(const std::vector<std::string>& names);
std::string capabilityNames(unsigned bits);  // "tools,vision"

struct RequestSignals {
  unsigned needs = 0;              // Capability bits
  std::int64_t prompt_tokens = 0;  // estimate (characters / 4)
  std::int64_t max_tokens = 0;     // requested output cap; 0: not given
  std::string task_type;           // "chat" when nothing more specific matched
  std::string risk_tier;           // "low" when nothing matched
  std::string task_reason;         // which rule or keyword decided, for explain
  bool local_only = false;         // the guard (or a private RAG collection) said so
  std::string local_only_reason;
  const std::vector<std::string>* allowed_providers = nullptr;  // key scope; null: any
  double budget_remaining = std::numeric_limits<double>::infinity();
};

class Classifier {
 public:
  explicit Classifier(const config::RoutingConfig& config);

  // Fills task_type and (unless already set, e.g. from the x-switchyard-risk header) risk_tier
  // from `text` (the last user message); task_reason too when `explain` (one more pass).
  void classify(std::string_view text, RequestSignals& out, bool explain = false) const;
  // Whether one of the config's task rules matches `text` (rules come before the
  // nearest-neighbour classifier).
  bool matchesTaskRule(std::string_view text) const { return match(tasks_, text, nullptr) >= 0; }

 private:
  // One RE2::Set per rule list: a single linear pass over the text finds every rule that
  // matches; the first in list order wins. Each rule's own regex (keywords as whole words, or
  // its patterns) then names what matched, for explain.
  struct RuleSet {
    std::vector<std::string> names;
    std::vector<std::unique_ptr<RE2>> regexes;  // one per rule, with one capture group
    std::unique_ptr<RE2::Set> set;
  };
  static RuleSet compile(const std::vector<config::SignalRule>& rules);
  // Index of the first matching rule, or -1; `why` receives the matched text.
  static int match(const RuleSet& rules, std::string_view text, std::string* why);

  RuleSet tasks_;
  RuleSet builtin_;
  RuleSet risk_;
};

// Signals of a chat request: capabilities, size, and (with a classifier: a route decides) the
// task type and risk tier of its last user message. Without one, task_type stays empty and
// risk_tier is the header's (or "low").
RequestSignals signalsOf(const api::ChatRequest& request, const Classifier* classifier,
                         std::string_view risk_header, bool explain = false);
RequestSignals signalsOf(const api::CompletionRequest& request, const Classifier* classifier,
                         std::string_view risk_header, bool explain = false);
RequestSignals signalsOf(const api::EmbeddingRequest& request);

// The text the classifiers read: the last user message of a chat, a completion's prompt.
std::string lastUserText(const api::ChatRequest& request);
std::string promptText(const api::CompletionRequest& request);

}  // namespace switchyard::routing
