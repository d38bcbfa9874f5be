#include "switchyard/api/openai/responses_codec.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <limits>
#include <utility>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_fields.h"
#include "switchyard/api/json_writer.h"

namespace switchyard::api::openai {

namespace {

namespace json = boost::json;

// Validating reader over one request: methods return false after recording the first error.
class Decoder {
 public:
  Status takeError() { return std::move(error_); }

  bool failWith(std::string message, const std::string& param) {
    error_ = Status(ErrorCode::kInvalidArgument, std::move(message));
    if (!param.empty()) error_.withParam(param);
    return false;
  }
  bool typeError(const std::string& p, std::string_view expected, const json::value& got) {
    return failWith(
        p + ": expected " + std::string(expected) + ", got " + std::string(kindName(got)), p);
  }
  bool missing(const std::string& p) { return failWith(p + ": field required", p); }
  // A feature this gateway does not offer.
  bool unsupported(const std::string& p, std::string_view what) {
    error_ = Status(ErrorCode::kInvalidArgument,
                    std::string(what) +
                        " is not supported by this gateway's Responses API (see "
                        "docs/responses.md)")
                 .withErrorType("unsupported_parameter");
    error_.withParam(p);
    return false;
  }
  // A stateful feature while stored responses are off.
  bool stateless(const std::string& p, std::string_view what) {
    error_ = Status(ErrorCode::kInvalidArgument,
                    std::string(what) +
                        " is not supported: stored responses are off on this gateway "
                        "(responses.enabled: false; see docs/responses.md)")
                 .withErrorType("unsupported_parameter");
    error_.withParam(p);
    return false;
  }

  bool string(const json::value& v, const std::string& p, std::string& out) {
    if (const json::string* s = v.if_string()) {
      out.assign(s->data(), s->size());
      return true;
    }
    return typeError(p, "a string", v);
  }
  bool boolean(const json::value& v, const std::string& p, std::optional<bool>& out) {
    if (const bool* b = v.if_bool()) {
      out = *b;
      return true;
    }
    return typeError(p, "a boolean", v);
  }
  bool number(const json::value& v, const std::string& p, double min, double max,
              std::optional<double>& out) {
    double d = 0;
    if (v.is_double()) {
      d = v.get_double();
    } else if (v.is_int64()) {
      d = static_cast<double>(v.get_int64());
    } else if (v.is_uint64()) {
      d = static_cast<double>(v.get_uint64());
    } else {
      return typeError(p, "a number", v);
    }
    if (d < min || d > max) {
      return failWith(p + ": must be between " + std::to_string(static_cast<int>(min)) + " and " +
                          std::to_string(static_cast<int>(max)),
                      p);
    }
    out = d;
    return true;
  }
  bool positiveInteger(const json::value& v, const std::string& p,
                       std::optional<std::int64_t>& out) {
    if (v.is_int64() && v.get_int64() >= 1) {
      out = v.get_int64();
      return true;
    }
    if (v.is_uint64()) {
      out = std::numeric_limits<std::int64_t>::max();  // beyond int64: no limit at all
      return true;
    }
    if (v.is_int64()) return failWith(p + ": must be at least 1", p);
    return typeError(p, "an integer", v);
  }
  const json::object* object(const json::value& v, const std::string& p) {
    if (const json::object* o = v.if_object()) return o;
    typeError(p, "an object", v);
    return nullptr;
  }
  const json::array* array(const json::value& v, const std::string& p) {
    if (const json::array* a = v.if_array()) return a;
    typeError(p, "an array", v);
    return nullptr;
  }

  bool request(const json::object& o, const ResponsesOptions& options, const json::array* history,
               ResponsesRequest& out);

 private:
  bool input(const json::value& v, ChatRequest& r);
  bool items(const json::array& list, std::string_view prefix, ChatRequest& r);
  bool inputItem(const json::object& item, const std::string& p, ChatRequest& r);
  bool messageItem(const json::object& item, const std::string& p, ChatRequest& r);
  bool contentPart(const json::value& v, const std::string& p, ContentPart& out,
                   std::string* refusal);
  bool functionCallItem(const json::object& item, const std::string& p, ChatRequest& r);
  bool functionCallOutputItem(const json::object& item, const std::string& p, ChatRequest& r);
  bool reasoningItem(const json::object& item, const std::string& p);
  bool tools(const json::value& v, ChatRequest& r, json::array& echo);
  bool toolChoice(const json::value& v, ChatRequest& r);
  bool text(const json::value& v, ChatRequest& r, json::object& echo);
  bool reasoning(const json::value& v, ChatRequest& r);

