#pragma once
// ModelRegistry: the local models one provider may serve, loaded on demand. At most
// `max_loaded` engines stay in memory (the least recently used idle one is unloaded to make room)
// and, with `idle_unload`, an engine nobody has used for that long is unloaded. Loads run on the
// registry's own thread, so a caller on an I/O thread is never blocked by one.
//
// Engines are handed out as leases (shared_ptr): a leased engine is never unloaded, and the
// lease's release counts as its last use. Thread-safe.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/engine/engine.h"
#include "switchyard/engine/model_info.h"

namespace switchyard::engine {

struct ModelSpec {
  std::string name;  // unique within the registry
  EngineOptions options;
};

struct ModelRegistryOptions {
  std::size_t max_loaded = 2;
  std::chrono::milliseconds idle_unload{0};  // 0: never
};

struct ModelState {
  std::string name;
  std::string path;
  bool loaded = false;
  bool loading = false;
  int leases = 0;  // requests holding the engine now
  std::chrono::steady_clock::time_point last_used;
  // How long it stays loaded once no request uses it; nullopt: never unloaded for idleness.
  std::optional<std::chrono::milliseconds> unload_after;
  ModelInfo info;     // when loaded
  EngineStats stats;  // when loaded
};

class ModelRegistry {
 public:
  using Lease = std::shared_ptr<Engine>;
  using AcquireCallback = std::move_only_function<void(Result<Lease>)>;

  // Checks every model file's GGUF header (not its weights), so a missing or corrupt file is an
  // error at start-up that names it. Loads nothing.
  static Result<std::unique_ptr<ModelRegistry>> create(std::vector<ModelSpec> models,
                                                       ModelRegistryOptions options);
  // Unloads everything; waits for a load in progress.
  ~ModelRegistry();

  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // Calls `done` with a lease on the model's engine: at once on this thread when it is loaded,
  // else on the registry's thread when the load ends (every waiter of one load is answered).
  // kNotFound for an unknown name; a failed load is the load's error.
  void acquire(std::string_view name, AcquireCallback done);
  // A lease when the model is loaded right now, else null (the hot path: no thread hop).
  Lease tryAcquire(std::string_view name);
  // Waits for the load; for start-up (preload) and the CLI, never on an I/O thread.
  Result<Lease> acquireBlocking(std::string_view name);

  // Ollama's keep_alive: how long `name` stays loaded once no request uses it, in place of
  // `idle_unload`. Zero unloads it as soon as it is idle (at once if it is idle now); negative
  // keeps it until `max_loaded` needs its room; nullopt goes back to `idle_unload`. It applies to
  // the engine loaded now (or loading): an unload forgets it, and for a model not loaded it does
  // nothing. False for an unknown name.
  bool setKeepAlive(std::string_view name, std::optional<std::chrono::milliseconds> keep);

  const ModelSpec* find(std::string_view name) const;
  const std::vector<ModelSpec>& models() const;
  std::vector<ModelState> states() const;

 private:
  class Impl;
  explicit ModelRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::engine
