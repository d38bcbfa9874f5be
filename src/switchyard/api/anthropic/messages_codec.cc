#include "switchyard/api/anthropic/messages_codec.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_fields.h"
#include "switchyard/api/json_writer.h"

namespace switchyard::api::anthropic {

namespace {

namespace json = boost::json;

constexpr std::size_t kMaxErrorBodyInMessage = 200;

json::value copyOrNull(const json::value* v) {
  if (v == nullptr) return nullptr;
  return json::value(*v, json::storage_ptr());
}

std::string toJsonText(const json::value& v) {
  std::string out;
  JsonWriter(out).value(v);
  return out;
}

Result<json::value> parseBody(std::string_view body, bool from_client) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value v = json::parse(body, ec, json::storage_ptr(), options);
  if (ec) {
    if (from_client) {
      return fail(ErrorCode::kInvalidArgument,
                  "the request body is not valid JSON: " + ec.message());
    }
    return fail(ErrorCode::kUpstream, "upstream response is not valid JSON: " + ec.message());
  }
  if (from_client && !allNumbersFinite(v)) {
    return fail(ErrorCode::kInvalidArgument,
                "the request body is not valid JSON: " + std::string(kNumberOutOfRange));
  }
  return v;
}

// ---- client request decoding ----------------------------------------------------------------

// Validating reader: methods return false after recording the first error.
class Reader {
 public:
  Status takeError() { return std::move(error_); }

  bool failWith(std::string message, const std::string& param) {
    error_ = Status(ErrorCode::kInvalidArgument, std::move(message));
    if (!param.empty()) error_.withParam(param);
    return false;
  }
  bool typeError(const std::string& p, std::string_view expected, const json::value& got) {
    return failWith(p + ": expected " + std::string(expected) + ", got " +
                        std::string(kindName(got)),
                    p);
  }
  bool missing(const std::string& p) { return failWith(p + ": field required", p); }
  bool badValue(const std::string& p, std::string_view detail) {
    return failWith(p + ": " + std::string(detail), p);
  }

  bool string(const json::value& v, const std::string& p, std::string& out) {
    if (const json::string* s = v.if_string()) {
      out.assign(s->data(), s->size());
      return true;
    }
    return typeError(p, "a string", v);
  }
  bool boolean(const json::value& v, const std::string& p, bool& out) {
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
      return badValue(p, "must be between " + std::to_string(static_cast<int>(min)) + " and " +
                             std::to_string(static_cast<int>(max)));
    }
    out = d;
    return true;
  }
  bool integer(const json::value& v, const std::string& p, std::int64_t min,
               std::int64_t& out) {
    if (v.is_int64()) {
      out = v.get_int64();
    } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(
                                                      std::numeric_limits<std::int64_t>::max())) {
      out = static_cast<std::int64_t>(v.get_uint64());
    } else if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
               std::abs(v.get_double()) < 9e15) {
      out = static_cast<std::int64_t>(v.get_double());
    } else {
      return typeError(p, "an integer", v);
    }
    if (out < min) return badValue(p, "must be at least " + std::to_string(min));
    return true;
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
  // The block's `type`, required.
  bool blockType(const json::object& o, const std::string& p, std::string_view& out) {
    const json::value* t = o.if_contains("type");
    if (t == nullptr || t->is_null()) return missing(p + ".type");
    if (!t->is_string()) return typeError(p + ".type", "a string", *t);
    out = t->get_string();
    return true;
  }

 private:
  Status error_;
};

class MessagesReader : public Reader {
 public:
  bool read(const json::object& body, bool for_count_tokens, ChatRequest& req) {
    const json::value* model = body.if_contains("model");
    if (model == nullptr || !model->is_string() || model->get_string().empty()) {
      return failWith("model: field required (a non-empty string)", "model");
    }
    req.model = std::string(model->get_string());

    const json::value* max_tokens = body.if_contains("max_tokens");
    if (!for_count_tokens && (max_tokens == nullptr || max_tokens->is_null())) {
      return missing("max_tokens");
    }

    for (const auto& kv : body) {
      const std::string key(kv.key());
      const json::value& v = kv.value();
      if (key == "model" || key == "messages" || key == "system") continue;
      if (v.is_null()) continue;
      if (key == "max_tokens") {
        std::int64_t n = 0;
        if (!integer(v, key, 1, n)) return false;
        req.max_tokens = n;
      } else if (key == "temperature") {
        if (!number(v, key, 0, 1, req.temperature)) return false;
      } else if (key == "top_p") {
        if (!number(v, key, 0, 1, req.top_p)) return false;
      } else if (key == "top_k") {
        std::int64_t n = 0;
        if (!integer(v, key, 0, n)) return false;
        if (n > std::numeric_limits<int>::max()) return badValue(key, "is too large");
        req.top_k = static_cast<int>(n);
      } else if (key == "stop_sequences") {
        const json::array* a = array(v, key);
        if (a == nullptr) return false;
        for (std::size_t i = 0; i < a->size(); ++i) {
          if (!string((*a)[i], key + "[" + std::to_string(i) + "]", req.stop.emplace_back())) {
            return false;
          }
        }
      } else if (key == "stream") {
        if (!boolean(v, key, req.stream)) return false;
      } else if (key == "metadata") {
        const json::object* o = object(v, key);
        if (o == nullptr) return false;
        for (const auto& m : *o) {
          if (m.key() == "user_id") {
            if (m.value().is_null()) continue;
            if (!string(m.value(), "metadata.user_id", req.user)) return false;
          } else {
            return badValue("metadata." + std::string(m.key()), "extra inputs are not permitted");
          }
        }
      } else if (key == "tools") {
        if (!readTools(v, req.tools)) return false;
      } else if (key == "tool_choice") {
        if (!readToolChoice(v, req)) return false;
      } else if (key == "thinking") {
        if (!readThinking(v, req)) return false;
      } else {
        req.extra.emplace(kv.key(), v);
      }
    }

    if (const json::value* system = body.if_contains("system"); system && !system->is_null()) {
      Message& m = req.messages.emplace_back();
      m.role = Role::kSystem;
      if (const json::string* s = system->if_string()) {
        m.content.resize(1);
        m.content[0].text.assign(s->data(), s->size());
      } else if (const json::array* a = system->if_array()) {
        m.content_form = Message::ContentForm::kParts;
        for (std::size_t i = 0; i < a->size(); ++i) {
          const std::string p = "system[" + std::to_string(i) + "]";
          const json::object* o = object((*a)[i], p);
          if (o == nullptr) return false;
          std::string_view type;
          if (!blockType(*o, p, type)) return false;
          if (type != "text") return badValue(p + ".type", "system blocks must be 'text'");
          if (!readText(*o, p, m.content.emplace_back())) return false;
        }
      } else {
        return typeError("system", "a string or an array of text blocks", *system);
      }
    }

    const json::value* messages = body.if_contains("messages");
    if (messages == nullptr || messages->is_null()) return missing("messages");
    const json::array* a = array(*messages, "messages");
    if (a == nullptr) return false;
    if (a->empty() && !for_count_tokens) {
      return badValue("messages", "at least one message is required");
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (!readMessage((*a)[i], "messages[" + std::to_string(i) + "]", req.messages)) {
        return false;
      }
    }
    if (req.thinking.mode == ThinkingConfig::Mode::kEnabled && req.max_tokens &&
        req.thinking.budget_tokens >= *req.max_tokens) {
      return badValue("thinking.budget_tokens", "must be less than max_tokens");
    }
    req.include_usage = req.stream;
    return true;
  }

