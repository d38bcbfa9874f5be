#pragma once
// Engine: one GGUF model served in-process by llama.cpp. Requests enter a bounded queue; one
// scheduler thread runs continuous batching over the sequences of a single llama_context
// (unified KV cache) and reports tokens through each request's callback.
//
// Thread-safety: every public method may be called from any thread. Callbacks (on_event,
// embedding `done`) run on the engine's own thread: they must not block and must not call
// back into the engine's destructor. This header includes nothing from llama.cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/engine/model_info.h"

namespace switchyard::engine {

// A LoRA adapter loaded with the model (a GGUF made by convert_lora_to_gguf.py or
// makeTinyLora). `scale` applies to requests that choose no adapters (GenerationRequest::lora
// unset), as llama-server's --lora does; 0 loads the adapter for requests that ask for it only.
struct LoraAdapterOptions {
  std::string name;
  std::string path;
  float scale = 1.0f;
};

inline constexpr int kGpuLayersAll = -1;
inline constexpr int kGpuLayersAuto = -2;

struct EngineOptions {
  std::string model_path;
  std::vector<LoraAdapterOptions> lora_adapters;
  int n_ctx = 4096;            // KV cells shared by all sequences; also the longest prompt + output
  int n_parallel = 4;          // sequences decoded together
  int n_batch = 512;           // tokens per llama_decode (generation tokens + prompt chunks)
  int n_threads = 0;           // 0: all cores
  // Layers whose weights and KV live on a GPU (CUDA builds; a CPU-only build has no GPU and
  // ignores it): kGpuLayersAuto fits as many as free device memory holds (llama-server's
  // default), kGpuLayersAll offloads every layer, N >= 0 the last N.
  int n_gpu_layers = kGpuLayersAuto;
  std::size_t max_queue = 64;  // requests waiting for a sequence; more are refused
  std::size_t host_cache_bytes = std::size_t{256} << 20;  // evicted KV kept in RAM; 0: none
  std::size_t min_cached_prefix = 32;  // shorter sequences are not worth keeping in host RAM
  // A prompt takes the KV of its longest prefix that any other sequence holds, running or idle,
  // instead of computing it: concurrent requests with one system prompt compute it once and hold
  // it once. Models with sliding-window attention or recurrent state do not share.
  bool share_prefixes = true;
  // When a request is admitted, idle sequences of at least min_cached_prefix tokens move to the
  // host cache (needs host_cache_bytes > 0) instead of staying in the context, where every prompt
  // chunk would attend over their cells too. Full-attention models only.
  bool park_idle = true;
  // Saving a sequence to the host cache copies its KV one run of adjacent cells at a time, per
  // layer and for K and V. On a GPU each copy is a synchronous device-to-host transfer, and a
  // sequence decoded together with others holds one cell per step, so saving it costs far more
  // than computing its tokens again (parking 8 such sequences of ~140 tokens added 600 ms to a
  // request's first token on an H100). A sequence is saved (parked or kept on eviction) only
  // when its runs average at least this many tokens. -1: 32 when layers are on a GPU, 0 (any)
  // on the CPU, where the copies are memcpy.
  int min_saved_run_tokens = -1;
  bool embeddings = false;    // also make an embedding context (embed())
  std::string chat_template;  // overrides the model's own template when not empty
  bool hash_file = true;      // sha256 of the model file for info()
  // Called during the model load with progress in [0, 1] (a CLI progress bar); on the loading
  // thread. Returning false aborts the load.
  std::function<bool(float)> on_load_progress;
};

struct SamplingParams {
  float temperature = 0.8f;     // <= 0: greedy
  float top_p = 0.95f;          // 1: off
  int top_k = 40;               // <= 0: off
  float min_p = 0.05f;          // 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int repeat_last_n = 64;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  std::optional<std::uint32_t> seed;                       // unset: a random seed
  std::vector<std::pair<std::int32_t, float>> logit_bias;  // token id -> added logit
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text
};

struct ChatMessage {
  std::string role;  // system, user, assistant, tool
  std::string content;
  std::string reasoning_content;
  std::vector<ToolCall> tool_calls;  // assistant turns that called tools
  std::string tool_call_id;          // tool results
  std::string name;                  // tool results: the tool's name
};

struct ToolDefinition {
  std::string name;
  std::string description;
  std::string parameters;  // JSON Schema text; empty: no arguments
};

enum class ToolChoice { kAuto, kNone, kRequired };

// One adapter of a request's adapter set: by EngineOptions::lora_adapters name, or (name empty)
// by position in that list, as llama-server's request field `lora: [{"id": 0, ...}]` does.
struct LoraSelection {
  std::string name;
  float scale = 1.0f;  // 0: off
  int id = -1;
};

struct GenerationRequest {
  // Either a conversation, rendered with the model's chat template, or a raw prompt (used when
  // `messages` is empty; tokenized with the model's BOS rules and special tokens parsed).
  std::vector<ChatMessage> messages;
  std::string raw_prompt;