  // The assistant message that function_call items attach to: the last message when it is
  // an assistant message and nothing came after it.
  Message& assistantTurn(ChatRequest& r) {
    if (r.messages.empty() || r.messages.back().role != Role::kAssistant || !open_assistant_) {
      Message m;
      m.role = Role::kAssistant;
      m.content_form = Message::ContentForm::kNull;
      r.messages.push_back(std::move(m));
      open_assistant_ = true;
    }
    Message& m = r.messages.back();
    if (!pending_reasoning_.empty()) {
      m.reasoning_content += pending_reasoning_;
      pending_reasoning_.clear();
    }
    return m;
  }

  Status error_;
  bool open_assistant_ = false;
  std::string pending_reasoning_;  // from a reasoning input item, for the next assistant turn
};

bool Decoder::contentPart(const json::value& v, const std::string& p, ContentPart& out,
                          std::string* refusal) {
  const json::object* o = object(v, p);
  if (o == nullptr) return false;
  const json::value* type = o->if_contains("type");
  if (type == nullptr) return missing(p + ".type");
  std::string t;
  if (!string(*type, p + ".type", t)) return false;
  if (t == "input_text" || t == "output_text" || t == "text") {
    const json::value* text = o->if_contains("text");
    if (text == nullptr) return missing(p + ".text");
    out.kind = ContentPart::Kind::kText;
    return string(*text, p + ".text", out.text);
  }
  if (t == "input_image") {
    if (o->if_contains("file_id") != nullptr && !o->at("file_id").is_null()) {
      return unsupported(p + ".file_id", "input_image.file_id (uploaded files)");
    }
    const json::value* url = o->if_contains("image_url");
    if (url == nullptr || url->is_null()) return missing(p + ".image_url");
    out.kind = ContentPart::Kind::kImage;
    if (!string(*url, p + ".image_url", out.image_url)) return false;
    if (const json::value* d = o->if_contains("detail"); d && !d->is_null()) {
      if (!string(*d, p + ".detail", out.image_detail)) return false;
    }
    return true;
  }
  if (t == "refusal" && refusal != nullptr) {
    const json::value* r = o->if_contains("refusal");
    if (r == nullptr) return missing(p + ".refusal");
    return string(*r, p + ".refusal", *refusal);
  }
  if (t == "input_file" || t == "input_audio") {
    return unsupported(p + ".type", "content part '" + t + "'");
  }
  return failWith(p + ".type: unknown content part type '" + t + "'", p + ".type");
}

bool Decoder::messageItem(const json::object& item, const std::string& p, ChatRequest& r) {
  const json::value* role_v = item.if_contains("role");
  if (role_v == nullptr) return missing(p + ".role");
  std::string role_name;
  if (!string(*role_v, p + ".role", role_name)) return false;
  Message m;
  if (role_name == "user") {
    m.role = Role::kUser;
  } else if (role_name == "assistant") {
    m.role = Role::kAssistant;
  } else if (role_name == "system") {
    m.role = Role::kSystem;
  } else if (role_name == "developer") {
    m.role = Role::kDeveloper;
  } else {
    return failWith(p + ".role: must be one of user, assistant, system, developer", p + ".role");
  }
  const json::value* content = item.if_contains("content");
  if (content == nullptr) return missing(p + ".content");
  if (const json::string* s = content->if_string()) {
    m.content_form = Message::ContentForm::kString;
    m.content.push_back(ContentPart{.text = std::string(*s)});
  } else if (const json::array* parts = content->if_array()) {
    m.content_form = Message::ContentForm::kParts;
    std::string refusal;
    for (std::size_t i = 0; i < parts->size(); ++i) {
      const std::string pp = p + ".content[" + std::to_string(i) + "]";
      ContentPart part;
      std::string one_refusal;
      if (!contentPart((*parts)[i], pp, part,
                       m.role == Role::kAssistant ? &one_refusal : nullptr)) {
        return false;
      }
      if (!one_refusal.empty()) {
        refusal += one_refusal;
        continue;
      }
      if (part.kind == ContentPart::Kind::kImage && m.role != Role::kUser) {
        return failWith(pp + ": images are only allowed in user messages", pp);
      }
      m.content.push_back(std::move(part));
    }
    if (!refusal.empty()) m.refusal = std::move(refusal);
    // Text-only assistant, system and developer turns travel as plain strings: every
    // upstream accepts those.
    if (m.role != Role::kUser) {
      bool all_text = true;
      for (const auto& part : m.content) all_text &= part.kind == ContentPart::Kind::kText;
      if (all_text) {
        std::string joined;
        for (const auto& part : m.content) joined += part.text;
        m.content.clear();
        if (joined.empty() && m.role == Role::kAssistant) {
          m.content_form = Message::ContentForm::kNull;
        } else {
          m.content_form = Message::ContentForm::kString;
          m.content.push_back(ContentPart{.text = std::move(joined)});
        }
      }
    }
  } else {
    return typeError(p + ".content", "a string or an array of content parts", *content);
  }
  if (m.role == Role::kAssistant) {
    if (!pending_reasoning_.empty()) {
      m.reasoning_content = std::move(pending_reasoning_);
      pending_reasoning_.clear();
    }
    r.messages.push_back(std::move(m));
    open_assistant_ = true;
  } else {
    r.messages.push_back(std::move(m));
    open_assistant_ = false;
  }
  return true;
}

bool Decoder::functionCallItem(const json::object& item, const std::string& p, ChatRequest& r) {
  ToolCall call;
  const json::value* call_id = item.if_contains("call_id");
  if (call_id == nullptr) return missing(p + ".call_id");
  if (!string(*call_id, p + ".call_id", call.id)) return false;
  const json::value* name = item.if_contains("name");
  if (name == nullptr) return missing(p + ".name");
  if (!string(*name, p + ".name", call.name)) return false;
  const json::value* args = item.if_contains("arguments");
  if (args == nullptr) return missing(p + ".arguments");
  if (!string(*args, p + ".arguments", call.arguments)) return false;
  assistantTurn(r).tool_calls.push_back(std::move(call));
  return true;
}

bool Decoder::functionCallOutputItem(const json::object& item, const std::string& p,
                                     ChatRequest& r) {
  Message m;
  m.role = Role::kTool;
  const json::value* call_id = item.if_contains("call_id");
  if (call_id == nullptr) return missing(p + ".call_id");
  if (!string(*call_id, p + ".call_id", m.tool_call_id)) return false;
  const json::value* output = item.if_contains("output");
  if (output == nullptr) return missing(p + ".output");
  if (const json::string* s = output->if_string()) {
    m.content.push_back(ContentPart{.text = std::string(*s)});
  } else if (const json::array* parts = output->if_array()) {
    // Tool messages carry text: the text parts joined.
    std::string joined;
    for (std::size_t i = 0; i < parts->size(); ++i) {
      const std::string pp = p + ".output[" + std::to_string(i) + "]";
      ContentPart part;
      if (!contentPart((*parts)[i], pp, part, nullptr)) return false;
      if (part.kind != ContentPart::Kind::kText) {
        return unsupported(pp, "a function_call_output with images");
      }
      joined += part.text;
    }
    m.content.push_back(ContentPart{.text = std::move(joined)});
  } else {
    return typeError(p + ".output", "a string or an array of content parts", *output);
  }
  r.messages.push_back(std::move(m));
  open_assistant_ = false;
  return true;
}

bool Decoder::reasoningItem(const json::object& item, const std::string& p) {
  // Stateless reasoning replays carry their summary text; encrypted_content is OpenAI's own
  // state and cannot travel to another provider.
  if (const json::value* enc = item.if_contains("encrypted_content"); enc && !enc->is_null()) {
    return unsupported(p + ".encrypted_content", "reasoning.encrypted_content");
  }
  if (const json::value* summary = item.if_contains("summary")) {
    const json::array* parts = array(*summary, p + ".summary");
    if (parts == nullptr) return false;
    for (std::size_t i = 0; i < parts->size(); ++i) {
      const std::string pp = p + ".summary[" + std::to_string(i) + "]";
      const json::object* o = object((*parts)[i], pp);
      if (o == nullptr) return false;
      std::string text;
      const json::value* t = o->if_contains("text");
      if (t == nullptr) return missing(pp + ".text");
      if (!string(*t, pp + ".text", text)) return false;
      if (!pending_reasoning_.empty()) pending_reasoning_ += "\n\n";
      pending_reasoning_ += text;
    }
  }
  return true;
}

bool Decoder::inputItem(const json::object& item, const std::string& p, ChatRequest& r) {
  std::string type = "message";
  if (const json::value* t = item.if_contains("type")) {
    if (!string(*t, p + ".type", type)) return false;
  }
  if (type == "message") return messageItem(item, p, r);
  if (type == "function_call") return functionCallItem(item, p, r);
  if (type == "function_call_output") return functionCallOutputItem(item, p, r);
  if (type == "reasoning") return reasoningItem(item, p);
  if (type == "item_reference") {
    // With stored responses on, the routes replace references before decoding.
    return stateless(p + ".type", "input item 'item_reference' (stored items)");
  }
  return unsupported(p + ".type", "input item '" + type + "' (built-in tools)");
}

bool Decoder::input(const json::value& v, ChatRequest& r) {
  if (const json::string* s = v.if_string()) {
    Message m;
    m.role = Role::kUser;
    m.content.push_back(ContentPart{.text = std::string(*s)});
    r.messages.push_back(std::move(m));
    return true;
  }
  const json::array* list = v.if_array();
  if (list == nullptr) return typeError("input", "a string or an array of input items", v);
  return items(*list, "input", r);
}

bool Decoder::items(const json::array& list, std::string_view prefix, ChatRequest& r) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = std::string(prefix) + "[" + std::to_string(i) + "]";
    const json::object* item = object(list[i], p);
    if (item == nullptr || !inputItem(*item, p, r)) return false;
  }
  return true;
}

