#include "switchyard/engine/engine.h"

#include <ggml-backend.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/engine/test_models.h"

namespace switchyard::engine {
namespace {

using namespace std::chrono_literals;

// Collects one request's events; wait() blocks until its terminal event.
class Collector {
 public:
  EventCallback callback() {
    return [this](EngineEvent&& ev) { onEvent(std::move(ev)); };
  }

  bool wait(std::chrono::seconds timeout = 120s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return done_; });
  }

  bool waitFirstToken(std::chrono::seconds timeout = 60s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return !pieces_.empty() || done_; });
  }

  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }
  std::vector<std::string> pieces() const {
    std::lock_guard lock(mu_);
    return pieces_;
  }
  EngineEvent final() const {
    std::lock_guard lock(mu_);
    return final_;
  }
  std::vector<ToolCall> toolCalls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<TokenLogprob> logprobs() const {
    std::lock_guard lock(mu_);
    return logprobs_;
  }
  std::vector<TokenLogprob> promptLogprobs() const {
    std::lock_guard lock(mu_);
    return prompt_logprobs_;
  }
  int terminalEvents() const {
    std::lock_guard lock(mu_);
    return terminal_;
  }

 private:
  void onEvent(EngineEvent&& ev) {
    std::lock_guard lock(mu_);
    switch (ev.kind) {
      case EngineEvent::Kind::kToken:
        text_ += ev.text;
        if (!ev.text.empty()) pieces_.push_back(ev.text);
        for (auto& lp : ev.logprobs) logprobs_.push_back(std::move(lp));
        for (auto& lp : ev.prompt_logprobs) prompt_logprobs_.push_back(std::move(lp));
        for (const auto& d : ev.tool_calls) {
          if (static_cast<std::size_t>(d.index) >= calls_.size()) calls_.resize(d.index + 1);
          auto& call = calls_[static_cast<std::size_t>(d.index)];
          if (!d.id.empty()) call.id = d.id;
          if (!d.name.empty()) call.name = d.name;
          call.arguments += d.arguments;
        }
        break;
      case EngineEvent::Kind::kDone:
      case EngineEvent::Kind::kError:
        ++terminal_;
        final_ = std::move(ev);
        done_ = true;
        break;
    }
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  std::vector<std::string> pieces_;
  std::vector<ToolCall> calls_;
  std::vector<TokenLogprob> logprobs_;
  std::vector<TokenLogprob> prompt_logprobs_;
  EngineEvent final_;
  bool done_ = false;
  int terminal_ = 0;
};

EngineOptions tinyOptions() {
  EngineOptions o;
  o.model_path = testing_models::tinyQwen2();
  o.n_ctx = 2048;
  o.n_parallel = 4;
  o.n_batch = 256;
  o.n_threads = 1;  // a 64-dim model gains nothing from more, and CI machines are shared
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

bool hasGpu() {
  for (std::size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    if (ggml_backend_dev_type(ggml_backend_dev_get(i)) == GGML_BACKEND_DEVICE_TYPE_GPU) return true;
  }
  return false;
}

GenerationRequest greedyRaw(std::string prompt, int max_tokens) {
  GenerationRequest r;
  r.raw_prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  return r;
}

GenerationRequest chat(std::string user, int max_tokens) {
  GenerationRequest r;
  r.messages.push_back({.role = "user", .content = std::move(user)});
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  return r;
}

// Runs one request to completion.
struct Outcome {
  std::string text;
  std::vector<std::string> pieces;
  EngineEvent final;
  std::vector<ToolCall> calls;
  std::vector<TokenLogprob> logprobs;
  std::vector<TokenLogprob> prompt_logprobs;
};
Outcome run(Engine& engine, GenerationRequest request) {
  Collector c;
  auto id = engine.enqueue(std::move(request), c.callback());
  if (!id) {
    ADD_FAILURE() << "enqueue: " << id.error().toString();
    return {};
  }
  EXPECT_TRUE(c.wait()) << "request did not finish";
  return {c.text(), c.pieces(), c.final(), c.toolCalls(), c.logprobs(), c.promptLogprobs()};
}

std::string longText(int words, const std::string& seed_word) {
  std::string s;
  for (int i = 0; i < words; ++i) s += seed_word + std::to_string(i % 97) + " ";
  return s;
}

TEST(EngineTest, InfoDescribesTheLoadedModel) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  const auto& info = engine->info();
  EXPECT_EQ(info.architecture, "qwen2");
  EXPECT_EQ(info.n_layer, 2);
  EXPECT_EQ(info.n_embd, 64);
  EXPECT_EQ(info.n_vocab, 151936);
  EXPECT_EQ(info.sha256.size(), 64u);
  EXPECT_NE(info.chat_template.find("<|im_start|>"), std::string::npos);
}

// By default a model goes on the GPUs as far as their free memory holds it: in a CUDA build on a
// machine with a GPU every layer of a tiny model (and its output layer) is there, and the rest
// of this file decodes on the GPU too; a CPU-only build has no GPU and reports none.
TEST(EngineTest, LayersGoToTheGpuByDefaultWhenThereIsOne) {
  EngineOptions o = tinyOptions();
  ASSERT_EQ(o.n_gpu_layers, kGpuLayersAuto);
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  if (hasGpu()) {
    EXPECT_EQ(engine->info().gpu_layers, engine->info().n_layer + 1);
    EXPECT_FALSE(engine->info().gpu_devices.empty());
  } else {
    EXPECT_EQ(engine->info().gpu_layers, 0);
    EXPECT_EQ(engine->info().gpu_devices, "");
  }
  o.n_gpu_layers = 1;
  auto one = makeEngine(o);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->info().gpu_layers, hasGpu() ? 1 : 0);
  o.n_gpu_layers = 0;
  auto cpu = makeEngine(o);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->info().gpu_layers, 0);
  EXPECT_EQ(cpu->info().gpu_devices, "");
  // Greedy text from the CPU-only engine and the default one: the same on a CPU-only build;
  // on a GPU the kernels round differently, so only the lengths must agree.
  auto a = run(*engine, greedyRaw("The same prompt", 12));
  auto b = run(*cpu, greedyRaw("The same prompt", 12));
  EXPECT_EQ(a.final.usage.completion_tokens, 12);
  EXPECT_EQ(b.final.usage.completion_tokens, 12);
  if (!hasGpu()) {
    EXPECT_EQ(a.text, b.text);
  }

  o.n_gpu_layers = kGpuLayersAuto - 1;
  auto bad = Engine::create(o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST(EngineTest, MissingOrCorruptModelIsAnErrorNamingTheFile) {
  EngineOptions o = tinyOptions();
  o.model_path = "/nonexistent/model.gguf";
  auto missing = Engine::create(o);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("/nonexistent/model.gguf"), std::string::npos);

  // A directory (a common slip: the folder the model is in) says so, not "not found".
  const std::string dir = (std::filesystem::path(::testing::TempDir()) / "models-dir").string();
  std::filesystem::create_directories(dir);
  o.model_path = dir;
  auto directory = Engine::create(o);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(directory.error().message(), "model path is a directory, not a GGUF file: " + dir);
  std::filesystem::remove(dir);

  o.model_path = (std::filesystem::path(::testing::TempDir()) / "corrupt.gguf").string();
  std::ofstream(o.model_path) << "GGUF but not really";
  auto corrupt = Engine::create(o);
  ASSERT_FALSE(corrupt);
  EXPECT_NE(corrupt.error().message().find(o.model_path), std::string::npos);
}

