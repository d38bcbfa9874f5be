#include "switchyard/engine/model_registry.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"
#include "switchyard/engine/model_maker.h"

namespace switchyard::engine {

using Clock = std::chrono::steady_clock;

namespace {

// One model's slot. Shared with the leases it hands out, so a lease may outlive the registry's
// bookkeeping of it (never the engine: the lease owns a reference to it).
struct Slot {
  const ModelSpec* spec = nullptr;
  std::shared_ptr<Engine> engine;  // null: not loaded
  bool loading = false;
  std::vector<ModelRegistry::AcquireCallback> waiters;
  std::atomic<int> leases{0};
  std::atomic<Clock::rep> last_used{0};
  std::optional<std::chrono::milliseconds> keep_alive;  // setKeepAlive's; guarded by mu_
};

}  // namespace

class ModelRegistry::Impl {
 public:
  Impl(std::vector<ModelSpec> models, ModelRegistryOptions options)
      : models_(std::move(models)), options_(options) {
    slots_.reserve(models_.size());
    for (const ModelSpec& spec : models_) {
      auto slot = std::make_shared<Slot>();
      slot->spec = &spec;
      slots_.push_back(std::move(slot));
    }
    thread_ = std::thread([this] {
      setCurrentThreadName("sy-models");
      loop();
    });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // Engines unload here (or when their last lease ends); waiters still queued are told.
    std::vector<AcquireCallback> orphans;
    {
      std::lock_guard lock(mu_);
      for (auto& slot : slots_) {
        for (auto& w : slot->waiters) orphans.push_back(std::move(w));
        slot->waiters.clear();
        slot->engine.reset();
      }
    }
    for (auto& w : orphans) w(fail(ErrorCode::kUnavailable, "shutting down"));
  }

  void acquire(std::string_view name, AcquireCallback done) {
    std::shared_ptr<Slot> slot = slotFor(name);
    if (!slot) {
      done(fail(ErrorCode::kNotFound, "unknown local model '" + std::string(name) + "'"));
      return;
    }
    std::unique_lock lock(mu_);
    if (slot->engine) {
      Lease lease = leaseOf(slot);
      lock.unlock();
      done(std::move(lease));
      return;
    }
    slot->waiters.push_back(std::move(done));
    if (!slot->loading) {
      slot->loading = true;
      pending_.push_back(slot);
      cv_.notify_all();
    }
  }

  Lease tryAcquire(std::string_view name) {
    std::shared_ptr<Slot> slot = slotFor(name);
    if (!slot) return nullptr;
    std::lock_guard lock(mu_);
    return slot->engine ? leaseOf(slot) : nullptr;
  }

  std::shared_ptr<Slot> slotFor(std::string_view name) const {
    for (const auto& slot : slots_) {
      if (slot->spec->name == name) return slot;
    }
    return nullptr;
  }

