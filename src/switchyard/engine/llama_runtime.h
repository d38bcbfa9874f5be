#pragma once
// Process-wide llama.cpp set-up: backend initialisation and routing of llama.cpp's and ggml's
// logs into spdlog. Thread-safe; every engine entry point calls ensureLlamaRuntime() first.

#include <string>

namespace switchyard::engine {

// Idempotent. llama.cpp's INFO chatter goes to spdlog's debug level, its warnings and errors to
// warn/error, so a default "info" log stays quiet.
void ensureLlamaRuntime();

// The latest error line llama.cpp logged on the calling thread (the reason behind a null from a
// llama_* loader, which has no other way to say why), and a way to forget it before a call.
void clearLastLlamaError();
std::string lastLlamaError();

}  // namespace switchyard::engine
