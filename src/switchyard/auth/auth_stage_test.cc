#include "switchyard/auth/auth_stage.h"

#include <gtest/gtest.h>

#include <map>

#include "switchyard/api/errors.h"
#include "switchyard/auth/key_cache.h"

namespace switchyard::auth {
namespace {

class MapHeaders final : public pipeline::RequestHeaders {
 public:
  std::map<std::string, std::string> values;
  std::string_view get(std::string_view name) const override {
    auto it = values.find(std::string(name));
    return it == values.end() ? std::string_view() : std::string_view(it->second);
  }
};

class AuthStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::openDatabase("sqlite::memory:");
    ASSERT_TRUE(db);
    db_ = std::move(*db);
    store_ = std::move(*KeyStore::open(*db_));
    cache_ = std::move(*KeyCache::create(*store_, std::chrono::milliseconds(0)));
    config_.auth.require_keys = true;
    config::ProviderConfig p;
    p.name = "openai";
    p.models = {{"gpt-4o", {"smart"}, 0}};
    config::ProviderConfig local;
    local.name = "local";
    config_.providers = {p, local};
  }

  Status call(std::string model, std::string header, std::string value) {
    MapHeaders headers;
    if (!header.empty()) headers.values[header] = value;
    ctx_ = {};
    api::ChatRequest chat;
    chat.model = std::move(model);
    pipeline::StageInput in{headers, ctx_, &chat};
    AuthStage stage(config_, *cache_);
    return stage.check(in);
  }

  IssuedKey create(KeySpec spec) {
    auto issued = cache_->create(spec);
    EXPECT_TRUE(issued) << issued.error().toString();
    return *issued;
  }

  store::DatabasePtr db_;
  KeyStorePtr store_;
  std::unique_ptr<KeyCache> cache_;
  config::Config config_;
  pipeline::RequestContext ctx_;
};

TEST_F(AuthStageTest, MissingAndWrongKeysAre401WhenRequired) {
  Status missing = call("gpt-4o", "", "");
  EXPECT_EQ(api::httpStatusFor(missing), 401u);
  EXPECT_NE(missing.message().find("Authorization: Bearer"), std::string::npos);
  Status wrong = call("gpt-4o", "authorization", "Bearer sy-not-a-key");
  EXPECT_EQ(api::httpStatusFor(wrong), 401u);
  EXPECT_EQ(wrong.message().find("sy-not-a-key"), std::string::npos);  // never echoed

  config_.auth.require_keys = false;
  EXPECT_TRUE(call("gpt-4o", "", "").isOk());
  EXPECT_TRUE(call("gpt-4o", "authorization", "Bearer sk-anything").isOk());
  EXPECT_TRUE(ctx_.key_id.empty());
}

TEST_F(AuthStageTest, EveryHeaderFormIdentifiesTheKey) {
  KeySpec spec;
  spec.name = "ci";
  spec.team = "ml";
  IssuedKey k = create(spec);
  for (auto [header, value] : std::vector<std::pair<std::string, std::string>>{
           {"authorization", "Bearer " + k.secret},
           {"authorization", "bearer  " + k.secret + " "},
           {"x-api-key", k.secret},
           {"x-goog-api-key", k.secret}}) {
    ASSERT_TRUE(call("gpt-4o", header, value).isOk()) << header;
    EXPECT_EQ(ctx_.key_id, k.record.id);
    EXPECT_EQ(ctx_.key_name, "ci");
    EXPECT_EQ(ctx_.team, "ml");
  }
}