 private:
  bool readText(const json::object& o, const std::string& p, ContentPart& part) {
    part.kind = ContentPart::Kind::kText;
    const json::value* text = o.if_contains("text");
    if (text == nullptr) return missing(p + ".text");
    if (!string(*text, p + ".text", part.text)) return false;
    part.cache_control = copyOrNull(o.if_contains("cache_control"));
    return true;
  }

  bool readImage(const json::object& o, const std::string& p, ContentPart& part) {
    part.kind = ContentPart::Kind::kImage;
    part.cache_control = copyOrNull(o.if_contains("cache_control"));
    const std::string sp = p + ".source";
    const json::value* source = o.if_contains("source");
    if (source == nullptr || source->is_null()) return missing(sp);
    const json::object* so = object(*source, sp);
    if (so == nullptr) return false;
    std::string_view type;
    if (!blockType(*so, sp, type)) return false;
    if (type == "base64") {
      std::string media_type;
      std::string data;
      const json::value* mt = so->if_contains("media_type");
      if (mt == nullptr) return missing(sp + ".media_type");
      if (!string(*mt, sp + ".media_type", media_type)) return false;
      static constexpr std::string_view kMediaTypes[] = {"image/jpeg", "image/png", "image/gif",
                                                         "image/webp"};
      if (std::find(std::begin(kMediaTypes), std::end(kMediaTypes), media_type) ==
          std::end(kMediaTypes)) {
        return badValue(sp + ".media_type",
                        "'" + media_type +
                            "' (expected image/jpeg, image/png, image/gif or image/webp)");
      }
      const json::value* d = so->if_contains("data");
      if (d == nullptr) return missing(sp + ".data");
      if (!string(*d, sp + ".data", data)) return false;
      part.image_url = "data:" + media_type + ";base64," + data;
      return true;
    }
    if (type == "url") {
      const json::value* url = so->if_contains("url");
      if (url == nullptr) return missing(sp + ".url");
      return string(*url, sp + ".url", part.image_url);
    }
    return badValue(sp + ".type", "'" + std::string(type) + "' (expected 'base64' or 'url')");
  }

  // Blocks other than text and image inside a user turn or a tool result (document,
  // search_result, ...): kept verbatim for Anthropic upstreams.
  void readOther(const json::value& v, ContentPart& part) {
    part.kind = ContentPart::Kind::kOther;
    part.raw = json::value(v, json::storage_ptr());
  }

