// Memory of `eval run` over a large generated suite: the real gateway in-process against the
// fake OpenAI upstream (which keeps no request log here), a JSONL dataset of N cases (default
// 100k), results streamed to SQLite. Prints resident memory (RSS) every 10% of the requests and
// at the end, then the time and RSS of writing the JSON and HTML reports. Not a test: run it
// by hand (see README.md).
//
//   build/release/bin/eval_memory_bench [--cases N] [--concurrency C] [--dir DIR]

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "switchyard/core/log.h"
#include "switchyard/eval/report.h"
#include "switchyard/eval/runner.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"

namespace sy = switchyard;
namespace fs = std::filesystem;

namespace {

double rssMiB() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
         (1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  long cases = 100'000;
  int concurrency = 16;
  fs::path dir = fs::temp_directory_path() / ("sy-eval-bench-" + std::to_string(getpid()));
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--cases") cases = std::atol(argv[i + 1]);
    else if (a == "--concurrency") concurrency = std::atoi(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
    else {
      std::cerr << "usage: eval_memory_bench [--cases N] [--concurrency C] [--dir DIR]\n";
      return 2;
    }
  }
  (void)sy::setupLogging({"error", sy::LogFormat::kText, ""});
  fs::create_directories(dir);
  const double rss_start = rssMiB();

  // The dataset: N cases, ten categories.
  {
    std::ofstream out(dir / "data.jsonl");
    for (long i = 0; i < cases; ++i) {
      out << "{\"id\":\"c" << i << "\",\"q\":\"Question number " << i << "?\",\"category\":\"cat"
          << i % 10 << "\"}\n";
    }
  }
  std::ofstream(dir / "suite.yaml")
      << "name: bench\ntargets: [fast]\nprompt: '{{q}}'\ndataset: data.jsonl\n"
         "request: {max_tokens: 16}\n"
         "defaults:\n  - {type: icontains, value: hello}\n  - {type: latency, threshold: 60000}\n"
         "  - {type: no-pii}\n";

  sy::fakes::FakeUpstreamOptions fo;
  fo.record_requests = false;
  sy::fakes::FakeUpstream upstream(fo);
  std::atomic<long> requests{0};
  upstream.setResponder([&](const sy::fakes::RecordedRequest&) {
    requests.fetch_add(1, std::memory_order_relaxed);
    return std::optional<sy::fakes::Behavior>();
  });

  sy::config::Config cfg;
  cfg.source = "<bench>";
  cfg.server.host = "127.0.0.1";
  cfg.server.port = 0;
  cfg.server.workers = 1;
  cfg.log.access_log = false;
  sy::config::ProviderConfig p;
  p.name = "up";
  p.kind = "openai";
  p.base_url = upstream.baseUrl();
  p.models = {{"fake-model", {}, 0}};
  cfg.providers = {p};
  cfg.routes = {{"fast", "up", "fake-model", 1}};
  auto gw = sy::server::Gateway::create(std::move(cfg));
  if (!gw) {
    std::cerr << gw.error().message() << "\n";
    return 1;
  }
  (*gw)->start();

  auto suite = sy::eval::loadSuite((dir / "suite.yaml").string());
  if (!suite) {
    std::cerr << suite.error().message() << "\n";
    return 1;
  }
  fs::remove(dir / "eval.db");
  auto store = sy::eval::EvalStore::open("sqlite://" + (dir / "eval.db").string());
  if (!store) {
    std::cerr << store.error().message() << "\n";
    return 1;
  }
  sy::eval::RunnerOptions options;
  options.gateway_url = "http://127.0.0.1:" + std::to_string((*gw)->port()) + "/v1";
  options.concurrency = concurrency;
  options.progress = false;
  options.use_cache = false;

  std::printf("cases=%ld concurrency=%d rss_before=%.1f MiB (after writing the dataset)\n", cases,
              concurrency, rss_start);
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<bool> done{false};
  sy::Result<sy::eval::RunSummary> summary = std::unexpected(sy::Status());
  std::thread runner([&] {
    summary = sy::eval::runSuite(*suite, **store, options);
    done = true;
  });
  double peak = 0;
  long next_mark = cases / 10;
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const double rss = rssMiB();
    peak = std::max(peak, rss);
    if (requests.load() >= next_mark && next_mark <= cases) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("requests=%7ld  rss=%7.1f MiB  elapsed=%6.1f s\n", requests.load(), rss, s);
      std::fflush(stdout);
      next_mark += cases / 10;
    }
  }
  runner.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!summary) {
    std::cerr << summary.error().message() << "\n";
    return 1;
  }
  std::printf("run %s: %ld outputs, %ld passed in %.1f s (%.0f cases/s); peak rss=%.1f MiB\n",
              summary->run_id.c_str(), static_cast<long>(summary->outputs),
              static_cast<long>(summary->passed), secs, summary->outputs / secs, peak);
  (*gw)->shutdown();

  for (auto [name, f] : {std::pair{"json", sy::eval::ReportFormat::kJson},
                         std::pair{"html", sy::eval::ReportFormat::kHtml},
                         std::pair{"junit", sy::eval::ReportFormat::kJunit}}) {
    const auto r0 = std::chrono::steady_clock::now();
    std::ofstream out(dir / (std::string("report.") + name));
    auto s = sy::eval::writeReport(**store, summary->run_id, f, out);
    out.close();
    const double rs = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
    std::printf("report %-5s %7.1f MiB in %5.2f s, rss=%.1f MiB%s\n", name,
                static_cast<double>(fs::file_size(dir / (std::string("report.") + name))) /
                    (1024.0 * 1024.0),
                rs, rssMiB(), s.isOk() ? "" : (" ERROR " + s.message()).c_str());
  }
  std::printf("store: %.1f MiB at %s\n",
              static_cast<double>(fs::file_size(dir / "eval.db")) / (1024.0 * 1024.0),
              (dir / "eval.db").c_str());
  return 0;
}
