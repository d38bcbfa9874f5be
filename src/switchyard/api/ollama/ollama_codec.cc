#include "switchyard/api/ollama/ollama_codec.h"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <limits>
#include <utility>

#include "switchyard/api/json_fields.h"
#include "switchyard/api/json_writer.h"

namespace switchyard::api::ollama {

namespace {

namespace json = boost::json;

Result<json::object> parseObject(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value v = json::parse(body, ec, json::storage_ptr(), options);
  if (ec) {
    return fail(ErrorCode::kInvalidArgument, "invalid JSON in request body: " + ec.message());
  }
  if (!allNumbersFinite(v)) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid JSON in request body: " + std::string(kNumberOutOfRange));
  }
  if (!v.is_object()) {
    return fail(ErrorCode::kInvalidArgument,
                "the request body must be a JSON object, got " + std::string(kindName(v)));
  }
  return std::move(v.as_object());
}

// Validating reader: methods return false after recording the first error.
class Reader {
 public:
  Status takeError() { return std::move(error_); }
  bool failed() const { return !error_.isOk(); }

  bool failWith(std::string message, const std::string& param,
                ErrorCode code = ErrorCode::kInvalidArgument) {
    error_ = Status(code, std::move(message));
    if (!param.empty()) error_.withParam(param);
    return false;
  }
  bool typeError(const std::string& p, std::string_view expected, const json::value& got) {
    return failWith(
        p + ": expected " + std::string(expected) + ", got " + std::string(kindName(got)), p);
  }
  bool unsupported(const std::string& p, std::string_view why) {
    return failWith(p + " is not supported by this gateway: " + std::string(why), p,
                    ErrorCode::kUnprocessable);
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
  bool number(const json::value& v, const std::string& p, std::optional<double>& out) {
    if (v.is_int64()) {
      out = static_cast<double>(v.get_int64());
    } else if (v.is_uint64()) {
      out = static_cast<double>(v.get_uint64());
    } else if (v.is_double() && std::isfinite(v.get_double())) {
      out = v.get_double();
    } else {
      return typeError(p, "a number", v);
    }
    return true;
  }
  bool integer(const json::value& v, const std::string& p, std::optional<std::int64_t>& out) {
    if (v.is_int64()) {
      out = v.get_int64();
    } else if (v.is_uint64() && v.get_uint64() <= std::numeric_limits<std::int64_t>::max()) {
      out = static_cast<std::int64_t>(v.get_uint64());
    } else if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
               std::abs(v.get_double()) < 9e18) {
      out = static_cast<std::int64_t>(v.get_double());
    } else {
      return typeError(p, "an integer", v);
    }
    return true;
  }
  bool stringList(const json::value& v, const std::string& p, std::vector<std::string>& out) {
    if (v.is_string()) {
      out.emplace_back(v.get_string());
      return true;
    }
    const json::array* a = v.if_array();
    if (a == nullptr) return typeError(p, "a string or an array of strings", v);
    for (std::size_t i = 0; i < a->size(); ++i) {
      std::string s;
      if (!string((*a)[i], p + "[" + std::to_string(i) + "]", s)) return false;
      out.push_back(std::move(s));
    }
    return true;
  }

 private:
  Status error_;
};

bool isNull(const json::value* v) { return v == nullptr || v->is_null(); }

// The media type of base64 image data, from its first bytes (Ollama takes raw base64 with no
// type; upstreams want a data: URI).
std::string_view imageMediaType(std::string_view b64) {
  if (b64.starts_with("iVBORw0KGgo")) return "image/png";
  if (b64.starts_with("/9j/")) return "image/jpeg";
  if (b64.starts_with("R0lGOD")) return "image/gif";
  if (b64.starts_with("UklGR")) return "image/webp";
  return "image/jpeg";
}

bool images(Reader& r, const json::value& v, const std::string& p, std::vector<ContentPart>& out) {
  const json::array* a = v.if_array();
  if (a == nullptr) return r.typeError(p, "an array of base64 strings", v);
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string pi = p + "[" + std::to_string(i) + "]";
    std::string data;
    if (!r.string((*a)[i], pi, data)) return false;
    if (data.starts_with("data:")) {
      // Already a data: URI (some clients send one); keep it.
    } else {
      data = "data:" + std::string(imageMediaType(data)) + ";base64," + data;
    }
    ContentPart part;
    part.kind = ContentPart::Kind::kImage;
    part.image_url = std::move(data);
    out.push_back(std::move(part));
  }
  return true;
}

// Options that tune how Ollama runs a model, not what it samples: the gateway does not load
// models for the client, so they have no effect here (accepted so that clients that always
// send them keep working).
// mirostat_eta / mirostat_tau only matter when mirostat is on, which is rejected.
constexpr std::array<std::string_view, 21> kRuntimeOptions = {"num_ctx",
                                                              "num_batch",
                                                              "num_gpu",
                                                              "main_gpu",
                                                              "low_vram",
                                                              "num_thread",
                                                              "use_mmap",
                                                              "use_mlock",
                                                              "numa",
                                                              "vocab_only",
                                                              "num_keep",
                                                              "repeat_last_n",
                                                              "penalize_newline",
                                                              "f16_kv",
                                                              "num_gqa",
                                                              "rope_frequency_base",
                                                              "rope_frequency_scale",
                                                              "logits_all",
                                                              "embedding_only",
                                                              "mirostat_eta",
                                                              "mirostat_tau"};