  bool readMessage(const json::value& v, const std::string& p, std::vector<Message>& out) {
    const json::object* o = object(v, p);
    if (o == nullptr) return false;
    const json::value* role = o->if_contains("role");
    if (role == nullptr || role->is_null()) return missing(p + ".role");
    if (!role->is_string()) return typeError(p + ".role", "a string", *role);
    const bool assistant = role->get_string() == "assistant";
    if (!assistant && role->get_string() != "user") {
      return badValue(p + ".role", "'" + std::string(role->get_string()) +
                                       "' (expected 'user' or 'assistant')");
    }
    for (const auto& kv : *o) {
      if (kv.key() != "role" && kv.key() != "content") {
        return badValue(p + "." + std::string(kv.key()), "extra inputs are not permitted");
      }
    }
    const std::string cp = p + ".content";
    const json::value* content = o->if_contains("content");
    if (content == nullptr || content->is_null()) return missing(cp);

    Message m;
    m.role = assistant ? Role::kAssistant : Role::kUser;
    if (const json::string* s = content->if_string()) {
      m.content.resize(1);
      m.content[0].text.assign(s->data(), s->size());
      out.push_back(std::move(m));
      return true;
    }
    const json::array* blocks = content->if_array();
    if (blocks == nullptr) return typeError(cp, "a string or an array of content blocks", *content);
    m.content_form = Message::ContentForm::kParts;
    std::vector<Message> tool_results;
    for (std::size_t i = 0; i < blocks->size(); ++i) {
      const std::string bp = cp + "[" + std::to_string(i) + "]";
      const json::object* bo = object((*blocks)[i], bp);
      if (bo == nullptr) return false;
      std::string_view type;
      if (!blockType(*bo, bp, type)) return false;
      if (type == "text") {
        if (!readText(*bo, bp, m.content.emplace_back())) return false;
      } else if (type == "image" && !assistant) {
        if (!readImage(*bo, bp, m.content.emplace_back())) return false;
      } else if (type == "tool_use" && assistant) {
        if (!readToolUse(*bo, bp, m.tool_calls.emplace_back())) return false;
      } else if (type == "thinking" && assistant) {
        std::string text;
        std::string signature;
        const json::value* t = bo->if_contains("thinking");
        if (t == nullptr) return missing(bp + ".thinking");
        if (!string(*t, bp + ".thinking", text)) return false;
        if (const json::value* s = bo->if_contains("signature"); s && !s->is_null()) {
          if (!string(*s, bp + ".signature", signature)) return false;
        }
        m.reasoning_content += text;
        // Only the last signature can be kept; Anthropic signs each block, and one thinking
        // block per turn is what its models produce.
        if (!signature.empty()) m.reasoning_signature = std::move(signature);
      } else if (type == "redacted_thinking" && assistant) {
        const json::value* d = bo->if_contains("data");
        if (d == nullptr) return missing(bp + ".data");
        if (!string(*d, bp + ".data", m.redacted_reasoning.emplace_back())) return false;
      } else if (type == "tool_result" && !assistant) {
        if (!readToolResult(*bo, bp, tool_results.emplace_back())) return false;
      } else if (type == "tool_use" || type == "thinking" || type == "redacted_thinking" ||
                 type == "tool_result" || type == "image") {
        return badValue(bp + ".type", "'" + std::string(type) + "' blocks are not allowed in " +
                                          (assistant ? "assistant" : "user") + " messages");
      } else {
        readOther((*blocks)[i], m.content.emplace_back());
      }
    }
    // Tool results answer the previous assistant turn, so they come first (OpenAI-style
    // upstreams need the tool messages right after the assistant's tool calls).
    for (auto& r : tool_results) out.push_back(std::move(r));
    if (!m.content.empty() || !m.tool_calls.empty() || !m.reasoning_content.empty() ||
        !m.redacted_reasoning.empty() || tool_results.empty()) {
      if (m.content.empty() && assistant && !m.tool_calls.empty()) {
        m.content_form = Message::ContentForm::kNull;
      }
      out.push_back(std::move(m));
    }
    return true;
  }

  bool readToolUse(const json::object& o, const std::string& p, ToolCall& call) {
    const json::value* id = o.if_contains("id");
    if (id == nullptr) return missing(p + ".id");
    if (!string(*id, p + ".id", call.id)) return false;
    const json::value* name = o.if_contains("name");
    if (name == nullptr) return missing(p + ".name");
    if (!string(*name, p + ".name", call.name)) return false;
    const json::value* input = o.if_contains("input");
    if (input == nullptr) return missing(p + ".input");
    if (object(*input, p + ".input") == nullptr) return false;
    call.arguments = toJsonText(*input);
    call.cache_control = copyOrNull(o.if_contains("cache_control"));
    return true;
  }

  bool readToolResult(const json::object& o, const std::string& p, Message& m) {
    m.role = Role::kTool;
    const json::value* id = o.if_contains("tool_use_id");
    if (id == nullptr) return missing(p + ".tool_use_id");
    if (!string(*id, p + ".tool_use_id", m.tool_call_id)) return false;
    if (const json::value* e = o.if_contains("is_error"); e && !e->is_null()) {
      if (!boolean(*e, p + ".is_error", m.tool_error)) return false;
    }
    m.cache_control = copyOrNull(o.if_contains("cache_control"));
    const json::value* content = o.if_contains("content");
    if (content == nullptr || content->is_null()) {
      m.content.resize(1);  // an empty result is an empty string
      return true;
    }
    if (const json::string* s = content->if_string()) {
      m.content.resize(1);
      m.content[0].text.assign(s->data(), s->size());
      return true;
    }
    const std::string cp = p + ".content";
    const json::array* a = content->if_array();
    if (a == nullptr) return typeError(cp, "a string or an array of content blocks", *content);
    m.content_form = Message::ContentForm::kParts;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string bp = cp + "[" + std::to_string(i) + "]";
      const json::object* bo = object((*a)[i], bp);
      if (bo == nullptr) return false;
      std::string_view type;
      if (!blockType(*bo, bp, type)) return false;
      if (type == "text") {
        if (!readText(*bo, bp, m.content.emplace_back())) return false;
      } else if (type == "image") {
        if (!readImage(*bo, bp, m.content.emplace_back())) return false;
      } else {
        readOther((*a)[i], m.content.emplace_back());
      }
    }
    return true;
  }

  bool readTools(const json::value& v, std::vector<ToolDef>& out) {
    const json::array* a = array(v, "tools");
    if (a == nullptr) return false;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string p = "tools[" + std::to_string(i) + "]";
      const json::object* o = object((*a)[i], p);
      if (o == nullptr) return false;
      ToolDef& tool = out.emplace_back();
      const std::string_view type = stringOr(*o, "type", "custom");
      const json::value* name = o->if_contains("name");
      if (name == nullptr) return missing(p + ".name");
      if (!string(*name, p + ".name", tool.name)) return false;
      if (tool.name.empty()) return badValue(p + ".name", "must not be empty");
      if (type != "custom") {
        // A tool Anthropic defines itself (web search, bash, text editor, ...).
        tool.native = json::value(*o, json::storage_ptr());
        continue;
      }
      if (const json::value* d = o->if_contains("description"); d && !d->is_null()) {
        if (!string(*d, p + ".description", tool.description)) return false;
      }
      const json::value* schema = o->if_contains("input_schema");
      if (schema == nullptr || schema->is_null()) return missing(p + ".input_schema");
      if (object(*schema, p + ".input_schema") == nullptr) return false;
      tool.parameters = json::value(*schema, json::storage_ptr());
      tool.cache_control = copyOrNull(o->if_contains("cache_control"));
      if (const json::value* s = o->if_contains("strict"); s && !s->is_null()) {
        if (!boolean(*s, p + ".strict", tool.strict.emplace())) return false;
      }
    }
    return true;
  }

  bool readToolChoice(const json::value& v, ChatRequest& req) {
    const json::object* o = object(v, "tool_choice");
    if (o == nullptr) return false;
    std::string_view type;
    if (!blockType(*o, "tool_choice", type)) return false;
    ToolChoice& tc = req.tool_choice;
    if (type == "auto") {
      tc.mode = ToolChoice::Mode::kAuto;
    } else if (type == "any") {
      tc.mode = ToolChoice::Mode::kRequired;
    } else if (type == "none") {
      tc.mode = ToolChoice::Mode::kNone;
    } else if (type == "tool") {
      tc.mode = ToolChoice::Mode::kFunction;
      const json::value* name = o->if_contains("name");
      if (name == nullptr) return missing("tool_choice.name");
      if (!string(*name, "tool_choice.name", tc.function_name)) return false;
    } else {
      return badValue("tool_choice.type", "'" + std::string(type) +
                                              "' (expected 'auto', 'any', 'tool' or 'none')");
    }
    if (const json::value* d = o->if_contains("disable_parallel_tool_use"); d && !d->is_null()) {
      bool disable = false;
      if (!boolean(*d, "tool_choice.disable_parallel_tool_use", disable)) return false;
      req.parallel_tool_calls = !disable;
    }
    return true;
  }

  bool readThinking(const json::value& v, ChatRequest& req) {
    const json::object* o = object(v, "thinking");
    if (o == nullptr) return false;
    std::string_view type;
    if (!blockType(*o, "thinking", type)) return false;
    if (type == "disabled") {
      req.thinking.mode = ThinkingConfig::Mode::kDisabled;
      return true;
    }
    if (type != "enabled") {
      return badValue("thinking.type", "'" + std::string(type) +
                                           "' (expected 'enabled' or 'disabled')");
    }
    req.thinking.mode = ThinkingConfig::Mode::kEnabled;
    const json::value* budget = o->if_contains("budget_tokens");
    if (budget == nullptr || budget->is_null()) return missing("thinking.budget_tokens");
    if (!integer(*budget, "thinking.budget_tokens", 1024, req.thinking.budget_tokens)) {
      return false;
    }
    // OpenAI-style upstreams know reasoning_effort, not budgets.
    const std::int64_t b = req.thinking.budget_tokens;
    req.reasoning_effort = b < 4096 ? "low" : b < 16384 ? "medium" : "high";
    return true;
  }
};

