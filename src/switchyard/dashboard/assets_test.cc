#include "switchyard/dashboard/assets.h"

#include <gtest/gtest.h>

namespace switchyard::dashboard {
namespace {

TEST(AssetsTest, TheBundleIsEmbeddedWithTypesAndEtags) {
  ASSERT_EQ(embeddedAssets().size(), 3u);
  const Asset* index = findAsset("");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->name, "index.html");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_NE(index->data.find("<html"), std::string_view::npos);
  EXPECT_NE(index->data.find("/ui/app.js"), std::string_view::npos);
  const Asset* js = findAsset("app.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_GT(js->data.size(), 1000u);
  const Asset* css = findAsset("app.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  // Strong, quoted, distinct per file.
  EXPECT_EQ(js->etag.size(), 18u);
  EXPECT_EQ(js->etag.front(), '"');
  EXPECT_EQ(js->etag.back(), '"');
  EXPECT_NE(js->etag, css->etag);
  EXPECT_EQ(findAsset("nope.js"), nullptr);
  EXPECT_EQ(findAsset("../app.js"), nullptr);
}

}  // namespace
}  // namespace switchyard::dashboard
