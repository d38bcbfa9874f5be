#include "switchyard/rag/index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

namespace switchyard::rag {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string freshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("rag-index-" + name);
  fs::remove_all(dir);
  return dir.string();
}

std::unique_ptr<Index> openIndex(const std::string& dir) {
  auto index = Index::open(dir);
  EXPECT_TRUE(index) << index.error().toString();
  return index ? std::move(*index) : nullptr;
}

DocumentInput doc(std::string source, std::vector<std::string> texts, std::string hash = "h1") {
  DocumentInput d;
  d.source = std::move(source);
  d.title = "Title of " + d.source;
  d.hash = std::move(hash);
  int i = 0;
  for (auto& t : texts) d.chunks.push_back({std::move(t), "Section " + std::to_string(i++), 0, 3});
  return d;
}

std::vector<float> unit(std::vector<float> v) {
  double n = 0;
  for (float x : v) n += x * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
  return v;
}

std::vector<float> randomUnit(std::mt19937& rng, int dims) {
  std::normal_distribution<float> d;
  std::vector<float> v(static_cast<std::size_t>(dims));
  for (float& x : v) x = d(rng);
  return unit(v);
}

TEST(IndexTest, CollectionNames) {
  EXPECT_TRUE(validCollectionName("handbook"));
  EXPECT_TRUE(validCollectionName("team-a.docs_v2"));
  EXPECT_FALSE(validCollectionName(""));
  EXPECT_FALSE(validCollectionName(".hidden"));
  EXPECT_FALSE(validCollectionName("../etc"));
  EXPECT_FALSE(validCollectionName("has space"));
  EXPECT_FALSE(validCollectionName(std::string(65, 'a')));
}

TEST(IndexTest, FtsQueryQuotesWordsSoOperatorsAreText) {
  EXPECT_EQ(Index::ftsQuery("Where is the NOT* office?"),
            R"("Where" OR "is" OR "the" OR "NOT" OR "office")");
  EXPECT_EQ(Index::ftsQuery("\"quoted\" (x) AND y-z"), R"("quoted" OR "x" OR "AND" OR "y" OR "z")");
  EXPECT_EQ(Index::ftsQuery("  ?! "), "");
}

TEST(IndexTest, CreateListDeleteCollections) {
  auto index = openIndex(freshDir("crud"));
  ASSERT_TRUE(index);
  ASSERT_TRUE(index->createCollection("b", false));
  auto a = index->createCollection("a", true);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_private);
  auto dup = index->createCollection("a", false);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().httpStatus(), 409);
  EXPECT_FALSE(index->createCollection("bad name", false));
  auto list = index->collections();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ((*list)[1].name, "b");
  // ensureCollection raises privacy but never lowers it.
  EXPECT_TRUE(index->ensureCollection("b", true)->is_private);
  EXPECT_TRUE(index->ensureCollection("b", false)->is_private);
  EXPECT_TRUE(index->deleteCollection("a").isOk());
  EXPECT_EQ(index->deleteCollection("a").code(), ErrorCode::kNotFound);
  EXPECT_EQ(index->collection("a").error().code(), ErrorCode::kNotFound);
}