// ---- encoding helpers -----------------------------------------------------------------------

void writeUsage(JsonWriter& w, const Usage& u) {
  const std::int64_t uncached =
      std::max<std::int64_t>(0, u.prompt_tokens - u.cached_tokens - u.cache_write_tokens);
  w.beginObject();
  w.key("input_tokens").integer(uncached);
  w.key("cache_creation_input_tokens").integer(u.cache_write_tokens);
  w.key("cache_read_input_tokens").integer(u.cached_tokens);
  w.key("output_tokens").integer(u.completion_tokens);
  w.endObject();
}

// Tool-call arguments as a JSON object for `input`. Models occasionally emit invalid JSON; the
// client then gets it under "_raw_arguments" rather than nothing.
void writeToolInput(JsonWriter& w, std::string_view arguments) {
  if (arguments.empty()) {
    w.beginObject().endObject();
    return;
  }
  boost::system::error_code ec;
  json::value v = json::parse(arguments, ec);
  if (!ec && v.is_object()) {
    w.value(v);
    return;
  }
  w.beginObject();
  w.key("_raw_arguments").string(arguments);
  w.endObject();
}

void writeCacheControl(JsonWriter& w, const json::value& cache_control) {
  if (!cache_control.is_null()) {
    w.key("cache_control");
    w.value(cache_control);
  }
}

Status unsupported(std::string_view provider, std::string feature) {
  return Status(ErrorCode::kUnprocessable,
                "provider '" + std::string(provider) + "' (Anthropic Messages API) does not "
                "support " + feature)
      .withErrorType("unsupported_parameter");
}

// Splits "data:image/png;base64,XXXX" into media type and data; false when not base64.
bool parseDataUri(std::string_view uri, std::string_view& media_type, std::string_view& data) {
  if (!uri.starts_with("data:")) return false;
  const auto comma = uri.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view meta = uri.substr(5, comma - 5);
  if (!meta.ends_with(";base64")) return false;
  media_type = meta.substr(0, meta.size() - 7);
  data = uri.substr(comma + 1);
  return true;
}

// OpenAI content-part types that have no Anthropic block.
bool isOpenAIOnlyPart(const ContentPart& part) {
  const json::object* o = part.raw.if_object();
  if (o == nullptr) return true;
  const std::string_view type = stringOr(*o, "type");
  return type.empty() || type == "input_audio" || type == "file" || type == "refusal" ||
         type == "image_url" || type == "input_text" || type == "input_image";
}

Status writeBlock(JsonWriter& w, const ContentPart& part, std::string_view provider) {
  switch (part.kind) {
    case ContentPart::Kind::kText:
      w.beginObject();
      w.key("type").string("text");
      w.key("text").string(part.text);
      writeCacheControl(w, part.cache_control);
      w.endObject();
      return Status::ok();
    case ContentPart::Kind::kImage: {
      w.beginObject();
      w.key("type").string("image");
      w.key("source").beginObject();
      std::string_view media_type;
      std::string_view data;
      if (parseDataUri(part.image_url, media_type, data)) {
        w.key("type").string("base64");
        w.key("media_type").string(media_type);
        w.key("data").string(data);
      } else if (part.image_url.starts_with("data:")) {
        return unsupported(provider, "image data URIs that are not base64");
      } else {
        w.key("type").string("url");
        w.key("url").string(part.image_url);
      }
      w.endObject();
      writeCacheControl(w, part.cache_control);
      w.endObject();
      return Status::ok();
    }
    case ContentPart::Kind::kOther:
      if (isOpenAIOnlyPart(part)) {
        const json::object* o = part.raw.if_object();
        return unsupported(provider, "content parts of type '" +
                                         std::string(o ? stringOr(*o, "type") : "") + "'");
      }
      w.value(part.raw);
      return Status::ok();
  }
  return Status::ok();
}

