#include "switchyard/rag/access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace switchyard::rag {
namespace {

TEST(CollectionScope, DefaultIsEveryCollectionThatIsNotPrivate) {
  EXPECT_TRUE(scopeAllows({}, "handbook", false));
  EXPECT_FALSE(scopeAllows({}, "hr", true));
  EXPECT_TRUE(scopeAllows({"*"}, "handbook", false));
  EXPECT_FALSE(scopeAllows({"*"}, "hr", true));
}

TEST(CollectionScope, NamesAndPrefixes) {
  const std::vector<std::string> scopes{"handbook", "hr-*"};
  EXPECT_TRUE(scopeAllows(scopes, "handbook", false));
  EXPECT_TRUE(scopeAllows(scopes, "handbook", true));  // named: private too
  EXPECT_FALSE(scopeAllows(scopes, "handbook2", false));
  EXPECT_TRUE(scopeAllows(scopes, "hr-payroll", true));
  EXPECT_FALSE(scopeAllows(scopes, "finance", false));
  EXPECT_TRUE(scopeAllows({"*", "hr"}, "hr", true));
  EXPECT_FALSE(scopeAllows({"*", "hr"}, "legal", true));
}

TEST(CollectionScope, CallerOfTheRequest) {
  pipeline::RequestContext anonymous;  // keys not required, none presented
  EXPECT_TRUE(checkCollectionAccess(anonymous, "hr", true).isOk());
  pipeline::RequestContext admin;
  admin.admin = true;
  EXPECT_TRUE(checkCollectionAccess(admin, "hr", true).isOk());
  pipeline::RequestContext key;
  key.key_id = "key_1";
  key.key_name = "support-bot";
  key.allowed_collections = {"kb"};
  EXPECT_TRUE(checkCollectionAccess(key, "kb", true).isOk());
  Status denied = checkCollectionAccess(key, "hr", false);
  EXPECT_EQ(denied.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.errorType(), "collection_not_allowed");
  EXPECT_THAT(denied.message(), ::testing::HasSubstr("'support-bot' may not use collection 'hr'"));
  key.allowed_collections.clear();
  EXPECT_THAT(checkCollectionAccess(key, "hr", true).message(),
              ::testing::HasSubstr("private collection must be named"));
}

}  // namespace
}  // namespace switchyard::rag
