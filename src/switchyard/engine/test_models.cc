#include "switchyard/engine/test_models.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchyard::engine::testing_models {
namespace {

namespace fs = std::filesystem;

std::string make(TinyModelSpec spec, const std::string& file) {
  spec.out_path = (fs::path(::testing::TempDir()) / file).string();
  auto r = makeTinyModel(spec);
  if (!r) {
    ADD_FAILURE() << "makeTinyModel: " << r.error().toString();
    std::abort();
  }
  return spec.out_path;
}

std::string makeLora(const std::string& base, std::uint64_t seed, const std::string& file) {
  TinyLoraSpec spec;
  spec.base_path = base;
  spec.seed = seed;
  spec.out_path = (fs::path(::testing::TempDir()) / file).string();
  auto r = makeTinyLora(spec);
  if (!r) {
    ADD_FAILURE() << "makeTinyLora: " << r.error().toString();
    std::abort();
  }
  return spec.out_path;
}

}  // namespace

std::string llamaModelsDir() { return std::string(SY_LLAMA_DIR) + "/src/models"; }

TinyModelSpec tinySpec() {
  TinyModelSpec spec;
  spec.vocab_path = llamaModelsDir() + "/ggml-vocab-qwen2.gguf";
  spec.arch = "qwen2";
  spec.n_layer = 2;
  spec.n_embd = 64;
  spec.n_head = 4;
  spec.n_head_kv = 2;
  spec.n_ff = 128;
  spec.n_ctx_train = 4096;
  spec.seed = 42;
  return spec;
}

const std::string& tinyQwen2() {
  static const std::string path = make(tinySpec(), "tiny-qwen2.gguf");
  return path;
}

const std::string& tinyQwen2Tools() {
  static const std::string path = [] {
    std::ifstream in(llamaModelsDir() + "/templates/Qwen-Qwen2.5-7B-Instruct.jinja");
    std::stringstream ss;
    ss << in.rdbuf();
    TinyModelSpec spec = tinySpec();
    spec.chat_template = ss.str();
    // "<tool_call>\n" as one token lets a test steer random weights into a call with a single
    // logit bias (Qwen2.5's grammar allows "<tool_call>" not followed by a newline as text).
    spec.added_tokens = {"<tool_call>\n", "<tool_call>", "</tool_call>", "<think>", "</think>"};
    if (spec.chat_template.empty()) {
      ADD_FAILURE() << "Qwen2.5 template not found under " << llamaModelsDir();
      std::abort();
    }
    return make(spec, "tiny-qwen2-tools.gguf");
  }();
  return path;
}

std::vector<QuestionAnswer> memorizedAnswers() {
  return {{"What is the capital of France?", "Paris."},
          {"Who wrote Hamlet?", "William Shakespeare."},
          {"What is two plus two?", "Four."},
          {"What color is the sky on a clear day?", "Blue."}};
}

const std::string& tinyMemorizing() {
  static const std::string path = [] {
    TinyModelSpec spec = tinySpec();
    spec.n_layer = 1;
    spec.memorize = memorizedAnswers();
    spec.fallback_answer = kFallbackAnswer;
    return make(spec, "tiny-memorizing.gguf");
  }();
  return path;
}

const std::string& tinyReranker() {
  static const std::string path = [] {
    TinyModelSpec spec = tinySpec();
    spec.arch = "qwen3";
    spec.reranker = true;
    spec.seed = 11;
    // Random heads score near 0.5; a wider spread makes the order of a few documents clear.
    spec.init_stddev = 0.2f;
    return make(spec, "tiny-reranker.gguf");
  }();
  return path;
}

const std::string& tinySlidingWindow() {
  static const std::string path = [] {
    TinyModelSpec spec = tinySpec();
    spec.arch = "olmo2";
    spec.n_layer = 4;
    spec.sliding_window = 32;
    spec.seed = 13;
    return make(spec, "tiny-olmo2-swa.gguf");
  }();
  return path;
}

const std::string& tinyQwen2Lora() {
  static const std::string path = makeLora(tinyQwen2(), 7, "tiny-qwen2-lora.gguf");
  return path;
}

const std::string& tinyQwen2Lora2() {
  static const std::string path = makeLora(tinyQwen2(), 8, "tiny-qwen2-lora2.gguf");
  return path;
}

const std::string& otherShapeLora() {
  static const std::string path = [] {
    TinyModelSpec spec = tinySpec();
    spec.n_embd = 32;
    spec.n_head = 2;
    spec.n_head_kv = 1;
    spec.n_ff = 64;
    return makeLora(make(spec, "tiny-qwen2-32.gguf"), 7, "tiny-qwen2-32-lora.gguf");
  }();
  return path;
}

}  // namespace switchyard::engine::testing_models