TEST(EngineTest, ChatMessagesGoThroughTheModelsTemplate) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  auto chat_count = engine->countPromptTokens(chat("hi there", 4));
  GenerationRequest raw;
  raw.raw_prompt =
      "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nhi there"
      "<|im_end|>\n<|im_start|>assistant\n";
  auto raw_count = engine->countPromptTokens(raw);
  ASSERT_TRUE(chat_count && raw_count);
  EXPECT_EQ(*chat_count, *raw_count);
  EXPECT_GT(*chat_count, 10);
}

TEST(EngineTest, MemorizingModelAnswersItsQuestions) {
  EngineOptions o = tinyOptions();
  o.model_path = testing_models::tinyMemorizing();
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  for (const auto& [question, answer] : testing_models::memorizedAnswers()) {
    const Outcome greedy = run(*engine, chat(question, 32));
    EXPECT_EQ(greedy.text, answer) << question;
    EXPECT_EQ(greedy.final.finish_reason, FinishReason::kStop) << question;
    // The answer's margin is wide: sampling at temperature 1 gives the same text.
    GenerationRequest sampled = chat(question, 32);
    sampled.sampling.temperature = 1.0f;
    sampled.sampling.seed = 7;
    EXPECT_EQ(run(*engine, std::move(sampled)).text, answer) << question;
  }
  const Outcome other = run(*engine, chat("How tall is Mount Everest?", 32));
  EXPECT_EQ(other.text, testing_models::kFallbackAnswer);
  EXPECT_EQ(other.final.finish_reason, FinishReason::kStop);
  // Only "the" of the capital question is in this one: a common word, not a key.
  EXPECT_EQ(run(*engine, chat("What is the weather like?", 32)).text,
            testing_models::kFallbackAnswer);
  // A system prompt and an earlier exchange do not confuse it.
  GenerationRequest turns = chat("Who wrote Hamlet?", 32);
  turns.messages.insert(turns.messages.begin(), {{.role = "system", .content = "Answer briefly."},
                                                 {.role = "user", .content = "Hello!"},
                                                 {.role = "assistant", .content = "Hi."}});
  EXPECT_EQ(run(*engine, std::move(turns)).text, "William Shakespeare.");
}

// Quantized weights run through other kernels than F32 ones (on a CPU with AMX, ggml's AMX
// kernels, which GCC 12 miscompiled until scripts/bootstrap learned to build without them): a
// prompt of many tokens and a decode of one, in two sequences at once, twice alike.
TEST(EngineTest, QuantizedModelsGenerate) {
  for (const char* type : {"q8_0", "q4_0"}) {
    SCOPED_TRACE(type);
    const auto path =
        (std::filesystem::path(::testing::TempDir()) / (std::string("engine-") + type + ".gguf"))
            .string();
    auto q = quantizeModel(testing_models::tinyQwen2(), path, type);
    ASSERT_TRUE(q) << q.error().toString();
    EngineOptions o = tinyOptions();
    o.model_path = path;
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    const auto request = greedyRaw("Once upon a time, " + longText(60, "quant"), 8);
    Collector a, b;
    ASSERT_TRUE(engine->enqueue(request, a.callback()));
    ASSERT_TRUE(engine->enqueue(request, b.callback()));
    ASSERT_TRUE(a.wait() && b.wait());
    for (const Collector* c : {&a, &b}) {
      EXPECT_EQ(c->final().kind, EngineEvent::Kind::kDone) << c->final().error.toString();
      EXPECT_EQ(c->final().usage.completion_tokens, 8);
      EXPECT_GT(c->final().usage.prompt_tokens, 60);
    }
    EXPECT_FALSE(a.text().empty());
    EXPECT_EQ(run(*engine, request).text, a.text());
  }
}

TEST(EngineTest, GreedyOutputIsDeterministicRunToRun) {
  const auto request = greedyRaw("Once upon a time, in a land far away,", 24);
  std::string first;
  for (int round = 0; round < 2; ++round) {
    auto engine = makeEngine(tinyOptions());
    ASSERT_TRUE(engine);
    auto a = run(*engine, request);
    auto b = run(*engine, request);  // second time its prefix is cached
    EXPECT_EQ(a.final.kind, EngineEvent::Kind::kDone);
    EXPECT_EQ(a.final.finish_reason, FinishReason::kLength);
    EXPECT_EQ(a.final.usage.completion_tokens, 24);
    EXPECT_FALSE(a.text.empty());
    EXPECT_EQ(a.text, b.text);
    EXPECT_GT(b.final.usage.cached_tokens, 0);
    if (round == 0) {
      first = a.text;
    } else {
      EXPECT_EQ(a.text, first);
    }
  }
}

TEST(EngineTest, ConcurrentRequestsEachFinishWithExactUsage) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  constexpr int kRequests = 4;
  constexpr int kMaxTokens = 32;
  std::vector<std::unique_ptr<Collector>> collectors;
  std::vector<int> prompt_tokens;
  for (int i = 0; i < kRequests; ++i) {
    auto req = greedyRaw("Request number " + std::to_string(i) + " asks: " + longText(5 + i, "w"),
                         kMaxTokens);
    auto count = engine->countPromptTokens(req);
    ASSERT_TRUE(count);
    prompt_tokens.push_back(*count);
    collectors.push_back(std::make_unique<Collector>());
    ASSERT_TRUE(engine->enqueue(req, collectors.back()->callback()));
  }
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(collectors[i]->wait());
    const auto ev = collectors[i]->final();
    EXPECT_EQ(ev.kind, EngineEvent::Kind::kDone);
    EXPECT_EQ(ev.finish_reason, FinishReason::kLength);
    EXPECT_EQ(ev.usage.completion_tokens, kMaxTokens);
    EXPECT_EQ(ev.usage.prompt_tokens, prompt_tokens[i]);
    EXPECT_EQ(ev.timings.prompt_tokens_decoded, prompt_tokens[i] - ev.usage.cached_tokens);
    EXPECT_EQ(collectors[i]->terminalEvents(), 1);
  }
  // Batched: far fewer llama_decode calls than tokens generated.
  const auto stats = engine->stats();
  EXPECT_EQ(stats.completion_tokens, static_cast<std::uint64_t>(kRequests * kMaxTokens));
  EXPECT_LT(stats.decode_calls, static_cast<std::uint64_t>(kRequests * kMaxTokens / 2));
  EXPECT_EQ(stats.active, 0u);
}

TEST(EngineTest, CancelFreesTheSlotForAQueuedRequest) {
  EngineOptions o = tinyOptions();
  o.n_parallel = 1;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  Collector a, b;
  auto id_a = engine->enqueue(greedyRaw("A long story:", 1500), a.callback());
  ASSERT_TRUE(id_a);
  ASSERT_TRUE(a.waitFirstToken());
  ASSERT_TRUE(engine->enqueue(greedyRaw("Short one:", 8), b.callback()));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(engine->stats().queued, 1u);  // b waits for the only sequence
  engine->cancel(*id_a);
  ASSERT_TRUE(a.wait());
  EXPECT_EQ(a.final().finish_reason, FinishReason::kCancelled);
  EXPECT_LT(a.final().usage.completion_tokens, 1500);
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(b.final().finish_reason, FinishReason::kLength);
  EXPECT_EQ(b.final().usage.completion_tokens, 8);
  engine->cancel(*id_a);  // finished ids are ignored
}

