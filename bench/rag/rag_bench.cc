// rag_bench: RAG ingestion throughput and retrieval latency on a generated corpus. Not a test.
//
//   build/release/bin/rag_bench [--chunks 10000] [--dims 384] [--queries 500] [--dir DIR]
//
// The corpus: Markdown documents of 8 sections, each one paragraph of 60 words from a vocabulary
// of 20k made-up words: half drawn Zipf-like from the whole vocabulary (function words), half
// from the 150 words of the document's topic (one of 200). Embeddings are bag-of-words vectors
// (each word a fixed random direction, weighted up with its rarity; a text is the normalized
// sum), so texts that share topic words are near: vector search has real neighbours to find,
// without an embedding model in the loop. Queries are 5 content words (not among the 100 most
// frequent) of a random section.
// Phases: parse + chunk (MB/s); index writes (SQLite + FTS5 + hnswlib, docs/s and chunks/s);
// query latency p50/p99 for lexical, vector and hybrid (both lists + reciprocal rank fusion, as
// the service runs it, minus embedding the query); vector recall@10 against exact search.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <unordered_set>

#include "switchyard/rag/chunker.h"
#include "switchyard/rag/document.h"
#include "switchyard/rag/index.h"
#include "switchyard/rag/rag_service.h"

namespace rag = switchyard::rag;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kVocabulary = 20000;
constexpr int kSectionsPerDoc = 8;
constexpr int kWordsPerSection = 60;
constexpr int kTopics = 200;
constexpr int kTopicWords = 150;
constexpr int kFunctionWords = 100;  // the most frequent ranks: never query words

std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string makeWord(int i) {
  static const char* kSyllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo",
                                     "ze", "po", "qua", "dre", "fin", "gor", "hel", "jun"};
  std::string w;
  int n = i + 1;
  while (n > 0) {
    w += kSyllables[n % 16];
    n /= 16;
  }
  return w;
}

class Embedder {
 public:
  Embedder(int vocabulary, int dims) : dims_(static_cast<std::size_t>(dims)) {
    vectors_.resize(static_cast<std::size_t>(vocabulary) * dims_);
    std::uint64_t state = 12345;
    for (float& x : vectors_) {
      x = static_cast<float>(static_cast<double>(splitmix(state) >> 11) / 9007199254740992.0 - 0.5);
    }
    for (int w = 0; w < vocabulary; ++w) weights_.push_back(static_cast<float>(std::log1p(w / 10.0)));
  }
  std::vector<float> embed(const std::vector<int>& words) const {
    std::vector<float> v(dims_, 0.0f);
    for (int w : words) {
      const float* row = &vectors_[static_cast<std::size_t>(w) * dims_];
      const float weight = weights_[static_cast<std::size_t>(w)];
      for (std::size_t i = 0; i < dims_; ++i) v[i] += weight * row[i];
    }
    double n = 0;
    for (float x : v) n += static_cast<double>(x) * x;
    const float inv = n > 0 ? static_cast<float>(1.0 / std::sqrt(n)) : 0.0f;
    for (float& x : v) x *= inv;
    return v;
  }

 private:
  std::size_t dims_;
  std::vector<float> vectors_;
  std::vector<float> weights_;
};