bool Decoder::tools(const json::value& v, ChatRequest& r, json::array& echo) {
  const json::array* list = array(v, "tools");
  if (list == nullptr) return false;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string p = "tools[" + std::to_string(i) + "]";
    const json::object* o = object((*list)[i], p);
    if (o == nullptr) return false;
    const json::value* type_v = o->if_contains("type");
    if (type_v == nullptr) return missing(p + ".type");
    std::string type;
    if (!string(*type_v, p + ".type", type)) return false;
    if (type != "function") return unsupported(p + ".type", "built-in tool '" + type + "'");
    ToolDef tool;
    const json::value* name = o->if_contains("name");
    if (name == nullptr) return missing(p + ".name");
    if (!string(*name, p + ".name", tool.name)) return false;
    if (const json::value* d = o->if_contains("description"); d && !d->is_null()) {
      if (!string(*d, p + ".description", tool.description)) return false;
    }
    if (const json::value* params = o->if_contains("parameters"); params && !params->is_null()) {
      if (object(*params, p + ".parameters") == nullptr) return false;
      tool.parameters = json::value(*params, json::storage_ptr());
    }
    if (const json::value* s = o->if_contains("strict"); s && !s->is_null()) {
      if (!boolean(*s, p + ".strict", tool.strict)) return false;
    }
    json::object e;
    e["type"] = "function";
    e["name"] = tool.name;
    e["description"] =
        tool.description.empty() ? json::value(nullptr) : json::value(tool.description);
    e["parameters"] = tool.parameters;
    e["strict"] = tool.strict.value_or(false);
    echo.push_back(std::move(e));
    r.tools.push_back(std::move(tool));
  }
  return true;
}