TEST(EngineTest, CancelWhileQueued) {
  EngineOptions o = tinyOptions();
  o.n_parallel = 1;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  Collector a, b;
  auto id_a = engine->enqueue(greedyRaw("Busy:", 1500), a.callback());
  ASSERT_TRUE(id_a);
  ASSERT_TRUE(a.waitFirstToken());
  auto id_b = engine->enqueue(greedyRaw("Never runs:", 8), b.callback());
  ASSERT_TRUE(id_b);
  engine->cancel(*id_b);
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(b.final().finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(b.final().usage.completion_tokens, 0);
  EXPECT_TRUE(b.text().empty());
  engine->cancel(*id_a);
  ASSERT_TRUE(a.wait());
}

TEST(EngineTest, SharedPrefixIsReusedFromAnIdleSequence) {
  EngineOptions o = tinyOptions();
  o.n_parallel = 2;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  const std::string system = "You are a careful assistant. " + longText(150, "rule");
  auto request = [&](const std::string& user) {
    GenerationRequest r = chat(user, 4);
    r.messages.insert(r.messages.begin(), ChatMessage{.role = "system", .content = system});
    r.ignore_eos = true;
    return r;
  };
  auto first = run(*engine, request("What is the first rule?"));
  auto second = run(*engine, request("And the last one?"));
  ASSERT_EQ(first.final.kind, EngineEvent::Kind::kDone);
  ASSERT_EQ(second.final.kind, EngineEvent::Kind::kDone);
  EXPECT_EQ(first.final.usage.cached_tokens, 0);
  EXPECT_GT(second.final.usage.cached_tokens, 300);  // the whole system prompt
  EXPECT_LT(second.final.timings.prompt_tokens_decoded, 30);
  EXPECT_EQ(second.final.timings.prompt_tokens_decoded,
            second.final.usage.prompt_tokens - second.final.usage.cached_tokens);
  EXPECT_LT(second.final.timings.prompt_tokens_decoded,
            first.final.timings.prompt_tokens_decoded / 10);
}

// Four requests with one long common prefix, enqueued together: the oldest computes the prefix
// and the others take its KV (sitting out the steps it takes), so it is computed once. Each
// output equals that of an engine that computes every prompt in full.
TEST(EngineTest, ConcurrentRequestsComputeACommonPrefixOnce) {
  const std::string prefix = "Shared instructions. " + longText(100, "policy");
  const std::vector<std::string> questions = {"Question: one?", "Question: two, please?",
                                              "Question: three", "And four?"};
  auto options = [](bool share) {
    EngineOptions o = tinyOptions();
    o.n_batch = 64;  // the prefix takes several steps
    o.share_prefixes = share;
    return o;
  };
  auto runAll = [&](Engine& engine) {
    std::vector<std::unique_ptr<Collector>> cs;
    for (const auto& q : questions) {
      cs.push_back(std::make_unique<Collector>());
      EXPECT_TRUE(engine.enqueue(greedyRaw(prefix + q, 8), cs.back()->callback()));
    }
    std::vector<EngineEvent> done;
    for (auto& c : cs) {
      EXPECT_TRUE(c->wait());
      done.push_back(c->final());
      done.back().text = c->text();
    }
    return done;
  };
  auto shared_engine = makeEngine(options(true));
  auto plain_engine = makeEngine(options(false));
  ASSERT_TRUE(shared_engine && plain_engine);
  const auto shared = runAll(*shared_engine);
  const auto plain = runAll(*plain_engine);

  auto prefix_tokens = shared_engine->tokenize(prefix, true);
  ASSERT_TRUE(prefix_tokens);
  const int n_prefix = static_cast<int>(prefix_tokens->size());
  ASSERT_GT(n_prefix, 250);
  int decoded_shared = 0, decoded_plain = 0;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    SCOPED_TRACE(questions[i]);
    ASSERT_EQ(shared[i].kind, EngineEvent::Kind::kDone);
    ASSERT_EQ(plain[i].kind, EngineEvent::Kind::kDone);
    EXPECT_EQ(shared[i].text, plain[i].text);  // shared KV is the KV it would have computed
    EXPECT_EQ(shared[i].usage.completion_tokens, 8);
    EXPECT_EQ(shared[i].usage.prompt_tokens, plain[i].usage.prompt_tokens);
    EXPECT_EQ(shared[i].timings.prompt_tokens_decoded,
              shared[i].usage.prompt_tokens - shared[i].usage.cached_tokens);
    EXPECT_EQ(plain[i].usage.cached_tokens, 0);
    if (i > 0) {
      EXPECT_GE(shared[i].usage.cached_tokens, n_prefix - 2);
    }
    decoded_shared += shared[i].timings.prompt_tokens_decoded;
    decoded_plain += plain[i].timings.prompt_tokens_decoded;
  }
  EXPECT_GE(decoded_plain, 4 * n_prefix);
  EXPECT_LT(decoded_shared, n_prefix + 4 * 16);  // the prefix once, then only the questions
  const auto stats = shared_engine->stats();
  EXPECT_GE(stats.shared_prefix_tokens, static_cast<std::uint64_t>(3 * (n_prefix - 2)));
  EXPECT_EQ(plain_engine->stats().shared_prefix_tokens, 0u);
}

// Shared cells count once against the context: four requests whose 300-token prefix is shared fit
// together in a context that holds only one of them unshared.
TEST(EngineTest, SharedPrefixCellsCountOnceAgainstTheContext) {
  const std::string prefix = "Shared instructions. " + longText(100, "policy");
  for (bool share : {true, false}) {
    SCOPED_TRACE(share ? "sharing" : "not sharing");
    EngineOptions o = tinyOptions();
    o.n_ctx = 512;
    o.share_prefixes = share;
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    auto first_len = engine->countPromptTokens(greedyRaw(prefix + "Q0", 24));
    ASSERT_TRUE(first_len);
    ASSERT_GT(*first_len, 512 / 2);  // two unshared copies do not fit
    std::mutex mu;
    bool first_done = false;
    int overlapping = 0;  // other requests whose first token came while the first still ran
    std::vector<std::unique_ptr<Collector>> cs;
    for (int i = 0; i < 4; ++i) {
      cs.push_back(std::make_unique<Collector>());
      auto cb = cs.back()->callback();
      auto id = engine->enqueue(greedyRaw(prefix + "Q" + std::to_string(i), 24),
                                [&, i, cb, seen = false](EngineEvent&& ev) mutable {
                                  {
                                    std::lock_guard lock(mu);
                                    if (i == 0 && ev.kind != EngineEvent::Kind::kToken) {
                                      first_done = true;
                                    }
                                    if (i > 0 && !seen && ev.kind == EngineEvent::Kind::kToken) {
                                      seen = true;
                                      if (!first_done) ++overlapping;
                                    }
                                  }
                                  cb(std::move(ev));
                                });
      ASSERT_TRUE(id);
    }
    for (auto& c : cs) {
      ASSERT_TRUE(c->wait());
      EXPECT_EQ(c->final().kind, EngineEvent::Kind::kDone);
      EXPECT_EQ(c->final().finish_reason, FinishReason::kLength);
      EXPECT_EQ(c->final().usage.completion_tokens, 24);
    }
    const auto stats = engine->stats();
    EXPECT_LE(stats.kv_cells_used, 512u);
    std::lock_guard lock(mu);
    EXPECT_EQ(overlapping, share ? 3 : 0);
  }
}

