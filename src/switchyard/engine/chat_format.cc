#include "switchyard/engine/chat_format.h"

#include <json-schema-to-grammar.h>
#include <json.h>
#include <llama.h>

#include <algorithm>
#include <exception>
#include <random>
#include <utility>

#include "switchyard/core/log.h"

namespace switchyard::engine {
namespace {

constexpr const char* kEmptyParameters = R"({"type":"object","properties":{}})";
constexpr const char* kAnyObject = R"({"type":"object"})";

std::string randomToolCallId() {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(0, sizeof(kAlphabet) - 2);
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id.push_back(kAlphabet[pick(rng)]);
  return id;
}

Status invalid(std::string message, std::string param = {}) {
  Status st(ErrorCode::kInvalidArgument, std::move(message));
  if (!param.empty()) st.withParam(std::move(param));
  return st;
}

// The schema text the request asks for, or empty.
std::string wantedSchema(const GenerationRequest& request) {
  if (!request.json_schema.empty()) return request.json_schema;
  if (request.json_object) return kAnyObject;
  return {};
}

Result<common_grammar> schemaGrammar(const std::string& schema_text) {
  try {
    auto schema = common_json::parse(schema_text);
    return common_grammar(COMMON_GRAMMAR_TYPE_OUTPUT_FORMAT, json_schema_to_grammar(schema));
  } catch (const std::exception& e) {
    return fail(invalid(std::string("json_schema: ") + e.what(), "response_format"));
  }
}

common_chat_msg toCommon(const ChatMessage& m) {
  common_chat_msg out;
  out.role = m.role;
  out.content = m.content;
  out.reasoning_content = m.reasoning_content;
  out.tool_call_id = m.tool_call_id;
  out.tool_name = m.name;
  for (const auto& tc : m.tool_calls) {
    out.tool_calls.push_back({tc.name, tc.arguments.empty() ? "{}" : tc.arguments, tc.id});
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<ChatFormatter>> ChatFormatter::create(const llama_model* model,
                                                             const std::string& template_override) {
  std::unique_ptr<ChatFormatter> f(new ChatFormatter());
  try {
    f->templates_ = common_chat_templates_init(model, template_override);
    f->source_ = common_chat_templates_source(f->templates_.get());
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument, std::string("chat template: ") + e.what());
  }
  return f;
}

Result<RenderedPrompt> ChatFormatter::render(const GenerationRequest& request) {
  RenderedPrompt out;
  const std::string schema = wantedSchema(request);

  if (request.messages.empty()) {
    if (!request.tools.empty()) return fail(invalid("tools need chat messages", "tools"));
    out.prompt = request.raw_prompt;
    if (!schema.empty()) {
      auto g = schemaGrammar(schema);
      if (!g) return fail(g.error());
      out.grammar = std::move(*g);
    }
    return out;
  }

  common_chat_templates_inputs inputs;
  inputs.use_jinja = true;
  inputs.add_generation_prompt = true;
  inputs.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
  inputs.enable_thinking = request.enable_thinking;
  inputs.parallel_tool_calls = request.parallel_tool_calls;
  for (const auto& m : request.messages) inputs.messages.push_back(toCommon(m));

  bool found_forced = request.tool_choice_name.empty();
  for (const auto& t : request.tools) {
    if (!request.tool_choice_name.empty() && t.name != request.tool_choice_name) continue;
    found_forced = true;
    inputs.tools.push_back(
        {t.name, t.description, t.parameters.empty() ? kEmptyParameters : t.parameters});
  }
  if (!found_forced) {
    return fail(invalid("tool_choice names an unknown tool '" + request.tool_choice_name + "'",
                        "tool_choice"));
  }
  if (!request.tool_choice_name.empty() || request.tool_choice == ToolChoice::kRequired) {
    if (inputs.tools.empty()) return fail(invalid("tool_choice requires tools", "tool_choice"));
    inputs.tool_choice = COMMON_CHAT_TOOL_CHOICE_REQUIRED;
  } else if (request.tool_choice == ToolChoice::kNone) {
    inputs.tool_choice = COMMON_CHAT_TOOL_CHOICE_NONE;
  }
  if (!schema.empty()) {
    // Fail on bad JSON here, with our message, rather than deep inside the template code.
    auto g = schemaGrammar(schema);
    if (!g) return fail(g.error());
    inputs.json_schema = schema;
  }

  common_chat_params params;
  try {
    std::lock_guard lock(mu_);
    params = common_chat_templates_apply(templates_.get(), inputs);
  } catch (const std::exception& e) {
    return fail(invalid(std::string("chat template: ") + e.what(), "messages"));
  }
  // A template with tool calling always yields a tool-call grammar (lazy under tool_choice
  // auto). Without one the tools never reach the prompt and no call could be parsed: refuse, as
  // Ollama does, rather than answer as if no tools had been sent.
  if (!inputs.tools.empty() && inputs.tool_choice != COMMON_CHAT_TOOL_CHOICE_NONE &&
      params.grammar.empty()) {
    return fail(
        invalid("this model does not support tools: its chat template has no tool calling (send "
                "tool_choice \"none\", or configure a chat_template that renders tools)",
                "tools"));
  }

  out.prompt = std::move(params.prompt);
  if (!params.grammar.empty()) {
    // Same tagging as llama-server: template-made grammars are prefilled with the generation
    // prompt by the sampler.
    out.grammar = common_grammar(COMMON_GRAMMAR_TYPE_TOOL_CALLS, params.grammar);
  } else if (!schema.empty()) {
    auto g = schemaGrammar(schema);
    if (!g) return fail(g.error());
    out.grammar = std::move(*g);
  }
  out.grammar_lazy = params.grammar_lazy && !out.grammar.empty();
  out.grammar_triggers = std::move(params.grammar_triggers);
  out.preserved_tokens = std::move(params.preserved_tokens);
  out.additional_stops = std::move(params.additional_stops);
  out.generation_prompt = params.generation_prompt;

  out.parser = common_chat_parser_params(params);
  out.parser.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
  out.parser.parse_tool_calls =
      !inputs.tools.empty() && inputs.tool_choice != COMMON_CHAT_TOOL_CHOICE_NONE;
  if (!params.parser.empty()) {
    try {
      out.parser.parser.load(params.parser);
    } catch (const std::exception& e) {
      return fail(ErrorCode::kInternal, std::string("chat output parser: ") + e.what());
    }
  }
  out.parse_output = !params.parser.empty() || params.format != COMMON_CHAT_FORMAT_CONTENT_ONLY;
  return out;
}

void OutputParser::update(const std::string& text, bool is_partial, EngineEvent& event) {
  common_chat_msg next;
  std::vector<common_chat_msg_diff> diffs;
  try {
    next = common_chat_parse(text, is_partial, params_);
    if (next.empty()) return;
    next.set_tool_call_ids(tool_call_ids_, randomToolCallId);
    diffs = common_chat_msg_diff::compute_diffs(msg_, next);
  } catch (const std::exception& e) {
    // A partial parse can fail until more text arrives; a final one that fails leaves the text
    // as it was last understood.
    if (!is_partial) {
      logEvent(spdlog::level::warn, "engine_output_unparsed", {{"error", e.what()}});
    }
    return;
  }
  msg_ = std::move(next);

  // As llama-server: announce a tool call (id + name) once its name is complete, i.e. when its
  // arguments start or the message ends, then stream only argument text.
  auto announce = [&](std::size_t i) {
    if (sent_tool_names_.contains(i) || msg_.tool_calls[i].name.empty()) return;
    event.tool_calls.push_back(
        {static_cast<int>(i), msg_.tool_calls[i].id, msg_.tool_calls[i].name, {}});
    sent_tool_names_.insert(i);
  };
  for (auto& d : diffs) {
    event.reasoning_text += d.reasoning_content_delta;
    event.text += d.content_delta;
    if (d.tool_call_index == std::string::npos) continue;
    const std::size_t i = d.tool_call_index;
    for (std::size_t j = 0; j < i; ++j) announce(j);
    if (!sent_tool_names_.contains(i)) {
      if (d.tool_call_delta.arguments.empty() && is_partial) continue;  // name may still grow
      announce(i);
    }
    if (!d.tool_call_delta.arguments.empty()) {
      if (!event.tool_calls.empty() && event.tool_calls.back().index == static_cast<int>(i)) {
        event.tool_calls.back().arguments += d.tool_call_delta.arguments;
      } else {
        event.tool_calls.push_back({static_cast<int>(i), {}, {}, d.tool_call_delta.arguments});
      }
    }
  }
  if (!is_partial) {
    for (std::size_t i = 0; i < msg_.tool_calls.size(); ++i) announce(i);
  }
}

}  // namespace switchyard::engine