bool Decoder::toolChoice(const json::value& v, ChatRequest& r) {
  if (const json::string* s = v.if_string()) {
    if (*s == "auto") {
      r.tool_choice.mode = ToolChoice::Mode::kAuto;
    } else if (*s == "none") {
      r.tool_choice.mode = ToolChoice::Mode::kNone;
    } else if (*s == "required") {
      r.tool_choice.mode = ToolChoice::Mode::kRequired;
    } else {
      return failWith("tool_choice: must be auto, none, required or a function", "tool_choice");
    }
    return true;
  }
  const json::object* o = object(v, "tool_choice");
  if (o == nullptr) return false;
  std::string type;
  const json::value* t = o->if_contains("type");
  if (t == nullptr) return missing("tool_choice.type");
  if (!string(*t, "tool_choice.type", type)) return false;
  if (type != "function") {
    return unsupported("tool_choice.type", "tool_choice of type '" + type + "'");
  }
  const json::value* name = o->if_contains("name");
  if (name == nullptr) return missing("tool_choice.name");
  r.tool_choice.mode = ToolChoice::Mode::kFunction;
  return string(*name, "tool_choice.name", r.tool_choice.function_name);
}

bool Decoder::text(const json::value& v, ChatRequest& r, json::object& echo) {
  const json::object* o = object(v, "text");
  if (o == nullptr) return false;
  json::object format{{"type", "text"}};
  if (const json::value* f = o->if_contains("format"); f && !f->is_null()) {
    const json::object* fo = object(*f, "text.format");
    if (fo == nullptr) return false;
    const json::value* t = fo->if_contains("type");
    if (t == nullptr) return missing("text.format.type");
    std::string type;
    if (!string(*t, "text.format.type", type)) return false;
    ResponseFormat& rf = r.response_format;
    if (type == "text") {
      rf.kind = ResponseFormat::Kind::kText;
    } else if (type == "json_object") {
      rf.kind = ResponseFormat::Kind::kJsonObject;
      format["type"] = "json_object";
    } else if (type == "json_schema") {
      rf.kind = ResponseFormat::Kind::kJsonSchema;
      const json::value* name = fo->if_contains("name");
      if (name == nullptr) return missing("text.format.name");
      if (!string(*name, "text.format.name", rf.schema_name)) return false;
      const json::value* schema = fo->if_contains("schema");
      if (schema == nullptr) return missing("text.format.schema");
      if (object(*schema, "text.format.schema") == nullptr) return false;
      rf.schema = json::value(*schema, json::storage_ptr());
      if (const json::value* s = fo->if_contains("strict"); s && !s->is_null()) {
        if (!boolean(*s, "text.format.strict", rf.strict)) return false;
      }
      if (const json::value* d = fo->if_contains("description"); d && !d->is_null()) {
        if (!string(*d, "text.format.description", rf.schema_description)) return false;
      }
      format = json::object(*fo, json::storage_ptr());
    } else {
      return failWith("text.format.type: must be text, json_object or json_schema",
                      "text.format.type");
    }
  }
  echo["format"] = std::move(format);
  if (const json::value* verbosity = o->if_contains("verbosity");
      verbosity && !verbosity->is_null()) {
    std::string level;
    if (!string(*verbosity, "text.verbosity", level)) return false;
    r.extra["verbosity"] = level;  // chat completions' own name for it
    echo["verbosity"] = level;
  }
  return true;
}