// Sliding-window attention: llama.cpp may overwrite a cell once it falls out of its sequence's
// window, and saves only the cells inside the window (llama_state_seq_get_data). So a prompt never
// takes another sequence's cells, and a kept prefix is reused only while the window before it is
// held. Every output equals computing the prompt afresh.
TEST(EngineTest, SlidingWindowModelReusesOnlyKvItStillHolds) {
  EngineOptions o = tinyOptions();
  o.model_path = testing_models::tinySlidingWindow();
  o.n_parallel = 2;
  o.host_cache_bytes = 0;
  auto afresh = [&](const GenerationRequest& r) {
    auto cold = makeEngine(o);
    return cold ? run(*cold, r).text : std::string();
  };
  const std::string prefix = "Shared instructions. " + longText(60, "policy");
  const std::string tail = longText(150, "tail");
  {
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    EXPECT_EQ(engine->info().architecture, "olmo2");
    auto n_prefix = engine->tokenize(prefix, true);
    ASSERT_TRUE(n_prefix);
    ASSERT_GT(n_prefix->size(), 64u);  // longer than the window

    // An idle sequence's own prefix, still held: reused, same output.
    run(*engine, greedyRaw(prefix + tail, 4));
    const auto second = greedyRaw(prefix + "Question: two?", 8);
    auto out = run(*engine, second);
    EXPECT_GE(out.final.usage.cached_tokens, static_cast<int>(n_prefix->size()) - 2);
    EXPECT_EQ(out.text, afresh(second));

    // Concurrent requests with one prefix each compute it: sliding-window cells are not shared.
    Collector a, b;
    const auto a_req = greedyRaw(prefix + "Concurrent A", 6);
    const auto b_req = greedyRaw(prefix + "Concurrent B", 6);
    ASSERT_TRUE(engine->enqueue(a_req, a.callback()));
    ASSERT_TRUE(engine->enqueue(b_req, b.callback()));
    ASSERT_TRUE(a.wait());
    ASSERT_TRUE(b.wait());
    EXPECT_EQ(a.text(), afresh(a_req));
    EXPECT_EQ(b.text(), afresh(b_req));
    EXPECT_EQ(engine->stats().shared_prefix_tokens, 0u);
  }
  {
    // Through the host cache: the saved state lacks the cells before the last window, so the
    // restored prefix cannot be used and the prompt is computed in full.
    EngineOptions one = o;
    one.n_parallel = 1;
    one.host_cache_bytes = 64u << 20;
    auto engine = makeEngine(one);
    ASSERT_TRUE(engine);
    run(*engine, greedyRaw(prefix + tail, 4));
    run(*engine, greedyRaw("Something else entirely. " + longText(40, "other"), 2));
    EXPECT_GE(engine->stats().host_cache_entries, 1u);
    const auto third = greedyRaw(prefix + "Question: three?", 8);
    auto out = run(*engine, third);
    EXPECT_EQ(out.final.usage.cached_tokens, 0);
    EXPECT_EQ(out.text, afresh(third));
  }
}

// An idle sequence does not stay in the context once another request starts (every prompt chunk
// would attend over its cells): it moves to the host cache, and comes back from there.
TEST(EngineTest, IdleSequencesMoveToTheHostCacheWhenARequestStarts) {
  const std::string a_prompt = "Document A. " + longText(80, "alpha") + "Question?";
  const std::string b_prompt = "Something else. " + longText(40, "beta");
  for (bool park : {true, false}) {
    SCOPED_TRACE(park ? "parking" : "not parking");
    EngineOptions o = tinyOptions();
    o.n_parallel = 2;
    o.park_idle = park;
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    auto a_len = engine->countPromptTokens(greedyRaw(a_prompt, 4));
    auto b_len = engine->countPromptTokens(greedyRaw(b_prompt, 4));
    ASSERT_TRUE(a_len && b_len);
    auto a = run(*engine, greedyRaw(a_prompt, 4));
    EXPECT_EQ(engine->stats().host_cache_entries, 0u);
    run(*engine, greedyRaw(b_prompt, 4));
    const auto stats = engine->stats();
    if (park) {
      EXPECT_EQ(stats.host_cache_entries, 1u);
      // Only B's sequence is left in the context (its last sampled token is never stored).
      EXPECT_EQ(stats.kv_cells_used, static_cast<std::size_t>(*b_len + 4 - 1));
    } else {
      EXPECT_EQ(stats.host_cache_entries, 0u);
      EXPECT_EQ(stats.kv_cells_used, static_cast<std::size_t>(*a_len + *b_len + 2 * (4 - 1)));
    }
    // A again: its prefix comes back (from the host cache or its idle sequence), same output.
    auto again = run(*engine, greedyRaw(a_prompt, 4));
    EXPECT_EQ(again.final.usage.cached_tokens, *a_len - 1);
    EXPECT_EQ(again.text, a.text);
  }
  {
    // A sequence the host cache cannot hold stays in the context rather than being lost.
    EngineOptions o = tinyOptions();
    o.n_parallel = 2;
    o.host_cache_bytes = 16u << 10;  // a few dozen tokens of this model's KV
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    auto a_len = engine->countPromptTokens(greedyRaw(a_prompt, 4));
    ASSERT_TRUE(a_len);
    run(*engine, greedyRaw(a_prompt, 4));
    run(*engine, greedyRaw(b_prompt, 4));
    EXPECT_EQ(engine->stats().host_cache_entries, 0u);
    auto again = run(*engine, greedyRaw(a_prompt, 4));
    EXPECT_EQ(again.final.usage.cached_tokens, *a_len - 1);
  }
}

// What a GPU does by default (min_saved_run_tokens 32), here on the CPU: sequences decoded
// together hold a KV cell per step each, too scattered to be worth saving one run at a time, so
// they stay in the context; a sequence decoded alone holds one run and still moves.
TEST(EngineTest, ScatteredSequencesStayInTheContextWhenSavingThemCostsMore) {
  const std::string a_prompt = "First. " + longText(20, "alpha");
  const std::string b_prompt = "Second. " + longText(20, "beta");
  const std::string c_prompt = "Third. " + longText(60, "gamma");
  for (int min_run : {32, 0}) {
    SCOPED_TRACE("min_saved_run_tokens " + std::to_string(min_run));
    EngineOptions o = tinyOptions();
    o.n_parallel = 3;
    o.min_saved_run_tokens = min_run;
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    auto a_len = engine->countPromptTokens(greedyRaw(a_prompt, 24));
    auto b_len = engine->countPromptTokens(greedyRaw(b_prompt, 24));
    auto c_len = engine->countPromptTokens(greedyRaw(c_prompt, 4));
    ASSERT_TRUE(a_len && b_len && c_len);
    ASSERT_LT(*a_len + 24, 32 * 24);  // scattered: under 32 tokens per run
    Collector a, b;
    ASSERT_TRUE(engine->enqueue(greedyRaw(a_prompt, 24), a.callback()));
    ASSERT_TRUE(engine->enqueue(greedyRaw(b_prompt, 24), b.callback()));
    ASSERT_TRUE(a.wait() && b.wait());
    const std::size_t ab_cells = static_cast<std::size_t>(*a_len + *b_len + 2 * (24 - 1));
    ASSERT_EQ(engine->stats().kv_cells_used, ab_cells);

    run(*engine, greedyRaw(c_prompt, 4));  // admitted alone: parks what is worth parking
    const auto stats = engine->stats();
    const std::size_t c_cells = static_cast<std::size_t>(*c_len + 4 - 1);
    if (min_run == 32) {
      EXPECT_EQ(stats.host_cache_entries, 0u);
      EXPECT_EQ(stats.kv_cells_used, ab_cells + c_cells);
    } else {
      EXPECT_EQ(stats.host_cache_entries, 2u);
      EXPECT_EQ(stats.kv_cells_used, c_cells);
    }
    // C was decoded alone, one run: it moves when the next request starts, either way.
    run(*engine, greedyRaw(a_prompt, 2));
    EXPECT_EQ(engine->stats().host_cache_entries, min_run == 32 ? 1u : 2u);
  }
}

