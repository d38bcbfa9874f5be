// The fast chunk reader against the general decoder: wherever it accepts a chunk, it must
// produce exactly what the general decoder produces; where it declines, decodeChatChunk gives
// the general decoder's answer (an error included).

#include "switchyard/api/openai/chunk_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/fast_reader_testing.h"

namespace switchyard::api::openai {
namespace {

// Chunks the fast reader takes: what OpenAI, vLLM, llama-server, DeepSeek and OpenRouter send
// for text streams, and oddities the general decoder reads in a defined way.
const std::vector<std::string> kAccepted = {
    R"({"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"accepted_prediction_tokens":0}}})",
    R"({"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5}})",
    R"({"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":null}})",
    R"({"id":"c1","choices":[],"usage":null})",
    R"({"id":"c1","choices":[],"usage":{"prompt_tokens":3,"prompt_tokens_details":null,"cache_write_tokens":9}})",
    R"({"id":"c1","choices":[],"usage":{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":1,"cache_write_tokens":2}}})",
    R"({"id":"vllm","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"###"}]})",
    R"({"id":"vllm","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null,"stop_reason":null}]})",
    R"({"id":"vllm","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":151645}]})",
    R"({"id":"d","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"reasoning_content":"Let me think"},"finish_reason":null}]})",
    R"({"id":"v","model":"qwen","choices":[{"index":0,"delta":{"reasoning":"hmm"}}]})",
    R"({"id":"both","choices":[{"index":0,"delta":{"reasoning":"second","reasoning_content":"first"}}]})",
    R"({"id":"both","choices":[{"index":0,"delta":{"reasoning_content":null,"reasoning":"fallback"}}]})",
    R"({"id":"r","choices":[{"index":0,"delta":{"refusal":"I can't help with that."}}]})",
    R"({"id":"n","choices":[{"index":0,"delta":{"content":null,"role":null,"refusal":null},"finish_reason":null}]})",
    R"({"id":"multi","choices":[{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"a"}}]})",
    R"({"id":"noindex","choices":[{"delta":{"content":"x"}},{"delta":{"content":"y"}}]})",
    R"({"id":"nullindex","choices":[{"index":null,"delta":{"content":"x"}}],"created":null})",
    R"({"id":"esc","choices":[{"index":0,"delta":{"content":"line\nbreak \"quoted\" caf\u00e9 \ud83d\ude00 tab\t"}}]})",
    R"({"id":"keyesc","choices":[{"index":0,"delta":{"con\u0074ent":"escaped key"}}]})",
    R"({"id":"extra","service_tier":"default","obfuscation":"abc","x":{"a":[1,2,{"b":null}]},"choices":[{"index":0,"delta":{"content":"k","audio":{"id":"x","data":[1,2]}},"extra":[{"y":1}],"finish_reason":"length"}]})",
    R"({"id":"types","model":7,"system_fingerprint":null,"choices":[{"index":0,"delta":{"content":5,"role":true,"refusal":{"x":1}},"finish_reason":3}]})",
    R"({"id":"tool","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":"tool_calls"}]})",
    R"({"id":"fc","choices":[{"index":0,"delta":{},"finish_reason":"function_call"}]})",
    R"({"id":"big","created":18446744073709551615,"choices":[]})",
    R"({"error":null,"id":"e","choices":[]})",
    R"(  {"id":"ws","choices":[{"index":0,"delta":{"content":"spaces around"}}]}  )",
};

// Chunks the fast reader leaves to the general decoder.
const std::vector<std::string> kDeclined = {
    R"({"id":"t","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]})",
    R"({"id":"lp","choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-0.1}]}}]})",
    R"({"error":{"message":"overloaded","type":"server_error"}})",
    R"({"error":"boom"})",
    R"({"error":5})",
    R"({"id":"f","created":1.7e9,"choices":[]})",
    R"({"id":"s","choices":[{"index":"0","delta":{"content":"a"}}]})",
    R"({"id":"u","choices":[],"usage":{"prompt_tokens":1.5}})",
    R"({"id":"ce","choices":[1]})",
    R"({"id":"ce","choices":[[]]})",
    R"({"id":"ce","choices":[null]})",
    R"({"id":"twice","choices":[],"choices":[{"delta":{"content":"a"}}]})",
    R"({"id":"dup","model":"first","model":"second","choices":[{"index":0,"delta":{"content":"a","content":"b"}}]})",
    R"({"id":"dup","model":"a","model":5,"choices":[]})",
    R"({"id":"u","choices":[],"usage":{"prompt_tokens":1,"total_tokens":{}}})",
    R"([1,2])",
    R"("text")",
    R"({"id":"broken","choices":[)",
    R"({"id":"trailing"} x)",
    "{\"id\":\"badutf8\xff\",\"choices\":[]}",
};

const testing::FastReaderCheck<ChatChunk> kCheck{readCommonChatChunk, decodeAnyChatChunk,
                                                 decodeChatChunk};

void expectSame(const std::string& data) { kCheck.expectSame(data); }

TEST(ChunkReaderTest, CommonChunksDecodeAsTheGeneralDecoderDoes) {
  kCheck.expectAll(kAccepted, true);
}

// vLLM names the stop string that ended a choice (Anthropic clients get it as stop_sequence);
// a stop token's id is not one.
TEST(ChunkReaderTest, VllmStopReasonIsTheStopSequence) {
  auto named = decodeChatChunk(
      R"({"id":"vllm","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"###"}]})");
  ASSERT_TRUE(named.has_value());
  ASSERT_EQ(named->choices.size(), 1u);
  EXPECT_EQ(named->choices[0].stop_sequence, "###");
  auto token = decodeChatChunk(
      R"({"id":"vllm","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":7}]})");
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->choices[0].stop_sequence, "");
}

TEST(ChunkReaderTest, UncommonChunksAreLeftToTheGeneralDecoder) {
  kCheck.expectAll(kDeclined, false);
}

TEST(ChunkReaderTest, GoldenStreamEvents) {
  std::ifstream in(std::string(SY_TESTDATA_DIR) + "/chat_stream.upstream.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  int accepted = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    accepted += readCommonChatChunk(line).has_value() ? 1 : 0;
    expectSame(line);
  }
  EXPECT_GT(accepted, 0);
}

// Long strings with escapes (the parser may hand them over in parts) and every prefix of a
// chunk (truncated input is an error for both).
TEST(ChunkReaderTest, LongEscapedStringsAndTruncatedInput) {
  const std::string content = testing::longEscapedText();
  const std::string data =
      R"({"id":"long","choices":[{"index":0,"delta":{"content":")" + content + R"("}}]})";
  ASSERT_TRUE(readCommonChatChunk(data).has_value());
  expectSame(data);
  kCheck.expectPrefixesDeclined(kAccepted[3]);
}

// Random mutations of the accepted chunks: whatever the fast reader accepts, the general
// decoder must read the same.
TEST(ChunkReaderTest, MutatedChunksNeverDisagree) {
  EXPECT_GT(kCheck.expectMutationsAgree(kAccepted, 42, 4000), 100);
}

}  // namespace
}  // namespace switchyard::api::openai
