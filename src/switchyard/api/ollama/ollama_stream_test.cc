#include "switchyard/api/ollama/ollama_stream.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <sstream>
#include <thread>

#include "switchyard/api/anthropic/golden_test_util.h"
#include "switchyard/api/openai/codec.h"

namespace switchyard::api::ollama {
namespace {

namespace json = boost::json;
using anthropic::testing::expectJsonLinesGolden;
using anthropic::testing::readTestdata;

const Timings kTimings{5'000'000, 0, 1'000'000, 4'000'000};
constexpr const char* kCreated = "2025-01-02T03:04:05.123456789Z";

std::vector<ChatChunk> upstreamChunks(const std::string& name) {
  std::vector<ChatChunk> chunks;
  std::istringstream in(readTestdata(name));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto chunk = openai::decodeChatChunk(line);
    EXPECT_TRUE(chunk.has_value()) << line;
    if (chunk) chunks.push_back(std::move(*chunk));
  }
  return chunks;
}

std::vector<std::string> lines(const std::string& ndjson) {
  std::vector<std::string> out;
  std::istringstream in(ndjson);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(OllamaStreamGolden, ToolCallsArriveWholeWithObjectArguments) {
  NdjsonStreamEncoder encoder(NdjsonStreamEncoder::Mode::kChat, "fast", kCreated);
  std::string out;
  for (const auto& c : upstreamChunks("stream_tools.upstream.jsonl")) encoder.onChunk(c, out);
  encoder.finish(kTimings, out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  expectJsonLinesGolden("stream_tools.ollama_client.ndjson", lines(out));
}

TEST(OllamaStreamGolden, GenerateLinesCarryResponse) {
  NdjsonStreamEncoder encoder(NdjsonStreamEncoder::Mode::kGenerate, "fast", kCreated);
  std::string out;
  for (const auto& c : upstreamChunks("stream_tools.upstream.jsonl")) encoder.onChunk(c, out);
  encoder.finish(kTimings, out);
  expectJsonLinesGolden("stream_tools.ollama_generate.ndjson", lines(out));
}

// As Ollama stamps each chunk: a line's created_at is when it was encoded, not when the stream
// began.
TEST(OllamaStream, EachLineIsStampedWhenItIsEncoded) {
  NdjsonStreamEncoder encoder(NdjsonStreamEncoder::Mode::kChat, "m");
  std::string first, second;
  ChatChunk chunk;
  chunk.choices.emplace_back();
  chunk.choices.back().content = "a";
  encoder.onChunk(chunk, first);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  encoder.onChunk(chunk, second);
  encoder.finish(kTimings, second);
  // RFC 3339 in UTC with up to nine fractional digits, trailing zeros trimmed (as Go writes
  // it): compared as nanoseconds since the epoch.
  auto nanos = [](const json::value& line) {
    const std::string text(line.at("created_at").as_string());
    std::tm tm{};
    const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    EXPECT_NE(rest, nullptr) << text;
    std::string fraction;
    if (rest != nullptr && *rest == '.') {
      for (++rest; *rest >= '0' && *rest <= '9'; ++rest) fraction += *rest;
    }
    EXPECT_TRUE(rest != nullptr && std::string_view(rest) == "Z") << text;
    fraction.resize(9, '0');
    return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000 + std::stoll(fraction);
  };
  const std::int64_t a = nanos(json::parse(first));
  const std::int64_t b = nanos(json::parse(lines(second).front()));
  const std::int64_t done = nanos(json::parse(lines(second).back()));
  EXPECT_GE(b - a, 2'000'000);  // the 2 ms between the two chunks
  EXPECT_LE(b, done);
}

TEST(OllamaStream, EveryLineIsOneObjectAndTheLastIsDone) {
  NdjsonStreamEncoder encoder(NdjsonStreamEncoder::Mode::kChat, "m", kCreated);
  std::string out;
  ChatChunk c;
  c.choices.resize(1);
  c.choices[0].content = "line\nbreak";  // escaped inside the JSON, never a raw newline
  encoder.onChunk(c, out);
  c.choices[0].content.reset();
  c.choices[0].finish_reason = FinishReason::kLength;
  encoder.onChunk(c, out);
  encoder.finish(kTimings, out);
  auto ls = lines(out);
  ASSERT_EQ(ls.size(), 2u) << out;
  auto first = json::parse(ls[0]);
  EXPECT_EQ(first.at("message").at("content"), "line\nbreak");
  EXPECT_EQ(first.at("done"), false);
  auto last = json::parse(ls[1]);
  EXPECT_EQ(last.at("done"), true);
  EXPECT_EQ(last.at("done_reason"), "length");
  EXPECT_EQ(last.at("eval_duration"), 4'000'000);
  EXPECT_EQ(last.at("prompt_eval_count"), 0);  // no usage arrived
}

TEST(OllamaStream, FailureEndsWithAnErrorLineAndNothingAfter) {
  NdjsonStreamEncoder encoder(NdjsonStreamEncoder::Mode::kChat, "m", kCreated);
  std::string out;
  ChatChunk c;
  c.choices.resize(1);
  c.choices[0].content = "partial";
  encoder.onChunk(c, out);
  encoder.fail(Status(ErrorCode::kUpstream, "upstream stream broke"), out);
  encoder.finish(kTimings, out);  // ignored after fail
  auto ls = lines(out);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(json::parse(ls[1]), json::parse(R"({"error":"upstream stream broke"})"));
}

TEST(OllamaStream, RawCompletionChunksBecomeResponseLines) {
  NdjsonStreamEncoder encoder(NdjsonStreamEncoder::Mode::kGenerate, "m", kCreated);
  std::string out;
  CompletionResponse c;
  c.choices.resize(1);
  c.choices[0].text = "Hello";
  encoder.onCompletionChunk(c, out);
  c.choices[0].text.clear();
  c.choices[0].finish_reason = FinishReason::kStop;
  c.usage = Usage{2, 1, 3};
  encoder.onCompletionChunk(c, out);
  encoder.finish(kTimings, out);
  auto ls = lines(out);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(json::parse(ls[0]).at("response"), "Hello");
  EXPECT_EQ(json::parse(ls[1]).at("eval_count"), 1);
  EXPECT_EQ(json::parse(ls[1]).at("done_reason"), "stop");
}

}  // namespace
}  // namespace switchyard::api::ollama