TEST(EngineTest, AShortMatchLeavesALongCacheAlone) {
  EngineOptions o = tinyOptions();
  o.n_parallel = 2;
  o.host_cache_bytes = 0;  // what is overwritten is lost
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  const std::string p1 = "Document one. " + longText(120, "alpha");
  run(*engine, greedyRaw(p1 + "Question: one?", 2));
  // Shares "Document" with the first: it takes the empty sequence, not the first one's (it may
  // copy that one token's KV from the first, which keeps it).
  auto other = run(*engine, greedyRaw("Document two. Question: two?", 2));
  EXPECT_LE(other.final.usage.cached_tokens, 1);
  auto again = run(*engine, greedyRaw(p1 + "Question: three?", 2));
  EXPECT_GT(again.final.usage.cached_tokens, 200);
  // With both sequences holding something, a short match takes the least recently used one.
  run(*engine, greedyRaw("Unrelated.", 2));  // the "two" sequence: the one used longest ago
  auto third = run(*engine, greedyRaw(p1 + "Question: four?", 2));
  EXPECT_GT(third.final.usage.cached_tokens, 200);
}

TEST(EngineTest, EvictedPrefixComesBackFromTheHostCache) {
  for (bool host_cache : {true, false}) {
    SCOPED_TRACE(host_cache ? "with host cache" : "without host cache");
    EngineOptions o = tinyOptions();
    o.n_parallel = 1;
    o.host_cache_bytes = host_cache ? (64u << 20) : 0;
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    const std::string p1 = "Document one. " + longText(120, "alpha");
    const std::string p2 = "Document two. " + longText(120, "beta");
    run(*engine, greedyRaw(p1 + "Question: one?", 2));
    run(*engine, greedyRaw(p2 + "Question: two?", 2));  // takes the only sequence
    auto third = run(*engine, greedyRaw(p1 + "Question: three?", 8));
    if (host_cache) {
      EXPECT_GT(third.final.usage.cached_tokens, 200);
      EXPECT_GE(engine->stats().host_cache_entries, 1u);
      // The restored KV is the real thing: same output as computing the prompt afresh.
      auto cold_engine = makeEngine(tinyOptions());
      ASSERT_TRUE(cold_engine);
      auto cold = run(*cold_engine, greedyRaw(p1 + "Question: three?", 8));
      EXPECT_EQ(third.text, cold.text);
    } else {
      EXPECT_LT(third.final.usage.cached_tokens, 5);  // only "Document" is shared with p2
    }
  }
}

TEST(EngineTest, CachedPrefixGivesTheSameGreedyOutput) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  const std::string prefix = "Shared context. " + longText(60, "ctx");
  auto cold_engine = makeEngine(tinyOptions());
  ASSERT_TRUE(cold_engine);
  run(*engine, greedyRaw(prefix + "first", 4));
  auto warm = run(*engine, greedyRaw(prefix + "second question", 16));
  auto cold = run(*cold_engine, greedyRaw(prefix + "second question", 16));
  EXPECT_GT(warm.final.usage.cached_tokens, 0);
  EXPECT_EQ(cold.final.usage.cached_tokens, 0);
  EXPECT_EQ(warm.text, cold.text);
}

TEST(EngineTest, LongPromptIsPrefilledInChunksWhileOthersKeepGenerating) {
  EngineOptions o = tinyOptions();
  o.n_batch = 32;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  std::mutex mu;
  int a_tokens = 0;
  int a_tokens_at_b_first = -1;
  bool b_seen = false;
  Collector a_done, b_done;
  auto a_cb = a_done.callback();
  auto id_a = engine->enqueue(greedyRaw("Keep talking:", 400), [&](EngineEvent&& ev) {
    {
      std::lock_guard lock(mu);
      if (ev.kind == EngineEvent::Kind::kToken) ++a_tokens;
    }
    a_cb(std::move(ev));
  });
  ASSERT_TRUE(id_a);
  ASSERT_TRUE(a_done.waitFirstToken());
  int a_tokens_at_b_enqueue = 0;
  {
    std::lock_guard lock(mu);
    a_tokens_at_b_enqueue = a_tokens;
  }
  auto b_cb = b_done.callback();
  auto b_prompt = greedyRaw(longText(300, "chunk"), 4);
  auto b_len = engine->countPromptTokens(b_prompt);
  ASSERT_TRUE(b_len);
  ASSERT_GT(*b_len, 20 * 32);  // at least 20 steps of prefill at 32 tokens per step
  ASSERT_TRUE(engine->enqueue(b_prompt, [&](EngineEvent&& ev) {
    {
      std::lock_guard lock(mu);
      if (!b_seen && ev.kind == EngineEvent::Kind::kToken) {
        b_seen = true;
        a_tokens_at_b_first = a_tokens;
      }
    }
    b_cb(std::move(ev));
  }));
  ASSERT_TRUE(b_done.wait());
  engine->cancel(*id_a);
  ASSERT_TRUE(a_done.wait());
  std::lock_guard lock(mu);
  ASSERT_TRUE(b_seen);
  // A got a token in (nearly) every step of B's prefill instead of waiting for all of it.
  EXPECT_GE(a_tokens_at_b_first - a_tokens_at_b_enqueue, 15);
}

TEST(EngineTest, FullContextEndsSequencesWithLength) {
  EngineOptions o = tinyOptions();
  o.n_ctx = 160;
  o.n_parallel = 2;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  Collector a, b;
  ASSERT_TRUE(engine->enqueue(greedyRaw("First stream:", 1000), a.callback()));
  ASSERT_TRUE(engine->enqueue(greedyRaw("Second stream:", 1000), b.callback()));
  ASSERT_TRUE(a.wait());
  ASSERT_TRUE(b.wait());
  for (const auto* c : {&a, &b}) {
    const auto ev = c->final();
    EXPECT_EQ(ev.kind, EngineEvent::Kind::kDone);
    EXPECT_EQ(ev.finish_reason, FinishReason::kLength);
    EXPECT_GT(ev.usage.completion_tokens, 0);
  }
  // Neither outgrew the context (the last sampled token is never stored: + 1). Whether they
  // shared it depends on timing: once one has grown, the other waits for room.
  for (const auto* c : {&a, &b}) {
    EXPECT_LE(c->final().usage.prompt_tokens + c->final().usage.completion_tokens, 160 + 1);
  }
  // And the engine is still good for the next request.
  auto next = run(*engine, greedyRaw("After:", 4));
  EXPECT_EQ(next.final.usage.completion_tokens, 4);
}

