#include "switchyard/engine/engine.h"

#include <common.h>
#include <fit.h>
#include <ggml-backend.h>
#include <llama.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <sampling.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <thread>
#include <utility>

#include "switchyard/core/allocator.h"
#include "switchyard/core/check.h"
#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"
#include "switchyard/engine/chat_format.h"
#include "switchyard/engine/kv_cells.h"
#include "switchyard/engine/llama_runtime.h"
#include "switchyard/engine/model_maker.h"
#include "switchyard/engine/prompt_cache.h"
#include "switchyard/engine/stop_matcher.h"

namespace switchyard::engine {

std::string_view finishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone:
      return "none";
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kToolCalls:
      return "tool_calls";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "none";
}

namespace {

using Clock = std::chrono::steady_clock;

// Steps one adapter set may keep the context while sequences of another set wait: switching sets
// makes llama.cpp reserve its compute graph again, so sets take turns in runs of steps.
constexpr int kAdapterSetQuantum = 8;

// A prefilling request sits out a step for an older one computing at least this many tokens of
// its prompt (fewer are not worth delaying its first token by a step).
constexpr std::size_t kMinSharedPrefixWait = 16;

// Tokens per embedding decode when several inputs share one (each token costs an n_vocab-wide
// output row in llama.cpp's embedding mode).
constexpr std::size_t kEmbeddingBatchTokens = 512;
// Prompt tokens per step of a request that asks for the prompt's logprobs: each has a logits
// row (n_vocab floats, 39 MB for 64 of them at a 152k vocabulary).
constexpr std::size_t kPromptLogprobsChunk = 64;

double msBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;

class Batch {
 public:
  explicit Batch(int capacity) : batch_(llama_batch_init(capacity, 0, 1)), capacity_(capacity) {}
  ~Batch() { llama_batch_free(batch_); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void clear() { batch_.n_tokens = 0; }
  int size() const { return batch_.n_tokens; }
  int capacity() const { return capacity_; }
  // Returns the token's index in the batch.
  int add(llama_token token, llama_pos pos, llama_seq_id seq, bool output) {
    SY_DCHECK(batch_.n_tokens < capacity_);
    const int i = batch_.n_tokens++;
    batch_.token[i] = token;
    batch_.pos[i] = pos;
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = seq;
    batch_.logits[i] = output ? 1 : 0;
    return i;
  }
  const llama_batch& get() const { return batch_; }

 private:
  llama_batch batch_;
  int capacity_;
};

// A request after enqueue() prepared it: tokens, sampler, text handling.
struct Request {
  std::uint64_t id = 0;
  EventCallback on_event;
  TokenSeq prompt;
  AdapterKey lora;     // the LoRA adapter set this request decodes with
  int max_tokens = 0;  // effective limit on completion tokens
  common_sampler_ptr sampler;
  bool grammar = false;  // the sampler constrains tokens (response_format, tool calls)
  std::set<llama_token> render_special;  // preserved tokens that are text, not control
  std::optional<StopMatcher> stop;
  std::vector<std::string> user_stops;  // the request's own, reported when one matches
  std::optional<OutputParser> parser;
  std::string text;  // generated text so far, stop strings removed
  // Logprobs (GenerationRequest::logprobs >= 0): entries whose text the stop matcher still
  // holds, each with the count of bytes fed up to its end, and entries waiting for an event.
  int logprobs = -1;
  std::deque<std::pair<TokenLogprob, std::size_t>> logprobs_held;
  std::vector<TokenLogprob> logprobs_ready;
  bool prompt_logprobs = false;
  std::vector<TokenLogprob> prompt_logprobs_ready;  // go with the next event delivered
  std::size_t bytes_fed = 0;
  std::size_t bytes_released = 0;
  Usage usage;
  int prompt_decoded = 0;
  Clock::time_point enqueued{};
  Clock::time_point assigned{};
  Clock::time_point first_token{};
};

struct Slot {
  llama_seq_id seq = 0;
  TokenSeq cache;  // tokens whose KV this sequence holds, positions 0..cache.size()-1
  std::vector<KvCellBook::Cell> cells;  // the KV cell of each of them (shared ones too)
  AdapterKey cache_lora;                // the adapter set that KV was computed with
  std::unique_ptr<Request> req;         // null: idle
  bool generating = false;              // prompt done; one token per step
  llama_token next_token = 0;           // sampled, not yet decoded
  int logits_index = -1;                // in the current batch
  int prompt_logits_index = -1;         // prompt logprobs: the chunk's first token in the batch
  int pending = 0;                      // tokens of this slot in the current batch
  Clock::time_point last_used{};
  std::uint64_t admitted_order = 0;
  std::uint64_t last_decoded_step = 0;  // fairness between adapter sets
  // Runs of adjacent cells its KV occupies, as far as the steps tell (llama.cpp places each
  // step's tokens together, so a step that decodes this sequence alone right after one that did
  // extends its run, and any other step starts one). What a save to the host costs on a GPU.
  std::size_t kv_runs = 0;
  std::uint64_t last_alone_step = 0;  // the last step that decoded this sequence alone
  llama_token sampled = 0;            // this step's token (sampleAll)
  std::string sample_error;           // why sampling failed this step, if it did
  // This step's logprobs, when the request asks (sampleAll): the token's and the alternatives'.
  float sampled_logprob = 0;
  std::vector<std::pair<llama_token, float>> sampled_top;

  // Tokens of `prompt` whose KV this sequence can reuse for a request of adapter set `lora`.
  std::size_t reusablePrefix(const TokenSeq& prompt, const AdapterKey& lora) const {
    return cache_lora == lora ? commonPrefix(cache, prompt) : 0;
  }

  bool idle() const { return !req; }
  std::size_t promptRemaining() const {
    return req ? req->prompt.size() - std::min(req->prompt.size(), cache.size()) : 0;
  }
};

struct EmbeddingJob {
  std::vector<std::string> texts;
  EmbeddingCallback done;
  // A rerank job instead (scored set): one token sequence per (query, document) pair.
  std::vector<TokenSeq> pairs;
  ScoresCallback scored;
};

void deliver(const EventCallback& cb, EngineEvent&& ev) {
  try {
    cb(std::move(ev));
  } catch (const std::exception& e) {
    SY_BUG(std::string("engine event callback threw: ") + e.what());
  } catch (...) {
    SY_BUG("engine event callback threw");
  }
}

bool eventHasContent(const EngineEvent& ev) {
  return !ev.text.empty() || !ev.reasoning_text.empty() || !ev.tool_calls.empty();
}

// The log-softmax of a logits row at `token`, and the `n` most likely tokens with theirs (most
// likely first). Two passes over the vocabulary, plus a short sorted list for the top n.
float logSoftmaxAt(const float* row, int n_vocab, llama_token token, int n,
                   std::vector<std::pair<llama_token, float>>& top) {
  float max = row[0];
  for (int i = 1; i < n_vocab; ++i) max = std::max(max, row[i]);
  // Float exponentials summed in runs of 8, the runs in double: as exact as all-double here, and
  // 0.57 ms instead of 0.9 ms for a 152k-token vocabulary on this CPU.
  double sum = 0;
  for (int i = 0; i < n_vocab; i += 8) {
    float run = 0;
    for (int j = i; j < std::min(i + 8, n_vocab); ++j) run += std::exp(row[j] - max);
    sum += run;
  }
  const float log_z = max + static_cast<float>(std::log(sum));
  top.clear();
  if (n > 0) {
    const auto keep = static_cast<std::size_t>(std::min(n, n_vocab));
    for (int i = 0; i < n_vocab; ++i) {
      if (top.size() == keep && row[i] <= top.back().second) continue;
      auto at = std::ranges::upper_bound(top, row[i], std::greater<>(),
                                         &std::pair<llama_token, float>::second);
      top.insert(at, {i, row[i]});
      if (top.size() > keep) top.pop_back();
    }
    for (auto& entry : top) entry.second -= log_z;
  }
  return row[token] - log_z;
}

// `bytes` more of the generated text left the stop matcher: the entries of tokens whose text is
// now all out are ready to go with the next event.
void releaseLogprobs(Request& req, std::size_t bytes) {
  if (req.logprobs < 0) return;
  req.bytes_released += bytes;
  while (!req.logprobs_held.empty() && req.logprobs_held.front().second <= req.bytes_released) {
    req.logprobs_ready.push_back(std::move(req.logprobs_held.front().first));
    req.logprobs_held.pop_front();
  }
}

Status validateOptions(const EngineOptions& o) {
  auto bad = [](std::string m) { return Status(ErrorCode::kInvalidArgument, std::move(m)); };
  if (o.model_path.empty()) return bad("engine: model_path is empty");
  if (o.n_ctx < 16) return bad("engine: n_ctx must be at least 16");
  if (o.n_parallel < 1 || static_cast<std::size_t>(o.n_parallel) > llama_max_parallel_sequences()) {
    return bad("engine: n_parallel must be between 1 and " +
               std::to_string(llama_max_parallel_sequences()));
  }
  if (o.n_batch < o.n_parallel) return bad("engine: n_batch must be at least n_parallel");
  if (o.max_queue < 1) return bad("engine: max_queue must be at least 1");
  if (o.n_threads < 0) return bad("engine: n_threads must not be negative");
  if (o.min_saved_run_tokens < -1) return bad("engine: min_saved_run_tokens must be -1 or more");
  if (o.n_gpu_layers < kGpuLayersAuto) {
    return bad("engine: n_gpu_layers must be a layer count, kGpuLayersAll or kGpuLayersAuto");
  }
  std::set<std::string> names;
  for (const auto& a : o.lora_adapters) {
    if (a.name.empty()) return bad("engine: a LoRA adapter has no name (" + a.path + ")");
    if (!names.insert(a.name).second) return bad("engine: LoRA adapter '" + a.name + "' twice");
    if (a.path.empty()) return bad("engine: LoRA adapter '" + a.name + "' has no path");
    if (!std::isfinite(a.scale)) return bad("engine: LoRA adapter '" + a.name + "': bad scale");
  }
  return {};
}

}  // namespace

class Engine::Impl {
 public:
  explicit Impl(EngineOptions options) : options_(std::move(options)) {}
  ~Impl() { shutdown(); }

  Status init();
  llama_context_params generationParams(int n_threads) const;
  void fitToDevices(llama_model_params& mparams, llama_context_params cparams);
  Result<std::uint64_t> enqueue(GenerationRequest request, EventCallback on_event);
  void cancel(std::uint64_t id);
  Status embedAsync(std::vector<std::string> texts, EmbeddingCallback done);
  Status rerankAsync(const std::string& query, const std::vector<std::string>& documents,
                     ScoresCallback done);
  bool isReranker() const {
    return embd_ctx_ && llama_pooling_type(embd_ctx_.get()) == LLAMA_POOLING_TYPE_RANK;
  }
  Result<int> countPromptTokens(const GenerationRequest& request);
  EngineStats stats() const;
  Result<TokenSeq> tokenizeText(const std::string& text, bool add_special) {
    return tokenize(text, add_special);
  }

