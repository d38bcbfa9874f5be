#include "switchyard/rag/rag_service.h"

#include <openssl/evp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <unordered_map>

#include "switchyard/core/log.h"
#include "switchyard/http/client.h"
#include "switchyard/rag/chunker.h"
#if SY_WITH_LLAMA
#include "switchyard/providers/local/local_provider.h"
#endif

namespace switchyard::rag {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kEmbedBatch = 32;
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{256} << 20;
constexpr int kMaxTopK = 100;

// Extensions a directory walk picks up (a file named on the command line is read whatever it is).
bool ingestible(const fs::path& path) {
  static const std::set<std::string> kExtensions = {".txt", ".text", ".md",   ".markdown",
                                                    ".mdx", ".rst",  ".html", ".htm",
                                                    ".xhtml", ".pdf"};
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kExtensions.count(ext) > 0;
}

bool hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

void normalize(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : v) x *= inv;
}

Result<std::string> readFile(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, ec.message());
  if (size > kMaxFileBytes) return fail(ErrorCode::kPayloadTooLarge, "larger than 256 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kInvalidArgument, std::strerror(errno));
  std::string content(static_cast<std::size_t>(size), '\0');
  in.read(content.data(), static_cast<std::streamsize>(size));
  content.resize(static_cast<std::size_t>(in.gcount()));
  return content;
}

}  // namespace

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::kLexical: return "lexical";
    case Mode::kVector: return "vector";
    case Mode::kHybrid: return "hybrid";
  }
  return "lexical";
}

Result<Mode> parseMode(std::string_view name) {
  if (name == "lexical") return Mode::kLexical;
  if (name == "vector") return Mode::kVector;
  if (name == "hybrid") return Mode::kHybrid;
  return fail(Status(ErrorCode::kInvalidArgument, "unknown retrieval mode '" + std::string(name) +
                                                      "' (expected lexical, vector or hybrid)")
                  .withParam("mode"));
}

