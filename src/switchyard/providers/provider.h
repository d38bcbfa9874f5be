#pragma once
// Provider: one upstream kind (OpenAI-compatible HTTP, Anthropic, Gemini, the local engine).
// A provider instance is created from config once and shared by all worker threads, so its
// methods must be safe to call concurrently; per-call state (the worker's HTTP client, the
// deadline) comes in through CallContext.

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::http {
class HttpClient;
}

namespace switchyard::providers {

// What one upstream call learned about the model that answered, for the request log and
// traces. HTTP calls are reported by the dispatcher from the response (or the stream's chunks);
// the local provider adds its file hash and the time spent waiting for an engine sequence.
struct CallReport {
  std::string response_model;      // the model id the upstream reported
  std::string system_fingerprint;  // OpenAI's backend configuration id
  std::string model_version;       // set by the provider (local: "sha256:<hex>" of the GGUF)
  std::optional<double> queue_ms;  // local: enqueue -> sequence assigned
  std::optional<double> load_ms;   // local: waiting for the model to load (unset: it was loaded)
  // local: the engine's own clock: prompt processing (sequence assigned -> first token) and
  // generation (first token -> done).
  std::optional<double> prompt_ms;
  std::optional<double> decode_ms;
  // Only for traced requests (call.traced):
  std::string response_id;
  std::vector<std::string> finish_reasons;
  std::optional<api::Usage> usage;
};

struct CallContext {
  http::HttpClient& http;  // the calling worker's client
  std::string request_id;
  std::chrono::steady_clock::time_point deadline;
  // W3C trace context for the upstream (sent as headers when set: traced requests only).
  std::string traceparent;
  std::string tracestate;
  bool traced = false;
  CallReport report;
};

// Batching, for sinks that write to a socket: a provider may deliver the chunks that arrived
// together (one upstream read) between beginBatch() and endBatch(), and the sink may then hold
// their bytes until endBatch() and write them at once. A provider that never calls these gets
// every chunk written as it comes.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void beginBatch() {}
  virtual boost::asio::awaitable<Status> endBatch() { co_return Status::ok(); }
};

// Receives stream chunks. Returning a non-ok Status (e.g. kCancelled: the client went away)
// stops the stream; the provider then abandons the upstream call.
class ChatSink : public StreamSink {
 public:
  virtual boost::asio::awaitable<Status> onChunk(const api::ChatChunk& chunk) = 0;
};

class CompletionSink : public StreamSink {
 public:
  virtual boost::asio::awaitable<Status> onChunk(const api::CompletionResponse& chunk) = 0;
};

// Result of a streaming call: how it ended, and whether anything reached the sink (a failure
// before the first chunk leaves room for a fallback).
struct StreamOutcome {
  Status status;
  bool delivered_any = false;
};

class Provider {
 public:
  virtual ~Provider() = default;

  const std::string& name() const { return name_; }

  // `request.model` is already the provider's model id.
  virtual boost::asio::awaitable<Result<api::ChatResponse>> chat(const api::ChatRequest& request,
                                                                 CallContext& ctx) = 0;
  virtual boost::asio::awaitable<StreamOutcome> chatStream(const api::ChatRequest& request,
                                                           ChatSink& sink, CallContext& ctx) = 0;

  // Optional capabilities: the default answers kUnprocessable naming the provider.
  virtual boost::asio::awaitable<Result<api::CompletionResponse>> complete(
      const api::CompletionRequest& request, CallContext& ctx);
  virtual boost::asio::awaitable<StreamOutcome> completeStream(
      const api::CompletionRequest& request, CompletionSink& sink, CallContext& ctx);
  virtual boost::asio::awaitable<Result<api::EmbeddingResponse>> embed(
      const api::EmbeddingRequest& request, CallContext& ctx);
  // Relevance scores of documents to a query from a reranker model (local rank-pooled GGUFs).
  virtual boost::asio::awaitable<Result<api::RerankResponse>> rerank(
      const api::RerankRequest& request, CallContext& ctx);
  // Input tokens of `request` as the upstream counts them (Anthropic's count_tokens).
  virtual boost::asio::awaitable<Result<std::int64_t>> countTokens(
      const api::ChatRequest& request, CallContext& ctx);

 protected:
  explicit Provider(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

using ProviderPtr = std::shared_ptr<Provider>;

}  // namespace switchyard::providers
