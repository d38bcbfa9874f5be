#include "switchyard/api/gemini/gemini_codec.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <span>
#include <utility>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_fields.h"

namespace switchyard::api::gemini {

namespace {

namespace json = boost::json;

constexpr std::size_t kMaxErrorBodyInMessage = 200;
constexpr std::string_view kSignatureMark = "__thought__";
constexpr std::string_view kGeminiIdPrefix = "call_gid_";
constexpr int kMaxSchemaDepth = 32;

Status unsupported(std::string_view provider, std::string feature) {
  return Status(ErrorCode::kUnprocessable,
                "provider '" + std::string(provider) + "' (Gemini API) does not support " +
                    feature)
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
  return !media_type.empty();
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex16(std::uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kHex[v & 0xf];
  return out;
}

// ---- JSON Schema -> Gemini Schema -----------------------------------------------------------

// Keywords Gemini's Schema has, copied as they are (after their values are converted).
constexpr std::string_view kKeptKeywords[] = {
    "title",     "description", "minItems",  "maxItems",         "minProperties",
    "maxProperties", "minLength", "maxLength", "pattern", "minimum", "maximum", "default",
    "example",   "propertyOrdering", "nullable"};
// Annotations that change nothing about what the model may generate: dropped.
constexpr std::string_view kDroppedKeywords[] = {"$schema", "$id",       "$comment", "$defs",
                                                 "definitions", "readOnly", "writeOnly",
                                                 "deprecated", "examples", "$anchor", "strict"};
// String formats Gemini accepts; others are validation hints it has no use for and are dropped.
constexpr std::string_view kKeptFormats[] = {"enum", "date-time", "float", "double", "int32",
                                             "int64"};

bool oneOf(std::string_view s, std::span<const std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

class SchemaConverter {
 public:
  SchemaConverter(const json::value& root, std::string_view provider, std::string_view what)
      : root_(root), provider_(provider), what_(what) {}

  Result<json::value> convert(const json::value& v, const std::string& path, int depth) {
    if (depth > kMaxSchemaDepth) {
      return fail(unsupported(provider_, "schemas nested deeper than " +
                                             std::to_string(kMaxSchemaDepth) +
                                             " levels or recursive $ref (in " + where(path) +
                                             ")"));
    }
    if (v.is_bool()) {
      // `true` allows anything: an empty schema. `false` allows nothing: no Gemini equivalent.
      if (v.get_bool()) return json::value(json::object());
      return fail(unsupported(provider_, "the schema `false` (at " + where(path) + ")"));
    }
    const json::object* in = v.if_object();
    if (in == nullptr) {
      return fail(Status(ErrorCode::kInvalidArgument,
                         where(path) + " is not a JSON Schema object"));
    }
    if (const json::value* ref = in->if_contains("$ref")) {
      const json::string* s = ref->if_string();
      const json::value* target = s ? resolve(*s) : nullptr;
      if (target == nullptr) {
        return fail(unsupported(provider_, "$ref '" + (s ? std::string(*s) : "") +
                                               "' (only local #/$defs/... and "
                                               "#/definitions/... references are inlined; at " +
                                               where(path) + ")"));
      }
      auto inlined = convert(*target, path + "/$ref", depth + 1);
      if (!inlined) return inlined;
      // Sibling keywords (description, ...) next to $ref win over the target's.
      json::object merged = std::move(inlined->as_object());
      json::object rest;
      for (const auto& kv : *in) {
        if (kv.key() != "$ref") rest.emplace(kv.key(), kv.value());
      }
      auto siblings = convert(json::value(std::move(rest)), path, depth + 1);
      if (!siblings) return siblings;
      for (auto& kv : siblings->as_object()) merged[kv.key()] = std::move(kv.value());
      return json::value(std::move(merged));
    }

    json::object out;
    for (const auto& kv : *in) {
      const std::string_view key = kv.key();
      const json::value& val = kv.value();
      const std::string at = path + "/" + std::string(key);
      if (key == "type") {
        if (Status s = convertType(val, out, at); !s.isOk()) return fail(std::move(s));
      } else if (key == "format") {
        const json::string* f = val.if_string();
        if (f != nullptr && oneOf(*f, kKeptFormats)) out["format"] = *f;
      } else if (key == "enum" || key == "const") {
        json::array values;
        if (key == "const") {
          values.push_back(val);
        } else if (const json::array* a = val.if_array()) {
          values = *a;
        } else {
          return fail(Status(ErrorCode::kInvalidArgument, where(at) + " is not an array"));
        }
        json::array strings;
        for (const auto& e : values) {
          if (e.is_null()) {
            out["nullable"] = true;
            continue;
          }
          if (!e.is_string()) {
            return fail(unsupported(provider_, "non-string enum/const values (at " + where(at) +
                                                   "; Gemini enums are strings)"));
          }
          strings.push_back(e);
        }
        out["enum"] = std::move(strings);
        if (!in->contains("type")) out["type"] = "STRING";
        if (!in->contains("format") && !in->contains("type")) out["format"] = "enum";
      } else if (key == "properties") {
        const json::object* props = val.if_object();
        if (props == nullptr) {
          return fail(Status(ErrorCode::kInvalidArgument, where(at) + " is not an object"));
        }
        json::object converted;
        for (const auto& p : *props) {
          auto c = convert(p.value(), at + "/" + std::string(p.key()), depth + 1);
          if (!c) return c;
          converted.emplace(p.key(), std::move(*c));
        }
        out["properties"] = std::move(converted);
      } else if (key == "required") {
        out["required"] = val;
      } else if (key == "items") {
        auto c = convert(val, at, depth + 1);
        if (!c) return c;
        out["items"] = std::move(*c);
      } else if (key == "anyOf" || key == "oneOf") {
        const json::array* alts = val.if_array();
        if (alts == nullptr) {
          return fail(Status(ErrorCode::kInvalidArgument, where(at) + " is not an array"));
        }
        json::array converted;
        bool nullable = false;
        for (std::size_t i = 0; i < alts->size(); ++i) {
          const json::value& alt = (*alts)[i];
          // {"type":"null"} among the alternatives is Gemini's `nullable`.
          if (const json::object* ao = alt.if_object();
              ao != nullptr && ao->size() == 1 && stringOr(*ao, "type") == "null") {
            nullable = true;
            continue;
          }
          auto c = convert(alt, at + "/" + std::to_string(i), depth + 1);
          if (!c) return c;
          converted.push_back(std::move(*c));
        }
        if (nullable) out["nullable"] = true;
        if (converted.size() == 1) {
          for (auto& kv2 : converted[0].as_object()) out[kv2.key()] = std::move(kv2.value());
        } else if (!converted.empty()) {
          out["anyOf"] = std::move(converted);
        }
      } else if (key == "allOf") {
        const json::array* parts = val.if_array();
        if (parts == nullptr || parts->size() != 1) {
          return fail(unsupported(provider_, "allOf with more than one schema (at " + where(at) +
                                                 ")"));
        }
        auto c = convert((*parts)[0], at + "/0", depth + 1);
        if (!c) return c;
        for (auto& kv2 : c->as_object()) out[kv2.key()] = std::move(kv2.value());
      } else if (key == "additionalProperties") {
        // false is what Gemini does anyway (it generates only declared properties), true and {}
        // say nothing; a schema for the extra values (a map type) cannot be expressed.
        const json::object* ap = val.if_object();
        if (val.is_bool() || (ap != nullptr && ap->empty())) continue;
        return fail(unsupported(provider_, "additionalProperties with a schema (map types; at " +
                                               where(at) + ")"));
      } else if (oneOf(key, kKeptKeywords)) {
        out[key] = val;
      } else if (oneOf(key, kDroppedKeywords)) {
        continue;
      } else {
        return fail(unsupported(provider_, "the JSON Schema keyword '" + std::string(key) +
                                               "' (at " + where(at) + ")"));
      }
    }
    return json::value(std::move(out));
  }

 private:
  std::string where(const std::string& path) const {
    return std::string(what_) + (path.empty() ? "" : " " + path);
  }

  // "#/$defs/Name" or "#/definitions/Name" (JSON pointer, ~0/~1 escapes) in the root schema.
  const json::value* resolve(std::string_view ref) const {
    if (!ref.starts_with("#/")) return nullptr;
    boost::system::error_code ec;
    const json::value* v = root_.find_pointer(ref.substr(1), ec);
    return ec ? nullptr : v;
  }

  Status convertType(const json::value& val, json::object& out, const std::string& at) {
    auto upper = [](std::string_view t) {
      std::string u(t);
      for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return u;
    };
    constexpr std::string_view kTypes[] = {"string", "number", "integer", "boolean",
                                           "array",  "object", "null"};
    if (const json::string* t = val.if_string()) {
      if (!oneOf(*t, kTypes)) {
        return Status(ErrorCode::kInvalidArgument, where(at) + ": unknown type '" +
                                                       std::string(*t) + "'");
      }
      if (*t == "null") {
        out["nullable"] = true;
      } else {
        out["type"] = upper(*t);
      }
      return Status::ok();
    }
    const json::array* types = val.if_array();
    if (types == nullptr) {
      return Status(ErrorCode::kInvalidArgument, where(at) + " is not a string or array");
    }
    std::vector<std::string> kept;
    for (const auto& t : *types) {
      const json::string* s = t.if_string();
      if (s == nullptr || !oneOf(*s, kTypes)) {
        return Status(ErrorCode::kInvalidArgument, where(at) + ": unknown type");
      }
      if (*s == "null") {
        out["nullable"] = true;
      } else {
        kept.push_back(upper(*s));
      }
    }
    if (kept.size() > 1) {
      return unsupported(provider_, "a type list with several non-null types (at " + where(at) +
                                        "; use anyOf)");
    }
    if (kept.size() == 1) out["type"] = kept[0];
    return Status::ok();
  }

  const json::value& root_;
  std::string_view provider_;
  std::string_view what_;
};

// ---- request encoding -----------------------------------------------------------------------

// The part for one content part of a user (or tool) message.
Result<json::value> encodePart(const ContentPart& part, std::string_view provider) {
  json::object p;
  switch (part.kind) {
    case ContentPart::Kind::kText:
      p["text"] = part.text;
      return json::value(std::move(p));
    case ContentPart::Kind::kImage: {
      std::string_view media_type;
      std::string_view data;
      if (!parseDataUri(part.image_url, media_type, data)) {
        return fail(unsupported(
            provider, part.image_url.starts_with("data:")
                          ? "image data URIs that are not base64"
                          : "image URLs (http/https); send the image inline as a base64 data: "
                            "URI"));
      }
      json::object inline_data;
      inline_data["mimeType"] = media_type;
      inline_data["data"] = data;
      p["inlineData"] = std::move(inline_data);
      return json::value(std::move(p));
    }
    case ContentPart::Kind::kOther: {
      const json::object* o = part.raw.if_object();
      const std::string_view type = o ? stringOr(*o, "type") : "";
      if (type == "input_audio") {
        const json::value* audio = o->if_contains("input_audio");
        const json::object* ao = audio ? audio->if_object() : nullptr;
        if (ao != nullptr && !stringOr(*ao, "data").empty()) {
          json::object inline_data;
          inline_data["mimeType"] = "audio/" + std::string(stringOr(*ao, "format", "wav"));
          inline_data["data"] = stringOr(*ao, "data");
          p["inlineData"] = std::move(inline_data);
          return json::value(std::move(p));
        }
      }
      return fail(unsupported(provider, "content parts of type '" + std::string(type) + "'"));
    }
  }
  return fail(unsupported(provider, "this content part"));
}

// A tool result as a functionResponse part: `response` must be an object, so a JSON object
// result goes as is and anything else is wrapped as {"output": text} ({"error": text} for a
// failed call), as Google's documentation suggests.
json::value encodeFunctionResponse(const Message& m, std::string_view name,
                                   std::string_view gemini_id) {
  const std::string text = m.text();
  json::object fr;
  if (!gemini_id.empty()) fr["id"] = gemini_id;
  fr["name"] = name;
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (!ec && parsed.is_object() && !m.tool_error) {
    fr["response"] = std::move(parsed);
  } else {
    json::object wrapped;
    wrapped[m.tool_error ? "error" : "output"] = text;
    fr["response"] = std::move(wrapped);
  }
  json::object p;
  p["functionResponse"] = std::move(fr);
  return p;
}

// base64url (no padding) <-> standard base64. Gemini's signatures are proto `bytes`: standard
// base64 in JSON, and its JSON parser accepts either alphabet, so the round trip is exact.
std::string toBase64Url(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '=') continue;
    out += c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

std::string fromBase64Url(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 3);
  for (char c : s) out += c == '-' ? '+' : c == '_' ? '/' : c;
  while (out.size() % 4 != 0) out += '=';
  return out;
}

Status checkSupported(const ChatRequest& r, std::string_view provider) {
  if (r.logprobs.value_or(false) || r.top_logprobs.value_or(0) > 0) {
    return unsupported(provider, "logprobs");
  }
  if (r.repetition_penalty) return unsupported(provider, "repetition_penalty");
  if (r.min_p) return unsupported(provider, "min_p");
  if (!r.logit_bias.empty()) return unsupported(provider, "logit_bias");
  if (r.parallel_tool_calls.has_value() && !*r.parallel_tool_calls && !r.tools.empty() &&
      r.tool_choice.mode != ToolChoice::Mode::kNone) {
    return unsupported(provider, "parallel_tool_calls: false (Gemini may always call several "
                                 "functions at once)");
  }
  for (const ToolDef& t : r.tools) {
    if (!t.native.is_null()) {
      const json::object* o = t.native.if_object();
      return unsupported(provider, "provider-defined tools ('" +
                                       std::string(o ? stringOr(*o, "type") : "") + "')");
    }
  }
  for (const Message& m : r.messages) {
    if (!m.extra.empty()) {
      return unsupported(provider, "the message field '" + std::string(m.extra.begin()->key()) +
                                       "'");
    }
  }
  return Status::ok();
}

// Top-level fields a client may send that have no Gemini meaning but no effect either; Gemini's
// own fields that pass through verbatim. Everything else in `extra` is rejected.
constexpr std::string_view kIgnoredExtra[] = {"stream_options", "store", "max_tokens",
                                              "max_completion_tokens"};
constexpr std::string_view kGeminiExtra[] = {"safetySettings", "cachedContent", "labels"};

}  // namespace

std::string methodPath(std::string_view model, bool stream) {
  std::string path;
  if (model.starts_with("models/") || model.starts_with("tunedModels/")) {
    path = "/" + std::string(model);
  } else {
    path = "/models/" + std::string(model);
  }
  path += stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
  return path;
}

std::string embedPath(std::string_view model) {
  std::string path = methodPath(model, false);
  path.resize(path.size() - std::string_view(":generateContent").size());
  return path + ":batchEmbedContents";
}

Result<std::string> encodeBatchEmbedRequest(const EmbeddingRequest& request,
                                            std::string_view provider) {
  if (request.texts.empty()) {
    return fail(unsupported(provider, "token-id input for embeddings (Gemini embeds text)"));
  }
  std::string task_type;
  if (const json::value* t = request.extra.if_contains("task_type")) {
    if (!t->is_string()) {
      return fail(Status(ErrorCode::kInvalidArgument,
                         "'task_type' must be a Gemini task type such as RETRIEVAL_QUERY")
                      .withParam("task_type"));
    }
    task_type = std::string(t->get_string());
  }
  const std::string model = request.model.starts_with("models/") ||
                                    request.model.starts_with("tunedModels/")
                                ? request.model
                                : "models/" + request.model;
  json::array requests;
  requests.reserve(request.texts.size());
  for (const std::string& text : request.texts) {
    json::object part{{"text", text}};
    json::object item{{"model", model},
                      {"content", json::object{{"parts", json::array{std::move(part)}}}}};
    if (request.dimensions) item["outputDimensionality"] = *request.dimensions;
    if (!task_type.empty()) item["taskType"] = task_type;
    requests.push_back(std::move(item));
  }
  return json::serialize(json::object{{"requests", std::move(requests)}});
}

Result<EmbeddingResponse> decodeBatchEmbedResponse(std::string_view body,
                                                   const std::vector<std::string>& texts) {
  auto bad = [](std::string what) {
    return fail(ErrorCode::kUpstream, "invalid batchEmbedContents response: " + what);
  };
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec || !root.is_object()) return bad("not a JSON object");
  const json::value* embeddings = root.get_object().if_contains("embeddings");
  if (embeddings == nullptr || !embeddings->is_array()) return bad("no 'embeddings' array");
  const json::array& list = embeddings->get_array();
  if (list.size() != texts.size()) {
    return bad(std::to_string(list.size()) + " embeddings for " + std::to_string(texts.size()) +
               " inputs");
  }
  EmbeddingResponse out;
  out.embeddings.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json::value* values =
        list[i].is_object() ? list[i].get_object().if_contains("values") : nullptr;
    if (values == nullptr || !values->is_array()) {
      return bad("embeddings[" + std::to_string(i) + "] has no 'values' array");
    }
    std::vector<float> v;
    v.reserve(values->get_array().size());
    for (const json::value& x : values->get_array()) {
      if (!x.is_number()) return bad("embeddings[" + std::to_string(i) + "] has a non-number");
      v.push_back(static_cast<float>(x.to_number<double>()));
    }
    out.embeddings.push_back(std::move(v));
    out.usage.prompt_tokens += std::max<std::int64_t>(
        1, static_cast<std::int64_t>((texts[i].size() + 3) / 4));
  }
  out.usage.total_tokens = out.usage.prompt_tokens;
  return out;
}