std::vector<std::pair<std::int64_t, double>> reciprocalRankFusion(
    const std::vector<std::vector<std::int64_t>>& lists, int k) {
  std::unordered_map<std::int64_t, double> scores;
  std::vector<std::int64_t> order;  // first appearance, to break ties stably
  for (const auto& list : lists) {
    for (std::size_t rank = 0; rank < list.size(); ++rank) {
      auto [it, inserted] = scores.emplace(list[rank], 0.0);
      if (inserted) order.push_back(list[rank]);
      it->second += 1.0 / (k + static_cast<double>(rank) + 1.0);
    }
  }
  std::vector<std::pair<std::int64_t, double>> fused;
  fused.reserve(order.size());
  for (std::int64_t id : order) fused.emplace_back(id, scores[id]);
  std::stable_sort(fused.begin(), fused.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return fused;
}

std::string defaultRagDir(const std::string& storage_url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (storage_url.starts_with(kSqlite)) {
    const fs::path db(storage_url.substr(kSqlite.size()));
    return (db.parent_path() / (db.stem().string() + "-rag")).string();
  }
  return "switchyard-rag";
}

// ---- workers ----------------------------------------------------------------------------------

class RagService::Workers {
 public:
  explicit Workers(int threads)
      : pool(static_cast<std::size_t>(std::max(1, threads))),
        guard(asio::make_work_guard(embed_io)),
        http(http::makeHttpClient(embed_io.get_executor())),
        thread([this] { embed_io.run(); }) {}

  ~Workers() {
    pool.join();
    guard.reset();
    embed_io.stop();
    thread.join();
    http.reset();
  }

  // Runs `fn` on the pool; exceptions become kInternal. Not a coroutine: callers keep the
  // returned awaitable in a variable and co_await that, so that no temporary of the call lives
  // across the suspension (g++ 12 destroys such temporaries wrongly).
  template <typename T, typename F>
  asio::awaitable<Result<T>> run(F fn) {
    return asio::co_spawn(pool, task<T>(std::move(fn)), asio::use_awaitable);
  }

  template <typename T, typename F>
  static asio::awaitable<Result<T>> task(F fn) {
    co_return call<T>(fn);
  }

  template <typename T, typename F>
  static Result<T> call(F& fn) {
    try {
      return fn();
    } catch (const std::exception& e) {
      return fail(ErrorCode::kInternal, std::string("rag: ") + e.what());
    }
  }

  asio::thread_pool pool;
  asio::io_context embed_io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::unique_ptr<http::HttpClient> http;
  std::thread thread;
};

// ---- service ----------------------------------------------------------------------------------

RagService::RagService(const config::Config& config, std::unique_ptr<Index> index)
    : config_(config), index_(std::move(index)) {}

RagService::~RagService() {
  workers_.reset();  // finish queued work before the index closes
  index_.reset();
}

Result<std::unique_ptr<RagService>> RagService::create(const config::Config& config,
                                                       const routing::Router& router,
                                                       providers::Registry& providers) {
  const config::RagConfig& rag = config.rag;
  const std::string dir = rag.path.empty() ? defaultRagDir(config.storage_url) : rag.path;
  HnswOptions hnsw{rag.hnsw_m, rag.hnsw_ef_construction, rag.hnsw_ef_search};
  auto index = Index::open(dir, hnsw);
  if (!index) return fail(std::move(index.error()));
  std::unique_ptr<RagService> service(new RagService(config, std::move(*index)));
  service->router_ = &router;
  service->providers_ = &providers;
  // Every configured reranker must be a model this gateway serves (checked at start-up).
  auto checkReranker = [&](const config::RagRerankConfig& r,
                           const std::string& key) -> Status {
    if (r.model.empty()) return Status::ok();
    const std::string where =
        config.source + (r.model_line > 0 ? ":" + std::to_string(r.model_line) : std::string()) +
        ": " + key + ": ";
    auto resolved = service->resolve(r.model);
    if (!resolved) {
      return Status(ErrorCode::kInvalidArgument, where + resolved.error().message())
          .withParam(key);
    }
    for (const config::ProviderConfig& p : config.providers) {
      if (p.name != resolved->provider->name()) continue;
      if (p.kind != "local") {
        // Remote rerankers: OpenAI-compatible servers, models marked `rerank: true`.
        const bool marked = std::any_of(p.models.begin(), p.models.end(),
                                        [&](const config::ModelConfig& m) {
                                          return m.name == resolved->model && m.rerank;
                                        });
        if (!marked) {
          return Status(ErrorCode::kInvalidArgument,
                        where + "model '" + resolved->model + "' of provider '" + p.name +
                            "' is not a reranker (a local reranker GGUF needs 'embeddings: "
                            "true'; a model of an OpenAI-compatible server with /rerank, "
                            "'rerank: true')")
              .withParam(key);
        }
        continue;
      }
      for (const config::ModelConfig& m : p.models) {
        if (m.name == resolved->model && !m.local.embeddings) {
          return Status(ErrorCode::kInvalidArgument,
                        where + "local model '" + m.name + "' of provider '" + p.name +
                            "' is not served for pooled outputs (set 'embeddings: true' under "
                            "it; a reranker GGUF pools with rank)")
              .withParam(key);
        }
      }
    }
    return Status::ok();
  };
  for (const auto& [name, route] : rag.routes) {
    if (Status s = checkReranker(route.rerank, "rag.routes." + name + ".rerank.model");
        !s.isOk()) {
      return fail(std::move(s));
    }
  }
  for (const auto& [name, collection] : rag.collections) {
    if (Status s = checkReranker(collection.rerank, "rag.collections." + name + ".rerank.model");
        !s.isOk()) {
      return fail(std::move(s));
    }
  }

  if (!rag.embedding_model.empty()) {
    const std::string where = config.source +
                              (rag.embedding_model_line > 0
                                   ? ":" + std::to_string(rag.embedding_model_line)
                                   : std::string()) +
                              ": rag.embedding_model: ";
    auto bad = [&](std::string message) {
      return fail(Status(ErrorCode::kInvalidArgument, where + message)
                      .withParam("rag.embedding_model"));
    };
    auto served = routing::resolveServedModel(config, router, providers, rag.embedding_model);
      if (!served) return bad(served.error().message());
    if (Status s = routing::checkServesEmbeddings(*served); !s.isOk()) return bad(s.message());
    service->provider_ = served->provider;
    service->embed_model_ = served->model;
    service->embedder_on_prem_ = served->on_prem;
#if SY_WITH_LLAMA
    if (auto* local = dynamic_cast<providers::LocalProvider*>(service->provider_)) {
      engine::ModelRegistry* models = &local->models();
      std::string model = served->model;
      service->tokenizer_ = [models, model](std::string_view text) -> std::size_t {
        auto lease = models->acquireBlocking(model);
        if (!lease) return estimateTokens(text);
        auto tokens = (*lease)->tokenize(std::string(text), false);
        return tokens ? tokens->size() : estimateTokens(text);
      };
    }
#endif
  }
  service->workers_ = std::make_unique<Workers>(rag.workers);
  return service;
}

std::size_t RagService::countTokens(std::string_view text) {
  return tokenizer_ ? tokenizer_(text) : estimateTokens(text);
}

std::string RagService::contentHash(std::string_view content) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(content.data(), content.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  // Settings that change the chunks make the stored ones stale too.
  out += "/" + std::to_string(config_.rag.chunk_tokens) + "/" +
         std::to_string(config_.rag.chunk_overlap) + "/" + config_.rag.embedding_model;
  return out;
}

Result<RagService::Resolved> RagService::resolve(const std::string& model) const {
  auto served = routing::resolveServedModel(config_, *router_, *providers_, model);
  if (!served) {
    return fail(Status(ErrorCode::kNotFound, served.error().message())
                    .withParam("model")
                    .withErrorType("model_not_found"));
  }
  return Resolved{served->provider, served->model, served->on_prem};
}

Result<RagService::Served> RagService::servedBy(const std::string& model) const {
  auto resolved = resolve(model);
  if (!resolved) return fail(std::move(resolved.error()));
  return Served{resolved->provider->name(), resolved->model};
}

Result<api::RerankResponse> RagService::rerank(const std::string& model, const std::string& query,
                                               const std::vector<std::string>& documents) {
  auto resolved = resolve(model);
  if (!resolved) return fail(std::move(resolved.error()));
  api::RerankRequest request;
  request.model = resolved->model;
  request.query = query;
  request.documents = documents;
  const auto deadline = std::chrono::steady_clock::now() + config_.server.request_timeout;
  providers::Provider* provider = resolved->provider;
  auto future = asio::co_spawn(
      workers_->embed_io,
      [this, provider, request = std::move(request),
       deadline]() -> asio::awaitable<Result<api::RerankResponse>> {
        providers::CallContext call{*workers_->http, "rag-rerank", deadline};
        co_return co_await provider->rerank(request, call);
      },
      asio::use_future);
  Result<api::RerankResponse> response = future.get();
  if (!response) return response;
  if (response->scores.size() != documents.size()) {
    return fail(ErrorCode::kUpstream, "reranker '" + model + "' returned " +
                                          std::to_string(response->scores.size()) +
                                          " scores for " + std::to_string(documents.size()) +
                                          " documents");
  }
  response->model = model;
  return response;
}

void RagService::applyRerank(const config::RagRerankConfig& rerank, const std::string& query,
                             int top_k, RetrieveResult& result) {
  auto cut = [&] {
    if (static_cast<int>(result.chunks.size()) > top_k) result.chunks.resize(top_k);
  };
  if (result.chunks.size() < 2) return cut();
  if (result.is_private) {
    // A private collection's text goes only to an on-prem reranker.
    auto resolved = resolve(rerank.model);
    if (!resolved || !resolved->on_prem) {
      logEvent(spdlog::level::warn, "rag_rerank_skipped",
               {{"model", rerank.model}, {"reason", "private collection, reranker not on-prem"}});
      return cut();
    }
  }
  std::vector<std::string> texts;
  texts.reserve(result.chunks.size());
  for (const RetrievedChunk& c : result.chunks) texts.push_back(c.chunk.text);
  auto scored = this->rerank(rerank.model, query, texts);
  if (!scored) {
    logEvent(spdlog::level::warn, "rag_rerank_fallback",
             {{"model", rerank.model}, {"error", scored.error().message()}});
    return cut();
  }
  std::vector<std::size_t> order(result.chunks.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return scored->scores[a] > scored->scores[b];
  });
  std::vector<RetrievedChunk> reordered;
  reordered.reserve(std::min<std::size_t>(order.size(), static_cast<std::size_t>(top_k)));
  for (std::size_t i = 0; i < order.size() && static_cast<int>(i) < top_k; ++i) {
    RetrievedChunk c = std::move(result.chunks[order[i]]);
    c.score = scored->scores[order[i]];
    reordered.push_back(std::move(c));
  }
  result.chunks = std::move(reordered);
  result.reranked_by = rerank.model;
}