  EngineOptions options_;
  ModelInfo info_;

 private:
  Result<std::unique_ptr<Request>> prepare(GenerationRequest request);
  Result<AdapterKey> adapterKey(const GenerationRequest& request) const;
  Status loadAdapters();
  const AdapterKey& pickAdapterSet();  // engine thread: the set this step decodes
  void applyAdapterSet(const AdapterKey& key);
  Result<TokenSeq> tokenize(const std::string& text, bool add_special = true) const;
  Result<common_sampler_ptr> makeSampler(const GenerationRequest& request, RenderedPrompt& rendered,
                                         std::set<llama_token>& render_special);

  void run();
  void shutdown();
  bool hasWork() const;  // engine thread, under mu_
  void applyCancels(std::vector<std::uint64_t> ids);
  void admit();
  void assign(Slot& slot, std::unique_ptr<Request> req);
  bool step();  // false when nothing could be decoded
  void ensureRoom(std::size_t tokens);
  void evictIdle(Slot& slot);
  // Moves an idle sequence to the host cache if it is worth keeping and fits there.
  void parkIdle(Slot& slot);
  // The sequence's cache and cell list together: tokens just decoded (new cells), or cut to `n`.
  void appendDecoded(Slot& slot, std::span<const llama_token> tokens);
  void truncate(Slot& slot, std::size_t n);
  // Empties the sequence, in the context and in the book.
  void drop(Slot& slot);
  // Shares with `slot` (prefilling) the KV of its prompt's next tokens that another sequence
  // already holds. Returns true when the slot should sit out this step because an older request
  // is computing a long prefix they have in common.
  bool sharePrefix(Slot& slot);
  // Whether the host cache now holds the sequence's KV (stored, or covered by a longer entry).
  bool saveToHost(Slot& slot);
  void sampleAll(std::span<Slot* const> slots);
  void handleToken(Slot& slot, llama_token token);
  // Prompt logprobs of the chunk just decoded for `slot`, from prompt position `start`.
  void promptLogprobs(Slot& slot, std::size_t start);
  void finish(Slot& slot, FinishReason reason);
  void failSlot(Slot& slot, Status error);
  void runEmbeddings(EmbeddingJob& job);
  // Decodes `inputs` in the embedding context, several to a batch, and hands `take` each
  // input's pooled output (its index, then the row).
  Status decodePooled(const std::vector<TokenSeq>& inputs,
                      const std::function<void(std::size_t, const float*)>& take);
  Result<TokenSeq> rerankTokens(const std::string& query, const std::string& document) const;
  Result<Embeddings> computeEmbeddings(const std::vector<std::string>& texts);
  std::size_t cellsInUse() const { return cells_.used(); }
  std::size_t cellsCommitted();

  // What fitToDevices() chose, read by the model load (mparams points here).
  std::vector<float> tensor_split_;
  std::vector<llama_model_tensor_buft_override> buft_overrides_;
  ModelPtr model_;
  ContextPtr ctx_;       // generation; null for embedding-only models
  ContextPtr embd_ctx_;  // embeddings; null unless options_.embeddings
  const llama_vocab* vocab_ = nullptr;
  std::unique_ptr<ChatFormatter> chat_;
  std::vector<llama_logit_bias> eog_bias_;  // -inf on every end-of-generation token
  int n_vocab_ = 0;
  // Owned by model_ (llama.cpp frees a model's adapters with it); options_.lora_adapters order.
  std::vector<llama_adapter_lora*> adapters_;
  AdapterKey default_lora_;  // requests that choose none

  // Engine thread only.
  std::vector<Slot> slots_;
  std::optional<Batch> batch_;
  std::optional<HostPromptCache> host_cache_;
  KvCellBook cells_;
  // Prompt prefixes are shared between sequences (options_.share_prefixes, on a model whose
  // KV cells can be shared: not sliding-window, recurrent or hybrid).
  bool share_prefixes_ = false;
  // Idle sequences move to the host cache when a request is admitted (options_.park_idle, with
  // a host cache, on a model whose KV the host cache restores whole).
  bool park_idle_ = false;
  // Sampling's work space, one per compute thread (parallel sampling uses as many threads as
  // llama.cpp does): every vocabulary token with its logit.
  std::vector<std::vector<llama_token_data>> candidates_;
  std::size_t min_saved_run_tokens_ = 0;  // options_.min_saved_run_tokens resolved
  int n_swa_ = 0;  // the model's sliding attention window; 0: none
  std::uint64_t admitted_counter_ = 0;
  AdapterKey applied_lora_;  // on ctx_
  int steps_on_set_ = 0;     // consecutive steps with applied_lora_
  std::uint64_t step_counter_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Request>> incoming_;
  std::vector<std::uint64_t> cancels_;
  std::deque<EmbeddingJob> embed_jobs_;
  bool stopping_ = false;
  std::uint64_t next_id_ = 1;
  std::size_t active_ = 0;
  EngineStats totals_;  // counters only; the rest is filled by stats()
  // Written by the engine thread, read by stats() (metrics scrapes) without mu_.
  std::atomic<std::uint64_t> generated_{0};
  std::atomic<std::size_t> kv_cells_{0};
  std::size_t host_entries_ = 0;
  std::size_t host_bytes_ = 0;

  std::thread thread_;
};

// The GPUs llama.cpp puts layers on (none in a CPU-only build).
std::vector<ggml_backend_dev_t> gpuDevices() {
  std::vector<ggml_backend_dev_t> gpus;
  for (std::size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_GPU) gpus.push_back(dev);
  }
  return gpus;
}

llama_context_params Engine::Impl::generationParams(int n_threads) const {
  llama_context_params cparams = llama_context_default_params();
  cparams.n_ctx = static_cast<std::uint32_t>(options_.n_ctx);
  cparams.n_batch = static_cast<std::uint32_t>(options_.n_batch);
  cparams.n_ubatch = static_cast<std::uint32_t>(std::min(options_.n_batch, 512));
  cparams.n_seq_max = static_cast<std::uint32_t>(options_.n_parallel);
  cparams.n_threads = n_threads;
  cparams.n_threads_batch = n_threads;
  cparams.kv_unified = true;  // any one sequence may use the whole context
  cparams.no_perf = true;
  return cparams;
}

// As llama-server does by default: as many layers on the GPUs as their free memory holds after
// the weights, this context's KV and compute buffers, less 1 GiB per device; measured by loading
// the model's metadata without allocating. The context size is ours and stays. When nothing
// fits the load goes on with every layer offloaded and fails with llama.cpp's own error, as
// llama-server's does. common_fit_params swaps the process-wide llama.cpp logger while it runs,
// so fits run one at a time.
void Engine::Impl::fitToDevices(llama_model_params& mparams, llama_context_params cparams) {
  static std::mutex fit_mu;
  std::lock_guard lock(fit_mu);
  tensor_split_.assign(llama_max_devices(), 0.0f);
  buft_overrides_.assign(llama_max_tensor_buft_overrides(), {nullptr, nullptr});
  std::vector<std::size_t> margins(llama_max_devices(), std::size_t{1} << 30);
  const auto status = common_fit_params(
      options_.model_path.c_str(), &mparams, &cparams, tensor_split_.data(), buft_overrides_.data(),
      margins.data(), cparams.n_ctx, nullptr, GGML_LOG_LEVEL_ERROR);
  if (status != COMMON_PARAMS_FIT_STATUS_SUCCESS) {
    logEvent(spdlog::level::warn, "gpu_fit_failed",
             {{"path", options_.model_path},
              {"reason", "the model and a context of this size do not fit in free GPU memory"}});
  }
}