TEST(IndexTest, LexicalSearchRanksAndReplacesDocuments) {
  auto index = openIndex(freshDir("lexical"));
  ASSERT_TRUE(index->createCollection("docs", false));
  ASSERT_TRUE(index->createCollection("other", false));
  ASSERT_TRUE(index->putDocument(
      "docs", doc("a.md", {"The office is in Lyon near the river.", "Parking is free."})));
  ASSERT_TRUE(index->putDocument("docs", doc("b.md", {"Lunch is served at noon."})));
  ASSERT_TRUE(index->putDocument("other", doc("c.md", {"The Lyon office of the other team."})));

  auto hits = index->lexical("docs", "Where is the office?", 5);
  ASSERT_TRUE(hits) << hits.error().toString();
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().chunk.source, "a.md");
  EXPECT_EQ(hits->front().chunk.text, "The office is in Lyon near the river.");
  EXPECT_EQ(hits->front().chunk.section, "Section 0");
  EXPECT_EQ(hits->front().chunk.title, "Title of a.md");
  EXPECT_GT(hits->front().score, 0);
  for (const auto& h : *hits) EXPECT_NE(h.chunk.source, "c.md");  // other collection

  // Stemming: "served" matches "serving".
  auto lunch = index->lexical("docs", "serving lunch", 5);
  ASSERT_TRUE(lunch);
  ASSERT_EQ(lunch->size(), 1u);

  // Replacing a.md removes its old chunks from every index.
  EXPECT_EQ(*index->documentHash("docs", "a.md"), std::optional<std::string>("h1"));
  ASSERT_TRUE(index->putDocument("docs", doc("a.md", {"The office moved to Paris."}, "h2")));
  EXPECT_EQ(*index->documentHash("docs", "a.md"), std::optional<std::string>("h2"));
  auto moved = index->lexical("docs", "Lyon", 5);
  ASSERT_TRUE(moved);
  EXPECT_TRUE(moved->empty());
  EXPECT_EQ(index->collection("docs")->chunks, 2);
  EXPECT_EQ(index->collection("docs")->documents, 2);

  ASSERT_TRUE(index->deleteDocument("docs", "b.md").isOk());
  EXPECT_TRUE(index->lexical("docs", "lunch", 5)->empty());
  EXPECT_EQ(*index->documentHash("docs", "b.md"), std::nullopt);
  EXPECT_EQ(*index->sources("docs"), (std::vector<std::string>{"a.md"}));
}

TEST(IndexTest, VectorSearchPersistsAndRebuilds) {
  const std::string dir = freshDir("vector");
  std::mt19937 rng(7);
  constexpr int kDims = 16;
  std::vector<std::vector<float>> vectors;
  {
    auto index = openIndex(dir);
    ASSERT_TRUE(index->createCollection("v", false));
    for (int d = 0; d < 20; ++d) {
      DocumentInput in = doc("d" + std::to_string(d), {"chunk a of " + std::to_string(d),
                                                       "chunk b of " + std::to_string(d)});
      in.embedding_model = "emb";
      for (int c = 0; c < 2; ++c) {
        in.vectors.push_back(randomUnit(rng, kDims));
        vectors.push_back(in.vectors.back());
      }
      ASSERT_TRUE(index->putDocument("v", in));
    }
    auto info = index->collection("v");
    EXPECT_EQ(info->dims, kDims);
    EXPECT_EQ(info->embedding_model, "emb");
    auto hits = index->vector("v", vectors[13], 3);
    ASSERT_TRUE(hits) << hits.error().toString();
    ASSERT_EQ(hits->size(), 3u);
    EXPECT_EQ(hits->front().chunk.text, "chunk b of 6");  // vectors[13] = doc 6, chunk 1
    EXPECT_NEAR(hits->front().score, 1.0, 1e-5);

    // Another model's vectors do not mix in.
    DocumentInput other = doc("x", {"x"});
    other.embedding_model = "emb";
    other.vectors = {randomUnit(rng, 8)};
    auto refused = index->putDocument("v", other);
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message(), HasSubstr("16-dimensional embeddings of model 'emb'"));
  }
  EXPECT_TRUE(fs::exists(fs::path(dir) / "v.hnsw"));
  {
    auto index = openIndex(dir);  // loads the saved graph
    auto hits = index->vector("v", vectors[0], 1);
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->front().chunk.text, "chunk a of 0");
  }
  fs::remove(fs::path(dir) / "v.hnsw.gen");  // as after a crash before the save: rebuilt
  {
    auto index = openIndex(dir);
    auto hits = index->vector("v", vectors[39], 1);
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->front().chunk.text, "chunk b of 19");
    // Replaced documents leave the graph.
    DocumentInput in = doc("d19", {"replacement"}, "h2");
    in.embedding_model = "emb";
    in.vectors = {vectors[39]};
    ASSERT_TRUE(index->putDocument("v", in));
    hits = index->vector("v", vectors[39], 2);
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->front().chunk.text, "replacement");
    for (const auto& h : *hits) EXPECT_NE(h.chunk.text, "chunk b of 19");
    auto exact = index->exactNeighbours("v", vectors[5], 1);
    ASSERT_TRUE(exact);
    ASSERT_EQ(exact->size(), 1u);
  }
}

