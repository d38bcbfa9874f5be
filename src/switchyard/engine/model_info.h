#pragma once
// ModelInfo: what the rest of Switchyard may know about a GGUF model (for /v1/models, routing
// by context length, `switchyard models inspect`, logs). A plain value type.

#include <cstdint>
#include <string>

namespace switchyard::engine {

struct ModelInfo {
  std::string path;
  std::string name;          // general.name, may be empty
  std::string architecture;  // general.architecture, e.g. "qwen2"
  std::uint64_t n_params = 0;
  std::uint64_t tensor_bytes = 0;
  std::uint64_t file_bytes = 0;
  std::string file_type;  // quantization, e.g. "F32", "Q8_0", "Q4_K - Medium"
  int n_ctx_train = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_vocab = 0;
  std::string chat_template;  // the default template; empty when the file has none
  std::string sha256;         // hex digest of the whole file
  // Where it runs (filled when an engine loads it): the GPU devices that hold layers, e.g.
  // "CUDA0 (NVIDIA H100 80GB HBM3)", and how many of the n_layer + 1 (the output layer) they
  // hold; empty and 0 on the CPU.
  std::string gpu_devices;
  int gpu_layers = 0;
};

}  // namespace switchyard::engine