  std::vector<ToolDefinition> tools;
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::string tool_choice_name;  // force this one tool (implies kRequired)
  bool parallel_tool_calls = false;

  std::string json_schema;      // JSON Schema text: output is grammar-constrained to it
  bool json_object = false;     // any JSON object (OpenAI's response_format json_object)
  bool enable_thinking = true;  // templates that support a thinking switch

  SamplingParams sampling;
  // >= 0: report each generated token's log-probability (TokenLogprob) with this many of the
  // most likely tokens at its step (at most kMaxTopLogprobs); < 0: none.
  int logprobs = -1;
  // Also report the prompt's own tokens (EngineEvent::prompt_logprobs): each one's
  // log-probability given the tokens before it, with max(logprobs, 0) alternatives, as the
  // legacy completions' echo with logprobs does (how evaluation harnesses score answers). The
  // prompt is then computed whole: no cached prefix is reused, and its chunks are shorter.
  bool prompt_logprobs = false;
  // < 0: until EOS or the context is full; 0 (with prompt_logprobs only): the prompt is scored
  // and nothing generated.
  int max_tokens = -1;
  std::vector<std::string> stop;
  bool ignore_eos = false;  // benchmarks: generate exactly max_tokens

  // The LoRA adapters to run with. Unset: every adapter at its EngineOptions scale; set: exactly
  // these (an empty list is the base model). Sequences are decoded only with others of the same
  // set, and prompt-cache reuse never crosses sets. An unknown name is kInvalidArgument.
  std::optional<std::vector<LoraSelection>> lora;
};

inline constexpr int kMaxTopLogprobs = 20;

// A generated token's log-probability under the model: the log-softmax of the step's raw
// logits, before any sampler (temperature, penalties, grammar) changed them, as llama-server
// and OpenAI report it; with the most likely tokens of that step.
struct TokenLogprob {
  std::string token;  // its text: bytes, possibly part of a UTF-8 character
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;  // most likely first

  bool operator==(const TokenLogprob&) const = default;
};

enum class FinishReason { kNone, kStop, kLength, kToolCalls, kCancelled };
std::string_view finishReasonName(FinishReason reason);  // "stop", "length", "tool_calls", ...

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;  // prompt tokens whose KV was reused rather than computed
};

struct Timings {
  double queue_ms = 0;            // enqueue -> a sequence was assigned
  double prompt_ms = 0;           // assigned -> first token sampled (prompt processing)
  double decode_ms = 0;           // first token -> done
  int prompt_tokens_decoded = 0;  // prompt tokens actually computed (prompt - cached)
};

struct ToolCallDelta {
  int index = 0;
  std::string id;         // set on the first delta of a call
  std::string name;       // set on the first delta of a call
  std::string arguments;  // appended JSON text
};

struct EngineEvent {
  enum class Kind { kToken, kDone, kError };
  Kind kind = Kind::kToken;
  std::string text;                                  // content delta (kToken)
  std::string reasoning_text;                        // reasoning delta (kToken)
  std::vector<ToolCallDelta> tool_calls;             // (kToken)
  // (kToken, when asked) the tokens whose text this event completes, in order; those of a stop
  // string, whose text is never sent, are left out, and so is the end-of-generation token.
  std::vector<TokenLogprob> logprobs;
  // (the first event, when GenerationRequest::prompt_logprobs) one per prompt token, in order;
  // the first token's logprob is NaN (nothing comes before it) and it has no alternatives.
  std::vector<TokenLogprob> prompt_logprobs;
  FinishReason finish_reason = FinishReason::kNone;  // (kDone)
  // (kDone, kStop) the request's own stop string that ended it (GenerationRequest::stop); empty
  // when the model ended its turn or a stop string of the chat template matched.
  std::string stop_sequence;
  Usage usage;                                       // running on kToken, final on kDone
  Timings timings;                                   // (kDone)
  Status error;                                      // (kError)
  // The caller's own mark, set by its callback (which of several requests of one client call
  // this event belongs to); the engine leaves it 0.
  std::uint32_t tag = 0;
};

