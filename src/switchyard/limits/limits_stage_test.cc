#include "switchyard/limits/limits_stage.h"

#include <gtest/gtest.h>

#include "switchyard/api/errors.h"

namespace switchyard::limits {
namespace {

using std::chrono::seconds;

class NoHeaders final : public pipeline::RequestHeaders {
 public:
  std::string_view get(std::string_view) const override { return {}; }
};

// $1 per 1000 tokens, prompt and output alike.
class FlatPricing final : public pipeline::Pricing {
 public:
  double cost(std::string_view, std::string_view, const api::Usage& u) const override {
    return static_cast<double>(u.prompt_tokens + u.completion_tokens) / 1000.0;
  }
  double estimate(std::string_view, std::string_view, std::int64_t p,
                  std::int64_t o) const override {
    return static_cast<double>(p + o) / 1000.0;
  }
  double maxEstimate(std::int64_t p, std::int64_t o) const override {
    return static_cast<double>(p + o) / 1000.0;
  }
};

std::string header(const pipeline::RequestContext& ctx, std::string_view name) {
  for (const auto& [k, v] : ctx.response_headers) {
    if (k == name) return v;
  }
  return "";
}

class LimitsStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::openDatabase("sqlite::memory:");
    ASSERT_TRUE(db);
    db_ = std::move(*db);
    keys_store_ = std::move(*auth::KeyStore::open(*db_));
    keys_ = std::move(*auth::KeyCache::create(*keys_store_, std::chrono::milliseconds(0)));
    budgets_ = std::move(*BudgetTracker::open(nullptr));
  }

  std::string createKey(auth::KeySpec spec) {
    auto issued = keys_->create(spec);
    EXPECT_TRUE(issued) << issued.error().toString();
    return issued->record.id;
  }

  // One chat request of `chars` characters for `key_id`, admitted at t0 + `at`.
  Status request(LimitsStage& stage, std::string key_id, std::string team, std::size_t chars,
                 seconds at, pipeline::RequestContext* out = nullptr,
                 std::optional<std::int64_t> max_tokens = std::nullopt) {
    pipeline::RequestContext ctx;
    ctx.key_id = std::move(key_id);
    ctx.team = std::move(team);
    api::ChatRequest chat;
    chat.max_tokens = max_tokens;
    api::Message m;
    m.content.push_back({});
    m.content.back().text = std::string(chars, 'x');
    chat.messages.push_back(m);
    NoHeaders headers;
    pipeline::StageInput in{headers, ctx, &chat};
    Status s = stage.check(in, t0_ + at, wall_);
    if (out != nullptr) *out = std::move(ctx);
    return s;
  }