bool Decoder::reasoning(const json::value& v, ChatRequest& r) {
  const json::object* o = object(v, "reasoning");
  if (o == nullptr) return false;
  if (const json::value* e = o->if_contains("effort"); e && !e->is_null()) {
    if (!string(*e, "reasoning.effort", r.reasoning_effort)) return false;
  }
  // `summary` is a hint about the summary's length; reasoning the provider returns comes
  // back as a summary either way.
  return true;
}

bool Decoder::request(const json::object& o, const ResponsesOptions& options,
                      const json::array* history, ResponsesRequest& out) {
  ChatRequest& r = out.chat;
  json::object& echo = out.echo;
  // Conversations and stored prompts are not offered; stored responses when configured.
  for (const char* key : {"conversation", "prompt"}) {
    if (const json::value* v = o.if_contains(key); v && !v->is_null()) {
      return unsupported(key, key);
    }
  }
  if (const json::value* v = o.if_contains("previous_response_id"); v && !v->is_null()) {
    if (!options.stored) return stateless("previous_response_id", "previous_response_id");
    if (!string(*v, "previous_response_id", out.previous_response_id)) return false;
    if (out.previous_response_id.empty()) {
      return failWith("previous_response_id: must not be empty", "previous_response_id");
    }
  }
  out.store = options.stored && options.store_by_default;
  if (const json::value* v = o.if_contains("store"); v && !v->is_null()) {
    std::optional<bool> store;
    if (!boolean(*v, "store", store)) return false;
    if (*store && !options.stored) return stateless("store", "store: true (stored responses)");
    out.store = *store;
  }
  if (const json::value* v = o.if_contains("background"); v && !v->is_null()) {
    std::optional<bool> background;
    if (!boolean(*v, "background", background)) return false;
    if (*background) return unsupported("background", "background: true");
  }
  if (const json::value* v = o.if_contains("truncation"); v && !v->is_null()) {
    std::string t;
    if (!string(*v, "truncation", t)) return false;
    if (t != "disabled") return unsupported("truncation", "truncation: " + t);
  }
  if (const json::value* v = o.if_contains("include"); v && !v->is_null()) {
    const json::array* a = array(*v, "include");
    if (a == nullptr) return false;
    for (std::size_t i = 0; i < a->size(); ++i) {
      std::string what;
      if (!string((*a)[i], "include[" + std::to_string(i) + "]", what)) return false;
      if (what != "message.output_text.logprobs") return unsupported("include", "include: " + what);
      r.logprobs = true;
    }
  }
  if (const json::value* v = o.if_contains("top_logprobs"); v && !v->is_null()) {
    if (!v->is_int64()) return typeError("top_logprobs", "an integer", *v);
    if (v->get_int64() < 0 || v->get_int64() > 20) {
      return failWith("top_logprobs: must be between 0 and 20", "top_logprobs");
    }
    // Chat completions take it only with logprobs, which `include` asks for.
    if (r.logprobs) r.top_logprobs = static_cast<int>(v->get_int64());
    echo["top_logprobs"] = v->get_int64();
  }
  if (const json::value* v = o.if_contains("max_tool_calls"); v && !v->is_null()) {
    return unsupported("max_tool_calls", "max_tool_calls");
  }

  const json::value* model = o.if_contains("model");
  if (model == nullptr) return missing("model");
  if (!string(*model, "model", r.model)) return false;

  if (const json::value* v = o.if_contains("instructions"); v && !v->is_null()) {
    std::string instructions;
    if (!v->is_string()) {
      return unsupported("instructions", "instructions as a list of input items");
    }
    if (!string(*v, "instructions", instructions)) return false;
    Message m;
    m.role = Role::kSystem;
    m.content.push_back(ContentPart{.text = instructions});
    r.messages.push_back(std::move(m));
    echo["instructions"] = instructions;
  } else {
    echo["instructions"] = nullptr;
  }
  const json::value* in = o.if_contains("input");
  if (in == nullptr) return missing("input");
  // The conversation so far (previous_response_id) comes after the instructions, which are
  // not carried over from earlier responses, and before this request's input.
  if (history != nullptr && !items(*history, "previous_response_id:input", r)) return false;
  if (!input(*in, r)) return false;
  if (r.messages.empty()) return failWith("input: must not be empty", "input");

  json::array tools_echo;
  if (const json::value* v = o.if_contains("tools"); v && !v->is_null()) {
    if (!tools(*v, r, tools_echo)) return false;
  }
  echo["tools"] = std::move(tools_echo);
  if (const json::value* v = o.if_contains("tool_choice"); v && !v->is_null()) {
    if (!toolChoice(*v, r)) return false;
    echo["tool_choice"] = json::value(*v, json::storage_ptr());
  } else {
    echo["tool_choice"] = "auto";
  }
  if (const json::value* v = o.if_contains("parallel_tool_calls"); v && !v->is_null()) {
    if (!boolean(*v, "parallel_tool_calls", r.parallel_tool_calls)) return false;
  }
  echo["parallel_tool_calls"] = r.parallel_tool_calls.value_or(true);

  json::object text_echo{{"format", json::object{{"type", "text"}}}};
  if (const json::value* v = o.if_contains("text"); v && !v->is_null()) {
    if (!text(*v, r, text_echo)) return false;
  }
  echo["text"] = std::move(text_echo);

  if (const json::value* v = o.if_contains("temperature"); v && !v->is_null()) {
    if (!number(*v, "temperature", 0, 2, r.temperature)) return false;
  }
  echo["temperature"] = r.temperature ? json::value(*r.temperature) : json::value(nullptr);
  if (const json::value* v = o.if_contains("top_p"); v && !v->is_null()) {
    if (!number(*v, "top_p", 0, 1, r.top_p)) return false;
  }
  echo["top_p"] = r.top_p ? json::value(*r.top_p) : json::value(nullptr);
  if (const json::value* v = o.if_contains("max_output_tokens"); v && !v->is_null()) {
    if (!positiveInteger(*v, "max_output_tokens", r.max_tokens)) return false;
    r.max_tokens_is_completion = true;  // it bounds reasoning tokens too
  }
  echo["max_output_tokens"] = r.max_tokens ? json::value(*r.max_tokens) : json::value(nullptr);
  if (const json::value* v = o.if_contains("reasoning"); v && !v->is_null()) {
    if (!reasoning(*v, r)) return false;
    echo["reasoning"] = json::value(*v, json::storage_ptr());
  } else {
    echo["reasoning"] = nullptr;
  }
  // Metadata belongs to the Response object (echoed back); chat completions would only take
  // it with store: true, so it does not travel upstream.
  if (const json::value* v = o.if_contains("metadata"); v && !v->is_null()) {
    const json::object* m = object(*v, "metadata");
    if (m == nullptr) return false;
    for (const auto& kv : *m) {
      if (!kv.value().is_string()) {
        return typeError("metadata." + std::string(kv.key()), "a string", kv.value());
      }
    }
    echo["metadata"] = json::value(*m, json::storage_ptr());
  } else {
    echo["metadata"] = json::object();
  }
  if (const json::value* v = o.if_contains("user"); v && !v->is_null()) {
    if (!string(*v, "user", r.user)) return false;
    echo["user"] = r.user;
  }
  // The gateway's own per-request cache controls (LiteLLM's `cache` object): taken out again
  // at admission, never forwarded.
  if (const json::value* v = o.if_contains("cache")) r.extra["cache"] = *v;
  // Fields chat completions knows under the same name travel as they are.
  for (const char* key : {"safety_identifier", "prompt_cache_key", "service_tier"}) {
    if (const json::value* v = o.if_contains(key); v && !v->is_null()) {
      std::string s;
      if (!string(*v, key, s)) return false;
      r.extra[key] = s;
    }
  }
  if (const json::value* v = o.if_contains("stream"); v && !v->is_null()) {
    std::optional<bool> stream;
    if (!boolean(*v, "stream", stream)) return false;
    r.stream = *stream;
    r.include_usage = r.stream;
  }
  echo["store"] = out.store;
  echo["previous_response_id"] = out.previous_response_id.empty()
                                     ? json::value(nullptr)
                                     : json::value(out.previous_response_id);
  echo["truncation"] = "disabled";

  static constexpr std::string_view kKnown[] = {"model",
                                                "input",
                                                "instructions",
                                                "tools",
                                                "tool_choice",
                                                "parallel_tool_calls",
                                                "text",
                                                "temperature",
                                                "top_p",
                                                "max_output_tokens",
                                                "reasoning",
                                                "metadata",
                                                "user",
                                                "stream",
                                                "store",
                                                "background",
                                                "truncation",
                                                "include",
                                                "top_logprobs",
                                                "previous_response_id",
                                                "conversation",
                                                "prompt",
                                                "max_tool_calls",
                                                "safety_identifier",
                                                "prompt_cache_key",
                                                "service_tier",
                                                "stream_options",
                                                "cache"};
  for (const auto& kv : o) {
    bool known = false;
    for (auto k : kKnown) known |= kv.key() == k;
    if (!known) return unsupported(std::string(kv.key()), std::string(kv.key()));
  }
  return true;
}

