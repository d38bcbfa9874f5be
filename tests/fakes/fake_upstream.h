#pragma once
// FakeUpstream: an OpenAI-compatible HTTP server for tests, on 127.0.0.1 and a free port, with
// its own io_context on its own thread. It answers /v1/chat/completions, /v1/completions,
// /v1/embeddings, /v1/rerank (Jina / Cohere shape: documents scored by the share of the query's
// words they contain) and /v1/models in OpenAI's wire format (streaming included), can be scripted to
// fail per request (error statuses, hangs, resets, cut streams, delays), records every request,
// and optionally serves TLS with a self-signed certificate made at startup.
//
// Thread-safety: every public method may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::fakes {

// What the fake does with one request. Build with the named constructors, then adjust fields.
struct Behavior {
  enum class Kind {
    kNormal,        // canned OpenAI responses, streamed when the request says "stream": true
    kError,         // `status` with an OpenAI error body
    kHang,          // reads the request and never answers (until the client closes or stop())
    kReset,         // reads the request, then resets the connection (SO_LINGER 0, RST)
    kCutStream,     // a normal stream that stops after `cut_after_chunks` events: the socket
                    // closes mid-body (no terminating chunk, no [DONE])
    kToolCall,      // a tool call; streamed, its arguments arrive in many small pieces
    kCustomBody,    // `status`, `content_type` and `body`, verbatim
    kCustomStream,  // 200, chunked, `content_type`; each of `pieces` is one chunk (x `repeat`)
    kRaw,           // writes `body` to the socket as is (no HTTP framing), then closes it
  };

  Kind kind = Kind::kNormal;

  // kNormal / kCutStream / kToolCall
  std::string content = "Hello from the fake upstream!";  // streamed one word per chunk
  int prompt_tokens = 12;  // usage.prompt_tokens; completion_tokens = number of words (chunks)
  std::string tool_name = "get_weather";
  std::string tool_arguments = R"({"location":"Paris","unit":"celsius"})";
  std::size_t tool_argument_piece = 3;  // bytes of arguments per streamed chunk
  int cut_after_chunks = 0;             // kCutStream: events sent before the cut

  // kError
  unsigned status = 200;  // also the status of kCustomBody
  std::string error_message = "fake upstream error";
  std::string error_type;  // "" = what OpenAI sends for `status` (server_error, requests, ...)
  std::string error_code;  // "" = from `status` (invalid_api_key, rate_limit_exceeded, ...)

  // kCustomBody / kCustomStream / kRaw
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> pieces;
  int repeat = 1;

  // Any kind
  std::chrono::milliseconds delay{0};                        // before the response headers
  std::chrono::milliseconds chunk_interval{0};               // between streamed chunks
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  bool close_after = false;  // answer as keep-alive, then close the connection silently

  static Behavior normal();
  static Behavior error(unsigned status, std::string message = "fake upstream error");
  static Behavior hang();
  static Behavior reset();
  static Behavior cutStream(int after_chunks);
  static Behavior delayed(std::chrono::milliseconds delay);
  static Behavior toolCall();
  static Behavior customBody(unsigned status, std::string body,
                             std::string content_type = "application/json");
  static Behavior customStream(std::vector<std::string> pieces,
                               std::chrono::milliseconds interval = {},
                               std::string content_type = "text/event-stream");
  static Behavior raw(std::string bytes);
};

struct RecordedRequest {
  std::string method;                                        // "POST"
  std::string target;                                        // "/v1/chat/completions"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  std::size_t connection = 0;  // 1-based number of the connection it arrived on
  std::string sni;             // TLS server name the client sent ("" for none or plain HTTP)

  // First value of header `name` (any case), or "" when absent.
  std::string header(std::string_view name) const;
};

struct FakeUpstreamOptions {
  bool tls = false;
  // Subject alternative names of the self-signed certificate; IP literals become IP entries.
  std::vector<std::string> cert_names = {"localhost", "127.0.0.1"};
  std::vector<std::string> models = {"fake-model", "fake-embedder"};  // for GET /v1/models
  std::size_t embedding_dimensions = 8;  // unless the request asks for "dimensions"
  // Embeddings that behave like a (crude) semantic model: word counts hashed into the
  // dimensions, so texts sharing words are similar. Default: one hash of the whole text.
  bool bag_of_words_embeddings = false;
  bool record_requests = true;  // false: requests() stays empty (long benchmarks)
};

class FakeUpstream {
 public:
  // Binds and starts serving at once (aborts if 127.0.0.1 cannot be bound).
  explicit FakeUpstream(FakeUpstreamOptions options = {});
  ~FakeUpstream();  // stop()

  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  std::uint16_t port() const;
  std::string baseUrl() const;        // "http://127.0.0.1:<port>/v1" (https:// with TLS)
  const std::string& caFile() const;  // PEM file of the certificate, for ca_file ("" if plain)
  const std::string& caPem() const;   // the same PEM text

  // Behaviour for each request: the front of the queue if any, else the default.
  void setBehavior(Behavior behavior);   // the default (initially Behavior::normal())
  void pushBehavior(Behavior behavior);  // queued for exactly one request each
  void clearBehaviors();                 // empties the queue, resets the default
  // Chooses the behaviour from the request when the queue is empty; std::nullopt falls back to
  // the default. Called on the fake's thread, without its lock held.
  using Responder = std::function<std::optional<Behavior>(const RecordedRequest&)>;
  void setResponder(Responder responder);

  std::vector<RecordedRequest> requests() const;
  std::size_t requestCount() const;
  RecordedRequest lastRequest() const;  // default-constructed when none arrived
  void clearRequests();

  std::size_t connectionsAccepted() const;
  std::size_t activeConnections() const;
  std::uint64_t bodyBytesSent() const;  // response body bytes handed to the socket so far

  // Polls until activeConnections() == n or the timeout passes; returns whether it got there.
  bool waitForActiveConnections(std::size_t n, std::chrono::milliseconds timeout) const;

  // Closes the listener and every connection, then joins the thread. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::fakes
