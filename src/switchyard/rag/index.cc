#include "switchyard/rag/index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "switchyard/core/log.h"

namespace switchyard::rag {
namespace {

namespace fs = std::filesystem;
using store::Row;
using store::Value;

constexpr store::Migration kMigrations[] = {
    {1, "rag collections, documents, chunks, fts",
     R"(
CREATE TABLE rag_collections (
  name TEXT PRIMARY KEY,
  private INTEGER NOT NULL DEFAULT 0,
  embedding_model TEXT NOT NULL DEFAULT '',
  dims INTEGER NOT NULL DEFAULT 0,
  generation INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
CREATE TABLE rag_documents (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection TEXT NOT NULL,
  source TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  hash TEXT NOT NULL,
  chunks INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  UNIQUE (collection, source));
CREATE TABLE rag_chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id INTEGER NOT NULL,
  collection TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  section TEXT NOT NULL DEFAULT '',
  page INTEGER NOT NULL DEFAULT 0,
  tokens INTEGER NOT NULL DEFAULT 0,
  text TEXT NOT NULL,
  vector BLOB);
CREATE INDEX rag_chunks_document ON rag_chunks (document_id);
CREATE INDEX rag_chunks_collection ON rag_chunks (collection);
CREATE VIRTUAL TABLE rag_fts USING fts5 (text, section, title, collection UNINDEXED,
                                         tokenize = 'porter unicode61');
)",
     ""},
};

constexpr std::string_view kChunkColumns =
    "c.id, c.text, c.section, c.page, c.ordinal, d.source, d.title";

ChunkRecord toChunk(const Row& row) {
  ChunkRecord c;
  c.id = row.integer(0);
  c.text = row.text(1);
  c.section = row.text(2);
  c.page = static_cast<int>(row.integer(3));
  c.ordinal = static_cast<int>(row.integer(4));
  c.source = row.text(5);
  c.title = row.text(6);
  return c;
}

std::string packVector(const std::vector<float>& v) {
  std::string out(v.size() * sizeof(float), '\0');
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<float> unpackVector(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

Status notFound(const std::string& name) {
  return Status(ErrorCode::kNotFound, "collection '" + name + "' does not exist")
      .withErrorType("collection_not_found");
}

}  // namespace

struct Index::Graph {
  std::shared_mutex mu;
  int dims = 0;
  std::unique_ptr<hnswlib::InnerProductSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
  std::int64_t generation = 0;  // of the SQL rows it reflects
  std::size_t live = 0;
  bool dirty = false;
};

bool validCollectionName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.' || name.front() == '-') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

std::string Index::ftsQuery(std::string_view text) {
  std::string out;
  std::string word;
  int words = 0;
  auto flush = [&] {
    if (word.empty()) return;
    if (words < 64) {
      if (!out.empty()) out += " OR ";
      out += '"';
      out += word;
      out += '"';
      ++words;
    }
    word.clear();
  };
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      word += static_cast<char>(c);
    } else {
      flush();
    }
  }
  flush();
  return out;
}

Index::Index(std::string dir, HnswOptions options, store::DatabasePtr writer,
             store::DatabasePtr reader)
    : dir_(std::move(dir)),
      options_(options),
      writer_(std::move(writer)),
      reader_(std::move(reader)) {}

Index::~Index() {
  if (Status s = save(); !s.isOk()) {
    logEvent(spdlog::level::warn, "rag_save_failed", {{"error", s.message()}});
  }
}

Result<std::unique_ptr<Index>> Index::open(const std::string& dir, HnswOptions options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable,
                "cannot create RAG directory '" + dir + "': " + ec.message());
  }
  const std::string url = "sqlite://" + (fs::path(dir) / "rag.db").string();
  auto writer = store::openDatabase(url);
  if (!writer) return fail(std::move(writer.error()));
  if (Status s = store::migrate(**writer, "rag", kMigrations); !s.isOk()) return fail(std::move(s));
  auto reader = store::openDatabase(url);
  if (!reader) return fail(std::move(reader.error()));
  return std::unique_ptr<Index>(
      new Index(dir, options, std::move(*writer), std::move(*reader)));
}