  RateLimiter::Clock::time_point t0_ = RateLimiter::Clock::time_point{} + seconds(10'000);
  BudgetTracker::SystemClock::time_point wall_ = BudgetTracker::SystemClock::now();
  store::DatabasePtr db_;
  auth::KeyStorePtr keys_store_;
  std::unique_ptr<auth::KeyCache> keys_;
  std::unique_ptr<BudgetTracker> budgets_;
};

TEST_F(LimitsStageTest, RequestsPerMinute429WithRetryAfterAndHeaders) {
  auth::KeySpec spec;
  spec.name = "k";
  spec.rpm = 2;
  const std::string id = createKey(spec);
  LimitsStage stage({}, keys_.get(), nullptr, *budgets_);
  pipeline::RequestContext ctx;
  ASSERT_TRUE(request(stage, id, "", 40, seconds(0), &ctx).isOk());
  EXPECT_EQ(header(ctx, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(header(ctx, "x-ratelimit-remaining-requests"), "1");
  EXPECT_EQ(header(ctx, "x-ratelimit-reset-requests"), "30s");
  ASSERT_TRUE(request(stage, id, "", 40, seconds(0)).isOk());
  Status s = request(stage, id, "", 40, seconds(1), &ctx);
  EXPECT_EQ(api::httpStatusFor(s), 429u);
  EXPECT_EQ(s.errorType(), "rate_limit_exceeded");
  EXPECT_EQ(s.retryAfterSeconds(), 29);
  EXPECT_EQ(header(ctx, "x-ratelimit-remaining-requests"), "0");
  EXPECT_TRUE(request(stage, id, "", 40, seconds(30)).isOk());
  EXPECT_TRUE(request(stage, "", "", 40, seconds(1)).isOk());  // anonymous: unlimited
}

TEST_F(LimitsStageTest, TokensPerMinuteEstimateThenSettleWithRealUsage) {
  auth::KeySpec spec;
  spec.name = "k";
  spec.tpm = 1000;
  const std::string id = createKey(spec);
  LimitsStage stage({}, keys_.get(), nullptr, *budgets_);
  pipeline::RequestContext ctx;
  ASSERT_TRUE(request(stage, id, "", 400, seconds(0), &ctx).isOk());  // ~100 tokens
  EXPECT_EQ(ctx.reserved_tokens, 100);
  EXPECT_EQ(header(ctx, "x-ratelimit-remaining-tokens"), "900");
  ctx.usage.prompt_tokens = 120;
  ctx.usage.completion_tokens = 880;  // 1000 used in all: the bucket is empty
  stage.settle(ctx, t0_, wall_);
  Status s = request(stage, id, "", 400, seconds(0));
  EXPECT_EQ(api::httpStatusFor(s), 429u);
  EXPECT_NE(s.message().find("tokens per minute"), std::string::npos);
  EXPECT_EQ(s.retryAfterSeconds(), 6);  // 100 tokens at 1000/60 per second
}

TEST_F(LimitsStageTest, TeamLimitsApplyAcrossKeys) {
  config::LimitsConfig config;
  config.teams["ml"].rpm = 1;
  auth::KeySpec a;
  a.name = "a";
  a.team = "ml";
  auth::KeySpec b = a;
  b.name = "b";
  LimitsStage stage(config, keys_.get(), nullptr, *budgets_);
  ASSERT_TRUE(request(stage, createKey(a), "ml", 10, seconds(0)).isOk());
  Status s = request(stage, createKey(b), "ml", 10, seconds(0));
  EXPECT_EQ(api::httpStatusFor(s), 429u);
  EXPECT_NE(s.message().find("team 'ml'"), std::string::npos);
}

// A reload swaps the team limits for the next request; the buckets of teams whose limits did
// not change keep their state (a reload is no way around a rate limit).
TEST_F(LimitsStageTest, ReloadSwapsTeamLimitsAndKeepsBucketState) {
  config::LimitsConfig config;
  config.teams["ml"].rpm = 2;
  config.teams["ops"].rpm = 1;
  LimitsStage stage(config, keys_.get(), nullptr, *budgets_);
  ASSERT_TRUE(request(stage, "", "ml", 10, seconds(0)).isOk());
  ASSERT_TRUE(request(stage, "", "ml", 10, seconds(0)).isOk());
  ASSERT_TRUE(request(stage, "", "ops", 10, seconds(0)).isOk());
  EXPECT_EQ(api::httpStatusFor(request(stage, "", "ops", 10, seconds(0))), 429u);

  config::LimitsConfig next = config;
  next.teams.erase("ops");           // ops: unlimited now
  next.teams["qa"].budget_usd = 0;   // a new team
  next.teams["qa"].rpm = 1;
  EXPECT_TRUE(stage.reload(next).isOk());
  EXPECT_EQ(api::httpStatusFor(request(stage, "", "ml", 10, seconds(1))), 429u);  // kept: empty
  EXPECT_TRUE(request(stage, "", "ops", 10, seconds(1)).isOk());
  EXPECT_TRUE(request(stage, "", "qa", 10, seconds(1)).isOk());
  EXPECT_EQ(api::httpStatusFor(request(stage, "", "qa", 10, seconds(1))), 429u);
  // ml refills at 2 per minute: one request after 30 s.
  EXPECT_TRUE(request(stage, "", "ml", 10, seconds(31)).isOk());
}

TEST_F(LimitsStageTest, BudgetReservesEstimatesAndRefusesWhenSpent) {
  auth::KeySpec spec;
  spec.name = "k";
  spec.budget_usd = 1.0;
  spec.budget_period = "day";
  const std::string id = createKey(spec);
  LimitsStage stage({}, keys_.get(), std::make_shared<FlatPricing>(), *budgets_);
  pipeline::RequestContext ctx;
  ASSERT_TRUE(request(stage, id, "", 2000, seconds(0), &ctx, 100).isOk());
  EXPECT_NEAR(ctx.reserved_cost, 0.6, 1e-12);  // (500 + 100) tokens
  EXPECT_NEAR(ctx.budget_remaining, 0.4, 1e-12);  // for routing's budget constraint
  // A second request may cost up to 0.6 too: 1.2 > 1.0 while the first is in flight.
  Status s = request(stage, id, "", 2000, seconds(0), nullptr, 100);
  EXPECT_EQ(api::httpStatusFor(s), 429u);
  EXPECT_EQ(s.errorType(), "budget_exceeded");
  EXPECT_NE(s.message().find("$0.60 of $1.00 used this day"), std::string::npos);
  ctx.cost_usd = 0.95;
  stage.settle(ctx, t0_, wall_);
  EXPECT_NEAR(budgets_->spent("key:" + id, "day", wall_), 0.95, 1e-12);
  EXPECT_TRUE(request(stage, id, "", 40, seconds(0), nullptr, 10).isOk());  // 0.97 fits
  EXPECT_EQ(request(stage, id, "", 400, seconds(0), nullptr, 10).errorType(), "budget_exceeded");

  // Without prices the reservation is 0 and only an exhausted budget refuses.
  auth::KeySpec other = spec;
  other.name = "o";
  const std::string id2 = createKey(other);
  LimitsStage unpriced({}, keys_.get(), nullptr, *budgets_);
  ASSERT_TRUE(request(unpriced, id2, "", 4000, seconds(0), &ctx).isOk());
  EXPECT_EQ(ctx.reserved_cost, 0);
  ctx.cost_usd = 1.5;
  unpriced.settle(ctx, t0_, wall_);
  EXPECT_EQ(request(unpriced, id2, "", 4, seconds(0)).errorType(), "budget_exceeded");
}

}  // namespace
}  // namespace switchyard::limits
