#include "switchyard/routing/router.h"

#include <gtest/gtest.h>

namespace switchyard::routing {
namespace {

config::Config makeConfig() {
  config::Config c;
  config::ProviderConfig a;
  a.name = "openai";
  a.models = {{"gpt-4o-mini", {"mini"}, 0}, {"shared-model", {}, 0}};
  config::ProviderConfig b;
  b.name = "local";
  b.models = {{"qwen2", {}, 0}, {"shared-model", {}, 0}};
  c.providers = {a, b};
  c.routes = {{"fast", "openai", "gpt-4o-mini", 1}};
  return c;
}

TEST(RouterTest, ResolvesRouteAliasModelAndExplicitPair) {
  Router router(makeConfig());
  pipeline::RequestContext ctx;
  ASSERT_TRUE(router.route("fast", ctx).isOk());
  EXPECT_EQ(ctx.route, "fast");
  ASSERT_EQ(ctx.plan.size(), 1u);
  EXPECT_EQ(ctx.plan[0].provider, "openai");
  EXPECT_EQ(ctx.plan[0].model, "gpt-4o-mini");

  ASSERT_TRUE(router.route("mini", ctx).isOk());
  EXPECT_EQ(ctx.route, "");
  EXPECT_EQ(ctx.plan[0].model, "gpt-4o-mini");

  ASSERT_TRUE(router.route("qwen2", ctx).isOk());
  EXPECT_EQ(ctx.plan[0].provider, "local");

  ASSERT_TRUE(router.route("local/shared-model", ctx).isOk());
  EXPECT_EQ(ctx.plan[0].provider, "local");
  EXPECT_EQ(ctx.plan[0].model, "shared-model");
}

TEST(RouterTest, AmbiguousBareModelNeedsProvider) {
  Router router(makeConfig());
  pipeline::RequestContext ctx;
  Status s = router.route("shared-model", ctx);
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
}

TEST(RouterTest, UnknownModelIsNotFoundWithParam) {
  Router router(makeConfig());
  pipeline::RequestContext ctx;
  Status s = router.route("gpt-17", ctx);
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.param(), "model");
  EXPECT_EQ(s.errorType(), "model_not_found");
  EXPECT_NE(s.message().find("gpt-17"), std::string::npos);
}

TEST(RouterTest, ProviderPrefixPassesUnlistedModelThrough) {
  Router router(makeConfig());
  pipeline::RequestContext ctx;
  ASSERT_TRUE(router.route("openai/gpt-4.1", ctx).isOk());
  EXPECT_EQ(ctx.plan[0].provider, "openai");
  EXPECT_EQ(ctx.plan[0].model, "gpt-4.1");
  EXPECT_EQ(router.route("nobody/gpt-4.1", ctx).code(), ErrorCode::kNotFound);
}

TEST(RouterTest, ListsEveryPublicNameOnce) {
  Router router(makeConfig());
  std::vector<std::string> ids;
  for (const auto& m : router.models()) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"fast", "gpt-4o-mini", "local/qwen2",
                                           "local/shared-model", "mini", "openai/gpt-4o-mini",
                                           "openai/shared-model", "qwen2"}));
}

}  // namespace
}  // namespace switchyard::routing