bool RagService::mayEmbed(const CollectionInfo& info) const {
  return provider_ != nullptr && (!info.is_private || embedder_on_prem_);
}

Result<std::vector<std::vector<float>>> RagService::embed(const std::vector<std::string>& texts) {
  if (provider_ == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "no rag.embedding_model is configured");
  }
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (std::size_t start = 0; start < texts.size(); start += kEmbedBatch) {
    api::EmbeddingRequest request;
    request.model = embed_model_;
    request.texts.assign(texts.begin() + static_cast<std::ptrdiff_t>(start),
                         texts.begin() + static_cast<std::ptrdiff_t>(
                                             std::min(texts.size(), start + kEmbedBatch)));
    const auto deadline = std::chrono::steady_clock::now() + config_.server.request_timeout;
    auto future = asio::co_spawn(
        workers_->embed_io,
        [this, request = std::move(request),
         deadline]() -> asio::awaitable<Result<api::EmbeddingResponse>> {
          providers::CallContext call{*workers_->http, "rag-embed", deadline};
          co_return co_await provider_->embed(request, call);
        },
        asio::use_future);
    Result<api::EmbeddingResponse> response = future.get();
    if (!response) {
      Status s = std::move(response.error());
      return fail(Status(s.code(), "embedding with '" + config_.rag.embedding_model +
                                       "' failed: " + s.message()));
    }
    const std::size_t expected = std::min(texts.size(), start + kEmbedBatch) - start;
    if (response->embeddings.size() != expected) {
      return fail(ErrorCode::kUpstream, "embedding model '" + config_.rag.embedding_model +
                                            "' returned " +
                                            std::to_string(response->embeddings.size()) +
                                            " vectors for " + std::to_string(expected) + " inputs");
    }
    for (auto& v : response->embeddings) {
      if (v.empty() || (!out.empty() && v.size() != out.front().size())) {
        return fail(ErrorCode::kUpstream, "embedding model '" + config_.rag.embedding_model +
                                              "' returned vectors of inconsistent size");
      }
      normalize(v);
      out.push_back(std::move(v));
    }
  }
  return out;
}