struct Sampling {
  std::optional<double> temperature, top_p, min_p, repeat_penalty, frequency_penalty,
      presence_penalty;
  std::optional<std::int64_t> top_k, seed, num_predict;
  std::vector<std::string> stop;
  std::optional<int> top_logprobs;  // set when `logprobs: true`: the alternatives per token
};

bool options(Reader& r, const json::object& body, Sampling& s) {
  const json::value* v = body.if_contains("options");
  if (isNull(v)) return true;
  const json::object* o = v->if_object();
  if (o == nullptr) return r.typeError("options", "an object", *v);
  for (const auto& [key, value] : *o) {
    const std::string p = "options." + std::string(key);
    if (value.is_null()) continue;
    if (key == "temperature") {
      if (!r.number(value, p, s.temperature)) return false;
    } else if (key == "top_p") {
      if (!r.number(value, p, s.top_p)) return false;
    } else if (key == "min_p") {
      if (!r.number(value, p, s.min_p)) return false;
    } else if (key == "repeat_penalty") {
      if (!r.number(value, p, s.repeat_penalty)) return false;
    } else if (key == "frequency_penalty") {
      if (!r.number(value, p, s.frequency_penalty)) return false;
    } else if (key == "presence_penalty") {
      if (!r.number(value, p, s.presence_penalty)) return false;
    } else if (key == "top_k") {
      if (!r.integer(value, p, s.top_k)) return false;
    } else if (key == "seed") {
      if (!r.integer(value, p, s.seed)) return false;
    } else if (key == "num_predict") {
      if (!r.integer(value, p, s.num_predict)) return false;
    } else if (key == "stop") {
      if (!r.stringList(value, p, s.stop)) return false;
    } else if (std::find(kRuntimeOptions.begin(), kRuntimeOptions.end(), key) !=
               kRuntimeOptions.end()) {
      continue;
    } else if ((key == "typical_p" || key == "tfs_z") && value.is_number() &&
               value.to_number<double>() == 1.0) {
      continue;  // the neutral value: nothing to carry
    } else if (key == "mirostat" && value.is_number() && value.to_number<double>() == 0.0) {
      continue;
    } else {
      return r.unsupported(p,
                           "no provider-neutral equivalent (supported options: temperature, "
                           "top_p, top_k, min_p, seed, num_predict, stop, repeat_penalty, "
                           "frequency_penalty, presence_penalty)");
    }
  }
  return true;
}

void applySampling(const Sampling& s, ChatRequest& req) {
  req.temperature = s.temperature;
  req.top_p = s.top_p;
  req.min_p = s.min_p;
  req.repetition_penalty = s.repeat_penalty;
  req.frequency_penalty = s.frequency_penalty;
  req.presence_penalty = s.presence_penalty;
  if (s.top_k) req.top_k = static_cast<int>(std::clamp<std::int64_t>(*s.top_k, 0, 1 << 30));
  req.seed = s.seed;
  // num_predict -1 (until done) and -2 (fill the context) mean "no limit".
  if (s.num_predict && *s.num_predict > 0) req.max_tokens = s.num_predict;
  req.stop = s.stop;
  if (s.top_logprobs) {
    req.logprobs = true;
    req.top_logprobs = s.top_logprobs;
  }
}

bool format(Reader& r, const json::object& body, ResponseFormat& out) {
  const json::value* v = body.if_contains("format");
  if (isNull(v)) return true;
  if (const json::string* s = v->if_string()) {
    if (s->empty()) return true;
    if (*s == "json") {
      out.kind = ResponseFormat::Kind::kJsonObject;
      return true;
    }
    return r.failWith(
        "format: expected \"json\" or a JSON schema object, got \"" + std::string(*s) + "\"",
        "format");
  }
  if (v->is_object()) {
    out.kind = ResponseFormat::Kind::kJsonSchema;
    out.schema_name = "response";
    out.schema = *v;
    return true;
  }
  return r.typeError("format", "\"json\" or a JSON schema object", *v);
}

// Seconds -> keep_alive: negative is "forever" (-1 ms), fractions of a millisecond round up
// (a keep_alive of 1 ns still keeps the model for a moment; only 0 unloads at once), and
// anything beyond a century is forever too (no clock arithmetic overflows on it).
std::chrono::milliseconds keepAliveOf(double seconds) {
  constexpr double kCentury = 100.0 * 365 * 24 * 3600;
  if (seconds < 0 || seconds > kCentury) return std::chrono::milliseconds(-1);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
}

bool think(Reader& r, const json::object& body, ChatRequest& req) {
  const json::value* v = body.if_contains("think");
  if (isNull(v)) return true;
  if (const bool* b = v->if_bool()) {
    if (*b) {
      req.reasoning_effort = "medium";
    } else {
      req.thinking.mode = ThinkingConfig::Mode::kDisabled;
    }
    return true;
  }
  if (const json::string* s = v->if_string()) {
    if (*s == "low" || *s == "medium" || *s == "high") {
      req.reasoning_effort = std::string(*s);
      return true;
    }
    return r.failWith("think: expected true, false, \"low\", \"medium\" or \"high\"", "think");
  }
  return r.typeError("think", "a boolean or \"low\" | \"medium\" | \"high\"", *v);
}

