#pragma once
// Ollama's native API wire format (/api/chat, /api/generate, /api/embed, /api/embeddings,
// /api/tags, /api/show, /api/ps, /api/version) <-> native api types, client side only: any
// provider can answer an Ollama client. Decoders validate client input (Status with `param`
// naming the field); encoders never fail. See docs/ollama.md for the mapping.
// Stateless free functions: thread-safe. The NDJSON stream encoder lives in ollama_stream.h.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/json_writer.h"
#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::ollama {

// What the gateway measured, for Ollama's *_duration fields (nanoseconds). load is the wait for
// a local model that had to be loaded for the request (0 otherwise, and for APIs). prompt_eval and
// eval are the engine's own phases for a local model; for an API, the wait for the first streamed
// token and the rest of the answer, or (not streamed) eval is the whole upstream call.
struct Timings {
  std::int64_t total_ns = 0;
  std::int64_t load_ns = 0;
  std::int64_t prompt_eval_ns = 0;
  std::int64_t eval_ns = 0;
};

// Ollama's keep_alive: how long a local model stays loaded after the request. nullopt: not sent
// (the configured idle time applies again, as in Ollama); zero: unload it once idle; negative:
// keep it until its memory is needed.
using KeepAlive = std::optional<std::chrono::milliseconds>;

// A keep_alive string as Go's time.ParseDuration reads it ("5m", "1h30m", "1.5s", "-1m", "0";
// units ns, us, µs, ms, s, m, h), or a bare number of seconds ("300", as OLLAMA_KEEP_ALIVE
// allows). Sub-millisecond parts round up; kInvalidArgument naming keep_alive otherwise.
[[nodiscard]] Result<std::chrono::milliseconds> parseKeepAlive(std::string_view text);

// POST /api/generate. Not raw: a chat request with the system prompt and one user message
// (prompt + images), which the provider templates as Ollama would. Raw: a text completion of
// the prompt verbatim.
struct GenerateRequest {
  bool raw = false;
  ChatRequest chat;              // !raw
  CompletionRequest completion;  // raw
  // An empty prompt only loads the model, as in Ollama (a local model is loaded; an upstream
  // one needs nothing) and answers done_reason "load"; with keep_alive 0 it unloads ("unload").
  bool load_only = false;
  KeepAlive keep_alive;
};

// ---- client -> gateway ----------------------------------------------------------------------

// POST /api/chat. `stream` defaults to true (Ollama streams unless told not to); streams ask
// for usage. Tool-call `arguments` are JSON objects (strings are accepted as JSON text).
// Assistant tool calls without an id get `call_<n>`; a tool message without tool_call_id
// answers the oldest unanswered call (of its `tool_name` when given). `options` are mapped
// (docs/ollama.md); runtime-only options (num_ctx, num_thread, ...) are accepted and have no
// effect; other unknown options are rejected naming the option.
[[nodiscard]] Result<ChatRequest> decodeChatRequest(std::string_view body,
                                                    KeepAlive* keep_alive = nullptr);
// POST /api/generate. `suffix`, `template` and `context` are rejected (no equivalent); raw
// rejects `system`, `images` and `format`.
[[nodiscard]] Result<GenerateRequest> decodeGenerateRequest(std::string_view body);
// POST /api/embed: `input` a string or an array of strings.
[[nodiscard]] Result<EmbeddingRequest> decodeEmbedRequest(std::string_view body,
                                                          KeepAlive* keep_alive = nullptr);
// POST /api/embeddings (legacy): `prompt`, one string.
[[nodiscard]] Result<EmbeddingRequest> decodeEmbeddingsRequest(std::string_view body,
                                                               KeepAlive* keep_alive = nullptr);
// POST /api/show: the model name (`model`, or the legacy `name`).
[[nodiscard]] Result<std::string> decodeShowRequest(std::string_view body);

// POST /api/pull: the model name (as for /api/show) and `stream` (default true).
struct PullRequest {
  std::string model;
  bool stream = true;
};
[[nodiscard]] Result<PullRequest> decodePullRequest(std::string_view body);

// ---- gateway -> client ----------------------------------------------------------------------

// "stop", "length" (and "load" / "unload" for model-load probes). Tool calls end with "stop" as
// in Ollama.
std::string_view doneReason(FinishReason reason);
// RFC 3339 in UTC with nanoseconds, as Ollama writes created_at: 2023-08-04T19:22:45.499127Z.
std::string formatTimestamp(std::chrono::system_clock::time_point t);