std::string Index::graphPath(const std::string& collection) const {
  return (fs::path(dir_) / (collection + ".hnsw")).string();
}

Result<CollectionInfo> Index::createCollection(const std::string& name, bool is_private) {
  if (!validCollectionName(name)) {
    return fail(Status(ErrorCode::kInvalidArgument,
                       "invalid collection name '" + name +
                           "': use 1-64 letters, digits, '_', '-' or '.'")
                    .withParam("name"));
  }
  std::lock_guard lock(write_mu_);
  auto existing = reader_->query("SELECT 1 FROM rag_collections WHERE name = ?",
                                 std::vector<Value>{name});
  if (!existing) return fail(std::move(existing.error()));
  if (!existing->empty()) {
    return fail(Status(ErrorCode::kInvalidArgument, "collection '" + name + "' already exists")
                    .withHttpStatus(409)
                    .withErrorType("collection_exists")
                    .withParam("name"));
  }
  if (Status s = writer_->exec("INSERT INTO rag_collections (name, private) VALUES (?, ?)",
                               std::vector<Value>{name, std::int64_t{is_private ? 1 : 0}});
      !s.isOk()) {
    return fail(std::move(s));
  }
  return collection(name);
}

Result<CollectionInfo> Index::ensureCollection(const std::string& name, bool is_private) {
  auto found = collection(name);
  if (!found) {
    if (found.error().code() != ErrorCode::kNotFound) return found;
    return createCollection(name, is_private);
  }
  if (is_private && !found->is_private) {
    std::lock_guard lock(write_mu_);
    if (Status s = writer_->exec("UPDATE rag_collections SET private = 1 WHERE name = ?",
                                 std::vector<Value>{name});
        !s.isOk()) {
      return fail(std::move(s));
    }
    found->is_private = true;
  }
  return found;
}

Result<std::vector<CollectionInfo>> Index::collections() {
  auto rows = reader_->query(
      "SELECT c.name, c.private, c.embedding_model, c.dims, c.created_at, "
      "(SELECT COUNT(*) FROM rag_documents d WHERE d.collection = c.name), "
      "(SELECT COUNT(*) FROM rag_chunks k WHERE k.collection = c.name) "
      "FROM rag_collections c ORDER BY c.name");
  if (!rows) return fail(std::move(rows.error()));
  std::vector<CollectionInfo> out;
  for (const Row& r : *rows) {
    CollectionInfo info;
    info.name = r.text(0);
    info.is_private = r.integer(1) != 0;
    info.embedding_model = r.text(2);
    info.dims = static_cast<int>(r.integer(3));
    info.created_at = r.text(4);
    info.documents = r.integer(5);
    info.chunks = r.integer(6);
    out.push_back(std::move(info));
  }
  return out;
}

Result<CollectionInfo> Index::collection(const std::string& name) {
  auto rows = reader_->query(
      "SELECT c.name, c.private, c.embedding_model, c.dims, c.created_at, "
      "(SELECT COUNT(*) FROM rag_documents d WHERE d.collection = c.name), "
      "(SELECT COUNT(*) FROM rag_chunks k WHERE k.collection = c.name) "
      "FROM rag_collections c WHERE c.name = ?",
      std::vector<Value>{name});
  if (!rows) return fail(std::move(rows.error()));
  if (rows->empty()) return fail(notFound(name));
  const Row& r = rows->front();
  CollectionInfo info;
  info.name = r.text(0);
  info.is_private = r.integer(1) != 0;
  info.embedding_model = r.text(2);
  info.dims = static_cast<int>(r.integer(3));
  info.created_at = r.text(4);
  info.documents = r.integer(5);
  info.chunks = r.integer(6);
  return info;
}