Status writeToolResult(JsonWriter& w, const Message& m, std::string_view provider) {
  w.beginObject();
  w.key("type").string("tool_result");
  w.key("tool_use_id").string(m.tool_call_id);
  w.key("content");
  if (m.content_form == Message::ContentForm::kParts) {
    w.beginArray();
    for (const auto& part : m.content) {
      if (Status s = writeBlock(w, part, provider); !s.isOk()) return s;
    }
    w.endArray();
  } else {
    w.string(m.text());
  }
  if (m.tool_error) w.key("is_error").boolean(true);
  writeCacheControl(w, m.cache_control);
  w.endObject();
  return Status::ok();
}

// Anthropic wants alternating user/assistant turns; the native list may have tool messages and
// several user messages in a row, which merge into one user turn.
Status writeMessages(JsonWriter& w, const ChatRequest& r, std::string_view provider) {
  w.key("messages").beginArray();
  enum class Open { kNone, kUser, kAssistant } open = Open::kNone;
  auto openTurn = [&](Open want) {
    if (open == want) return;
    if (open != Open::kNone) w.endArray().endObject();
    w.beginObject();
    w.key("role").string(want == Open::kUser ? "user" : "assistant");
    w.key("content").beginArray();
    open = want;
  };
  for (const Message& m : r.messages) {
    switch (m.role) {
      case Role::kSystem:
      case Role::kDeveloper:
        continue;  // written as `system`
      case Role::kTool:
        openTurn(Open::kUser);
        if (Status s = writeToolResult(w, m, provider); !s.isOk()) return s;
        continue;
      case Role::kUser:
        openTurn(Open::kUser);
        for (const auto& part : m.content) {
          if (part.kind == ContentPart::Kind::kText && part.text.empty() &&
              m.content_form != Message::ContentForm::kParts) {
            continue;  // Anthropic rejects empty text blocks
          }
          if (Status s = writeBlock(w, part, provider); !s.isOk()) return s;
        }
        continue;
      case Role::kAssistant:
        openTurn(Open::kAssistant);
        // Thinking goes back only with its signature: Anthropic rejects unsigned thinking, and
        // reasoning from another provider has none.
        if (!m.reasoning_content.empty() && !m.reasoning_signature.empty()) {
          w.beginObject();
          w.key("type").string("thinking");
          w.key("thinking").string(m.reasoning_content);
          w.key("signature").string(m.reasoning_signature);
          w.endObject();
        }
        for (const auto& data : m.redacted_reasoning) {
          w.beginObject();
          w.key("type").string("redacted_thinking");
          w.key("data").string(data);
          w.endObject();
        }
        for (const auto& part : m.content) {
          if (part.kind == ContentPart::Kind::kText && part.text.empty()) continue;
          if (Status s = writeBlock(w, part, provider); !s.isOk()) return s;
        }
        for (const auto& call : m.tool_calls) {
          w.beginObject();
          w.key("type").string("tool_use");
          w.key("id").string(call.id);
          w.key("name").string(call.name);
          w.key("input");
          writeToolInput(w, call.arguments);
          writeCacheControl(w, call.cache_control);
          w.endObject();
        }
        continue;
    }
  }
  if (open != Open::kNone) w.endArray().endObject();
  w.endArray();
  return Status::ok();
}

void writeSystem(JsonWriter& w, const ChatRequest& r) {
  std::vector<const ContentPart*> parts;
  bool blocks = false;
  for (const Message& m : r.messages) {
    if (m.role != Role::kSystem && m.role != Role::kDeveloper) continue;
    if (m.content_form == Message::ContentForm::kParts) blocks = true;
    for (const auto& part : m.content) {
      if (part.kind != ContentPart::Kind::kText) continue;
      parts.push_back(&part);
      if (!part.cache_control.is_null()) blocks = true;
    }
  }
  if (parts.empty()) return;
  w.key("system");
  if (!blocks && parts.size() == 1) {
    w.string(parts[0]->text);
    return;
  }
  w.beginArray();
  for (const ContentPart* part : parts) {
    w.beginObject();
    w.key("type").string("text");
    w.key("text").string(part->text);
    writeCacheControl(w, part->cache_control);
    w.endObject();
  }
  w.endArray();
}

Status writeTools(JsonWriter& w, const ChatRequest& r) {
  if (r.tools.empty()) return Status::ok();
  w.key("tools").beginArray();
  for (const ToolDef& t : r.tools) {
    if (!t.native.is_null()) {
      w.value(t.native);
      continue;
    }
    w.beginObject();
    w.key("name").string(t.name);
    if (!t.description.empty()) w.key("description").string(t.description);
    w.key("input_schema");
    if (t.parameters.is_object()) {
      w.value(t.parameters);
    } else {
      w.beginObject();
      w.key("type").string("object");
      w.key("properties").beginObject().endObject();
      w.endObject();
    }
    if (t.strict) w.key("strict").boolean(*t.strict);
    writeCacheControl(w, t.cache_control);
    w.endObject();
  }
  w.endArray();
  return Status::ok();
}

