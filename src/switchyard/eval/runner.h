#pragma once
// Runner: runs a suite's cases against its targets through a gateway's OpenAI-compatible HTTP
// API (chat completions; tools and response_format passed through), grades every output, and
// streams the results to the store. Work runs on one private io_context thread with
// `concurrency` requests in flight; blocking work (store look-ups, the code sandbox) goes to a
// small thread pool and results to a ResultWriter thread, so memory stays flat for any number of
// cases (the dataset itself is read on the runner thread, one buffered case at a time; the
// gateway's own I/O threads are never touched). A response cache keyed by target + request
// (+ repeat) skips calls already made;
// --resume skips outputs already stored. One runSuite() call per thread; not re-entrant.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/eval/assertions.h"
#include "switchyard/eval/eval_store.h"
#include "switchyard/eval/suite.h"

namespace switchyard::eval {

struct RunnerOptions {
  std::string gateway_url;  // e.g. http://127.0.0.1:8080/v1 ("/v1" is added to a bare origin)
  std::string api_key;      // sent as Authorization: Bearer when set
  std::vector<std::string> targets;  // only these target names (empty: all of the suite's)
  int concurrency = 0;      // 0: the suite's
  int repeats = 0;          // 0: the suite's
  std::int64_t limit = 0;   // run at most this many cases (0: all)
  bool use_cache = true;
  std::string resume_run;   // continue this run instead of starting one
  std::string baseline;     // recorded with the run (reports compare against it)
  std::string gateway_label;  // recorded with the run ("in-process: FILE" or the URL)
  GradeOptions grade;
  SandboxOptions sandbox;
  bool progress = true;
  std::chrono::milliseconds timeout{300'000};  // per request
  // USD for a call on provider/model, used when the gateway sends no cost header and the
  // target has no `price` (the CLI passes the config's price table with --config).
  std::function<double(std::string_view provider, std::string_view model,
                       std::int64_t prompt_tokens, std::int64_t completion_tokens)>
      price;
};

struct RunSummary {
  std::string run_id;
  std::int64_t cases = 0;     // cases seen
  std::int64_t outputs = 0;   // outputs graded in this invocation
  std::int64_t skipped = 0;   // already stored (resume)
  std::int64_t passed = 0;
  std::int64_t cache_hits = 0;
  bool interrupted = false;   // SIGINT/SIGTERM: resume with --resume RUN_ID
};

Result<RunSummary> runSuite(const Suite& suite, EvalStore& store, const RunnerOptions& options);

// A new run id: UTC time plus random hex ("20261126-081944-3fa2c1").
std::string newRunId();

// The request body sent to the gateway for one case and target.
std::string requestBody(const Suite& suite, const Case& c, const Target& target);

// Parses a chat-completion response body into an Output (text, tool calls, usage).
Status parseChatResponse(std::string_view body, Output& out);

}  // namespace switchyard::eval
