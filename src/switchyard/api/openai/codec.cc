#include "switchyard/api/openai/codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/string.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_fields.h"
#include "switchyard/api/json_writer.h"
#include "switchyard/api/openai/chunk_reader.h"
#include "switchyard/api/openai/request_reader.h"
#include "switchyard/api/openai/response_reader.h"

namespace switchyard::api::openai {

namespace {

namespace json = boost::json;

// Deep enough for any real JSON Schema in `tools`, shallow enough that recursion over a
// parsed value can never exhaust the stack.
constexpr std::size_t kMaxJsonDepth = 64;
// How much of a non-JSON upstream error body ends up in the message.
constexpr std::size_t kMaxErrorBodyInMessage = 200;
constexpr std::size_t kMaxStopSequences = 4;

std::string formatNumber(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, end);
}

void writeFinishReason(JsonWriter& w, FinishReason reason) {
  if (reason == FinishReason::kNone) {
    w.null();
  } else {
    w.string(finishReasonName(reason));
  }
}

void writeUsage(JsonWriter& w, const Usage& u) {
  w.beginObject();
  w.key("prompt_tokens").integer(u.prompt_tokens);
  w.key("completion_tokens").integer(u.completion_tokens);
  w.key("total_tokens").integer(u.total_tokens);
  w.key("prompt_tokens_details").beginObject();
  w.key("cached_tokens").integer(u.cached_tokens);
  if (u.cache_write_tokens != 0) w.key("cache_write_tokens").integer(u.cache_write_tokens);
  w.endObject();
  w.key("completion_tokens_details").beginObject();
  w.key("reasoning_tokens").integer(u.reasoning_tokens);
  w.endObject();
  w.endObject();
}

// ---- base64 ---------------------------------------------------------------------------------

constexpr char kBase64Chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> kBase64Values = [] {
  std::array<std::int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kBase64Chars[i])] = static_cast<std::int8_t>(i);
  return t;
}();

// Base64 of the floats as little-endian float32, appended to out.
void appendBase64Floats(std::string& out, const std::vector<float>& values) {
  const std::size_t n = values.size() * 4;
  const auto* b = reinterpret_cast<const unsigned char*>(values.data());
  std::string swapped;
  if constexpr (std::endian::native == std::endian::big) {
    swapped.assign(reinterpret_cast<const char*>(b), n);
    for (std::size_t i = 0; i < n; i += 4)
      std::reverse(swapped.begin() + i, swapped.begin() + i + 4);
    b = reinterpret_cast<const unsigned char*>(swapped.data());
  }
  out.reserve(out.size() + (n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += kBase64Chars[(v >> 18) & 63];
    out += kBase64Chars[(v >> 12) & 63];
    out += kBase64Chars[(v >> 6) & 63];
    out += kBase64Chars[v & 63];
  }
  if (i + 1 == n) {
    const std::uint32_t v = b[i] << 16;
    out += kBase64Chars[(v >> 18) & 63];
    out += kBase64Chars[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == n) {
    const std::uint32_t v = (b[i] << 16) | (b[i + 1] << 8);
    out += kBase64Chars[(v >> 18) & 63];
    out += kBase64Chars[(v >> 12) & 63];
    out += kBase64Chars[(v >> 6) & 63];
    out += '=';
  }
}

// Decodes base64 of little-endian float32 values; false when the text is not that.
bool decodeBase64Floats(std::string_view text, std::vector<float>& out) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string bytes;
  bytes.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    const std::int8_t v = kBase64Values[static_cast<unsigned char>(ch)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (bytes.size() % 4 != 0) return false;
  if constexpr (std::endian::native == std::endian::big) {
    for (std::size_t i = 0; i < bytes.size(); i += 4) {
      std::reverse(bytes.begin() + i, bytes.begin() + i + 4);
    }
  }
  out.resize(bytes.size() / 4);
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return true;
}

// ---- JSON parsing ---------------------------------------------------------------------------

// Scratch memory for one parse: the tree lives in a monotonic arena (a stack buffer first)
// and is dropped at once. Whatever a decoder keeps verbatim is copied out to default storage.
class Arena {
 public:
  Arena() : resource_(buffer_, sizeof buffer_) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  json::storage_ptr storage() { return json::storage_ptr(&resource_); }

 private:
  alignas(std::max_align_t) unsigned char buffer_[8192];
  json::monotonic_resource resource_;
};

enum class Origin { kClient, kUpstream };

Result<json::value> parseJson(std::string_view text, Arena& arena, Origin origin) {
  const ErrorCode code =
      origin == Origin::kClient ? ErrorCode::kInvalidArgument : ErrorCode::kUpstream;
  const char* what = origin == Origin::kClient ? "request body" : "upstream response";
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return fail(code, std::string(what) + " is empty");
  }
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  unsigned char stack[1024];
  json::parser parser(json::storage_ptr(), options, stack, sizeof stack);
  parser.reset(arena.storage());
  json::error_code ec;
  const std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (ec) {
    std::string reason = ec.message();
    // The parser reports bad UTF-8 as a plain syntax error; say what it is.
    if (ec == json::error::syntax && consumed < text.size()) {
      const auto c = static_cast<unsigned char>(text[consumed]);
      if (c >= 0x80) reason = "invalid UTF-8";
    }
    return fail(code, std::string(what) + " is not valid JSON: " + reason + " at offset " +
                          std::to_string(consumed));
  }
  json::value root = parser.release();
  if (origin == Origin::kClient && !allNumbersFinite(root)) {
    return fail(code, std::string(what) + " is not valid JSON: " + std::string(kNumberOutOfRange));
  }
  return root;
}

// A field's location ("messages[2].content[0].text"), built as a chain of stack frames and
// turned into text only when an error needs it.
class Path {
 public:
  explicit Path(std::string_view key) : key_(key) {}
  Path(const Path& parent, std::string_view key) : parent_(&parent), key_(key) {}
  Path(const Path& parent, std::size_t index) : parent_(&parent), index_(index), is_index_(true) {}

  std::string str() const {
    std::string out = parent_ != nullptr ? parent_->str() : std::string();
    if (is_index_) {
      out += '[';
      out += std::to_string(index_);
      out += ']';
    } else {
      if (!out.empty()) out += '.';
      out += key_;
    }
    return out;
  }

 private:
  const Path* parent_ = nullptr;
  std::string_view key_;
  std::size_t index_ = 0;
  bool is_index_ = false;
};

// ---- client request decoding ----------------------------------------------------------------

// Validating reader for client JSON. Methods return false after recording the first error.
class RequestReader {
 public:
  Status takeError() { return std::move(error_); }

  bool failWith(std::string message, const Path* path) {
    error_ = Status(ErrorCode::kInvalidArgument, std::move(message));
    if (path != nullptr) error_.withParam(path->str());
    return false;
  }
  bool typeError(const Path& p, std::string_view expected, const json::value& got) {
    std::string msg = "invalid type for '" + p.str() + "': expected " + std::string(expected) +
                      ", got " + std::string(kindName(got));
    return failWith(std::move(msg), &p);
  }
  bool missing(const Path& p) {
    return failWith("missing required parameter: '" + p.str() + "'", &p);
  }
  bool badValue(const Path& p, std::string_view detail) {
    return failWith("invalid value for '" + p.str() + "': " + std::string(detail), &p);
  }

  bool string(const json::value& v, const Path& p, std::string& out) {
    if (const json::string* s = v.if_string()) {
      out.assign(s->data(), s->size());
      return true;
    }
    return typeError(p, "a string", v);
  }
  // A string, or null for "not set".
  bool optionalString(const json::value& v, const Path& p, std::optional<std::string>& out) {
    if (v.is_null()) {
      out.reset();
      return true;
    }
    if (const json::string* s = v.if_string()) {
      out.emplace(s->data(), s->size());
      return true;
    }
    return typeError(p, "a string", v);
  }
  bool boolean(const json::value& v, const Path& p, bool& out) {
    if (const bool* b = v.if_bool()) {
      out = *b;
      return true;
    }
    return typeError(p, "a boolean", v);
  }
  bool number(const json::value& v, const Path& p, double& out) {
    switch (v.kind()) {
      case json::kind::double_:
        out = v.get_double();
        return true;
      case json::kind::int64:
        out = static_cast<double>(v.get_int64());
        return true;
      case json::kind::uint64:
        out = static_cast<double>(v.get_uint64());
        return true;
      default:
        return typeError(p, "a number", v);
    }
  }
  bool integer(const json::value& v, const Path& p, std::int64_t& out) {
    switch (v.kind()) {
      case json::kind::int64:
        out = v.get_int64();
        return true;
      case json::kind::uint64:
        if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          return badValue(p, "integer is too large");
        }
        out = static_cast<std::int64_t>(v.get_uint64());
        return true;
      case json::kind::double_: {
        const double d = v.get_double();
        if (std::trunc(d) != d || !(d >= -9.2e18 && d <= 9.2e18)) {
          return typeError(p, "an integer", v);
        }
        out = static_cast<std::int64_t>(d);
        return true;
      }
      default:
        return typeError(p, "an integer", v);
    }
  }
  bool numberInRange(const json::value& v, const Path& p, double min, double max,
                     std::optional<double>& out) {
    double d = 0;
    if (!number(v, p, d)) return false;
    if (d < min) {
      return badValue(p, formatNumber(d) + " is less than the minimum of " + formatNumber(min));
    }
    if (d > max) {
      return badValue(p, formatNumber(d) + " is greater than the maximum of " + formatNumber(max));
    }
    out = d;
    return true;
  }
  bool integerInRange(const json::value& v, const Path& p, std::int64_t min, std::int64_t max,
                      std::int64_t& out) {
    if (!integer(v, p, out)) return false;
    if (out < min) {
      return badValue(p,
                      std::to_string(out) + " is less than the minimum of " + std::to_string(min));
    }
    if (out > max) {
      return badValue(
          p, std::to_string(out) + " is greater than the maximum of " + std::to_string(max));
    }
    return true;
  }
  template <typename Int>
  bool optionalInt(const json::value& v, const Path& p, std::int64_t min, std::int64_t max,
                   std::optional<Int>& out) {
    std::int64_t i = 0;
    if (!integerInRange(v, p, min, max, i)) return false;
    out = static_cast<Int>(i);
    return true;
  }
  const json::object* object(const json::value& v, const Path& p) {
    if (const json::object* o = v.if_object()) return o;
    typeError(p, "an object", v);
    return nullptr;
  }
  const json::array* array(const json::value& v, const Path& p) {
    if (const json::array* a = v.if_array()) return a;
    typeError(p, "an array", v);
    return nullptr;
  }

  // `stop`: a string or up to four strings.
  bool stop(const json::value& v, const Path& p, std::vector<std::string>& out) {
    out.clear();
    if (v.is_null()) return true;
    if (const json::string* s = v.if_string()) {
      out.emplace_back(s->data(), s->size());
      return true;
    }
    const json::array* a = v.if_array();
    if (a == nullptr) return typeError(p, "a string or an array of strings", v);
    if (a->size() > kMaxStopSequences) {
      return badValue(p, "expected at most " + std::to_string(kMaxStopSequences) +
                             " stop sequences, got " + std::to_string(a->size()));
    }
    out.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      const Path ip(p, i);
      if (!string((*a)[i], ip, out.emplace_back())) return false;
    }
    return true;
  }

  // stream_options: include_usage is typed; other options are returned for `extra`.
  bool streamOptions(const json::value& v, const Path& p, bool& include_usage,
                     json::object& others) {
    if (v.is_null()) return true;
    const json::object* o = object(v, p);
    if (o == nullptr) return false;
    for (const auto& kv : *o) {
      if (kv.key() == "include_usage") {
        if (kv.value().is_null()) continue;
        const Path up(p, "include_usage");
        if (!boolean(kv.value(), up, include_usage)) return false;
      } else {
        others.emplace(kv.key(), kv.value());
      }
    }
    return true;
  }

  // `model`: a non-empty string.
  bool model(const json::object& body, std::string& out) {
    const json::value* v = body.if_contains("model");
    const json::string* s = v != nullptr ? v->if_string() : nullptr;
    if (s == nullptr || s->empty()) {
      const Path p("model");
      return failWith("you must provide a model parameter", &p);
    }
    out.assign(s->data(), s->size());
    return true;
  }

 private:
  Status error_;
};