// Every accepted request gets exactly one terminal event, kDone or kError, after which its
// callback is never called again.
using EventCallback = std::function<void(EngineEvent&&)>;

using Embeddings = std::vector<std::vector<float>>;
using EmbeddingCallback = std::function<void(Result<Embeddings>)>;
// Relevance scores of documents to a query, in document order (rerank()).
using Scores = std::vector<float>;
using ScoresCallback = std::function<void(Result<Scores>)>;

struct EngineStats {
  std::size_t queued = 0;  // waiting for a sequence
  std::size_t active = 0;  // holding a sequence
  std::size_t host_cache_entries = 0;
  std::size_t host_cache_bytes = 0;
  std::uint64_t requests_done = 0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t cached_tokens = 0;
  std::uint64_t shared_prefix_tokens = 0;  // of cached_tokens: taken from another sequence's KV
  std::uint64_t completion_tokens = 0;
  std::uint64_t decode_calls = 0;
  std::uint64_t lora_switches = 0;  // times the context's adapter set changed
  std::uint64_t prompt_cache_hits = 0;  // finished requests that reused cached prompt tokens
  std::uint64_t tokens_generated = 0;   // sampled tokens, counted as they are generated
  std::size_t kv_cells_used = 0;        // KV cells holding tokens (a shared cell once)
  std::size_t kv_cells_total = 0;       // the generation context's size (0: embeddings only)
  // Engine-thread time in generation steps: whole steps, of which the model's forward pass
  // (llama_decode until the device is done) and sampling the steps' tokens; the rest is the
  // engine's own scheduling and bookkeeping.
  double step_seconds = 0;
  double decode_seconds = 0;
  double sample_seconds = 0;
};

class Engine {
 public:
  // Loads the model, its LoRA adapters and makes the context(s); a missing or corrupt file (model
  // or adapter), or an adapter made for another model, is an error naming it.
  static Result<std::unique_ptr<Engine>> create(EngineOptions options);

  // Cancels everything still running (their callbacks get kDone/kCancelled) and joins the thread.
  ~Engine();

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates, renders and tokenizes the request on the calling thread, so bad input (a prompt
  // longer than the context, a broken JSON schema) is an error here rather than an event.
  // kUnavailable (with Retry-After) when max_queue requests are already waiting.
  Result<std::uint64_t> enqueue(GenerationRequest request, EventCallback on_event);

  // Stops a request wherever it is (queued or generating); its slot is free for the next step.
  // Unknown or finished ids are ignored.
  void cancel(std::uint64_t id);

  // Embeddings of `texts` (pooled per the model, L2-normalised). Requires options.embeddings.
  // The async form runs on the engine thread between decode steps; the blocking form waits for
  // it and must not be called from an engine callback.
  Status embedAsync(std::vector<std::string> texts, EmbeddingCallback done);
  Result<Embeddings> embed(std::vector<std::string> texts);

  // Relevance of each document to `query`, as llama-server's /v1/rerank computes it: the model's
  // rank-pooled output (pooling type rank: a cross-encoder with a classification head, such as
  // bge-reranker or a Qwen3 reranker) for the pair, laid out by the model's "rerank" chat
  // template when it has one, else [BOS] query [EOS] [SEP] document [EOS]. Raw scores, not
  // normalised; higher is more relevant. Requires options.embeddings and a rank model (else
  // kUnprocessable). Runs on the engine thread like embedAsync; the blocking form waits for it.
  Status rerankAsync(std::string query, std::vector<std::string> documents, ScoresCallback done);
  Result<Scores> rerank(std::string query, std::vector<std::string> documents);
  // Whether the embedding context pools with rank (the model is a reranker).
  bool isReranker() const;

  // Chat-rendered token count of a request, as enqueue would compute it.
  Result<int> countPromptTokens(const GenerationRequest& request);

  // The model's tokens for `text` (special tokens parsed; BOS only with add_special), e.g. to
  // translate OpenAI logit_bias keys or count tokens.
  Result<std::vector<std::int32_t>> tokenize(const std::string& text, bool add_special = false);

  const ModelInfo& info() const;
  const EngineOptions& options() const;
  EngineStats stats() const;

 private:
  class Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::engine