void writeToolChoice(JsonWriter& w, const ChatRequest& r) {
  const ToolChoice& tc = r.tool_choice;
  const bool disable_parallel = r.parallel_tool_calls.has_value() && !*r.parallel_tool_calls;
  if (tc.mode == ToolChoice::Mode::kUnset && !disable_parallel) return;
  if (r.tools.empty() && tc.mode != ToolChoice::Mode::kNone) return;
  w.key("tool_choice").beginObject();
  switch (tc.mode) {
    case ToolChoice::Mode::kUnset:
    case ToolChoice::Mode::kAuto:
      w.key("type").string("auto");
      break;
    case ToolChoice::Mode::kNone:
      w.key("type").string("none");
      break;
    case ToolChoice::Mode::kRequired:
      w.key("type").string("any");
      break;
    case ToolChoice::Mode::kFunction:
      w.key("type").string("tool");
      w.key("name").string(tc.function_name);
      break;
  }
  if (disable_parallel && tc.mode != ToolChoice::Mode::kNone) {
    w.key("disable_parallel_tool_use").boolean(true);
  }
  w.endObject();
}

// Native fields the Messages API has no counterpart for: rejected, never silently dropped.
Status checkSupported(const ChatRequest& r, std::string_view provider) {
  if (r.n && *r.n > 1) return unsupported(provider, "n > 1");
  if (r.logprobs.value_or(false) || r.top_logprobs.value_or(0) > 0) {
    return unsupported(provider, "logprobs");
  }
  if (r.response_format.kind == ResponseFormat::Kind::kJsonObject ||
      r.response_format.kind == ResponseFormat::Kind::kJsonSchema) {
    return unsupported(provider, "response_format (JSON mode and structured outputs)");
  }
  if (r.frequency_penalty.value_or(0) != 0) return unsupported(provider, "frequency_penalty");
  if (r.presence_penalty.value_or(0) != 0) return unsupported(provider, "presence_penalty");
  if (r.repetition_penalty) return unsupported(provider, "repetition_penalty");
  if (r.min_p) return unsupported(provider, "min_p");
  if (r.seed) return unsupported(provider, "seed");
  if (!r.logit_bias.empty()) return unsupported(provider, "logit_bias");
  if (r.extra.contains("functions") || r.extra.contains("function_call")) {
    return unsupported(provider, "legacy functions/function_call (use tools)");
  }
  return Status::ok();
}

// OpenAI's reasoning_effort as an Anthropic thinking budget, when thinking is not set itself.
std::int64_t budgetForEffort(std::string_view effort) {
  if (effort == "minimal" || effort == "low") return 1024;
  if (effort == "medium") return 4096;
  if (effort == "high") return 16384;
  return 0;
}

Result<std::string> encodeRequest(const ChatRequest& r, std::string_view provider,
                                  bool count_tokens) {
  if (Status s = checkSupported(r, provider); !s.isOk()) return fail(std::move(s));
  std::string out;
  out.reserve(1024);
  JsonWriter w(out);
  w.beginObject();
  w.key("model").string(r.model);
  if (Status s = writeMessages(w, r, provider); !s.isOk()) return fail(std::move(s));
  writeSystem(w, r);
  if (Status s = writeTools(w, r); !s.isOk()) return fail(std::move(s));
  writeToolChoice(w, r);

  ThinkingConfig thinking = r.thinking;
  if (thinking.mode == ThinkingConfig::Mode::kUnset) {
    if (std::int64_t budget = budgetForEffort(r.reasoning_effort); budget > 0) {
      thinking = {ThinkingConfig::Mode::kEnabled, budget};
    }
  }
  if (thinking.mode == ThinkingConfig::Mode::kEnabled) {
    w.key("thinking").beginObject();
    w.key("type").string("enabled");
    w.key("budget_tokens").integer(thinking.budget_tokens);
    w.endObject();
  } else if (thinking.mode == ThinkingConfig::Mode::kDisabled) {
    w.key("thinking").beginObject();
    w.key("type").string("disabled");
    w.endObject();
  }
  if (!count_tokens) {
    std::int64_t max_tokens = r.max_tokens.value_or(kDefaultMaxTokens);
    // Anthropic counts thinking inside max_tokens and requires max_tokens > budget_tokens. A
    // budget the client did not set itself (from reasoning_effort) comes on top of its limit.
    if (thinking.mode == ThinkingConfig::Mode::kEnabled &&
        r.thinking.mode != ThinkingConfig::Mode::kEnabled) {
      // Saturating: the client's max_tokens may be anything up to 2^63 - 1.
      max_tokens = addTokens(max_tokens, thinking.budget_tokens);
    }
    w.key("max_tokens").integer(max_tokens);
    if (r.temperature) w.key("temperature").number(*r.temperature);
    if (r.top_p) w.key("top_p").number(*r.top_p);
    if (r.top_k) w.key("top_k").integer(*r.top_k);
    if (!r.stop.empty()) {
      w.key("stop_sequences").beginArray();
      for (const auto& s : r.stop) w.string(s);
      w.endArray();
    }
    if (!r.user.empty()) {
      w.key("metadata").beginObject();
      w.key("user_id").string(r.user);
      w.endObject();
    }
    if (r.stream) w.key("stream").boolean(true);
  }
  for (const auto& kv : r.extra) {
    // OpenAI framing that means nothing here (stream options are implied by Anthropic streams;
    // max_tokens is already typed).
    if (kv.key() == "stream_options" || kv.key() == "max_tokens" || kv.key() == "store") continue;
    if (count_tokens && kv.key() != "mcp_servers") continue;
    w.escapedKey(kv.key());
    w.value(kv.value());
  }
  w.endObject();
  return out;
}

// Anthropic's error types, which pass through unchanged when an upstream sent one.
constexpr std::string_view kErrorTypes[] = {
    "invalid_request_error", "authentication_error", "billing_error",    "permission_error",
    "not_found_error",       "request_too_large",    "rate_limit_error", "timeout_error",
    "api_error",             "overloaded_error"};

}  // namespace

Result<ChatRequest> decodeMessagesRequest(std::string_view body, bool for_count_tokens) {
  auto root = parseBody(body, true);
  if (!root) return fail(std::move(root.error()));
  const json::object* o = root->if_object();
  if (o == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "the request body must be a JSON object, got " + std::string(kindName(*root)));
  }
  ChatRequest req;
  MessagesReader reader;
  if (!reader.read(*o, for_count_tokens, req)) return fail(reader.takeError());
  return req;
}