// Where a chat request's top-level key goes.
enum class ChatField {
  kExtra,
  kModel,
  kMessages,
  kTools,
  kToolChoice,
  kParallelToolCalls,
  kResponseFormat,
  kTemperature,
  kTopP,
  kFrequencyPenalty,
  kPresencePenalty,
  kMaxTokens,
  kMaxCompletionTokens,
  kSeed,
  kN,
  kStop,
  kLogitBias,
  kLogprobs,
  kTopLogprobs,
  kReasoningEffort,
  kUser,
  kMetadata,
  kTopK,
  kMinP,
  kRepetitionPenalty,
  kStream,
  kStreamOptions,
};

struct ChatFieldName {
  std::string_view name;
  ChatField field;
};

constexpr ChatFieldName kChatFields[] = {
    {"model", ChatField::kModel},
    {"messages", ChatField::kMessages},
    {"temperature", ChatField::kTemperature},
    {"stream", ChatField::kStream},
    {"max_tokens", ChatField::kMaxTokens},
    {"max_completion_tokens", ChatField::kMaxCompletionTokens},
    {"tools", ChatField::kTools},
    {"tool_choice", ChatField::kToolChoice},
    {"top_p", ChatField::kTopP},
    {"stream_options", ChatField::kStreamOptions},
    {"response_format", ChatField::kResponseFormat},
    {"parallel_tool_calls", ChatField::kParallelToolCalls},
    {"frequency_penalty", ChatField::kFrequencyPenalty},
    {"presence_penalty", ChatField::kPresencePenalty},
    {"seed", ChatField::kSeed},
    {"n", ChatField::kN},
    {"stop", ChatField::kStop},
    {"logit_bias", ChatField::kLogitBias},
    {"logprobs", ChatField::kLogprobs},
    {"top_logprobs", ChatField::kTopLogprobs},
    {"reasoning_effort", ChatField::kReasoningEffort},
    {"user", ChatField::kUser},
    {"metadata", ChatField::kMetadata},
    {"top_k", ChatField::kTopK},
    {"min_p", ChatField::kMinP},
    {"repetition_penalty", ChatField::kRepetitionPenalty},
};

ChatField chatField(std::string_view key) {
  for (const auto& f : kChatFields) {
    if (f.name.size() == key.size() && f.name == key) return f.field;
  }
  return ChatField::kExtra;
}

class ChatRequestReader : public RequestReader {
 public:
  bool read(const json::object& body, ChatRequest& req) {
    if (!model(body, req.model)) return false;
    const json::value* messages = body.if_contains("messages");
    if (messages == nullptr || messages->is_null()) {
      const Path p("messages");
      return missing(p);
    }
    if (!readMessages(*messages, req.messages)) return false;

    bool include_usage = false;
    json::object stream_options_rest;
    const json::value* max_tokens_value = nullptr;
    std::optional<std::int64_t> max_completion_tokens;
    for (const auto& kv : body) {
      const json::value& v = kv.value();
      const ChatField field = chatField(kv.key());
      if (field == ChatField::kExtra) {
        req.extra.emplace(kv.key(), v);
        continue;
      }
      if (v.is_null()) continue;  // null means "not set" for every modelled field
      const Path p(kv.key());
      bool ok = true;
      switch (field) {
        case ChatField::kExtra:
        case ChatField::kModel:
        case ChatField::kMessages:
          break;
        case ChatField::kTools:
          ok = readTools(v, p, req.tools);
          break;
        case ChatField::kToolChoice:
          ok = readToolChoice(v, p, req.tool_choice);
          break;
        case ChatField::kParallelToolCalls:
          ok = boolean(v, p, req.parallel_tool_calls.emplace());
          break;
        case ChatField::kResponseFormat:
          ok = readResponseFormat(v, p, req.response_format);
          break;
        case ChatField::kTemperature:
          ok = numberInRange(v, p, 0, 2, req.temperature);
          break;
        case ChatField::kTopP:
          ok = numberInRange(v, p, 0, 1, req.top_p);
          break;
        case ChatField::kFrequencyPenalty:
          ok = numberInRange(v, p, -2, 2, req.frequency_penalty);
          break;
        case ChatField::kPresencePenalty:
          ok = numberInRange(v, p, -2, 2, req.presence_penalty);
          break;
        case ChatField::kMaxTokens: {
          std::int64_t n = 0;
          ok = integerInRange(v, p, 1, std::numeric_limits<std::int64_t>::max(), n);
          max_tokens_value = &v;
          if (ok) req.max_tokens = n;
          break;
        }
        case ChatField::kMaxCompletionTokens:
          ok =
              optionalInt(v, p, 1, std::numeric_limits<std::int64_t>::max(), max_completion_tokens);
          break;
        case ChatField::kSeed: {
          std::int64_t seed = 0;
          ok = integer(v, p, seed);
          req.seed = seed;
          break;
        }
        case ChatField::kN:
          ok = optionalInt(v, p, 1, 128, req.n);
          break;
        case ChatField::kStop:
          ok = stop(v, p, req.stop);
          break;
        case ChatField::kLogitBias:
          if (const json::object* o = object(v, p)) {
            req.logit_bias = json::object(*o, json::storage_ptr());
          } else {
            ok = false;
          }
          break;
        case ChatField::kLogprobs:
          ok = boolean(v, p, req.logprobs.emplace());
          break;
        case ChatField::kTopLogprobs:
          ok = optionalInt(v, p, 0, 20, req.top_logprobs);
          break;
        case ChatField::kReasoningEffort:
          ok = string(v, p, req.reasoning_effort);
          break;
        case ChatField::kUser:
          ok = string(v, p, req.user);
          break;
        case ChatField::kMetadata:
          if (const json::object* o = object(v, p)) {
            req.metadata = json::object(*o, json::storage_ptr());
          } else {
            ok = false;
          }
          break;
        case ChatField::kTopK:
          ok = optionalInt(v, p, -1, std::numeric_limits<int>::max(), req.top_k);
          break;
        case ChatField::kMinP:
          ok = numberInRange(v, p, 0, 1, req.min_p);
          break;
        case ChatField::kRepetitionPenalty: {
          double d = 0;
          ok = number(v, p, d);
          if (ok && !(d > 0)) ok = badValue(p, formatNumber(d) + " must be greater than 0");
          if (ok) req.repetition_penalty = d;
          break;
        }
        case ChatField::kStream:
          ok = boolean(v, p, req.stream);
          break;
        case ChatField::kStreamOptions:
          ok = streamOptions(v, p, include_usage, stream_options_rest);
          break;
      }
      if (!ok) return false;
    }
    if (max_completion_tokens) {
      // Both given: max_completion_tokens governs; max_tokens still travels upstream verbatim.
      if (max_tokens_value != nullptr) req.extra.emplace("max_tokens", *max_tokens_value);
      req.max_tokens = max_completion_tokens;
      req.max_tokens_is_completion = true;
    }
    // stream_options mean nothing without streaming, and OpenAI rejects them there.
    req.include_usage = req.stream && include_usage;
    if (req.stream && !stream_options_rest.empty()) {
      req.extra["stream_options"] = std::move(stream_options_rest);
    }
    return true;
  }