Status Index::deleteCollection(const std::string& name) {
  std::lock_guard lock(write_mu_);
  auto info = collection(name);
  if (!info) return info.error();
  std::shared_ptr<Graph> graph;
  {
    std::lock_guard g(graphs_mu_);
    if (auto it = graphs_.find(name); it != graphs_.end()) {
      graph = it->second;
      graphs_.erase(it);
    }
  }
  if (graph) {
    std::unique_lock g(graph->mu);  // waits for queries in flight
    graph->dirty = false;
  }
  const std::vector<Value> p{name};
  Status s = writer_->transaction([&]() -> Status {
    if (Status e = writer_->exec("DELETE FROM rag_fts WHERE collection = ?", p); !e.isOk()) return e;
    if (Status e = writer_->exec("DELETE FROM rag_chunks WHERE collection = ?", p); !e.isOk()) {
      return e;
    }
    if (Status e = writer_->exec("DELETE FROM rag_documents WHERE collection = ?", p); !e.isOk()) {
      return e;
    }
    return writer_->exec("DELETE FROM rag_collections WHERE name = ?", p);
  });
  if (!s.isOk()) return s;
  {
    std::lock_guard g(graphs_mu_);
    graphs_.erase(name);  // a query may have loaded it again meanwhile
  }
  std::error_code ec;
  fs::remove(graphPath(name), ec);
  fs::remove(graphPath(name) + ".gen", ec);
  return Status::ok();
}

Result<std::optional<std::string>> Index::documentHash(const std::string& collection,
                                                       const std::string& source) {
  auto rows = reader_->query("SELECT hash FROM rag_documents WHERE collection = ? AND source = ?",
                             std::vector<Value>{collection, source});
  if (!rows) return fail(std::move(rows.error()));
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->front().text(0));
}

Result<std::vector<std::string>> Index::sources(const std::string& collection,
                                                const std::string& prefix) {
  auto rows = reader_->query(
      "SELECT source FROM rag_documents WHERE collection = ? AND substr(source, 1, ?) = ? "
      "ORDER BY source",
      std::vector<Value>{collection, static_cast<std::int64_t>(prefix.size()), prefix});
  if (!rows) return fail(std::move(rows.error()));
  std::vector<std::string> out;
  for (const Row& r : *rows) out.push_back(r.text(0));
  return out;
}