std::string_view stopReasonName(FinishReason reason, std::string_view stop_sequence,
                                bool has_tool_calls) {
  switch (reason) {
    case FinishReason::kLength:
      return "max_tokens";
    case FinishReason::kToolCalls:
      return "tool_use";
    case FinishReason::kContentFilter:
      return "refusal";
    case FinishReason::kStop:
      if (!stop_sequence.empty()) return "stop_sequence";
      return has_tool_calls ? "tool_use" : "end_turn";
    case FinishReason::kNone:
    case FinishReason::kError:
      break;
  }
  return has_tool_calls ? "tool_use" : "end_turn";
}

std::string messageId(std::string_view upstream_id) {
  if (upstream_id.starts_with("msg_")) return std::string(upstream_id);
  if (upstream_id.empty()) return "msg_switchyard";
  if (upstream_id.starts_with("chatcmpl-")) upstream_id.remove_prefix(9);
  std::string id = "msg_";
  id += upstream_id;
  return id;
}

std::string encodeMessagesResponse(const ChatResponse& r) {
  static const Choice kEmpty;
  const Choice& c = r.choices.empty() ? kEmpty : r.choices.front();
  const Message& m = c.message;
  std::string out;
  out.reserve(256 + m.reasoning_content.size() + m.text().size() * 9 / 8);
  JsonWriter w(out);
  w.beginObject();
  w.key("id").string(messageId(r.id));
  w.key("type").string("message");
  w.key("role").string("assistant");
  w.key("model").string(r.model);
  w.key("content").beginArray();
  if (!m.reasoning_content.empty()) {
    w.beginObject();
    w.key("type").string("thinking");
    w.key("thinking").string(m.reasoning_content);
    w.key("signature").string(m.reasoning_signature);
    w.endObject();
  }
  for (const auto& data : m.redacted_reasoning) {
    w.beginObject();
    w.key("type").string("redacted_thinking");
    w.key("data").string(data);
    w.endObject();
  }
  for (const auto& part : m.content) {
    if (part.kind == ContentPart::Kind::kText) {
      if (part.text.empty()) continue;
      w.beginObject();
      w.key("type").string("text");
      w.key("text").string(part.text);
      w.endObject();
    } else if (part.kind == ContentPart::Kind::kOther) {
      w.value(part.raw);
    }
  }
  if (m.refusal && !m.refusal->empty()) {
    w.beginObject();
    w.key("type").string("text");
    w.key("text").string(*m.refusal);
    w.endObject();
  }
  for (const auto& call : m.tool_calls) {
    w.beginObject();
    w.key("type").string("tool_use");
    w.key("id").string(call.id);
    w.key("name").string(call.name);
    w.key("input");
    writeToolInput(w, call.arguments);
    w.endObject();
  }
  w.endArray();
  const std::string_view stop = stopReasonName(c.finish_reason, c.stop_sequence,
                                               !m.tool_calls.empty());
  w.key("stop_reason").string(stop);
  w.key("stop_sequence");
  if (stop == "stop_sequence") {
    w.string(c.stop_sequence);
  } else {
    w.null();
  }
  w.key("usage");
  writeUsage(w, r.usage.value_or(Usage{}));
  w.endObject();
  return out;
}

std::string_view errorType(const Status& status) {
  const std::string& own = status.errorType();
  for (std::string_view t : kErrorTypes) {
    if (own == t) return t;
  }
  switch (status.code()) {
    case ErrorCode::kOk:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnprocessable:
      return "invalid_request_error";
    case ErrorCode::kUnauthenticated:
      return "authentication_error";
    case ErrorCode::kPermissionDenied:
      return status.httpStatus() == 402 ? "billing_error" : "permission_error";
    case ErrorCode::kNotFound:
      return "not_found_error";
    case ErrorCode::kPayloadTooLarge:
      return "request_too_large";
    case ErrorCode::kRateLimited:
      return "rate_limit_error";
    case ErrorCode::kUnavailable:
      return "overloaded_error";
    case ErrorCode::kDeadlineExceeded:
      return "timeout_error";
    case ErrorCode::kInternal:
    case ErrorCode::kUpstream:
    case ErrorCode::kCancelled:
      return "api_error";
  }
  return "api_error";
}

std::string encodeError(const Status& status) {
  std::string out;
  out.reserve(96 + status.message().size());
  JsonWriter w(out);
  w.beginObject();
  w.key("type").string("error");
  w.key("error").beginObject();
  w.key("type").string(errorType(status));
  w.key("message").string(status.message());
  w.endObject();
  w.endObject();
  return out;
}

std::string encodeCountTokensResponse(std::int64_t input_tokens) {
  return "{\"input_tokens\":" + std::to_string(input_tokens) + "}";
}

std::int64_t estimateInputTokens(const ChatRequest& r) {
  // ~4 bytes per token for English text and JSON; fixed costs follow Anthropic's documented
  // per-image (~1.6k for a large image, we take 1000) and tool-use system prompt overheads.
  std::size_t bytes = 0;
  std::int64_t fixed = 0;
  for (const Message& m : r.messages) {
    fixed += 4;
    for (const auto& part : m.content) {
      if (part.kind == ContentPart::Kind::kText) bytes += part.text.size();
      if (part.kind == ContentPart::Kind::kImage) fixed += 1000;
      if (part.kind == ContentPart::Kind::kOther) bytes += toJsonText(part.raw).size();
    }
    bytes += m.reasoning_content.size();
    for (const auto& call : m.tool_calls) bytes += call.name.size() + call.arguments.size();
  }
  if (!r.tools.empty()) fixed += 300;
  for (const ToolDef& t : r.tools) {
    bytes += t.name.size() + t.description.size();
    bytes += toJsonText(t.native.is_null() ? t.parameters : t.native).size();
  }
  return fixed + static_cast<std::int64_t>((bytes + 3) / 4);
}