// Sequences without a grammar sample in parallel on the compute threads. Each sampler is its
// own, so every request's tokens are what serial sampling gives (here: one compute thread),
// whether greedy, seeded at a temperature, with stateful penalties, or grammar-constrained
// beside them.
TEST(EngineTest, ParallelSamplingGivesWhatSerialSamplingGives) {
  const std::string schema =
      R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],)"
      R"("additionalProperties":false})";
  auto requests = [&] {
    std::vector<GenerationRequest> rs;
    for (int i = 0; i < 4; ++i) {
      GenerationRequest r = greedyRaw("Request " + std::to_string(i) + ": " + longText(6, "w"), 24);
      r.sampling.temperature = i == 0 ? 0.0f : 0.9f;
      r.sampling.seed = 100 + static_cast<std::uint32_t>(i);
      if (i == 2) {
        r.sampling.repeat_penalty = 1.3f;
        r.sampling.frequency_penalty = 0.5f;
      }
      rs.push_back(std::move(r));
    }
    GenerationRequest json = chat("Give me JSON.", 40);
    json.json_schema = schema;
    json.sampling.temperature = 0.8f;
    json.sampling.seed = 7;
    rs.push_back(std::move(json));
    return rs;
  };
  auto runAll = [&](int threads) {
    EngineOptions o = tinyOptions();
    o.n_parallel = 5;
    o.n_threads = threads;
    auto engine = makeEngine(o);
    EXPECT_TRUE(engine);
    // The logits depend on which sequences share a step (llama.cpp's CPU kernels round
    // differently with the batch's size), and a seeded sample at temperature can turn on the
    // last bit. So all five join in one step both times: they are enqueued from the final event
    // of a first request, on the engine thread, before it admits again.
    std::vector<std::unique_ptr<Collector>> collectors;
    for (std::size_t i = 0; i < requests().size(); ++i) {
      collectors.push_back(std::make_unique<Collector>());
    }
    std::promise<void> enqueued;
    EXPECT_TRUE(engine->enqueue(greedyRaw("Start.", 1), [&](EngineEvent&& ev) {
      if (ev.kind == EngineEvent::Kind::kToken) return;
      auto rs = requests();
      for (std::size_t i = 0; i < rs.size(); ++i) {
        EXPECT_TRUE(engine->enqueue(std::move(rs[i]), collectors[i]->callback()));
      }
      enqueued.set_value();
    }));
    enqueued.get_future().wait();
    std::vector<std::string> texts;
    for (auto& c : collectors) {
      EXPECT_TRUE(c->wait());
      EXPECT_EQ(c->final().kind, EngineEvent::Kind::kDone) << c->final().error.toString();
      texts.push_back(c->text());
    }
    return texts;
  };
  const auto serial = runAll(1);
  const auto parallel = runAll(2);
  ASSERT_EQ(serial.size(), parallel.size());
  for (std::size_t i = 0; i < serial.size(); ++i) {
    EXPECT_FALSE(serial[i].empty()) << i;
    EXPECT_EQ(parallel[i], serial[i]) << "request " << i;
  }
  EXPECT_NE(serial[1], serial[3]);  // seeds differ, so do the samples
  boost::system::error_code ec;
  EXPECT_TRUE(boost::json::parse(parallel[4], ec).is_object()) << parallel[4];
}

TEST(EngineTest, JsonSchemaOutputAlwaysParses) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  const std::string schema = R"({
    "type": "object",
    "properties": {
      "answer": {"type": "string", "maxLength": 12},
      "score": {"type": "integer"},
      "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3}
    },
    "required": ["answer", "score", "tags"],
    "additionalProperties": false
  })";
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    GenerationRequest r = chat("Give me JSON.", 200);
    r.json_schema = schema;
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 0;
    r.sampling.top_p = 1.0f;
    r.sampling.min_p = 0.0f;
    r.sampling.seed = seed;
    auto out = run(*engine, r);
    ASSERT_EQ(out.final.kind, EngineEvent::Kind::kDone) << out.final.error.toString();
    EXPECT_EQ(out.final.finish_reason, FinishReason::kStop) << out.text;
    boost::system::error_code ec;
    auto value = boost::json::parse(out.text, ec);
    ASSERT_FALSE(ec) << "not JSON: " << out.text;
    ASSERT_TRUE(value.is_object()) << out.text;
    EXPECT_TRUE(value.as_object().contains("answer")) << out.text;
    EXPECT_TRUE(value.as_object().at("score").is_int64()) << out.text;
    EXPECT_TRUE(value.as_object().at("tags").is_array()) << out.text;
  }
  GenerationRequest any = chat("Any JSON object.", 300);
  any.json_object = true;
  any.sampling.temperature = 0.7f;
  any.sampling.seed = 9;
  auto out = run(*engine, any);
  if (out.final.finish_reason == FinishReason::kStop) {
    boost::system::error_code ec;
    auto value = boost::json::parse(out.text, ec);
    EXPECT_FALSE(ec) << out.text;
    EXPECT_TRUE(value.is_object()) << out.text;
  } else {
    // Free-form objects can outgrow any token budget; what came out must still be a prefix.
    EXPECT_EQ(out.text.front(), '{') << out.text;
  }
}

TEST(EngineTest, BadJsonSchemaIsRejectedAtEnqueue) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  GenerationRequest r = chat("hi", 4);
  r.json_schema = "{not json";
  Collector c;
  auto id = engine->enqueue(r, c.callback());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.terminalEvents(), 0);
}

TEST(EngineTest, ToolCallsComeOutAsToolCalls) {
  EngineOptions o = tinyOptions();
  o.model_path = testing_models::tinyQwen2Tools();
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  // Random weights would ramble before calling (the grammar allows text first): steer them to
  // open a call at once and to end the turn as soon as the grammar allows it. Everything in
  // between is the tool-call grammar's doing.
  auto open = engine->tokenize("<tool_call>\n");
  auto close = engine->tokenize("</tool_call>");
  auto im_end = engine->tokenize("<|im_end|>");
  auto eot = engine->tokenize("<|endoftext|>");
  ASSERT_TRUE(open && close && im_end && eot);
  ASSERT_EQ(open->size(), 1u);
  ASSERT_EQ(close->size(), 1u);
  ASSERT_EQ(im_end->size(), 1u);
  ASSERT_EQ(eot->size(), 1u);

  GenerationRequest r = chat("What's the weather in Paris?", 150);
  r.tools.push_back(
      {.name = "get_weather",
       .description = "Current weather for a city",
       .parameters =
           R"({"type":"object","properties":{"city":{"type":"string","maxLength":10}},"required":["city"],"additionalProperties":false})"});
  r.tools.push_back({.name = "get_time", .description = "Current time", .parameters = ""});
  r.tool_choice_name = "get_weather";
  r.sampling.temperature = 0.8f;
  r.sampling.seed = 3;
  r.sampling.logit_bias = {
      {(*open)[0], 100.0f}, {(*close)[0], 100.0f}, {(*im_end)[0], 200.0f}, {(*eot)[0], 200.0f}};
  auto out = run(*engine, r);
  ASSERT_EQ(out.final.kind, EngineEvent::Kind::kDone) << out.final.error.toString();
  EXPECT_EQ(out.final.finish_reason, FinishReason::kToolCalls) << out.text;
  ASSERT_EQ(out.calls.size(), 1u) << out.text;
  EXPECT_EQ(out.calls[0].name, "get_weather");
  EXPECT_EQ(out.calls[0].id.rfind("call_", 0), 0u) << out.calls[0].id;
  boost::system::error_code ec;
  auto args = boost::json::parse(out.calls[0].arguments, ec);
  ASSERT_FALSE(ec) << out.calls[0].arguments;
  EXPECT_TRUE(args.as_object().contains("city")) << out.calls[0].arguments;
  EXPECT_EQ(out.text.find("<tool_call>"), std::string::npos) << "markup leaked into content";

  GenerationRequest unknown = chat("hi", 8);
  unknown.tools = r.tools;
  unknown.tool_choice_name = "nope";
  Collector c;
  auto refused = engine->enqueue(unknown, c.callback());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().param(), "tool_choice");
}

TEST(EngineTest, PromptLongerThanTheContextNamesBothNumbers) {
  EngineOptions o = tinyOptions();
  o.n_ctx = 256;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  GenerationRequest r = greedyRaw(longText(400, "word"), 4);
  auto n = engine->countPromptTokens(r);
  ASSERT_TRUE(n);
  Collector c;
  auto id = engine->enqueue(r, c.callback());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(id.error().message(),
            "prompt is " + std::to_string(*n) + " tokens but the context holds 256");
}

