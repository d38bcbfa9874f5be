// RAG with a local embedding model in-process: a tiny GGUF made by the test (random weights, the
// qwen2 tokenizer) serves rag.embedding_model through the engine, on an on-prem provider, so a
// private collection is embedded too. Random weights make embeddings meaningless semantically:
// vector recall is measured with queries equal to the chunk text (equal text, equal vector).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <filesystem>

#include "switchyard/core/log.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/test_client.h"
#include "tests/fakes/test_gateway.h"
#include "tests/fakes/tiny_models.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;

// An embedding model: the vocab file's own template is enough.
std::string makeModel() {
  return fakes::makeTinyModel(fakes::tinyModelSpec(
      (fs::path(::testing::TempDir()) / "rag-local-embed.gguf").string(), false));
}

// Removes a test's directory when the test ends, however it ends.
struct RemovedAtEnd {
  std::string path;
  ~RemovedAtEnd() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

TEST(RagLocalTest, PrivateCollectionEmbeddedByTheLocalModel) {
  (void)setupLogging({"warn", LogFormat::kText, ""});
  const std::string dir = fakes::testTempPath("rag-local");
  fs::remove_all(dir);
  const RemovedAtEnd cleanup{dir};  // after the gateway, which is declared later
  config::Config cfg = fakes::testConfig();
  config::ModelConfig m = fakes::localModel("embedder", makeModel(), 1);
  m.local.embeddings = true;
  cfg.providers = {fakes::localProvider({m})};
  cfg.rag.enabled = true;
  cfg.rag.path = dir;
  cfg.rag.embedding_model = "local/embedder";
  cfg.rag.chunk_tokens = 48;
  cfg.rag.chunk_overlap = 8;
  auto gw = server::Gateway::create(std::move(cfg));
  ASSERT_TRUE(gw) << gw.error().toString();
  (*gw)->start();
  const auto port = (*gw)->port();

  auto call = [&](bhttp::verb method, const std::string& target, const std::string& body) {
    return fakes::request(port, method, target, body);
  };
  ASSERT_EQ(call(bhttp::verb::post, "/v1/collections", R"({"name":"hr","private":true})").status,
            201u);
  // Twelve sections, one fact each.
  const std::vector<std::string> facts = {
      "Level one engineers earn sixty thousand euros.",
      "Level two engineers earn seventy thousand euros.",
      "The bonus is paid every March.",
      "Remote work is allowed three days a week.",
      "Parental leave lasts sixteen weeks.",
      "The pension plan matches five percent.",
      "Laptops are replaced every three years.",
      "Training budget is two thousand euros per year.",
      "Sick days need a note after three days.",
      "Promotions are decided in October.",
      "The office closes on public holidays.",
      "Stock options vest over four years.",
  };
  std::string md = "# Compensation\n\n";
  for (std::size_t i = 0; i < facts.size(); ++i) {
    md += "## Item " + std::to_string(i + 1) + "\n\n" + facts[i] + "\n\n";
  }
  json::object doc{{"source", "hr.md"}, {"format", "markdown"}, {"text", md}};
  auto ingested = call(bhttp::verb::post, "/v1/collections/hr/documents",
                       json::serialize(json::object{{"documents", json::array{doc}}}));
  ASSERT_EQ(ingested.status, 200u) << ingested.body;
  EXPECT_EQ(ingested.json().at("chunks"), static_cast<std::int64_t>(facts.size()));

  auto info = call(bhttp::verb::get, "/v1/collections/hr", "").json();
  EXPECT_EQ(info.at("private"), true);
  EXPECT_EQ(info.at("embedding_model"), "local/embedder");
  EXPECT_GT(info.at("dimensions").as_int64(), 0);

  int vector_top1 = 0;
  int hybrid_top5 = 0;
  for (const std::string& fact : facts) {
    auto v = call(bhttp::verb::post, "/v1/retrieve",
                  json::serialize(json::object{
                      {"collection", "hr"}, {"query", fact}, {"mode", "vector"}, {"top_k", 5}}));
    ASSERT_EQ(v.status, 200u) << v.body;
    if (v.json().at("data").at(0).at("text").as_string() == fact) ++vector_top1;
    auto h = call(bhttp::verb::post, "/v1/retrieve",
                  json::serialize(json::object{{"collection", "hr"}, {"query", fact}, {"top_k", 5}}));
    ASSERT_EQ(h.status, 200u) << h.body;
    const json::value hj = h.json();
    EXPECT_EQ(hj.at("mode"), "hybrid");
    for (const auto& item : hj.at("data").as_array()) {
      if (item.at("text").as_string() == fact) {
        ++hybrid_top5;
        break;
      }
    }
  }
  EXPECT_EQ(vector_top1, static_cast<int>(facts.size()));
  EXPECT_EQ(hybrid_top5, static_cast<int>(facts.size()));
  (*gw)->shutdown();
}

// A reranker GGUF (the tiny qwen3 cross-encoder `models make-tiny --preset reranker` writes:
// rank pooling, a yes/no head) serves POST /v1/rerank and reorders retrieval after fusion. Its
// weights are random, so the test checks the mechanics: the shape, order by the model's own
// scores, top_n, and the errors for models that cannot rerank.
TEST(RagLocalTest, LocalRerankerScoresAndReordersRetrieval) {
  (void)setupLogging({"warn", LogFormat::kText, ""});
  const std::string dir = fakes::testTempPath("rag-rerank");
  fs::remove_all(dir);
  const RemovedAtEnd cleanup{dir};  // after the gateway, which is declared later
  engine::TinyModelSpec rspec = fakes::tinyModelSpec(
      (fs::path(::testing::TempDir()) / "rag-reranker.gguf").string(), false);
  rspec.arch = "qwen3";
  rspec.reranker = true;
  rspec.init_stddev = 0.2f;
  ASSERT_TRUE(engine::makeTinyModel(rspec));

  config::Config cfg = fakes::testConfig();
  config::ModelConfig reranker = fakes::localModel("reranker", rspec.out_path, 1);
  reranker.local.embeddings = true;
  config::ModelConfig embedder = reranker;
  embedder.name = "embedder";
  embedder.local.path = makeModel();
  cfg.providers = {fakes::localProvider({reranker, embedder})};
  cfg.rag.enabled = true;
  cfg.rag.path = dir;
  cfg.rag.collections["kb"].rerank = {"local/reranker", 6, 0};
  auto gw = server::Gateway::create(std::move(cfg));
  ASSERT_TRUE(gw) << gw.error().toString();
  (*gw)->start();
  const auto port = (*gw)->port();
  auto post = [&](const std::string& target, const json::value& body) {
    return fakes::post(port, target, json::serialize(body));
  };

  const json::array docs{"The office is in Lyon.", "Pagers rotate every Monday.",
                         "Revenue doubled in the third quarter.", "The office opens at nine.",
                         "Laptops are replaced every three years."};
  const std::string query = "When does the office open?";
  auto all = post("/v1/rerank", json::object{{"model", "local/reranker"},
                                             {"query", query},
                                             {"documents", docs}});
  ASSERT_EQ(all.status, 200u) << all.body;
  const json::value aj = all.json();
  EXPECT_EQ(aj.at("object"), "list");
  EXPECT_EQ(aj.at("model"), "local/reranker");
  EXPECT_GT(aj.at("usage").at("prompt_tokens").as_int64(), 0);
  const auto& results = aj.at("results").as_array();
  ASSERT_EQ(results.size(), docs.size());
  std::vector<double> by_index(docs.size(), -1);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto index = results[i].at("index").to_number<std::uint64_t>();
    ASSERT_LT(index, docs.size());
    by_index[index] = results[i].at("relevance_score").as_double();
    if (i > 0) {
      EXPECT_GE(results[i - 1].at("relevance_score").as_double(),
                results[i].at("relevance_score").as_double());
    }
    EXPECT_FALSE(results[i].as_object().contains("document"));
  }
  // Each score belongs to its document: in reverse order, each document scores the same.
  json::array reversed(docs.rbegin(), docs.rend());
  auto back =
      post("/v1/rerank",
           json::object{{"model", "local/reranker"}, {"query", query}, {"documents", reversed}});
  ASSERT_EQ(back.status, 200u) << back.body;
  const json::value back_body = back.json();
  for (const auto& r : back_body.at("results").as_array()) {
    const auto index = r.at("index").to_number<std::uint64_t>();
    ASSERT_LT(index, docs.size());
    EXPECT_NEAR(r.at("relevance_score").as_double(), by_index[docs.size() - 1 - index], 1e-5);
  }
  // And it is what the model gives that pair alone, to the precision of llama.cpp's CPU
  // attention: a decode of under 64 tokens accumulates values in F16, a larger one in F32.
  for (std::size_t i = 0; i < docs.size(); ++i) {
    auto one = post("/v1/rerank", json::object{{"model", "local/reranker"},
                                                {"query", query},
                                                {"documents", json::array{docs[i]}}});
    ASSERT_EQ(one.status, 200u) << one.body;
    EXPECT_NEAR(one.json().at("results").at(0).at("relevance_score").as_double(), by_index[i],
                5e-3);
  }
  // top_n and return_documents ({text} documents are accepted too).
  auto top = post("/v1/rerank", json::object{{"model", "local/reranker"},
                                             {"query", query},
                                             {"documents", json::array{json::object{{"text", docs[0]}},
                                                                       docs[1], docs[3]}},
                                             {"top_n", 2},
                                             {"return_documents", true}});
  ASSERT_EQ(top.status, 200u) << top.body;
  const json::value tj = top.json();
  const auto& top_results = tj.at("results").as_array();
  ASSERT_EQ(top_results.size(), 2u);
  const auto best = top_results[0].at("index").to_number<std::uint64_t>();
  EXPECT_EQ(top_results[0].at("document").at("text"),
            json::array({docs[0], docs[1], docs[3]})[best]);