void writeUsage(JsonWriter& w, const Usage& u) {
  w.beginObject();
  w.key("input_tokens").integer(u.prompt_tokens);
  w.key("input_tokens_details").beginObject();
  w.key("cached_tokens").integer(u.cached_tokens);
  w.key("cache_write_tokens").integer(u.cache_write_tokens);
  w.endObject();
  w.key("output_tokens").integer(u.completion_tokens);
  w.key("output_tokens_details").beginObject();
  w.key("reasoning_tokens").integer(u.reasoning_tokens);
  w.endObject();
  w.key("total_tokens")
      .integer(u.total_tokens != 0 ? u.total_tokens
                                   : addTokens(u.prompt_tokens, u.completion_tokens));
  w.endObject();
}

}  // namespace

Result<ResponsesRequest> decodeResponsesRequest(std::string_view body) {
  auto parsed = parseResponsesBody(body);
  if (!parsed) return fail(std::move(parsed.error()));
  return decodeResponsesRequest(parsed->get_object(), ResponsesOptions{}, nullptr);
}

Result<ResponsesRequest> decodeResponsesRequest(const json::object& body,
                                                const ResponsesOptions& options,
                                                const json::array* history) {
  Decoder decoder;
  ResponsesRequest out;
  if (!decoder.request(body, options, history, out)) return fail(decoder.takeError());
  return out;
}

