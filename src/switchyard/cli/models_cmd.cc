// `switchyard models ...`: make a tiny model, inspect a GGUF file, quantize.

#include "switchyard/cli/models_cmd.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "switchyard/core/progress.h"
#include "switchyard/engine/model_maker.h"

namespace switchyard::cli {

namespace fs = std::filesystem;

namespace {

// Where llama.cpp's vocab files and chat templates are: the source tree this binary was built
// against, unless the environment says otherwise.
std::string llamaModelsDir() {
  if (const char* dir = std::getenv("SWITCHYARD_LLAMA_MODELS"); dir != nullptr && *dir != 0) {
    return dir;
  }
  return std::string(SY_LLAMA_DIR) + "/src/models";
}

struct MakeTinyArgs {
  std::string out;
  std::string preset = "chat";
  std::string vocab;
  std::string chat_template;
  std::string shape = "tiny";
  std::string weight_type = "f32";
  std::string quantize;
  std::vector<std::string> added_tokens;
  std::string memorize;  // JSON file of {"question", "answer"} objects
  std::string fallback = "I do not know.";
  int layers = 0, dim = 0, heads = 0, kv_heads = 0, ff = 0, ctx = 0;
  std::uint64_t seed = 42;
  bool force = false;
};

struct MakeTinyLoraArgs {
  std::string base, out;
  int rank = 8;
  std::uint64_t seed = 7;
  bool force = false;
};

struct InspectArgs {
  std::string path;
  bool json = false;
  bool no_hash = false;
};

struct QuantizeArgs {
  std::string in, out, type;
  int threads = 0;
};

std::string humanBytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string humanCount(std::uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", n / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f}K", n / 1e3);
  return std::to_string(n);
}

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

// --memorize FILE: a JSON array of {"question": "...", "answer": "..."} objects.
Result<std::vector<engine::QuestionAnswer>> readQuestions(const std::string& file) {
  std::ifstream in(file);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(ss.str(), ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, file + ": not valid JSON: " + ec.message());
  const auto bad = [&](const std::string& what) {
    return fail(
        ErrorCode::kInvalidArgument,
        file + ": " + what + " (expected [{\"question\": \"...\", \"answer\": \"...\"}, ...])");
  };
  if (!doc.is_array() || doc.as_array().empty()) return bad("not a non-empty array");
  std::vector<engine::QuestionAnswer> out;
  for (std::size_t i = 0; i < doc.as_array().size(); ++i) {
    const auto* item = doc.as_array()[i].if_object();
    const auto* q = item != nullptr ? item->if_contains("question") : nullptr;
    const auto* a = item != nullptr ? item->if_contains("answer") : nullptr;
    if (q == nullptr || a == nullptr || !q->is_string() || !a->is_string()) {
      return bad("item " + std::to_string(i) + " has no string \"question\" and \"answer\"");
    }
    out.push_back({std::string(q->as_string()), std::string(a->as_string())});
  }
  return out;
}

int makeTiny(const MakeTinyArgs& a) {
  engine::TinyModelSpec spec;
  const std::string models = llamaModelsDir();
  // Presets: what a model needs to be useful for tests and the embedded default.
  std::string vocab = a.vocab, tmpl = a.chat_template;
  std::vector<std::string> added = a.added_tokens;
  if (a.preset == "chat") {
    if (vocab.empty()) vocab = "qwen2";
    // Qwen2.5's template handles tools; its tags become single tokens in the vocab's free slots.
    if (tmpl.empty()) tmpl = "Qwen-Qwen2.5-7B-Instruct";
    if (added.empty()) added = {"<tool_call>", "</tool_call>", "<think>", "</think>"};
  } else if (a.preset == "reranker") {
    // A Qwen3-Reranker-shaped cross-encoder: rank pooling, a yes/no head, a rerank template.
    if (vocab.empty()) vocab = "qwen2";
    spec.arch = "qwen3";
    spec.reranker = true;
  } else if (vocab.empty()) {
    vocab = "qwen2";
  }
  spec.vocab_path = vocab.find('/') != std::string::npos || vocab.ends_with(".gguf")
                        ? vocab
                        : models + "/ggml-vocab-" + vocab + ".gguf";
  if (!tmpl.empty()) {
    const std::string file = tmpl.find('/') != std::string::npos || tmpl.ends_with(".jinja")
                                 ? tmpl
                                 : models + "/templates/" + tmpl + ".jinja";
    std::ifstream in(file);
    if (!in) {
      std::cerr << "switchyard models make-tiny: cannot read chat template " << file << "\n";
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    spec.chat_template = ss.str();
  }
  spec.added_tokens = added;

  if (a.shape == "qwen2-0.5b") {
    // Qwen2-0.5B's hyper-parameters: the realistic size for throughput benchmarks.
    spec.n_layer = 24;
    spec.n_embd = 896;
    spec.n_head = 14;
    spec.n_head_kv = 2;
    spec.n_ff = 4864;
    spec.n_ctx_train = 32768;
  } else if (a.shape != "tiny") {
    std::cerr << "switchyard models make-tiny: unknown --shape '" << a.shape
              << "' (tiny or qwen2-0.5b)\n";
    return 2;
  }
  if (!a.memorize.empty()) {
    auto questions = readQuestions(a.memorize);
    if (!questions) {
      std::cerr << "switchyard models make-tiny: " << questions.error().message() << "\n";
      return 1;
    }
    spec.memorize = std::move(*questions);
    spec.fallback_answer = a.fallback;
    spec.n_layer = 1;  // the lookup lives in one layer; more would be zero
  }
  if (a.layers > 0) spec.n_layer = a.layers;
  if (a.dim > 0) spec.n_embd = a.dim;
  if (a.heads > 0) spec.n_head = a.heads;
  if (a.kv_heads > 0) spec.n_head_kv = a.kv_heads;
  if (a.ff > 0) spec.n_ff = a.ff;
  if (a.ctx > 0) spec.n_ctx_train = a.ctx;
  spec.seed = a.seed;
  spec.weight_type = a.weight_type;
  spec.name = "switchyard-tiny-" + fs::path(a.out).stem().string();

  std::error_code ec;
  if (!a.force && fs::exists(a.out, ec)) {
    std::cerr << "switchyard models make-tiny: " << a.out
              << " exists (pass --force to overwrite)\n";
    return 1;
  }
  if (const auto parent = fs::path(a.out).parent_path(); !parent.empty()) {
    fs::create_directories(parent, ec);
  }
  // Quantizing writes the f32 model beside the output first.
  spec.out_path = a.quantize.empty() ? a.out : a.out + ".f32.tmp";
  ProgressBar bar("make-tiny " + fs::path(a.out).filename().string());
  bar.update(0);
  if (auto r = engine::makeTinyModel(spec); !r) {
    std::cerr << "switchyard models make-tiny: " << r.error().message() << "\n";
    return 1;
  }
  if (!a.quantize.empty()) {
    bar.update(0.5);
    auto q = engine::quantizeModel(spec.out_path, a.out, a.quantize);
    fs::remove(spec.out_path, ec);
    if (!q) {
      std::cerr << "switchyard models make-tiny: " << q.error().message() << "\n";
      return 1;
    }
  }
  auto info = engine::inspectModel(a.out, false);
  bar.done(info ? fmt::format("{} parameters, {}, {}", humanCount(info->n_params), info->file_type,
                              humanBytes(info->file_bytes))
                : std::string());
  std::cout << a.out << "\n";
  return 0;
}

int makeTinyLora(const MakeTinyLoraArgs& a) {
  std::error_code ec;
  if (!a.force && fs::exists(a.out, ec)) {
    std::cerr << "switchyard models make-tiny-lora: " << a.out
              << " exists (pass --force to overwrite)\n";
    return 1;
  }
  if (const auto parent = fs::path(a.out).parent_path(); !parent.empty()) {
    fs::create_directories(parent, ec);
  }
  engine::TinyLoraSpec spec;
  spec.base_path = a.base;
  spec.out_path = a.out;
  spec.rank = a.rank;
  spec.seed = a.seed;
  spec.name = "switchyard-tiny-lora-" + fs::path(a.out).stem().string();
  if (auto r = engine::makeTinyLora(spec); !r) {
    std::cerr << "switchyard models make-tiny-lora: " << r.error().message() << "\n";
    return 1;
  }
  std::cout << a.out << "\n";
  return 0;
}

int inspect(const InspectArgs& a) {
  auto info = engine::inspectModel(a.path, !a.no_hash);
  if (!info) {
    std::cerr << "switchyard models inspect: " << info.error().message() << "\n";
    return 1;
  }
  const auto& m = *info;
  if (a.json) {
    std::cout << fmt::format(
        "{{\"path\":\"{}\",\"name\":\"{}\",\"architecture\":\"{}\",\"parameters\":{},"
        "\"file_type\":\"{}\",\"file_bytes\":{},\"tensor_bytes\":{},\"context_length\":{},"
        "\"embedding_length\":{},\"layers\":{},\"heads\":{},\"kv_heads\":{},\"vocab_size\":{},"
        "\"has_chat_template\":{},\"sha256\":\"{}\"}}\n",
        jsonEscape(m.path), jsonEscape(m.name), jsonEscape(m.architecture), m.n_params,
        jsonEscape(m.file_type), m.file_bytes, m.tensor_bytes, m.n_ctx_train, m.n_embd, m.n_layer,
        m.n_head, m.n_head_kv, m.n_vocab, m.chat_template.empty() ? "false" : "true", m.sha256);
    return 0;
  }
  std::cout << fmt::format(
      "path            {}\n"
      "name            {}\n"
      "architecture    {}\n"
      "parameters      {} ({})\n"
      "quantization    {}\n"
      "file size       {}\n"
      "context length  {}\n"
      "embedding size  {}\n"
      "layers          {}\n"
      "heads           {} (kv {})\n"
      "vocabulary      {}\n"
      "chat template   {}\n",
      m.path, m.name.empty() ? "-" : m.name, m.architecture, humanCount(m.n_params), m.n_params,
      m.file_type, humanBytes(m.file_bytes), m.n_ctx_train, m.n_embd, m.n_layer, m.n_head,
      m.n_head_kv, m.n_vocab,
      m.chat_template.empty() ? "none" : fmt::format("yes ({} chars)", m.chat_template.size()));
  if (!m.sha256.empty()) std::cout << "sha256          " << m.sha256 << "\n";
  return 0;
}

int quantize(const QuantizeArgs& a) {
  auto before = engine::inspectModel(a.in, false);
  if (!before) {
    std::cerr << "switchyard models quantize: " << before.error().message() << "\n";
    return 1;
  }
  std::string type = a.type;
  std::ranges::transform(type, type.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::vector<std::string> known = engine::quantizationTypes();
  if (std::ranges::find(known, type) == known.end()) {
    // Let quantizeModel word the error (it lists the known types), before any progress output.
    std::cerr << "switchyard models quantize: "
              << engine::quantizeModel(a.in, a.out, a.type).error().message() << "\n";
    return 2;
  }
  ProgressBar bar("quantize " + fs::path(a.in).filename().string() + " -> " + type);
  bar.update(0);
  if (auto r = engine::quantizeModel(a.in, a.out, a.type, a.threads); !r) {
    std::cerr << "switchyard models quantize: " << r.error().message() << "\n";
    return 1;
  }
  auto after = engine::inspectModel(a.out, false);
  bar.done(after ? fmt::format("{} -> {}, {}", humanBytes(before->file_bytes),
                               humanBytes(after->file_bytes), after->file_type)
                 : std::string());
  std::cout << a.out << "\n";
  return 0;
}

}  // namespace

void addModelsCommand(CLI::App& app, std::function<int()>& action) {
  auto* models = app.add_subcommand("models", "Make, inspect and quantize GGUF models");
  models->require_subcommand(1);

  auto tiny = std::make_shared<MakeTinyArgs>();
  auto* make = models->add_subcommand(
      "make-tiny",
      "Write a small random-weight GGUF model with a real tokenizer and chat template copied "
      "from llama.cpp's models/ggml-vocab-*.gguf (for tests, demos and benchmarks)");
  make->add_option("-o,--out", tiny->out, "output GGUF file")->required();
  make->add_option("--preset", tiny->preset,
                   "chat: Qwen2.5 chat template with tool-call tokens (default); plain: the "
                   "vocab file's own template; reranker: a qwen3 cross-encoder with rank pooling "
                   "and a yes/no head (serve it with 'embeddings: true'; POST /v1/rerank)")
      ->check(CLI::IsMember({"chat", "plain", "reranker"}));
  make->add_option("--vocab", tiny->vocab,
                   "vocab name (qwen2, llama-bpe, ...) or path to a ggml-vocab-*.gguf file");
  make->add_option("--template", tiny->chat_template,
                   "chat template name under llama.cpp's models/templates, or a .jinja file");
  make->add_option("--shape", tiny->shape, "tiny (default) or qwen2-0.5b (realistic size)");
  make->add_option("--layers", tiny->layers, "layers (overrides the shape)");
  make->add_option("--dim", tiny->dim, "embedding size (overrides the shape)");
  make->add_option("--heads", tiny->heads, "attention heads");
  make->add_option("--kv-heads", tiny->kv_heads, "key/value heads");
  make->add_option("--ff", tiny->ff, "feed-forward size");
  make->add_option("--ctx", tiny->ctx, "training context length written to the file");
  make->add_option("--weights", tiny->weight_type, "f32 or f16")
      ->check(CLI::IsMember({"f32", "f16"}));
  make->add_option("--quantize", tiny->quantize, "quantize the result, e.g. q8_0 or q4_0");
  make->add_option("--added-tokens", tiny->added_tokens, "tokens to add (comma separated)")
      ->delimiter(',');
  make->add_option("--seed", tiny->seed, "weight seed (same seed, same file)");
  make->add_option("--memorize", tiny->memorize,
                   "JSON file of [{\"question\": ..., \"answer\": ...}]: instead of random "
                   "weights, a model that answers each question with its answer (greedy "
                   "decoding; built, not trained, in one layer), so tests can check content")
      ->check(CLI::ExistingFile);
  make->add_option("--fallback", tiny->fallback,
                   "with --memorize: the answer to any other question (default \"I do not "
                   "know.\"; empty: none)");
  make->add_flag("-f,--force", tiny->force, "overwrite an existing file");
  make->callback([tiny, &action] { action = [tiny] { return makeTiny(*tiny); }; });

  auto lora = std::make_shared<MakeTinyLoraArgs>();
  auto* make_lora = models->add_subcommand(
      "make-tiny-lora",
      "Write a random LoRA adapter GGUF for a model made by make-tiny (attention, FFN and output "
      "weights), strong enough to change its output");
  make_lora->add_option("--base", lora->base, "the base GGUF model")->required();
  make_lora->add_option("-o,--out", lora->out, "output adapter GGUF file")->required();
  make_lora->add_option("--rank", lora->rank, "LoRA rank (default 8)")->check(CLI::Range(1, 1024));
  make_lora->add_option("--seed", lora->seed, "weight seed (same seed, same file)");
  make_lora->add_flag("-f,--force", lora->force, "overwrite an existing file");
  make_lora->callback([lora, &action] { action = [lora] { return makeTinyLora(*lora); }; });

  auto insp = std::make_shared<InspectArgs>();
  auto* inspect_cmd = models->add_subcommand("inspect", "Show a GGUF model's metadata");
  inspect_cmd->add_option("FILE", insp->path, "GGUF file")->required();
  inspect_cmd->add_flag("--json", insp->json, "print one JSON object");
  inspect_cmd->add_flag("--no-hash", insp->no_hash, "skip the file's SHA-256 (large files)");
  inspect_cmd->callback([insp, &action] { action = [insp] { return inspect(*insp); }; });

  auto q = std::make_shared<QuantizeArgs>();
  std::string types;
  for (const auto& t : engine::quantizationTypes()) types += (types.empty() ? "" : ", ") + t;
  auto* quant = models->add_subcommand("quantize", "Quantize a GGUF model");
  quant->add_option("IN", q->in, "input GGUF file (f32/f16/bf16)")->required();
  quant->add_option("OUT", q->out, "output GGUF file")->required();
  quant->add_option("-t,--type", q->type, "one of: " + types)->required();
  quant->add_option("--threads", q->threads, "threads (0: all cores)");
  quant->callback([q, &action] { action = [q] { return quantize(*q); }; });
}

}  // namespace switchyard::cli
