#pragma once
// Stage: one step of the fixed admission chain that runs on every model request before it is
// routed (auth -> limits -> guard -> rag; routing and dispatch follow in the server), and
// RequestObserver: the log phase's consumers (request log, metrics, traces, budgets).
//
// Stages and observers are built once at start-up and called from every I/O thread at once:
// implementations must be thread-safe. A stage must not block an I/O thread (no disk or
// network I/O on the calling thread; await instead).

#include <boost/asio/awaitable.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/types.h"
#include "switchyard/pipeline/context.h"

namespace switchyard::pipeline {

// Read access to the client's request headers (names are case-insensitive).
class RequestHeaders {
 public:
  virtual ~RequestHeaders() = default;
  // The header's value, or "" when absent.
  virtual std::string_view get(std::string_view name) const = 0;
};

// What a stage may look at and change. Exactly one of the payload pointers is set for model
// requests; inbound formats other than OpenAI (Anthropic, Ollama, Responses) arrive already
// decoded into the same native types.
struct StageInput {
  const RequestHeaders& headers;
  RequestContext& ctx;
  api::ChatRequest* chat = nullptr;              // chat, messages, responses, ollama chat
  api::CompletionRequest* completion = nullptr;  // completions, ollama generate (raw)
  api::EmbeddingRequest* embedding = nullptr;    // embeddings, ollama embed
  // The request target (path and query) as the client sent it: auth reads Google's `?key=`.
  // It may hold a credential: never log it.
  std::string_view target = {};
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string_view name() const = 0;

  // Lets the request go on (ok), or stops it: the status becomes the client's error, in the
  // client's wire format (set its HTTP status, error type and Retry-After as needed). A stage
  // may rewrite the payload (redaction, injected context) and fill in fields of ctx.
  virtual boost::asio::awaitable<Verdict> admit(StageInput& in) = 0;

  // Called once for every request this stage admitted, after the response ended (success,
  // error or client gone), before the observers run: settle what admit() reserved.
  virtual void complete(RequestContext& /*ctx*/) {}
};

// Rewrites the model's output text on its way to the client: restores values a stage masked
// in the request, redacts what must not leave. One per request (set ctx.output_filter in
// admit()); the dispatcher applies it to every inbound format, streamed or not. Called from
// the request's coroutine only: no locking needed.
class OutputFilter {
 public:
  virtual ~OutputFilter() = default;
  // One piece of a choice's text (a stream delta, or a whole message). Returns the text to
  // send now; it may hold back a tail that could be the start of an entity or placeholder.
  virtual std::string write(int choice, std::string_view text) = 0;
  // The choice's output ended: whatever was held back.
  virtual std::string flush(int choice) = 0;
};

// The guard's scanner for text the gateway adds to a request after admission (retrieved RAG
// chunks): it applies the request's own guard policy as the guard stage applied it to the
// client's text, numbering placeholders on from the request's. One per request (the guard stage
// sets ctx.content_guard when a later stage may add text); called from the request's coroutine.
class ContentGuard {
 public:
  virtual ~ContentGuard() = default;
  // Rewrites each text in place (redact, mask), may set ctx.local_only, and counts and audits
  // what it found, naming `source` ("rag:handbook"). Returns, per text, whether it must be
  // withheld: a finding whose action is block (the gateway's own addition is dropped rather
  // than the client's request refused).
  virtual std::vector<bool> scan(RequestContext& ctx, std::span<std::string> texts,
                                 std::string_view source) = 0;
};

// Starts the trace of a model request (telemetry.traces): continues the client's W3C
// traceparent or starts a new trace, and samples. Null: this request is not traced.
class TraceStarter {
 public:
  virtual ~TraceStarter() = default;
  virtual std::unique_ptr<TraceState> start(const RequestHeaders& headers) const = 0;
};

// The log phase: sees every finished model request once, after the last byte was sent, the
// price was filled in (ctx.cost_usd) and the stages settled. Must be cheap on the calling
// thread (hand work to a background thread).
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void onRequestDone(const RequestContext& ctx) = 0;
};

}  // namespace switchyard::pipeline