 private:
  bool readMessages(const json::value& v, std::vector<Message>& out) {
    const Path p("messages");
    const json::array* a = array(v, p);
    if (a == nullptr) return false;
    if (a->empty()) return badValue(p, "expected at least one message");
    out.resize(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      const Path mp(p, i);
      if (!readMessage((*a)[i], mp, out[i])) return false;
    }
    return true;
  }

  bool readMessage(const json::value& v, const Path& p, Message& m) {
    const json::object* o = object(v, p);
    if (o == nullptr) return false;
    const Path role_path(p, "role");
    const json::value* role = o->if_contains("role");
    if (role == nullptr || role->is_null()) return missing(role_path);
    const json::string* role_name = role->if_string();
    if (role_name == nullptr) return typeError(role_path, "a string", *role);
    const auto parsed = parseRole(*role_name);
    if (!parsed) {
      return badValue(role_path, "'" + std::string(*role_name) +
                                     "' (expected system, developer, user, assistant or tool)");
    }
    m.role = *parsed;

    const json::value* content = nullptr;
    for (const auto& kv : *o) {
      const std::string_view key = kv.key();
      const json::value& fv = kv.value();
      if (key == "role") continue;
      if (key == "content") {
        content = &fv;
      } else if (key == "name") {
        if (fv.is_null()) continue;
        const Path fp(p, "name");
        if (!string(fv, fp, m.name)) return false;
      } else if (key == "tool_calls") {
        if (fv.is_null()) continue;
        const Path fp(p, "tool_calls");
        if (m.role != Role::kAssistant) {
          return badValue(fp, "tool_calls are only allowed on assistant messages");
        }
        if (!readToolCalls(fv, fp, m.tool_calls)) return false;
      } else if (key == "tool_call_id") {
        if (fv.is_null()) continue;
        const Path fp(p, "tool_call_id");
        if (!string(fv, fp, m.tool_call_id)) return false;
      } else if (key == "reasoning_content") {
        if (fv.is_null()) continue;
        const Path fp(p, "reasoning_content");
        if (!string(fv, fp, m.reasoning_content)) return false;
      } else if (key == "refusal") {
        const Path fp(p, "refusal");
        if (!optionalString(fv, fp, m.refusal)) return false;
      } else {
        m.extra.emplace(key, fv);
      }
    }

    const Path content_path(p, "content");
    if (content == nullptr || content->is_null()) {
      const bool may_be_null = m.role == Role::kAssistant &&
                               (!m.tool_calls.empty() || m.refusal.has_value() ||
                                m.extra.contains("function_call") || m.extra.contains("audio"));
      if (!may_be_null) {
        if (content == nullptr) return missing(content_path);
        return badValue(content_path,
                        "content may be null only on an assistant message with tool_calls or a "
                        "refusal");
      }
      m.content_form = Message::ContentForm::kNull;
    } else if (const json::string* s = content->if_string()) {
      m.content_form = Message::ContentForm::kString;
      m.content.resize(1);
      m.content[0].text.assign(s->data(), s->size());
    } else if (const json::array* parts = content->if_array()) {
      m.content_form = Message::ContentForm::kParts;
      if (parts->empty() && m.role != Role::kAssistant) {
        return badValue(content_path, "expected at least one content part");
      }
      m.content.resize(parts->size());
      for (std::size_t i = 0; i < parts->size(); ++i) {
        const Path pp(content_path, i);
        if (!readPart((*parts)[i], pp, m.content[i])) return false;
      }
    } else {
      return typeError(content_path, "a string or an array of content parts", *content);
    }

    if (m.role == Role::kTool && m.tool_call_id.empty()) {
      const Path fp(p, "tool_call_id");
      return missing(fp);
    }
    return true;
  }

  bool readPart(const json::value& v, const Path& p, ContentPart& part) {
    const json::object* o = object(v, p);
    if (o == nullptr) return false;
    const Path type_path(p, "type");
    const json::value* type = o->if_contains("type");
    if (type == nullptr || type->is_null()) return missing(type_path);
    const json::string* type_name = type->if_string();
    if (type_name == nullptr) return typeError(type_path, "a string", *type);
    if (*type_name == "text") {
      part.kind = ContentPart::Kind::kText;
      const Path tp(p, "text");
      const json::value* text = o->if_contains("text");
      if (text == nullptr) return missing(tp);
      return string(*text, tp, part.text);
    }
    if (*type_name == "image_url") {
      part.kind = ContentPart::Kind::kImage;
      const Path ip(p, "image_url");
      const json::value* image = o->if_contains("image_url");
      if (image == nullptr || image->is_null()) return missing(ip);
      if (image->is_string()) return string(*image, ip, part.image_url);  // lenient shorthand
      const json::object* io = object(*image, ip);
      if (io == nullptr) return false;
      const Path up(ip, "url");
      const json::value* url = io->if_contains("url");
      if (url == nullptr || url->is_null()) return missing(up);
      if (!string(*url, up, part.image_url)) return false;
      if (const json::value* detail = io->if_contains("detail"); detail && !detail->is_null()) {
        const Path dp(ip, "detail");
        if (!string(*detail, dp, part.image_detail)) return false;
      }
      return true;
    }
    part.kind = ContentPart::Kind::kOther;
    part.raw = json::value(v, json::storage_ptr());
    return true;
  }

  bool readToolCalls(const json::value& v, const Path& p, std::vector<ToolCall>& out) {
    const json::array* a = array(v, p);
    if (a == nullptr) return false;
    out.resize(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      const Path cp(p, i);
      const json::object* o = object((*a)[i], cp);
      if (o == nullptr) return false;
      ToolCall& call = out[i];
      const Path idp(cp, "id");
      const json::value* id = o->if_contains("id");
      if (id == nullptr || id->is_null()) return missing(idp);
      if (!string(*id, idp, call.id)) return false;
      if (const json::value* type = o->if_contains("type"); type && !type->is_null()) {
        const Path tp(cp, "type");
        const json::string* t = type->if_string();
        if (t == nullptr) return typeError(tp, "a string", *type);
        if (*t != "function") {
          return badValue(tp, "'" + std::string(*t) + "' (expected 'function')");
        }
      }
      const Path fp(cp, "function");
      const json::value* fn = o->if_contains("function");
      if (fn == nullptr || fn->is_null()) return missing(fp);
      const json::object* fo = object(*fn, fp);
      if (fo == nullptr) return false;
      const Path np(fp, "name");
      const json::value* name = fo->if_contains("name");
      if (name == nullptr || name->is_null()) return missing(np);
      if (!string(*name, np, call.name)) return false;
      if (const json::value* args = fo->if_contains("arguments"); args && !args->is_null()) {
        if (const json::string* s = args->if_string()) {
          call.arguments.assign(s->data(), s->size());
        } else {
          // Some clients send the arguments as an object; upstreams want the JSON text.
          JsonWriter(call.arguments).value(*args);
        }
      }
    }
    return true;
  }

  bool readTools(const json::value& v, const Path& p, std::vector<ToolDef>& out) {
    const json::array* a = array(v, p);
    if (a == nullptr) return false;
    out.resize(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      const Path tp(p, i);
      const json::object* o = object((*a)[i], tp);
      if (o == nullptr) return false;
      const Path typep(tp, "type");
      const json::value* type = o->if_contains("type");
      if (type == nullptr || type->is_null()) return missing(typep);
      const json::string* t = type->if_string();
      if (t == nullptr) return typeError(typep, "a string", *type);
      if (*t != "function") {
        return badValue(typep, "'" + std::string(*t) + "' (only 'function' tools are supported)");
      }
      const Path fp(tp, "function");
      const json::value* fn = o->if_contains("function");
      if (fn == nullptr || fn->is_null()) return missing(fp);
      const json::object* fo = object(*fn, fp);
      if (fo == nullptr) return false;
      ToolDef& tool = out[i];
      const Path np(fp, "name");
      const json::value* name = fo->if_contains("name");
      if (name == nullptr || name->is_null()) return missing(np);
      if (!string(*name, np, tool.name)) return false;
      if (tool.name.empty()) return badValue(np, "must not be empty");
      if (const json::value* d = fo->if_contains("description"); d && !d->is_null()) {
        const Path dp(fp, "description");
        if (!string(*d, dp, tool.description)) return false;
      }
      if (const json::value* params = fo->if_contains("parameters"); params && !params->is_null()) {
        const Path pp(fp, "parameters");
        if (object(*params, pp) == nullptr) return false;
        tool.parameters = json::value(*params, json::storage_ptr());
      }
      if (const json::value* s = fo->if_contains("strict"); s && !s->is_null()) {
        const Path sp(fp, "strict");
        if (!boolean(*s, sp, tool.strict.emplace())) return false;
      }
    }
    return true;
  }

