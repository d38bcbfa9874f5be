#include "switchyard/core/log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace switchyard {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LogTest, JsonEscaping) {
  std::string out;
  appendJsonEscaped(out, "a\"b\\c\n\x01");
  EXPECT_EQ(out, "a\\\"b\\\\c\\n\\u0001");
}

TEST(LogTest, RedactSecretKeepsOnlyAPrefix) {
  const std::string key = "sk-proj-1234567890abcdefSECRET";
  const std::string shown = redactSecret(key);
  EXPECT_EQ(shown.find("SECRET"), std::string::npos);
  EXPECT_EQ(shown.rfind("sk-p", 0), 0u);
  EXPECT_EQ(redactSecret("short").find("short"), std::string::npos);
}

TEST(LogTest, JsonLinesFormat) {
  const std::string path = ::testing::TempDir() + "/sy_log_test.jsonl";
  std::remove(path.c_str());
  ASSERT_TRUE(setupLogging({"info", LogFormat::kJson, path}).isOk());
  logEvent(spdlog::level::info, "request",
           {{"id", "abc"}, {"status", 200}, {"stream", true}, {"msg", "say \"hi\""}});
  spdlog::info("plain message");
  spdlog::debug("filtered out");
  spdlog::default_logger()->flush();
  const std::string text = readFile(path);
  EXPECT_NE(text.find(R"("level":"info","event":"request","id":"abc","status":200,"stream":true,"msg":"say \"hi\"")"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("msg":"plain message")"), std::string::npos) << text;
  EXPECT_EQ(text.find("filtered out"), std::string::npos);
  ASSERT_TRUE(setupLogging({}).isOk());
}

TEST(LogTest, TextFormatQuotesValuesWithSpaces) {
  const std::string path = ::testing::TempDir() + "/sy_log_test.txt";
  std::remove(path.c_str());
  ASSERT_TRUE(setupLogging({"info", LogFormat::kText, path}).isOk());
  logEvent(spdlog::level::info, "listening", {{"host", "127.0.0.1"}, {"note", "two words"}});
  spdlog::default_logger()->flush();
  const std::string text = readFile(path);
  EXPECT_NE(text.find("listening host=127.0.0.1 note=\"two words\""), std::string::npos) << text;
  ASSERT_TRUE(setupLogging({}).isOk());
}

TEST(LogTest, RejectsUnknownLevel) {
  Status s = setupLogging({"loud", LogFormat::kText, ""});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("loud"), std::string::npos);
}

}  // namespace
}  // namespace switchyard