Result<json::value> convertSchema(const json::value& schema, std::string_view provider,
                                  std::string_view what) {
  SchemaConverter converter(schema, provider, what);
  return converter.convert(schema, "", 0);
}

std::string makeToolCallId(std::string_view gemini_id, std::string_view seed, int index,
                           std::string_view signature) {
  std::string id;
  if (!gemini_id.empty()) {
    id = std::string(kGeminiIdPrefix) + std::string(gemini_id);
  } else {
    id = "call_" + hex16(fnv1a(std::to_string(index), fnv1a(seed))).substr(0, 12) + "_" +
         std::to_string(index);
  }
  if (!signature.empty()) {
    id += kSignatureMark;
    id += toBase64Url(signature);
  }
  return id;
}

ParsedToolCallId parseToolCallId(std::string_view id) {
  ParsedToolCallId out;
  std::string_view base = id;
  if (auto mark = id.find(kSignatureMark); mark != std::string_view::npos) {
    base = id.substr(0, mark);
    out.signature = fromBase64Url(id.substr(mark + kSignatureMark.size()));
  }
  if (base.starts_with(kGeminiIdPrefix)) out.gemini_id = base.substr(kGeminiIdPrefix.size());
  return out;
}

Result<std::string> encodeGenerateContentRequest(const ChatRequest& r,
                                                 std::string_view provider) {
  if (Status s = checkSupported(r, provider); !s.isOk()) return fail(std::move(s));
  json::object root;

  // systemInstruction: every system and developer message's text, in order.
  json::array system_parts;
  for (const Message& m : r.messages) {
    if (m.role != Role::kSystem && m.role != Role::kDeveloper) continue;
    for (const ContentPart& part : m.content) {
      if (part.kind != ContentPart::Kind::kText) {
        return fail(unsupported(provider, "non-text content in system messages"));
      }
      if (part.text.empty()) continue;
      json::object p;
      p["text"] = part.text;
      system_parts.push_back(std::move(p));
    }
  }

  // Function names by tool-call id, for functionResponse parts.
  std::map<std::string, std::string, std::less<>> call_names;
  for (const Message& m : r.messages) {
    for (const ToolCall& c : m.tool_calls) call_names[c.id] = c.name;
  }

  json::array contents;
  auto turn = [&](std::string_view role) -> json::array& {
    if (!contents.empty() && contents.back().as_object().at("role").as_string() == role) {
      return contents.back().as_object().at("parts").as_array();
    }
    json::object c;
    c["role"] = role;
    c["parts"] = json::array();
    contents.push_back(std::move(c));
    return contents.back().as_object().at("parts").as_array();
  };

  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    const Message& m = r.messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    switch (m.role) {
      case Role::kSystem:
      case Role::kDeveloper:
        break;
      case Role::kUser: {
        json::array parts;
        for (const ContentPart& part : m.content) {
          if (part.kind == ContentPart::Kind::kText && part.text.empty()) continue;
          auto p = encodePart(part, provider);
          if (!p) return fail(std::move(p.error()));
          parts.push_back(std::move(*p));
        }
        if (parts.empty()) break;
        json::array& out = turn("user");
        for (auto& p : parts) out.push_back(std::move(p));
        break;
      }
      case Role::kTool: {
        auto it = call_names.find(m.tool_call_id);
        if (it == call_names.end()) {
          return fail(Status(ErrorCode::kInvalidArgument,
                             at + ": tool_call_id '" + m.tool_call_id +
                                 "' matches no earlier assistant tool call (Gemini needs the "
                                 "function's name)")
                          .withParam(at + ".tool_call_id"));
        }
        for (const ContentPart& part : m.content) {
          if (part.kind != ContentPart::Kind::kText) {
            return fail(unsupported(provider, "non-text tool results"));
          }
        }
        turn("user").push_back(
            encodeFunctionResponse(m, it->second, parseToolCallId(m.tool_call_id).gemini_id));
        break;
      }
      case Role::kAssistant: {
        json::array parts;
        for (const ContentPart& part : m.content) {
          if (part.kind != ContentPart::Kind::kText) {
            return fail(unsupported(provider, "non-text content in assistant messages"));
          }
          if (part.text.empty()) continue;
          json::object p;
          p["text"] = part.text;
          parts.push_back(std::move(p));
        }
        if (m.refusal && !m.refusal->empty()) {
          json::object p;
          p["text"] = *m.refusal;
          parts.push_back(std::move(p));
        }
        bool signed_call = false;
        for (std::size_t k = 0; k < m.tool_calls.size(); ++k) {
          const ToolCall& c = m.tool_calls[k];
          json::value args = json::object();
          if (!c.arguments.empty()) {
            boost::system::error_code ec;
            args = json::parse(c.arguments, ec);
            if (ec || !args.is_object()) {
              return fail(Status(ErrorCode::kInvalidArgument,
                                 at + ".tool_calls[" + std::to_string(k) +
                                     "].function.arguments is not a JSON object (Gemini needs "
                                     "function-call arguments as an object)")
                              .withParam(at + ".tool_calls"));
            }
          }
          const ParsedToolCallId parsed = parseToolCallId(c.id);
          json::object fc;
          if (!parsed.gemini_id.empty()) fc["id"] = parsed.gemini_id;
          fc["name"] = c.name;
          fc["args"] = std::move(args);
          json::object p;
          p["functionCall"] = std::move(fc);
          if (!parsed.signature.empty()) {
            p["thoughtSignature"] = parsed.signature;
            signed_call = true;
          }
          parts.push_back(std::move(p));
        }
        // A signature that came back on the message itself (text or thought parts; Anthropic
        // clients return it with the thinking block) goes where Gemini put it: the first
        // function call, else the last part.
        if (!m.reasoning_signature.empty() && !signed_call) {
          if (parts.empty()) {
            json::object p;
            p["text"] = "";
            parts.push_back(std::move(p));
          }
          json::value* target = &parts.back();
          for (auto& p : parts) {
            if (p.as_object().contains("functionCall")) {
              target = &p;
              break;
            }
          }
          target->as_object()["thoughtSignature"] = m.reasoning_signature;
        }
        if (parts.empty()) break;
        json::array& out = turn("model");
        for (auto& p : parts) out.push_back(std::move(p));
        break;
      }
    }
  }
  if (contents.empty()) {
    return fail(Status(ErrorCode::kInvalidArgument,
                       "provider '" + std::string(provider) +
                           "' (Gemini API) needs at least one user or assistant message")
                    .withParam("messages"));
  }
  root["contents"] = std::move(contents);
  if (!system_parts.empty()) {
    json::object si;
    si["parts"] = std::move(system_parts);
    root["systemInstruction"] = std::move(si);
  }

  if (!r.tools.empty()) {
    json::array decls;
    for (std::size_t i = 0; i < r.tools.size(); ++i) {
      const ToolDef& t = r.tools[i];
      json::object d;
      d["name"] = t.name;
      if (!t.description.empty()) d["description"] = t.description;
      if (t.parameters.is_object() && !t.parameters.get_object().empty()) {
        auto schema =
            convertSchema(t.parameters, provider, "tools[" + std::to_string(i) + "].parameters");
        if (!schema) return fail(std::move(schema.error()));
        // Gemini rejects an OBJECT without properties; a function without parameters has none.
        const json::object& so = schema->as_object();
        const json::value* props = so.if_contains("properties");
        if (!(stringOr(so, "type") == "OBJECT" &&
              (props == nullptr || props->as_object().empty()))) {
          d["parameters"] = std::move(*schema);
        }
      }
      decls.push_back(std::move(d));
    }
    json::object tool;
    tool["functionDeclarations"] = std::move(decls);
    json::array tools;
    tools.push_back(std::move(tool));
    root["tools"] = std::move(tools);
  }
  if (r.tool_choice.mode != ToolChoice::Mode::kUnset &&
      (!r.tools.empty() || r.tool_choice.mode == ToolChoice::Mode::kNone)) {
    json::object fcc;
    switch (r.tool_choice.mode) {
      case ToolChoice::Mode::kUnset:
      case ToolChoice::Mode::kAuto:
        fcc["mode"] = "AUTO";
        break;
      case ToolChoice::Mode::kNone:
        fcc["mode"] = "NONE";
        break;
      case ToolChoice::Mode::kRequired:
        fcc["mode"] = "ANY";
        break;
      case ToolChoice::Mode::kFunction: {
        fcc["mode"] = "ANY";
        json::array names;
        names.push_back(json::value(r.tool_choice.function_name));
        fcc["allowedFunctionNames"] = std::move(names);
        break;
      }
    }
    json::object tc;
    tc["functionCallingConfig"] = std::move(fcc);
    root["toolConfig"] = std::move(tc);
  }

  json::object gc;
  if (r.temperature) gc["temperature"] = *r.temperature;
  if (r.top_p) gc["topP"] = *r.top_p;
  if (r.top_k) gc["topK"] = *r.top_k;
  if (r.max_tokens) gc["maxOutputTokens"] = *r.max_tokens;
  if (!r.stop.empty()) {
    json::array stops;
    for (const auto& s : r.stop) stops.push_back(json::value(s));
    gc["stopSequences"] = std::move(stops);
  }
  if (r.seed) gc["seed"] = *r.seed;
  if (r.n && *r.n != 1) gc["candidateCount"] = *r.n;
  if (r.presence_penalty && *r.presence_penalty != 0) gc["presencePenalty"] = *r.presence_penalty;
  if (r.frequency_penalty && *r.frequency_penalty != 0) {
    gc["frequencyPenalty"] = *r.frequency_penalty;
  }
  if (r.response_format.kind == ResponseFormat::Kind::kJsonObject ||
      r.response_format.kind == ResponseFormat::Kind::kJsonSchema) {
    gc["responseMimeType"] = "application/json";
  }
  if (r.response_format.kind == ResponseFormat::Kind::kJsonSchema &&
      !r.response_format.schema.is_null()) {
    auto schema = convertSchema(r.response_format.schema, provider,
                                "response_format.json_schema.schema");
    if (!schema) return fail(std::move(schema.error()));
    gc["responseSchema"] = std::move(*schema);
  }
  // Thinking: an Anthropic budget as is, else OpenAI's effort as a budget. Thought summaries
  // are asked for whenever thinking is asked for, so they can come back as reasoning_content.
  if (r.thinking.mode == ThinkingConfig::Mode::kEnabled) {
    json::object tc;
    tc["thinkingBudget"] = r.thinking.budget_tokens;
    tc["includeThoughts"] = true;
    gc["thinkingConfig"] = std::move(tc);
  } else if (r.thinking.mode == ThinkingConfig::Mode::kDisabled) {
    json::object tc;
    tc["thinkingBudget"] = 0;
    gc["thinkingConfig"] = std::move(tc);
  } else if (!r.reasoning_effort.empty()) {
    const std::string& e = r.reasoning_effort;
    json::object tc;
    if (e == "none") {
      tc["thinkingBudget"] = 0;
    } else if (e == "minimal" || e == "low" || e == "medium" || e == "high") {
      tc["thinkingBudget"] = e == "high" ? kBudgetHigh : e == "medium" ? kBudgetMedium : kBudgetLow;
      tc["includeThoughts"] = true;
    } else {
      return fail(unsupported(provider, "reasoning_effort '" + e + "'"));
    }
    gc["thinkingConfig"] = std::move(tc);
  }
  if (!gc.empty()) root["generationConfig"] = std::move(gc);

  for (const auto& kv : r.extra) {
    if (oneOf(kv.key(), kIgnoredExtra)) continue;
    if (oneOf(kv.key(), kGeminiExtra)) {
      root[kv.key()] = kv.value();
      continue;
    }
    return fail(unsupported(provider, "the request field '" + std::string(kv.key()) + "'")
                    .withParam(std::string(kv.key())));
  }
  return json::serialize(root);
}