struct Latency {
  std::vector<double> ms;
  double pct(double p) {
    std::sort(ms.begin(), ms.end());
    return ms.empty() ? 0 : ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * ms.size()))];
  }
};

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"RAG ingestion and retrieval benchmark on a generated corpus", "rag_bench"};
  int chunks = 10000;
  int dims = 384;
  int queries = 500;
  std::string dir;
  rag::HnswOptions hnsw;
  app.add_option("--chunks", chunks, "corpus size in chunks (sections)")->check(CLI::Range(8, 10'000'000));
  app.add_option("--dims", dims, "embedding dimensions")->check(CLI::Range(8, 4096));
  app.add_option("--queries", queries, "queries per mode")->check(CLI::Range(10, 100000));
  app.add_option("--dir", dir, "collections directory (default: a fresh temporary one)");
  app.add_option("--m", hnsw.m, "hnsw M");
  app.add_option("--ef-construction", hnsw.ef_construction, "hnsw ef_construction");
  app.add_option("--ef-search", hnsw.ef_search, "hnsw ef at query time");
  CLI11_PARSE(app, argc, argv);
  if (dir.empty()) dir = (fs::temp_directory_path() / fmt::format("rag-bench-{}", ::getpid())).string();
  fs::remove_all(dir);

  const int docs = std::max(1, chunks / kSectionsPerDoc);
  fmt::print("corpus: {} documents x {} sections = {} chunks, {}-dim embeddings, hnsw M={} "
             "efC={} ef={}\n",
             docs, kSectionsPerDoc, docs * kSectionsPerDoc, dims, hnsw.m, hnsw.ef_construction,
             hnsw.ef_search);

  // Corpus: word ids per section, Zipf-like (rank^-1.07) over the vocabulary.
  std::vector<std::string> vocabulary;
  for (int i = 0; i < kVocabulary; ++i) vocabulary.push_back(makeWord(i));
  std::vector<double> weights(kVocabulary);
  for (int i = 0; i < kVocabulary; ++i) weights[static_cast<std::size_t>(i)] = 1.0 / std::pow(i + 1, 1.07);
  std::discrete_distribution<int> zipf(weights.begin(), weights.end());
  std::mt19937_64 rng(7);
  std::vector<std::vector<int>> topics(kTopics);
  std::uniform_int_distribution<int> content_word(kFunctionWords * 2, kVocabulary - 1);
  for (auto& t : topics) {
    for (int i = 0; i < kTopicWords; ++i) t.push_back(content_word(rng));
  }
  std::uniform_int_distribution<int> pick_topic(0, kTopics - 1);
  std::uniform_int_distribution<int> pick_topic_word(0, kTopicWords - 1);
  std::bernoulli_distribution from_topic(0.5);
  std::vector<std::vector<int>> section_words;
  std::vector<std::string> markdown;
  std::size_t corpus_bytes = 0;
  for (int d = 0; d < docs; ++d) {
    std::string md = fmt::format("# Document {}\n\n", d);
    const auto& topic = topics[static_cast<std::size_t>(pick_topic(rng))];
    for (int s = 0; s < kSectionsPerDoc; ++s) {
      std::vector<int> words;
      std::string text;
      for (int w = 0; w < kWordsPerSection; ++w) {
        words.push_back(from_topic(rng) ? topic[static_cast<std::size_t>(pick_topic_word(rng))]
                                        : zipf(rng));
        if (!text.empty()) text += ' ';
        text += vocabulary[static_cast<std::size_t>(words.back())];
      }
      md += fmt::format("## Section {}\n\n{}.\n\n", s, text);
      section_words.push_back(std::move(words));
    }
    corpus_bytes += md.size();
    markdown.push_back(std::move(md));
  }
  const Embedder embedder(kVocabulary, dims);

  // Parse + chunk.
  auto t0 = Clock::now();
  std::vector<std::vector<rag::Chunk>> chunked;
  chunked.reserve(markdown.size());
  for (const std::string& md : markdown) {
    chunked.push_back(rag::chunkDocument(rag::parseMarkdown(md), {256, 32}));
  }
  auto t1 = Clock::now();
  std::size_t total_chunks = 0;
  for (const auto& c : chunked) total_chunks += c.size();
  fmt::print("parse+chunk   {:>10.1f} MB/s  {:>10.0f} docs/s  ({} chunks, {:.1f} MB)\n",
             static_cast<double>(corpus_bytes) / 1e6 / seconds(t0, t1),
             docs / seconds(t0, t1), total_chunks, static_cast<double>(corpus_bytes) / 1e6);

  // Embeddings (not timed: the bench's stand-in for a model).
  std::vector<std::vector<float>> vectors;
  vectors.reserve(section_words.size());
  for (const auto& words : section_words) vectors.push_back(embedder.embed(words));

  auto opened = rag::Index::open(dir, hnsw);
  if (!opened) {
    fmt::print(stderr, "rag_bench: {}\n", opened.error().message());
    return 1;
  }
  auto& index = **opened;
  (void)index.createCollection("bench", false);
  t0 = Clock::now();
  std::size_t v = 0;
  for (int d = 0; d < docs; ++d) {
    rag::DocumentInput in;
    in.source = fmt::format("doc-{}.md", d);
    in.title = fmt::format("Document {}", d);
    in.hash = std::to_string(d);
    in.embedding_model = "bag-of-words";
    // One chunk per section, as the chunker makes them (section texts are under 256 tokens).
    for (int s = 0; s < kSectionsPerDoc; ++s) {
      rag::Chunk c;
      c.section = fmt::format("Document {} > Section {}", d, s);
      std::string text;
      for (int w : section_words[v]) {
        if (!text.empty()) text += ' ';
        text += vocabulary[static_cast<std::size_t>(w)];
      }
      c.text = std::move(text);
      c.tokens = kWordsPerSection * 4 / 3;
      in.chunks.push_back(std::move(c));
      in.vectors.push_back(vectors[v++]);
    }
    auto put = index.putDocument("bench", in);
    if (!put) {
      fmt::print(stderr, "rag_bench: {}\n", put.error().message());
      return 1;
    }
  }
  if (auto s = index.save(); !s.isOk()) fmt::print(stderr, "rag_bench: save: {}\n", s.message());
  t1 = Clock::now();
  fmt::print("index writes  {:>10.1f} MB/s  {:>10.0f} docs/s  {:>10.0f} chunks/s  ({:.1f} s, graph "
             "saved)\n",
             static_cast<double>(corpus_bytes) / 1e6 / seconds(t0, t1), docs / seconds(t0, t1),
             static_cast<double>(v) / seconds(t0, t1), seconds(t0, t1));

  // Queries: 5 words of a random section (lexical text; the same words' embedding for vectors).
  std::uniform_int_distribution<std::size_t> pick_section(0, section_words.size() - 1);
  std::uniform_int_distribution<int> pick_word(0, kWordsPerSection - 1);
  struct Query {
    std::string text;
    std::vector<float> vector;
    std::size_t section;
  };
  std::vector<Query> qs;
  for (int q = 0; q < queries; ++q) {
    Query query;
    query.section = pick_section(rng);
    std::vector<int> words;
    for (int tries = 0; words.size() < 5 && tries < 1000; ++tries) {
      const int w = section_words[query.section][static_cast<std::size_t>(pick_word(rng))];
      if (w < kFunctionWords) continue;
      words.push_back(w);
      if (!query.text.empty()) query.text += ' ';
      query.text += vocabulary[static_cast<std::size_t>(w)];
    }
    query.vector = embedder.embed(words);
    qs.push_back(std::move(query));
  }
  constexpr int kTopK = 10;
  Latency lexical, vector, hybrid;
  int lexical_hits = 0, vector_hits = 0, hybrid_hits = 0;
  auto hit = [&](const std::vector<rag::ScoredChunk>& found, const Query& q) {
    const std::string want = fmt::format("doc-{}.md", q.section / kSectionsPerDoc);
    const std::string section = fmt::format("Section {}", q.section % kSectionsPerDoc);
    for (const auto& c : found) {
      if (c.chunk.source == want && c.chunk.section.ends_with(section)) return true;
    }
    return false;
  };
  for (const Query& q : qs) {
    auto a = Clock::now();
    auto l = index.lexical("bench", q.text, kTopK);
    auto b = Clock::now();
    auto n = index.vector("bench", q.vector, kTopK);
    auto c = Clock::now();
    auto hl = index.lexical("bench", q.text, 40);
    auto hv = index.vector("bench", q.vector, 40);
    std::vector<std::int64_t> li, vi;
    for (const auto& x : *hl) li.push_back(x.chunk.id);
    for (const auto& x : *hv) vi.push_back(x.chunk.id);
    auto fused = rag::reciprocalRankFusion({li, vi});
    auto d = Clock::now();
    lexical.ms.push_back(seconds(a, b) * 1e3);
    vector.ms.push_back(seconds(b, c) * 1e3);
    hybrid.ms.push_back(seconds(c, d) * 1e3);
    lexical_hits += hit(*l, q);
    vector_hits += hit(*n, q);
    std::vector<rag::ScoredChunk> top;
    std::unordered_set<std::int64_t> ids;
    for (std::size_t i = 0; i < fused.size() && i < kTopK; ++i) ids.insert(fused[i].first);
    for (const auto& x : *hl) if (ids.count(x.chunk.id)) top.push_back(x);
    for (const auto& x : *hv) if (ids.count(x.chunk.id)) top.push_back(x);
    hybrid_hits += hit(top, q);
  }
  fmt::print("{:<8} {:>9} {:>9}   source-section recall@10 ({} queries of 5 words)\n", "query",
             "p50 ms", "p99 ms", queries);
  fmt::print("{:<8} {:>9.3f} {:>9.3f}   {:.3f}\n", "lexical", lexical.pct(0.5), lexical.pct(0.99),
             static_cast<double>(lexical_hits) / queries);
  fmt::print("{:<8} {:>9.3f} {:>9.3f}   {:.3f}\n", "vector", vector.pct(0.5), vector.pct(0.99),
             static_cast<double>(vector_hits) / queries);
  fmt::print("{:<8} {:>9.3f} {:>9.3f}   {:.3f}\n", "hybrid", hybrid.pct(0.5), hybrid.pct(0.99),
             static_cast<double>(hybrid_hits) / queries);

  // Graph recall@10 against exact search (brute force over the same vectors, in memory).
  const int recall_queries = std::min(queries, 200);
  double overlap = 0;
  for (int q = 0; q < recall_queries; ++q) {
    const auto& query = qs[static_cast<std::size_t>(q)].vector;
    std::vector<std::pair<float, std::size_t>> scored(vectors.size());
    for (std::size_t i = 0; i < vectors.size(); ++i) {
      float dot = 0;
      for (std::size_t j = 0; j < query.size(); ++j) dot += vectors[i][j] * query[j];
      scored[i] = {-dot, i};
    }
    std::partial_sort(scored.begin(), scored.begin() + kTopK, scored.end());
    std::unordered_set<std::string> exact;
    for (int i = 0; i < kTopK; ++i) {
      const std::size_t s = scored[static_cast<std::size_t>(i)].second;
      exact.insert(fmt::format("doc-{}.md/{}", s / kSectionsPerDoc, s % kSectionsPerDoc));
    }
    auto found = index.vector("bench", query, kTopK);
    int common = 0;
    for (const auto& c : *found) {
      const std::string section(c.chunk.section.substr(c.chunk.section.rfind(' ') + 1));
      common += exact.count(c.chunk.source + "/" + section) > 0;
    }
    overlap += static_cast<double>(common) / kTopK;
  }
  fmt::print("vector recall@10 vs exact search: {:.3f} ({} queries)\n", overlap / recall_queries,
             recall_queries);
  fs::remove_all(dir);
  return 0;
}
