// What the log phase's telemetry costs the calling I/O thread per request: metrics only, and
// metrics plus the request-log enqueue (the SQLite writer thread drains meanwhile). Goal: at
// most 5 µs per request. BM_RequestLogWriter: the writer thread's cost per row.
//   cmake --build --preset release --target telemetry_bench && build/release/bin/telemetry_bench
// Threads(2) runs the same from two threads at once (the I/O threads of a 2-core machine).

#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "switchyard/telemetry/observer.h"

namespace {

namespace sy = switchyard;
using sy::pipeline::RequestContext;

RequestContext makeContext(int i) {
  RequestContext ctx;
  ctx.request_id = "0123456789abcdef";
  ctx.endpoint = sy::pipeline::Endpoint::kChat;
  ctx.stream = (i & 1) != 0;
  ctx.requested_model = "fast";
  ctx.route = "fast";
  ctx.provider = "openai";
  ctx.model = i % 4 == 0 ? "gpt-4o" : "gpt-4o-mini";
  ctx.decision = "route fast";
  ctx.attempts = 1;
  ctx.http_status = 200;
  const auto now = RequestContext::Clock::now();
  ctx.received = now - std::chrono::milliseconds(30);
  ctx.upstream_start = now - std::chrono::milliseconds(29);
  ctx.first_byte = now - std::chrono::milliseconds(10);
  ctx.usage.prompt_tokens = 1200;
  ctx.usage.cached_tokens = 1024;
  ctx.usage.completion_tokens = 80;
  ctx.cost_usd = 0.0001;
  ctx.key_id = "key-1";
  ctx.team = "search";
  return ctx;
}

sy::config::Config benchConfig() {
  sy::config::Config c;
  sy::config::ProviderConfig p;
  p.name = "openai";
  p.kind = "openai";
  c.providers = {p};
  return c;
}

void BM_MetricsOnly(benchmark::State& state) {
  static sy::telemetry::Registry registry;
  static const sy::config::Config config = benchConfig();
  static sy::telemetry::TelemetryObserver observer(
      config, registry, std::make_shared<const sy::telemetry::LivePrices>(config), nullptr);
  const RequestContext ctx[2] = {makeContext(state.thread_index()),
                                 makeContext(state.thread_index() + 1)};
  int i = 0;
  for (auto _ : state) observer.onRequestDone(ctx[++i & 1]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MetricsOnly)->Threads(1)->Threads(2)->UseRealTime();

// The request log under test: opened by the first run, closed (its last rows written) and its
// files removed by main() before exit.
std::shared_ptr<sy::telemetry::RequestLog> g_log;
const std::string& dbPath() {
  static const std::string path = (std::filesystem::temp_directory_path() /
                                   ("sy_telemetry_bench_" + std::to_string(::getpid()) + ".db"))
                                      .string();
  return path;
}

void BM_MetricsAndRequestLog(benchmark::State& state) {
  static sy::telemetry::Registry registry;
  static const sy::config::Config config = benchConfig();
  static const std::string open_error = [&]() -> std::string {  // once, whichever thread
    sy::telemetry::RequestLogOptions options;
    options.queue_capacity = 1'000'000;  // measure the enqueue, not drops
    options.batch_size = 512;
    auto db = sy::store::openDatabase("sqlite://" + dbPath());
    if (!db) return db.error().message();
    auto opened = sy::telemetry::RequestLog::open(std::move(*db), options, registry);
    if (!opened) return opened.error().message();
    g_log = std::shared_ptr<sy::telemetry::RequestLog>(std::move(*opened));
    return {};
  }();
  if (!open_error.empty()) {
    state.SkipWithError(open_error.c_str());
    return;
  }
  static sy::telemetry::TelemetryObserver observer(
      config, registry, std::make_shared<const sy::telemetry::LivePrices>(config), g_log);
  const std::shared_ptr<sy::telemetry::RequestLog>& log = g_log;
  const RequestContext ctx[2] = {makeContext(state.thread_index()),
                                 makeContext(state.thread_index() + 1)};
  int i = 0;
  for (auto _ : state) observer.onRequestDone(ctx[++i & 1]);
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["dropped"] = static_cast<double>(log->dropped());
  }
}
BENCHMARK(BM_MetricsAndRequestLog)->Threads(1)->Threads(2)->UseRealTime();

// The writer's side: rows per second into SQLite. Each iteration hands a burst of rows to the
// log (request ids that grow with time, as the gateway makes them) and waits until they are
// written (flush), so the time per item is the writer's cost per row plus the enqueue.
void BM_RequestLogWriter(benchmark::State& state) {
  static sy::telemetry::Registry registry;
  static const sy::config::Config config = benchConfig();
  sy::telemetry::RequestLogOptions options;
  options.queue_capacity = 1'000'000;
  const std::string path = dbPath() + ".writer";
  auto db = sy::store::openDatabase("sqlite://" + path);
  if (!db) {
    state.SkipWithError(db.error().message().c_str());
    return;
  }
  auto opened = sy::telemetry::RequestLog::open(std::move(*db), options, registry);
  if (!opened) {
    state.SkipWithError(opened.error().message().c_str());
    return;
  }
  std::shared_ptr<sy::telemetry::RequestLog> log(std::move(*opened));
  sy::telemetry::TelemetryObserver observer(
      config, registry, std::make_shared<const sy::telemetry::LivePrices>(config), log);
  const int burst = static_cast<int>(state.range(0));
  std::vector<RequestContext> contexts;
  for (int i = 0; i < burst; ++i) contexts.push_back(makeContext(i));
  std::uint64_t serial = 0x19a0000000000000ULL;
  for (auto _ : state) {
    for (RequestContext& ctx : contexts) {
      char id[25];
      std::snprintf(id, sizeof id, "%024llx", static_cast<unsigned long long>(++serial));
      ctx.request_id = id;
      observer.onRequestDone(ctx);
    }
    log->flush();
  }
  state.SetItemsProcessed(state.iterations() * burst);
  state.counters["dropped"] = static_cast<double>(log->dropped());
  log.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ignored;
    std::filesystem::remove(path + suffix, ignored);
  }
}
BENCHMARK(BM_RequestLogWriter)->Arg(256)->Arg(4096)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RenderMetrics(benchmark::State& state) {
  sy::telemetry::Registry registry;
  const sy::config::Config config = benchConfig();
  sy::telemetry::TelemetryObserver observer(
      config, registry, std::make_shared<const sy::telemetry::LivePrices>(config), nullptr);
  for (int i = 0; i < 64; ++i) {
    RequestContext ctx = makeContext(i);
    ctx.model = "model-" + std::to_string(i);
    observer.onRequestDone(ctx);
  }
  for (auto _ : state) benchmark::DoNotOptimize(registry.render());
}
BENCHMARK(BM_RenderMetrics);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_log.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ignored;
    std::filesystem::remove(dbPath() + suffix, ignored);
  }
  return 0;
}
