#include "switchyard/rag/rag_stage.h"

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace switchyard::rag {
namespace {

using ::testing::HasSubstr;

TEST(RagStageTest, HeaderForms) {
  auto a = parseRagHeader("handbook");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->collection, "handbook");
  EXPECT_EQ(a->top_k, 0);
  EXPECT_FALSE(a->mode);
  auto b = parseRagHeader(" handbook ; top_k=3; mode=lexical ");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->collection, "handbook");
  EXPECT_EQ(b->top_k, 3);
  EXPECT_EQ(b->mode, Mode::kLexical);
  EXPECT_THAT(parseRagHeader("h;top_k=0").error().message(), HasSubstr("top_k must be"));
  EXPECT_THAT(parseRagHeader("h;top_k=3x").error().message(), HasSubstr("top_k must be"));
  EXPECT_THAT(parseRagHeader("h;mode=fuzzy").error().message(), HasSubstr("unknown retrieval mode"));
  EXPECT_THAT(parseRagHeader("h;k=1").error().message(), HasSubstr("unknown parameter 'k'"));
  EXPECT_THAT(parseRagHeader(";top_k=1").error().message(), HasSubstr("expected COLLECTION"));
  EXPECT_EQ(parseRagHeader("").error().param(), "x-switchyard-rag");
}

TEST(RagStageTest, CitationsAndContext) {
  ChunkRecord a;
  a.source = "/docs/handbook.md";
  a.title = "Handbook";
  a.section = "Setup > Linux";
  a.text = "Use apt.";
  ChunkRecord b;
  b.source = "report, final.pdf";
  b.page = 3;
  b.text = "Revenue grew.";
  EXPECT_EQ(citationFor(a), "/docs/handbook.md#Setup > Linux");
  EXPECT_EQ(citationFor(b), "report, final.pdf#page=3");
  EXPECT_EQ(citationsHeader({citationFor(a), citationFor(b), "caf\xC3\xA9;%"}),
            "[1] /docs/handbook.md#Setup > Linux, [2] report%2C final.pdf#page=3, "
            "[3] caf%C3%A9%3B%25");
  const std::string context = renderContext({{a, 1.0, 1, 0}, {b, 0.5, 2, 0}});
  EXPECT_THAT(context, HasSubstr("[1] Handbook - Setup > Linux\nUse apt.\n"));
  EXPECT_THAT(context, HasSubstr("[2] report, final.pdf (page 3)\nRevenue grew.\n"));
  EXPECT_THAT(context, HasSubstr("cite them by number"));
}

TEST(RagStageTest, CitationsJsonNamesEveryChunk) {
  ChunkRecord a;
  a.id = 17;
  a.source = "/docs/h\"andbook.md";
  a.title = "Handbook";
  a.section = "Office";
  ChunkRecord b;
  b.id = 4;
  b.source = "r.pdf";
  b.page = 3;
  const auto v = boost::json::parse(citationsJson("hb", {{a, 0.5, 1, 2}, {b, 0.25, 2, 0}}));
  ASSERT_TRUE(v.is_array());
  ASSERT_EQ(v.as_array().size(), 2u);
  const auto& first = v.as_array()[0].as_object();
  EXPECT_EQ(first.at("index"), 1);
  EXPECT_EQ(first.at("collection"), "hb");
  EXPECT_EQ(first.at("source"), "/docs/h\"andbook.md");
  EXPECT_EQ(first.at("title"), "Handbook");
  EXPECT_EQ(first.at("section"), "Office");
  EXPECT_EQ(first.at("page"), 0);
  EXPECT_EQ(first.at("chunk_id"), 17);
  EXPECT_DOUBLE_EQ(first.at("score").as_double(), 0.5);
  EXPECT_EQ(v.as_array()[1].at("index"), 2);
  EXPECT_EQ(v.as_array()[1].at("page"), 3);
  EXPECT_EQ(citationsJson("hb", {}), "[]");
}

TEST(RagStageTest, ReciprocalRankFusion) {
  auto fused = reciprocalRankFusion({{1, 2, 3}, {3, 1, 4}}, 60);
  ASSERT_EQ(fused.size(), 4u);
  EXPECT_EQ(fused[0].first, 1);  // ranks 1 and 2
  EXPECT_EQ(fused[1].first, 3);  // ranks 3 and 1
  EXPECT_NEAR(fused[0].second, 1.0 / 61 + 1.0 / 62, 1e-12);
  EXPECT_NEAR(fused[1].second, 1.0 / 63 + 1.0 / 61, 1e-12);
  EXPECT_EQ(fused[2].first, 2);
  EXPECT_EQ(fused[3].first, 4);
}

TEST(RagStageTest, DefaultDirSitsBesideTheStore) {
  EXPECT_EQ(defaultRagDir("sqlite://data/switchyard.db"), "data/switchyard-rag");
  EXPECT_EQ(defaultRagDir("sqlite://switchyard.db"), "switchyard-rag");
  EXPECT_EQ(defaultRagDir("postgres://db/x"), "switchyard-rag");
}

}  // namespace
}  // namespace switchyard::rag