Result<RagService::Outcome> RagService::ingestOne(const CollectionInfo& info, SourceDocument doc,
                                                  int& chunks) {
  chunks = 0;
  const std::string hash = contentHash(doc.content);
  auto stored = index_->documentHash(info.name, doc.source);
  if (!stored) return fail(std::move(stored.error()));
  if (*stored && **stored == hash) return Outcome::kUnchanged;

  auto parsed = parseDocument(doc.content, doc.format);
  if (!parsed) return fail(std::move(parsed.error()));
  DocumentInput input;
  input.source = doc.source;
  input.hash = hash;
  input.title = !doc.title.empty() ? doc.title : parsed->title;
  if (input.title.empty()) input.title = fs::path(doc.source).filename().string();
  ChunkOptions options{config_.rag.chunk_tokens, config_.rag.chunk_overlap};
  input.chunks = chunkDocument(*parsed, options,
                               [this](std::string_view text) { return countTokens(text); });
  if (mayEmbed(info) && !input.chunks.empty()) {
    std::vector<std::string> texts;
    texts.reserve(input.chunks.size());
    for (const Chunk& c : input.chunks) texts.push_back(c.text);
    auto vectors = embed(texts);
    if (!vectors) return fail(std::move(vectors.error()));
    input.vectors = std::move(*vectors);
    input.embedding_model = config_.rag.embedding_model;
  }
  auto written = index_->putDocument(info.name, input);
  if (!written) return fail(std::move(written.error()));
  chunks = *written;
  return *stored ? Outcome::kUpdated : Outcome::kAdded;
}