// ---- response decoding ----------------------------------------------------------------------

Usage usageFromGemini(const json::object& u) {
  Usage usage;
  usage.prompt_tokens =
      addTokens(upstreamCount(u, "promptTokenCount"), upstreamCount(u, "toolUsePromptTokenCount"));
  usage.reasoning_tokens = upstreamCount(u, "thoughtsTokenCount");
  usage.completion_tokens =
      addTokens(upstreamCount(u, "candidatesTokenCount"), usage.reasoning_tokens);
  usage.cached_tokens = upstreamCount(u, "cachedContentTokenCount");
  usage.total_tokens = u.contains("totalTokenCount")
                           ? upstreamCount(u, "totalTokenCount")
                           : addTokens(usage.prompt_tokens, usage.completion_tokens);
  return usage;
}

FinishReason finishReasonFromGemini(std::string_view reason, bool has_function_calls) {
  if (reason == "MAX_TOKENS") return FinishReason::kLength;
  if (reason == "SAFETY" || reason == "RECITATION" || reason == "PROHIBITED_CONTENT" ||
      reason == "BLOCKLIST" || reason == "SPII" || reason == "IMAGE_SAFETY") {
    return FinishReason::kContentFilter;
  }
  if (reason == "MALFORMED_FUNCTION_CALL" || reason == "UNEXPECTED_TOOL_CALL") {
    return FinishReason::kError;
  }
  return has_function_calls ? FinishReason::kToolCalls : FinishReason::kStop;
}