Result<int> Index::putDocument(const std::string& collection, const DocumentInput& doc) {
  if (!doc.vectors.empty() && doc.vectors.size() != doc.chunks.size()) {
    return fail(ErrorCode::kInternal, "putDocument: one vector per chunk expected");
  }
  std::lock_guard lock(write_mu_);
  // The collection's row only (collection() also counts its documents and chunks: O(n)).
  auto meta = reader_->query(
      "SELECT embedding_model, dims FROM rag_collections WHERE name = ?",
      std::vector<Value>{collection});
  if (!meta) return fail(std::move(meta.error()));
  if (meta->empty()) return fail(notFound(collection));
  CollectionInfo stored;
  stored.embedding_model = meta->front().text(0);
  stored.dims = static_cast<int>(meta->front().integer(1));
  const CollectionInfo* info = &stored;
  const int dims = doc.vectors.empty() ? 0 : static_cast<int>(doc.vectors.front().size());
  if (dims > 0 && info->dims > 0 &&
      (dims != info->dims || doc.embedding_model != info->embedding_model)) {
    return fail(ErrorCode::kInvalidArgument,
                "collection '" + collection + "' holds " + std::to_string(info->dims) +
                    "-dimensional embeddings of model '" + info->embedding_model +
                    "', not " + std::to_string(dims) + "-dimensional ones of '" +
                    doc.embedding_model + "': delete and re-ingest the collection to change models");
  }
  std::shared_ptr<Graph> graph;
  if (dims > 0 || info->dims > 0) {
    auto g = this->graph(collection, dims > 0 ? dims : info->dims, dims > 0);
    if (!g) return fail(std::move(g.error()));
    graph = *g;
  }

  std::vector<std::int64_t> old_ids;
  std::vector<std::int64_t> new_ids;
  std::int64_t generation = 0;
  Status s = writer_->transaction([&]() -> Status {
    auto old = writer_->query(
        "SELECT c.id, c.vector IS NOT NULL FROM rag_chunks c JOIN rag_documents d "
        "ON d.id = c.document_id WHERE d.collection = ? AND d.source = ?",
        std::vector<Value>{collection, doc.source});
    if (!old) return old.error();
    for (const Row& r : *old) {
      if (r.integer(1) != 0) old_ids.push_back(r.integer(0));
    }
    const std::vector<Value> key{collection, doc.source};
    if (Status e = writer_->exec(
            "DELETE FROM rag_fts WHERE rowid IN (SELECT c.id FROM rag_chunks c JOIN rag_documents "
            "d ON d.id = c.document_id WHERE d.collection = ? AND d.source = ?)",
            key);
        !e.isOk()) {
      return e;
    }
    if (Status e = writer_->exec(
            "DELETE FROM rag_chunks WHERE document_id IN (SELECT id FROM rag_documents WHERE "
            "collection = ? AND source = ?)",
            key);
        !e.isOk()) {
      return e;
    }
    if (Status e = writer_->exec("DELETE FROM rag_documents WHERE collection = ? AND source = ?",
                                 key);
        !e.isOk()) {
      return e;
    }
    auto inserted = writer_->query(
        "INSERT INTO rag_documents (collection, source, title, hash, chunks) VALUES (?, ?, ?, ?, "
        "?) RETURNING id",
        std::vector<Value>{collection, doc.source, doc.title, doc.hash,
                           static_cast<std::int64_t>(doc.chunks.size())});
    if (!inserted) return inserted.error();
    const std::int64_t document_id = inserted->front().integer(0);
    for (std::size_t i = 0; i < doc.chunks.size(); ++i) {
      const Chunk& c = doc.chunks[i];
      Value vector;
      if (!doc.vectors.empty()) vector = packVector(doc.vectors[i]);
      auto id = writer_->query(
          "INSERT INTO rag_chunks (document_id, collection, ordinal, section, page, tokens, text, "
          "vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
          std::vector<Value>{document_id, collection, static_cast<std::int64_t>(i), c.section,
                             std::int64_t{c.page}, std::int64_t{c.tokens}, c.text, vector});
      if (!id) return id.error();
      const std::int64_t chunk_id = id->front().integer(0);
      if (!doc.vectors.empty()) new_ids.push_back(chunk_id);
      if (Status e = writer_->exec(
              "INSERT INTO rag_fts (rowid, text, section, title, collection) VALUES (?, ?, ?, ?, ?)",
              std::vector<Value>{chunk_id, c.text, c.section, doc.title, collection});
          !e.isOk()) {
        return e;
      }
    }
    if (!old_ids.empty() || !new_ids.empty()) {
      if (Status e = writer_->exec(
              "UPDATE rag_collections SET generation = generation + 1, dims = CASE WHEN ? > 0 "
              "THEN ? ELSE dims END, embedding_model = CASE WHEN ? > 0 THEN ? ELSE "
              "embedding_model END WHERE name = ?",
              std::vector<Value>{std::int64_t{dims}, std::int64_t{dims}, std::int64_t{dims},
                                 doc.embedding_model, collection});
          !e.isOk()) {
        return e;
      }
      auto gen = writer_->query("SELECT generation FROM rag_collections WHERE name = ?",
                                std::vector<Value>{collection});
      if (!gen) return gen.error();
      generation = gen->front().integer(0);
    }
    return Status::ok();
  });
  if (!s.isOk()) return fail(std::move(s));

  // The rows are committed; now the graph, in one step under its exclusive lock.
  if (graph && (!old_ids.empty() || !new_ids.empty())) {
    std::unique_lock g(graph->mu);
    try {
      for (std::int64_t id : old_ids) {
        graph->hnsw->markDelete(static_cast<hnswlib::labeltype>(id));
        --graph->live;
      }
      const std::size_t need = graph->hnsw->cur_element_count + new_ids.size();
      if (need > graph->hnsw->max_elements_) {
        graph->hnsw->resizeIndex(std::max(need, graph->hnsw->max_elements_ * 2));
      }
      for (std::size_t i = 0; i < new_ids.size(); ++i) {
        graph->hnsw->addPoint(doc.vectors[i].data(), static_cast<hnswlib::labeltype>(new_ids[i]));
        ++graph->live;
      }
    } catch (const std::exception& e) {
      // The graph no longer matches the rows: rebuild it from them on next use.
      std::lock_guard m(graphs_mu_);
      graphs_.erase(collection);
      return fail(ErrorCode::kInternal, std::string("vector index update failed: ") + e.what());
    }
    graph->generation = generation;
    graph->dirty = true;
  }
  return static_cast<int>(doc.chunks.size());
}