// Google's clients send the key as a query parameter; headers win when both are present.
TEST_F(AuthStageTest, GoogleKeyQueryParameterIdentifiesTheKey) {
  KeySpec spec;
  spec.name = "gem";
  spec.team = "ml";
  IssuedKey k = create(spec);
  auto withTarget = [&](std::string target, std::string header, std::string value) {
    MapHeaders headers;
    if (!header.empty()) headers.values[header] = value;
    ctx_ = {};
    api::ChatRequest chat;
    chat.model = "gpt-4o";
    pipeline::StageInput in{headers, ctx_, &chat, nullptr, nullptr, target};
    AuthStage stage(config_, *cache_);
    return stage.check(in);
  };
  EXPECT_TRUE(withTarget("/v1/chat/completions?key=" + k.secret, "", "").isOk());
  EXPECT_EQ(ctx_.key_id, k.record.id);
  EXPECT_TRUE(withTarget("/v1/chat/completions?alt=sse&key=" + k.secret + "&x=1", "", "").isOk());
  EXPECT_EQ(ctx_.key_name, "gem");
  // Percent-encoded like any query value.
  std::string encoded;
  for (char c : k.secret) encoded += c == '-' ? std::string("%2D") : std::string(1, c);
  EXPECT_TRUE(withTarget("/v1/chat/completions?key=" + encoded, "", "").isOk());
  EXPECT_EQ(ctx_.key_id, k.record.id);
  // A wrong key in the query is refused like a wrong header, and never echoed.
  Status wrong = withTarget("/v1/chat/completions?key=sy-wrong-key", "", "");
  EXPECT_EQ(api::httpStatusFor(wrong), 401u);
  EXPECT_EQ(wrong.message().find("sy-wrong-key"), std::string::npos);
  // Other parameters are not keys; a header takes precedence over the query.
  EXPECT_EQ(api::httpStatusFor(withTarget("/v1/chat/completions?apikey=" + k.secret, "", "")),
            401u);
  EXPECT_EQ(api::httpStatusFor(withTarget("/v1/chat/completions?key=" + k.secret,
                                          "authorization", "Bearer sy-wrong")),
            401u);
  EXPECT_EQ(presentedKey(MapHeaders{}, "/x?key=abc%20def"), "abc def");
  EXPECT_EQ(presentedKey(MapHeaders{}, "/x?key"), "");
  EXPECT_EQ(presentedKey(MapHeaders{}, "not a target"), "");
}

// A reload changes require_keys and the provider map for the next request.
TEST_F(AuthStageTest, ReloadTakesRequireKeysAndProviders) {
  KeySpec spec;
  spec.name = "scoped";
  spec.providers = {"other"};
  IssuedKey k = create(spec);
  AuthStage stage(config_, *cache_);
  auto check = [&](std::string model, std::string secret) {
    MapHeaders headers;
    if (!secret.empty()) headers.values["authorization"] = "Bearer " + secret;
    ctx_ = {};
    api::ChatRequest chat;
    chat.model = std::move(model);
    pipeline::StageInput in{headers, ctx_, &chat};
    return stage.check(in);
  };
  EXPECT_EQ(api::httpStatusFor(check("gpt-4o", "")), 401u);
  EXPECT_EQ(api::httpStatusFor(check("gpt-4o", k.secret)), 403u);  // gpt-4o is openai's
  config::Config next = config_;
  next.auth.require_keys = false;
  next.providers[0].name = "other";
  stage.reload(next);
  EXPECT_TRUE(check("gpt-4o", "").isOk());
  EXPECT_TRUE(check("gpt-4o", k.secret).isOk());  // now "other" serves gpt-4o
}

TEST_F(AuthStageTest, RevokedKeyIsRefusedAtOnceAndRotationSwapsSecrets) {
  KeySpec spec;
  spec.name = "app";
  IssuedKey k = create(spec);
  ASSERT_TRUE(call("gpt-4o", "x-api-key", k.secret).isOk());
  auto rotated = cache_->rotate(k.record.id);
  ASSERT_TRUE(rotated);
  EXPECT_EQ(api::httpStatusFor(call("gpt-4o", "x-api-key", k.secret)), 401u);
  ASSERT_TRUE(call("gpt-4o", "x-api-key", rotated->secret).isOk());
  ASSERT_TRUE(cache_->revoke(k.record.id));
  Status s = call("gpt-4o", "x-api-key", rotated->secret);
  EXPECT_EQ(api::httpStatusFor(s), 401u);
  EXPECT_NE(s.message().find("revoked"), std::string::npos);
  config_.auth.require_keys = false;  // revoked keys are refused even on an open gateway
  EXPECT_EQ(api::httpStatusFor(call("gpt-4o", "x-api-key", rotated->secret)), 401u);
}

