#pragma once
// Native request/response types, independent of any wire format. Codecs in api/<format>/
// translate between these and JSON; nothing past the api/ edge looks at client JSON.
// Plain value types: thread-compatible.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace switchyard::api {

enum class Role { kSystem, kDeveloper, kUser, kAssistant, kTool };

struct ContentPart {
  enum class Kind { kText, kImage, kOther };
  Kind kind = Kind::kText;
  std::string text;          // kText
  std::string image_url;     // kImage: https URL or data: URI
  std::string image_detail;  // kImage: "auto" | "low" | "high" | ""
  boost::json::value raw;    // kOther: the part verbatim (input_audio, file, ...)
  // Anthropic prompt-caching marker ({"type":"ephemeral"}), verbatim; null when absent. Only
  // the Anthropic encoder writes it.
  boost::json::value cache_control;

  bool operator==(const ContentPart&) const = default;
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text exactly as the model produced it
  boost::json::value cache_control;  // Anthropic tool_use block's marker; null when absent

  bool operator==(const ToolCall&) const = default;
};

struct Message {
  // How `content` was written, so a round trip re-encodes it the same way.
  enum class ContentForm { kString, kParts, kNull };

  Role role = Role::kUser;
  ContentForm content_form = ContentForm::kString;
  std::vector<ContentPart> content;  // kString: exactly one kText part
  std::string name;
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool
  std::string reasoning_content;     // assistant, when the model separates its reasoning
  // Anthropic signs its thinking and wants it back verbatim on the next turn; redacted
  // thinking is opaque encrypted data. Only the Anthropic codec reads or writes these.
  std::string reasoning_signature;
  std::vector<std::string> redacted_reasoning;
  bool tool_error = false;           // tool: the result reports a failure (Anthropic is_error)
  boost::json::value cache_control;  // tool: Anthropic tool_result block's marker
  std::optional<std::string> refusal;
  // Message fields we do not model (e.g. legacy `function_call`), kept verbatim.
  boost::json::object extra;

  // Concatenated text of all text parts.
  std::string text() const;

  bool operator==(const Message&) const = default;
};

struct ToolDef {
  std::string name;
  std::string description;
  boost::json::value parameters;  // JSON Schema; null when absent
  std::optional<bool> strict;
  boost::json::value cache_control;  // Anthropic prompt-caching marker; null when absent
  // A provider-defined tool (Anthropic's web_search_20250305, bash_20250124, ...), verbatim;
  // null for ordinary function tools. Only providers of that format can serve it.
  boost::json::value native;

  bool operator==(const ToolDef&) const = default;
};

struct ToolChoice {
  enum class Mode { kUnset, kAuto, kNone, kRequired, kFunction };
  Mode mode = Mode::kUnset;
  std::string function_name;  // kFunction

  bool operator==(const ToolChoice&) const = default;
};

struct ResponseFormat {
  enum class Kind { kUnset, kText, kJsonObject, kJsonSchema };
  Kind kind = Kind::kUnset;
  std::string schema_name;
  boost::json::value schema;  // kJsonSchema
  std::optional<bool> strict;
  std::string schema_description;

  bool operator==(const ResponseFormat&) const = default;
};

// Extended thinking (Anthropic's `thinking`). OpenAI-style upstreams get reasoning_effort.
struct ThinkingConfig {
  enum class Mode { kUnset, kEnabled, kDisabled };
  Mode mode = Mode::kUnset;
  std::int64_t budget_tokens = 0;  // kEnabled

  bool operator==(const ThinkingConfig&) const = default;
};

struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  std::vector<ToolDef> tools;
  ToolChoice tool_choice;
  std::optional<bool> parallel_tool_calls;
  ResponseFormat response_format;

  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<double> frequency_penalty;
  std::optional<double> presence_penalty;
  std::optional<std::int64_t> max_tokens;
  bool max_tokens_is_completion = false;  // sent as max_completion_tokens
  std::optional<std::int64_t> seed;
  std::optional<int> n;
  std::vector<std::string> stop;
  boost::json::object logit_bias;
  std::optional<bool> logprobs;
  std::optional<int> top_logprobs;
  std::string reasoning_effort;
  ThinkingConfig thinking;
  std::string user;
  boost::json::object metadata;

  // Sampling extensions that vLLM, llama-server and our local engine accept.
  std::optional<int> top_k;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;

  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage

  // Every field we do not model, kept verbatim and forwarded to OpenAI-compatible upstreams.
  boost::json::object extra;

  bool operator==(const ChatRequest&) const = default;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  std::int64_t cached_tokens = 0;       // prompt tokens served from a prompt cache
  std::int64_t cache_write_tokens = 0;  // prompt tokens written to a prompt cache
  std::int64_t reasoning_tokens = 0;    // completion tokens spent reasoning

  bool operator==(const Usage&) const = default;
};