Status Index::deleteDocument(const std::string& collection, const std::string& source) {
  DocumentInput empty;
  empty.source = source;
  auto put = putDocument(collection, empty);
  if (!put) return put.error();
  std::lock_guard lock(write_mu_);
  return writer_->exec("DELETE FROM rag_documents WHERE collection = ? AND source = ?",
                       std::vector<Value>{collection, source});
}

Result<std::shared_ptr<Index::Graph>> Index::graph(const std::string& collection, int dims,
                                                   bool create) {
  {
    std::lock_guard lock(graphs_mu_);
    if (auto it = graphs_.find(collection); it != graphs_.end()) return it->second;
  }
  auto rows = reader_->query("SELECT dims, generation FROM rag_collections WHERE name = ?",
                             std::vector<Value>{collection});
  if (!rows) return fail(std::move(rows.error()));
  if (rows->empty()) return fail(notFound(collection));
  const int stored_dims = static_cast<int>(rows->front().integer(0));
  if (stored_dims == 0 && !create) return std::shared_ptr<Graph>();
  auto loaded = loadGraph(collection, stored_dims > 0 ? stored_dims : dims,
                          rows->front().integer(1));
  if (!loaded) return loaded;
  std::lock_guard lock(graphs_mu_);
  auto [it, inserted] = graphs_.emplace(collection, *loaded);
  return it->second;
}

Result<std::shared_ptr<Index::Graph>> Index::loadGraph(const std::string& collection, int dims,
                                                       std::int64_t generation) {
  auto graph = std::make_shared<Graph>();
  graph->dims = dims;
  graph->space = std::make_unique<hnswlib::InnerProductSpace>(static_cast<std::size_t>(dims));
  graph->generation = generation;
  const std::string path = graphPath(collection);
  try {
    std::int64_t saved_generation = -1;
    if (std::ifstream gen(path + ".gen"); gen) gen >> saved_generation;
    std::error_code ec;
    if (saved_generation == generation && fs::exists(path, ec)) {
      graph->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(graph->space.get(), path);
      graph->hnsw->setEf(static_cast<std::size_t>(options_.ef_search));
      graph->live = graph->hnsw->cur_element_count - graph->hnsw->num_deleted_;
      return graph;
    }
    // Missing or stale: rebuild from the stored embeddings.
    auto rows = reader_->query(
        "SELECT id, vector FROM rag_chunks WHERE collection = ? AND vector IS NOT NULL",
        std::vector<Value>{collection});
    if (!rows) return fail(std::move(rows.error()));
    graph->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        graph->space.get(), std::max<std::size_t>(1024, rows->size() + rows->size() / 2),
        static_cast<std::size_t>(options_.m), static_cast<std::size_t>(options_.ef_construction));
    graph->hnsw->setEf(static_cast<std::size_t>(options_.ef_search));
    for (const Row& r : *rows) {
      const std::vector<float> v = unpackVector(r.text(1));
      if (static_cast<int>(v.size()) != dims) continue;
      graph->hnsw->addPoint(v.data(), static_cast<hnswlib::labeltype>(r.integer(0)));
      ++graph->live;
    }
    graph->dirty = !rows->empty();
    return graph;
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal,
                "cannot load the vector index of collection '" + collection + "': " + e.what());
  }
}