Status Engine::Impl::init() {
  if (auto st = validateOptions(options_); !st.isOk()) return st;
  ensureLlamaRuntime();
  if (Status s = checkModelFile(options_.model_path); !s.isOk()) return s;
  std::error_code ec;
  const int n_threads = options_.n_threads > 0
                            ? options_.n_threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  candidates_.resize(static_cast<std::size_t>(n_threads));
  llama_model_params mparams = llama_model_default_params();
  const std::vector<ggml_backend_dev_t> gpus = gpuDevices();
  mparams.n_gpu_layers =
      options_.n_gpu_layers == kGpuLayersAuto ? kGpuLayersAll : options_.n_gpu_layers;
  if (options_.n_gpu_layers == kGpuLayersAuto && !gpus.empty()) {
    fitToDevices(mparams, generationParams(n_threads));
  }
  if (options_.on_load_progress) {
    mparams.progress_callback = [](float progress, void* user) {
      return (*static_cast<std::function<bool(float)>*>(user))(progress);
    };
    mparams.progress_callback_user_data = &options_.on_load_progress;
  }
  model_.reset(llama_model_load_from_file(options_.model_path.c_str(), mparams));
  if (!model_) {
    return Status(ErrorCode::kInvalidArgument,
                  "cannot load model " + options_.model_path + " (corrupt or unsupported GGUF)");
  }
  vocab_ = llama_model_get_vocab(model_.get());
  n_vocab_ = llama_vocab_n_tokens(vocab_);
  for (llama_token t = 0; t < n_vocab_; ++t) {
    if (llama_vocab_is_eog(vocab_, t)) eog_bias_.push_back({t, -INFINITY});
  }

  // Metadata from the model as loaded, the file hash from the file.
  info_.path = options_.model_path;
  {
    char buf[256];
    if (llama_model_meta_val_str(model_.get(), "general.architecture", buf, sizeof(buf)) > 0) {
      info_.architecture = buf;
    }
    if (llama_model_meta_val_str(model_.get(), "general.name", buf, sizeof(buf)) > 0)
      info_.name = buf;
  }
  info_.n_params = llama_model_n_params(model_.get());
  info_.tensor_bytes = llama_model_size(model_.get());
  info_.file_bytes = std::filesystem::file_size(options_.model_path, ec);
  info_.file_type = llama_ftype_name(llama_model_ftype(model_.get()));
  info_.n_ctx_train = llama_model_n_ctx_train(model_.get());
  info_.n_embd = llama_model_n_embd(model_.get());
  info_.n_layer = llama_model_n_layer(model_.get());
  info_.n_head = llama_model_n_head(model_.get());
  info_.n_head_kv = llama_model_n_head_kv(model_.get());
  info_.n_vocab = n_vocab_;
  if (!gpus.empty() && mparams.n_gpu_layers != 0) {
    info_.gpu_layers = mparams.n_gpu_layers < 0 ? info_.n_layer + 1
                                                : std::min(mparams.n_gpu_layers, info_.n_layer + 1);
    for (ggml_backend_dev_t dev : gpus) {
      if (!info_.gpu_devices.empty()) info_.gpu_devices += ", ";
      info_.gpu_devices +=
          std::string(ggml_backend_dev_name(dev)) + " (" + ggml_backend_dev_description(dev) + ")";
    }
  }
  if (options_.hash_file) {
    auto sha = sha256File(options_.model_path);
    if (!sha) return sha.error();
    info_.sha256 = std::move(*sha);
  }

  if (auto st = loadAdapters(); !st.isOk()) return st;

  // Models that declare a pooling type (BERT-style embedders) do not generate text.
  bool pooled = false;
  {
    char buf[32];
    const std::string key = info_.architecture + ".pooling_type";
    pooled = llama_model_meta_val_str(model_.get(), key.c_str(), buf, sizeof(buf)) > 0 &&
             std::string_view(buf) != "0";
  }
  if (!pooled && llama_model_has_decoder(model_.get()) && !llama_model_has_encoder(model_.get())) {
    ctx_.reset(llama_init_from_model(model_.get(), generationParams(n_threads)));
    if (!ctx_) {
      return Status(ErrorCode::kInternal, "cannot create a llama context for " +
                                              options_.model_path + " (n_ctx " +
                                              std::to_string(options_.n_ctx) + ")");
    }
    auto chat = ChatFormatter::create(model_.get(), options_.chat_template);
    if (!chat) return chat.error();
    chat_ = std::move(*chat);
    info_.chat_template = chat_->templateSource();
    n_swa_ = llama_model_n_swa(model_.get());
    // Sharing needs cells that several sequences can hold at once: attention KV kept whole.
    const bool full_attention = n_swa_ == 0 && !llama_model_is_recurrent(model_.get()) &&
                                !llama_model_is_hybrid(model_.get());
    share_prefixes_ = options_.share_prefixes && full_attention;
    // A sliding-window model's saved state lacks the cells outside the window, so parking would
    // lose what staying in the context keeps.
    park_idle_ = options_.park_idle && options_.host_cache_bytes > 0 && full_attention;
    min_saved_run_tokens_ =
        static_cast<std::size_t>(options_.min_saved_run_tokens >= 0 ? options_.min_saved_run_tokens
                                 : info_.gpu_layers > 0             ? 32
                                                                    : 0);
    slots_.resize(static_cast<std::size_t>(options_.n_parallel));
    for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].seq = static_cast<llama_seq_id>(i);
    batch_.emplace(options_.n_batch);
    if (options_.host_cache_bytes > 0) host_cache_.emplace(options_.host_cache_bytes);
  }

  if (options_.embeddings) {
    llama_context_params cparams = llama_context_default_params();
    cparams.embeddings = true;
    // Pooled embeddings need a whole input in one micro-batch. Every token is an output row
    // (n_vocab floats of logits each), so batches hold few tokens; see computeEmbeddings().
    const int n_ctx_embd = std::min(options_.n_ctx, std::max(info_.n_ctx_train, 512));
    cparams.n_ctx = static_cast<std::uint32_t>(n_ctx_embd);
    cparams.n_batch = cparams.n_ubatch = static_cast<std::uint32_t>(n_ctx_embd);
    cparams.n_seq_max = 16;
    cparams.kv_unified = true;
    cparams.n_threads = n_threads;
    cparams.n_threads_batch = n_threads;
    cparams.no_perf = true;
    embd_ctx_.reset(llama_init_from_model(model_.get(), cparams));
    if (embd_ctx_ && llama_pooling_type(embd_ctx_.get()) == LLAMA_POOLING_TYPE_NONE) {
      // A generative model declares no pooling: average its token states.
      cparams.pooling_type = LLAMA_POOLING_TYPE_MEAN;
      embd_ctx_.reset(llama_init_from_model(model_.get(), cparams));
    }
    if (!embd_ctx_) {
      return Status(ErrorCode::kInternal,
                    "cannot create an embedding context for " + options_.model_path);
    }
  }
  if (!ctx_ && !embd_ctx_) {
    return Status(ErrorCode::kInvalidArgument,
                  "model " + options_.model_path + " does not generate text; enable embeddings");
  }

  thread_ = std::thread([this] {
    setCurrentThreadName("sy-engine");
    run();
  });
  logEvent(spdlog::level::info, "engine_started",
           {{"model", options_.model_path},
            {"arch", info_.architecture},
            {"params", static_cast<long long>(info_.n_params)},
            {"n_ctx", options_.n_ctx},
            {"n_parallel", options_.n_parallel},
            {"threads", n_threads},
            {"gpu_layers", info_.gpu_layers},
            {"gpu", info_.gpu_devices.empty() ? std::string("none") : info_.gpu_devices},
            {"embeddings", options_.embeddings},
            {"lora_adapters", static_cast<long long>(adapters_.size())}});
  return {};
}

Status Engine::Impl::loadAdapters() {
  for (const auto& a : options_.lora_adapters) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(a.path, ec)) {
      return Status(ErrorCode::kNotFound,
                    "LoRA adapter '" + a.name + "': file not found: " + a.path);
    }
    clearLastLlamaError();
    llama_adapter_lora* adapter = llama_adapter_lora_init(model_.get(), a.path.c_str());
    if (adapter == nullptr) {
      const std::string why = lastLlamaError();
      return Status(ErrorCode::kInvalidArgument,
                    "cannot load LoRA adapter '" + a.name + "' from " + a.path + " for model " +
                        options_.model_path +
                        (why.empty() ? " (corrupt, or made for another model)" : ": " + why));
    }
    adapters_.push_back(adapter);
    if (llama_adapter_get_alora_n_invocation_tokens(adapter) > 0) {
      return Status(ErrorCode::kInvalidArgument, "LoRA adapter '" + a.name + "' (" + a.path +
                                                     ") is an activated LoRA, not supported");
    }
    default_lora_.push_back(a.scale);
  }
  if (std::ranges::all_of(default_lora_, [](float f) { return f == 0.0f; })) default_lora_.clear();
  return {};
}

void Engine::Impl::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// ---------------------------------------------------------------------------------------------
// Caller threads: preparation.

// Safe on any thread: llama.cpp tokenizes with a per-call session over the const vocab.
Result<TokenSeq> Engine::Impl::tokenize(const std::string& text, bool add_special) const {
  // add_special: BOS per the vocab; parse_special: the template's <|im_start|> etc. are tokens.
  int n = -llama_tokenize(vocab_, text.data(), static_cast<std::int32_t>(text.size()), nullptr, 0,
                          add_special, /*parse_special=*/true);
  if (n < 0) n = -n;
  TokenSeq tokens(static_cast<std::size_t>(n));
  if (n > 0) {
    const int got = llama_tokenize(vocab_, text.data(), static_cast<std::int32_t>(text.size()),
                                   tokens.data(), n, add_special, true);
    if (got < 0) return fail(ErrorCode::kInternal, "tokenization failed");
    tokens.resize(static_cast<std::size_t>(got));
  }
  return tokens;
}

Result<common_sampler_ptr> Engine::Impl::makeSampler(const GenerationRequest& request,
                                                     RenderedPrompt& rendered,
                                                     std::set<llama_token>& render_special) {
  const SamplingParams& s = request.sampling;
  auto bad = [](std::string m, std::string param) {
    return fail(Status(ErrorCode::kInvalidArgument, std::move(m)).withParam(std::move(param)));
  };
  if (!std::isfinite(s.temperature) || s.temperature < 0)
    return bad("temperature must be >= 0", "temperature");
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f)) return bad("top_p must be in (0, 1]", "top_p");
  if (!(s.min_p >= 0.0f && s.min_p <= 1.0f)) return bad("min_p must be in [0, 1]", "min_p");
  if (!(std::isfinite(s.repeat_penalty) && s.repeat_penalty > 0.0f)) {
    return bad("repeat_penalty must be positive", "repeat_penalty");
  }
  if (!std::isfinite(s.frequency_penalty) || std::fabs(s.frequency_penalty) > 100) {
    return bad("frequency_penalty out of range", "frequency_penalty");
  }
  if (!std::isfinite(s.presence_penalty) || std::fabs(s.presence_penalty) > 100) {
    return bad("presence_penalty out of range", "presence_penalty");
  }

  common_params_sampling p;
  p.no_perf = true;
  p.seed = s.seed ? *s.seed : LLAMA_DEFAULT_SEED;
  p.temp = s.temperature;
  p.top_k = s.top_k;
  p.top_p = s.top_p;
  p.min_p = s.min_p;
  p.penalty_last_n = s.repeat_last_n;
  p.penalty_repeat = s.repeat_penalty;
  p.penalty_freq = s.frequency_penalty;
  p.penalty_present = s.presence_penalty;
  if (s.temperature <= 0.0f) {
    // Greedy as top-1: common_sampler always ends in a dist sampler, and a softmax over the
    // whole vocabulary per token cost more than the rest of a small model's step.
    p.top_k = 1;
    p.samplers = {COMMON_SAMPLER_TYPE_PENALTIES, COMMON_SAMPLER_TYPE_TOP_K};
  } else {
    p.samplers = {COMMON_SAMPLER_TYPE_PENALTIES, COMMON_SAMPLER_TYPE_TOP_K,
                  COMMON_SAMPLER_TYPE_TOP_P, COMMON_SAMPLER_TYPE_MIN_P,
                  COMMON_SAMPLER_TYPE_TEMPERATURE};
  }
  for (const auto& [token, bias] : s.logit_bias) {
    if (token < 0 || token >= n_vocab_) {
      return bad("logit_bias names token " + std::to_string(token) + " outside the vocabulary of " +
                     std::to_string(n_vocab_),
                 "logit_bias");
    }
    p.logit_bias.push_back({token, bias});
  }
  if (request.ignore_eos)
    p.logit_bias.insert(p.logit_bias.end(), eog_bias_.begin(), eog_bias_.end());

  // Template-declared tokens that are part of the output text (e.g. <tool_call>).
  for (const auto& word : rendered.preserved_tokens) {
    auto ids = common_tokenize(vocab_, word, /*add_special=*/false, /*parse_special=*/true);
    if (ids.size() == 1) {
      p.preserved_tokens.insert(ids[0]);
      render_special.insert(ids[0]);
    }
  }
  for (auto& trigger : rendered.grammar_triggers) {
    if (trigger.type == COMMON_GRAMMAR_TRIGGER_TYPE_WORD) {
      auto ids = common_tokenize(vocab_, trigger.value, false, true);
      if (ids.size() == 1 && p.preserved_tokens.contains(ids[0])) {
        common_grammar_trigger t;
        t.type = COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN;
        t.value = trigger.value;
        t.token = ids[0];
        p.grammar_triggers.push_back(std::move(t));
        continue;
      }
    }
    p.grammar_triggers.push_back(std::move(trigger));
  }
  p.grammar = rendered.grammar;
  p.grammar_lazy = rendered.grammar_lazy && !p.grammar_triggers.empty();
  p.generation_prompt = rendered.generation_prompt;

  try {
    common_sampler_ptr sampler(common_sampler_init(model_.get(), p));
    if (!sampler) return fail(ErrorCode::kInvalidArgument, "cannot build the sampler");
    return sampler;
  } catch (const std::exception& e) {
    return fail(Status(ErrorCode::kInvalidArgument, std::string("sampling: ") + e.what())
                    .withParam(p.grammar.empty() ? "sampling" : "response_format"));
  }
}

