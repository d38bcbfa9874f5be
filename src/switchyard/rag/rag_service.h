#pragma once
// RagService: collections, ingestion and retrieval for the gateway, the CLI and the RAG stage.
// Ingestion parses (document.h), chunks (chunker.h) with the embedding model's tokenizer when it
// is local (else a word estimate), embeds through the provider registry's embed() (the model
// named by `rag.embedding_model`; lexical only when none), and writes to the Index. Retrieval is
// lexical (BM25), vector (hnswlib) or hybrid (reciprocal rank fusion of both).
//
// Thread-safety: every method may be called from any thread. The blocking methods do disk and
// embedding work on the calling thread (CLI, workers); the *Async methods run the same work on
// the service's own worker threads and are what I/O threads must use. Embedding calls run on the
// service's own io_context thread with its own HTTP client, never on the gateway's I/O threads.
// A private collection is embedded only by an on-prem embedding model (its documents and
// queries never leave); with a cloud embedder it stays lexical.

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/providers/registry.h"
#include "switchyard/rag/document.h"
#include "switchyard/rag/index.h"
#include "switchyard/routing/router.h"

namespace switchyard::rag {

enum class Mode { kLexical, kVector, kHybrid };
std::string_view modeName(Mode mode);
Result<Mode> parseMode(std::string_view name);

struct SourceDocument {
  std::string source;   // file path or caller-chosen id; unique within a collection
  std::string content;  // the raw bytes
  Format format = Format::kText;
  std::string title;  // "" = from the document (or the source's file name)
};

struct IngestReport {
  int added = 0;
  int updated = 0;
  int unchanged = 0;
  int deleted = 0;  // sources gone from an ingested directory
  std::int64_t chunks = 0;  // written (added + updated)
  std::int64_t bytes = 0;   // read
  std::vector<std::string> errors;  // "source: message", one per file that failed
};

struct RetrieveRequest {
  std::string collection;
  std::string query;
  int top_k = 0;               // 0 = rag.top_k
  std::optional<Mode> mode;    // unset = rag.mode
  // Reranking after fusion: unset = the collection's (rag.collections.<name>.rerank); a value
  // with an empty model = none.
  std::optional<config::RagRerankConfig> rerank = std::nullopt;
};

struct RetrievedChunk {
  ChunkRecord chunk;
  double score = 0;      // BM25 (lexical), cosine (vector), RRF (hybrid) or the reranker's
  int lexical_rank = 0;  // 1-based rank in the lexical list; 0 = not in it
  int vector_rank = 0;
};

struct RetrieveResult {
  Mode mode = Mode::kLexical;  // what actually ran (hybrid falls back to lexical)
  std::string reranked_by;     // the reranker model that ordered the chunks; "" = none
  bool is_private = false;
  std::vector<RetrievedChunk> chunks;
};

// Fuses ranked id lists (best first) with reciprocal rank fusion: score = sum 1 / (k + rank).
std::vector<std::pair<std::int64_t, double>> reciprocalRankFusion(
    const std::vector<std::vector<std::int64_t>>& lists, int k = 60);

// "sqlite://data/switchyard.db" -> "data/switchyard-rag"; other stores -> "switchyard-rag".
std::string defaultRagDir(const std::string& storage_url);

class RagService {
 public:
  // Opens the collections directory (rag.path or beside the store). With an embedding model
  // configured, `router` and `providers` resolve it (an unknown name is an error naming
  // rag.embedding_model); both must outlive the service.
  static Result<std::unique_ptr<RagService>> create(const config::Config& config,
                                                    const routing::Router& router,
                                                    providers::Registry& providers);
  ~RagService();

  RagService(const RagService&) = delete;
  RagService& operator=(const RagService&) = delete;

  Index& index() { return *index_; }
  const config::RagConfig& options() const { return config_.rag; }
  bool hasEmbedder() const { return provider_ != nullptr; }

  // ---- blocking (CLI, worker threads) ----
  Result<IngestReport> ingestDocuments(const std::string& collection,
                                       std::vector<SourceDocument> docs);
  using Progress = std::function<void(std::size_t done, std::size_t total)>;
  // Files and directories (recursively: .txt .md .html .pdf ...); for each directory, documents
  // of the collection under it whose file is gone are deleted.
  Result<IngestReport> ingestPaths(const std::string& collection,
                                   const std::vector<std::string>& paths,
                                   const Progress& progress = {});
  Result<RetrieveResult> retrieve(const RetrieveRequest& request);
  Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>& texts);
  // Scores `documents` against `query` with the reranker `model` (a public model name, resolved
  // like a client's), on the service's own I/O thread. kNotFound for a model the gateway does
  // not serve; the provider's error for one that cannot rerank.
  Result<api::RerankResponse> rerank(const std::string& model, const std::string& query,
                                     const std::vector<std::string>& documents);

  // The provider and its model id that serve `model` (a public name), as rerank() resolves
  // it; in memory, so an I/O thread may call it (the request log names them).
  struct Served {
    std::string provider;
    std::string model;
  };
  Result<Served> servedBy(const std::string& model) const;

  // ---- for I/O threads: the same work on the service's workers ----
  boost::asio::awaitable<Result<IngestReport>> ingestDocumentsAsync(
      std::string collection, std::vector<SourceDocument> docs);
  boost::asio::awaitable<Result<RetrieveResult>> retrieveAsync(RetrieveRequest request);
  boost::asio::awaitable<Result<api::RerankResponse>> rerankAsync(
      std::string model, std::string query, std::vector<std::string> documents);
  boost::asio::awaitable<Result<CollectionInfo>> createCollectionAsync(std::string name,
                                                                      bool is_private);
  boost::asio::awaitable<Result<std::vector<CollectionInfo>>> collectionsAsync();
  boost::asio::awaitable<Status> deleteCollectionAsync(std::string name);
  boost::asio::awaitable<Result<CollectionInfo>> collectionAsync(std::string name);

 private:
  class Workers;
  RagService(const config::Config& config, std::unique_ptr<Index> index);
  std::size_t countTokens(std::string_view text);
  std::string contentHash(std::string_view content) const;
  // Whether `info`'s chunks and queries may be embedded.
  bool mayEmbed(const CollectionInfo& info) const;
  enum class Outcome { kAdded, kUpdated, kUnchanged };
  Result<Outcome> ingestOne(const CollectionInfo& info, SourceDocument doc, int& chunks);
  struct Resolved {
    providers::Provider* provider = nullptr;
    std::string model;  // the provider's model id
    bool on_prem = false;
  };
  // A public model name -> the provider that serves it (routing's primary candidate).
  Result<Resolved> resolve(const std::string& model) const;
  // Reorders `result` by the reranker's scores and keeps the best `top_k` (in place).
  void applyRerank(const config::RagRerankConfig& rerank, const std::string& query, int top_k,
                   RetrieveResult& result);

  const config::Config& config_;
  const routing::Router* router_ = nullptr;   // the start-up router and providers (they outlive
  providers::Registry* providers_ = nullptr;  // the gateway), to resolve reranker models
  std::unique_ptr<Index> index_;
  providers::Provider* provider_ = nullptr;  // the embedder's provider
  std::string embed_model_;                  // its model id there
  bool embedder_on_prem_ = false;
  std::function<std::size_t(std::string_view)> tokenizer_;  // null: estimateTokens
  std::unique_ptr<Workers> workers_;
  std::atomic<std::int64_t> last_save_{0};  // steady_clock ticks of the last periodic save
};

}  // namespace switchyard::rag