  bool readToolChoice(const json::value& v, const Path& p, ToolChoice& out) {
    static constexpr std::string_view kExpected =
        "(expected 'none', 'auto', 'required' or "
        "{\"type\":\"function\",\"function\":{\"name\":...}})";
    if (const json::string* s = v.if_string()) {
      if (*s == "auto") {
        out.mode = ToolChoice::Mode::kAuto;
      } else if (*s == "none") {
        out.mode = ToolChoice::Mode::kNone;
      } else if (*s == "required") {
        out.mode = ToolChoice::Mode::kRequired;
      } else {
        return badValue(p, "'" + std::string(*s) + "' " + std::string(kExpected));
      }
      return true;
    }
    const json::object* o = v.if_object();
    if (o == nullptr) return typeError(p, "a string or an object", v);
    const Path tp(p, "type");
    const std::string_view type = stringOr(*o, "type");
    if (type != "function") {
      return badValue(tp, "'" + std::string(type) + "' " + std::string(kExpected));
    }
    const Path fp(p, "function");
    const json::value* fn = o->if_contains("function");
    if (fn == nullptr || fn->is_null()) return missing(fp);
    const json::object* fo = object(*fn, fp);
    if (fo == nullptr) return false;
    const Path np(fp, "name");
    const json::value* name = fo->if_contains("name");
    if (name == nullptr || name->is_null()) return missing(np);
    if (!string(*name, np, out.function_name)) return false;
    out.mode = ToolChoice::Mode::kFunction;
    return true;
  }

  bool readResponseFormat(const json::value& v, const Path& p, ResponseFormat& out) {
    const json::object* o = object(v, p);
    if (o == nullptr) return false;
    const Path tp(p, "type");
    const json::value* type = o->if_contains("type");
    if (type == nullptr || type->is_null()) return missing(tp);
    const json::string* t = type->if_string();
    if (t == nullptr) return typeError(tp, "a string", *type);
    if (*t == "text") {
      out.kind = ResponseFormat::Kind::kText;
      return true;
    }
    if (*t == "json_object") {
      out.kind = ResponseFormat::Kind::kJsonObject;
      return true;
    }
    if (*t != "json_schema") {
      return badValue(
          tp, "'" + std::string(*t) + "' (expected 'text', 'json_object' or 'json_schema')");
    }
    out.kind = ResponseFormat::Kind::kJsonSchema;
    const Path jp(p, "json_schema");
    const json::value* js = o->if_contains("json_schema");
    if (js == nullptr || js->is_null()) return missing(jp);
    const json::object* jo = object(*js, jp);
    if (jo == nullptr) return false;
    const Path np(jp, "name");
    const json::value* name = jo->if_contains("name");
    if (name == nullptr || name->is_null()) return missing(np);
    if (!string(*name, np, out.schema_name)) return false;
    if (const json::value* d = jo->if_contains("description"); d && !d->is_null()) {
      const Path dp(jp, "description");
      if (!string(*d, dp, out.schema_description)) return false;
    }
    if (const json::value* s = jo->if_contains("schema"); s && !s->is_null()) {
      const Path sp(jp, "schema");
      if (object(*s, sp) == nullptr) return false;
      out.schema = json::value(*s, json::storage_ptr());
    }
    if (const json::value* s = jo->if_contains("strict"); s && !s->is_null()) {
      const Path sp(jp, "strict");
      if (!boolean(*s, sp, out.strict.emplace())) return false;
    }
    return true;
  }
};

// `prompt` of /v1/completions: a string, strings, token ids, or arrays of token ids.
bool isPrompt(const json::value& v) {
  if (v.is_string()) return true;
  const json::array* a = v.if_array();
  if (a == nullptr) return false;
  auto is_token = [](const json::value& e) { return e.is_int64() || e.is_uint64(); };
  auto is_tokens = [&](const json::value& e) {
    const json::array* ea = e.if_array();
    return ea != nullptr && std::all_of(ea->begin(), ea->end(), is_token);
  };
  return std::all_of(a->begin(), a->end(), [](const json::value& e) { return e.is_string(); }) ||
         std::all_of(a->begin(), a->end(), is_token) ||
         std::all_of(a->begin(), a->end(), is_tokens);
}

// ---- client request encoding (to upstreams) -------------------------------------------------

void writePart(JsonWriter& w, const ContentPart& part) {
  switch (part.kind) {
    case ContentPart::Kind::kText:
      w.beginObject();
      w.key("type").string("text");
      w.key("text").string(part.text);
      w.endObject();
      return;
    case ContentPart::Kind::kImage:
      w.beginObject();
      w.key("type").string("image_url");
      w.key("image_url").beginObject();
      w.key("url").string(part.image_url);
      if (!part.image_detail.empty()) w.key("detail").string(part.image_detail);
      w.endObject();
      w.endObject();
      return;
    case ContentPart::Kind::kOther:
      w.value(part.raw);
      return;
  }
}

void writeContent(JsonWriter& w, const Message& m) {
  switch (m.content_form) {
    case Message::ContentForm::kNull:
      w.null();
      return;
    case Message::ContentForm::kString:
      if (m.content.size() == 1 && m.content[0].kind == ContentPart::Kind::kText) {
        w.string(m.content[0].text);
      } else {
        w.string(m.text());
      }
      return;
    case Message::ContentForm::kParts:
      w.beginArray();
      for (const auto& part : m.content) writePart(w, part);
      w.endArray();
      return;
  }
}

void writeToolCalls(JsonWriter& w, const std::vector<ToolCall>& calls) {
  w.beginArray();
  for (const auto& call : calls) {
    w.beginObject();
    w.key("id").string(call.id);
    w.key("type").string("function");
    w.key("function").beginObject();
    w.key("name").string(call.name);
    w.key("arguments").string(call.arguments);
    w.endObject();
    w.endObject();
  }
  w.endArray();
}

void writeRequestMessage(JsonWriter& w, const Message& m) {
  w.beginObject();
  w.key("role").string(roleName(m.role));
  w.key("content");
  writeContent(w, m);
  if (!m.name.empty()) w.key("name").string(m.name);
  if (!m.tool_calls.empty()) {
    w.key("tool_calls");
    writeToolCalls(w, m.tool_calls);
  }
  if (!m.tool_call_id.empty()) w.key("tool_call_id").string(m.tool_call_id);
  if (m.refusal) w.key("refusal").string(*m.refusal);
  if (!m.reasoning_content.empty()) w.key("reasoning_content").string(m.reasoning_content);
  w.members(m.extra);
  w.endObject();
}

void writeStop(JsonWriter& w, const std::vector<std::string>& stop) {
  w.key("stop").beginArray();
  for (const auto& s : stop) w.string(s);
  w.endArray();
}

// stream_options for an upstream: include_usage plus any other options the client gave.
void writeStreamOptions(JsonWriter& w, bool stream, bool include_usage, const json::object& extra) {
  if (!stream) return;
  const json::value* rest = extra.if_contains("stream_options");
  const json::object* rest_object = rest != nullptr ? rest->if_object() : nullptr;
  if (!include_usage && rest_object == nullptr) return;
  w.key("stream_options").beginObject();
  if (include_usage) w.key("include_usage").boolean(true);
  if (rest_object != nullptr) w.members(*rest_object, include_usage ? "include_usage" : "");
  w.endObject();
}

std::size_t estimateSize(const ChatRequest& r) {
  std::size_t n = 256 + r.model.size() + r.tools.size() * 512;
  for (const auto& m : r.messages) {
    n += 48 + m.name.size() + m.reasoning_content.size();
    for (const auto& part : m.content) n += 32 + part.text.size() + part.image_url.size();
    for (const auto& call : m.tool_calls) n += 96 + call.arguments.size() + call.name.size();
  }
  return n + n / 8;
}

// ---- upstream response decoding -------------------------------------------------------------

Status upstreamErrorFrom(unsigned http_status, const json::value& error) {
  std::string message;
  std::string param;
  std::string code;
  if (const json::object* eo = error.if_object()) {
    message = std::string(stringOr(*eo, "message"));
    param = std::string(stringOr(*eo, "param"));
    if (const json::value* c = eo->if_contains("code")) {
      if (const json::string* s = c->if_string()) {
        code.assign(s->data(), s->size());
      } else if (c->is_int64() || c->is_uint64()) {
        code = std::to_string(upstreamCount(c));
      }
    }
  } else if (const json::string* s = error.if_string()) {
    message.assign(s->data(), s->size());
  }
  if (message.empty()) message = "(no message)";
  Status status = Status(errorCodeForHttpStatus(http_status),
                         "upstream returned " + std::to_string(http_status) + ": " + message)
                      .withErrorType(std::move(code))
                      .withHttpStatus(static_cast<int>(http_status));
  if (!param.empty()) status.withParam(std::move(param));
  return status;
}

