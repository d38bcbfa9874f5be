#pragma once
// Chat templating and output parsing on top of llama.cpp's common/chat: GenerationRequest in,
// prompt text + grammar + stop strings out; generated text in, content / reasoning / tool-call
// deltas out. Internal to the engine (includes llama.cpp's common headers).
//
// ChatFormatter is thread-safe (render() serialises on a mutex: the Jinja runtime is not
// documented as reentrant). OutputParser is per request and not thread-safe.

#include <chat.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/engine/engine.h"

struct llama_model;

namespace switchyard::engine {

struct RenderedPrompt {
  std::string prompt;
  common_grammar grammar;  // empty: unconstrained
  bool grammar_lazy = false;
  std::vector<common_grammar_trigger> grammar_triggers;
  std::vector<std::string> preserved_tokens;
  std::vector<std::string> additional_stops;
  std::string generation_prompt;
  common_chat_parser_params parser;
  bool parse_output = false;  // run OutputParser (tools, reasoning); else text is content
};

class ChatFormatter {
 public:
  // `template_override` replaces the model's template when not empty.
  static Result<std::unique_ptr<ChatFormatter>> create(const llama_model* model,
                                                       const std::string& template_override);

  // Chat requests go through the template; raw prompts only get their grammar (json_schema).
  Result<RenderedPrompt> render(const GenerationRequest& request);

  const std::string& templateSource() const { return source_; }

 private:
  ChatFormatter() = default;
  std::mutex mu_;
  common_chat_templates_ptr templates_;
  std::string source_;
};

class OutputParser {
 public:
  explicit OutputParser(common_chat_parser_params params) : params_(std::move(params)) {}

  // `text` is everything generated so far (after stop-string handling). Appends what is new
  // since the previous call to `event` (content, reasoning, tool-call deltas).
  void update(const std::string& text, bool is_partial, EngineEvent& event);

  bool hasToolCalls() const { return !msg_.tool_calls.empty(); }

 private:
  common_chat_parser_params params_;
  common_chat_msg msg_;
  std::vector<std::string> tool_call_ids_;
  std::set<std::size_t> sent_tool_names_;
};

}  // namespace switchyard::engine
