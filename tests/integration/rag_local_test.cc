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
#include "switchyard/engine/model_maker.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/test_client.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;

std::string makeModel() {
  engine::TinyModelSpec spec;
  spec.vocab_path = std::string(SY_LLAMA_DIR) + "/src/models/ggml-vocab-qwen2.gguf";
  spec.out_path = (fs::path(::testing::TempDir()) / "rag-local-embed.gguf").string();
  auto made = engine::makeTinyModel(spec);
  EXPECT_TRUE(made) << made.error().toString();
  return spec.out_path;
}

TEST(RagLocalTest, PrivateCollectionEmbeddedByTheLocalModel) {
  (void)setupLogging({"warn", LogFormat::kText, ""});
  const std::string dir = (fs::path(::testing::TempDir()) / "rag-local").string();
  fs::remove_all(dir);
  config::Config cfg;
  cfg.source = "<test>";
  cfg.server.host = "127.0.0.1";
  cfg.server.port = 0;
  cfg.server.workers = 1;
  cfg.log.access_log = false;
  config::ProviderConfig p;
  p.name = "local";
  p.kind = "local";
  p.locality = "on_prem";
  p.local.threads = 2;
  config::ModelConfig m;
  m.name = "embedder";
  m.local.path = makeModel();
  m.local.context = 512;
  m.local.parallel = 1;
  m.local.embeddings = true;
  p.models = {m};
  cfg.providers = {p};
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

}  // namespace
}  // namespace switchyard