// One scale per loaded adapter, or empty when every scale is 0 (the base model).
Result<AdapterKey> Engine::Impl::adapterKey(const GenerationRequest& request) const {
  if (!request.lora) return default_lora_;
  auto bad = [](std::string m) {
    return fail(Status(ErrorCode::kInvalidArgument, std::move(m)).withParam("lora"));
  };
  AdapterKey key(adapters_.size(), 0.0f);
  std::vector<bool> seen(adapters_.size(), false);
  for (const auto& sel : *request.lora) {
    const auto& known = options_.lora_adapters;
    auto it = std::ranges::find_if(known,
                                   [&](const LoraAdapterOptions& a) { return a.name == sel.name; });
    if (sel.name.empty()) {
      if (sel.id < 0 || static_cast<std::size_t>(sel.id) >= known.size()) {
        return bad("unknown LoRA adapter id " + std::to_string(sel.id) + " (this model has " +
                   std::to_string(known.size()) + ")");
      }
      it = known.begin() + sel.id;
    }
    if (it == known.end()) {
      std::string names;
      for (const auto& a : known) names += (names.empty() ? "" : ", ") + a.name;
      return bad("unknown LoRA adapter '" + sel.name + "' (" +
                 (names.empty() ? std::string("this model has none") : "known: " + names) + ")");
    }
    const auto i = static_cast<std::size_t>(it - known.begin());
    if (seen[i]) return bad("LoRA adapter '" + it->name + "' is listed twice");
    if (!std::isfinite(sel.scale) || std::fabs(sel.scale) > 100.0f) {
      return bad("LoRA adapter '" + it->name + "': scale must be a number in [-100, 100]");
    }
    seen[i] = true;
    key[i] = sel.scale;
  }
  if (std::ranges::all_of(key, [](float f) { return f == 0.0f; })) key.clear();
  return key;
}

Result<std::unique_ptr<Request>> Engine::Impl::prepare(GenerationRequest request) {
  if (!ctx_) {
    return fail(ErrorCode::kUnprocessable,
                "model " + options_.model_path + " does not generate text");
  }
  // 0 scores the prompt and generates nothing (echo with logprobs and max_tokens 0).
  if (request.max_tokens == 0 && !request.prompt_logprobs) {
    return fail(Status(ErrorCode::kInvalidArgument,
                       "max_tokens must be positive (0 only scores a prompt: echo with logprobs)")
                    .withParam("max_tokens"));
  }
  auto lora = adapterKey(request);
  if (!lora) return fail(lora.error());
  auto rendered = chat_->render(request);
  if (!rendered) return fail(rendered.error());

  auto req = std::make_unique<Request>();
  req->lora = std::move(*lora);
  auto tokens = tokenize(rendered->prompt);
  if (!tokens) return fail(tokens.error());
  req->prompt = std::move(*tokens);
  const auto n_prompt = static_cast<int>(req->prompt.size());
  const char* prompt_param = request.messages.empty() ? "prompt" : "messages";
  if (n_prompt == 0) {
    return fail(Status(ErrorCode::kInvalidArgument, "prompt is empty").withParam(prompt_param));
  }
  if (n_prompt >= options_.n_ctx) {
    return fail(Status(ErrorCode::kInvalidArgument, "prompt is " + std::to_string(n_prompt) +
                                                        " tokens but the context holds " +
                                                        std::to_string(options_.n_ctx))
                    .withParam(prompt_param)
                    .withErrorType("context_length_exceeded"));
  }
  const int room = options_.n_ctx - n_prompt;
  req->max_tokens = request.max_tokens < 0 ? room : std::min(request.max_tokens, room);

  auto sampler = makeSampler(request, *rendered, req->render_special);
  if (!sampler) return fail(sampler.error());
  req->sampler = std::move(*sampler);
  req->grammar = !rendered->grammar.empty();
  req->logprobs = std::min(request.logprobs, kMaxTopLogprobs);
  req->prompt_logprobs = request.prompt_logprobs;
  // Repetition penalties see the prompt, as in llama-server (the grammar does not).
  for (llama_token t : req->prompt) common_sampler_accept(req->sampler.get(), t, false);

  req->user_stops = request.stop;
  std::vector<std::string> stops = std::move(request.stop);
  for (auto& s : rendered->additional_stops) stops.push_back(std::move(s));
  req->stop.emplace(std::move(stops));
  if (rendered->parse_output) req->parser.emplace(std::move(rendered->parser));
  req->usage.prompt_tokens = n_prompt;
  return req;
}

Result<std::uint64_t> Engine::Impl::enqueue(GenerationRequest request, EventCallback on_event) {
  auto full = [this] {
    return fail(Status(ErrorCode::kUnavailable,
                       "engine queue is full (" + std::to_string(options_.max_queue) + " waiting)")
                    .withRetryAfter(1));
  };
  {
    std::lock_guard lock(mu_);
    if (stopping_) return fail(ErrorCode::kUnavailable, "engine is shutting down");
    if (incoming_.size() >= options_.max_queue) return full();
  }
  if (!on_event) return fail(ErrorCode::kInvalidArgument, "enqueue: no event callback");
  auto req = prepare(std::move(request));
  if (!req) return fail(req.error());
  (*req)->on_event = std::move(on_event);
  (*req)->enqueued = Clock::now();
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return fail(ErrorCode::kUnavailable, "engine is shutting down");
    if (incoming_.size() >= options_.max_queue) return full();
    id = next_id_++;
    (*req)->id = id;
    incoming_.push_back(std::move(*req));
  }
  cv_.notify_one();
  return id;
}

void Engine::Impl::cancel(std::uint64_t id) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    cancels_.push_back(id);
  }
  cv_.notify_one();
}

Status Engine::Impl::embedAsync(std::vector<std::string> texts, EmbeddingCallback done) {
  if (!embd_ctx_) {
    return Status(ErrorCode::kUnprocessable,
                  "embeddings are not enabled for model " + options_.model_path);
  }
  if (isReranker()) {
    return Status(ErrorCode::kUnprocessable,
                  "model " + options_.model_path +
                      " is a reranker (pooling type rank): it scores pairs (rerank), it does not "
                      "embed");
  }
  if (!done) return Status(ErrorCode::kInvalidArgument, "embed: no callback");
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status(ErrorCode::kUnavailable, "engine is shutting down");
    if (embed_jobs_.size() >= options_.max_queue) {
      return std::move(Status(ErrorCode::kUnavailable, "engine embedding queue is full (" +
                                                           std::to_string(options_.max_queue) +
                                                           " waiting)"))
          .withRetryAfter(1);
    }
    embed_jobs_.push_back({std::move(texts), std::move(done)});
  }
  cv_.notify_one();
  return {};
}

Result<TokenSeq> Engine::Impl::rerankTokens(const std::string& query,
                                            const std::string& document) const {
  // User text: special-token syntax in it stays text.
  auto plain = [this](const std::string& text) -> Result<TokenSeq> {
    int n = -llama_tokenize(vocab_, text.data(), static_cast<std::int32_t>(text.size()), nullptr,
                            0, false, false);
    if (n < 0) n = -n;
    TokenSeq tokens(static_cast<std::size_t>(n));
    if (n > 0 && llama_tokenize(vocab_, text.data(), static_cast<std::int32_t>(text.size()),
                                tokens.data(), n, false, false) < 0) {
      return fail(ErrorCode::kInternal, "tokenization failed");
    }
    return tokens;
  };
  if (const char* tmpl = llama_model_chat_template(model_.get(), "rerank"); tmpl != nullptr) {
    // The model's own layout ({query}, {document}); its markup is special tokens.
    std::string prompt = tmpl;
    auto replaceAll = [&prompt](std::string_view what, const std::string& with) {
      for (std::size_t at = prompt.find(what); at != std::string::npos;
           at = prompt.find(what, at + with.size())) {
        prompt.replace(at, what.size(), with);
      }
    };
    replaceAll("{query}", query);
    replaceAll("{document}", document);
    return tokenize(prompt, false);
  }
  auto q = plain(query);
  if (!q) return q;
  auto d = plain(document);
  if (!d) return d;
  llama_token eos = llama_vocab_eos(vocab_);
  if (eos == LLAMA_TOKEN_NULL) eos = llama_vocab_sep(vocab_);
  TokenSeq out;
  out.reserve(q->size() + d->size() + 4);
  if (llama_vocab_get_add_bos(vocab_) && llama_vocab_bos(vocab_) != LLAMA_TOKEN_NULL) {
    out.push_back(llama_vocab_bos(vocab_));
  }
  out.insert(out.end(), q->begin(), q->end());
  if (llama_vocab_get_add_eos(vocab_) && eos != LLAMA_TOKEN_NULL) out.push_back(eos);
  if (llama_vocab_get_add_sep(vocab_) && llama_vocab_sep(vocab_) != LLAMA_TOKEN_NULL) {
    out.push_back(llama_vocab_sep(vocab_));
  }
  out.insert(out.end(), d->begin(), d->end());
  if (llama_vocab_get_add_eos(vocab_) && eos != LLAMA_TOKEN_NULL) out.push_back(eos);
  return out;
}

Status Engine::Impl::rerankAsync(const std::string& query,
                                 const std::vector<std::string>& documents, ScoresCallback done) {
  if (!embd_ctx_) {
    return Status(ErrorCode::kUnprocessable, "model " + options_.model_path +
                                                 " is not loaded for pooled outputs (set "
                                                 "'embeddings: true' under a reranker model)");
  }
  if (!isReranker()) {
    return Status(ErrorCode::kUnprocessable,
                  "model " + options_.model_path +
                      " is not a reranker: its pooling type is not rank (use a cross-encoder "
                      "reranker GGUF such as bge-reranker or Qwen3-Reranker)")
        .withParam("model");
  }
  if (!done) return Status(ErrorCode::kInvalidArgument, "rerank: no callback");
  const auto n_batch = static_cast<std::size_t>(llama_n_batch(embd_ctx_.get()));
  EmbeddingJob job;
  job.pairs.reserve(documents.size());
  for (std::size_t i = 0; i < documents.size(); ++i) {
    auto tokens = rerankTokens(query, documents[i]);
    if (!tokens) return std::move(tokens.error());
    if (tokens->empty()) {
      return Status(ErrorCode::kInvalidArgument, "document " + std::to_string(i) + " is empty")
          .withParam("documents");
    }
    if (tokens->size() > n_batch) {
      return Status(ErrorCode::kInvalidArgument,
                    "query and document " + std::to_string(i) + " are " +
                        std::to_string(tokens->size()) + " tokens but the context holds " +
                        std::to_string(n_batch))
          .withParam("documents");
    }
    job.pairs.push_back(std::move(*tokens));
  }
  job.scored = std::move(done);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status(ErrorCode::kUnavailable, "engine is shutting down");
    if (embed_jobs_.size() >= options_.max_queue) {
      return std::move(Status(ErrorCode::kUnavailable, "engine embedding queue is full (" +
                                                           std::to_string(options_.max_queue) +
                                                           " waiting)"))
          .withRetryAfter(1);
    }
    embed_jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return {};
}