  std::vector<ModelState> states() const {
    std::vector<ModelState> out;
    std::lock_guard lock(mu_);
    for (const auto& slot : slots_) {
      ModelState s;
      s.name = slot->spec->name;
      s.path = slot->spec->options.model_path;
      s.loaded = slot->engine != nullptr;
      s.loading = slot->loading;
      s.leases = slot->leases.load();
      s.last_used = Clock::time_point(Clock::duration(slot->last_used.load()));
      s.unload_after = unloadAfter(*slot);
      if (slot->engine) {
        s.info = slot->engine->info();
        s.stats = slot->engine->stats();
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  bool setKeepAlive(std::string_view name, std::optional<std::chrono::milliseconds> keep) {
    std::shared_ptr<Slot> slot = slotFor(name);
    if (!slot) return false;
    {
      std::lock_guard lock(mu_);
      // It belongs to the loaded engine (Ollama's runner): nothing loaded, nothing to keep, and
      // a value left behind would apply to the next load before its own request set one.
      if (!slot->engine && !slot->loading) return true;
      slot->keep_alive = keep;
      rethink_ = true;
    }
    cv_.notify_all();  // the loop's next check may now be sooner
    return true;
  }

  const std::vector<ModelSpec>& models() const { return models_; }

 private:
  // The idle time after which the slot's engine unloads; nullopt: never. Caller holds mu_.
  std::optional<std::chrono::milliseconds> unloadAfter(const Slot& slot) const {
    if (slot.keep_alive) {
      if (slot.keep_alive->count() < 0) return std::nullopt;
      return *slot.keep_alive;
    }
    if (options_.idle_unload.count() == 0) return std::nullopt;
    return options_.idle_unload;
  }

  // A lease is an aliasing handle whose release records the time; it keeps the engine alive.
  // Caller holds mu_.
  static Lease leaseOf(const std::shared_ptr<Slot>& slot) {
    slot->leases.fetch_add(1);
    slot->last_used.store(Clock::now().time_since_epoch().count());
    std::shared_ptr<Engine> engine = slot->engine;
    Engine* raw = engine.get();
    return Lease(raw, [slot, engine = std::move(engine)](Engine*) mutable {
      slot->last_used.store(Clock::now().time_since_epoch().count());
      slot->leases.fetch_sub(1);
      engine.reset();
    });
  }

  void loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (!pending_.empty()) {
        std::shared_ptr<Slot> slot = std::move(pending_.front());
        pending_.pop_front();
        load(lock, slot);
        continue;
      }
      rethink_ = false;
      // unloadIdle may let go of the lock: what arrived meanwhile is seen by the predicate.
      const auto next = unloadIdle(lock);
      auto woken = [this] { return stopping_ || !pending_.empty() || rethink_; };
      if (next) {
        cv_.wait_for(lock, *next, woken);
      } else {
        cv_.wait(lock, woken);
      }
    }
  }

  // Makes room, loads outside the lock, then answers every waiter.
  void load(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Slot>& slot) {
    std::vector<std::shared_ptr<Engine>> evicted;
    while (loadedCount() >= options_.max_loaded) {
      std::shared_ptr<Slot> victim;
      for (const auto& s : slots_) {
        if (!s->engine || s->leases.load() > 0) continue;
        if (!victim || s->last_used.load() < victim->last_used.load()) victim = s;
      }
      if (!victim) {
        logEvent(spdlog::level::warn, "model_over_limit",
                 {{"model", slot->spec->name},
                  {"max_loaded", static_cast<long long>(options_.max_loaded)},
                  {"reason", "every loaded model is serving requests"}});
        break;
      }
      logEvent(spdlog::level::info, "model_unload",
               {{"model", victim->spec->name}, {"reason", "max_loaded"}});
      evicted.push_back(std::move(victim->engine));
      victim->keep_alive.reset();
    }
    lock.unlock();
    evicted.clear();  // engines join their threads and free their memory here, off the lock

    const auto started = Clock::now();
    Result<std::unique_ptr<Engine>> engine = Engine::create(slot->spec->options);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    if (engine) {
      logEvent(spdlog::level::info, "model_loaded",
               {{"model", slot->spec->name},
                {"path", slot->spec->options.model_path},
                {"type", (*engine)->info().file_type},
                {"params", static_cast<long long>((*engine)->info().n_params)},
                {"ms", ms}});
    } else {
      logEvent(spdlog::level::err, "model_load_failed",
               {{"model", slot->spec->name}, {"error", engine.error().message()}});
    }

    lock.lock();
    slot->loading = false;
    std::vector<AcquireCallback> waiters = std::move(slot->waiters);
    slot->waiters.clear();
    std::vector<Result<Lease>> answers;
    answers.reserve(waiters.size());
    if (engine) {
      slot->engine = std::shared_ptr<Engine>(std::move(*engine));
      for (std::size_t i = 0; i < waiters.size(); ++i) answers.emplace_back(leaseOf(slot));
    } else {
      for (std::size_t i = 0; i < waiters.size(); ++i) answers.emplace_back(fail(engine.error()));
    }
    lock.unlock();
    for (std::size_t i = 0; i < waiters.size(); ++i) waiters[i](std::move(answers[i]));
    lock.lock();
  }

  // Unloads the engines idle for longer than their unloadAfter(), and says when to look again:
  // when the next idle one is due, or (for one in use, whose release nobody announces) a
  // quarter of its idle time, at least 50 ms; nullopt when nothing loaded can ever be due.
  std::optional<Clock::duration> unloadIdle(std::unique_lock<std::mutex>& lock) {
    constexpr Clock::duration kMinPoll = std::chrono::milliseconds(50);
    const Clock::time_point now = Clock::now();
    std::optional<Clock::duration> next;
    auto lookAgainIn = [&](Clock::duration d) { next = std::min(next.value_or(d), d); };
    std::vector<std::shared_ptr<Engine>> idle;
    for (const auto& s : slots_) {
      if (!s->engine) continue;
      const auto after = unloadAfter(*s);
      if (!after) continue;
      const Clock::duration idle_for =
          now - Clock::time_point(Clock::duration(s->last_used.load()));
      if (s->leases.load() > 0) {
        lookAgainIn(std::max<Clock::duration>(*after / 4, kMinPoll));
      } else if (idle_for >= *after) {
        logEvent(spdlog::level::info, "model_unload",
                 {{"model", s->spec->name}, {"reason", s->keep_alive ? "keep_alive" : "idle"}});
        idle.push_back(std::move(s->engine));
        s->keep_alive.reset();  // the next load starts from idle_unload
      } else {
        lookAgainIn(std::max<Clock::duration>(*after - idle_for, kMinPoll));
      }
    }
    if (!idle.empty()) {
      lock.unlock();
      idle.clear();  // engines join their threads and free their memory here, off the lock
      lock.lock();
    }
    return next;
  }

  std::size_t loadedCount() const {
    return static_cast<std::size_t>(std::count_if(
        slots_.begin(), slots_.end(), [](const auto& s) { return s->engine != nullptr; }));
  }

  const std::vector<ModelSpec> models_;
  const ModelRegistryOptions options_;
  std::vector<std::shared_ptr<Slot>> slots_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Slot>> pending_;
  bool stopping_ = false;
  bool rethink_ = false;  // a keep-alive changed: the loop's next check may be sooner
  std::thread thread_;
};

ModelRegistry::ModelRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelRegistry::~ModelRegistry() = default;

Result<std::unique_ptr<ModelRegistry>> ModelRegistry::create(std::vector<ModelSpec> models,
                                                             ModelRegistryOptions options) {
  if (options.max_loaded == 0) {
    return fail(ErrorCode::kInvalidArgument, "max_loaded must be at least 1");
  }
  for (std::size_t i = 0; i < models.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (models[i].name == models[j].name) {
        return fail(ErrorCode::kInvalidArgument, "duplicate local model '" + models[i].name + "'");
      }
    }
    auto info = inspectModel(models[i].options.model_path, /*hash_file=*/false);
    if (!info) {
      return fail(
          Status(info.error().code(), "model '" + models[i].name + "': " + info.error().message()));
    }
    // Adapters too, header only: a missing one or one for another architecture stops start-up
    // (shapes are checked when the model loads).
    for (const auto& lora : models[i].options.lora_adapters) {
      auto adapter = inspectModel(lora.path, /*hash_file=*/false);
      const std::string where = "model '" + models[i].name + "': LoRA adapter '" + lora.name + "'";
      if (!adapter) {
        return fail(Status(adapter.error().code(), where + ": " + adapter.error().message()));
      }
      if (adapter->architecture != info->architecture) {
        return fail(ErrorCode::kInvalidArgument,
                    where + " (" + lora.path + ") is for architecture '" + adapter->architecture +
                        "', the model is '" + info->architecture + "'");
      }
    }
  }
  return std::unique_ptr<ModelRegistry>(
      new ModelRegistry(std::make_unique<Impl>(std::move(models), options)));
}

void ModelRegistry::acquire(std::string_view name, AcquireCallback done) {
  impl_->acquire(name, std::move(done));
}

ModelRegistry::Lease ModelRegistry::tryAcquire(std::string_view name) {
  return impl_->tryAcquire(name);
}

Result<ModelRegistry::Lease> ModelRegistry::acquireBlocking(std::string_view name) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<Lease>> result;
  impl_->acquire(name, [&](Result<Lease> r) {
    std::lock_guard lock(mu);
    result.emplace(std::move(r));
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

bool ModelRegistry::setKeepAlive(std::string_view name,
                                 std::optional<std::chrono::milliseconds> keep) {
  return impl_->setKeepAlive(name, keep);
}

const ModelSpec* ModelRegistry::find(std::string_view name) const {
  auto slot = impl_->slotFor(name);
  return slot ? slot->spec : nullptr;
}

const std::vector<ModelSpec>& ModelRegistry::models() const { return impl_->models(); }

std::vector<ModelState> ModelRegistry::states() const { return impl_->states(); }

}  // namespace switchyard::engine
