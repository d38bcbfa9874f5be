#pragma once
// Tiny GGUF models for integration tests that run the in-process engine, and the local provider
// that serves them. Header-only: the including test target defines SY_LLAMA_DIR (llama.cpp's
// source tree, for its vocab files and chat templates) and links sy_engine.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/engine/model_maker.h"

namespace switchyard::fakes {

// A model over llama.cpp's Qwen2 vocabulary written to `out_path`, with Qwen2.5's chat template
// unless `chat_template` is false (an embedding model needs none).
inline engine::TinyModelSpec tinyModelSpec(std::string out_path, bool chat_template = true) {
  const std::string dir = std::string(SY_LLAMA_DIR) + "/src/models";
  engine::TinyModelSpec spec;
  spec.vocab_path = dir + "/ggml-vocab-qwen2.gguf";
  if (chat_template) {
    std::ifstream in(dir + "/templates/Qwen-Qwen2.5-7B-Instruct.jinja");
    std::stringstream ss;
    ss << in.rdbuf();
    spec.chat_template = ss.str();
  }
  spec.out_path = std::move(out_path);
  return spec;
}

// Writes the model of `spec` (a failure is the calling test's) and returns its path.
inline std::string makeTinyModel(const engine::TinyModelSpec& spec) {
  auto made = engine::makeTinyModel(spec);
  EXPECT_TRUE(made) << made.error().toString();
  return spec.out_path;
}

// A local model at `path`: a 512-token context split over `parallel` sequences.
inline config::ModelConfig localModel(std::string name, std::string path, int parallel) {
  config::ModelConfig m;
  m.name = std::move(name);
  m.local.path = std::move(path);
  m.local.context = 512;
  m.local.parallel = parallel;
  return m;
}

// The on-prem provider "local" (two engine threads) serving `models`.
inline config::ProviderConfig localProvider(std::vector<config::ModelConfig> models) {
  config::ProviderConfig p;
  p.name = "local";
  p.kind = "local";
  p.locality = "on_prem";
  p.local.threads = 2;
  p.models = std::move(models);
  return p;
}

}  // namespace switchyard::fakes
