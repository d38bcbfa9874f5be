// Guard scan throughput on chat-like prompts, with and without entities.
//   cmake --build build/guard --target guard_bench && build/guard/bin/guard_bench
// bytes_per_second in the output is the scan throughput on one core.

#include <benchmark/benchmark.h>

#include <string>

#include "switchyard/guard/detector.h"
#include "switchyard/guard/redact.h"
#include "switchyard/guard/stream_scanner.h"

namespace {

using switchyard::guard::Detector;
using switchyard::guard::DetectorOptions;
using switchyard::guard::DetectorPtr;

// Ordinary chat text: prose, a little code, numbers, dates, versions, ids; no entities.
constexpr const char* kClean[] = {
    "Can you help me refactor this function? It takes a list of orders and returns the total "
    "per customer, but it is slow when the list has more than 10000 items. ",
    "Here is the code:\n```python\ndef totals(orders):\n    out = {}\n    for o in orders:\n"
    "        out[o.customer] = out.get(o.customer, 0) + o.amount\n    return out\n```\n",
    "We are on version 3.11.4 of Python and pandas 2.1.0; the job runs at 02:30 every night "
    "(cron 30 2 * * *) and last ran on 2024-05-17T02:30:00Z with exit code 0. ",
    "Order #100234 and order #100235 were both delayed; the tracking ids were "
    "1Z999AA10123456784 and 550e8400-e29b-41d4-a716-446655440000. ",
    "The commit 3f786850e387550fdab836ed7e6dc881de23001b introduced the regression, and the "
    "benchmark dropped from 1,234 ops/s to 987 ops/s on the 8-core runner. ",
    "Please explain the trade-offs between a hash map and a sorted vector for about 500 keys, "
    "and whether the answer changes if the keys are 64-bit integers instead of strings. ",
};

// The same kind of text with PII and secrets mixed in.
constexpr const char* kDirty[] = {
    "Hi, I'm Jane Roe (jane.roe@example.com, +1 (415) 555-2671). My card 4111 1111 1111 1111 "
    "was charged twice for order #100234. ",
    "Refund to IBAN DE89 3704 0044 0532 0130 00 please; my SSN is 536-22-1234 if you need it. ",
    "The server at 10.20.30.40 rejects my key AKIAIOSFODNN7EXAMPLE with 403, the config has "
    "password: S3cure-Passw0rd and api_key=9f8e7d6c5b4a39281706f5e4d3c2b1a0. ",
    "Token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0"
    "w5N_XgL0n3I9PlFUP0THsR8U from the login call. ",
};

std::string buildPrompt(bool dirty, std::size_t size) {
  std::string out;
  std::size_t i = 0, j = 0;
  while (out.size() < size) {
    out += kClean[i++ % std::size(kClean)];
    if (dirty && i % 2 == 0) out += kDirty[j++ % std::size(kDirty)];
  }
  out.resize(size);
  return out;
}

const Detector& detector() {
  static const DetectorPtr d = [] {
    DetectorOptions o;
    o.deny_lists = {{"CODENAME", {"Project Bluebird", "Nightjar", "Kestrel"}}};
    return std::move(*Detector::create(o));
  }();
  return *d;
}

void BM_Scan(benchmark::State& state) {
  const std::string text = buildPrompt(state.range(0) != 0, static_cast<std::size_t>(state.range(1)));
  std::size_t findings = 0;
  for (auto _ : state) {
    auto f = detector().scan(text);
    findings = f.size();
    benchmark::DoNotOptimize(f.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_Scan)
    ->ArgNames({"entities", "bytes"})
    ->Args({0, 1024})
    ->Args({1, 1024})
    ->Args({0, 4096})
    ->Args({1, 4096})
    ->Args({0, 65536})
    ->Args({1, 65536});

void BM_ScanRedact(benchmark::State& state) {
  const std::string text = buildPrompt(true, 4096);
  for (auto _ : state) {
    switchyard::guard::Vault vault;
    auto f = detector().scan(text);
    auto out = switchyard::guard::redact(text, f, switchyard::guard::Style::kTyped, &vault);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ScanRedact);

// Model output arriving in token-sized chunks (about 4 bytes) through the stream scanner.
void BM_StreamScan(benchmark::State& state) {
  const std::string text = buildPrompt(true, 4096);
  const std::size_t chunk = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    switchyard::guard::StreamScanner s(detector(), nullptr);
    std::size_t out = 0;
    for (std::size_t i = 0; i < text.size(); i += chunk) {
      out += s.push(std::string_view(text).substr(i, chunk)).text.size();
    }
    out += s.finish().text.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_StreamScan)->ArgName("chunk")->Arg(4)->Arg(64)->Arg(512);

}  // namespace

namespace {

// One built-in type at a time (and the deny-list) on the entity-dense 4 KB prompt: where the
// time of BM_Scan/entities:1 goes.
void BM_OneType(benchmark::State& state) {
  const std::string text = buildPrompt(true, 4096);
  const auto& types = switchyard::guard::builtinEntityTypes();
  DetectorOptions o;
  const auto i = static_cast<std::size_t>(state.range(0));
  if (i < types.size()) {
    o.entities = {std::string(types[i])};
    state.SetLabel(std::string(types[i]));
  } else {
    o.builtins = false;
    o.deny_lists = {{"CODENAME", {"Project Bluebird", "Nightjar", "Kestrel"}}};
    state.SetLabel("CODENAME deny-list");
  }
  auto d = std::move(*Detector::create(o));
  for (auto _ : state) {
    auto f = d->scan(text);
    benchmark::DoNotOptimize(f.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_OneType)->DenseRange(0, 19);
}  // namespace


BENCHMARK_MAIN();