bool modelAndStream(Reader& r, const json::object& body, std::string& model, bool& stream,
                    KeepAlive* keep_alive = nullptr) {
  const json::value* m = body.if_contains("model");
  if (isNull(m)) return r.failWith("model is required", "model");
  if (!r.string(*m, "model", model)) return false;
  if (model.empty()) return r.failWith("model is required", "model");
  stream = true;
  if (const json::value* s = body.if_contains("stream"); !isNull(s)) {
    if (!r.boolean(*s, "stream", stream)) return false;
  }
  if (const json::value* k = body.if_contains("keep_alive"); !isNull(k)) {
    std::chrono::milliseconds keep{0};
    if (const json::string* text = k->if_string()) {
      auto parsed = parseKeepAlive(*text);
      if (!parsed) return r.failWith(parsed.error().message(), "keep_alive");
      keep = *parsed;
    } else if (k->is_number()) {
      std::optional<double> seconds;
      if (!r.number(*k, "keep_alive", seconds)) return false;
      keep = keepAliveOf(*seconds);
    } else {
      return r.typeError("keep_alive", "a duration string or a number of seconds", *k);
    }
    if (keep_alive != nullptr) *keep_alive = keep;
  }
  return true;
}

// `logprobs: true` with `top_logprobs: N` (0..20), top-level fields beside `options`.
bool logprobs(Reader& r, const json::object& body, Sampling& s) {
  bool on = false;
  if (const json::value* v = body.if_contains("logprobs"); !isNull(v)) {
    if (!r.boolean(*v, "logprobs", on)) return false;
  }
  std::optional<std::int64_t> top;
  if (const json::value* v = body.if_contains("top_logprobs"); !isNull(v)) {
    if (!r.integer(*v, "top_logprobs", top)) return false;
    if (*top < 0 || *top > 20) {
      return r.failWith("top_logprobs must be from 0 to 20", "top_logprobs");
    }
  }
  if (on) s.top_logprobs = static_cast<int>(top.value_or(0));
  return true;
}

bool tools(Reader& r, const json::object& body, std::vector<ToolDef>& out) {
  const json::value* v = body.if_contains("tools");
  if (isNull(v)) return true;
  const json::array* a = v->if_array();
  if (a == nullptr) return r.typeError("tools", "an array", *v);
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string p = "tools[" + std::to_string(i) + "]";
    const json::object* t = (*a)[i].if_object();
    if (t == nullptr) return r.typeError(p, "an object", (*a)[i]);
    if (const json::value* type = t->if_contains("type");
        !isNull(type) && !(type->is_string() && type->get_string() == "function")) {
      return r.unsupported(p + ".type", "only function tools can be routed");
    }
    const json::value* f = t->if_contains("function");
    if (isNull(f) || !f->is_object()) return r.failWith(p + ".function is required", p);
    const json::object& fo = f->as_object();
    ToolDef def;
    const json::value* name = fo.if_contains("name");
    if (isNull(name)) return r.failWith(p + ".function.name is required", p + ".function.name");
    if (!r.string(*name, p + ".function.name", def.name)) return false;
    if (const json::value* d = fo.if_contains("description"); !isNull(d)) {
      if (!r.string(*d, p + ".function.description", def.description)) return false;
    }
    if (const json::value* params = fo.if_contains("parameters"); !isNull(params)) {
      if (!params->is_object()) {
        return r.typeError(p + ".function.parameters", "a JSON schema object", *params);
      }
      def.parameters = *params;
    }
    out.push_back(std::move(def));
  }
  return true;
}

struct PendingCall {
  std::string id;
  std::string name;
};

bool toolCalls(Reader& r, const json::value& v, const std::string& p, int& next_id,
               std::deque<PendingCall>& pending, std::vector<ToolCall>& out) {
  const json::array* a = v.if_array();
  if (a == nullptr) return r.typeError(p, "an array", v);
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string pi = p + "[" + std::to_string(i) + "]";
    const json::object* c = (*a)[i].if_object();
    if (c == nullptr) return r.typeError(pi, "an object", (*a)[i]);
    const json::value* f = c->if_contains("function");
    if (isNull(f) || !f->is_object()) return r.failWith(pi + ".function is required", pi);
    const json::object& fo = f->as_object();
    ToolCall call;
    const json::value* name = fo.if_contains("name");
    if (isNull(name)) return r.failWith(pi + ".function.name is required", pi + ".function.name");
    if (!r.string(*name, pi + ".function.name", call.name)) return false;
    const json::value* args = fo.if_contains("arguments");
    if (isNull(args)) {
      call.arguments = "{}";
    } else if (args->is_object()) {
      JsonWriter(call.arguments).value(*args);
    } else if (args->is_string()) {
      call.arguments = std::string(args->get_string());  // JSON text, as OpenAI sends it
    } else {
      return r.typeError(pi + ".function.arguments", "an object", *args);
    }
    if (const json::value* id = c->if_contains("id"); !isNull(id)) {
      if (!r.string(*id, pi + ".id", call.id)) return false;
    }
    if (call.id.empty()) call.id = "call_" + std::to_string(next_id++);
    pending.push_back({call.id, call.name});
    out.push_back(std::move(call));
  }
  return true;
}

