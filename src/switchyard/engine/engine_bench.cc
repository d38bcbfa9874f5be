// engine_bench: throughput of the in-process engine on a model made on the spot (or given).
// Not a test; prints one line per measurement.
//
//   engine_bench [--model FILE | --vocab FILE [--layers N --dim N --heads N --kv-heads N --ff N
//                 --weights f32|f16 --quant TYPE]] [--threads N] [--ctx N] [--tokens N]
//                [--streams N] [--chat] [--prefix N] [--gpu-layers auto|all|N]
//                [--min-saved-run N]

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/engine/engine.h"
#include "switchyard/engine/model_maker.h"

namespace {

using namespace switchyard;
using namespace switchyard::engine;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string model, vocab, weights = "f32", quant;
  int layers = 2, dim = 64, heads = 4, kv_heads = 2, ff = 128;
  int threads = 0, ctx = 8192, tokens = 64, streams = 4, prefix = 0;
  int gpu_layers = kGpuLayersAuto;
  int min_saved_run = -1;
  bool chat = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--model")
      a.model = next();
    else if (k == "--vocab")
      a.vocab = next();
    else if (k == "--layers")
      a.layers = std::stoi(next());
    else if (k == "--dim")
      a.dim = std::stoi(next());
    else if (k == "--heads")
      a.heads = std::stoi(next());
    else if (k == "--kv-heads")
      a.kv_heads = std::stoi(next());
    else if (k == "--ff")
      a.ff = std::stoi(next());
    else if (k == "--weights")
      a.weights = next();
    else if (k == "--quant")
      a.quant = next();
    else if (k == "--threads")
      a.threads = std::stoi(next());
    else if (k == "--ctx")
      a.ctx = std::stoi(next());
    else if (k == "--tokens")
      a.tokens = std::stoi(next());
    else if (k == "--streams")
      a.streams = std::stoi(next());
    else if (k == "--prefix")
      a.prefix = std::stoi(next());
    else if (k == "--gpu-layers") {
      const std::string v = next();
      a.gpu_layers = v == "auto" ? kGpuLayersAuto : v == "all" ? kGpuLayersAll : std::stoi(v);
    } else if (k == "--min-saved-run") {
      a.min_saved_run = std::stoi(next());
    } else if (k == "--chat")
      a.chat = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      std::exit(2);
    }
  }
  return a;
}

struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int tokens = 0;
  int prompt_tokens = 0;
  int cached_tokens = 0;
  std::vector<double> ttft_ms;
  Clock::time_point start;
};

GenerationRequest makeRequest(const Args& a, int i, const std::string& shared) {
  GenerationRequest r;
  const std::string text = shared + "Stream " + std::to_string(i) + ": tell me a long story.";
  if (a.chat) {
    r.messages.push_back({.role = "user", .content = text});
  } else {
    r.raw_prompt = text;
  }
  r.max_tokens = a.tokens;
  r.ignore_eos = true;
  r.sampling.temperature = 0.0f;
  return r;
}

// Runs `n` requests at once; returns aggregate completion tokens per second.
double runBatch(Engine& engine, const Args& a, int n, const std::string& shared, double* ttft,
                int* prompt_tokens = nullptr, int* cached_tokens = nullptr) {
  Waiter w;
  w.start = Clock::now();
  w.ttft_ms.assign(static_cast<std::size_t>(n), -1);
  for (int i = 0; i < n; ++i) {
    auto id = engine.enqueue(makeRequest(a, i, shared), [&w, i](EngineEvent&& ev) {
      std::lock_guard lock(w.mu);
      if (ev.kind == EngineEvent::Kind::kToken && w.ttft_ms[static_cast<std::size_t>(i)] < 0) {
        w.ttft_ms[static_cast<std::size_t>(i)] =
            std::chrono::duration<double, std::milli>(Clock::now() - w.start).count();
      }
      if (ev.kind != EngineEvent::Kind::kToken) {
        if (ev.kind == EngineEvent::Kind::kError)
          std::fprintf(stderr, "error: %s\n", ev.error.toString().c_str());
        w.tokens += ev.usage.completion_tokens;
        w.prompt_tokens += ev.usage.prompt_tokens;
        w.cached_tokens += ev.usage.cached_tokens;
        ++w.done;
        w.cv.notify_all();
      }
    });
    if (!id) {
      std::fprintf(stderr, "enqueue: %s\n", id.error().toString().c_str());
      std::exit(1);
    }
  }
  std::unique_lock lock(w.mu);
  w.cv.wait(lock, [&] { return w.done == n; });
  const double secs = std::chrono::duration<double>(Clock::now() - w.start).count();
  if (ttft != nullptr) *ttft = w.ttft_ms[0];
  if (prompt_tokens != nullptr) *prompt_tokens = w.prompt_tokens;
  if (cached_tokens != nullptr) *cached_tokens = w.cached_tokens;
  return w.tokens / secs;
}