Status promptBlocked(std::string_view block_reason) {
  return Status(ErrorCode::kInvalidArgument,
                "Gemini blocked the prompt (promptFeedback.blockReason: " +
                    std::string(block_reason) + ")")
      .withErrorType("prompt_blocked");
}

Result<ChatResponse> decodeGenerateContentResponse(std::string_view body,
                                                   std::string_view id_seed) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return fail(ErrorCode::kUpstream, "upstream response is not valid JSON: " + ec.message());
  const json::object* o = root.if_object();
  if (o == nullptr) return fail(ErrorCode::kUpstream, "upstream response is not a JSON object");
  if (o->contains("error")) return fail(decodeUpstreamError(500, body));
  const json::value* cands = o->if_contains("candidates");
  const json::array* candidates = cands ? cands->if_array() : nullptr;
  if (candidates == nullptr || candidates->empty()) {
    if (const json::value* pf = o->if_contains("promptFeedback"); pf && pf->is_object()) {
      const std::string_view reason = stringOr(pf->get_object(), "blockReason");
      if (!reason.empty()) return fail(promptBlocked(reason));
    }
    return fail(ErrorCode::kUpstream, "response has no candidates");
  }
  ChatResponse res;
  res.id = std::string(stringOr(*o, "responseId"));
  res.model = std::string(stringOr(*o, "modelVersion"));
  const std::string seed = std::string(id_seed) + res.id;
  int call_index = 0;
  for (std::size_t ci = 0; ci < candidates->size(); ++ci) {
    const json::object* cand = (*candidates)[ci].if_object();
    if (cand == nullptr) continue;
    Choice& choice = res.choices.emplace_back();
    choice.index = cand->contains("index") ? static_cast<int>(upstreamCount(*cand, "index"))
                                           : static_cast<int>(ci);
    Message& m = choice.message;
    m.role = Role::kAssistant;
    std::string text;
    const json::value* content = cand->if_contains("content");
    const json::value* parts_v =
        content && content->is_object() ? content->get_object().if_contains("parts") : nullptr;
    if (parts_v != nullptr && parts_v->is_array()) {
      for (const auto& pv : parts_v->get_array()) {
        const json::object* p = pv.if_object();
        if (p == nullptr) continue;
        const std::string_view signature = stringOr(*p, "thoughtSignature");
        if (const json::value* fc = p->if_contains("functionCall"); fc && fc->is_object()) {
          const json::object& f = fc->get_object();
          ToolCall& call = m.tool_calls.emplace_back();
          call.name = std::string(stringOr(f, "name"));
          const json::value* args = f.if_contains("args");
          call.arguments = args != nullptr ? json::serialize(*args) : "{}";
          call.id = makeToolCallId(stringOr(f, "id"), seed, call_index++, signature);
          continue;
        }
        if (!signature.empty()) m.reasoning_signature = std::string(signature);
        const json::value* tv = p->if_contains("text");
        if (tv == nullptr || !tv->is_string()) continue;
        const json::value* thought = p->if_contains("thought");
        if (thought != nullptr && thought->is_bool() && thought->get_bool()) {
          m.reasoning_content += tv->get_string();
        } else {
          text += tv->get_string();
        }
      }
    }
    if (!text.empty() || m.tool_calls.empty()) {
      m.content_form = Message::ContentForm::kString;
      m.content.emplace_back().text = std::move(text);
    } else {
      m.content_form = Message::ContentForm::kNull;
    }
    choice.finish_reason =
        finishReasonFromGemini(stringOr(*cand, "finishReason"), !m.tool_calls.empty());
  }
  if (const json::value* u = o->if_contains("usageMetadata"); u && u->is_object()) {
    res.usage = usageFromGemini(u->get_object());
  }
  return res;
}

