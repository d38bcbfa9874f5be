#include "switchyard/guard/guard_stage.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "switchyard/api/errors.h"

namespace switchyard::guard {
namespace {

using pipeline::RequestContext;
using pipeline::StageInput;

class NoHeaders final : public pipeline::RequestHeaders {
 public:
  std::string_view get(std::string_view) const override { return {}; }
};

api::Message userMessage(std::string text) {
  api::Message m;
  m.role = api::Role::kUser;
  m.content.push_back({});
  m.content.back().text = std::move(text);
  return m;
}

class GuardStageTest : public ::testing::Test {
 protected:
  std::unique_ptr<GuardStage> make(config::GuardPolicy policy, bool scan_output = false) {
    config_.enabled = true;
    config_.policy = std::move(policy);
    config_.scan_output = scan_output;
    auto stage = GuardStage::create(config_, nullptr);
    EXPECT_TRUE(stage) << stage.error().toString();
    return stage ? std::move(*stage) : nullptr;
  }

  Status run(GuardStage& stage, api::ChatRequest& chat) {
    StageInput in{headers_, ctx_, &chat};
    return stage.check(in);
  }

  config::GuardConfig config_;
  NoHeaders headers_;
  RequestContext ctx_;
};

TEST_F(GuardStageTest, RedactRewritesEveryTextOfTheRequest) {
  auto stage = make({{"EMAIL", "redact"}, {"secret", "redact"}});
  api::ChatRequest chat;
  chat.model = "m";
  chat.messages.push_back(userMessage("Mail jane.doe@example.com and jane.doe@example.com"));
  api::Message assistant;
  assistant.role = api::Role::kAssistant;
  assistant.tool_calls.push_back({"c1", "send", R"({"to":"bob@example.org"})"});
  chat.messages.push_back(assistant);
  api::Message tool;
  tool.role = api::Role::kTool;
  tool.content.push_back({});
  tool.content.back().text = "token ghp_" + std::string(36, 'a') + "1";
  chat.messages.push_back(tool);

  ASSERT_TRUE(run(*stage, chat).isOk());
  EXPECT_EQ(chat.messages[0].text(), "Mail [EMAIL_1] and [EMAIL_1]");
  EXPECT_EQ(chat.messages[1].tool_calls[0].arguments, R"({"to":"[EMAIL_2]"})");
  EXPECT_EQ(chat.messages[2].text().find("ghp_"), std::string::npos);
  EXPECT_EQ(ctx_.guard_summary, "EMAIL:redact:3,GITHUB_TOKEN:redact:1");
  EXPECT_EQ(ctx_.output_filter, nullptr);  // redaction is not restored
  ASSERT_EQ(ctx_.response_headers.size(), 1u);
  EXPECT_EQ(ctx_.response_headers[0].first, "x-switchyard-guard");
  EXPECT_EQ(stage->counts().at("EMAIL")[static_cast<int>(Action::kRedact)], 3u);
}

TEST_F(GuardStageTest, MaskRestoresValuesInTheAnswerAcrossSplitDeltas) {
  auto stage = make({{"EMAIL", "mask"}});
  api::ChatRequest chat;
  chat.messages.push_back(userMessage("Write to jane.doe@example.com please"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  EXPECT_EQ(chat.messages[0].text(), "Write to [EMAIL_1] please");
  ASSERT_NE(ctx_.output_filter, nullptr);
  auto& filter = *ctx_.output_filter;
  std::string out;
  for (std::string_view piece : {"Sure, I wrote to [EMA", "IL", "_1", "] and [EMAIL_9]."}) {
    out += filter.write(0, piece);
  }
  out += filter.flush(0);
  EXPECT_EQ(out, "Sure, I wrote to jane.doe@example.com and [EMAIL_9].");
  // Another choice has its own state.
  EXPECT_EQ(filter.write(1, "[EMAIL_1]") + filter.flush(1), "jane.doe@example.com");
}

TEST_F(GuardStageTest, BlockNamesTheTypeNeverTheValue) {
  auto stage = make({{"CREDIT_CARD", "block"}, {"EMAIL", "redact"}});
  api::ChatRequest chat;
  chat.messages.push_back(userMessage("hello"));
  chat.messages.push_back(userMessage("card 4111 1111 1111 1111 exp 12/29"));
  Status s = run(*stage, chat);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(api::httpStatusFor(s), 400u);
  EXPECT_EQ(s.errorType(), "pii_blocked");
  EXPECT_NE(s.message().find("CREDIT_CARD"), std::string::npos);
  EXPECT_NE(s.message().find("messages[1]"), std::string::npos);
  EXPECT_EQ(s.message().find("4111"), std::string::npos);

  auto secrets = make({{"secret", "block"}});
  api::ChatRequest leak;
  leak.messages.push_back(userMessage("key AKIAIOSFODNN7EXAMPLE"));
  Status s2 = run(*secrets, leak);
  EXPECT_EQ(s2.errorType(), "secret_blocked");
  EXPECT_NE(s2.message().find("AWS_ACCESS_KEY"), std::string::npos);
}

TEST_F(GuardStageTest, LocalOnlyHandsTheVerdictToRouting) {
  auto stage = make({{"pii", "local_only"}});
  api::ChatRequest chat;
  chat.messages.push_back(userMessage("IBAN DE89 3704 0044 0532 0130 00"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  EXPECT_TRUE(ctx_.local_only);
  EXPECT_EQ(ctx_.local_only_reason, "guard: IBAN");
  EXPECT_EQ(chat.messages[0].text(), "IBAN DE89 3704 0044 0532 0130 00");  // unchanged
}

TEST_F(GuardStageTest, OverridesByKeyRouteAndTeamMostSpecificFirst) {
  config_.routes["private"] = {{"EMAIL", "allow"}};
  config_.teams["legal"] = {{"default", "block"}};
  config_.keys["ci"] = {{"EMAIL", "mask"}};
  auto stage = make({{"EMAIL", "redact"}});
  auto once = [&](std::string model, std::string key, std::string team) {
    ctx_ = RequestContext{};
    ctx_.key_name = std::move(key);
    ctx_.team = std::move(team);
    api::ChatRequest chat;
    chat.model = std::move(model);
    chat.messages.push_back(userMessage("a@example.com"));
    Status s = run(*stage, chat);
    return s.isOk() ? chat.messages[0].text() : s.errorType();
  };
  EXPECT_EQ(once("gpt", "", ""), "[EMAIL_1]");                    // base: redact
  EXPECT_EQ(once("private", "", ""), "a@example.com");            // route: allow
  EXPECT_EQ(once("gpt", "", "legal"), "pii_blocked");             // team default: block
  EXPECT_EQ(once("private", "", "legal"), "a@example.com");       // route beats team
  EXPECT_EQ(once("private", "ci", "legal"), "[EMAIL_1]");         // key beats route
  EXPECT_NE(ctx_.output_filter, nullptr);                         // ... and masks
}

TEST_F(GuardStageTest, CompletionPromptsAndEmbeddingInputsAreScanned) {
  auto stage = make({{"EMAIL", "redact"}});
  api::CompletionRequest completion;
  completion.prompt = boost::json::parse(R"(["to x@example.com", [1, 2], "none"])");
  StageInput in{headers_, ctx_, nullptr, &completion};
  ASSERT_TRUE(stage->check(in).isOk());
  EXPECT_EQ(completion.prompt, boost::json::parse(R"(["to [EMAIL_1]", [1, 2], "none"])"));

  api::CompletionRequest single;
  single.prompt = "y@example.com";
  StageInput in2{headers_, ctx_, nullptr, &single};
  ASSERT_TRUE(stage->check(in2).isOk());
  EXPECT_EQ(single.prompt, boost::json::value("[EMAIL_1]"));

  api::EmbeddingRequest embedding;
  embedding.texts = {"plain", "z@example.com"};
  StageInput in3{headers_, ctx_, nullptr, nullptr, &embedding};
  ASSERT_TRUE(stage->check(in3).isOk());
  EXPECT_EQ(embedding.texts[1], "[EMAIL_1]");
}

TEST_F(GuardStageTest, OutputScanRedactsEntitiesSplitAcrossChunksAndStillRestoresMasks) {
  auto stage = make({{"EMAIL", "mask"}, {"CREDIT_CARD", "redact"}}, /*scan_output=*/true);
  api::ChatRequest chat;
  chat.messages.push_back(userMessage("me: jane@example.com"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  ASSERT_NE(ctx_.output_filter, nullptr);
  auto& filter = *ctx_.output_filter;
  std::string out;
  for (std::string_view piece : {"Card 4111 11", "11 1111 1", "111 for [EMAIL", "_1], ",
                                 "and other@exa", "mple.com. Done"}) {
    out += filter.write(0, piece);
  }
  out += filter.flush(0);
  EXPECT_EQ(out, "Card [CREDIT_CARD] for jane@example.com, and [EMAIL]. Done");
}

// The answer is redacted by the same effective policy as the request: key, route, team, base.
TEST_F(GuardStageTest, OutputScanUsesTheRequestsEffectivePolicy) {
  config_.routes["private"] = {{"EMAIL", "redact"}};
  config_.keys["batch"] = {{"default", "allow"}};
  config_.teams["legal"] = {{"CREDIT_CARD", "block"}};
  auto stage = make({{"CREDIT_CARD", "redact"}}, /*scan_output=*/true);
  const std::string answer = "Mail jane@example.com, card 4111 1111 1111 1111.";
  auto answerFor = [&](std::string model, std::string key, std::string team) -> std::string {
    ctx_ = RequestContext();
    ctx_.key_name = std::move(key);
    ctx_.team = std::move(team);
    api::ChatRequest chat;
    chat.model = std::move(model);
    chat.messages.push_back(userMessage("hello"));
    EXPECT_TRUE(run(*stage, chat).isOk());
    if (ctx_.output_filter == nullptr) return answer;  // not scanned at all
    std::string out = ctx_.output_filter->write(0, answer);
    return out + ctx_.output_filter->flush(0);
  };
  // Base policy only: the card, not the e-mail.
  EXPECT_EQ(answerFor("gpt-4o", "", ""), "Mail jane@example.com, card [CREDIT_CARD].");
  // The route adds EMAIL (and falls through to the base for the card).
  EXPECT_EQ(answerFor("private", "", ""), "Mail [EMAIL], card [CREDIT_CARD].");
  // The key's default: allow exempts everything, even on the private route.
  EXPECT_EQ(answerFor("private", "batch", ""), answer);
  EXPECT_EQ(ctx_.output_filter, nullptr);
  // A team's block on the card is not allow: the card is redacted from answers too.
  EXPECT_EQ(answerFor("gpt-4o", "", "legal"), "Mail jane@example.com, card [CREDIT_CARD].");
}

// Before: only types with a base action were scanned in answers. A type only a key acts on must
// be found too.
TEST_F(GuardStageTest, OutputScanFindsTypesOnlyAnOverrideActsOn) {
  config_.keys["strict"] = {{"pii", "redact"}};
  auto stage = make({}, /*scan_output=*/true);
  ctx_.key_name = "strict";
  api::ChatRequest chat;
  chat.messages.push_back(userMessage("hello"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  ASSERT_NE(ctx_.output_filter, nullptr);
  std::string out = ctx_.output_filter->write(0, "call +44 20 7946 0958 now");
  out += ctx_.output_filter->flush(0);
  EXPECT_EQ(out, "call [PHONE] now");
}

TEST_F(GuardStageTest, ReloadSwapsPoliciesAndDetectorsInFlightRequestsKeepTheirs) {
  auto stage = make({{"EMAIL", "mask"}}, /*scan_output=*/false);
  api::ChatRequest chat;
  chat.messages.push_back(userMessage("me: jane@example.com"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  auto in_flight = ctx_.output_filter;  // a request admitted before the reload
  ASSERT_NE(in_flight, nullptr);

  config::GuardConfig next = config_;
  next.policy = {{"EMAIL", "block"}, {"PROJECT", "redact"}};
  config::GuardDetectorConfig codenames;
  codenames.name = "PROJECT";
  codenames.terms = {"Nightjar"};
  next.detectors = {codenames};
  ASSERT_TRUE(stage->reload(next).isOk());

  ctx_ = RequestContext();
  api::ChatRequest again;
  again.messages.push_back(userMessage("me: jane@example.com"));
  Status blocked = run(*stage, again);
  EXPECT_EQ(blocked.errorType(), "pii_blocked");
  ctx_ = RequestContext();
  api::ChatRequest project;
  project.messages.push_back(userMessage("about Nightjar"));
  ASSERT_TRUE(run(*stage, project).isOk());
  EXPECT_EQ(project.messages[0].text(), "about [PROJECT_1]");
  // The earlier request still restores its masked value with its own settings.
  std::string restored = in_flight->write(0, "to [EMAIL_1]");
  restored += in_flight->flush(0);
  EXPECT_EQ(restored, "to jane@example.com");

  // A bad config keeps the current settings.
  config::GuardConfig bad = next;
  bad.detectors[0].terms.clear();
  bad.detectors[0].regex = "(unclosed";
  EXPECT_FALSE(stage->reload(bad).isOk());
  ctx_ = RequestContext();
  api::ChatRequest still;
  still.messages.push_back(userMessage("about Nightjar"));
  ASSERT_TRUE(run(*stage, still).isOk());
  EXPECT_EQ(still.messages[0].text(), "about [PROJECT_1]");

  // Without the section the guard lets everything pass.
  ASSERT_TRUE(stage->reload(config::GuardConfig{}).isOk());
  ctx_ = RequestContext();
  api::ChatRequest off;
  off.messages.push_back(userMessage("me: jane@example.com"));
  ASSERT_TRUE(run(*stage, off).isOk());
  EXPECT_EQ(off.messages[0].text(), "me: jane@example.com");
  EXPECT_TRUE(ctx_.guard_summary.empty());
}

TEST_F(GuardStageTest, CustomDetectorsAndAllowLists) {
  config::GuardDetectorConfig employee;
  employee.name = "EMPLOYEE_ID";
  employee.regex = R"(\bE-[0-9]{6}\b)";
  config::GuardDetectorConfig codenames;
  codenames.name = "PROJECT";
  codenames.terms = {"Bluebird", "Nightjar"};
  config_.detectors = {employee, codenames};
  config_.allow_values = {"support@example.com"};
  auto stage = make({{"custom", "redact"}, {"EMAIL", "redact"}});
  api::ChatRequest chat;
  chat.messages.push_back(
      userMessage("E-123456 works on bluebird; ask support@example.com"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  EXPECT_EQ(chat.messages[0].text(), "[EMPLOYEE_ID_1] works on [PROJECT_1]; ask support@example.com");
}

TEST_F(GuardStageTest, NothingFoundChangesNothing) {
  auto stage = make({{"default", "block"}});
  api::ChatRequest chat;
  chat.messages.push_back(userMessage("What is the capital of France?"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  EXPECT_TRUE(ctx_.guard_summary.empty());
  EXPECT_TRUE(ctx_.response_headers.empty());
  EXPECT_EQ(ctx_.output_filter, nullptr);
}

// Retrieved RAG chunks are added after the guard ran: the request's ContentGuard scans them with
// the same policy, numbering placeholders on from the client's text.
TEST_F(GuardStageTest, AddedContentIsScannedUnderTheRequestsPolicy) {
  auto stage = make({{"EMAIL", "redact"}, {"PHONE", "mask"}, {"secret", "block"},
                     {"IBAN", "local_only"}});
  stage->guardAddedContent(true);
  api::ChatRequest chat;
  chat.model = "m";
  chat.messages.push_back(userMessage("Ask jane.doe@example.com about the handbook"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  EXPECT_EQ(chat.messages[0].text(), "Ask [EMAIL_1] about the handbook");
  ASSERT_NE(ctx_.content_guard, nullptr);
  EXPECT_EQ(ctx_.output_filter, nullptr);

  std::vector<std::string> chunks = {
      "Contact jane.doe@example.com or bob@example.org.",
      "Ops key AKIAIOSFODNN7EXAMPLE lives here.",
      "Call +1 415 555 0134 for payroll.",
      "Refunds go to DE89 3704 0044 0532 0130 00.",
      "Nothing sensitive here."};
  const std::vector<bool> withheld = ctx_.content_guard->scan(ctx_, chunks, "rag:handbook");
  EXPECT_EQ(withheld, (std::vector<bool>{false, true, false, false, false}));
  // The same address keeps its placeholder; a new one gets the next number.
  EXPECT_EQ(chunks[0], "Contact [EMAIL_1] or [EMAIL_2].");
  EXPECT_EQ(chunks[2], "Call [PHONE_1] for payroll.");
  EXPECT_EQ(chunks[3], "Refunds go to DE89 3704 0044 0532 0130 00.");
  EXPECT_EQ(chunks[4], "Nothing sensitive here.");
  EXPECT_TRUE(ctx_.local_only);
  EXPECT_EQ(ctx_.local_only_reason, "guard: IBAN");
  EXPECT_EQ(ctx_.guard_summary,
            "EMAIL:redact:1,rag:handbook:AWS_ACCESS_KEY:block:1,rag:handbook:EMAIL:redact:2,"
            "rag:handbook:IBAN:local_only:1,rag:handbook:PHONE:mask:1");
  ASSERT_EQ(ctx_.response_headers.size(), 1u);
  EXPECT_EQ(ctx_.response_headers[0].second, ctx_.guard_summary);
  // The masked phone number comes back in the answer.
  ASSERT_NE(ctx_.output_filter, nullptr);
  EXPECT_EQ(ctx_.output_filter->write(0, "Dial [PHONE_1].") + ctx_.output_filter->flush(0),
            "Dial +1 415 555 0134.");
  EXPECT_EQ(stage->counts().at("EMAIL")[static_cast<int>(Action::kRedact)], 3u);
  EXPECT_EQ(stage->counts().at("AWS_ACCESS_KEY")[static_cast<int>(Action::kBlock)], 1u);
}

TEST_F(GuardStageTest, AddedContentGuardOnlyWhereAStageAddsContent) {
  auto stage = make({{"EMAIL", "redact"}});
  api::ChatRequest chat;
  chat.messages.push_back(userMessage("What is the capital of France?"));
  ASSERT_TRUE(run(*stage, chat).isOk());
  EXPECT_EQ(ctx_.content_guard, nullptr);  // no RAG configured: nothing to keep per request

  stage->guardAddedContent(true);
  RequestContext ctx;
  StageInput in{headers_, ctx, &chat};
  ASSERT_TRUE(stage->check(in).isOk());
  ASSERT_NE(ctx.content_guard, nullptr);
  std::vector<std::string> clean = {"Paris is the capital."};
  EXPECT_EQ(ctx.content_guard->scan(ctx, clean, "rag:geo"), std::vector<bool>{false});
  EXPECT_TRUE(ctx.guard_summary.empty());
  EXPECT_TRUE(ctx.response_headers.empty());
}

}  // namespace
}  // namespace switchyard::guard