Status Index::saveGraph(const std::string& collection, Graph& graph) {
  const std::string path = graphPath(collection);
  try {
    graph.hnsw->saveIndex(path + ".tmp");
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, "cannot save " + path + ": " + e.what());
  }
  std::error_code ec;
  fs::rename(path + ".tmp", path, ec);
  if (ec) return Status(ErrorCode::kInternal, "cannot save " + path + ": " + ec.message());
  std::ofstream gen(path + ".gen", std::ios::trunc);
  gen << graph.generation << "\n";
  if (!gen) return Status(ErrorCode::kInternal, "cannot write " + path + ".gen");
  graph.dirty = false;
  return Status::ok();
}

Status Index::save() {
  std::vector<std::pair<std::string, std::shared_ptr<Graph>>> graphs;
  {
    std::lock_guard lock(graphs_mu_);
    for (const auto& [name, graph] : graphs_) graphs.emplace_back(name, graph);
  }
  Status first;
  for (auto& [name, graph] : graphs) {
    if (!graph) continue;
    // Mostly dead slots (re-ingested documents): rebuild compactly from the rows.
    std::size_t deleted = 0;
    {
      std::shared_lock g(graph->mu);
      if (!graph->dirty) continue;
      deleted = graph->hnsw->num_deleted_;
    }
    if (deleted > 1024 && deleted > graph->live) {
      std::lock_guard w(write_mu_);
      auto fresh = loadGraph(name, graph->dims, -2);  // -2: never a saved generation
      if (fresh) {
        (*fresh)->generation = graph->generation;
        std::lock_guard lock(graphs_mu_);
        graphs_[name] = *fresh;
        graph = *fresh;
      }
    }
    std::unique_lock g(graph->mu);
    if (!graph->dirty) continue;
    if (Status s = saveGraph(name, *graph); !s.isOk() && first.isOk()) first = s;
  }
  return first;
}

Result<std::vector<ScoredChunk>> Index::fetch(
    const std::vector<std::pair<std::int64_t, double>>& ids) {
  if (ids.empty()) return std::vector<ScoredChunk>();
  std::string list = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) list += ',';
    list += std::to_string(ids[i].first);
  }
  list += ']';
  auto rows = reader_->query(
      "SELECT " + std::string(kChunkColumns) +
          " FROM rag_chunks c JOIN rag_documents d ON d.id = c.document_id WHERE c.id IN "
          "(SELECT value FROM json_each(?))",
      std::vector<Value>{list});
  if (!rows) return fail(std::move(rows.error()));
  std::unordered_map<std::int64_t, ChunkRecord> by_id;
  for (const Row& r : *rows) {
    ChunkRecord c = toChunk(r);
    by_id.emplace(c.id, std::move(c));
  }
  std::vector<ScoredChunk> out;
  for (const auto& [id, score] : ids) {
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;  // replaced since the graph answered
    out.push_back({std::move(it->second), score});
  }
  return out;
}

Result<std::vector<ScoredChunk>> Index::lexical(const std::string& collection,
                                                std::string_view query, int k) {
  const std::string match = ftsQuery(query);
  if (match.empty() || k <= 0) return std::vector<ScoredChunk>();
  // One statement, so one snapshot (a concurrent replace is seen whole or not at all); the
  // subquery ranks inside FTS5 first, so only the top k reach the joins.
  auto rows = reader_->query(
      "SELECT " + std::string(kChunkColumns) +
          ", f.score FROM (SELECT rowid AS id, -bm25(rag_fts, 1.0, 0.5, 0.5) AS score FROM rag_fts "
          "WHERE rag_fts MATCH ? AND collection = ? ORDER BY bm25(rag_fts, 1.0, 0.5, 0.5) LIMIT ?) f "
          "JOIN rag_chunks c ON c.id = f.id JOIN rag_documents d ON d.id = c.document_id "
          "ORDER BY f.score DESC",
      std::vector<Value>{match, collection, std::int64_t{k}});
  if (!rows) return fail(std::move(rows.error()));
  std::vector<ScoredChunk> out;
  out.reserve(rows->size());
  for (const Row& r : *rows) out.push_back({toChunk(r), r.real(7)});
  return out;
}