// A 200 body that is really an error ({"error":{...}}), as some upstreams send.
std::optional<Status> embeddedError(const json::object& body) {
  const json::value* error = body.if_contains("error");
  if (error == nullptr || error->is_null()) return std::nullopt;
  if (body.contains("choices") || body.contains("data")) return std::nullopt;
  std::string_view message = error->is_string() ? std::string_view(error->get_string()) : "";
  if (const json::object* eo = error->if_object()) message = stringOr(*eo, "message");
  return Status(ErrorCode::kUpstream,
                "upstream sent an error: " +
                    std::string(message.empty() ? std::string_view("(no message)") : message));
}

Result<const json::object*> upstreamObject(const json::value& root) {
  const json::object* o = root.if_object();
  if (o == nullptr) {
    return fail(ErrorCode::kUpstream,
                "upstream response is not a JSON object, got " + std::string(kindName(root)));
  }
  if (auto error = embeddedError(*o)) return fail(std::move(*error));
  return o;
}

std::optional<Usage> readUsage(const json::value* v) {
  const json::object* o = v != nullptr ? v->if_object() : nullptr;
  if (o == nullptr) return std::nullopt;
  Usage u;
  u.prompt_tokens = upstreamCount(*o, "prompt_tokens");
  u.completion_tokens = upstreamCount(*o, "completion_tokens");
  u.total_tokens = o->contains("total_tokens") ? upstreamCount(*o, "total_tokens")
                                               : addTokens(u.prompt_tokens, u.completion_tokens);
  if (const json::value* d = o->if_contains("prompt_tokens_details")) {
    if (const json::object* dobj = d->if_object()) {
      u.cached_tokens = upstreamCount(*dobj, "cached_tokens");
      u.cache_write_tokens = upstreamCount(*dobj, "cache_write_tokens");
    }
  }
  if (const json::value* d = o->if_contains("completion_tokens_details")) {
    if (const json::object* dobj = d->if_object()) {
      u.reasoning_tokens = upstreamCount(*dobj, "reasoning_tokens");
    }
  }
  return u;
}

// An upstream body parsed into `arena`: its top-level object, or why it is not one (including
// an error object sent with status 200).
Result<const json::object*> parseUpstream(std::string_view body, Arena& arena,
                                          std::optional<json::value>& root) {
  auto parsed = parseJson(body, arena, Origin::kUpstream);
  if (!parsed) return fail(std::move(parsed.error()));
  root = std::move(*parsed);
  return upstreamObject(*root);
}

// The top-level fields chat completions, their chunks and text completions share.
template <typename T>
void readEnvelope(const json::object& o, T& out) {
  // One pass over the members (a stream decodes one envelope per event).
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "id") {
      if (const json::string* s = v.if_string()) out.id.assign(s->data(), s->size());
    } else if (key == "model") {
      if (const json::string* s = v.if_string()) out.model.assign(s->data(), s->size());
    } else if (key == "created") {
      out.created = upstreamCount(&v);
    } else if (key == "system_fingerprint") {
      if (const json::string* s = v.if_string()) {
        out.system_fingerprint.assign(s->data(), s->size());
      }
    } else if (key == "usage") {
      out.usage = readUsage(&v);
    }
  }
}

// choices[i] as an object (`what` names the response in the error), and its index (the
// position when the upstream leaves it out).
Result<const json::object*> choiceAt(const json::array& choices, std::size_t i,
                                     std::string_view what) {
  const json::object* co = choices[i].if_object();
  if (co == nullptr) {
    return fail(ErrorCode::kUpstream,
                std::string(what) + " choices[" + std::to_string(i) + "] is not an object");
  }
  return co;
}
int choiceIndex(const json::object& co, std::size_t i) {
  return co.contains("index") ? static_cast<int>(upstreamCount(co, "index")) : static_cast<int>(i);
}

FinishReason finishReasonOf(const json::object& o) {
  return parseFinishReason(stringOr(o, "finish_reason"));
}

json::value copyOrNull(const json::value* v) {
  if (v == nullptr) return nullptr;
  return json::value(*v, json::storage_ptr());
}

std::string argumentsText(const json::value* args) {
  if (args == nullptr || args->is_null()) return {};
  if (const json::string* s = args->if_string()) return std::string(*s);
  std::string out;
  JsonWriter(out).value(*args);
  return out;
}

// Reasoning text: DeepSeek and vLLM < 0.9 say reasoning_content, newer vLLM and OpenRouter
// say reasoning.
const json::string* reasoningOf(const json::object& o) {
  if (const json::value* v = o.if_contains("reasoning_content")) {
    if (const json::string* s = v->if_string()) return s;
  }
  if (const json::value* v = o.if_contains("reasoning")) {
    if (const json::string* s = v->if_string()) return s;
  }
  return nullptr;
}

void readResponseMessage(const json::object& o, Message& m) {
  m.role = parseRole(stringOr(o, "role", "assistant")).value_or(Role::kAssistant);
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "role" || key == "reasoning_content" || key == "reasoning") continue;
    if (key == "content") {
      if (const json::string* s = v.if_string()) {
        m.content_form = Message::ContentForm::kString;
        m.content.resize(1);
        m.content[0].text.assign(s->data(), s->size());
      } else if (const json::array* parts = v.if_array()) {
        m.content_form = Message::ContentForm::kParts;
        for (const auto& pv : *parts) {
          const json::object* po = pv.if_object();
          if (po == nullptr) continue;
          ContentPart& part = m.content.emplace_back();
          if (stringOr(*po, "type") == "text") {
            part.text = std::string(stringOr(*po, "text"));
          } else {
            part.kind = ContentPart::Kind::kOther;
            part.raw = json::value(pv, json::storage_ptr());
          }
        }
      }
    } else if (key == "tool_calls") {
      if (const json::array* calls = v.if_array()) {
        for (const auto& cv : *calls) {
          const json::object* co = cv.if_object();
          if (co == nullptr) continue;
          ToolCall& call = m.tool_calls.emplace_back();
          call.id = std::string(stringOr(*co, "id"));
          if (const json::value* fn = co->if_contains("function")) {
            if (const json::object* fo = fn->if_object()) {
              call.name = std::string(stringOr(*fo, "name"));
              call.arguments = argumentsText(fo->if_contains("arguments"));
            }
          }
        }
      }
    } else if (key == "refusal") {
      if (const json::string* s = v.if_string()) m.refusal.emplace(s->data(), s->size());
    } else if (key == "name") {
      if (const json::string* s = v.if_string()) m.name.assign(s->data(), s->size());
    } else if (key == "tool_call_id") {
      if (const json::string* s = v.if_string()) m.tool_call_id.assign(s->data(), s->size());
    } else {
      m.extra.emplace(key, v);
    }
  }
  if (m.content.empty() && m.content_form == Message::ContentForm::kString) {
    m.content_form = Message::ContentForm::kNull;
  }
  if (const json::string* r = reasoningOf(o)) m.reasoning_content.assign(r->data(), r->size());
}

}  // namespace

// ---- client -> gateway ----------------------------------------------------------------------

Result<ChatRequest> decodeChatRequest(std::string_view body) {
  if (auto common = readCommonChatRequest(body)) return std::move(*common);
  return decodeAnyChatRequest(body);
}

Result<ChatRequest> decodeAnyChatRequest(std::string_view body) {
  Arena arena;
  auto root = parseJson(body, arena, Origin::kClient);
  if (!root) return fail(std::move(root.error()));
  const json::object* o = root->if_object();
  if (o == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "request body must be a JSON object, got " + std::string(kindName(*root)));
  }
  ChatRequest req;
  ChatRequestReader reader;
  if (!reader.read(*o, req)) return fail(reader.takeError());
  return req;
}

Result<CompletionRequest> decodeCompletionRequest(std::string_view body) {
  Arena arena;
  auto root = parseJson(body, arena, Origin::kClient);
  if (!root) return fail(std::move(root.error()));
  const json::object* o = root->if_object();
  if (o == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "request body must be a JSON object, got " + std::string(kindName(*root)));
  }
  CompletionRequest req;
  RequestReader r;
  if (!r.model(*o, req.model)) return fail(r.takeError());
  const json::value* prompt = o->if_contains("prompt");
  {
    const Path p("prompt");
    if (prompt == nullptr || prompt->is_null()) {
      r.missing(p);
      return fail(r.takeError());
    }
    if (!isPrompt(*prompt)) {
      r.badValue(p,
                 "expected a string, an array of strings, an array of token ids or an "
                 "array of token id arrays");
      return fail(r.takeError());
    }
    req.prompt = json::value(*prompt, json::storage_ptr());
  }
  bool include_usage = false;
  json::object stream_options_rest;
  for (const auto& kv : *o) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "model" || key == "prompt") continue;
    const bool known = key == "max_tokens" || key == "temperature" || key == "top_p" ||
                       key == "seed" || key == "stop" || key == "stream" || key == "stream_options";
    if (!known) {
      req.extra.emplace(key, v);
      continue;
    }
    if (v.is_null()) continue;
    const Path p(key);
    bool ok = true;
    if (key == "max_tokens") {
      ok = r.optionalInt(v, p, 0, std::numeric_limits<std::int64_t>::max(), req.max_tokens);
    } else if (key == "temperature") {
      ok = r.numberInRange(v, p, 0, 2, req.temperature);
    } else if (key == "top_p") {
      ok = r.numberInRange(v, p, 0, 1, req.top_p);
    } else if (key == "seed") {
      std::int64_t seed = 0;
      ok = r.integer(v, p, seed);
      req.seed = seed;
    } else if (key == "stop") {
      ok = r.stop(v, p, req.stop);
    } else if (key == "stream") {
      ok = r.boolean(v, p, req.stream);
    } else {
      ok = r.streamOptions(v, p, include_usage, stream_options_rest);
    }
    if (!ok) return fail(r.takeError());
  }
  req.include_usage = req.stream && include_usage;
  if (req.stream && !stream_options_rest.empty()) {
    req.extra["stream_options"] = std::move(stream_options_rest);
  }
  return req;
}

