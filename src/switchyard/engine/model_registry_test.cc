#include "switchyard/engine/model_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "switchyard/engine/test_models.h"

namespace switchyard::engine {
namespace {

using namespace std::chrono_literals;

ModelSpec spec(std::string name, const std::string& path) {
  ModelSpec s;
  s.name = std::move(name);
  s.options.model_path = path;
  s.options.n_ctx = 256;
  s.options.n_parallel = 2;
  s.options.n_threads = 1;
  s.options.hash_file = false;
  s.options.host_cache_bytes = 0;
  return s;
}

bool isLoaded(const ModelRegistry& r, std::string_view name) {
  for (const auto& s : r.states()) {
    if (s.name == name) return s.loaded;
  }
  return false;
}

// Polls up to 3 s for the model to unload.
bool waitUnloaded(const ModelRegistry& r, std::string_view name) {
  for (int i = 0; i < 300 && isLoaded(r, name); ++i) std::this_thread::sleep_for(10ms);
  return !isLoaded(r, name);
}

TEST(ModelRegistryTest, MissingOrCorruptFileFailsAtCreateNamingIt) {
  auto missing = ModelRegistry::create({spec("a", "/nonexistent/model.gguf")}, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("/nonexistent/model.gguf"), std::string::npos);
  EXPECT_NE(missing.error().message().find("'a'"), std::string::npos);

  const std::string bad =
      (std::filesystem::path(::testing::TempDir()) / "registry-corrupt.gguf").string();
  std::ofstream(bad) << "this is not a gguf file";
  auto corrupt = ModelRegistry::create({spec("b", bad)}, {});
  ASSERT_FALSE(corrupt);
  EXPECT_NE(corrupt.error().message().find(bad), std::string::npos);
}

TEST(ModelRegistryTest, LoadsOnFirstUseAndAnswersEveryWaiter) {
  auto r = ModelRegistry::create({spec("tiny", testing_models::tinyQwen2())}, {});
  ASSERT_TRUE(r) << r.error().toString();
  ModelRegistry& reg = **r;
  EXPECT_FALSE(isLoaded(reg, "tiny"));
  EXPECT_EQ(reg.tryAcquire("tiny"), nullptr);

  // Several callers during one load: one load, every caller gets the same engine.
  std::vector<std::promise<Result<ModelRegistry::Lease>>> promises(3);
  for (auto& p : promises) {
    reg.acquire("tiny",
                [&p](Result<ModelRegistry::Lease> lease) { p.set_value(std::move(lease)); });
  }
  std::vector<ModelRegistry::Lease> leases;
  for (auto& p : promises) {
    auto lease = p.get_future().get();
    ASSERT_TRUE(lease) << lease.error().toString();
    leases.push_back(std::move(*lease));
  }
  EXPECT_EQ(leases[0].get(), leases[1].get());
  EXPECT_EQ(leases[0].get(), leases[2].get());
  EXPECT_TRUE(isLoaded(reg, "tiny"));
  EXPECT_EQ(reg.states()[0].leases, 3);
  leases.clear();
  EXPECT_EQ(reg.states()[0].leases, 0);
  EXPECT_NE(reg.tryAcquire("tiny"), nullptr);
}

TEST(ModelRegistryTest, UnknownModelIsNotFound) {
  auto r = ModelRegistry::create({spec("tiny", testing_models::tinyQwen2())}, {});
  ASSERT_TRUE(r);
  auto lease = (*r)->acquireBlocking("nope");
  ASSERT_FALSE(lease);
  EXPECT_EQ(lease.error().code(), ErrorCode::kNotFound);
}

TEST(ModelRegistryTest, KeepsAtMostMaxLoadedUnloadingTheLeastRecentlyUsedIdleOne) {
  const std::string& path = testing_models::tinyQwen2();
  ModelRegistryOptions options;
  options.max_loaded = 2;
  auto r = ModelRegistry::create({spec("a", path), spec("b", path), spec("c", path)}, options);
  ASSERT_TRUE(r);
  ModelRegistry& reg = **r;
  ASSERT_TRUE(reg.acquireBlocking("a"));
  std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(reg.acquireBlocking("b"));
  std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(reg.acquireBlocking("a"));  // a is now more recent than b
  ASSERT_TRUE(reg.acquireBlocking("c"));
  EXPECT_TRUE(isLoaded(reg, "a"));
  EXPECT_FALSE(isLoaded(reg, "b"));
  EXPECT_TRUE(isLoaded(reg, "c"));
}

TEST(ModelRegistryTest, ALeasedModelIsNeverUnloaded) {
  const std::string& path = testing_models::tinyQwen2();
  ModelRegistryOptions options;
  options.max_loaded = 1;
  auto r = ModelRegistry::create({spec("a", path), spec("b", path)}, options);
  ASSERT_TRUE(r);
  ModelRegistry& reg = **r;
  auto a = reg.acquireBlocking("a");
  ASSERT_TRUE(a);
  auto b = reg.acquireBlocking("b");  // over the limit rather than pulling a from under its user
  ASSERT_TRUE(b);
  EXPECT_TRUE(isLoaded(reg, "a"));
  EXPECT_TRUE(isLoaded(reg, "b"));
  // The engine still works for the lease holder.
  auto tokens = (*a)->tokenize("hello");
  EXPECT_TRUE(tokens);
}

TEST(ModelRegistryTest, UnloadsAfterIdleTime) {
  ModelRegistryOptions options;
  options.idle_unload = 100ms;
  auto r = ModelRegistry::create({spec("tiny", testing_models::tinyQwen2())}, options);
  ASSERT_TRUE(r);
  ModelRegistry& reg = **r;
  {
    auto lease = reg.acquireBlocking("tiny");
    ASSERT_TRUE(lease);
    std::this_thread::sleep_for(300ms);  // held: stays loaded however long
    EXPECT_TRUE(isLoaded(reg, "tiny"));
  }
  // Released: unloaded once idle for 100 ms (the reaper looks every 50 ms while it is held).
  (void)waitUnloaded(reg, "tiny");
  EXPECT_FALSE(isLoaded(reg, "tiny"));
  // And loads again on demand.
  EXPECT_TRUE(reg.acquireBlocking("tiny"));
}

std::optional<std::chrono::milliseconds> unloadAfter(const ModelRegistry& r,
                                                     std::string_view name) {
  for (const auto& s : r.states()) {
    if (s.name == name) return s.unload_after;
  }
  ADD_FAILURE() << "no model " << name;
  return std::nullopt;
}

// Ollama's keep_alive, per model: 0 unloads once idle (at once when idle already), negative
// never, a duration replaces idle_unload, nullopt restores it.
TEST(ModelRegistryTest, KeepAliveOverridesTheIdleTimePerModel) {
  ModelRegistryOptions options;  // idle_unload 0: never unloaded for idleness
  auto r = ModelRegistry::create({spec("tiny", testing_models::tinyQwen2())}, options);
  ASSERT_TRUE(r);
  ModelRegistry& reg = **r;
  EXPECT_FALSE(reg.setKeepAlive("nope", 0ms));
  EXPECT_EQ(unloadAfter(reg, "tiny"), std::nullopt);

  {
    auto lease = reg.acquireBlocking("tiny");  // keep_alive 0 while in use: stays
    ASSERT_TRUE(lease);
    ASSERT_TRUE(reg.setKeepAlive("tiny", 0ms));
    EXPECT_EQ(unloadAfter(reg, "tiny"), 0ms);
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(isLoaded(reg, "tiny"));
  }
  EXPECT_TRUE(waitUnloaded(reg, "tiny"));  // and goes once released

  // The unload forgot it: the next load starts from idle_unload (never), and a keep_alive set
  // while nothing is loaded (`ollama stop` of an unloaded model) is not kept for the next load.
  EXPECT_EQ(unloadAfter(reg, "tiny"), std::nullopt);
  ASSERT_TRUE(reg.setKeepAlive("tiny", 0ms));
  ASSERT_TRUE(reg.acquireBlocking("tiny"));
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(isLoaded(reg, "tiny"));

  ASSERT_TRUE(reg.setKeepAlive("tiny", -1ms));  // forever
  EXPECT_EQ(unloadAfter(reg, "tiny"), std::nullopt);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(isLoaded(reg, "tiny"));

  {
    auto lease = reg.acquireBlocking("tiny");  // held: it cannot unload before it is read
    ASSERT_TRUE(lease);
    ASSERT_TRUE(reg.setKeepAlive("tiny", 150ms));
    EXPECT_EQ(unloadAfter(reg, "tiny"), 150ms);
  }
  EXPECT_TRUE(waitUnloaded(reg, "tiny"));

  ASSERT_TRUE(reg.acquireBlocking("tiny"));
  ASSERT_TRUE(reg.setKeepAlive("tiny", 1h));
  EXPECT_EQ(unloadAfter(reg, "tiny"), 1h);
  ASSERT_TRUE(reg.setKeepAlive("tiny", std::nullopt));  // back to idle_unload: never
  EXPECT_EQ(unloadAfter(reg, "tiny"), std::nullopt);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(isLoaded(reg, "tiny"));
}

}  // namespace
}  // namespace switchyard::engine