// Readers never see half a document: every document has kChunks chunks that all contain the
// marker, and the writer keeps replacing documents while readers count chunks per source.
TEST(IndexTest, QueriesDuringIngestSeeWholeDocuments) {
  auto index = openIndex(freshDir("concurrent"));
  ASSERT_TRUE(index->createCollection("c", false));
  constexpr int kChunks = 5;
  constexpr int kDocs = 8;
  std::mt19937 rng(1);
  auto make = [&](int d, int version) {
    std::vector<std::string> texts;
    for (int c = 0; c < kChunks; ++c) {
      texts.push_back("marker doc" + std::to_string(d) + " version" + std::to_string(version) +
                      " part" + std::to_string(c));
    }
    DocumentInput in = doc("doc" + std::to_string(d), texts, std::to_string(version));
    in.embedding_model = "emb";
    for (int c = 0; c < kChunks; ++c) in.vectors.push_back(randomUnit(rng, 8));
    return in;
  };
  for (int d = 0; d < kDocs; ++d) ASSERT_TRUE(index->putDocument("c", make(d, 0)));

  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::atomic<int> queries{0};
  std::thread reader([&] {
    std::mt19937 r(2);
    while (!stop) {
      auto hits = index->lexical("c", "marker", 1000);
      if (!hits) {
        ++torn;
        continue;
      }
      std::map<std::string, int> per_source;
      for (const auto& h : *hits) ++per_source[h.chunk.source];
      for (const auto& [source, n] : per_source) {
        if (n != kChunks) ++torn;
      }
      if (static_cast<int>(per_source.size()) != kDocs) ++torn;
      auto near = index->vector("c", randomUnit(r, 8), 10);
      if (!near) ++torn;
      ++queries;
    }
  });
  for (int version = 1; version <= 15; ++version) {
    for (int d = 0; d < kDocs; ++d) ASSERT_TRUE(index->putDocument("c", make(d, version)));
  }
  stop = true;
  reader.join();
  EXPECT_GT(queries.load(), 0);
  EXPECT_EQ(torn.load(), 0);
}

// `switchyard ingest` writes while a gateway serves the same directory: the gateway's graph
// follows the rows (another Index on the same directory stands in for the other process).
TEST(IndexTest, AnotherWriterOnTheSameDirectoryIsSeen) {
  const std::string dir = freshDir("two-writers");
  auto gateway = openIndex(dir);
  auto cli = openIndex(dir);
  ASSERT_TRUE(gateway->createCollection("shared", false));
  std::mt19937 rng(3);
  DocumentInput first = doc("one", {"first document"});
  first.embedding_model = "emb";
  first.vectors = {randomUnit(rng, 8)};
  ASSERT_TRUE(gateway->putDocument("shared", first));
  ASSERT_EQ(gateway->vector("shared", first.vectors[0], 5)->size(), 1u);

  DocumentInput second = doc("two", {"second document"});
  second.embedding_model = "emb";
  second.vectors = {randomUnit(rng, 8)};
  ASSERT_TRUE(cli->putDocument("shared", second));
  ASSERT_TRUE(cli->save().isOk());
  auto hits = gateway->vector("shared", second.vectors[0], 5);
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ(hits->front().chunk.text, "second document");
  EXPECT_EQ(gateway->lexical("shared", "second", 5)->size(), 1u);
}

}  // namespace
}  // namespace switchyard::rag