Result<EmbeddingRequest> decodeEmbeddingRequest(std::string_view body) {
  Arena arena;
  auto root = parseJson(body, arena, Origin::kClient);
  if (!root) return fail(std::move(root.error()));
  const json::object* o = root->if_object();
  if (o == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "request body must be a JSON object, got " + std::string(kindName(*root)));
  }
  EmbeddingRequest req;
  RequestReader r;
  if (!r.model(*o, req.model)) return fail(r.takeError());
  {
    const Path p("input");
    const json::value* input = o->if_contains("input");
    if (input == nullptr || input->is_null()) {
      r.missing(p);
      return fail(r.takeError());
    }
    if (const json::string* s = input->if_string()) {
      req.texts.emplace_back(s->data(), s->size());
    } else if (const json::array* a = input->if_array()) {
      if (a->empty()) {
        r.badValue(p, "expected at least one input");
        return fail(r.takeError());
      }
      if (std::all_of(a->begin(), a->end(), [](const json::value& e) { return e.is_string(); })) {
        req.texts.reserve(a->size());
        for (const auto& e : *a)
          req.texts.emplace_back(e.get_string().data(), e.get_string().size());
      } else if (isPrompt(*input)) {
        req.token_input = json::value(*input, json::storage_ptr());
      } else {
        r.badValue(p,
                   "expected a string, an array of strings, an array of token ids or an "
                   "array of token id arrays");
        return fail(r.takeError());
      }
    } else {
      r.typeError(p, "a string or an array", *input);
      return fail(r.takeError());
    }
  }
  for (const auto& kv : *o) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "model" || key == "input") continue;
    const bool known = key == "encoding_format" || key == "dimensions" || key == "user";
    if (!known) {
      req.extra.emplace(key, v);
      continue;
    }
    if (v.is_null()) continue;
    const Path p(key);
    bool ok = true;
    if (key == "encoding_format") {
      ok = r.string(v, p, req.encoding_format);
      if (ok && req.encoding_format != "float" && req.encoding_format != "base64") {
        ok = r.badValue(p, "'" + req.encoding_format + "' (expected 'float' or 'base64')");
      }
    } else if (key == "dimensions") {
      ok = r.optionalInt(v, p, 1, std::numeric_limits<int>::max(), req.dimensions);
    } else {
      ok = r.string(v, p, req.user);
    }
    if (!ok) return fail(r.takeError());
  }
  return req;
}

// ---- gateway -> upstream --------------------------------------------------------------------

std::string encodeChatRequest(const ChatRequest& r) {
  std::string out;
  out.reserve(estimateSize(r));
  JsonWriter w(out);
  w.beginObject();
  w.key("model").string(r.model);
  w.key("messages").beginArray();
  for (const auto& m : r.messages) writeRequestMessage(w, m);
  w.endArray();
  if (!r.tools.empty()) {
    w.key("tools").beginArray();
    for (const auto& tool : r.tools) {
      w.beginObject();
      w.key("type").string("function");
      w.key("function").beginObject();
      w.key("name").string(tool.name);
      if (!tool.description.empty()) w.key("description").string(tool.description);
      if (!tool.parameters.is_null()) w.key("parameters").value(tool.parameters);
      if (tool.strict) w.key("strict").boolean(*tool.strict);
      w.endObject();
      w.endObject();
    }
    w.endArray();
  }
  switch (r.tool_choice.mode) {
    case ToolChoice::Mode::kUnset:
      break;
    case ToolChoice::Mode::kAuto:
      w.key("tool_choice").string("auto");
      break;
    case ToolChoice::Mode::kNone:
      w.key("tool_choice").string("none");
      break;
    case ToolChoice::Mode::kRequired:
      w.key("tool_choice").string("required");
      break;
    case ToolChoice::Mode::kFunction:
      w.key("tool_choice").beginObject();
      w.key("type").string("function");
      w.key("function").beginObject();
      w.key("name").string(r.tool_choice.function_name);
      w.endObject();
      w.endObject();
      break;
  }
  if (r.parallel_tool_calls) w.key("parallel_tool_calls").boolean(*r.parallel_tool_calls);
  switch (r.response_format.kind) {
    case ResponseFormat::Kind::kUnset:
      break;
    case ResponseFormat::Kind::kText:
      w.key("response_format").beginObject();
      w.key("type").string("text");
      w.endObject();
      break;
    case ResponseFormat::Kind::kJsonObject:
      w.key("response_format").beginObject();
      w.key("type").string("json_object");
      w.endObject();
      break;
    case ResponseFormat::Kind::kJsonSchema: {
      const ResponseFormat& f = r.response_format;
      w.key("response_format").beginObject();
      w.key("type").string("json_schema");
      w.key("json_schema").beginObject();
      w.key("name").string(f.schema_name);
      if (!f.schema_description.empty()) w.key("description").string(f.schema_description);
      if (!f.schema.is_null()) w.key("schema").value(f.schema);
      if (f.strict) w.key("strict").boolean(*f.strict);
      w.endObject();
      w.endObject();
      break;
    }
  }
  if (r.temperature) w.key("temperature").number(*r.temperature);
  if (r.top_p) w.key("top_p").number(*r.top_p);
  if (r.frequency_penalty) w.key("frequency_penalty").number(*r.frequency_penalty);
  if (r.presence_penalty) w.key("presence_penalty").number(*r.presence_penalty);
  if (r.max_tokens) {
    w.key(r.max_tokens_is_completion ? "max_completion_tokens" : "max_tokens")
        .integer(*r.max_tokens);
  }
  if (r.seed) w.key("seed").integer(*r.seed);
  if (r.n) w.key("n").integer(*r.n);
  if (!r.stop.empty()) writeStop(w, r.stop);
  if (!r.logit_bias.empty()) w.key("logit_bias").object(r.logit_bias);
  if (r.logprobs) w.key("logprobs").boolean(*r.logprobs);
  if (r.top_logprobs) w.key("top_logprobs").integer(*r.top_logprobs);
  if (!r.reasoning_effort.empty()) w.key("reasoning_effort").string(r.reasoning_effort);
  if (!r.user.empty()) w.key("user").string(r.user);
  if (!r.metadata.empty()) w.key("metadata").object(r.metadata);
  if (r.top_k) w.key("top_k").integer(*r.top_k);
  if (r.min_p) w.key("min_p").number(*r.min_p);
  if (r.repetition_penalty) w.key("repetition_penalty").number(*r.repetition_penalty);
  if (r.stream) w.key("stream").boolean(true);
  writeStreamOptions(w, r.stream, r.include_usage, r.extra);
  w.members(r.extra, "stream_options");
  w.endObject();
  return out;
}

std::string encodeCompletionRequest(const CompletionRequest& r) {
  std::string out;
  out.reserve(256 + r.model.size() + (r.prompt.is_string() ? r.prompt.get_string().size() : 256));
  JsonWriter w(out);
  w.beginObject();
  w.key("model").string(r.model);
  w.key("prompt").value(r.prompt);
  if (r.max_tokens) w.key("max_tokens").integer(*r.max_tokens);
  if (r.temperature) w.key("temperature").number(*r.temperature);
  if (r.top_p) w.key("top_p").number(*r.top_p);
  if (r.seed) w.key("seed").integer(*r.seed);
  if (!r.stop.empty()) writeStop(w, r.stop);
  if (r.stream) w.key("stream").boolean(true);
  writeStreamOptions(w, r.stream, r.include_usage, r.extra);
  w.members(r.extra, "stream_options");
  w.endObject();
  return out;
}

std::string encodeEmbeddingRequest(const EmbeddingRequest& r) {
  std::string out;
  std::size_t n = 128 + r.model.size();
  for (const auto& t : r.texts) n += t.size() + 4;
  out.reserve(n);
  JsonWriter w(out);
  w.beginObject();
  w.key("model").string(r.model);
  w.key("input");
  if (!r.texts.empty()) {
    if (r.texts.size() == 1) {
      w.string(r.texts[0]);
    } else {
      w.beginArray();
      for (const auto& t : r.texts) w.string(t);
      w.endArray();
    }
  } else {
    w.value(r.token_input);
  }
  if (!r.encoding_format.empty()) w.key("encoding_format").string(r.encoding_format);
  if (r.dimensions) w.key("dimensions").integer(*r.dimensions);
  if (!r.user.empty()) w.key("user").string(r.user);
  w.members(r.extra);
  w.endObject();
  return out;
}