bool messages(Reader& r, const json::object& body, std::vector<Message>& out) {
  const json::value* v = body.if_contains("messages");
  if (isNull(v)) return true;  // no messages: a model-load probe
  const json::array* a = v->if_array();
  if (a == nullptr) return r.typeError("messages", "an array", *v);
  int next_id = 0;
  std::deque<PendingCall> pending;  // assistant tool calls not yet answered
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string p = "messages[" + std::to_string(i) + "]";
    const json::object* m = (*a)[i].if_object();
    if (m == nullptr) return r.typeError(p, "an object", (*a)[i]);
    Message msg;
    std::string role;
    const json::value* rv = m->if_contains("role");
    if (isNull(rv)) return r.failWith(p + ".role is required", p + ".role");
    if (!r.string(*rv, p + ".role", role)) return false;
    auto parsed = parseRole(role);
    if (!parsed || *parsed == Role::kDeveloper) {
      return r.failWith(p + ".role: expected system, user, assistant or tool, got \"" + role + "\"",
                        p + ".role");
    }
    msg.role = *parsed;
    std::string text;
    if (const json::value* c = m->if_contains("content"); !isNull(c)) {
      if (!r.string(*c, p + ".content", text)) return false;
    }
    std::vector<ContentPart> image_parts;
    if (const json::value* im = m->if_contains("images"); !isNull(im)) {
      if (!images(r, *im, p + ".images", image_parts)) return false;
    }
    if (image_parts.empty()) {
      msg.content_form = Message::ContentForm::kString;
      msg.content.push_back(ContentPart{.text = std::move(text)});
    } else {
      msg.content_form = Message::ContentForm::kParts;
      if (!text.empty()) msg.content.push_back(ContentPart{.text = std::move(text)});
      for (auto& part : image_parts) msg.content.push_back(std::move(part));
    }
    if (const json::value* th = m->if_contains("thinking"); !isNull(th)) {
      if (msg.role != Role::kAssistant) {
        return r.failWith(p + ".thinking is only allowed on assistant messages", p + ".thinking");
      }
      if (!r.string(*th, p + ".thinking", msg.reasoning_content)) return false;
    }
    if (const json::value* tc = m->if_contains("tool_calls"); !isNull(tc)) {
      if (msg.role != Role::kAssistant) {
        return r.failWith(p + ".tool_calls is only allowed on assistant messages",
                          p + ".tool_calls");
      }
      if (!toolCalls(r, *tc, p + ".tool_calls", next_id, pending, msg.tool_calls)) return false;
      if (msg.content.size() == 1 && msg.content.front().text.empty()) {
        msg.content.clear();
        msg.content_form = Message::ContentForm::kNull;
      }
    }
    if (msg.role == Role::kTool) {
      std::string tool_name;
      if (const json::value* n = m->if_contains("tool_name"); !isNull(n)) {
        if (!r.string(*n, p + ".tool_name", tool_name)) return false;
      }
      if (const json::value* id = m->if_contains("tool_call_id"); !isNull(id)) {
        if (!r.string(*id, p + ".tool_call_id", msg.tool_call_id)) return false;
      }
      // Ollama's tool results name the tool, not the call: answer the oldest open call of
      // that tool (or the oldest open call at all).
      auto it = pending.end();
      if (!msg.tool_call_id.empty()) {
        it = std::find_if(pending.begin(), pending.end(),
                          [&](const PendingCall& c) { return c.id == msg.tool_call_id; });
      } else {
        it = std::find_if(pending.begin(), pending.end(), [&](const PendingCall& c) {
          return tool_name.empty() || c.name == tool_name;
        });
        if (it == pending.end() && !pending.empty()) it = pending.begin();
        if (it != pending.end()) msg.tool_call_id = it->id;
      }
      if (it != pending.end()) pending.erase(it);
      if (msg.tool_call_id.empty()) {
        return r.failWith(p + ": a tool message must follow an assistant message with "
                              "tool_calls",
                          p);
      }
    }
    out.push_back(std::move(msg));
  }
  return true;
}

}  // namespace

// ---- client -> gateway ----------------------------------------------------------------------

Result<std::chrono::milliseconds> parseKeepAlive(std::string_view text) {
  auto invalid = [&] {
    return fail(Status(ErrorCode::kInvalidArgument,
                       "keep_alive: invalid duration \"" + std::string(text) +
                           "\" (expected a number of seconds or a duration such as \"5m\", "
                           "\"1h30m\", \"-1\")")
                    .withParam("keep_alive"));
  };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return invalid();
  // Go: "0" alone needs no unit. Here any bare number is seconds, as OLLAMA_KEEP_ALIVE reads.
  double seconds = 0;
  bool bare = true;
  while (!s.empty()) {
    std::size_t digits = 0, dots = 0;
    while (digits < s.size() &&
           (std::isdigit(static_cast<unsigned char>(s[digits])) != 0 || s[digits] == '.')) {
      dots += s[digits] == '.' ? 1 : 0;
      ++digits;
    }
    if (digits == 0 || dots > 1 || (digits == 1 && dots == 1)) return invalid();
    double number = 0;
    std::from_chars(s.data(), s.data() + digits, number);  // digits and one dot: always parses
    s.remove_prefix(digits);
    std::size_t unit_len = 0;
    while (unit_len < s.size() && std::isdigit(static_cast<unsigned char>(s[unit_len])) == 0 &&
           s[unit_len] != '.') {
      ++unit_len;
    }
    const std::string_view unit = s.substr(0, unit_len);
    s.remove_prefix(unit_len);
    double scale = 0;
    if (unit.empty()) {
      if (!bare || !s.empty()) return invalid();  // "1h30" has no unit for its 30
      scale = 1;
    } else if (unit == "h") {
      scale = 3600;
    } else if (unit == "m") {
      scale = 60;
    } else if (unit == "s") {
      scale = 1;
    } else if (unit == "ms") {
      scale = 1e-3;
    } else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") {
      scale = 1e-6;
    } else if (unit == "ns") {
      scale = 1e-9;
    } else {
      return invalid();
    }
    bare = false;
    seconds += number * scale;
  }
  if (!std::isfinite(seconds)) return invalid();
  return keepAliveOf(negative ? -seconds : seconds);
}