Result<std::vector<ScoredChunk>> Index::vector(const std::string& collection,
                                               const std::vector<float>& query, int k) {
  auto g = graph(collection, static_cast<int>(query.size()), false);
  if (!g) return fail(std::move(g.error()));
  std::shared_ptr<Graph> graph = *g;
  if (!graph || k <= 0) return std::vector<ScoredChunk>();
  // Another process (`switchyard ingest` next to a running gateway) may have changed the rows:
  // then the graph is reloaded from disk (or rebuilt from the rows).
  auto generation = reader_->query("SELECT generation FROM rag_collections WHERE name = ?",
                                   std::vector<Value>{collection});
  if (!generation) return fail(std::move(generation.error()));
  if (generation->empty()) return fail(notFound(collection));
  if (generation->front().integer(0) != graph->generation) {
    std::lock_guard w(write_mu_);  // a write of this process finishes its graph update first
    auto again = reader_->query("SELECT generation FROM rag_collections WHERE name = ?",
                                std::vector<Value>{collection});
    if (!again) return fail(std::move(again.error()));
    if (!again->empty() && again->front().integer(0) != graph->generation) {
      {
        std::lock_guard lock(graphs_mu_);
        graphs_.erase(collection);
      }
      auto reloaded = this->graph(collection, static_cast<int>(query.size()), false);
      if (!reloaded) return fail(std::move(reloaded.error()));
      graph = *reloaded;
      if (!graph) return std::vector<ScoredChunk>();
    }
  }
  if (static_cast<int>(query.size()) != graph->dims) {
    return fail(ErrorCode::kInvalidArgument,
                "query embedding has " + std::to_string(query.size()) +
                    " dimensions; collection '" + collection + "' has " +
                    std::to_string(graph->dims));
  }
  std::vector<std::pair<std::int64_t, double>> ids;
  {
    std::shared_lock lock(graph->mu);
    if (graph->live == 0) return std::vector<ScoredChunk>();
    try {
      auto found = graph->hnsw->searchKnn(query.data(), static_cast<std::size_t>(k));
      while (!found.empty()) {
        ids.emplace_back(static_cast<std::int64_t>(found.top().second), 1.0 - found.top().first);
        found.pop();
      }
    } catch (const std::exception& e) {
      return fail(ErrorCode::kInternal, std::string("vector search failed: ") + e.what());
    }
  }
  std::reverse(ids.begin(), ids.end());  // nearest first
  return fetch(ids);
}

Result<std::vector<std::int64_t>> Index::exactNeighbours(const std::string& collection,
                                                         const std::vector<float>& query, int k) {
  auto rows = reader_->query(
      "SELECT id, vector FROM rag_chunks WHERE collection = ? AND vector IS NOT NULL",
      std::vector<Value>{collection});
  if (!rows) return fail(std::move(rows.error()));
  std::vector<std::pair<float, std::int64_t>> scored;
  scored.reserve(rows->size());
  for (const Row& r : *rows) {
    const std::vector<float> v = unpackVector(r.text(1));
    if (v.size() != query.size()) continue;
    float dot = 0;
    for (std::size_t i = 0; i < v.size(); ++i) dot += v[i] * query[i];
    scored.emplace_back(-dot, r.integer(0));
  }
  const std::size_t n = std::min<std::size_t>(scored.size(), static_cast<std::size_t>(k));
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(n), scored.end());
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(scored[i].second);
  return out;
}

}  // namespace switchyard::rag
