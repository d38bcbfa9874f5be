#pragma once
// Index: the persistent side of RAG. One SQLite database (`rag.db` in the collections directory,
// WAL mode) holds collections, documents (source, title, content hash), chunks (text, section,
// page, embedding) and an FTS5 table for BM25 search; one hnswlib graph per collection
// (`<name>.hnsw`, inner-product space over L2-normalised embeddings) answers vector queries. The
// SQL rows are the truth: a graph file that is missing or older than its collection (a crash
// between a write and a save) is rebuilt from the stored embeddings when the collection opens.
//
// Thread-safety: every method may be called from any thread. A document's chunks are written in
// one SQL transaction and added to the graph under the collection's exclusive lock, so a
// concurrent query sees all of a document or none of it; queries take the lock shared. Calls
// block (disk): never call them on an I/O thread.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/rag/chunker.h"
#include "switchyard/store/database.h"

namespace switchyard::rag {

struct HnswOptions {
  int m = 16;
  int ef_construction = 200;
  int ef_search = 256;
};

struct CollectionInfo {
  std::string name;
  bool is_private = false;
  std::string embedding_model;  // what embedded its chunks; "" = lexical only so far
  int dims = 0;
  std::int64_t documents = 0;
  std::int64_t chunks = 0;
  std::string created_at;
};

struct ChunkRecord {
  std::int64_t id = 0;
  std::string source;
  std::string title;
  std::string section;
  int page = 0;
  int ordinal = 0;  // position within its document
  std::string text;
};

struct ScoredChunk {
  ChunkRecord chunk;
  double score = 0;
};

struct DocumentInput {
  std::string source;
  std::string title;
  std::string hash;
  std::vector<Chunk> chunks;
  std::vector<std::vector<float>> vectors;  // one per chunk, or empty (lexical only)
  std::string embedding_model;              // set with vectors
};

// A valid collection name: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'.
bool validCollectionName(std::string_view name);

class Index {
 public:
  // Opens (creating) `dir`/rag.db and the graphs of existing collections.
  static Result<std::unique_ptr<Index>> open(const std::string& dir, HnswOptions options = {});
  ~Index();  // saves the graphs that changed

  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  const std::string& dir() const { return dir_; }

  // kInvalidArgument (HTTP 409, error type collection_exists) when it exists.
  Result<CollectionInfo> createCollection(const std::string& name, bool is_private);
  // Creates it when missing; with `is_private`, marks an existing one private (never the reverse).
  Result<CollectionInfo> ensureCollection(const std::string& name, bool is_private);
  // kNotFound naming it when missing.
  Result<CollectionInfo> collection(const std::string& name);
  Result<std::vector<CollectionInfo>> collections();
  Status deleteCollection(const std::string& name);

  // The stored content hash of `source`, or nullopt when the collection lacks it.
  Result<std::optional<std::string>> documentHash(const std::string& collection,
                                                  const std::string& source);
  // Sources in `collection` starting with `prefix`.
  Result<std::vector<std::string>> sources(const std::string& collection,
                                           const std::string& prefix = "");
  // Adds or replaces (same source) one document's chunks, atomically; returns its chunk count.
  Result<int> putDocument(const std::string& collection, const DocumentInput& doc);
  Status deleteDocument(const std::string& collection, const std::string& source);

  // BM25 over text, section and title; higher scores are better.
  Result<std::vector<ScoredChunk>> lexical(const std::string& collection, std::string_view query,
                                           int k);
  // Nearest chunks to `query` (same model and dimensions as the collection's chunks); score is
  // the cosine similarity.
  Result<std::vector<ScoredChunk>> vector(const std::string& collection,
                                          const std::vector<float>& query, int k);
  // Exact nearest neighbours by brute force (benchmarks measure the graph's recall with it).
  Result<std::vector<std::int64_t>> exactNeighbours(const std::string& collection,
                                                    const std::vector<float>& query, int k);

  // Writes the graphs that changed since the last save.
  Status save();

  // The FTS5 query for free text: its words, quoted, OR-ed ("" when it has none).
  static std::string ftsQuery(std::string_view text);

 private:
  struct Graph;
  Index(std::string dir, HnswOptions options, store::DatabasePtr writer,
        store::DatabasePtr reader);
  Result<std::shared_ptr<Graph>> graph(const std::string& collection, int dims, bool create);
  Result<std::shared_ptr<Graph>> loadGraph(const std::string& collection, int dims,
                                           std::int64_t generation);
  Status saveGraph(const std::string& collection, Graph& graph);
  Result<std::vector<ScoredChunk>> fetch(const std::vector<std::pair<std::int64_t, double>>& ids);
  std::string graphPath(const std::string& collection) const;

  std::string dir_;
  HnswOptions options_;
  store::DatabasePtr writer_;  // writes are serialized on this connection
  store::DatabasePtr reader_;  // queries (WAL: never blocked by a writer)
  std::mutex write_mu_;        // one document write at a time (SQL + graph in step)
  std::mutex graphs_mu_;
  std::map<std::string, std::shared_ptr<Graph>> graphs_;
};

}  // namespace switchyard::rag