// `model` is the name the client asked for (Ollama echoes it).
std::string encodeChatResponse(const ChatResponse& response, std::string_view model,
                               std::string_view created_at, const Timings& timings);
// An assistant `message` object; tool calls with `arguments` as JSON objects.
void appendMessage(JsonWriter& w, std::string_view content, std::string_view thinking,
                   const std::vector<ToolCall>& calls);
// The one-object answer of /api/generate (and of a model-load probe: empty text, "load").
std::string encodeGenerateResponse(std::string_view model, std::string_view created_at,
                                   std::string_view text, std::string_view thinking,
                                   std::string_view done_reason, const Usage& usage,
                                   const Timings& timings,
                                   const boost::json::value& logprobs = nullptr);
// A choice's logprobs as OpenAI shapes them (chat's {"content": [...]}, or the legacy
// completions' parallel arrays) in Ollama's form: [{token, logprob, bytes, top_logprobs:
// [{token, logprob, bytes}]}]; null when there are none.
boost::json::value toOllamaLogprobs(const boost::json::value& openai);
// The answer to /api/chat with no messages: Ollama's model-load probe (done_reason "load"), or
// with keep_alive 0 its unload request ("unload").
std::string encodeChatLoadResponse(std::string_view model, std::string_view created_at,
                                   std::string_view done_reason = "load");
std::string encodeEmbedResponse(const EmbeddingResponse& response, std::string_view model,
                                const Timings& timings);
std::string encodeEmbeddingsResponse(const EmbeddingResponse& response);
// {"error":"..."}; the HTTP status comes from api::httpStatusFor.
std::string encodeError(const Status& status);
std::string encodeError(std::string_view message);

// What the gateway knows about one public model name.
struct ModelInfo {
  std::string name;            // the public name (route, alias, model id, provider/model)
  std::string provider;        // provider serving it
  std::string provider_kind;   // openai, local, anthropic, ...
  std::string upstream_model;  // the provider's model id
  std::string format;          // "gguf" for local models, "" otherwise
  std::int64_t context_window = 0;
  bool embedding = false;  // known to serve embeddings
  // Local GGUF models (from the file's header): architecture ("qwen2"), parameter count,
  // quantization as Ollama names it ("Q4_K_M"), file size. Empty/0 for other providers.
  std::string family;
  std::uint64_t parameter_count = 0;
  std::string quantization_level;
  std::uint64_t size_bytes = 0;
  std::int64_t context_length = 0;    // the context it was trained for (GGUF), 0 if unknown
  std::int64_t embedding_length = 0;  // its hidden size (GGUF), 0 if unknown
  std::string chat_template;          // the GGUF's Jinja chat template, may be empty
  std::string digest;  // the GGUF file's SHA-256 (hex) once its engine has read it, else ""
};

// 494032768 -> "494.03M", 7615616512 -> "7.6B", as Ollama writes parameter sizes.
std::string parameterSize(std::uint64_t parameters);
// llama.cpp's file type name ("Q4_K - Medium", "Q8_0", "all F32") -> Ollama's ("Q4_K_M",
// "Q8_0", "F32").
std::string quantizationLevel(std::string_view file_type);

// GET /api/tags. `modified_at` is when the gateway loaded its configuration.
std::string encodeTags(const std::vector<ModelInfo>& models, std::string_view modified_at);
// POST /api/show. model_info carries the keys Ollama's own answer has (and `ollama show`
// prints): general.architecture, general.parameter_count, <arch>.context_length and
// <arch>.embedding_length (a local GGUF's header); general.context_length is the window the
// gateway serves; switchyard.* say where the name routes. `template` is the model's Jinja chat
// template (Ollama's would be a Go template).
std::string encodeShow(const ModelInfo& model, std::string_view modified_at);
// A local model loaded in memory now, under one of its public names (GET /api/ps).
struct RunningModel {
  const ModelInfo* model = nullptr;                  // its listing entry
  std::string digest;                                // sha256 of the GGUF file (hex), may be empty
  std::uint64_t size_bytes = 0;                      // its weights in memory
  std::uint64_t vram_bytes = 0;                      // of them on GPUs
  std::int64_t context_length = 0;                   // KV cells of its context
  std::chrono::system_clock::time_point expires_at;  // when it unloads if nobody uses it
};
// GET /api/ps: the local models loaded now (a gateway cannot see which upstream models are).
std::string encodePs(const std::vector<RunningModel>& models);
std::string encodeVersion(std::string_view version);

}  // namespace switchyard::api::ollama