Result<int> Engine::Impl::countPromptTokens(const GenerationRequest& request) {
  if (!ctx_) return fail(ErrorCode::kUnprocessable, "model does not generate text");
  auto rendered = chat_->render(request);
  if (!rendered) return fail(rendered.error());
  auto tokens = tokenize(rendered->prompt);
  if (!tokens) return fail(tokens.error());
  return static_cast<int>(tokens->size());
}

EngineStats Engine::Impl::stats() const {
  std::lock_guard lock(mu_);
  EngineStats s = totals_;
  s.queued = incoming_.size();
  s.active = active_;
  s.host_cache_entries = host_entries_;
  s.host_cache_bytes = host_bytes_;
  s.tokens_generated = generated_.load(std::memory_order_relaxed);
  s.kv_cells_used = kv_cells_.load(std::memory_order_relaxed);
  s.kv_cells_total = ctx_ ? static_cast<std::size_t>(options_.n_ctx) : 0;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Engine thread.

bool Engine::Impl::hasWork() const {
  if (stopping_ || !incoming_.empty() || !cancels_.empty() || !embed_jobs_.empty()) return true;
  return std::ranges::any_of(slots_, [](const Slot& s) { return !s.idle(); });
}

void Engine::Impl::run() {
  while (true) {
    std::vector<std::uint64_t> cancels;
    std::deque<EmbeddingJob> jobs;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return hasWork(); });
      if (stopping_) break;
      cancels.swap(cancels_);
      jobs.swap(embed_jobs_);
    }
    if (!cancels.empty()) applyCancels(std::move(cancels));
    for (auto& job : jobs) runEmbeddings(job);
    if (ctx_) {
      admit();
      if (!step()) {
        // Active requests but nothing decodable (waiting for cells): do not spin.
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(5));
      }
    }
  }

  // Shutdown: everything still held gets its terminal event.
  std::deque<std::unique_ptr<Request>> queued;
  std::deque<EmbeddingJob> jobs;
  {
    std::lock_guard lock(mu_);
    queued.swap(incoming_);
    jobs.swap(embed_jobs_);
  }
  for (auto& slot : slots_) {
    if (!slot.idle()) finish(slot, FinishReason::kCancelled);
  }
  for (auto& req : queued) {
    EngineEvent ev;
    ev.kind = EngineEvent::Kind::kError;
    ev.error = Status(ErrorCode::kUnavailable, "engine is shutting down");
    deliver(req->on_event, std::move(ev));
  }
  for (auto& job : jobs) {
    if (job.scored) {
      job.scored(fail(ErrorCode::kUnavailable, "engine is shutting down"));
    } else {
      job.done(fail(ErrorCode::kUnavailable, "engine is shutting down"));
    }
  }
}

void Engine::Impl::applyCancels(std::vector<std::uint64_t> ids) {
  std::vector<std::unique_ptr<Request>> dropped;
  {
    std::lock_guard lock(mu_);
    for (auto id : ids) {
      auto it = std::ranges::find_if(incoming_, [id](const auto& r) { return r->id == id; });
      if (it != incoming_.end()) {
        dropped.push_back(std::move(*it));
        incoming_.erase(it);
      }
    }
  }
  for (auto& req : dropped) {
    EngineEvent ev;
    ev.kind = EngineEvent::Kind::kDone;
    ev.finish_reason = FinishReason::kCancelled;
    ev.usage = req->usage;
    ev.timings.queue_ms = msBetween(req->enqueued, Clock::now());
    deliver(req->on_event, std::move(ev));
  }
  for (auto& slot : slots_) {
    if (!slot.idle() && std::ranges::find(ids, slot.req->id) != ids.end()) {
      finish(slot, FinishReason::kCancelled);
    }
  }
}

// Cells that active requests hold (shared ones once) plus what they still need to finish their
// prompts and take one more token each.
std::size_t Engine::Impl::cellsCommitted() {
  std::vector<std::span<const KvCellBook::Cell>> held;
  std::size_t more = 0;
  for (const auto& s : slots_) {
    if (s.idle()) continue;
    held.emplace_back(s.cells);
    more += s.promptRemaining() + 1;
  }
  return cells_.distinct(held) + more;
}

void Engine::Impl::appendDecoded(Slot& slot, std::span<const llama_token> tokens) {
  slot.cache.insert(slot.cache.end(), tokens.begin(), tokens.end());
  for (std::size_t i = 0; i < tokens.size(); ++i) slot.cells.push_back(cells_.add());
  // Current before any event of this step is delivered: a client that saw its request end reads
  // the cells it left.
  kv_cells_.store(cells_.used(), std::memory_order_relaxed);
}

void Engine::Impl::truncate(Slot& slot, std::size_t n) {
  SY_DCHECK(slot.cells.size() == slot.cache.size());
  if (n >= slot.cache.size()) return;
  for (std::size_t i = n; i < slot.cells.size(); ++i) cells_.release(slot.cells[i]);
  slot.cells.resize(n);
  slot.cache.resize(n);
  if (n == 0) slot.kv_runs = 0;  // else as many as before at most
  kv_cells_.store(cells_.used(), std::memory_order_relaxed);
}

void Engine::Impl::drop(Slot& slot) {
  llama_memory_seq_rm(llama_get_memory(ctx_.get()), slot.seq, -1, -1);
  truncate(slot, 0);
}

bool Engine::Impl::sharePrefix(Slot& slot) {
  Request& req = *slot.req;
  const TokenSeq& prompt = req.prompt;
  // The last prompt token is always decoded: its logits give the first output token.
  const std::size_t limit = prompt.size() - 1;
  const std::size_t have = slot.cache.size();
  if (have >= limit) return false;

  // The sequence holding the longest prefix of the prompt (same adapter set: KV differs per set).
  const Slot* source = nullptr;
  std::size_t best = have;
  for (const auto& other : slots_) {
    if (&other == &slot || other.cache.size() <= best || other.cache_lora != req.lora) continue;
    const std::size_t p = std::min(commonPrefix(other.cache, prompt), limit);
    if (p > best) {
      best = p;
      source = &other;
    }
  }
  if (source != nullptr) {
    // Positions [have, best) of the source were computed over the same tokens before them, so
    // their KV is exactly what this sequence would compute. On one unified cache this adds the
    // sequence to those cells; no data moves.
    llama_memory_t mem = llama_get_memory(ctx_.get());
    llama_memory_seq_cp(mem, source->seq, slot.seq, static_cast<llama_pos>(have),
                        static_cast<llama_pos>(best));
    if (llama_memory_seq_pos_max(mem, slot.seq) == static_cast<llama_pos>(best) - 1) {
      slot.cache.insert(slot.cache.end(), prompt.begin() + static_cast<std::ptrdiff_t>(have),
                        prompt.begin() + static_cast<std::ptrdiff_t>(best));
      for (std::size_t i = have; i < best; ++i) {
        cells_.share(source->cells[i]);
        slot.cells.push_back(source->cells[i]);
      }
      slot.kv_runs += source->kv_runs;
      slot.last_alone_step = 0;
      req.usage.cached_tokens += static_cast<int>(best - have);
      std::lock_guard lock(mu_);
      totals_.shared_prefix_tokens += best - have;
    } else {
      // This memory does not share cells between sequences (it should not get here: see init()).
      llama_memory_seq_rm(mem, slot.seq, static_cast<llama_pos>(have), -1);
      share_prefixes_ = false;
      logEvent(spdlog::level::warn, "engine_prefix_sharing_off",
               {{"model", options_.model_path}, {"reason", "seq_cp did not share cells"}});
      return false;
    }
  }

  // An older request still computing a long prefix of this prompt: wait for it rather than
  // compute the same tokens twice (the usual case: concurrent requests with one system prompt).
  const std::size_t now_have = slot.cache.size();
  for (const auto& other : slots_) {
    if (&other == &slot || other.idle() || other.generating || other.req->lora != req.lora ||
        other.admitted_order > slot.admitted_order) {
      continue;
    }
    const std::size_t p = std::min(commonPrefix(other.req->prompt, prompt), limit);
    if (p >= now_have + kMinSharedPrefixWait) return true;
  }
  return false;
}

bool Engine::Impl::saveToHost(Slot& slot) {
  if (!host_cache_ || slot.cache.size() < options_.min_cached_prefix) return false;
  if (slot.cache.size() < slot.kv_runs * min_saved_run_tokens_) return false;  // see options
  const std::size_t size = llama_state_seq_get_size(ctx_.get(), slot.seq);
  if (size == 0 || size > host_cache_->maxBytes()) return false;
  HostPromptCache::Entry entry;
  entry.tokens = slot.cache;
  entry.adapters = slot.cache_lora;
  entry.state.resize(size);
  const std::size_t got = llama_state_seq_get_data(ctx_.get(), entry.state.data(), size, slot.seq);
  if (got == 0) return false;
  entry.state.resize(got);
  const bool held = host_cache_->insert(std::move(entry)) ||
                    host_cache_->findBest(slot.cache, slot.cache_lora).prefix == slot.cache.size();
  std::lock_guard lock(mu_);
  host_entries_ = host_cache_->size();
  host_bytes_ = host_cache_->bytes();
  return held;
}

void Engine::Impl::parkIdle(Slot& slot) {
  if (saveToHost(slot)) drop(slot);
}

void Engine::Impl::evictIdle(Slot& slot) {
  saveToHost(slot);
  drop(slot);
}

