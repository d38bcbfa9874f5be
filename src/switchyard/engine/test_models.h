#pragma once
// Tiny models shared by the engine tests, made once per test binary in ::testing::TempDir().
// Test-only; not part of sy_engine.

#include <string>
#include <vector>

#include "switchyard/engine/model_maker.h"

namespace switchyard::engine::testing_models {

// <llama-dir>/src/models/<file>
std::string llamaModelsDir();

// qwen2 shape, 2 layers, 64 dim, 4 heads (2 KV), FF 128, the qwen2 vocab and ChatML template.
TinyModelSpec tinySpec();

// Path of a model made from tinySpec() (made on first use).
const std::string& tinyQwen2();

// Same shape, with Qwen2.5's tool-calling template from llama.cpp's models/templates and its
// <tool_call> / </tool_call> tokens (plus <think> / </think>, and "<tool_call>\n" as one token).
const std::string& tinyQwen2Tools();

// A LoRA adapter (makeTinyLora, rank 8) for tinyQwen2(); `seed` picks one of several.
const std::string& tinyQwen2Lora();
const std::string& tinyQwen2Lora2();

// A reranker (qwen3 shape as tinySpec(), rank pooling, a yes/no head, a rerank template): load
// it with embeddings on; it scores pairs and does not generate.
const std::string& tinyReranker();

// An olmo2 model with sliding-window attention over 32 tokens (every fourth layer full; 4
// layers), the qwen2 vocab and ChatML template.
const std::string& tinySlidingWindow();

// The questions and answers of tinyMemorizing(), and its answer to any other question.
std::vector<QuestionAnswer> memorizedAnswers();
inline constexpr const char* kFallbackAnswer = "I do not know.";

// A memorizing model (TinySpec::memorize) of tinySpec()'s shape, 1 layer, that answers
// memorizedAnswers() and says kFallbackAnswer to anything else.
const std::string& tinyMemorizing();

// A LoRA adapter for a qwen2 model of another shape (32 dim): tinyQwen2() must refuse it.
const std::string& otherShapeLora();

}  // namespace switchyard::engine::testing_models