Result<ChatRequest> decodeChatRequest(std::string_view body, KeepAlive* keep_alive) {
  auto parsed = parseObject(body);
  if (!parsed) return fail(std::move(parsed.error()));
  const json::object& o = *parsed;
  Reader r;
  ChatRequest req;
  Sampling s;
  if (!modelAndStream(r, o, req.model, req.stream, keep_alive) || !messages(r, o, req.messages) ||
      !tools(r, o, req.tools) || !format(r, o, req.response_format) || !think(r, o, req) ||
      !options(r, o, s) || !logprobs(r, o, s)) {
    return fail(r.takeError());
  }
  applySampling(s, req);
  req.include_usage = req.stream;
  return req;
}

Result<GenerateRequest> decodeGenerateRequest(std::string_view body) {
  auto parsed = parseObject(body);
  if (!parsed) return fail(std::move(parsed.error()));
  const json::object& o = *parsed;
  Reader r;
  GenerateRequest out;
  std::string model;
  bool stream = true;
  Sampling s;
  if (!modelAndStream(r, o, model, stream, &out.keep_alive) || !options(r, o, s) ||
      !logprobs(r, o, s)) {
    return fail(r.takeError());
  }
  std::string prompt, system;
  if (const json::value* v = o.if_contains("prompt"); !isNull(v)) {
    if (!r.string(*v, "prompt", prompt)) return fail(r.takeError());
  }
  if (const json::value* v = o.if_contains("system"); !isNull(v)) {
    if (!r.string(*v, "system", system)) return fail(r.takeError());
  }
  if (const json::value* v = o.if_contains("raw"); !isNull(v)) {
    if (!r.boolean(*v, "raw", out.raw)) return fail(r.takeError());
  }
  for (std::string_view key : {"suffix", "template"}) {
    if (const json::value* v = o.if_contains(key);
        !isNull(v) && !(v->is_string() && v->get_string().empty())) {
      r.unsupported(std::string(key), key == "suffix"
                                          ? "fill-in-the-middle has no provider-neutral form"
                                          : "prompt templates are applied by the provider");
      return fail(r.takeError());
    }
  }
  if (const json::value* v = o.if_contains("context");
      !isNull(v) && !(v->is_array() && v->get_array().empty())) {
    r.unsupported("context",
                  "token contexts are not portable; send the conversation to "
                  "/api/chat instead");
    return fail(r.takeError());
  }
  std::vector<ContentPart> image_parts;
  if (const json::value* v = o.if_contains("images"); !isNull(v)) {
    if (!images(r, *v, "images", image_parts)) return fail(r.takeError());
  }
  ResponseFormat fmt;
  if (!format(r, o, fmt)) return fail(r.takeError());

  out.load_only = prompt.empty() && image_parts.empty();
  if (out.raw) {
    if (!system.empty()) r.unsupported("system", "raw prompts are sent verbatim");
    if (!image_parts.empty()) r.unsupported("images", "raw prompts are plain text");
    if (fmt.kind != ResponseFormat::Kind::kUnset) {
      r.unsupported("format", "raw prompts are text completions");
    }
    if (const json::value* v = o.if_contains("think");
        !isNull(v) && !(v->is_bool() && !v->get_bool())) {
      r.unsupported("think", "raw prompts are text completions");
    }
    if (r.failed()) return fail(r.takeError());
    CompletionRequest& c = out.completion;
    c.model = std::move(model);
    c.prompt = json::string(prompt);
    c.stream = stream;
    c.include_usage = stream;
    c.temperature = s.temperature;
    c.top_p = s.top_p;
    c.seed = s.seed;
    if (s.num_predict && *s.num_predict > 0) c.max_tokens = s.num_predict;
    c.stop = s.stop;
    // Sampling extensions go as the fields vLLM, llama-server and the local engine read.
    if (s.top_k) c.extra["top_k"] = *s.top_k;
    if (s.min_p) c.extra["min_p"] = *s.min_p;
    if (s.repeat_penalty) c.extra["repetition_penalty"] = *s.repeat_penalty;
    if (s.frequency_penalty) c.extra["frequency_penalty"] = *s.frequency_penalty;
    if (s.presence_penalty) c.extra["presence_penalty"] = *s.presence_penalty;
    if (s.top_logprobs) c.extra["logprobs"] = *s.top_logprobs;
    return out;
  }
  ChatRequest& req = out.chat;
  req.model = std::move(model);
  req.stream = stream;
  req.include_usage = stream;
  req.response_format = std::move(fmt);
  if (!think(r, o, req)) return fail(r.takeError());
  applySampling(s, req);
  if (!system.empty()) {
    Message m;
    m.role = Role::kSystem;
    m.content.push_back(ContentPart{.text = std::move(system)});
    req.messages.push_back(std::move(m));
  }
  Message user;
  user.role = Role::kUser;
  if (image_parts.empty()) {
    user.content.push_back(ContentPart{.text = std::move(prompt)});
  } else {
    user.content_form = Message::ContentForm::kParts;
    if (!prompt.empty()) user.content.push_back(ContentPart{.text = std::move(prompt)});
    for (auto& part : image_parts) user.content.push_back(std::move(part));
  }
  req.messages.push_back(std::move(user));
  return out;
}