void Engine::Impl::assign(Slot& slot, std::unique_ptr<Request> req) {
  llama_memory_t mem = llama_get_memory(ctx_.get());
  const TokenSeq& prompt = req->prompt;
  // Prompt logprobs need every prompt position's logits: nothing cached is reused.
  std::size_t keep = req->prompt_logprobs ? 0 : slot.reusablePrefix(prompt, req->lora);

  if (host_cache_ && host_cache_->size() > 0 && !req->prompt_logprobs) {
    const auto match = host_cache_->findBest(prompt, req->lora);
    if (match.prefix > keep && match.prefix >= options_.min_cached_prefix) {
      // Taken before the slot's own KV goes in: an insert moves entries (most recent first) and
      // may evict some, so match.index names the right entry only until then.
      auto entry = host_cache_->take(match.index);
      if (keep < slot.cache.size()) saveToHost(slot);
      drop(slot);
      keep = 0;
      ensureRoom(entry.tokens.size());
      if (llama_state_seq_set_data(ctx_.get(), entry.state.data(), entry.state.size(), slot.seq) !=
          0) {
        appendDecoded(slot, entry.tokens);
        slot.kv_runs = 1;  // restored into one block of cells
        slot.last_alone_step = 0;
        slot.cache_lora = std::move(entry.adapters);
        keep = match.prefix;
      } else {
        llama_memory_seq_rm(mem, slot.seq, -1, -1);
      }
      std::lock_guard lock(mu_);
      host_entries_ = host_cache_->size();
      host_bytes_ = host_cache_->bytes();
    }
  }
  if (keep < slot.cache.size()) {
    if (keep < slot.cache.size() / 2) saveToHost(slot);  // most of it is about to be lost
  }
  // At least the last prompt token is decoded again: its logits give the first token.
  keep = std::min(keep, prompt.size() - 1);
  if (!llama_memory_seq_rm(mem, slot.seq, static_cast<llama_pos>(keep), -1) ||
      !kvPrefixUsable(llama_memory_seq_pos_min(mem, slot.seq),
                      llama_memory_seq_pos_max(mem, slot.seq), keep, n_swa_)) {
    llama_memory_seq_rm(mem, slot.seq, -1, -1);
    keep = 0;
  }
  truncate(slot, keep);
  slot.cache_lora = req->lora;  // from here on the KV is this set's (what was kept already is)
  slot.last_decoded_step = step_counter_;

  req->usage.cached_tokens = static_cast<int>(keep);
  req->assigned = Clock::now();
  slot.req = std::move(req);
  slot.generating = false;
  slot.admitted_order = ++admitted_counter_;
  if (share_prefixes_ && !slot.req->prompt_logprobs) sharePrefix(slot);
}

void Engine::Impl::admit() {
  while (true) {
    std::unique_ptr<Request> req;
    Slot* best = nullptr;
    {
      std::lock_guard lock(mu_);
      if (incoming_.empty()) return;
      const TokenSeq& prompt = incoming_.front()->prompt;
      const AdapterKey& lora = incoming_.front()->lora;
      std::size_t best_prefix = 0;
      for (auto& s : slots_) {
        if (!s.idle()) continue;
        const std::size_t p = s.reusablePrefix(prompt, lora);
        if (best == nullptr || p > best_prefix ||
            (p == best_prefix && s.last_used < best->last_used)) {
          best = &s;
          best_prefix = p;
        }
      }
      if (best == nullptr) return;
      // A match shorter than min_cached_prefix and than half the prompt is not worth another
      // prompt's cache: the request takes the least recently used idle sequence instead, an
      // empty one first (llama-server does the same below its similarity threshold). Else a
      // prompt sharing its first word would overwrite a long document's KV while a sequence
      // stood empty. A short prompt asked again still finds its own.
      if (best_prefix < options_.min_cached_prefix && best_prefix * 2 < prompt.size()) {
        for (auto& s : slots_) {
          if (!s.idle()) continue;
          if (std::pair(!s.cache.empty(), s.last_used) <
              std::pair(!best->cache.empty(), best->last_used))
            best = &s;
        }
      }
      // The context must hold what running requests hold and still need, plus this prompt and
      // one token; cells it will share with a running request are counted already.
      std::size_t shared = 0;
      if (share_prefixes_ && !incoming_.front()->prompt_logprobs) {
        for (const auto& s : slots_) {
          if (!s.idle() && s.cache_lora == lora)
            shared = std::max(shared, commonPrefix(s.cache, prompt));
        }
      }
      const std::size_t need = prompt.size() + 1 - std::min(shared, prompt.size() - 1);
      if (cellsCommitted() + need > static_cast<std::size_t>(options_.n_ctx)) return;
      req = std::move(incoming_.front());
      incoming_.pop_front();
      ++active_;
    }
    if (park_idle_) {
      // Every prompt chunk attends over the whole used range of the context, idle sequences'
      // cells included (llama.cpp masks them cell by cell): a 505-token chunk after 1,500 cached
      // tokens took 19-34% longer with 6,000 idle cells in the context. So idle sequences worth
      // keeping go to the host cache (copied back if a later prompt shares them), as llama-server
      // does with --cache-idle-slots; short ones cost little and stay, and so do those the host
      // cache cannot hold (dropping them would lose what staying keeps).
      for (auto& s : slots_) {
        if (&s != best && s.idle()) parkIdle(s);
      }
    }
    assign(*best, std::move(req));
  }
}

// Makes `tokens` cells free, evicting idle sequences least recently used first.
void Engine::Impl::ensureRoom(std::size_t tokens) {
  const auto n_ctx = static_cast<std::size_t>(options_.n_ctx);
  while (cellsInUse() + tokens > n_ctx) {
    Slot* victim = nullptr;
    for (auto& s : slots_) {
      if (s.idle() && !s.cache.empty() && (victim == nullptr || s.last_used < victim->last_used)) {
        victim = &s;
      }
    }
    if (victim == nullptr) return;
    evictIdle(*victim);
  }
}

// The applied set keeps the context for up to kAdapterSetQuantum steps while other sets wait;
// then the set of the sequence that has waited longest takes it, so no set starves.
const AdapterKey& Engine::Impl::pickAdapterSet() {
  bool current_has_work = false;
  const Slot* starved = nullptr;
  for (const auto& s : slots_) {
    if (s.idle()) continue;
    if (s.req->lora == applied_lora_) {
      current_has_work = true;
    } else if (starved == nullptr || s.last_decoded_step < starved->last_decoded_step ||
               (s.last_decoded_step == starved->last_decoded_step &&
                s.admitted_order < starved->admitted_order)) {
      starved = &s;
    }
  }
  if (starved == nullptr || (current_has_work && steps_on_set_ < kAdapterSetQuantum)) {
    return applied_lora_;
  }
  return starved->req->lora;
}

void Engine::Impl::applyAdapterSet(const AdapterKey& key) {
  if (key == applied_lora_) return;
  std::vector<llama_adapter_lora*> adapters;
  std::vector<float> scales;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (key[i] == 0.0f) continue;
    adapters.push_back(adapters_[i]);
    scales.push_back(key[i]);
  }
  llama_set_adapters_lora(ctx_.get(), adapters.empty() ? nullptr : adapters.data(), adapters.size(),
                          scales.empty() ? nullptr : scales.data());
  applied_lora_ = key;
  steps_on_set_ = 0;
  std::lock_guard lock(mu_);
  ++totals_.lora_switches;
}

bool Engine::Impl::step() {
  // Where the step's time goes, for EngineStats: the forward pass, sampling, the rest; and
  // whether it decoded at all (decode_calls). One lock per step for all of them.
  struct Timing {
    Impl& impl;
    Clock::time_point started = Clock::now();
    double decode = 0;
    double sample = 0;
    bool decoded = false;
    ~Timing() {
      const double step = std::chrono::duration<double>(Clock::now() - started).count();
      std::lock_guard lock(impl.mu_);
      if (decoded) ++impl.totals_.decode_calls;
      impl.totals_.step_seconds += step;
      impl.totals_.decode_seconds += decode;
      impl.totals_.sample_seconds += sample;
    }
  } timing{*this};
  // llama_decode returns before a GPU is done; synchronizing here (sampling would anyway) puts
  // the device's time in `decode`.
  auto decode = [&](Batch& b) {
    const auto t = Clock::now();
    const int rc = llama_decode(ctx_.get(), b.get());
    if (rc == 0) llama_synchronize(ctx_.get());
    timing.decode += std::chrono::duration<double>(Clock::now() - t).count();
    return rc;
  };

  const auto n_ctx = static_cast<std::size_t>(options_.n_ctx);
  Batch& batch = *batch_;
  batch.clear();
  for (auto& s : slots_) {
    s.logits_index = -1;
    s.prompt_logits_index = -1;
    s.pending = 0;
  }

  // One adapter set per decode: only its sequences are in this step's batch.
  const AdapterKey lora = pickAdapterSet();
  applyAdapterSet(lora);
  ++steps_on_set_;
  ++step_counter_;
  auto in_set = [&lora](const Slot& s) { return !s.idle() && s.req->lora == lora; };

  // Generating sequences first: one token each.
  std::size_t n_generating = 0;
  for (auto& s : slots_) {
    if (in_set(s) && s.generating) ++n_generating;
  }
  if (n_generating > 0) {
    ensureRoom(n_generating);
    // Out of cells with nothing idle to evict: the longest sequences end (length).
    while (cellsInUse() + n_generating > n_ctx && n_generating > 0) {
      Slot* longest = nullptr;
      for (auto& s : slots_) {
        if (in_set(s) && s.generating &&
            (longest == nullptr || s.cache.size() > longest->cache.size())) {
          longest = &s;
        }
      }
      logEvent(spdlog::level::warn, "engine_context_full",
               {{"n_ctx", options_.n_ctx}, {"request", static_cast<long long>(longest->req->id)}});
      finish(*longest, FinishReason::kLength);
      --n_generating;
    }
  }
  for (auto& s : slots_) {
    if (!in_set(s) || !s.generating) continue;
    s.logits_index = batch.add(s.next_token, static_cast<llama_pos>(s.cache.size()), s.seq, true);
    s.pending = 1;
  }

  // Then prompt chunks, oldest request first, up to the batch size.
  std::vector<Slot*> prefill;
  for (auto& s : slots_) {
    if (in_set(s) && !s.generating) prefill.push_back(&s);
  }
  std::ranges::sort(prefill, {}, &Slot::admitted_order);
  for (Slot* s : prefill) {
    const int budget = batch.capacity() - batch.size();
    if (budget <= 0) break;
    const bool prompt_logprobs = s->req->prompt_logprobs;
    if (share_prefixes_ && !prompt_logprobs && sharePrefix(*s)) continue;
    const std::size_t remaining = s->promptRemaining();
    std::size_t take = std::min<std::size_t>(remaining, static_cast<std::size_t>(budget));
    // Every token of such a chunk has a logits row: shorter chunks bound that buffer.
    if (prompt_logprobs) take = std::min(take, kPromptLogprobsChunk);
    ensureRoom(take + static_cast<std::size_t>(batch.size()));
    const std::size_t free_cells =
        n_ctx - std::min(n_ctx, cellsInUse() + static_cast<std::size_t>(batch.size()));
    take = std::min(take, free_cells);
    if (take == 0) continue;
    const std::size_t start = s->cache.size();
    for (std::size_t i = 0; i < take; ++i) {
      const bool last = start + i + 1 == s->req->prompt.size();
      const int idx = batch.add(s->req->prompt[start + i], static_cast<llama_pos>(start + i),
                                s->seq, last || prompt_logprobs);
      if (last) s->logits_index = idx;
      if (prompt_logprobs && i == 0) s->prompt_logits_index = idx;
    }
    s->pending = static_cast<int>(take);
  }
  if (batch.size() == 0) {
    // Nothing of this set fits now: let another set have the next step.
    steps_on_set_ = kAdapterSetQuantum;
    return n_generating > 0;  // ended by context-full counts as progress
  }

  int rc = decode(batch);
  if (rc == 1) {
    // No contiguous room: make more and let the next step try again.
    for (auto& s : slots_) {
      if (s.idle() && !s.cache.empty()) evictIdle(s);
    }
    rc = decode(batch);
    if (rc == 1) {
      logEvent(spdlog::level::warn, "engine_decode_no_room",
               {{"batch", batch.size()}, {"cells", static_cast<long long>(cellsInUse())}});
      // Retry with prompt chunks only for the oldest request next time; end the longest if
      // even generation alone does not fit.
      Slot* longest = nullptr;
      for (auto& s : slots_) {
        if (!s.idle() && (longest == nullptr || s.cache.size() > longest->cache.size()))
          longest = &s;
      }
      if (longest != nullptr) {
        if (longest->generating) {
          finish(*longest, FinishReason::kLength);
        } else {
          failSlot(*longest,
                   Status(ErrorCode::kUnavailable, "engine context is full; retry later"));
        }
      }
      return true;
    }
  }
  timing.decoded = true;
  if (rc != 0) {
    const Status err(ErrorCode::kInternal, "llama_decode failed (" + std::to_string(rc) + ")");
    for (auto& s : slots_) {
      if (s.pending > 0) failSlot(s, err);
    }
    return true;
  }

  const auto now = Clock::now();
  const auto in_step = std::ranges::count_if(slots_, [](const Slot& s) { return s.pending > 0; });
  std::vector<Slot*> to_sample;
  for (auto& s : slots_) {
    if (s.pending == 0) continue;
    s.last_decoded_step = step_counter_;
    if (in_step > 1 || s.last_alone_step + 1 != step_counter_ || s.kv_runs == 0) ++s.kv_runs;
    s.last_alone_step = in_step == 1 ? step_counter_ : 0;
    if (s.generating) {
      appendDecoded(s, std::span(&s.next_token, 1));
    } else {
      const std::size_t start = s.cache.size();
      if (s.req->prompt_logprobs) promptLogprobs(s, start);
      appendDecoded(s,
                    std::span(s.req->prompt).subspan(start, static_cast<std::size_t>(s.pending)));
      s.req->prompt_decoded += s.pending;
      if (s.logits_index < 0) continue;  // prompt not finished yet
      s.generating = true;
      s.req->first_token = now;
      if (s.req->max_tokens == 0) {  // only the prompt's logprobs were asked for
        finish(s, FinishReason::kLength);
        continue;
      }
    }
    to_sample.push_back(&s);
  }

  const auto sampling_started = Clock::now();
  sampleAll(to_sample);
  timing.sample += std::chrono::duration<double>(Clock::now() - sampling_started).count();
  for (Slot* s : to_sample) {
    if (!s->sample_error.empty()) {
      // The grammar sampler throws when no token can continue; one request fails, not all.
      failSlot(*s, Status(ErrorCode::kInternal, "sampling: " + s->sample_error));
      continue;
    }
    handleToken(*s, s->sampled);
  }
  return true;
}