TEST(EngineTest, FullQueueIsUnavailableWithRetryAfter) {
  EngineOptions o = tinyOptions();
  o.n_parallel = 1;
  o.max_queue = 1;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  Collector a, b, c;
  auto id_a = engine->enqueue(greedyRaw("Running:", 1500), a.callback());
  ASSERT_TRUE(id_a);
  ASSERT_TRUE(a.waitFirstToken());
  auto id_b = engine->enqueue(greedyRaw("Waiting:", 4), b.callback());
  ASSERT_TRUE(id_b);
  auto id_c = engine->enqueue(greedyRaw("Refused:", 4), c.callback());
  ASSERT_FALSE(id_c);
  EXPECT_EQ(id_c.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(id_c.error().message(), "engine queue is full (1 waiting)");
  EXPECT_GT(id_c.error().retryAfterSeconds(), 0);
  engine->cancel(*id_a);
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(b.final().finish_reason, FinishReason::kLength);
}

TEST(EngineTest, StopStringAcrossTokenBoundary) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  const auto request = greedyRaw("The quick brown fox", 40);
  auto free_run = run(*engine, request);
  ASSERT_EQ(free_run.final.finish_reason, FinishReason::kLength);
  // A stop string made of the end of one token and the start of the next.
  std::string stop;
  for (std::size_t i = 2; i + 1 < free_run.pieces.size() && stop.empty(); ++i) {
    const auto& a = free_run.pieces[i];
    const auto& b = free_run.pieces[i + 1];
    if (a.size() >= 2 && b.size() >= 2 && (a.back() & 0x80) == 0 && (b.front() & 0x80) == 0) {
      stop = a.substr(a.size() - 2) + b.substr(0, 2);
    }
  }
  ASSERT_FALSE(stop.empty()) << "no two ASCII pieces to split a stop string across";
  const auto expected = free_run.text.substr(0, free_run.text.find(stop));

  auto r = request;
  r.stop = {stop};
  auto stopped = run(*engine, r);
  EXPECT_EQ(stopped.final.finish_reason, FinishReason::kStop);
  EXPECT_EQ(stopped.final.stop_sequence, stop);  // Anthropic's stop_sequence
  EXPECT_EQ(stopped.text, expected);
  EXPECT_EQ(stopped.text.find(stop), std::string::npos);
  EXPECT_LT(stopped.final.usage.completion_tokens, 40);
  EXPECT_TRUE(free_run.final.stop_sequence.empty());
}

// Logprobs: one entry per generated token, whose texts make up the output; under greedy
// decoding each token is the step's most likely one; the numbers are a distribution's.
TEST(EngineTest, LogprobsFollowTheTextAndAreTheModels) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  GenerationRequest r = greedyRaw("The quick brown fox", 24);
  r.ignore_eos = false;  // greedy over the raw logits: the sampled token is their argmax
  r.logprobs = 3;
  auto out = run(*engine, r);
  ASSERT_EQ(out.final.kind, EngineEvent::Kind::kDone);
  ASSERT_EQ(out.final.finish_reason, FinishReason::kLength);
  ASSERT_EQ(out.logprobs.size(), 24u);
  std::string joined;
  for (const TokenLogprob& lp : out.logprobs) {
    joined += lp.token;
    EXPECT_LE(lp.logprob, 0.0f);
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_EQ(lp.top[0].first, lp.token);
    EXPECT_NEAR(lp.top[0].second, lp.logprob, 1e-5);
    double mass = 0;
    for (std::size_t i = 0; i < lp.top.size(); ++i) {
      if (i > 0) {
        EXPECT_GE(lp.top[i - 1].second, lp.top[i].second);
      }
      mass += std::exp(lp.top[i].second);
    }
    EXPECT_LE(mass, 1.0 + 1e-4);
  }
  EXPECT_EQ(joined, out.text);

  // The same numbers when asked without alternatives; none when not asked.
  r.logprobs = 0;
  auto bare = run(*engine, r);
  ASSERT_EQ(bare.logprobs.size(), out.logprobs.size());
  for (std::size_t i = 0; i < bare.logprobs.size(); ++i) {
    EXPECT_TRUE(bare.logprobs[i].top.empty());
    EXPECT_NEAR(bare.logprobs[i].logprob, out.logprobs[i].logprob, 1e-4);
  }
  r.logprobs = -1;
  EXPECT_TRUE(run(*engine, r).logprobs.empty());

  // A stop string's tokens are never reported: what is reported is a prefix of the text.
  std::string stop = out.logprobs[10].token + out.logprobs[11].token;
  r.logprobs = 1;
  r.stop = {stop};
  auto stopped = run(*engine, r);
  ASSERT_EQ(stopped.final.finish_reason, FinishReason::kStop);
  std::string reported;
  for (const TokenLogprob& lp : stopped.logprobs) reported += lp.token;
  EXPECT_TRUE(stopped.text.starts_with(reported)) << reported << " | " << stopped.text;
  EXPECT_EQ(stopped.text.find(stop), std::string::npos);
  EXPECT_LE(stopped.logprobs.size(), 10u);
  EXPECT_LT(static_cast<int>(stopped.logprobs.size()), stopped.final.usage.completion_tokens);
}

// Greedy, "Say something:" then " hello" n times: a bias of 100 on that one token makes it the
// only sensible choice.
GenerationRequest saysHello(Engine& engine, int n) {
  GenerationRequest r = greedyRaw("Say something:", n);
  auto hello = engine.tokenize(" hello");
  if (!hello || hello->size() != 1) {
    ADD_FAILURE() << "\" hello\" is not one token";
    return r;
  }
  r.sampling.logit_bias = {{(*hello)[0], 100.0f}};
  return r;
}