  // Errors: a model that is not a reranker, an unknown model, bad input.
  auto not_rank = post("/v1/rerank", json::object{{"model", "local/embedder"},
                                                  {"query", query},
                                                  {"documents", docs}});
  EXPECT_GE(not_rank.status, 400u);
  EXPECT_LT(not_rank.status, 500u);
  EXPECT_THAT(not_rank.body, ::testing::HasSubstr("not a reranker"));
  auto unknown = post("/v1/rerank", json::object{{"model", "nope"}, {"query", query},
                                                 {"documents", docs}});
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
  auto empty = post("/v1/rerank", json::object{{"model", "local/reranker"}, {"query", query},
                                               {"documents", json::array{}}});
  EXPECT_EQ(empty.status, 400u);
  EXPECT_EQ(empty.json().at("error").at("param"), "documents");

  // Retrieval: the collection's reranker orders the fused candidates by its scores.
  ASSERT_EQ(post("/v1/collections", json::object{{"name", "kb"}}).status, 201u);
  json::array ingest;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    ingest.push_back(json::object{{"source", "d" + std::to_string(i) + ".txt"},
                                  {"text", docs[i]}});
  }
  ASSERT_EQ(post("/v1/collections/kb/documents", json::object{{"documents", ingest}}).status, 200u);
  auto r = post("/v1/retrieve", json::object{{"collection", "kb"},
                                             {"query", "office"},
                                             {"mode", "lexical"},
                                             {"top_k", 1}});
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value rj = r.json();
  EXPECT_EQ(rj.at("reranked_by"), "local/reranker");
  ASSERT_EQ(rj.at("data").as_array().size(), 1u);  // top_k after reranking
  // Both "office" documents were candidates; the kept one is the one the reranker scores higher.
  auto office = post("/v1/rerank", json::object{{"model", "local/reranker"},
                                                {"query", "office"},
                                                {"documents", json::array{docs[0], docs[3]}}});
  ASSERT_EQ(office.status, 200u);
  const auto winner = office.json().at("results").at(0).at("index").to_number<std::uint64_t>();
  EXPECT_EQ(rj.at("data").at(0).at("text"), json::array({docs[0], docs[3]})[winner]);
  EXPECT_NEAR(rj.at("data").at(0).at("score").as_double(),
              office.json().at("results").at(0).at("relevance_score").as_double(), 1e-4);
  // "rerank": false turns it off for one call.
  auto plain = post("/v1/retrieve", json::object{{"collection", "kb"},
                                                 {"query", "office"},
                                                 {"mode", "lexical"},
                                                 {"rerank", false}});
  ASSERT_EQ(plain.status, 200u) << plain.body;
  EXPECT_FALSE(plain.json().as_object().contains("reranked_by"));
  (*gw)->shutdown();
}

}  // namespace
}  // namespace switchyard