// The next token of every slot in `slots` (into Slot::sampled, or Slot::sample_error).
// A sampler without a grammar reads nothing but its own state and the step's logits, so those
// sample in parallel on the compute threads, idle between decodes (with 152k-token vocabularies
// a sampler pass over the logits costs ~0.3 ms; 8 of them in a row were 10% of a small model's
// step on the CPU, and a GPU's forward pass is shorter still). What common_sampler_sample does
// for them is done here the same way: the candidates are every token with its logit, then the
// sampler chain picks one. Grammar-constrained slots use common_sampler_sample (grammar checks
// and resampling) on this thread. llama.cpp is asked for each logits row here, on this thread:
// the first call orders the outputs, and nothing in the parallel part calls into the context.
void Engine::Impl::sampleAll(std::span<Slot* const> slots) {
  std::vector<Slot*> plain;
  std::vector<const float*> logits;
  for (Slot* s : slots) {
    s->sample_error.clear();
    if (s->req->grammar) continue;
    plain.push_back(s);
    logits.push_back(llama_get_logits_ith(ctx_.get(), s->logits_index));
  }
  const auto n_plain = static_cast<std::ptrdiff_t>(plain.size());
  auto samplePlain = [&](std::ptrdiff_t i, std::size_t thread) {
    Slot& s = *plain[static_cast<std::size_t>(i)];
    const float* row = logits[static_cast<std::size_t>(i)];
    if (row == nullptr) {
      s.sample_error = "no logits for this sequence";
      return;
    }
    std::vector<llama_token_data>& candidates = candidates_[thread];
    candidates.resize(static_cast<std::size_t>(n_vocab_));
    for (llama_token t = 0; t < n_vocab_; ++t) candidates[t] = {t, row[t], 0.0f};
    llama_token_data_array cur{candidates.data(), candidates.size(), -1, false};
    llama_sampler_apply(common_sampler_get(s.req->sampler.get()), &cur);
    if (cur.selected < 0 || static_cast<std::size_t>(cur.selected) >= cur.size) {
      s.sample_error = "the sampler chain selected no token";
      return;
    }
    s.sampled = cur.data[cur.selected].id;
    if (s.req->logprobs >= 0) {
      s.sampled_logprob = logSoftmaxAt(row, n_vocab_, s.sampled, s.req->logprobs, s.sampled_top);
    }
  };
#ifdef _OPENMP
  const int threads = static_cast<int>(
      std::clamp<std::ptrdiff_t>(n_plain, 1, static_cast<std::ptrdiff_t>(candidates_.size())));
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
  for (std::ptrdiff_t i = 0; i < n_plain; ++i) {
    samplePlain(i, static_cast<std::size_t>(omp_get_thread_num()));
  }
#else
  for (std::ptrdiff_t i = 0; i < n_plain; ++i) samplePlain(i, 0);
#endif

  for (Slot* s : slots) {
    if (!s->sample_error.empty()) continue;
    try {
      if (s->req->grammar) {
        s->sampled = common_sampler_sample(s->req->sampler.get(), ctx_.get(), s->logits_index);
        if (s->req->logprobs >= 0) {
          s->sampled_logprob = logSoftmaxAt(llama_get_logits_ith(ctx_.get(), s->logits_index),
                                            n_vocab_, s->sampled, s->req->logprobs, s->sampled_top);
        }
      }
      common_sampler_accept(s->req->sampler.get(), s->sampled, true);
    } catch (const std::exception& e) {
      s->sample_error = e.what();
    }
  }
}

void Engine::Impl::promptLogprobs(Slot& slot, std::size_t start) {
  Request& req = *slot.req;
  const TokenSeq& prompt = req.prompt;
  auto piece = [&](llama_token t) { return common_token_to_piece(vocab_, t, true); };
  if (start == 0) {
    req.prompt_logprobs_ready.push_back(
        TokenLogprob{piece(prompt[0]), std::numeric_limits<float>::quiet_NaN(), {}});
  }
  const int n_top = std::max(req.logprobs, 0);
  // Position p's logits say how likely the token at p + 1 was; the last position's give the
  // first generated token (sampled as usual). The rows are asked for here, on this thread (see
  // sampleAll); the log-softmax of each, two passes over the vocabulary, runs on the compute
  // threads, idle between decodes.
  std::vector<const float*> rows;
  for (int i = 0; i < slot.pending; ++i) {
    if (start + static_cast<std::size_t>(i) + 1 >= prompt.size()) break;
    const float* row = llama_get_logits_ith(ctx_.get(), slot.prompt_logits_index + i);
    if (row == nullptr) break;
    rows.push_back(row);
  }
  const auto n_rows = static_cast<std::ptrdiff_t>(rows.size());
  std::vector<float> logprob(rows.size());
  std::vector<std::vector<std::pair<llama_token, float>>> top(rows.size());
  auto score = [&](std::ptrdiff_t i) {
    logprob[i] = logSoftmaxAt(rows[i], n_vocab_, prompt[start + i + 1], n_top, top[i]);
  };
#ifdef _OPENMP
  const int threads = static_cast<int>(
      std::clamp<std::ptrdiff_t>(n_rows, 1, static_cast<std::ptrdiff_t>(candidates_.size())));
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (std::ptrdiff_t i = 0; i < n_rows; ++i) score(i);
#else
  for (std::ptrdiff_t i = 0; i < n_rows; ++i) score(i);
#endif
  for (std::ptrdiff_t i = 0; i < n_rows; ++i) {
    TokenLogprob lp{piece(prompt[start + i + 1]), logprob[i], {}};
    lp.top.reserve(top[i].size());
    for (const auto& [id, value] : top[i]) lp.top.emplace_back(piece(id), value);
    req.prompt_logprobs_ready.push_back(std::move(lp));
  }
}

void Engine::Impl::handleToken(Slot& slot, llama_token token) {
  Request& req = *slot.req;
  ++req.usage.completion_tokens;
  generated_.fetch_add(1, std::memory_order_relaxed);
  if (llama_vocab_is_eog(vocab_, token)) {
    finish(slot, FinishReason::kStop);
    return;
  }
  const std::string piece =
      common_token_to_piece(vocab_, token, req.render_special.contains(token));
  if (req.logprobs >= 0) {
    TokenLogprob lp{piece, slot.sampled_logprob, {}};
    lp.top.reserve(slot.sampled_top.size());
    for (const auto& [id, logprob] : slot.sampled_top) {
      lp.top.emplace_back(common_token_to_piece(vocab_, id, req.render_special.contains(id)),
                          logprob);
    }
    req.bytes_fed += piece.size();
    req.logprobs_held.emplace_back(std::move(lp), req.bytes_fed);
  }
  auto out = req.stop->feed(piece);
  releaseLogprobs(req, out.text.size());
  EngineEvent ev;
  ev.kind = EngineEvent::Kind::kToken;
  if (!out.text.empty()) {
    req.text += out.text;
    if (req.parser) {
      req.parser->update(req.text, /*is_partial=*/true, ev);
    } else {
      ev.text = std::move(out.text);
    }
  }
  if (eventHasContent(ev)) {
    ev.usage = req.usage;
    ev.logprobs = std::exchange(req.logprobs_ready, {});
    ev.prompt_logprobs = std::exchange(req.prompt_logprobs_ready, {});
    deliver(req.on_event, std::move(ev));
  }
  if (out.stopped) {
    finish(slot, FinishReason::kStop);
  } else if (req.usage.completion_tokens >= req.max_tokens ||
             slot.cache.size() + 1 >= static_cast<std::size_t>(options_.n_ctx)) {
    finish(slot, FinishReason::kLength);
  } else {
    slot.next_token = token;
  }
}