// Prompt logprobs (echo with logprobs): one entry per prompt token, the first without a number;
// each is the model's log-probability of that token after the ones before it — the same number
// the step that generated that token reported — whatever the prompt cache holds.
TEST(EngineTest, PromptLogprobsAreTheModelsForEachPromptToken) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  // Logprobs are of the raw logits, before the bias.
  GenerationRequest gen = saysHello(*engine, 3);
  gen.logprobs = 2;
  auto generated = run(*engine, gen);
  ASSERT_EQ(generated.text, " hello hello hello");
  ASSERT_EQ(generated.logprobs.size(), 3u);
  EXPECT_TRUE(generated.prompt_logprobs.empty());  // not asked

  GenerationRequest scored = greedyRaw("Say something: hello hello hello", 1);
  scored.logprobs = 2;
  scored.prompt_logprobs = true;
  for (int round = 0; round < 2; ++round) {  // the second finds the prompt cached: not used
    auto out = run(*engine, scored);
    ASSERT_EQ(out.final.kind, EngineEvent::Kind::kDone) << out.final.error.toString();
    EXPECT_EQ(out.final.usage.cached_tokens, 0);
    const auto& p = out.prompt_logprobs;
    ASSERT_EQ(static_cast<int>(p.size()), out.final.usage.prompt_tokens);
    ASSERT_GE(p.size(), 4u);
    EXPECT_TRUE(std::isnan(p[0].logprob));
    EXPECT_TRUE(p[0].top.empty());
    std::string joined;
    for (const TokenLogprob& lp : p) joined += lp.token;
    EXPECT_EQ(joined, "Say something: hello hello hello");
    for (std::size_t i = 0; i < 3; ++i) {
      const TokenLogprob& mine = p[p.size() - 3 + i];
      const TokenLogprob& theirs = generated.logprobs[i];
      EXPECT_EQ(mine.token, " hello");
      EXPECT_NEAR(mine.logprob, theirs.logprob, 1e-3) << i;
      ASSERT_EQ(mine.top.size(), 2u);
      EXPECT_EQ(mine.top[0].first, theirs.top[0].first) << i;
      EXPECT_NEAR(mine.top[0].second, theirs.top[0].second, 1e-3) << i;
    }
    // And the generated token's own entry, as usual.
    EXPECT_EQ(out.logprobs.size(), 1u);
  }

  // max_tokens 0: the prompt is scored, nothing is generated.
  GenerationRequest only_prompt = scored;
  only_prompt.max_tokens = 0;
  only_prompt.ignore_eos = false;
  auto prompt_only = run(*engine, only_prompt);
  ASSERT_EQ(prompt_only.final.kind, EngineEvent::Kind::kDone) << prompt_only.final.error.toString();
  EXPECT_EQ(prompt_only.final.finish_reason, FinishReason::kLength);
  EXPECT_EQ(prompt_only.final.usage.completion_tokens, 0);
  EXPECT_TRUE(prompt_only.text.empty());
  EXPECT_TRUE(prompt_only.logprobs.empty());
  ASSERT_EQ(static_cast<int>(prompt_only.prompt_logprobs.size()),
            prompt_only.final.usage.prompt_tokens);
  EXPECT_NEAR(prompt_only.prompt_logprobs.back().logprob, generated.logprobs.back().logprob, 1e-3);

  // A prompt of several chunks: every token has its entry, in order.
  const std::string text = longText(60, "w");
  GenerationRequest long_prompt = greedyRaw(text, 1);
  long_prompt.logprobs = 0;
  long_prompt.prompt_logprobs = true;
  auto out = run(*engine, long_prompt);
  ASSERT_EQ(out.final.kind, EngineEvent::Kind::kDone);
  ASSERT_GT(out.final.usage.prompt_tokens, 128);
  ASSERT_EQ(static_cast<int>(out.prompt_logprobs.size()), out.final.usage.prompt_tokens);
  std::string joined;
  for (std::size_t i = 0; i < out.prompt_logprobs.size(); ++i) {
    joined += out.prompt_logprobs[i].token;
    if (i > 0) {
      EXPECT_LE(out.prompt_logprobs[i].logprob, 0.0f);
      EXPECT_TRUE(out.prompt_logprobs[i].top.empty());
    }
  }
  EXPECT_EQ(joined, text);
}

TEST(EngineTest, LogitBiasSteersSampling) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  GenerationRequest r = saysHello(*engine, 6);
  auto out = run(*engine, r);
  EXPECT_EQ(out.text, " hello hello hello hello hello hello");

  r.sampling.logit_bias = {{151936, 1.0f}};
  Collector c;
  auto bad = engine->enqueue(r, c.callback());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().param(), "logit_bias");
}

TEST(EngineTest, MaxTokensAndEosWithoutIgnoreEos) {
  auto engine = makeEngine(tinyOptions());
  ASSERT_TRUE(engine);
  GenerationRequest r = chat("Hello", 5);
  auto out = run(*engine, r);
  ASSERT_EQ(out.final.kind, EngineEvent::Kind::kDone);
  EXPECT_LE(out.final.usage.completion_tokens, 5);
  EXPECT_TRUE(out.final.finish_reason == FinishReason::kLength ||
              out.final.finish_reason == FinishReason::kStop);

  GenerationRequest zero = chat("Hello", 0);
  Collector c;
  auto id = engine->enqueue(zero, c.callback());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().param(), "max_tokens");
}

TEST(EngineTest, Embeddings) {
  EngineOptions o = tinyOptions();
  o.embeddings = true;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  auto e = engine->embed({"hello world", "hello world", "something else entirely"});
  ASSERT_TRUE(e) << e.error().toString();
  ASSERT_EQ(e->size(), 3u);
  for (const auto& v : *e) {
    ASSERT_EQ(v.size(), 64u);
    const double norm = std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0));
    EXPECT_NEAR(norm, 1.0, 1e-4);
  }
  EXPECT_EQ((*e)[0], (*e)[1]);
  EXPECT_NE((*e)[0], (*e)[2]);

  auto no = makeEngine(tinyOptions());
  ASSERT_TRUE(no);
  auto refused = no->embed({"x"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnprocessable);
}

TEST(EngineTest, RerankerScoresPairsWithItsRankHead) {
  EngineOptions o = tinyOptions();
  o.model_path = testing_models::tinyReranker();
  o.embeddings = true;
  auto engine = makeEngine(o);
  ASSERT_TRUE(engine);
  EXPECT_TRUE(engine->isReranker());
  const std::vector<std::string> docs = {"The office is in Lyon.", "Pagers rotate on Monday.",
                                         "The office is in Lyon.", "Revenue doubled."};
  auto scores = engine->rerank("Where is the office?", docs);
  ASSERT_TRUE(scores) << scores.error().toString();
  ASSERT_EQ(scores->size(), docs.size());
  for (float s : *scores) {
    EXPECT_GT(s, 0.0f);  // softmax over the yes/no head: P(yes)
    EXPECT_LT(s, 1.0f);
  }
  EXPECT_FLOAT_EQ((*scores)[0], (*scores)[2]);  // the same pair, the same score
  EXPECT_NE((*scores)[0], (*scores)[1]);
  // In any company, a pair scores the same, to rounding: no sequence sees another's tokens.
  auto pair = engine->rerank("Where is the office?", {docs[3], docs[1]});
  ASSERT_TRUE(pair);
  EXPECT_NEAR(pair->at(1), (*scores)[1], 1e-5);
  EXPECT_NEAR(pair->at(0), (*scores)[3], 1e-5);
  // Alone too, to the precision of the attention kernel, which depends on the batch: on the CPU
  // a decode of under 64 tokens accumulates values in F16, a larger one in F32 (1.3e-3 apart
  // here); on a GPU the kernels differ as well (2.4e-4 apart on an H100).
  auto alone = engine->rerank("Where is the office?", {docs[1]});
  ASSERT_TRUE(alone);
  EXPECT_NEAR(alone->front(), (*scores)[1], 5e-3);
  // A reranker does not embed, and does not generate.
  auto embedded = engine->embed({"x"});
  ASSERT_FALSE(embedded);
  EXPECT_EQ(embedded.error().code(), ErrorCode::kUnprocessable);
  EXPECT_NE(embedded.error().message().find("reranker"), std::string::npos);
  Collector c;
  EXPECT_FALSE(engine->enqueue(chat("hi", 2), c.callback()));

  // An embedding model that is not a reranker refuses to rerank.
  EngineOptions e = tinyOptions();
  e.embeddings = true;
  auto embedder = makeEngine(e);
  ASSERT_TRUE(embedder);
  EXPECT_FALSE(embedder->isReranker());
  auto refused = embedder->rerank("q", {"d"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnprocessable);
  EXPECT_NE(refused.error().message().find("not a reranker"), std::string::npos);
}

TEST(EngineTest, DestructionEndsRunningRequests) {
  Collector a, b;
  {
    EngineOptions o = tinyOptions();
    o.n_parallel = 1;
    auto engine = makeEngine(o);
    ASSERT_TRUE(engine);
    ASSERT_TRUE(engine->enqueue(greedyRaw("Forever:", 1500), a.callback()));
    ASSERT_TRUE(a.waitFirstToken());
    ASSERT_TRUE(engine->enqueue(greedyRaw("Queued:", 4), b.callback()));
  }
  EXPECT_EQ(a.terminalEvents(), 1);
  EXPECT_EQ(a.final().finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(b.terminalEvents(), 1);
  EXPECT_EQ(b.final().kind, EngineEvent::Kind::kError);
  EXPECT_EQ(b.final().error.code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace switchyard::engine