// Where the engine's steps between two stats() went, per step.
void printStepSplit(const EngineStats& before, const EngineStats& after) {
  const double steps = static_cast<double>(after.decode_calls - before.decode_calls);
  if (steps == 0) return;
  auto ms = [&](double after_s, double before_s) { return (after_s - before_s) * 1e3 / steps; };
  const double step = ms(after.step_seconds, before.step_seconds);
  const double fwd = ms(after.decode_seconds, before.decode_seconds);
  const double sample = ms(after.sample_seconds, before.sample_seconds);
  std::printf(
      "  per step (%.0f steps): %.3f ms = forward pass %.3f + sampling %.3f + engine %.3f\n", steps,
      step, fwd, sample, step - fwd - sample);
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  namespace fs = std::filesystem;
  if (a.model.empty()) {
    if (a.vocab.empty()) {
      std::fprintf(stderr, "need --model or --vocab\n");
      return 2;
    }
    TinyModelSpec spec;
    spec.vocab_path = a.vocab;
    spec.n_layer = a.layers;
    spec.n_embd = a.dim;
    spec.n_head = a.heads;
    spec.n_head_kv = a.kv_heads;
    spec.n_ff = a.ff;
    spec.weight_type = a.weights;
    spec.out_path = (fs::temp_directory_path() / "engine_bench.gguf").string();
    const auto t0 = Clock::now();
    if (auto r = makeTinyModel(spec); !r) {
      std::fprintf(stderr, "make: %s\n", r.error().toString().c_str());
      return 1;
    }
    std::printf("made %s in %.1f s\n", spec.out_path.c_str(),
                std::chrono::duration<double>(Clock::now() - t0).count());
    a.model = spec.out_path;
    if (!a.quant.empty()) {
      const std::string q =
          (fs::temp_directory_path() / ("engine_bench-" + a.quant + ".gguf")).string();
      if (auto r = quantizeModel(a.model, q, a.quant); !r) {
        std::fprintf(stderr, "quantize: %s\n", r.error().toString().c_str());
        return 1;
      }
      a.model = q;
    }
  }

  EngineOptions o;
  o.model_path = a.model;
  o.n_ctx = a.ctx;
  o.n_parallel = std::max(1, a.streams);
  o.n_threads = a.threads;
  o.n_gpu_layers = a.gpu_layers;
  o.min_saved_run_tokens = a.min_saved_run;
  o.hash_file = false;
  auto engine = Engine::create(o);
  if (!engine) {
    std::fprintf(stderr, "engine: %s\n", engine.error().toString().c_str());
    return 1;
  }
  const auto& info = (*engine)->info();
  std::printf("model %s: %s, %.1f M params, %s, threads %d, %d of %d layers on %s\n",
              a.model.c_str(), info.architecture.c_str(), info.n_params / 1e6,
              info.file_type.c_str(), a.threads, info.gpu_layers, info.n_layer + 1,
              info.gpu_devices.empty() ? "no GPU" : info.gpu_devices.c_str());

  runBatch(**engine, a, 1, "", nullptr);  // warm-up
  double ttft = 0;
  const EngineStats before = (*engine)->stats();
  const double single = runBatch(**engine, a, 1, "", &ttft);
  const EngineStats after = (*engine)->stats();
  std::printf("1 stream x %d tokens: %.1f tok/s (ttft %.1f ms)%s\n", a.tokens, single, ttft,
              a.chat ? " [chat]" : "");
  printStepSplit(before, after);
  if (a.streams > 1) {
    const EngineStats many_before = (*engine)->stats();
    const double many = runBatch(**engine, a, a.streams, "", nullptr);
    std::printf("%d streams x %d tokens: %.1f tok/s aggregate\n", a.streams, a.tokens, many);
    printStepSplit(many_before, (*engine)->stats());
  }
  if (a.prefix > 0) {
    std::string shared;
    for (int i = 0; shared.size() < static_cast<std::size_t>(a.prefix) * 3; ++i) {
      shared += "word" + std::to_string(i % 89) + " ";
    }
    Args one = a;
    one.tokens = 1;
    double cold = 0, warm = 0;
    int cold_tokens = 0, warm_tokens = 0, warm_cached = 0;
    runBatch(**engine, one, 1, "Cold " + shared, &cold, &cold_tokens);
    runBatch(**engine, one, 1, "Cold " + shared + " again", &warm, &warm_tokens, &warm_cached);
    std::printf(
        "ttft, %d-token prompt: cold %.1f ms (%.0f tok/s prefill); %d-token prompt sharing %d: "
        "%.1f ms (%.1fx)\n",
        cold_tokens, cold, cold_tokens / (cold / 1000.0), warm_tokens, warm_cached, warm,
        cold / warm);
  }
  return 0;
}