// ---- errors ---------------------------------------------------------------------------------

namespace {

// "37s" / "1.5s" (google.protobuf.Duration in JSON) -> whole seconds, rounded up.
int durationSeconds(std::string_view d) {
  if (!d.ends_with('s')) return 0;
  d.remove_suffix(1);
  double v = 0;
  double scale = 0;
  for (char c : d) {
    if (c == '.') {
      scale = 1;
    } else if (c >= '0' && c <= '9') {
      if (scale > 0) {
        scale /= 10;
        v += (c - '0') * scale;
      } else {
        v = v * 10 + (c - '0');
      }
    } else {
      return 0;
    }
  }
  return static_cast<int>(std::ceil(v));
}

ErrorCode codeForRpcStatus(std::string_view status) {
  if (status == "INVALID_ARGUMENT" || status == "FAILED_PRECONDITION" ||
      status == "OUT_OF_RANGE") {
    return ErrorCode::kInvalidArgument;
  }
  if (status == "UNAUTHENTICATED") return ErrorCode::kUnauthenticated;
  if (status == "PERMISSION_DENIED") return ErrorCode::kPermissionDenied;
  if (status == "NOT_FOUND") return ErrorCode::kNotFound;
  if (status == "RESOURCE_EXHAUSTED") return ErrorCode::kRateLimited;
  if (status == "UNAVAILABLE") return ErrorCode::kUnavailable;
  if (status == "DEADLINE_EXCEEDED") return ErrorCode::kDeadlineExceeded;
  if (status == "INTERNAL" || status == "UNKNOWN") return ErrorCode::kUpstream;
  return ErrorCode::kOk;
}

}  // namespace

