#include "switchyard/telemetry/feedback.h"

#include <gtest/gtest.h>

namespace switchyard::telemetry {
namespace {

TEST(FeedbackTest, ParsesScoreLabelAndComment) {
  auto f = parseFeedback(R"({"request_id":"abc","score":0.5,"label":"good","comment":"ok"})");
  ASSERT_TRUE(f) << f.error().toString();
  EXPECT_EQ(f->request_id, "abc");
  EXPECT_DOUBLE_EQ(*f->score, 0.5);
  EXPECT_EQ(f->label, "good");
  EXPECT_EQ(f->comment, "ok");
  EXPECT_GT(f->ts_ms, 0);
  auto label_only = parseFeedback(R"({"request_id":"abc","label":"bad"})");
  ASSERT_TRUE(label_only);
  EXPECT_FALSE(label_only->score.has_value());
}

TEST(FeedbackTest, RejectsBadInputNamingTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({"score":1})", "request_id"},
      {R"({"request_id":"a"})", "score"},
      {R"({"request_id":"a","score":"high"})", "score"},
      {R"({"request_id":7,"score":1})", "request_id"},
      {R"({"request_id":"a","label":5})", "label"},
      {R"({"request_id":"a","score":1,"rating":2})", "rating"},
      {R"([1])", ""},
      {R"({"request_id":)", ""},
  };
  for (const Case& c : cases) {
    auto f = parseFeedback(c.body);
    ASSERT_FALSE(f) << c.body;
    EXPECT_EQ(f.error().code(), ErrorCode::kInvalidArgument) << c.body;
    EXPECT_EQ(f.error().param(), c.param) << c.body;
  }
  EXPECT_FALSE(parseFeedback(R"({"request_id":")" + std::string(200, 'x') + R"(","score":1})"));
}

}  // namespace
}  // namespace switchyard::telemetry
