#pragma once
// Model tools: make a tiny random-weight GGUF with a real tokenizer and chat template (tests,
// the embedded default, benchmarks), read a GGUF's metadata, and quantize. Free functions,
// safe to call from any thread; each call does blocking file I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/engine/model_info.h"

namespace switchyard::engine {

// A question a memorizing model answers (TinyModelSpec::memorize).
struct QuestionAnswer {
  std::string question;  // the whole user message
  std::string answer;
};

struct TinyModelSpec {
  // A llama.cpp vocab file (models/ggml-vocab-*.gguf): every key except the source model's own
  // hyper-parameters is copied, so the tokenizer and chat template are real.
  std::string vocab_path;
  std::string arch = "qwen2";  // llama.cpp architecture name: qwen2, qwen3, llama or olmo2
  int n_layer = 2;
  int n_embd = 64;
  int n_head = 4;
  int n_head_kv = 2;
  int n_ff = 128;
  int n_ctx_train = 4096;
  // Sliding-window attention over this many tokens (olmo2 only: OLMo 3's layout, every fourth
  // layer full attention); 0: none. Tests of the engine's sliding-window handling use it.
  int sliding_window = 0;
  std::uint64_t seed = 42;
  float init_stddev = 0.02f;        // weights are N(0, stddev); norms are 1, biases 0
  std::string weight_type = "f32";  // "f32" or "f16": type of the 2-D weight matrices
  std::string chat_template;        // replaces the vocab file's template when not empty
  // Written over the vocab's unused "[PAD…]" slots, in order, as user-defined tokens: e.g.
  // Qwen2.5's "<tool_call>" and "</tool_call>", which the qwen2 vocab file predates.
  std::vector<std::string> added_tokens;
  std::string name = "switchyard-tiny";
  std::string out_path;
  // A reranker (qwen3 only), laid out like a converted Qwen3-Reranker: pooling type rank, a
  // two-label ("yes", "no") classification head (cls_out) and a "rerank" chat template. It
  // scores pairs (Engine::rerank) and does not generate.
  bool reranker = false;
  // Not empty: instead of random weights, a lookup built by hand (see memorizing_model.h) that
  // answers each question, asked alone as a user message, with its answer and then ends its
  // turn; any other question gets `fallback_answer` (when not empty). Greedy decoding gives
  // exactly these texts, so tests can assert content. Architectures qwen2 and llama; the
  // dimensions must hold the tokens (an error says how many are needed).
  std::vector<QuestionAnswer> memorize;
  std::string fallback_answer;
};

// The "rerank" chat template a tiny reranker carries ({query} and {document} are replaced).
inline constexpr const char* kTinyRerankTemplate =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query "
    "and the Instruct provided. Note that the answer can only be \"yes\" or \"no\"."
    "<|im_end|>\n<|im_start|>user\n<Query>: {query}\n<Document>: {document}<|im_end|>\n"
    "<|im_start|>assistant\n";

// Writes spec.out_path (through a temporary file beside it, renamed at the end).
Result<void> makeTinyModel(const TinyModelSpec& spec);

struct TinyLoraSpec {
  std::string base_path;  // a model made by makeTinyModel (any GGUF whose tensors are named alike)
  int rank = 8;
  float alpha = 0.0f;  // adapter.lora.alpha; 0: the rank, so scale 1 is an unscaled B·A
  std::uint64_t seed = 7;
  // lora_b ~ N(0, b_stddev), lora_a ~ N(0, 1/sqrt(n_in)): large enough against makeTinyModel's
  // 0.02 weights that greedy output changes.
  float b_stddev = 0.1f;
  // Base tensors to adapt (blk.N.<target>.weight, or <target>.weight); missing ones are skipped.
  std::vector<std::string> targets = {"attn_q",   "attn_k", "attn_v",   "attn_output",
                                      "ffn_gate", "ffn_up", "ffn_down", "output"};
  std::string name = "switchyard-tiny-lora";
  std::string out_path;
};

// Writes a LoRA adapter GGUF (general.type=adapter, adapter.type=lora, <tensor>.lora_a/.lora_b
// in F32) for the base model's architecture and shapes, through a temporary file beside
// spec.out_path. kNotFound for a missing base, kInvalidArgument when no target tensor exists.
Result<void> makeTinyLora(const TinyLoraSpec& spec);

// Reads metadata and tensor shapes from the GGUF header (no weights are loaded) and, with
// `hash_file`, hashes the whole file (seconds for a large model). kNotFound for a missing file,
// kInvalidArgument for one that is not a GGUF model.
Result<ModelInfo> inspectModel(const std::string& path, bool hash_file = true);

// Ok when `path` is a regular file this process can read; otherwise an error that says which of
// missing, a directory (or other non-file) and unreadable it is, naming the path.
Status checkModelFile(const std::string& path);

// Quantizes `in` into `out`. `type` is case-insensitive: q8_0, q4_0, q4_k_m, f16, ... (see
// quantizationTypes()); an unknown type is kInvalidArgument naming the known ones.
Result<void> quantizeModel(const std::string& in, const std::string& out, std::string_view type,
                           int n_threads = 0);

// Lower-case names accepted by quantizeModel, in a stable order.
std::vector<std::string> quantizationTypes();

// Hex SHA-256 of a file's contents.
Result<std::string> sha256File(const std::string& path);

}  // namespace switchyard::engine