Result<IngestReport> RagService::ingestDocuments(const std::string& collection,
                                                 std::vector<SourceDocument> docs) {
  auto info = index_->collection(collection);
  if (!info) return fail(std::move(info.error()));
  IngestReport report;
  for (SourceDocument& doc : docs) {
    report.bytes += static_cast<std::int64_t>(doc.content.size());
    const std::string source = doc.source;
    int chunks = 0;
    auto outcome = ingestOne(*info, std::move(doc), chunks);
    if (!outcome) {
      // One bad document fails the request: the API caller sent it and wants to know.
      Status s = std::move(outcome.error());
      return fail(Status(s.code(), "document '" + source + "': " + s.message())
                      .withParam("documents"));
    }
    report.chunks += chunks;
    if (*outcome == Outcome::kAdded) ++report.added;
    if (*outcome == Outcome::kUpdated) ++report.updated;
    if (*outcome == Outcome::kUnchanged) ++report.unchanged;
  }
  // Graph files are a cache of the rows (rebuilt from them when stale), so API writes save them
  // at most every few minutes, not per request; shutdown saves them too.
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = last_save_.load();
  if (now - last > std::chrono::steady_clock::duration(std::chrono::minutes(5)).count() &&
      last_save_.compare_exchange_strong(last, now)) {
    if (Status s = index_->save(); !s.isOk()) {
      logEvent(spdlog::level::warn, "rag_save_failed", {{"error", s.message()}});
    }
  }
  return report;
}

Result<IngestReport> RagService::ingestPaths(const std::string& collection,
                                             const std::vector<std::string>& paths,
                                             const Progress& progress) {
  auto info = index_->collection(collection);
  if (!info) return fail(std::move(info.error()));
  IngestReport report;
  std::vector<fs::path> files;
  std::vector<std::string> dirs;
  for (const std::string& p : paths) {
    std::error_code ec;
    const fs::path path = fs::weakly_canonical(fs::absolute(p), ec);
    if (ec || !fs::exists(path, ec)) {
      report.errors.push_back(p + ": no such file or directory");
      continue;
    }
    if (fs::is_directory(path, ec)) {
      dirs.push_back(path.string() + "/");
      auto it = fs::recursive_directory_iterator(
          path, fs::directory_options::skip_permission_denied, ec);
      for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (hidden(it->path())) {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && ingestible(it->path())) files.push_back(it->path());
      }
      if (ec) report.errors.push_back(p + ": " + ec.message());
    } else {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());

  std::set<std::string> seen;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path& path = files[i];
    seen.insert(path.string());
    auto content = readFile(path);
    if (!content) {
      report.errors.push_back(path.string() + ": " + content.error().message());
    } else {
      report.bytes += static_cast<std::int64_t>(content->size());
      SourceDocument doc{path.string(), std::move(*content), formatForPath(path.string()), ""};
      int chunks = 0;
      auto outcome = ingestOne(*info, std::move(doc), chunks);
      if (!outcome) {
        report.errors.push_back(path.string() + ": " + outcome.error().message());
      } else {
        report.chunks += chunks;
        if (*outcome == Outcome::kAdded) ++report.added;
        if (*outcome == Outcome::kUpdated) ++report.updated;
        if (*outcome == Outcome::kUnchanged) ++report.unchanged;
      }
    }
    if (progress) progress(i + 1, files.size());
  }
  // Files gone from an ingested directory leave the collection too.
  for (const std::string& dir : dirs) {
    auto sources = index_->sources(collection, dir);
    if (!sources) return fail(std::move(sources.error()));
    for (const std::string& source : *sources) {
      if (seen.count(source) > 0) continue;
      if (Status s = index_->deleteDocument(collection, source); !s.isOk()) {
        report.errors.push_back(source + ": " + s.message());
      } else {
        ++report.deleted;
      }
    }
  }
  if (Status s = index_->save(); !s.isOk()) return fail(std::move(s));
  return report;
}

