#include "switchyard/engine/model_maker.h"

#include <ggml-backend.h>
#include <ggml.h>
#include <gguf.h>
#include <llama.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numbers>
#include <random>
#include <string_view>
#include <system_error>
#include <utility>

#include "switchyard/core/log.h"
#include "switchyard/core/strings.h"
#include "switchyard/engine/llama_runtime.h"
#include "switchyard/engine/memorizing_model.h"

namespace switchyard::engine {
namespace {

namespace fs = std::filesystem;

struct GgufDeleter {
  void operator()(gguf_context* ctx) const { gguf_free(ctx); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;

struct GgmlDeleter {
  void operator()(ggml_context* ctx) const { ggml_free(ctx); }
};
using GgmlPtr = std::unique_ptr<ggml_context, GgmlDeleter>;

struct ModelDeleter {
  void operator()(llama_model* model) const { llama_model_free(model); }
};

// Deterministic across platforms (std::hash and std::normal_distribution are not specified).
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1].
  double uniform() { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

struct FillState {
  std::uint64_t seed = 0;
  float stddev = 0.02f;
  std::string error;                  // first failure; the callback cannot return one
  std::vector<ggml_tensor*> tensors;  // in creation order, owned by the model
};

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Writes `values` (one per element) into `tensor` as its type; the first failure goes to `error`.
void setTensor(ggml_tensor* tensor, const std::vector<float>& values, std::string& error) {
  if (tensor->type == GGML_TYPE_F32) {
    ggml_backend_tensor_set(tensor, values.data(), 0, ggml_nbytes(tensor));
  } else if (tensor->type == GGML_TYPE_F16) {
    std::vector<ggml_fp16_t> half(values.size());
    ggml_fp32_to_fp16_row(values.data(), half.data(), ggml_nelements(tensor));
    ggml_backend_tensor_set(tensor, half.data(), 0, ggml_nbytes(tensor));
  } else if (error.empty()) {
    error = std::string("cannot fill tensor ") + tensor->name + " of type " +
            ggml_type_name(tensor->type);
  }
}

// Called by llama_model_init_from_user for every tensor the architecture creates.
void fillTensor(ggml_tensor* tensor, void* user_data) {
  auto& state = *static_cast<FillState*>(user_data);
  state.tensors.push_back(tensor);
  const std::string_view name(tensor->name);
  const std::int64_t n = ggml_nelements(tensor);
  std::vector<float> values(static_cast<std::size_t>(n));
  if (endsWith(name, "norm.weight")) {
    std::ranges::fill(values, 1.0f);
  } else if (endsWith(name, ".bias")) {
    std::ranges::fill(values, 0.0f);
  } else {
    SplitMix64 rng(state.seed ^ fnv1a(name));
    // Box-Muller, two normals per pair of uniforms.
    for (std::int64_t i = 0; i < n; i += 2) {
      const double r = std::sqrt(-2.0 * std::log(rng.uniform()));
      const double theta = 2.0 * std::numbers::pi * rng.uniform();
      values[i] = static_cast<float>(r * std::cos(theta)) * state.stddev;
      if (i + 1 < n) values[i + 1] = static_cast<float>(r * std::sin(theta)) * state.stddev;
    }
  }
  setTensor(tensor, values, state.error);
}

Status validateSpec(const TinyModelSpec& spec) {
  auto bad = [](std::string msg) { return Status(ErrorCode::kInvalidArgument, std::move(msg)); };
  if (spec.out_path.empty()) return bad("tiny model: out_path is empty");
  if (!spec.memorize.empty() && spec.arch != "qwen2" && spec.arch != "llama") {
    return bad("tiny model: a memorizing model needs arch qwen2 or llama, not '" + spec.arch + "'");
  }
  if (!spec.memorize.empty() && spec.reranker) {
    return bad("tiny model: a reranker cannot be a memorizing model");
  }
  if (spec.arch != "qwen2" && spec.arch != "qwen3" && spec.arch != "llama" &&
      spec.arch != "olmo2") {
    return bad("tiny model: unsupported architecture '" + spec.arch +
               "' (supported: qwen2, qwen3, llama, olmo2)");
  }
  if (spec.sliding_window < 0 || (spec.sliding_window > 0 && spec.arch != "olmo2")) {
    return bad("tiny model: a sliding window needs arch olmo2 and a positive size");
  }
  if (spec.reranker && spec.arch != "qwen3") {
    return bad("tiny model: a reranker must be qwen3 (llama.cpp's rank head for decoder models)");
  }
  if (spec.n_layer < 1 || spec.n_embd < 1 || spec.n_head < 1 || spec.n_head_kv < 1 ||
      spec.n_ff < 1 || spec.n_ctx_train < 1) {
    return bad("tiny model: every dimension must be positive");
  }
  if (spec.n_embd % spec.n_head != 0) return bad("tiny model: n_embd must be a multiple of n_head");
  if (spec.n_head % spec.n_head_kv != 0) {
    return bad("tiny model: n_head must be a multiple of n_head_kv");
  }
  if ((spec.n_embd / spec.n_head) % 2 != 0) return bad("tiny model: the head size must be even");
  if (spec.weight_type != "f32" && spec.weight_type != "f16") {
    return bad("tiny model: weight_type must be f32 or f16");
  }
  if (!(spec.init_stddev > 0.0f)) return bad("tiny model: init_stddev must be positive");
  return {};
}

// Declares the 2-D weight matrices as F16 in the metadata; llama_model_init_from_user creates
// every other tensor as F32.
void declareHalfWeights(gguf_context* meta, const TinyModelSpec& spec) {
  std::vector<std::string> names = {"token_embd.weight", "output.weight"};
  for (int i = 0; i < spec.n_layer; ++i) {
    for (const char* t :
         {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}) {
      names.push_back("blk." + std::to_string(i) + "." + t + ".weight");
    }
  }
  for (const auto& name : names) {
    ggml_tensor t{};
    t.type = GGML_TYPE_F16;
    ggml_set_name(&t, name.c_str());
    gguf_add_tensor(meta, &t);
  }
}

Status addTokens(gguf_context* meta, const std::vector<std::string>& added) {
  const auto tid = gguf_find_key(meta, "tokenizer.ggml.tokens");
  const auto yid = gguf_find_key(meta, "tokenizer.ggml.token_type");
  if (tid < 0 || yid < 0 || gguf_get_arr_type(meta, yid) != GGUF_TYPE_INT32) {
    return Status(ErrorCode::kInvalidArgument, "tiny model: the vocab has no token list to extend");
  }
  const std::size_t n = gguf_get_arr_n(meta, tid);
  std::vector<std::string> tokens(n);
  for (std::size_t i = 0; i < n; ++i) tokens[i] = gguf_get_arr_str(meta, tid, i);
  const auto* types_data = static_cast<const std::int32_t*>(gguf_get_arr_data(meta, yid));
  std::vector<std::int32_t> types(types_data, types_data + gguf_get_arr_n(meta, yid));
  std::size_t next = 0;
  for (std::size_t i = 0; i < n && next < added.size(); ++i) {
    if (!tokens[i].starts_with("[PAD")) continue;
    tokens[i] = added[next++];
    if (i < types.size()) types[i] = LLAMA_TOKEN_TYPE_USER_DEFINED;
  }
  if (next < added.size()) {
    return Status(ErrorCode::kInvalidArgument,
                  "tiny model: the vocab has only " + std::to_string(next) + " unused token slots");
  }
  std::vector<const char*> ptrs;
  ptrs.reserve(n);
  for (const auto& t : tokens) ptrs.push_back(t.c_str());
  gguf_set_arr_str(meta, "tokenizer.ggml.tokens", ptrs.data(), n);
  gguf_set_arr_data(meta, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
  return {};
}

Result<GgufPtr> buildMetadata(const TinyModelSpec& spec) {
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  GgufPtr vocab(gguf_init_from_file(spec.vocab_path.c_str(), params));
  if (!vocab) {
    std::error_code ec;
    if (!fs::exists(spec.vocab_path, ec)) {
      return fail(ErrorCode::kNotFound, "vocab file not found: " + spec.vocab_path);
    }
    return fail(ErrorCode::kInvalidArgument, "not a GGUF file: " + spec.vocab_path);
  }
  GgufPtr meta(gguf_init_empty());
  gguf_set_kv(meta.get(), vocab.get());

  // Drop the source model's hyper-parameters ("qwen2.block_count", ...): only its tokenizer and
  // templates are wanted.
  std::string source_arch;
  if (auto id = gguf_find_key(vocab.get(), "general.architecture"); id >= 0) {
    source_arch = gguf_get_val_str(vocab.get(), id);
  }
  std::vector<std::string> drop = {"general.file_type", "general.name", "general.type",
                                   "general.finetune"};
  for (std::int64_t i = 0; i < gguf_get_n_kv(vocab.get()); ++i) {
    std::string_view key = gguf_get_key(vocab.get(), i);
    if (!source_arch.empty() && key.starts_with(source_arch + ".")) drop.emplace_back(key);
  }
  for (const auto& key : drop) gguf_remove_key(meta.get(), key.c_str());

  auto* m = meta.get();
  const std::string a = spec.arch + ".";
  gguf_set_val_str(m, "general.architecture", spec.arch.c_str());
  gguf_set_val_str(m, "general.name", spec.name.c_str());
  gguf_set_val_u32(m, "general.file_type",
                   spec.weight_type == "f16" ? LLAMA_FTYPE_MOSTLY_F16 : LLAMA_FTYPE_ALL_F32);
  gguf_set_val_u32(m, (a + "block_count").c_str(), spec.n_layer);
  gguf_set_val_u32(m, (a + "context_length").c_str(), spec.n_ctx_train);
  gguf_set_val_u32(m, (a + "embedding_length").c_str(), spec.n_embd);
  gguf_set_val_u32(m, (a + "feed_forward_length").c_str(), spec.n_ff);
  gguf_set_val_u32(m, (a + "attention.head_count").c_str(), spec.n_head);
  gguf_set_val_u32(m, (a + "attention.head_count_kv").c_str(), spec.n_head_kv);
  gguf_set_val_f32(m, (a + "rope.freq_base").c_str(), 1000000.0f);
  gguf_set_val_f32(m, (a + "attention.layer_norm_rms_epsilon").c_str(), 1e-6f);
  if (spec.sliding_window > 0) {
    gguf_set_val_u32(m, (a + "attention.sliding_window").c_str(),
                     static_cast<std::uint32_t>(spec.sliding_window));
  }
  if (!spec.chat_template.empty()) {
    gguf_set_val_str(m, "tokenizer.chat_template", spec.chat_template.c_str());
  }
  if (!spec.added_tokens.empty()) {
    if (auto st = addTokens(m, spec.added_tokens); !st.isOk()) return fail(std::move(st));
  }
  if (spec.reranker) {
    gguf_set_val_u32(m, (a + "pooling_type").c_str(), LLAMA_POOLING_TYPE_RANK);
    const char* labels[] = {"yes", "no"};
    gguf_set_arr_str(m, (a + "classifier.output_labels").c_str(), labels, 2);
    gguf_set_val_str(m, "tokenizer.chat_template.rerank", kTinyRerankTemplate);
  }
  if (spec.weight_type == "f16") declareHalfWeights(m, spec);
  return meta;
}

// Whether checkpoints of `arch` as published carry the tensor `name`. llama_model_init_from_user
// creates every tensor the architecture may have, optional ones included: per-matrix `.scale` and
// `.input_scale` (quantisation formats such as NVFP4 carry them; each `.scale` multiplies its
// matrix product), `rope_freqs` (Llama 3.1's long-context factors), an output bias and attention
// biases. Filled at random they would put a random scalar on every product and random RoPE
// frequencies into every layer: work and numerics no real model of these families has. Of the
// biases, only Qwen2's query, key and value projections exist in real checkpoints.
bool realModelsHave(std::string_view arch, std::string_view name) {
  if (endsWith(name, ".scale") || endsWith(name, ".input_scale")) return false;
  if (name == "rope_freqs.weight") return false;
  if (endsWith(name, ".bias")) {
    return arch == "qwen2" && (endsWith(name, ".attn_q.bias") || endsWith(name, ".attn_k.bias") ||
                               endsWith(name, ".attn_v.bias"));
  }
  return true;
}

// Writes `meta` (the very keys the model was built from, templates included) and the filled
// tensors real checkpoints of the architecture have. llama_model_save_to_file would write
// llama.cpp's normalised view instead, which drops the chat templates and would need a second pass
// over the file to put them back.
Status writeModel(const gguf_context* meta, std::string_view arch,
                  const std::vector<ggml_tensor*>& tensors, const std::string& path) {
  GgufPtr out(gguf_init_empty());
  gguf_set_kv(out.get(), meta);
  std::vector<std::vector<std::uint8_t>> copies;  // for tensors that do not live in host memory
  for (ggml_tensor* t : tensors) {
    if (!realModelsHave(arch, t->name)) continue;
    // Layers may share one tensor (llama's rope_freqs): the loader hands it over once per use.
    if (gguf_find_tensor(out.get(), t->name) >= 0) continue;
    gguf_add_tensor(out.get(), t);
    if (t->buffer != nullptr && !ggml_backend_buffer_is_host(t->buffer)) {
      auto& copy = copies.emplace_back(ggml_nbytes(t));
      ggml_backend_tensor_get(t, copy.data(), 0, copy.size());
      gguf_set_tensor_data(out.get(), t->name, copy.data());
    }
  }
  if (!gguf_write_to_file(out.get(), path.c_str(), /*only_meta=*/false)) {
    return Status(ErrorCode::kInternal, "cannot write " + path);
  }
  return {};
}

bool silentProgress(float /*progress*/, void* /*user_data*/) { return true; }

// Unique per call, so concurrent writers of the same output (two test binaries) never share a
// temporary file; the final rename is atomic.
std::string tempPathBeside(const std::string& path) {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}());
  return path + ".tmp." + std::to_string(rng() % 1000000007u) + "." + std::to_string(++counter);
}

struct QuantType {
  std::string_view name;
  llama_ftype ftype;
};

constexpr std::array kQuantTypes = {
    QuantType{"f32", LLAMA_FTYPE_ALL_F32},          QuantType{"f16", LLAMA_FTYPE_MOSTLY_F16},
    QuantType{"bf16", LLAMA_FTYPE_MOSTLY_BF16},     QuantType{"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},
    QuantType{"q6_k", LLAMA_FTYPE_MOSTLY_Q6_K},     QuantType{"q5_k_m", LLAMA_FTYPE_MOSTLY_Q5_K_M},
    QuantType{"q5_k_s", LLAMA_FTYPE_MOSTLY_Q5_K_S}, QuantType{"q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},
    QuantType{"q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},     QuantType{"q4_k_m", LLAMA_FTYPE_MOSTLY_Q4_K_M},
    QuantType{"q4_k_s", LLAMA_FTYPE_MOSTLY_Q4_K_S}, QuantType{"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},
    QuantType{"q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},     QuantType{"iq4_nl", LLAMA_FTYPE_MOSTLY_IQ4_NL},
    QuantType{"q3_k_l", LLAMA_FTYPE_MOSTLY_Q3_K_L}, QuantType{"q3_k_m", LLAMA_FTYPE_MOSTLY_Q3_K_M},
    QuantType{"q3_k_s", LLAMA_FTYPE_MOSTLY_Q3_K_S}, QuantType{"q2_k", LLAMA_FTYPE_MOSTLY_Q2_K},
};

// GGUF integers come in several widths; arrays (per-layer values) give their first element.
std::int64_t ggufInt(const gguf_context* ctx, const std::string& key) {
  const auto id = gguf_find_key(ctx, key.c_str());
  if (id < 0) return 0;
  auto type = gguf_get_kv_type(ctx, id);
  const void* data = nullptr;
  if (type == GGUF_TYPE_ARRAY) {
    if (gguf_get_arr_n(ctx, id) == 0) return 0;
    type = gguf_get_arr_type(ctx, id);
    if (type == GGUF_TYPE_STRING || type == GGUF_TYPE_ARRAY) return 0;
    data = gguf_get_arr_data(ctx, id);
  } else {
    if (type == GGUF_TYPE_STRING) return 0;
    data = gguf_get_val_data(ctx, id);
  }
  switch (type) {
    case GGUF_TYPE_UINT8:
      return *static_cast<const std::uint8_t*>(data);
    case GGUF_TYPE_INT8:
      return *static_cast<const std::int8_t*>(data);
    case GGUF_TYPE_UINT16:
      return *static_cast<const std::uint16_t*>(data);
    case GGUF_TYPE_INT16:
      return *static_cast<const std::int16_t*>(data);
    case GGUF_TYPE_UINT32:
      return *static_cast<const std::uint32_t*>(data);
    case GGUF_TYPE_INT32:
      return *static_cast<const std::int32_t*>(data);
    case GGUF_TYPE_UINT64:
      return static_cast<std::int64_t>(*static_cast<const std::uint64_t*>(data));
    case GGUF_TYPE_INT64:
      return *static_cast<const std::int64_t*>(data);
    default:
      return 0;
  }
}

std::string ggufStr(const gguf_context* ctx, const char* key) {
  const auto id = gguf_find_key(ctx, key);
  if (id < 0 || gguf_get_kv_type(ctx, id) != GGUF_TYPE_STRING) return {};
  return gguf_get_val_str(ctx, id);
}

}  // namespace

Result<std::string> sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "cannot open " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) {
    return fail(ErrorCode::kInternal, "sha256: cannot initialise OpenSSL digest");
  }
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0)
      EVP_DigestUpdate(md.get(), buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) return fail(ErrorCode::kInternal, "sha256: read error on " + path);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(md.get(), digest.data(), &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

Result<void> makeTinyModel(const TinyModelSpec& spec) {
  if (auto st = validateSpec(spec); !st.isOk()) return fail(std::move(st));
  ensureLlamaRuntime();
  auto meta = buildMetadata(spec);
  if (!meta) return fail(meta.error());

  FillState fill{spec.seed, spec.init_stddev, {}};
  llama_model_params mparams = llama_model_default_params();
  mparams.n_gpu_layers = 0;
  mparams.progress_callback = silentProgress;
  std::unique_ptr<llama_model, ModelDeleter> model(
      llama_model_init_from_user(meta->get(), fillTensor, &fill, mparams));
  if (!model) {
    return fail(ErrorCode::kInternal,
                "llama.cpp could not build a '" + spec.arch + "' model from the given shape");
  }
  if (!fill.error.empty()) return fail(ErrorCode::kInternal, "tiny model: " + fill.error);
  if (!spec.memorize.empty()) {
    auto weights = memorizingWeights(model.get(), spec, fill.tensors);
    if (!weights) return fail(weights.error());
    for (ggml_tensor* t : fill.tensors) setTensor(t, weights->at(t->name), fill.error);
    if (!fill.error.empty()) return fail(ErrorCode::kInternal, "tiny model: " + fill.error);
  }

  const std::string tmp = tempPathBeside(spec.out_path);
  auto st = writeModel(meta->get(), spec.arch, fill.tensors, tmp);
  std::error_code ec;
  if (st.isOk()) {
    fs::rename(tmp, spec.out_path, ec);
    if (ec)
      st = Status(ErrorCode::kInternal, "cannot write " + spec.out_path + ": " + ec.message());
  }
  if (!st.isOk()) {
    fs::remove(tmp, ec);
    return fail(std::move(st));
  }
  logEvent(spdlog::level::debug, "tiny_model_made",
           {{"path", spec.out_path},
            {"arch", spec.arch},
            {"layers", spec.n_layer},
            {"dim", spec.n_embd}});
  return {};
}

Result<void> makeTinyLora(const TinyLoraSpec& spec) {
  auto bad = [](std::string msg) { return fail(ErrorCode::kInvalidArgument, std::move(msg)); };
  if (spec.out_path.empty()) return bad("tiny LoRA: out_path is empty");
  if (spec.rank < 1 || spec.rank > 1024) return bad("tiny LoRA: rank must be in [1, 1024]");
  if (!std::isfinite(spec.alpha) || !std::isfinite(spec.b_stddev)) {
    return bad("tiny LoRA: alpha and b_stddev must be finite");
  }
  std::error_code ec;
  if (!fs::is_regular_file(spec.base_path, ec)) {
    return fail(ErrorCode::kNotFound, "base model not found: " + spec.base_path);
  }
  ensureLlamaRuntime();
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  GgufPtr base(gguf_init_from_file(spec.base_path.c_str(), params));
  if (!base) return bad("not a GGUF model file: " + spec.base_path);
  const std::string arch = ggufStr(base.get(), "general.architecture");
  if (arch.empty()) return bad("no general.architecture in " + spec.base_path);

  struct Target {
    std::string name;
    std::int64_t n_in = 0;
    std::int64_t n_out = 0;
  };
  std::vector<Target> targets;
  for (std::int64_t i = 0; i < gguf_get_n_tensors(base.get()); ++i) {
    const std::string name = gguf_get_tensor_name(base.get(), i);
    const std::int64_t* ne = gguf_get_tensor_ne(base.get(), i);
    if (ne[2] != 1 || ne[3] != 1 || ne[1] <= 1) continue;  // matrices only
    const bool wanted = std::ranges::any_of(spec.targets, [&](const std::string& t) {
      return name == t + ".weight" ||
             (name.starts_with("blk.") && endsWith(name, "." + t + ".weight"));
    });
    if (wanted) targets.push_back({name, ne[0], ne[1]});
  }
  if (targets.empty()) return bad("tiny LoRA: none of the target tensors is in " + spec.base_path);

  const auto r = static_cast<std::int64_t>(spec.rank);
  std::size_t bytes = 0;
  for (const auto& t : targets) {
    bytes += static_cast<std::size_t>((t.n_in * r + r * t.n_out) * 4) + 2 * ggml_tensor_overhead();
  }
  ggml_init_params gparams{/*mem_size=*/bytes + 1024, /*mem_buffer=*/nullptr, /*no_alloc=*/false};
  GgmlPtr data(ggml_init(gparams));
  if (!data) return fail(ErrorCode::kInternal, "tiny LoRA: out of memory");

  GgufPtr out(gguf_init_empty());
  gguf_set_val_str(out.get(), "general.architecture", arch.c_str());
  gguf_set_val_str(out.get(), "general.type", "adapter");
  gguf_set_val_str(out.get(), "general.name", spec.name.c_str());
  gguf_set_val_str(out.get(), "adapter.type", "lora");
  gguf_set_val_f32(out.get(), "adapter.lora.alpha",
                   spec.alpha != 0.0f ? spec.alpha : static_cast<float>(spec.rank));
  auto fill = [&](ggml_tensor* t, const std::string& name, double stddev) {
    ggml_set_name(t, name.c_str());
    SplitMix64 rng(spec.seed ^ fnv1a(name));
    auto* v = static_cast<float*>(t->data);
    const std::int64_t n = ggml_nelements(t);
    for (std::int64_t i = 0; i < n; i += 2) {
      const double radius = std::sqrt(-2.0 * std::log(rng.uniform()));
      const double theta = 2.0 * std::numbers::pi * rng.uniform();
      v[i] = static_cast<float>(radius * std::cos(theta) * stddev);
      if (i + 1 < n) v[i + 1] = static_cast<float>(radius * std::sin(theta) * stddev);
    }
    gguf_add_tensor(out.get(), t);
  };
  for (const auto& t : targets) {
    // llama.cpp multiplies x·Aᵀ·Bᵀ: A is [n_in, r] and B is [r, n_out] in ggml's ne order.
    fill(ggml_new_tensor_2d(data.get(), GGML_TYPE_F32, t.n_in, r), t.name + ".lora_a",
         1.0 / std::sqrt(static_cast<double>(t.n_in)));
    fill(ggml_new_tensor_2d(data.get(), GGML_TYPE_F32, r, t.n_out), t.name + ".lora_b",
         spec.b_stddev);
  }

  const std::string tmp = tempPathBeside(spec.out_path);
  if (!gguf_write_to_file(out.get(), tmp.c_str(), /*only_meta=*/false)) {
    fs::remove(tmp, ec);
    return fail(ErrorCode::kInternal, "cannot write " + spec.out_path);
  }
  fs::rename(tmp, spec.out_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return fail(ErrorCode::kInternal, "cannot write " + spec.out_path + ": " + ec.message());
  }
  logEvent(spdlog::level::debug, "tiny_lora_made",
           {{"path", spec.out_path},
            {"base", spec.base_path},
            {"rank", spec.rank},
            {"tensors", static_cast<long long>(targets.size() * 2)}});
  return {};
}

Status checkModelFile(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    return Status(ErrorCode::kNotFound, "model file not found: " + path);
  }
  if (ec) {  // e.g. a directory on the way that this process may not enter
    return Status(ErrorCode::kPermissionDenied,
                  "cannot read model file " + path + ": " + ec.message());
  }
  if (st.type() == fs::file_type::directory) {
    return Status(ErrorCode::kInvalidArgument,
                  "model path is a directory, not a GGUF file: " + path);
  }
  if (st.type() != fs::file_type::regular) {
    return Status(ErrorCode::kInvalidArgument, "model path is not a regular file: " + path);
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return Status(ErrorCode::kPermissionDenied,
                  "cannot read model file " + path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

Result<ModelInfo> inspectModel(const std::string& path, bool hash_file) {
  if (Status s = checkModelFile(path); !s.isOk()) return fail(std::move(s));
  std::error_code ec;
  ensureLlamaRuntime();
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  GgufPtr ctx(gguf_init_from_file(path.c_str(), params));
  if (!ctx) return fail(ErrorCode::kInvalidArgument, "not a GGUF model file: " + path);
  const auto* c = ctx.get();

  ModelInfo info;
  info.path = path;
  info.file_bytes = fs::file_size(path, ec);
  info.architecture = ggufStr(c, "general.architecture");
  info.name = ggufStr(c, "general.name");
  const std::string a = info.architecture + ".";
  info.n_ctx_train = static_cast<int>(ggufInt(c, a + "context_length"));
  info.n_embd = static_cast<int>(ggufInt(c, a + "embedding_length"));
  info.n_layer = static_cast<int>(ggufInt(c, a + "block_count"));
  info.n_head = static_cast<int>(ggufInt(c, a + "attention.head_count"));
  info.n_head_kv = static_cast<int>(ggufInt(c, a + "attention.head_count_kv"));
  if (info.n_head_kv == 0) info.n_head_kv = info.n_head;
  info.chat_template = ggufStr(c, "tokenizer.chat_template");
  if (auto id = gguf_find_key(c, "tokenizer.ggml.tokens"); id >= 0) {
    info.n_vocab = static_cast<int>(gguf_get_arr_n(c, id));
  } else {
    info.n_vocab = static_cast<int>(ggufInt(c, a + "vocab_size"));
  }

  std::map<ggml_type, std::uint64_t> bytes_by_type;
  for (std::int64_t i = 0; i < gguf_get_n_tensors(c); ++i) {
    const std::int64_t* ne = gguf_get_tensor_ne(c, i);
    std::uint64_t n = 1;
    for (int d = 0; d < GGML_MAX_DIMS; ++d) n *= static_cast<std::uint64_t>(ne[d]);
    info.n_params += n;
    const auto size = gguf_get_tensor_size(c, i);
    info.tensor_bytes += size;
    if (ne[1] > 1) bytes_by_type[gguf_get_tensor_type(c, i)] += size;  // matrices decide the type
  }
  if (auto id = gguf_find_key(c, "general.file_type"); id >= 0) {
    info.file_type = llama_ftype_name(static_cast<llama_ftype>(ggufInt(c, "general.file_type")));
  } else if (!bytes_by_type.empty()) {
    auto it =
        std::ranges::max_element(bytes_by_type, {}, &decltype(bytes_by_type)::value_type::second);
    std::string name = ggml_type_name(it->first);
    std::ranges::transform(name, name.begin(), [](unsigned char ch) { return std::toupper(ch); });
    info.file_type = name + " (guessed)";
  }
  if (hash_file) {
    auto sha = sha256File(path);
    if (!sha) return fail(sha.error());
    info.sha256 = std::move(*sha);
  }
  return info;
}

std::vector<std::string> quantizationTypes() {
  std::vector<std::string> out;
  for (const auto& t : kQuantTypes) out.emplace_back(t.name);
  return out;
}

Result<void> quantizeModel(const std::string& in, const std::string& out, std::string_view type,
                           int n_threads) {
  const std::string wanted = asciiLower(type);
  const auto it = std::ranges::find(kQuantTypes, std::string_view(wanted), &QuantType::name);
  if (it == kQuantTypes.end()) {
    std::string known;
    for (const auto& t : kQuantTypes) {
      if (!known.empty()) known += ", ";
      known += t.name;
    }
    return fail(
        Status(ErrorCode::kInvalidArgument,
               "unknown quantization type '" + std::string(type) + "' (known: " + known + ")")
            .withParam("type"));
  }
  if (Status s = checkModelFile(in); !s.isOk()) return fail(std::move(s));
  std::error_code ec;
  if (out.empty()) return fail(ErrorCode::kInvalidArgument, "quantize: output path is empty");
  ensureLlamaRuntime();
  llama_model_quantize_params params = llama_model_quantize_default_params();
  params.ftype = it->ftype;
  params.nthread = n_threads;
  const std::string tmp = tempPathBeside(out);
  if (llama_model_quantize(in.c_str(), tmp.c_str(), &params) != 0) {
    fs::remove(tmp, ec);
    return fail(ErrorCode::kInternal, "llama.cpp failed to quantize " + in + " to " + wanted);
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return fail(ErrorCode::kInternal, "cannot write " + out);
  }
  return {};
}

}  // namespace switchyard::engine