Result<json::value> parseResponsesBody(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value v = json::parse(body, ec, json::storage_ptr(), options);
  if (ec) {
    return fail(ErrorCode::kInvalidArgument, "the request body is not valid JSON: " + ec.message());
  }
  if (!allNumbersFinite(v)) {
    return fail(ErrorCode::kInvalidArgument,
                "the request body is not valid JSON: " + std::string(kNumberOutOfRange));
  }
  const json::object* o = v.if_object();
  if (o == nullptr) return fail(ErrorCode::kInvalidArgument, "the request body must be an object");
  return v;
}

json::array storedInputItems(const json::value& input, std::string_view id_suffix) {
  json::array items;
  auto idFor = [&](std::string_view prefix, std::size_t n) {
    return std::string(prefix) + "_" + std::string(id_suffix) + "_input" + std::to_string(n);
  };
  auto message = [&](json::object item, std::size_t n) {
    const json::value* role = item.if_contains("role");
    const bool assistant =
        role != nullptr && role->is_string() && role->get_string() == "assistant";
    if (json::value* content = item.if_contains("content"); content && content->is_string()) {
      json::object part{{"type", assistant ? "output_text" : "input_text"},
                        {"text", content->get_string()}};
      if (assistant) part["annotations"] = json::array();
      *content = json::array{std::move(part)};
    }
    item["type"] = "message";
    if (!item.contains("id")) item["id"] = idFor("msg", n);
    if (!item.contains("status")) item["status"] = "completed";
    return item;
  };
  if (const json::string* text = input.if_string()) {
    items.push_back(message(json::object{{"role", "user"}, {"content", *text}}, 0));
    return items;
  }
  const json::array* list = input.if_array();
  if (list == nullptr) return items;
  for (std::size_t n = 0; n < list->size(); ++n) {
    const json::object* in = (*list)[n].if_object();
    if (in == nullptr) continue;  // the decoder refused such input before anything is stored
    const json::value* type = in->if_contains("type");
    const std::string_view t =
        type != nullptr && type->is_string() ? std::string_view(type->get_string()) : "message";
    if (t == "message") {
      items.push_back(message(*in, n));
      continue;
    }
    json::object item = *in;
    if (!item.contains("id")) {
      item["id"] = idFor(t == "function_call"          ? "fc"
                         : t == "function_call_output" ? "fco"
                         : t == "reasoning"            ? "rs"
                                                       : "item",
                         n);
    }
    if (t != "reasoning" && !item.contains("status")) item["status"] = "completed";
    items.push_back(std::move(item));
  }
  return items;
}

std::string_view responseStatusFor(FinishReason reason) {
  switch (reason) {
    case FinishReason::kLength:
    case FinishReason::kContentFilter:
      return "incomplete";
    case FinishReason::kError:
      return "failed";
    default:
      return "completed";
  }
}

std::string_view incompleteReasonFor(FinishReason reason) {
  switch (reason) {
    case FinishReason::kLength:
      return "max_output_tokens";
    case FinishReason::kContentFilter:
      return "content_filter";
    default:
      return "";
  }
}

void appendResponseUsage(const Usage& usage, std::string& out) {
  JsonWriter w(out);
  writeUsage(w, usage);
}

