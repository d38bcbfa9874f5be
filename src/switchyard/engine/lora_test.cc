// LoRA adapters: loaded at create, chosen per request, one adapter set per decode step, never
// sharing KV across sets.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "switchyard/engine/engine.h"
#include "switchyard/engine/test_models.h"

namespace switchyard::engine {
namespace {

using namespace std::chrono_literals;

class Waiter {
 public:
  EventCallback callback() {
    return [this](EngineEvent&& ev) {
      std::lock_guard lock(mu_);
      if (ev.kind == EngineEvent::Kind::kToken) {
        text_ += ev.text;
        return;
      }
      final_ = std::move(ev);
      done_ = true;
      cv_.notify_all();
    };
  }
  bool wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 120s, [this] { return done_; });
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }
  EngineEvent final() const {
    std::lock_guard lock(mu_);
    return final_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  EngineEvent final_;
  bool done_ = false;
};

struct Outcome {
  std::string text;
  EngineEvent final;
};

Outcome run(Engine& engine, const GenerationRequest& request) {
  Waiter w;
  auto id = engine.enqueue(request, w.callback());
  if (!id) {
    ADD_FAILURE() << "enqueue: " << id.error().toString();
    return {};
  }
  EXPECT_TRUE(w.wait());
  return {w.text(), w.final()};
}

// "style" is opt-in (scale 0), "other" a second adapter, also opt-in.
EngineOptions loraOptions(float style_scale = 0.0f) {
  EngineOptions o;
  o.model_path = testing_models::tinyQwen2();
  o.n_ctx = 2048;
  o.n_parallel = 4;
  o.n_batch = 256;
  o.n_threads = 1;
  o.hash_file = false;
  o.lora_adapters = {{"style", testing_models::tinyQwen2Lora(), style_scale},
                     {"other", testing_models::tinyQwen2Lora2(), 0.0f}};
  return o;
}

std::unique_ptr<Engine> makeEngine(const EngineOptions& o) {
  auto e = Engine::create(o);
  if (!e) {
    ADD_FAILURE() << "Engine::create: " << e.error().toString();
    return nullptr;
  }
  return std::move(*e);
}

GenerationRequest greedy(std::string prompt, int max_tokens,
                         std::optional<std::vector<LoraSelection>> lora = std::nullopt) {
  GenerationRequest r;
  r.raw_prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  r.lora = std::move(lora);
  return r;
}

std::string longText(int words, const std::string& word) {
  std::string s;
  for (int i = 0; i < words; ++i) s += word + std::to_string(i % 97) + " ";
  return s;
}

const std::vector<LoraSelection> kStyle = {{"style", 1.0f}};
const std::vector<LoraSelection> kNone = {};

TEST(LoraTest, AdapterChangesGreedyOutputDeterministically) {
  auto engine = makeEngine(loraOptions());
  ASSERT_TRUE(engine);
  const std::string prompt = "Once upon a time, in a land far away,";
  auto base = run(*engine, greedy(prompt, 16));
  auto adapted = run(*engine, greedy(prompt, 16, kStyle));
  auto again = run(*engine, greedy(prompt, 16, kStyle));
  auto other = run(*engine, greedy(prompt, 16, std::vector<LoraSelection>{{"other", 1.0f}}));
  auto half = run(*engine, greedy(prompt, 16, std::vector<LoraSelection>{{"style", 0.5f}}));
  auto base_again = run(*engine, greedy(prompt, 16, kNone));
  ASSERT_EQ(adapted.final.kind, EngineEvent::Kind::kDone);
  EXPECT_EQ(adapted.final.usage.completion_tokens, 16);
  EXPECT_NE(adapted.text, base.text);
  EXPECT_EQ(again.text, adapted.text);
  EXPECT_NE(other.text, adapted.text);
  EXPECT_NE(other.text, base.text);
  EXPECT_NE(half.text, adapted.text);  // the scale is part of the set
  EXPECT_EQ(base_again.text, base.text);

  // A fresh engine gives the same adapted output (it is not an artefact of cached KV).
  auto fresh = makeEngine(loraOptions());
  ASSERT_TRUE(fresh);
  EXPECT_EQ(run(*fresh, greedy(prompt, 16, kStyle)).text, adapted.text);
}

TEST(LoraTest, DefaultScaleAppliesToRequestsThatChooseNone) {
  auto plain = makeEngine(loraOptions(0.0f));
  auto styled = makeEngine(loraOptions(1.0f));
  ASSERT_TRUE(plain && styled);
  const std::string prompt = "The weather today is";
  const auto base = run(*plain, greedy(prompt, 12)).text;
  const auto adapted = run(*plain, greedy(prompt, 12, kStyle)).text;
  EXPECT_EQ(run(*styled, greedy(prompt, 12)).text, adapted);
  EXPECT_EQ(run(*styled, greedy(prompt, 12, kNone)).text, base);  // [] is the base model
}

TEST(LoraTest, ConcurrentRequestsWithAndWithoutTheAdapterEachGetTheirSoloOutput) {
  constexpr int kRequests = 6;
  constexpr int kMaxTokens = 24;
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < kRequests; ++i) {
    std::optional<std::vector<LoraSelection>> lora;
    if (i % 3 == 1) lora = kStyle;
    if (i % 3 == 2) lora = std::vector<LoraSelection>{{"other", 1.0f}, {"style", 0.5f}};
    requests.push_back(greedy("Request " + std::to_string(i) + " says: " + longText(4 + i, "w"),
                              kMaxTokens, lora));
  }
  std::vector<std::string> solo;
  {
    auto engine = makeEngine(loraOptions());
    ASSERT_TRUE(engine);
    for (const auto& r : requests) solo.push_back(run(*engine, r).text);
  }
  // The same prompt under the three sets gives three different outputs: mixing would show.
  EXPECT_NE(solo[0], run(*makeEngine(loraOptions()),
                         [&] {
                           auto r = requests[0];
                           r.lora = kStyle;
                           return r;
                         }())
                         .text);

