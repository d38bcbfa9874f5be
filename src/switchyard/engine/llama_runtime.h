#pragma once
// Process-wide llama.cpp set-up: backend initialisation and routing of llama.cpp's and ggml's
// logs into spdlog. Thread-safe; every engine entry point calls ensureLlamaRuntime() first.

namespace switchyard::engine {

// Idempotent. llama.cpp's INFO chatter goes to spdlog's debug level, its warnings and errors to
// warn/error, so a default "info" log stays quiet.
void ensureLlamaRuntime();

}  // namespace switchyard::engine
