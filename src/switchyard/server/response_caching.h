#pragma once
// ResponseCaching: how the gateway uses the response cache (cache/, the `cache:` section) on
// the dispatch path of chat (every inbound API: OpenAI, Anthropic, Responses, Ollama; streamed
// or not) and embeddings: the client's Cache-Control, the key (scope, the planned deployment,
// the request), the x-switchyard-cache and Age headers, recording a stream as it passes and
// replaying it. Answers are cached as the upstream gave them, before the output filter, so a
// hit passes through the same filter (restoring this request's masked values) as a miss.
// With `cache.redis` a second tier in Redis is shared by every gateway that names it.
// Thread-safe; the sinks are per request.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "switchyard/cache/response_cache.h"
#include "switchyard/cache/shared_tier.h"
#include "switchyard/config/config.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/providers/provider.h"

namespace switchyard::server {

class ResponseCaching {
 public:
  explicit ResponseCaching(const config::CacheConfig& config);
  ~ResponseCaching();

  // Reads a Cache-Control header's request directives into ctx: no-cache (answer fresh, then
  // store), no-store (neither read nor store), max-age=N (only answers at most N s old).
  // Unknown directives are ignored, as HTTP caches do.
  static void readDirectives(std::string_view cache_control, pipeline::RequestContext& ctx);

  // Takes the request body's `cache` object out of `extra` (it is never forwarded upstream nor
  // part of the key), as LiteLLM's clients send it (`extra_body={"cache": {...}}`):
  // `no-cache` (answer fresh, still store), `no-store` (do not store), `ttl` (seconds this
  // answer is kept), `s-maxage` (only answers at most this old), `namespace` (answers shared
  // only within it, inside the usual scope), `use-cache: false` (neither). Recorded on ctx when
  // `apply`; kInvalidArgument naming the field when a value has the wrong type.
  static Status takeBodyControls(boost::json::object& extra, pipeline::RequestContext& ctx,
                                 bool apply);

  // What the cache says about a planned request: the answer to serve (a hit), and the key to
  // store a fresh answer under (nullopt: the client said no-store, or there is no plan). Records
  // the outcome on ctx (status; x-switchyard-cache and, on a hit, Age; on a hit also the
  // deployment and model version that answered, and the decision). `stream`: streamed answers
  // are kept as their chunks, apart from whole ones.
  // With a Redis tier (cache.redis), a miss in memory sets `ask_shared`: the caller then
  // co_awaits askShared(), which waits at most cache.redis_timeout (then, or when Redis is
  // down, it is a miss) and keeps an answer found there in memory too. (Two steps, so that the
  // memory-only path costs no coroutine frame.)
  struct Lookup {
    std::optional<cache::CacheKey> key;
    std::shared_ptr<const cache::Entry> hit;
    bool ask_shared = false;  // missed in memory; Redis is to be asked
  };
  Lookup lookUp(pipeline::RequestContext& ctx, const api::ChatRequest& request, bool stream);
  Lookup lookUp(pipeline::RequestContext& ctx, const api::EmbeddingRequest& request);
  boost::asio::awaitable<void> askShared(pipeline::RequestContext& ctx, Lookup& lookup);

  // Keeps an answer the deployment in ctx gave under a key from lookUp(), in memory and Redis.
  void store(const cache::CacheKey& key, const pipeline::RequestContext& ctx,
             decltype(cache::Entry::value) value);

  // Drops every answer in memory and, with a Redis tier, in Redis (an error when Redis could
  // not be flushed: the memory is flushed anyway).
  struct Flushed {
    std::size_t memory = 0;
    std::optional<Result<std::size_t>> shared;  // nullopt: no Redis tier
  };
  boost::asio::awaitable<Flushed> flush();

  // Whether a whole answer is worth keeping: every choice finished (not cut by an error).
  static bool complete(const api::ChatResponse& response);

  cache::ResponseCache& cache() { return cache_; }
  // Null without cache.redis.
  const cache::SharedTier* shared() const { return shared_.get(); }
  std::size_t maxEntryBytes() const { return cache_.maxEntryBytes(); }
  // Lookups answered, from either tier, and not.
  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  static std::shared_ptr<void> registerMetrics(ResponseCaching& self);
  std::string scopeOf(const pipeline::RequestContext& ctx) const;
  template <typename MakeKey>
  Lookup begin(pipeline::RequestContext& ctx, MakeKey&& make_key);
  static void answered(pipeline::RequestContext& ctx, const cache::Entry& entry,
                       std::chrono::seconds age);

  enum class Scope { kKey, kTeam, kGlobal };
  Scope scope_;
  cache::ResponseCache cache_;
  std::chrono::milliseconds shared_timeout_;
  std::unique_ptr<cache::SharedTier> shared_;  // joined before cache_ goes
  std::atomic<std::uint64_t> shared_hits_{0};  // memory misses that Redis answered
  std::shared_ptr<void> metrics_;  // the Prometheus callbacks, removed with this object
};

// Passes a stream's chunks on unchanged and keeps a copy of each, for the cache, while they fit
// in `max_bytes` (a longer stream is not cached).
class RecordingChatSink final : public providers::ChatSink {
 public:
  RecordingChatSink(providers::ChatSink& next, std::size_t max_bytes)
      : next_(next), max_bytes_(max_bytes) {}

  boost::asio::awaitable<Status> onChunk(const api::ChatChunk& chunk) override;
  void beginBatch() override { next_.beginBatch(); }
  boost::asio::awaitable<Status> endBatch() override { return next_.endBatch(); }

  // A whole stream was recorded: every choice that began finished, nothing overflowed.
  bool complete() const;
  std::vector<cache::StoredChunk> take() { return std::move(chunks_); }

 private:
  providers::ChatSink& next_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  bool overflow_ = false;
  int started_ = 0;   // choices seen
  int finished_ = 0;  // choices that finished well
  std::vector<cache::StoredChunk> chunks_;
};

// Sends a cached stream to `sink` as one batch.
boost::asio::awaitable<providers::StreamOutcome> replayChunks(
    const std::vector<cache::StoredChunk>& chunks, providers::ChatSink& sink);

}  // namespace switchyard::server