namespace {

Result<EmbeddingRequest> decodeEmbedding(std::string_view body, std::string_view field,
                                         KeepAlive* keep_alive) {
  auto parsed = parseObject(body);
  if (!parsed) return fail(std::move(parsed.error()));
  const json::object& o = *parsed;
  Reader r;
  EmbeddingRequest req;
  bool stream = false;
  if (!modelAndStream(r, o, req.model, stream, keep_alive)) return fail(r.takeError());
  const json::value* v = o.if_contains(field);
  const std::string p(field);
  if (isNull(v)) return fail(Status(ErrorCode::kInvalidArgument, p + " is required").withParam(p));
  if (field == "prompt") {
    std::string s;
    if (!r.string(*v, p, s)) return fail(r.takeError());
    req.texts.push_back(std::move(s));
  } else if (!r.stringList(*v, p, req.texts)) {
    return fail(r.takeError());
  }
  if (req.texts.empty()) {
    return fail(Status(ErrorCode::kInvalidArgument, p + " must not be empty").withParam(p));
  }
  if (const json::value* d = o.if_contains("dimensions"); !isNull(d)) {
    std::optional<std::int64_t> dims;
    if (!r.integer(*d, "dimensions", dims)) return fail(r.takeError());
    if (*dims <= 0 || *dims > 1 << 20) {
      return fail(Status(ErrorCode::kInvalidArgument, "dimensions must be positive")
                      .withParam("dimensions"));
    }
    req.dimensions = static_cast<int>(*dims);
  }
  if (const json::value* t = o.if_contains("truncate"); !isNull(t)) {
    bool truncate = true;
    if (!r.boolean(*t, "truncate", truncate)) return fail(r.takeError());
  }
  return req;
}

}  // namespace

Result<EmbeddingRequest> decodeEmbedRequest(std::string_view body, KeepAlive* keep_alive) {
  return decodeEmbedding(body, "input", keep_alive);
}

Result<EmbeddingRequest> decodeEmbeddingsRequest(std::string_view body, KeepAlive* keep_alive) {
  return decodeEmbedding(body, "prompt", keep_alive);
}

namespace {
// `model`, or the legacy `name`, of /api/show and /api/pull.
Result<std::string> modelNameOf(const json::object& o) {
  for (std::string_view key : {"model", "name"}) {
    if (const json::value* v = o.if_contains(key);
        v && v->is_string() && !v->get_string().empty()) {
      return std::string(v->get_string());
    }
  }
  return fail(Status(ErrorCode::kInvalidArgument, "model is required").withParam("model"));
}
}  // namespace

Result<std::string> decodeShowRequest(std::string_view body) {
  auto parsed = parseObject(body);
  if (!parsed) return fail(std::move(parsed.error()));
  return modelNameOf(*parsed);
}

Result<PullRequest> decodePullRequest(std::string_view body) {
  auto parsed = parseObject(body);
  if (!parsed) return fail(std::move(parsed.error()));
  auto model = modelNameOf(*parsed);
  if (!model) return fail(std::move(model.error()));
  PullRequest out{std::move(*model)};
  if (const json::value* v = parsed->if_contains("stream"); !isNull(v)) {
    Reader r;
    if (!r.boolean(*v, "stream", out.stream)) return fail(r.takeError());
  }
  return out;
}

// ---- gateway -> client ----------------------------------------------------------------------

std::string_view doneReason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kLength:
      return "length";
    case FinishReason::kContentFilter:
      return "content_filter";
    case FinishReason::kError:
      return "error";
    default:
      return "stop";
  }
}