Result<std::string> encodeMessagesRequest(const ChatRequest& request, std::string_view provider) {
  return encodeRequest(request, provider, false);
}

Result<std::string> encodeCountTokensRequest(const ChatRequest& request,
                                             std::string_view provider) {
  return encodeRequest(request, provider, true);
}

Usage usageFromAnthropic(std::int64_t input, std::int64_t output, std::int64_t cache_read,
                         std::int64_t cache_write) {
  Usage u;
  u.prompt_tokens = addTokens(addTokens(input, cache_read), cache_write);
  u.completion_tokens = output;
  u.total_tokens = addTokens(u.prompt_tokens, output);
  u.cached_tokens = cache_read;
  u.cache_write_tokens = cache_write;
  return u;
}

Result<ChatResponse> decodeMessagesResponse(std::string_view body) {
  auto root = parseBody(body, false);
  if (!root) return fail(std::move(root.error()));
  const json::object* o = root->if_object();
  if (o == nullptr) return fail(ErrorCode::kUpstream, "upstream response is not a JSON object");
  if (stringOr(*o, "type") == "error") return fail(decodeUpstreamError(500, body));
  const json::value* content = o->if_contains("content");
  const json::array* blocks = content != nullptr ? content->if_array() : nullptr;
  if (blocks == nullptr) return fail(ErrorCode::kUpstream, "message has no 'content' array");
  ChatResponse res;
  res.id = std::string(stringOr(*o, "id"));
  res.model = std::string(stringOr(*o, "model"));
  Choice& c = res.choices.emplace_back();
  Message& m = c.message;
  m.role = Role::kAssistant;
  m.content_form = Message::ContentForm::kParts;
  for (const auto& bv : *blocks) {
    const json::object* b = bv.if_object();
    if (b == nullptr) continue;
    const std::string_view type = stringOr(*b, "type");
    if (type == "text") {
      ContentPart& part = m.content.emplace_back();
      part.text = std::string(stringOr(*b, "text"));
    } else if (type == "thinking") {
      m.reasoning_content += stringOr(*b, "thinking");
      m.reasoning_signature = std::string(stringOr(*b, "signature"));
    } else if (type == "redacted_thinking") {
      m.redacted_reasoning.emplace_back(stringOr(*b, "data"));
    } else if (type == "tool_use") {
      ToolCall& call = m.tool_calls.emplace_back();
      call.id = std::string(stringOr(*b, "id"));
      call.name = std::string(stringOr(*b, "name"));
      const json::value* input = b->if_contains("input");
      call.arguments = input != nullptr ? toJsonText(*input) : "{}";
    } else {
      ContentPart& part = m.content.emplace_back();
      part.kind = ContentPart::Kind::kOther;
      part.raw = json::value(bv, json::storage_ptr());
    }
  }
  if (m.content.size() == 1 && m.content[0].kind == ContentPart::Kind::kText) {
    m.content_form = Message::ContentForm::kString;
  } else if (m.content.empty()) {
    m.content_form = m.tool_calls.empty() ? Message::ContentForm::kString
                                          : Message::ContentForm::kNull;
    if (m.tool_calls.empty()) m.content.resize(1);
  }
  const std::string_view stop = stringOr(*o, "stop_reason");
  if (stop == "max_tokens" || stop == "model_context_window_exceeded") {
    c.finish_reason = FinishReason::kLength;
  } else if (stop == "tool_use") {
    c.finish_reason = FinishReason::kToolCalls;
  } else if (stop == "refusal") {
    c.finish_reason = FinishReason::kContentFilter;
  } else {
    c.finish_reason = FinishReason::kStop;  // end_turn, stop_sequence, pause_turn
    c.stop_sequence = std::string(stringOr(*o, "stop_sequence"));
  }
  if (const json::value* u = o->if_contains("usage"); u && u->is_object()) {
    const json::object& uo = u->get_object();
    res.usage =
        usageFromAnthropic(upstreamCount(uo, "input_tokens"), upstreamCount(uo, "output_tokens"),
                           upstreamCount(uo, "cache_read_input_tokens"),
                           upstreamCount(uo, "cache_creation_input_tokens"));
  }
  return res;
}

Result<std::int64_t> decodeCountTokensResponse(std::string_view body) {
  auto root = parseBody(body, false);
  if (!root) return fail(std::move(root.error()));
  const json::object* o = root->if_object();
  if (o == nullptr || !o->contains("input_tokens")) {
    return fail(ErrorCode::kUpstream, "count_tokens response has no 'input_tokens'");
  }
  return upstreamCount(*o, "input_tokens");
}

Status decodeUpstreamError(unsigned http_status, std::string_view body) {
  std::string message;
  std::string type;
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (!ec && root.is_object()) {
    const json::value* e = root.get_object().if_contains("error");
    if (e != nullptr && e->is_object()) {
      message = std::string(stringOr(e->get_object(), "message"));
      type = std::string(stringOr(e->get_object(), "type"));
    }
  }
  if (message.empty()) {
    std::string_view text = body.substr(0, kMaxErrorBodyInMessage);
    for (unsigned char ch : text) message += ch < 0x20 ? ' ' : static_cast<char>(ch);
    if (message.empty()) message = "(empty body)";
  }
  ErrorCode code = errorCodeForHttpStatus(http_status);
  // An error event inside a 200 stream carries its meaning in the type only.
  if (type == "overloaded_error") code = ErrorCode::kUnavailable;
  if (type == "rate_limit_error") code = ErrorCode::kRateLimited;
  if (type == "api_error" && http_status < 500) code = ErrorCode::kUpstream;
  return Status(code, "upstream returned " + std::to_string(http_status) + ": " + message)
      .withErrorType(std::move(type))
      .withHttpStatus(static_cast<int>(http_status));
}

}  // namespace switchyard::api::anthropic