void Engine::Impl::finish(Slot& slot, FinishReason reason) {
  std::unique_ptr<Request> req = std::move(slot.req);
  slot.generating = false;
  slot.last_used = Clock::now();
  const auto now = slot.last_used;

  EngineEvent tail;
  tail.kind = EngineEvent::Kind::kToken;
  std::string rest = req->stop->flush();
  if (reason == FinishReason::kCancelled) rest.clear();
  releaseLogprobs(*req, rest.size());  // a stop string's tokens stay held: never reported
  if (req->parser) {
    req->text += rest;
    if (reason != FinishReason::kCancelled)
      req->parser->update(req->text, /*is_partial=*/false, tail);
  } else {
    tail.text = std::move(rest);
  }
  if (reason != FinishReason::kCancelled) {
    tail.logprobs = std::move(req->logprobs_ready);
    tail.prompt_logprobs = std::move(req->prompt_logprobs_ready);
  }
  if (eventHasContent(tail) || !tail.logprobs.empty() || !tail.prompt_logprobs.empty()) {
    tail.usage = req->usage;
    deliver(req->on_event, std::move(tail));
  }
  if (reason == FinishReason::kStop && req->parser && req->parser->hasToolCalls()) {
    reason = FinishReason::kToolCalls;
  }

  EngineEvent done;
  done.kind = EngineEvent::Kind::kDone;
  done.finish_reason = reason;
  if (reason == FinishReason::kStop && req->stop->stopped() &&
      std::ranges::find(req->user_stops, req->stop->matched()) != req->user_stops.end()) {
    done.stop_sequence = req->stop->matched();
  }
  done.usage = req->usage;
  done.timings.queue_ms = msBetween(req->enqueued, req->assigned);
  const bool started = req->first_token != Clock::time_point{};
  done.timings.prompt_ms = msBetween(req->assigned, started ? req->first_token : now);
  done.timings.decode_ms = started ? msBetween(req->first_token, now) : 0.0;
  done.timings.prompt_tokens_decoded = req->prompt_decoded;
  {
    std::lock_guard lock(mu_);
    --active_;
    ++totals_.requests_done;
    totals_.prompt_tokens += static_cast<std::uint64_t>(req->usage.prompt_tokens);
    totals_.cached_tokens += static_cast<std::uint64_t>(req->usage.cached_tokens);
    if (req->usage.cached_tokens > 0) ++totals_.prompt_cache_hits;
    totals_.completion_tokens += static_cast<std::uint64_t>(req->usage.completion_tokens);
  }
  logEvent(spdlog::level::debug, "engine_request_done",
           {{"id", static_cast<long long>(req->id)},
            {"finish", finishReasonName(reason)},
            {"prompt_tokens", req->usage.prompt_tokens},
            {"cached_tokens", req->usage.cached_tokens},
            {"completion_tokens", req->usage.completion_tokens},
            {"prompt_ms", done.timings.prompt_ms},
            {"decode_ms", done.timings.decode_ms}});
  deliver(req->on_event, std::move(done));
}

void Engine::Impl::failSlot(Slot& slot, Status error) {
  std::unique_ptr<Request> req = std::move(slot.req);
  slot.generating = false;
  slot.last_used = Clock::now();
  // What the sequence holds after a failed decode is unknown: start it afresh.
  drop(slot);
  {
    std::lock_guard lock(mu_);
    --active_;
  }
  logEvent(spdlog::level::err, "engine_request_failed",
           {{"id", static_cast<long long>(req->id)}, {"error", error.message()}});
  EngineEvent ev;
  ev.kind = EngineEvent::Kind::kError;
  ev.usage = req->usage;
  ev.error = std::move(error);
  deliver(req->on_event, std::move(ev));
}

// ---------------------------------------------------------------------------------------------
// Embeddings (engine thread, between decode steps).

Result<Embeddings> Engine::Impl::computeEmbeddings(const std::vector<std::string>& texts) {
  const auto n_batch = static_cast<std::size_t>(llama_n_batch(embd_ctx_.get()));
  const int n_embd = llama_model_n_embd_out(model_.get()) > 0 ? llama_model_n_embd_out(model_.get())
                                                              : llama_model_n_embd(model_.get());
  std::vector<TokenSeq> inputs;
  inputs.reserve(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto tokens = tokenize(texts[i]);
    if (!tokens) return fail(tokens.error());
    if (tokens->empty()) {
      return fail(Status(ErrorCode::kInvalidArgument, "input " + std::to_string(i) + " is empty")
                      .withParam("input"));
    }
    if (tokens->size() > n_batch) {
      return fail(Status(ErrorCode::kInvalidArgument,
                         "input " + std::to_string(i) + " is " + std::to_string(tokens->size()) +
                             " tokens but the context holds " + std::to_string(n_batch))
                      .withParam("input"));
    }
    inputs.push_back(std::move(*tokens));
  }

  Embeddings out(inputs.size());
  Status decoded = decodePooled(inputs, [&](std::size_t index, const float* e) {
    std::vector<float> v(static_cast<std::size_t>(n_embd));
    common_embd_normalize(e, v.data(), n_embd, 2);  // L2
    out[index] = std::move(v);
  });
  if (!decoded.isOk()) return fail(std::move(decoded));
  return out;
}

Status Engine::Impl::decodePooled(const std::vector<TokenSeq>& inputs,
                                  const std::function<void(std::size_t, const float*)>& take) {
  llama_context* ctx = embd_ctx_.get();
  const auto n_batch = static_cast<std::size_t>(llama_n_batch(ctx));
  const auto n_seq_max = static_cast<std::size_t>(llama_n_seq_max(ctx));
  const bool encoder_only =
      llama_model_has_encoder(model_.get()) && !llama_model_has_decoder(model_.get());
  Batch batch(static_cast<int>(n_batch));
  std::size_t next = 0;
  while (next < inputs.size()) {
    batch.clear();
    std::vector<std::size_t> members;
    // Several short inputs share a decode; a long one goes alone.
    while (next < inputs.size() && members.size() < n_seq_max &&
           (members.empty() || static_cast<std::size_t>(batch.size()) + inputs[next].size() <=
                                   kEmbeddingBatchTokens)) {
      const auto seq = static_cast<llama_seq_id>(members.size());
      for (std::size_t p = 0; p < inputs[next].size(); ++p) {
        batch.add(inputs[next][p], static_cast<llama_pos>(p), seq, true);
      }
      members.push_back(next++);
    }
    llama_memory_clear(llama_get_memory(ctx), true);
    const int rc = encoder_only ? llama_encode(ctx, batch.get()) : llama_decode(ctx, batch.get());
    if (rc != 0) {
      return Status(ErrorCode::kInternal, "pooled decode failed (" + std::to_string(rc) + ")");
    }
    for (std::size_t m = 0; m < members.size(); ++m) {
      const float* e = llama_get_embeddings_seq(ctx, static_cast<llama_seq_id>(m));
      if (e == nullptr) return Status(ErrorCode::kInternal, "model produced no pooled output");
      take(members[m], e);
    }
  }
  return Status::ok();
}

void Engine::Impl::runEmbeddings(EmbeddingJob& job) {
  if (job.scored) {
    Scores scores(job.pairs.size());
    Status s;
    try {
      s = decodePooled(job.pairs, [&](std::size_t i, const float* e) { scores[i] = e[0]; });
    } catch (const std::exception& e) {
      s = Status(ErrorCode::kInternal, std::string("rerank: ") + e.what());
    }
    try {
      job.scored(s.isOk() ? Result<Scores>(std::move(scores)) : Result<Scores>(fail(std::move(s))));
    } catch (...) {
      SY_BUG("rerank callback threw");
    }
    return;
  }
  Result<Embeddings> result = [&]() -> Result<Embeddings> {
    try {
      return computeEmbeddings(job.texts);
    } catch (const std::exception& e) {
      return fail(ErrorCode::kInternal, std::string("embeddings: ") + e.what());
    }
  }();
  try {
    job.done(std::move(result));
  } catch (...) {
    SY_BUG("embedding callback threw");
  }
}

// ---------------------------------------------------------------------------------------------

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() {
  impl_.reset();
  // The context's KV cache and compute buffers (gigabytes for a real model) were malloc'd;
  // tcmalloc would keep the freed pages for reuse and return them only gradually.
  releaseFreeMemory();
}

Result<std::unique_ptr<Engine>> Engine::create(EngineOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto st = impl->init(); !st.isOk()) return fail(std::move(st));
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<std::uint64_t> Engine::enqueue(GenerationRequest request, EventCallback on_event) {
  return impl_->enqueue(std::move(request), std::move(on_event));
}

void Engine::cancel(std::uint64_t id) { impl_->cancel(id); }

Status Engine::embedAsync(std::vector<std::string> texts, EmbeddingCallback done) {
  return impl_->embedAsync(std::move(texts), std::move(done));
}

Result<Embeddings> Engine::embed(std::vector<std::string> texts) {
  auto promise = std::make_shared<std::promise<Result<Embeddings>>>();
  auto future = promise->get_future();
  auto st = impl_->embedAsync(
      std::move(texts), [promise](Result<Embeddings> r) { promise->set_value(std::move(r)); });
  if (!st.isOk()) return fail(std::move(st));
  return future.get();
}

Status Engine::rerankAsync(std::string query, std::vector<std::string> documents,
                           ScoresCallback done) {
  return impl_->rerankAsync(query, documents, std::move(done));
}

Result<Scores> Engine::rerank(std::string query, std::vector<std::string> documents) {
  auto promise = std::make_shared<std::promise<Result<Scores>>>();
  auto future = promise->get_future();
  auto st = impl_->rerankAsync(query, documents, [promise](Result<Scores> r) {
    promise->set_value(std::move(r));
  });
  if (!st.isOk()) return fail(std::move(st));
  return future.get();
}

bool Engine::isReranker() const { return impl_->isReranker(); }

Result<int> Engine::countPromptTokens(const GenerationRequest& request) {
  return impl_->countPromptTokens(request);
}

Result<std::vector<std::int32_t>> Engine::tokenize(const std::string& text, bool add_special) {
  return impl_->tokenizeText(text, add_special);
}

const ModelInfo& Engine::info() const { return impl_->info_; }
const EngineOptions& Engine::options() const { return impl_->options_; }
EngineStats Engine::stats() const { return impl_->stats(); }

}  // namespace switchyard::engine