std::string formatTimestamp(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ns.count() / 1'000'000'000);
  long frac = static_cast<long>(ns.count() % 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (frac > 0) {
    char f[16];
    std::snprintf(f, sizeof f, ".%09ld", frac);
    std::string fs(f);
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  out += 'Z';
  return out;
}

namespace {

void writeStats(JsonWriter& w, const Usage& usage, const Timings& t) {
  w.key("total_duration").integer(t.total_ns);
  w.key("load_duration").integer(t.load_ns);
  w.key("prompt_eval_count").integer(usage.prompt_tokens);
  w.key("prompt_eval_duration").integer(t.prompt_eval_ns);
  w.key("eval_count").integer(usage.completion_tokens);
  w.key("eval_duration").integer(t.eval_ns);
}

void writeArguments(JsonWriter& w, std::string_view arguments) {
  boost::system::error_code ec;
  json::value v = json::parse(arguments, ec);
  if (!ec && v.is_object()) {
    w.value(v);
  } else if (arguments.empty() || (!ec && v.is_null())) {
    w.beginObject().endObject();
  } else {
    // Not a JSON object (a model that wrote broken JSON): Ollama's clients expect an object,
    // so the text travels whole under one key rather than being lost.
    w.beginObject().key("__raw").string(arguments);
    w.endObject();
  }
}

}  // namespace

void appendMessage(JsonWriter& w, std::string_view content, std::string_view thinking,
                   const std::vector<ToolCall>& calls) {
  w.beginObject();
  w.key("role").string("assistant");
  w.key("content").string(content);
  if (!thinking.empty()) w.key("thinking").string(thinking);
  if (!calls.empty()) {
    w.key("tool_calls").beginArray();
    for (std::size_t i = 0; i < calls.size(); ++i) {
      w.beginObject();
      if (!calls[i].id.empty()) w.key("id").string(calls[i].id);
      w.key("function").beginObject();
      w.key("index").integer(static_cast<std::int64_t>(i));
      w.key("name").string(calls[i].name);
      w.key("arguments");
      writeArguments(w, calls[i].arguments);
      w.endObject();
      w.endObject();
    }
    w.endArray();
  }
  w.endObject();
}

namespace {

json::object ollamaToken(std::string_view token, const json::value& logprob) {
  return json::object{{"token", token}, {"logprob", logprob}, {"bytes", byteArray(token)}};
}

}  // namespace

json::value toOllamaLogprobs(const json::value& openai) {
  const json::object* o = openai.if_object();
  if (o == nullptr) return nullptr;
  json::array out;
  if (const json::value* content = o->if_contains("content")) {  // chat: entries as Ollama's
    if (!content->is_array()) return nullptr;
    for (const json::value& entry : content->get_array()) {
      const json::object* e = entry.if_object();
      if (e == nullptr) continue;
      json::object item;
      for (const char* key : {"token", "logprob", "bytes", "top_logprobs"}) {
        if (const json::value* v = e->if_contains(key)) item[key] = *v;
      }
      out.push_back(std::move(item));
    }
    return out;
  }
  const json::value* tokens = o->if_contains("tokens");  // legacy completions: parallel arrays
  const json::value* logprobs = o->if_contains("token_logprobs");
  if (tokens == nullptr || logprobs == nullptr || !tokens->is_array() || !logprobs->is_array()) {
    return nullptr;
  }
  const json::value* tops = o->if_contains("top_logprobs");
  for (std::size_t i = 0; i < tokens->get_array().size(); ++i) {
    const json::value& token = tokens->get_array()[i];
    if (!token.is_string() || i >= logprobs->get_array().size()) break;
    json::object item = ollamaToken(token.get_string(), logprobs->get_array()[i]);
    json::array alternatives;
    if (tops != nullptr && tops->is_array() && i < tops->get_array().size() &&
        tops->get_array()[i].is_object()) {
      for (const auto& [text, lp] : tops->get_array()[i].get_object()) {
        alternatives.push_back(ollamaToken(text, lp));
      }
      std::ranges::stable_sort(alternatives, std::greater<>(), [](const json::value& a) {
        const json::value& lp = a.get_object().at("logprob");
        return lp.is_number() ? lp.to_number<double>() : 0.0;
      });
    }
    item["top_logprobs"] = std::move(alternatives);
    out.push_back(std::move(item));
  }
  return out;
}

std::string encodeChatResponse(const ChatResponse& response, std::string_view model,
                               std::string_view created_at, const Timings& timings) {
  std::string out;
  JsonWriter w(out);
  const Choice* choice = response.choices.empty() ? nullptr : &response.choices.front();
  w.beginObject();
  w.key("model").string(model);
  w.key("created_at").string(created_at);
  w.key("message");
  static const std::vector<ToolCall> kNoCalls;
  if (choice != nullptr) {
    appendMessage(w, choice->message.text(), choice->message.reasoning_content,
                  choice->message.tool_calls);
  } else {
    appendMessage(w, "", "", kNoCalls);
  }
  w.key("done_reason").string(doneReason(choice ? choice->finish_reason : FinishReason::kStop));
  w.key("done").boolean(true);
  writeStats(w, response.usage.value_or(Usage{}), timings);
  if (choice != nullptr) {
    if (json::value lp = toOllamaLogprobs(choice->logprobs); !lp.is_null()) {
      w.key("logprobs").value(lp);
    }
  }
  w.endObject();
  return out;
}

std::string encodeGenerateResponse(std::string_view model, std::string_view created_at,
                                   std::string_view text, std::string_view thinking,
                                   std::string_view done_reason, const Usage& usage,
                                   const Timings& timings, const json::value& logprobs) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key("model").string(model);
  w.key("created_at").string(created_at);
  w.key("response").string(text);
  if (!thinking.empty()) w.key("thinking").string(thinking);
  w.key("done").boolean(true);
  w.key("done_reason").string(done_reason);
  if (done_reason != "load" && done_reason != "unload") writeStats(w, usage, timings);
  if (json::value lp = toOllamaLogprobs(logprobs); !lp.is_null()) w.key("logprobs").value(lp);
  w.endObject();
  return out;
}

std::string encodeChatLoadResponse(std::string_view model, std::string_view created_at,
                                   std::string_view done_reason) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key("model").string(model);
  w.key("created_at").string(created_at);
  w.key("message").beginObject().key("role").string("assistant");
  w.key("content").string("");
  w.endObject();
  w.key("done_reason").string(done_reason);
  w.key("done").boolean(true);
  w.endObject();
  return out;
}

namespace {
void writeVector(JsonWriter& w, const std::vector<float>& v) {
  w.beginArray();
  for (float f : v) w.number(static_cast<double>(f));
  w.endArray();
}
}  // namespace