void appendResponseItem(const ResponseItem& item, std::string& out) {
  JsonWriter w(out);
  const std::string_view status =
      !item.completed ? "in_progress" : (item.incomplete ? "incomplete" : "completed");
  w.beginObject();
  switch (item.kind) {
    case ResponseItem::Kind::kReasoning:
      w.key("id").string(item.id);
      w.key("type").string("reasoning");
      w.key("summary").beginArray();
      if (item.completed || !item.text.empty()) {
        w.beginObject();
        w.key("type").string("summary_text");
        w.key("text").string(item.text);
        w.endObject();
      }
      w.endArray();
      w.key("status").string(status);
      break;
    case ResponseItem::Kind::kMessage:
      w.key("id").string(item.id);
      w.key("type").string("message");
      w.key("status").string(status);
      w.key("role").string("assistant");
      w.key("content").beginArray();
      if (item.completed) {
        if (!item.refusal.empty()) {
          w.beginObject();
          w.key("type").string("refusal");
          w.key("refusal").string(item.refusal);
          w.endObject();
        } else {
          w.beginObject();
          w.key("type").string("output_text");
          w.key("text").string(item.text);
          w.key("annotations").beginArray().endArray();
          w.key("logprobs").raw("[" + item.logprobs + "]");
          w.endObject();
        }
      }
      w.endArray();
      break;
    case ResponseItem::Kind::kFunctionCall:
      w.key("id").string(item.id);
      w.key("type").string("function_call");
      w.key("status").string(status);
      w.key("call_id").string(item.call_id);
      w.key("name").string(item.name);
      w.key("arguments").string(item.arguments);
      break;
  }
  w.endObject();
}

void appendResponseObject(const ResponseMeta& meta, std::string_view model, std::string_view status,
                          std::string_view incomplete_reason,
                          const std::vector<ResponseItem>& items, const std::optional<Usage>& usage,
                          const Status* error, std::string& out) {
  JsonWriter w(out);
  w.beginObject();
  w.key("id").string("resp_" + meta.id_suffix);
  w.key("object").string("response");
  w.key("created_at").integer(meta.created_at);
  w.key("status").string(status);
  if (status == "completed") w.key("completed_at").integer(meta.created_at);
  w.key("error");
  if (error != nullptr && status == "failed") {
    w.beginObject();
    w.key("code").string(error->code() == ErrorCode::kRateLimited ? "rate_limit_exceeded"
                                                                  : "server_error");
    w.key("message").string(error->message());
    w.endObject();
  } else {
    w.null();
  }
  w.key("incomplete_details");
  if (status == "incomplete" && !incomplete_reason.empty()) {
    w.beginObject();
    w.key("reason").string(incomplete_reason);
    w.endObject();
  } else {
    w.null();
  }
  w.key("model").string(model.empty() ? std::string_view(meta.model) : model);
  w.key("output").beginArray();
  for (const auto& item : items) {
    std::string one;
    appendResponseItem(item, one);
    w.raw(one);
  }
  w.endArray();
  for (const auto& kv : meta.echo) {
    w.escapedKey(kv.key());
    w.value(kv.value());
  }
  if (usage) {
    w.key("usage");
    writeUsage(w, *usage);
  }
  if (!meta.citations_json.empty()) w.key("citations").raw(meta.citations_json);
  w.endObject();
}

void appendLogprobEntries(const json::value& chat_logprobs, std::string& entries) {
  const json::object* o = chat_logprobs.if_object();
  const json::value* content = o != nullptr ? o->if_contains("content") : nullptr;
  if (content == nullptr || !content->is_array()) return;
  for (const json::value& entry : content->get_array()) {
    if (!entries.empty()) entries += ',';
    entries += json::serialize(entry);
  }
}

std::string encodeResponse(const ChatResponse& response, const ResponseMeta& meta) {
  std::vector<ResponseItem> items;
  FinishReason finish = FinishReason::kStop;
  if (!response.choices.empty()) {
    const Choice& choice = response.choices.front();
    const Message& m = choice.message;
    finish = choice.finish_reason;
    if (!m.reasoning_content.empty()) {
      items.push_back(ResponseItem{.kind = ResponseItem::Kind::kReasoning,
                                   .id = "rs_" + meta.id_suffix,
                                   .text = m.reasoning_content});
    }
    std::string text = m.text();
    if (!text.empty() || (m.refusal && !m.refusal->empty())) {
      items.push_back(ResponseItem{.kind = ResponseItem::Kind::kMessage,
                                   .id = "msg_" + meta.id_suffix,
                                   .text = std::move(text),
                                   .refusal = m.refusal.value_or("")});
      appendLogprobEntries(choice.logprobs, items.back().logprobs);
    }
    for (std::size_t i = 0; i < m.tool_calls.size(); ++i) {
      const ToolCall& call = m.tool_calls[i];
      items.push_back(ResponseItem{.kind = ResponseItem::Kind::kFunctionCall,
                                   .id = "fc_" + meta.id_suffix + "_" + std::to_string(i),
                                   .call_id = call.id,
                                   .name = call.name,
                                   .arguments = call.arguments});
    }
  }
  const std::string_view status = responseStatusFor(finish);
  if (status == "incomplete" && !items.empty()) items.back().incomplete = true;  // the one cut
  std::string out;
  appendResponseObject(meta, response.model, status, incompleteReasonFor(finish), items,
                       response.usage, nullptr, out);
  return out;
}

}  // namespace switchyard::api::openai
