#include "switchyard/routing/task_examples.h"

#include <gtest/gtest.h>

namespace switchyard::routing {
namespace {

// Four examples in 3-D: two "legal" near the x axis, one "code" near y, one "math" on z.
ExampleIndex smallIndex() {
  auto index = ExampleIndex::build(
      {{1, 0.1f, 0}, {0.9f, 0, 0.1f}, {0, 1, 0}, {0, 0, 2}}, {"legal", "legal", "code", "math"});
  EXPECT_TRUE(index) << (index ? "" : index.error().message());
  return std::move(*index);
}

TEST(ExampleIndexTest, NearestExamplesVote) {
  const ExampleIndex index = smallIndex();
  EXPECT_EQ(index.size(), 4u);
  EXPECT_EQ(index.dimensions(), 3u);

  // Closest to the legal examples; the vectors' scale does not matter (cosine).
  std::vector<float> q = {5, 0.5f, 0.2f};
  auto vote = index.nearest(q, 3, 0.5);
  ASSERT_TRUE(vote);
  EXPECT_EQ(vote->task, "legal");
  EXPECT_EQ(vote->votes, 2);
  EXPECT_EQ(vote->k, 3);
  EXPECT_GT(vote->similarity, 0.95);

  q = {0, 0.2f, 3};
  vote = index.nearest(q, 1, 0.5);
  ASSERT_TRUE(vote);
  EXPECT_EQ(vote->task, "math");
  EXPECT_EQ(vote->votes, 1);
}

TEST(ExampleIndexTest, MajorityOfNearNeighboursBeatsOneNearestExample) {
  // The single nearest example is "code", but three almost-as-near "legal" ones outvote it.
  auto index = ExampleIndex::build({{1, 0}, {0.95f, 0.31f}, {0.94f, 0.34f}, {0.93f, 0.37f}},
                                   {"code", "legal", "legal", "legal"});
  ASSERT_TRUE(index);
  std::vector<float> q = {1, 0.05f};
  auto vote = index->nearest(q, 4, 0.0);
  ASSERT_TRUE(vote);
  EXPECT_EQ(vote->task, "legal");
  EXPECT_EQ(vote->votes, 3);
  // With k = 1 the nearest alone decides.
  vote = index->nearest(q, 1, 0.0);
  ASSERT_TRUE(vote);
  EXPECT_EQ(vote->task, "code");
}

TEST(ExampleIndexTest, NoDecisionBelowTheSimilarityFloorOrForWrongInput) {
  const ExampleIndex index = smallIndex();
  std::vector<float> q = {-1, -1, -1};  // opposite to everything
  EXPECT_FALSE(index.nearest(q, 3, 0.1));
  EXPECT_TRUE(index.nearest(q, 3, -1.0));  // a floor of -1 always decides
  std::vector<float> wrong_dims = {1, 0};
  EXPECT_FALSE(index.nearest(wrong_dims, 3, 0.0));
  std::vector<float> zero = {0, 0, 0};
  EXPECT_FALSE(index.nearest(zero, 3, -1.0));
  // k larger than the index: everyone votes.
  q = {1, 1, 1};
  auto vote = index.nearest(q, 50, -1.0);
  ASSERT_TRUE(vote);
  EXPECT_EQ(vote->k, 4);
}

TEST(ExampleIndexTest, BuildRejectsInconsistentInput) {
  EXPECT_FALSE(ExampleIndex::build({}, {}));
  EXPECT_FALSE(ExampleIndex::build({{1, 0}}, {"a", "b"}));
  auto mixed = ExampleIndex::build({{1, 0}, {1, 0, 0}}, {"a", "b"});
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().message().find("differ in size"), std::string::npos);
  auto zero = ExampleIndex::build({{1, 0}, {0, 0}}, {"a", "b"});
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message().find("example 2 ('b') is a zero vector"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::routing