  EngineOptions o = loraOptions();
  o.n_parallel = kRequests;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (const auto& r : requests) {
    waiters.push_back(std::make_unique<Waiter>());
    ASSERT_TRUE(engine->enqueue(r, waiters.back()->callback()));
  }
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(waiters[i]->wait());
    EXPECT_EQ(waiters[i]->final().kind, EngineEvent::Kind::kDone);
    EXPECT_EQ(waiters[i]->final().usage.completion_tokens, kMaxTokens);
    EXPECT_EQ(waiters[i]->text(), solo[static_cast<std::size_t>(i)]) << "request " << i;
  }
  const auto stats = engine->stats();
  EXPECT_GE(stats.lora_switches, 2u);  // the sets took turns
  // Still batched within each set: fewer decodes than tokens.
  EXPECT_LT(stats.decode_calls, static_cast<std::uint64_t>(kRequests * kMaxTokens));
}

TEST(LoraTest, CachedPrefixIsNotSharedAcrossAdapterSets) {
  for (bool host_cache : {false, true}) {
    SCOPED_TRACE(host_cache ? "one sequence, host cache" : "idle sequences");
    EngineOptions o = loraOptions();
    o.n_parallel = host_cache ? 1 : 2;
    o.host_cache_bytes = host_cache ? (64u << 20) : 0;
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    const std::string prefix = "Shared context. " + longText(80, "ctx");
    auto base = run(*engine, greedy(prefix + "first", 4));
    auto adapted = run(*engine, greedy(prefix + "second", 8, kStyle));
    EXPECT_EQ(base.final.usage.cached_tokens, 0);
    EXPECT_EQ(adapted.final.usage.cached_tokens, 0);
    // What it computed is the adapter's: same as a cold engine.
    auto cold = makeEngine(loraOptions());
    ASSERT_TRUE(cold);
    EXPECT_EQ(adapted.text, run(*cold, greedy(prefix + "second", 8, kStyle)).text);
    // Each set still reuses its own prefix (from an idle sequence or from host RAM).
    auto adapted2 = run(*engine, greedy(prefix + "third", 4, kStyle));
    EXPECT_GT(adapted2.final.usage.cached_tokens, 80);
    auto base2 = run(*engine, greedy(prefix + "fourth", 4));
    EXPECT_GT(base2.final.usage.cached_tokens, 80);
  }
}

TEST(LoraTest, UnknownAdapterIsRejectedAtEnqueueNamingTheKnownOnes) {
  auto engine = makeEngine(loraOptions());
  ASSERT_TRUE(engine);
  Waiter w;
  auto id =
      engine->enqueue(greedy("hi", 2, std::vector<LoraSelection>{{"nope", 1.0f}}), w.callback());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(id.error().message().find("'nope'"), std::string::npos) << id.error().message();
  EXPECT_NE(id.error().message().find("style, other"), std::string::npos) << id.error().message();

  auto twice = engine->enqueue(
      greedy("hi", 2, std::vector<LoraSelection>{{"style", 1.0f}, {"style", 0.5f}}), w.callback());
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ErrorCode::kInvalidArgument);
}

TEST(LoraTest, MissingCorruptOrMismatchedAdapterIsAnErrorAtCreate) {
  EngineOptions o = loraOptions();
  o.lora_adapters = {{"gone", "/nonexistent/adapter.gguf", 1.0f}};
  auto missing = Engine::create(o);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("/nonexistent/adapter.gguf"), std::string::npos);
  EXPECT_NE(missing.error().message().find("'gone'"), std::string::npos);

  const std::string corrupt_path =
      (std::filesystem::path(::testing::TempDir()) / "corrupt-lora.gguf").string();
  std::ofstream(corrupt_path) << "GGUF but not really";
  o.lora_adapters = {{"bad", corrupt_path, 1.0f}};
  auto corrupt = Engine::create(o);
  ASSERT_FALSE(corrupt);
  EXPECT_NE(corrupt.error().message().find(corrupt_path), std::string::npos);

  o.lora_adapters = {{"shape", testing_models::otherShapeLora(), 1.0f}};
  auto mismatched = Engine::create(o);
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message().find(testing_models::otherShapeLora()), std::string::npos);
  EXPECT_NE(mismatched.error().message().find("shape"), std::string::npos)
      << mismatched.error().message();

  // A base model is not an adapter.
  o.lora_adapters = {{"model", testing_models::tinyQwen2(), 1.0f}};
  auto not_adapter = Engine::create(o);
  ASSERT_FALSE(not_adapter);
  EXPECT_NE(not_adapter.error().message().find("adapter"), std::string::npos);
}

TEST(LoraTest, EmbeddingsAreUnaffected) {
  EngineOptions o = loraOptions(1.0f);
  o.embeddings = true;
  auto with = makeEngine(o);
  o.lora_adapters.clear();
  auto without = makeEngine(o);
  ASSERT_TRUE(with && without);
  run(*with, greedy("warm the adapter up", 2));
  auto a = with->embed({"hello world"});
  auto b = without->embed({"hello world"});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
}

}  // namespace
}  // namespace switchyard::engine
