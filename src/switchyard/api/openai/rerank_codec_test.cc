#include "switchyard/api/openai/rerank_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace switchyard::api::openai {
namespace {

namespace json = boost::json;

TEST(RerankCodecTest, RequestAsksForEveryScore) {
  RerankRequest r{"bge-reranker", "capital of France", {"Paris is the capital.", "Bananas."}};
  EXPECT_EQ(json::parse(encodeRerankRequest(r)),
            json::parse(R"({"model":"bge-reranker","query":"capital of France",
                            "documents":["Paris is the capital.","Bananas."],"top_n":2})"));
}

TEST(RerankCodecTest, ScoresComeBackInDocumentOrder) {
  // vLLM / Jina / llama-server: sorted by relevance, with usage.
  auto r = decodeRerankResponse(
      R"({"id":"rerank-1","model":"bge","results":[
          {"index":1,"relevance_score":0.9,"document":{"text":"b"}},
          {"index":0,"relevance_score":0.1}],"usage":{"total_tokens":17}})",
      2);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->scores, (std::vector<double>{0.1, 0.9}));
  EXPECT_EQ(r->model, "bge");
  EXPECT_EQ(r->usage.prompt_tokens, 17);
  EXPECT_EQ(r->usage.total_tokens, 17);
  // Hugging Face TEI: a bare array with `score`.
  auto tei = decodeRerankResponse(R"([{"index":0,"score":2.5},{"index":1,"score":-1}])", 2);
  ASSERT_TRUE(tei.has_value());
  EXPECT_EQ(tei->scores, (std::vector<double>{2.5, -1.0}));
}

// Token counts that are not integers (found by tests/fuzz: a double such as 7.5 or 1e300 made
// the throwing conversion end the request) count as absent.
TEST(RerankCodecTest, UsageThatIsNotAnIntegerCountsAsAbsent) {
  auto r = decodeRerankResponse(
      R"({"results":[{"index":0,"relevance_score":1}],"usage":{"prompt_tokens":7.5,"total_tokens":1e300}})",
      1);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->usage.prompt_tokens, 0);
  EXPECT_EQ(r->usage.total_tokens, 0);
  auto whole = decodeRerankResponse(
      R"({"results":[{"index":0,"relevance_score":1}],"usage":{"total_tokens":7.0}})", 1);
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->usage.total_tokens, 7);
}

TEST(RerankCodecTest, IncompleteOrBrokenAnswersAreUpstreamErrors) {
  for (std::string_view body : {
           R"(not json)",
           R"({"results":"no"})",
           R"({"results":[{"index":0,"relevance_score":0.5}]})",  // document 1 has no score
           R"({"results":[{"index":2,"relevance_score":0.5},{"index":0,"relevance_score":1}]})",
           R"({"results":[{"index":0,"relevance_score":0.5},{"index":0,"relevance_score":1}]})",
           R"({"results":[{"index":0},{"index":1,"relevance_score":1}]})",
           // Not an integer an int64 holds (found by tests/fuzz: these threw).
           R"({"results":[{"index":0.5,"relevance_score":0.5},{"index":1,"relevance_score":1}]})",
           R"({"results":[{"index":1e300,"relevance_score":0.5},{"index":1,"relevance_score":1}]})",
       }) {
    auto r = decodeRerankResponse(body, 2);
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code(), ErrorCode::kUpstream);
    EXPECT_EQ(r.error().message().rfind("invalid rerank response: ", 0), 0u) << body;
  }
}

}  // namespace
}  // namespace switchyard::api::openai