Result<RetrieveResult> RagService::retrieve(const RetrieveRequest& request) {
  auto info = index_->collection(request.collection);
  if (!info) return fail(std::move(info.error()));
  const int top_k = std::clamp(request.top_k > 0 ? request.top_k : config_.rag.top_k, 1, kMaxTopK);
  Mode mode = Mode::kHybrid;
  if (request.mode) {
    mode = *request.mode;
  } else if (auto m = parseMode(config_.rag.mode)) {
    mode = *m;
  }
  RetrieveResult result;
  result.is_private = info->is_private;
  const bool vectors = mayEmbed(*info) && info->dims > 0;
  if (mode == Mode::kVector && !vectors) {
    std::string why = provider_ == nullptr ? "no rag.embedding_model is configured"
                      : !mayEmbed(*info)
                          ? "collection '" + info->name +
                                "' is private and the embedding model is not on-prem"
                          : "collection '" + info->name + "' holds no embeddings";
    return fail(Status(ErrorCode::kInvalidArgument, "vector retrieval unavailable: " + why)
                    .withParam("mode"));
  }
  if (mode == Mode::kHybrid && !vectors) mode = Mode::kLexical;
  config::RagRerankConfig rerank;
  if (request.rerank) {
    rerank = *request.rerank;
  } else if (auto it = config_.rag.collections.find(info->name);
             it != config_.rag.collections.end()) {
    rerank = it->second.rerank;
  }
  // With a reranker, the best top_n fused candidates go to it; it keeps top_k of them.
  const int keep = rerank.model.empty() ? top_k : std::max(top_k, rerank.top_n);
  const int depth = mode == Mode::kHybrid ? std::max(keep * 4, 20) : keep;

  std::vector<ScoredChunk> lexical;
  std::vector<ScoredChunk> vector;
  if (mode != Mode::kVector) {
    auto found = index_->lexical(info->name, request.query, depth);
    if (!found) return fail(std::move(found.error()));
    lexical = std::move(*found);
  }
  if (mode != Mode::kLexical) {
    auto query = embed({request.query});
    Result<std::vector<ScoredChunk>> found =
        query ? index_->vector(info->name, query->front(), depth)
              : Result<std::vector<ScoredChunk>>(fail(std::move(query.error())));
    if (!found) {
      if (mode == Mode::kVector) return fail(std::move(found.error()));
      logEvent(spdlog::level::warn, "rag_vector_fallback",
               {{"collection", info->name}, {"error", found.error().message()}});
      mode = Mode::kLexical;
    } else {
      vector = std::move(*found);
    }
  }
  result.mode = mode;

  auto take = [&](std::vector<ScoredChunk>& list, bool is_lexical) {
    for (std::size_t i = 0; i < list.size() && static_cast<int>(i) < keep; ++i) {
      RetrievedChunk r{std::move(list[i].chunk), list[i].score, 0, 0};
      (is_lexical ? r.lexical_rank : r.vector_rank) = static_cast<int>(i) + 1;
      result.chunks.push_back(std::move(r));
    }
  };
  if (mode == Mode::kLexical) {
    take(lexical, true);
  } else if (mode == Mode::kVector) {
    take(vector, false);
  } else {
    std::unordered_map<std::int64_t, RetrievedChunk> by_id;
    std::vector<std::int64_t> lexical_ids;
    std::vector<std::int64_t> vector_ids;
    for (std::size_t i = 0; i < lexical.size(); ++i) {
      lexical_ids.push_back(lexical[i].chunk.id);
      auto& r = by_id[lexical[i].chunk.id];
      r.chunk = std::move(lexical[i].chunk);
      r.lexical_rank = static_cast<int>(i) + 1;
    }
    for (std::size_t i = 0; i < vector.size(); ++i) {
      vector_ids.push_back(vector[i].chunk.id);
      auto& r = by_id[vector[i].chunk.id];
      if (r.chunk.id == 0) r.chunk = std::move(vector[i].chunk);
      r.vector_rank = static_cast<int>(i) + 1;
    }
    for (const auto& [id, score] : reciprocalRankFusion({lexical_ids, vector_ids})) {
      if (static_cast<int>(result.chunks.size()) >= keep) break;
      RetrievedChunk& r = by_id[id];
      r.score = score;
      result.chunks.push_back(std::move(r));
    }
  }
  if (!rerank.model.empty()) applyRerank(rerank, request.query, top_k, result);
  return result;
}