Status decodeUpstreamError(unsigned http_status, std::string_view body,
                           std::string_view retry_after_header) {
  std::string message;
  std::string rpc_status;
  int retry_after = 0;
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  // Gemini sometimes wraps the error in an array ([{"error":{...}}]).
  if (!ec && root.is_array() && !root.get_array().empty()) root = root.get_array()[0];
  if (!ec && root.is_object()) {
    const json::value* e = root.get_object().if_contains("error");
    if (e != nullptr && e->is_object()) {
      const json::object& eo = e->get_object();
      message = std::string(stringOr(eo, "message"));
      rpc_status = std::string(stringOr(eo, "status"));
      if (http_status == 200 || http_status == 0) {
        const std::int64_t code = upstreamCount(eo, "code");
        if (code >= 400 && code < 600) http_status = static_cast<unsigned>(code);
      }
      if (const json::value* details = eo.if_contains("details"); details && details->is_array()) {
        for (const auto& d : details->get_array()) {
          const json::object* dobj = d.if_object();
          if (dobj != nullptr && stringOr(*dobj, "@type").ends_with("google.rpc.RetryInfo")) {
            retry_after = durationSeconds(stringOr(*dobj, "retryDelay"));
          }
        }
      }
    }
  }
  if (message.empty()) {
    std::string_view text = body.substr(0, kMaxErrorBodyInMessage);
    for (unsigned char ch : text) message += ch < 0x20 ? ' ' : static_cast<char>(ch);
    if (message.empty()) message = "(empty body)";
  }
  if (http_status == 200 || http_status == 0) http_status = 500;
  ErrorCode code = errorCodeForHttpStatus(http_status);
  if (ErrorCode rpc = codeForRpcStatus(rpc_status); rpc != ErrorCode::kOk && http_status < 400) {
    code = rpc;
  }
  if (!retry_after_header.empty()) {
    int header_s = 0;
    for (char c : retry_after_header) {
      if (c < '0' || c > '9') {
        header_s = 0;
        break;
      }
      header_s = header_s * 10 + (c - '0');
    }
    if (header_s > 0) retry_after = header_s;
  }
  return Status(code, "upstream returned " + std::to_string(http_status) + ": " + message)
      .withErrorType(std::move(rpc_status))
      .withHttpStatus(static_cast<int>(http_status))
      .withRetryAfter(retry_after);
}

}  // namespace switchyard::api::gemini