std::string encodeEmbedResponse(const EmbeddingResponse& response, std::string_view model,
                                const Timings& timings) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key("model").string(model);
  w.key("embeddings").beginArray();
  for (const auto& e : response.embeddings) writeVector(w, e);
  w.endArray();
  w.key("total_duration").integer(timings.total_ns);
  w.key("load_duration").integer(timings.load_ns);
  w.key("prompt_eval_count").integer(response.usage.prompt_tokens);
  w.endObject();
  return out;
}

std::string encodeEmbeddingsResponse(const EmbeddingResponse& response) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key("embedding");
  if (response.embeddings.empty()) {
    w.beginArray().endArray();
  } else {
    writeVector(w, response.embeddings.front());
  }
  w.endObject();
  return out;
}

std::string encodeError(std::string_view message) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("error").string(message);
  w.endObject();
  return out;
}

std::string encodeError(const Status& status) { return encodeError(status.message()); }

namespace {

void writeDetails(JsonWriter& w, const ModelInfo& m) {
  w.key("details").beginObject();
  w.key("parent_model").string("");
  w.key("format").string(m.format);
  w.key("family").string(m.family);
  w.key("families");
  if (m.family.empty()) {
    w.null();
  } else {
    w.beginArray();
    w.string(m.family);
    w.endArray();
  }
  w.key("parameter_size").string(m.parameter_count > 0 ? parameterSize(m.parameter_count) : "");
  w.key("quantization_level").string(m.quantization_level);
  w.endObject();
}

}  // namespace

std::string parameterSize(std::uint64_t parameters) {
  struct Unit {
    double scale;
    char suffix;
  };
  constexpr Unit kUnits[] = {{1e12, 'T'}, {1e9, 'B'}, {1e6, 'M'}, {1e3, 'K'}};
  for (const Unit& u : kUnits) {
    if (static_cast<double>(parameters) < u.scale) continue;
    const double v = static_cast<double>(parameters) / u.scale;
    char buf[32];
    // Ollama: one decimal for billions and up ("7.6B"), two below ("494.03M").
    std::snprintf(buf, sizeof buf, u.suffix == 'B' || u.suffix == 'T' ? "%.1f%c" : "%.2f%c", v,
                  u.suffix);
    return buf;
  }
  return std::to_string(parameters);
}

std::string quantizationLevel(std::string_view file_type) {
  std::string s(file_type);
  if (s.starts_with("all ")) s.erase(0, 4);
  for (const auto& [long_name, short_name] :
       {std::pair<std::string_view, std::string_view>{" - Small", "_S"},
        {" - Medium", "_M"},
        {" - Large", "_L"},
        {" - Extra Small", "_XS"},
        {" - Extra Extra Small", "_XXS"}}) {
    if (s.ends_with(long_name)) {
      s.resize(s.size() - long_name.size());
      s += short_name;
      break;
    }
  }
  const auto paren = s.find(" (");  // "Q4_0 (guessed)"
  if (paren != std::string::npos) s.resize(paren);
  return s;
}

std::string encodeTags(const std::vector<ModelInfo>& models, std::string_view modified_at) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("models").beginArray();
  for (const auto& m : models) {
    w.beginObject();
    w.key("name").string(m.name);
    w.key("model").string(m.name);
    w.key("modified_at").string(modified_at);
    w.key("size").integer(static_cast<std::int64_t>(m.size_bytes));
    w.key("digest").string(m.digest);
    writeDetails(w, m);
    w.endObject();
  }
  w.endArray().endObject();
  return out;
}

std::string encodeShow(const ModelInfo& m, std::string_view modified_at) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key("modelfile").string("");
  w.key("parameters").string("");
  w.key("template").string(m.chat_template);
  writeDetails(w, m);
  w.key("model_info").beginObject();
  w.key("general.architecture").string(m.family);
  if (m.parameter_count > 0) {
    w.key("general.parameter_count").integer(static_cast<std::int64_t>(m.parameter_count));
  }
  if (!m.family.empty() && m.context_length > 0) {
    w.key(m.family + ".context_length").integer(m.context_length);
  }
  if (!m.family.empty() && m.embedding_length > 0) {
    w.key(m.family + ".embedding_length").integer(m.embedding_length);
  }
  if (m.context_window > 0) w.key("general.context_length").integer(m.context_window);
  w.key("switchyard.provider").string(m.provider);
  w.key("switchyard.provider_kind").string(m.provider_kind);
  w.key("switchyard.upstream_model").string(m.upstream_model);
  w.endObject();
  w.key("capabilities").beginArray();
  w.string("completion");
  w.string("tools");
  if (m.embedding) w.string("embedding");
  w.endArray();
  w.key("modified_at").string(modified_at);
  w.endObject();
  return out;
}

std::string encodePs(const std::vector<RunningModel>& models) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("models").beginArray();
  for (const RunningModel& r : models) {
    const ModelInfo& m = *r.model;
    w.beginObject();
    w.key("name").string(m.name);
    w.key("model").string(m.name);
    w.key("size").integer(static_cast<std::int64_t>(r.size_bytes));
    w.key("digest").string(r.digest);
    writeDetails(w, m);
    w.key("expires_at").string(formatTimestamp(r.expires_at));
    w.key("size_vram").integer(static_cast<std::int64_t>(r.vram_bytes));
    w.key("context_length").integer(r.context_length);
    w.endObject();
  }
  w.endArray().endObject();
  return out;
}

std::string encodeVersion(std::string_view version) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("version").string(version);
  w.endObject();
  return out;
}

}  // namespace switchyard::api::ollama