// ---- async ------------------------------------------------------------------------------------
// Each keeps the work's awaitable in a local before co_await (see Workers::run).

asio::awaitable<Result<IngestReport>> RagService::ingestDocumentsAsync(
    std::string collection, std::vector<SourceDocument> docs) {
  auto work = [this, collection = std::move(collection), docs = std::move(docs)]() mutable {
    return ingestDocuments(collection, std::move(docs));
  };
  auto pending = workers_->run<IngestReport>(std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<RetrieveResult>> RagService::retrieveAsync(RetrieveRequest request) {
  auto work = [this, request = std::move(request)] { return retrieve(request); };
  auto pending = workers_->run<RetrieveResult>(std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<api::RerankResponse>> RagService::rerankAsync(
    std::string model, std::string query, std::vector<std::string> documents) {
  auto work = [this, model = std::move(model), query = std::move(query),
               documents = std::move(documents)] { return rerank(model, query, documents); };
  auto pending = workers_->run<api::RerankResponse>(std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<CollectionInfo>> RagService::createCollectionAsync(std::string name,
                                                                         bool is_private) {
  auto work = [this, name = std::move(name), is_private] {
    return index_->createCollection(name, is_private);
  };
  auto pending = workers_->run<CollectionInfo>(std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<std::vector<CollectionInfo>>> RagService::collectionsAsync() {
  auto work = [this] { return index_->collections(); };
  auto pending = workers_->run<std::vector<CollectionInfo>>(std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Result<CollectionInfo>> RagService::collectionAsync(std::string name) {
  auto work = [this, name = std::move(name)] { return index_->collection(name); };
  auto pending = workers_->run<CollectionInfo>(std::move(work));
  co_return co_await std::move(pending);
}

asio::awaitable<Status> RagService::deleteCollectionAsync(std::string name) {
  auto work = [this, name = std::move(name)]() -> Result<bool> {
    if (Status s = index_->deleteCollection(name); !s.isOk()) return fail(std::move(s));
    return true;
  };
  auto pending = workers_->run<bool>(std::move(work));
  Result<bool> done = co_await std::move(pending);
  if (!done) co_return std::move(done.error());
  co_return Status::ok();
}

}  // namespace switchyard::rag