// ---- upstream -> gateway --------------------------------------------------------------------

Result<ChatResponse> decodeChatResponse(std::string_view body) {
  if (auto common = readCommonChatResponse(body)) return std::move(*common);
  return decodeAnyChatResponse(body);
}

Result<ChatResponse> decodeAnyChatResponse(std::string_view body) {
  Arena arena;
  std::optional<json::value> root;
  auto object = parseUpstream(body, arena, root);
  if (!object) return fail(std::move(object.error()));
  const json::object& o = **object;
  const json::value* choices = o.if_contains("choices");
  if (choices == nullptr || !choices->is_array()) {
    return fail(ErrorCode::kUpstream, "chat completion has no 'choices' array");
  }
  ChatResponse res;
  readEnvelope(o, res);
  res.service_tier = std::string(stringOr(o, "service_tier"));
  const json::array& a = choices->get_array();
  res.choices.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto co = choiceAt(a, i, "chat completion");
    if (!co) return fail(std::move(co.error()));
    Choice& choice = res.choices.emplace_back();
    choice.index = choiceIndex(**co, i);
    choice.finish_reason = finishReasonOf(**co);
    // vLLM names the stop string that ended the choice (a token id there is not one).
    choice.stop_sequence = std::string(stringOr(**co, "stop_reason"));
    choice.logprobs = copyOrNull((*co)->if_contains("logprobs"));
    choice.message.role = Role::kAssistant;
    const json::value* message = (*co)->if_contains("message");
    const json::object* mo = message != nullptr ? message->if_object() : nullptr;
    if (mo == nullptr) {
      return fail(ErrorCode::kUpstream,
                  "chat completion choices[" + std::to_string(i) + "] has no 'message' object");
    }
    readResponseMessage(*mo, choice.message);
  }
  return res;
}

Result<ChatChunk> decodeChatChunk(std::string_view data) {
  if (auto common = readCommonChatChunk(data)) return std::move(*common);
  return decodeAnyChatChunk(data);
}

Result<ChatChunk> decodeAnyChatChunk(std::string_view data) {
  Arena arena;
  std::optional<json::value> root;
  auto object = parseUpstream(data, arena, root);
  if (!object) return fail(std::move(object.error()));
  const json::object& o = **object;
  ChatChunk chunk;
  readEnvelope(o, chunk);
  const json::value* choices = o.if_contains("choices");
  const json::array* a = choices != nullptr ? choices->if_array() : nullptr;
  if (a == nullptr) {
    if (choices != nullptr && !choices->is_null()) {
      return fail(ErrorCode::kUpstream, "chat completion chunk 'choices' is not an array");
    }
    return chunk;
  }
  chunk.choices.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    auto co = choiceAt(*a, i, "chat completion chunk");
    if (!co) return fail(std::move(co.error()));
    ChoiceDelta& d = chunk.choices.emplace_back();
    d.index = static_cast<int>(i);  // when the upstream leaves it out
    const json::object* delta_object = nullptr;
    for (const auto& kv : **co) {
      const std::string_view key = kv.key();
      const json::value& v = kv.value();
      if (key == "delta") {
        delta_object = v.if_object();
      } else if (key == "index") {
        d.index = static_cast<int>(upstreamCount(&v));
      } else if (key == "finish_reason") {
        if (const json::string* s = v.if_string()) d.finish_reason = parseFinishReason(*s);
      } else if (key == "stop_reason") {  // vLLM
        if (const json::string* s = v.if_string()) d.stop_sequence = std::string(*s);
      } else if (key == "logprobs") {
        d.logprobs = copyOrNull(&v);
      }
    }
    if (delta_object == nullptr) continue;
    // One pass over the delta's members (usually one or two).
    const json::string* reasoning_content = nullptr;  // wins over "reasoning" (reasoningOf)
    const json::string* reasoning = nullptr;
    const json::value* calls = nullptr;
    for (const auto& kv : *delta_object) {
      const std::string_view key = kv.key();
      const json::value& v = kv.value();
      if (key == "content") {
        if (const json::string* s = v.if_string()) d.content.emplace(s->data(), s->size());
      } else if (key == "role") {
        if (const json::string* s = v.if_string()) d.role = parseRole(*s);
      } else if (key == "reasoning_content") {
        reasoning_content = v.if_string();
      } else if (key == "reasoning") {
        reasoning = v.if_string();
      } else if (key == "refusal") {
        if (const json::string* s = v.if_string()) d.refusal.emplace(s->data(), s->size());
      } else if (key == "tool_calls") {
        calls = &v;
      }
    }
    if (const json::string* r = reasoning_content != nullptr ? reasoning_content : reasoning) {
      d.reasoning_content.emplace(r->data(), r->size());
    }
    if (calls != nullptr) {
      if (const json::array* ca = calls->if_array()) {
        d.tool_calls.reserve(ca->size());
        for (std::size_t j = 0; j < ca->size(); ++j) {
          const json::object* call = (*ca)[j].if_object();
          if (call == nullptr) continue;
          ToolCallDelta& td = d.tool_calls.emplace_back();
          td.index = call->contains("index") ? static_cast<int>(upstreamCount(*call, "index"))
                                             : static_cast<int>(j);
          td.id = std::string(stringOr(*call, "id"));
          if (const json::value* fn = call->if_contains("function")) {
            if (const json::object* fo = fn->if_object()) {
              td.name = std::string(stringOr(*fo, "name"));
              td.arguments = argumentsText(fo->if_contains("arguments"));
            }
          }
        }
      }
    }
  }
  return chunk;
}

Result<CompletionResponse> decodeCompletionResponse(std::string_view body) {
  Arena arena;
  std::optional<json::value> root;
  auto object = parseUpstream(body, arena, root);
  if (!object) return fail(std::move(object.error()));
  const json::object& o = **object;
  CompletionResponse res;
  readEnvelope(o, res);
  const json::value* choices = o.if_contains("choices");
  const json::array* a = choices != nullptr ? choices->if_array() : nullptr;
  if (a == nullptr) {
    if (choices != nullptr && !choices->is_null()) {
      return fail(ErrorCode::kUpstream, "completion 'choices' is not an array");
    }
    if (!res.usage) return fail(ErrorCode::kUpstream, "completion has no 'choices' array");
    return res;
  }
  res.choices.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    auto co = choiceAt(*a, i, "completion");
    if (!co) return fail(std::move(co.error()));
    CompletionChoice& c = res.choices.emplace_back();
    c.index = choiceIndex(**co, i);
    c.text = std::string(stringOr(**co, "text"));
    c.finish_reason = finishReasonOf(**co);
    c.logprobs = copyOrNull((*co)->if_contains("logprobs"));
  }
  return res;
}

Result<EmbeddingResponse> decodeEmbeddingResponse(std::string_view body) {
  Arena arena;
  std::optional<json::value> root;
  auto object = parseUpstream(body, arena, root);
  if (!object) return fail(std::move(object.error()));
  const json::object& o = **object;
  const json::value* data = o.if_contains("data");
  const json::array* a = data != nullptr ? data->if_array() : nullptr;
  if (a == nullptr) return fail(ErrorCode::kUpstream, "embedding response has no 'data' array");
  EmbeddingResponse res;
  res.model = std::string(stringOr(o, "model"));
  if (auto usage = readUsage(o.if_contains("usage"))) res.usage = *usage;
  res.embeddings.resize(a->size());
  std::vector<bool> filled(a->size(), false);
  for (std::size_t i = 0; i < a->size(); ++i) {
    auto where = [i] { return "embedding data[" + std::to_string(i) + "]"; };
    const json::object* eo = (*a)[i].if_object();
    if (eo == nullptr) return fail(ErrorCode::kUpstream, where() + " is not an object");
    std::size_t slot = i;
    if (const json::value* index = eo->if_contains("index"); index && !index->is_null()) {
      const std::int64_t idx = upstreamCount(index);
      if (idx < 0 || static_cast<std::size_t>(idx) >= a->size()) {
        return fail(ErrorCode::kUpstream,
                    where() + " has index " + std::to_string(idx) + " out of range");
      }
      slot = static_cast<std::size_t>(idx);
    }
    if (filled[slot]) {
      return fail(ErrorCode::kUpstream, where() + " repeats index " + std::to_string(slot));
    }
    filled[slot] = true;
    std::vector<float>& vec = res.embeddings[slot];
    const json::value* emb = eo->if_contains("embedding");
    if (emb == nullptr) return fail(ErrorCode::kUpstream, where() + " has no 'embedding'");
    if (const json::array* values = emb->if_array()) {
      vec.reserve(values->size());
      for (const auto& v : *values) {
        if (v.is_double()) {
          vec.push_back(static_cast<float>(v.get_double()));
        } else if (v.is_int64()) {
          vec.push_back(static_cast<float>(v.get_int64()));
        } else if (v.is_uint64()) {
          vec.push_back(static_cast<float>(v.get_uint64()));
        } else {
          return fail(ErrorCode::kUpstream,
                      where() + " holds a " + std::string(kindName(v)) + " where a number belongs");
        }
      }
    } else if (const json::string* s = emb->if_string()) {
      if (!decodeBase64Floats(*s, vec)) {
        return fail(ErrorCode::kUpstream, where() + " is not base64 of float32 values");
      }
    } else {
      return fail(ErrorCode::kUpstream, where() + " 'embedding' is neither an array nor base64");
    }
  }
  return res;
}