// a + b for token counts that come from outside (an upstream may send any int64): saturates at
// int64's limits instead of overflowing.
inline std::int64_t addTokens(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<std::int64_t>::max()
               : std::numeric_limits<std::int64_t>::min();
}

enum class FinishReason { kNone, kStop, kLength, kToolCalls, kContentFilter, kError };

struct Choice {
  int index = 0;
  Message message;  // role kAssistant
  FinishReason finish_reason = FinishReason::kNone;
  std::string stop_sequence;    // kStop: the stop sequence that matched, when known
  boost::json::value logprobs;  // verbatim; null when absent

  bool operator==(const Choice&) const = default;
};

struct ChatResponse {
  std::string id;
  std::string model;
  std::int64_t created = 0;
  std::vector<Choice> choices;
  std::optional<Usage> usage;
  std::string system_fingerprint;
  std::string service_tier;
  // The upstream's JSON body as received, set by providers whose upstream answered in OpenAI's
  // chat format: a response nothing edits is relayed byte for byte, fields this type does not
  // model included, and without encoding it again. Whoever edits a decoded response clears it.
  std::string upstream_json;

  bool operator==(const ChatResponse&) const = default;
};

struct ToolCallDelta {
  int index = 0;
  std::string id;         // first delta of a call only
  std::string name;       // first delta of a call only
  std::string arguments;  // a fragment of the JSON text

  bool operator==(const ToolCallDelta&) const = default;
};

struct ChoiceDelta {
  int index = 0;
  std::optional<Role> role;
  std::optional<std::string> content;
  std::optional<std::string> reasoning_content;
  std::optional<std::string> reasoning_signature;  // Anthropic signature_delta
  std::optional<std::string> redacted_reasoning;   // one whole redacted_thinking block
  std::optional<std::string> refusal;
  std::vector<ToolCallDelta> tool_calls;
  FinishReason finish_reason = FinishReason::kNone;
  std::string stop_sequence;  // with finish_reason kStop, when known
  boost::json::value logprobs;

  bool operator==(const ChoiceDelta&) const = default;
};

struct ChatChunk {
  std::string id;
  std::string model;
  std::int64_t created = 0;
  std::vector<ChoiceDelta> choices;  // empty on the final usage-only chunk
  std::optional<Usage> usage;
  // Usage as the provider knows it when the stream's first chunk leaves, for the APIs that report
  // the prompt's part at the start (Anthropic's message_start reads its prompt side). Not part
  // of an OpenAI chunk: `usage` stays the final count.
  std::optional<Usage> prompt_usage;
  std::string system_fingerprint;
  // The upstream's event payload this chunk was read from, when the upstream streamed OpenAI's
  // chat format, for relaying it unchanged; valid only during the onChunk call that delivers
  // the chunk. A sink that edits a chunk clears it in its copy.
  std::string_view upstream_json;

  bool operator==(const ChatChunk&) const = default;
};

// Legacy text completions (/v1/completions).
struct CompletionRequest {
  std::string model;
  boost::json::value prompt;  // string, array of strings, or token arrays: kept verbatim
  std::optional<std::int64_t> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> seed;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
  boost::json::object extra;

  bool operator==(const CompletionRequest&) const = default;
};

struct CompletionChoice {
  int index = 0;
  std::string text;
  FinishReason finish_reason = FinishReason::kNone;
  boost::json::value logprobs;

  bool operator==(const CompletionChoice&) const = default;
};

// Used for both the whole response and stream chunks (the wire shape is the same).
struct CompletionResponse {
  std::string id;
  std::string model;
  std::int64_t created = 0;
  std::vector<CompletionChoice> choices;
  std::optional<Usage> usage;
  std::string system_fingerprint;

  bool operator==(const CompletionResponse&) const = default;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> texts;          // when input is a string or array of strings
  boost::json::value token_input;          // when input is token ids: kept verbatim
  std::string encoding_format;             // "" (float), "float" or "base64"
  std::optional<int> dimensions;
  std::string user;
  boost::json::object extra;

  std::size_t inputCount() const;

  bool operator==(const EmbeddingRequest&) const = default;
};

struct EmbeddingResponse {
  std::string model;
  std::vector<std::vector<float>> embeddings;  // in input order
  Usage usage;

  bool operator==(const EmbeddingResponse&) const = default;
};

// Reranking (POST /v1/rerank, the Jina / Cohere shape llama-server serves): each document scored
// for relevance to the query by a cross-encoder. Ordering and top_n are the caller's.
struct RerankRequest {
  std::string model;
  std::string query;
  std::vector<std::string> documents;

  bool operator==(const RerankRequest&) const = default;
};

struct RerankResponse {
  std::string model;
  std::vector<double> scores;  // one per document, in document order; higher is more relevant
  Usage usage;

  bool operator==(const RerankResponse&) const = default;
};

std::string_view roleName(Role role);
std::optional<Role> parseRole(std::string_view name);
std::string_view finishReasonName(FinishReason reason);  // "" for kNone
FinishReason parseFinishReason(std::string_view name);

}  // namespace switchyard::api