TEST_F(AuthStageTest, ScopesByModelRouteAndProvider) {
  KeySpec models;
  models.name = "m";
  models.models = {"gpt-4o-mini*"};
  models.routes = {"fast"};
  IssuedKey m = create(models);
  EXPECT_TRUE(call("gpt-4o-mini-2024", "x-api-key", m.secret).isOk());
  EXPECT_TRUE(call("fast", "x-api-key", m.secret).isOk());
  Status denied = call("gpt-4o", "x-api-key", m.secret);
  EXPECT_EQ(api::httpStatusFor(denied), 403u);
  EXPECT_EQ(denied.errorType(), "model_not_allowed");
  EXPECT_NE(denied.message().find("'gpt-4o'"), std::string::npos);

  KeySpec providers;
  providers.name = "p";
  providers.providers = {"openai"};
  IssuedKey p = create(providers);
  EXPECT_TRUE(call("openai/gpt-4o", "x-api-key", p.secret).isOk());
  EXPECT_TRUE(call("smart", "x-api-key", p.secret).isOk());  // an alias openai declares
  EXPECT_EQ(api::httpStatusFor(call("local/tiny", "x-api-key", p.secret)), 403u);
  // A route name pins no provider: admitted, and routing keeps to the allowed providers.
  ASSERT_TRUE(call("fast", "x-api-key", p.secret).isOk());
  EXPECT_EQ(ctx_.allowed_providers, std::vector<std::string>{"openai"});
}

TEST_F(AuthStageTest, KeyMetadataSetsTheRiskTierUnlessTheHeaderDid) {
  KeySpec spec;
  spec.name = "clinic";
  spec.metadata = R"({"owner":"ops","risk_tier":"high"})";
  IssuedKey k = create(spec);
  EXPECT_EQ(k.record.risk_tier, "high");
  ASSERT_TRUE(call("gpt-4o", "x-api-key", k.secret).isOk());
  EXPECT_EQ(ctx_.risk_tier, "high");
  // The x-switchyard-risk header (already in ctx when the stages run) wins.
  MapHeaders headers;
  headers.values["x-api-key"] = k.secret;
  ctx_ = {};
  ctx_.risk_tier = "low";
  api::ChatRequest chat;
  chat.model = "gpt-4o";
  pipeline::StageInput in{headers, ctx_, &chat};
  ASSERT_TRUE(AuthStage(config_, *cache_).check(in).isOk());
  EXPECT_EQ(ctx_.risk_tier, "low");
  // Loaded from the store (another process, a restart): the same.
  auto loaded = store_->get(k.record.id);
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->risk_tier, "high");

  KeySpec bad;
  bad.name = "bad";
  bad.metadata = R"({"risk_tier":"very high!"})";
  auto refused = cache_->create(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("risk_tier"), std::string::npos);
}

TEST_F(AuthStageTest, AuthenticateForModuleEndpointsFillsCollectionScopes) {
  KeySpec spec;
  spec.name = "hr-bot";
  spec.models = {"gpt-4o"};
  spec.collections = {"hr"};
  const IssuedKey key = create(spec);
  ASSERT_TRUE(call("gpt-4o", "authorization", "Bearer " + key.secret).isOk());
  EXPECT_EQ(ctx_.allowed_collections, std::vector<std::string>{"hr"});

  AuthStage stage(config_, *cache_);
  MapHeaders headers;
  pipeline::RequestContext ctx;
  EXPECT_EQ(stage.authenticate(headers, ctx).code(), ErrorCode::kUnauthenticated);
  headers.values["authorization"] = "Bearer " + key.secret;
  EXPECT_TRUE(stage.authenticate(headers, ctx).isOk());  // no model: identity only
  EXPECT_EQ(ctx.key_name, "hr-bot");
  EXPECT_EQ(ctx.allowed_collections, std::vector<std::string>{"hr"});
  EXPECT_TRUE(stage.authenticate(headers, ctx, "gpt-4o").isOk());
  Status denied = stage.authenticate(headers, ctx, "local/reranker");
  EXPECT_EQ(denied.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.errorType(), "model_not_allowed");
}

TEST_F(AuthStageTest, ReloadSeesKeysWrittenByAnotherProcess) {
  auto other = KeyStore::open(*db_);  // e.g. `switchyard keys create` on the same store
  ASSERT_TRUE(other);
  KeySpec spec;
  spec.name = "cli";
  auto k = (*other)->create(spec);
  ASSERT_TRUE(k);
  EXPECT_EQ(api::httpStatusFor(call("gpt-4o", "x-api-key", k->secret)), 401u);
  ASSERT_TRUE(cache_->reload().isOk());
  EXPECT_TRUE(call("gpt-4o", "x-api-key", k->secret).isOk());
  ASSERT_TRUE((*other)->revoke(k->record.id));
  ASSERT_TRUE(cache_->reload().isOk());
  EXPECT_EQ(api::httpStatusFor(call("gpt-4o", "x-api-key", k->secret)), 401u);
}

}  // namespace
}  // namespace switchyard::auth