Status decodeUpstreamError(unsigned http_status, std::string_view body) {
  Arena arena;
  auto root = parseJson(body, arena, Origin::kUpstream);
  if (root) {
    if (const json::object* o = root->if_object()) {
      if (const json::value* error = o->if_contains("error"); error && !error->is_null()) {
        return upstreamErrorFrom(http_status, *error);
      }
      // Some servers (llama-server's older builds, proxies) put the message at the top.
      if (o->contains("message")) return upstreamErrorFrom(http_status, *root);
    }
  }
  std::string message = "upstream returned " + std::to_string(http_status);
  std::string_view text = body;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    message += " with an empty body";
  } else {
    message += ": ";
    // The message travels in JSON and logs: keep it short and valid UTF-8.
    std::string cleaned;
    cleaned.reserve(std::min(text.size(), kMaxErrorBodyInMessage) + 4);
    const bool truncated = text.size() > kMaxErrorBodyInMessage;
    std::string_view src = text.substr(0, kMaxErrorBodyInMessage);
    // Replace control characters and invalid UTF-8 without adding JSON escapes.
    const auto* p = reinterpret_cast<const unsigned char*>(src.data());
    const auto* end = p + src.size();
    while (p < end) {
      if (*p < 0x20) {
        cleaned += ' ';
        ++p;
      } else if (*p < 0x80) {
        cleaned += static_cast<char>(*p++);
      } else if (std::size_t n = utf8SequenceLength(p, end); n != 0) {
        cleaned.append(reinterpret_cast<const char*>(p), n);
        p += n;
      } else {
        // A cut at the limit may split a character: drop it rather than mark it.
        if (truncated && end - p < 4) break;
        cleaned += "\xEF\xBF\xBD";
        ++p;
      }
    }
    message += cleaned;
    if (truncated) message += "…";
  }
  return Status(errorCodeForHttpStatus(http_status), std::move(message))
      .withHttpStatus(static_cast<int>(http_status));
}

// ---- gateway -> client ----------------------------------------------------------------------

std::string encodeChatResponse(const ChatResponse& r) {
  std::string out;
  std::size_t n = 384 + r.id.size() + r.model.size();
  for (const auto& c : r.choices) {
    n += 160 + c.message.reasoning_content.size();
    for (const auto& part : c.message.content) n += part.text.size() + part.text.size() / 8;
    for (const auto& call : c.message.tool_calls) n += 96 + call.arguments.size();
  }
  out.reserve(n);
  JsonWriter w(out);
  w.beginObject();
  w.key("id").string(r.id);
  w.key("object").string("chat.completion");
  w.key("created").integer(r.created);
  w.key("model").string(r.model);
  w.key("choices").beginArray();
  for (const auto& c : r.choices) {
    const Message& m = c.message;
    w.beginObject();
    w.key("index").integer(c.index);
    w.key("message").beginObject();
    w.key("role").string(roleName(m.role));
    w.key("content");
    if (m.content_form == Message::ContentForm::kNull) {
      w.null();
    } else if (m.content.size() == 1 && m.content[0].kind == ContentPart::Kind::kText) {
      w.string(m.content[0].text);
    } else {
      w.string(m.text());
    }
    w.key("refusal");
    if (m.refusal) {
      w.string(*m.refusal);
    } else {
      w.null();
    }
    if (!m.tool_calls.empty()) {
      w.key("tool_calls");
      writeToolCalls(w, m.tool_calls);
    }
    if (!m.reasoning_content.empty()) w.key("reasoning_content").string(m.reasoning_content);
    w.members(m.extra);
    w.endObject();
    w.key("logprobs");
    w.value(c.logprobs);
    w.key("finish_reason");
    writeFinishReason(w, c.finish_reason);
    w.endObject();
  }
  w.endArray();
  if (r.usage) {
    w.key("usage");
    writeUsage(w, *r.usage);
  }
  if (!r.system_fingerprint.empty()) w.key("system_fingerprint").string(r.system_fingerprint);
  if (!r.service_tier.empty()) w.key("service_tier").string(r.service_tier);
  w.endObject();
  return out;
}

void appendChatChunk(const ChatChunk& chunk, std::string& out) {
  JsonWriter w(out);
  w.beginObject();
  w.key("id").string(chunk.id);
  w.key("object").string("chat.completion.chunk");
  w.key("created").integer(chunk.created);
  w.key("model").string(chunk.model);
  if (!chunk.system_fingerprint.empty()) {
    w.key("system_fingerprint").string(chunk.system_fingerprint);
  }
  w.key("choices").beginArray();
  for (const auto& c : chunk.choices) {
    w.beginObject();
    w.key("index").integer(c.index);
    w.key("delta").beginObject();
    if (c.role) w.key("role").string(roleName(*c.role));
    if (c.content) w.key("content").string(*c.content);
    if (c.reasoning_content) w.key("reasoning_content").string(*c.reasoning_content);
    if (c.refusal) w.key("refusal").string(*c.refusal);
    if (!c.tool_calls.empty()) {
      w.key("tool_calls").beginArray();
      for (const auto& t : c.tool_calls) {
        w.beginObject();
        w.key("index").integer(t.index);
        if (!t.id.empty()) {
          w.key("id").string(t.id);
          w.key("type").string("function");
        }
        w.key("function").beginObject();
        if (!t.name.empty()) w.key("name").string(t.name);
        w.key("arguments").string(t.arguments);
        w.endObject();
        w.endObject();
      }
      w.endArray();
    }
    w.endObject();
    w.key("logprobs");
    w.value(c.logprobs);
    w.key("finish_reason");
    writeFinishReason(w, c.finish_reason);
    w.endObject();
  }
  w.endArray();
  if (chunk.usage) {
    w.key("usage");
    writeUsage(w, *chunk.usage);
  }
  w.endObject();
}

std::string encodeCompletionResponse(const CompletionResponse& r, bool as_chunk) {
  std::string out;
  std::size_t n = 256 + r.id.size() + r.model.size();
  for (const auto& c : r.choices) n += 96 + c.text.size() + c.text.size() / 8;
  out.reserve(n);
  JsonWriter w(out);
  w.beginObject();
  w.key("id").string(r.id);
  w.key("object").string("text_completion");
  w.key("created").integer(r.created);
  w.key("model").string(r.model);
  w.key("choices").beginArray();
  for (const auto& c : r.choices) {
    w.beginObject();
    w.key("index").integer(c.index);
    w.key("text").string(c.text);
    w.key("logprobs");
    w.value(c.logprobs);
    w.key("finish_reason");
    writeFinishReason(w, c.finish_reason);
    w.endObject();
  }
  w.endArray();
  // A whole response always reports usage; a chunk only when it carries it (the last one).
  if (r.usage || !as_chunk) {
    w.key("usage");
    writeUsage(w, r.usage.value_or(Usage{}));
  }
  if (!r.system_fingerprint.empty()) w.key("system_fingerprint").string(r.system_fingerprint);
  w.endObject();
  return out;
}

std::string encodeEmbeddingResponse(const EmbeddingResponse& r, std::string_view encoding_format) {
  const bool base64 = encoding_format == "base64";
  std::string out;
  std::size_t n = 256 + r.model.size();
  for (const auto& e : r.embeddings) n += 48 + e.size() * (base64 ? 6 : 14);
  out.reserve(n);
  JsonWriter w(out);
  w.beginObject();
  w.key("object").string("list");
  w.key("data").beginArray();
  for (std::size_t i = 0; i < r.embeddings.size(); ++i) {
    w.beginObject();
    w.key("object").string("embedding");
    w.key("index").integer(static_cast<std::int64_t>(i));
    w.key("embedding");
    if (base64) {
      // The base64 alphabet needs no escaping: open the string, append in place, close it.
      w.raw("\"");
      appendBase64Floats(out, r.embeddings[i]);
      out += '"';
    } else {
      w.beginArray();
      for (float f : r.embeddings[i]) w.floatNumber(f);
      w.endArray();
    }
    w.endObject();
  }
  w.endArray();
  w.key("model").string(r.model);
  w.key("usage").beginObject();
  w.key("prompt_tokens").integer(r.usage.prompt_tokens);
  w.key("total_tokens").integer(r.usage.total_tokens);
  w.endObject();
  w.endObject();
  return out;
}

std::string encodeError(const Status& status) {
  std::string out;
  out.reserve(96 + status.message().size());
  JsonWriter w(out);
  w.beginObject();
  w.key("error").beginObject();
  w.key("message").string(status.message());
  w.key("type").string(openaiErrorType(status));
  w.key("param");
  if (status.param().empty()) {
    w.null();
  } else {
    w.string(status.param());
  }
  w.key("code");
  if (status.errorType().empty()) {
    w.null();
  } else {
    w.string(status.errorType());
  }
  w.endObject();
  w.endObject();
  return out;
}

}  // namespace switchyard::api::openai
