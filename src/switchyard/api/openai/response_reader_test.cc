// The fast response reader against the general decoder: wherever it accepts a response, it
// must produce exactly what the general decoder produces; where it declines, decodeChatResponse
// gives the general decoder's answer (an error included).

#include "switchyard/api/openai/response_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/fast_reader_testing.h"

namespace switchyard::api::openai {
namespace {

// Responses the fast reader takes: what OpenAI, vLLM, llama-server, DeepSeek and OpenRouter
// send, and oddities the general decoder reads in a defined way.
const std::vector<std::string> kAccepted = {
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a canned benchmark reply.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":9,"total_tokens":30}})",
    R"({"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"})",
    R"({"id":"tool","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})",
    R"({"id":"vllm","object":"chat.completion","created":2,"model":"qwen","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,"content":"ok","tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":null}],"usage":{"prompt_tokens":5,"total_tokens":7,"completion_tokens":2,"prompt_tokens_details":null},"prompt_logprobs":null,"kv_transfer_params":null})",
    R"({"id":"vllm-stop","choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":"stop","stop_reason":"###"}]})",
    R"({"id":"vllm-token","choices":[{"index":0,"message":{"content":"a"},"finish_reason":"stop","stop_reason":151645}]})",
    R"({"id":"vllm-odd","choices":[{"index":0,"message":{"content":"a"},"stop_reason":{"x":1}},{"message":{"content":"b"},"stop_reason":1.5}]})",
    R"({"id":"ds","model":"deepseek-reasoner","choices":[{"index":0,"message":{"role":"assistant","content":"42","reasoning_content":"Let me think"},"finish_reason":"stop"}]})",
    R"({"id":"or","choices":[{"message":{"content":"x","reasoning":"hmm"}}]})",
    R"({"id":"both","choices":[{"message":{"reasoning":"second","reasoning_content":"first"}}]})",
    R"({"id":"both","choices":[{"message":{"reasoning_content":null,"reasoning":"fallback"}}]})",
    R"({"id":"r","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]})",
    R"({"id":"empty","choices":[{"index":0,"message":{"content":""},"finish_reason":"length"}]})",
    R"({"id":"none","choices":[]})",
    R"({"id":"multi","choices":[{"index":1,"message":{"content":"b"}},{"index":0,"message":{"content":"a"}}]})",
    R"({"id":"noindex","choices":[{"message":{"content":"x"}},{"message":{"content":"y"}}]})",
    R"({"id":"nullindex","choices":[{"index":null,"message":{"content":"x"}}],"created":null})",
    R"({"id":"esc","choices":[{"message":{"content":"line\nbreak \"quoted\" caf\u00e9 \ud83d\ude00 tab\t"}}]})",
    R"({"id":"keyesc","choices":[{"message":{"con\u0074ent":"escaped key"}}]})",
    R"({"id":"extra","x":{"a":[1,2,{"b":null}]},"choices":[{"index":0,"message":{"content":"k","audio":null,"function_call":null,"n":3,"u":18446744073709551615,"d":1.5,"b":true,"s":"text","o":{},"a":[]},"extra":[{"y":1}],"finish_reason":"length"}]})",
    R"({"id":"types","model":7,"system_fingerprint":null,"service_tier":3,"choices":[{"index":0,"message":{"role":7,"content":5,"refusal":{"x":1},"name":null,"tool_calls":"none"},"finish_reason":3}]})",
    R"({"id":"role","choices":[{"message":{"role":"tool","name":"n","tool_call_id":"t"}},{"message":{"role":"bogus"}}]})",
    R"({"id":"tc","choices":[{"message":{"tool_calls":[{"id":7,"function":"f"},{"function":{"name":3,"arguments":null}},{}]}}]})",
    R"({"id":"fc","choices":[{"message":{},"finish_reason":"function_call"}]})",
    R"({"id":"big","created":18446744073709551615,"choices":[]})",
    R"({"error":null,"id":"e","choices":[]})",
    R"({"id":"u","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":null}})",
    R"({"id":"u","choices":[],"usage":null})",
    R"({"id":"u","choices":[],"usage":[1]})",
    R"({"id":"u","choices":[],"usage":{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":1,"cache_write_tokens":2},"cache_write_tokens":9}})",
    R"(  {"id":"ws","choices":[{"message":{"content":"spaces around"}}]}  )",
};

// Responses the fast reader leaves to the general decoder.
const std::vector<std::string> kDeclined = {
    R"({"id":"parts","choices":[{"message":{"content":[{"type":"text","text":"a"}]}}]})",
    R"({"id":"lp","choices":[{"message":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-0.1}]}}]})",
    R"({"id":"lp","choices":[{"message":{"content":"a"},"logprobs":5}]})",
    R"({"id":"args","choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":{"q":1}}}]}}]})",
    R"({"id":"args","choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":7}}]}}]})",
    R"({"id":"tc","choices":[{"message":{"tool_calls":[1]}}]})",
    R"({"id":"kept","choices":[{"message":{"x_note":{"kept":true}}}]})",
    R"({"id":"kept","choices":[{"message":{"x_list":[1]}}]})",
    R"({"error":{"message":"overloaded","type":"server_error"}})",
    R"({"error":"boom","choices":[]})",
    R"({"id":"nochoices"})",
    R"({"id":"nullchoices","choices":null})",
    R"({"id":"strchoices","choices":"x"})",
    R"({"id":"nomessage","choices":[{"index":0}]})",
    R"({"id":"nullmessage","choices":[{"message":null}]})",
    R"({"id":"f","created":1.7e9,"choices":[]})",
    R"({"id":"s","choices":[{"index":"0","message":{"content":"a"}}]})",
    R"({"id":"u","choices":[],"usage":{"prompt_tokens":1.5}})",
    R"({"id":"u","choices":[],"usage":{"total_tokens":{}}})",
    R"({"id":"ce","choices":[1]})",
    R"({"id":"ce","choices":[null]})",
    R"({"id":"dup","model":"a","model":5,"choices":[]})",
    R"({"id":"dup","choices":[{"message":{"content":"a","content":null}}]})",
    R"({"id":"dup","choices":[{"message":{"x":1,"x":2}}]})",
    R"({"id":"twice","choices":[],"choices":[{"message":{"content":"a"}}]})",
    R"([1,2])",
    R"("text")",
    R"()",
    R"({"id":"broken","choices":[)",
    R"({"id":"trailing","choices":[]} x)",
    "{\"id\":\"badutf8\xff\",\"choices\":[]}",
};

const testing::FastReaderCheck<ChatResponse> kCheck{readCommonChatResponse, decodeAnyChatResponse,
                                                    decodeChatResponse};

void expectSame(const std::string& body) {
  kCheck.expectSame(body);
  // The fast path's result also encodes the same (encoders read every field).
  if (auto fast = readCommonChatResponse(body)) {
    auto any = decodeAnyChatResponse(body);
    ASSERT_TRUE(any.has_value());
    EXPECT_EQ(encodeChatResponse(*fast), encodeChatResponse(*any)) << body;
  }
}

std::string readFile(const std::string& name) {
  std::ifstream in(std::string(SY_TESTDATA_DIR) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ResponseReaderTest, CommonResponsesDecodeAsTheGeneralDecoderDoes) {
  kCheck.expectAll(kAccepted, true);
  for (const std::string& body : kAccepted) expectSame(body);
}

TEST(ResponseReaderTest, UncommonResponsesAreLeftToTheGeneralDecoder) {
  kCheck.expectAll(kDeclined, false);
}

// The golden upstream response has logprobs on its second choice: declined, and the general
// decoder's answer is what decodeChatResponse gives. Without them the fast path reads it.
TEST(ResponseReaderTest, GoldenResponse) {
  std::string body = readFile("chat_response.upstream.json");
  ASSERT_FALSE(body.empty());
  expectSame(body);
  const std::string logprobs = R"("logprobs": {"content": [], "refusal": null},)";
  const std::size_t at = body.find(logprobs);
  ASSERT_NE(at, std::string::npos);
  body.erase(at, logprobs.size());
  const std::optional<ChatResponse> fast = readCommonChatResponse(body);
  ASSERT_TRUE(fast.has_value());
  ASSERT_EQ(fast->choices.size(), 2u);
  EXPECT_EQ(fast->choices[1].message.tool_calls.at(0).arguments, "{\"q\":\"board\\nwalk\"}");
  EXPECT_EQ(fast->choices[1].message.reasoning_content, "Need to look it up.");
  EXPECT_EQ(fast->usage->cached_tokens, 1024);
  expectSame(body);
}

// Long strings with escapes (the parser may hand them over in parts), long keys, and every
// prefix of a response (truncated input is an error for both).
TEST(ResponseReaderTest, LongEscapedStringsAndTruncatedInput) {
  const std::string content = testing::longEscapedText();
  const std::string key(5000, 'k');
  const std::string body = R"({"id":"long","choices":[{"message":{"content":")" + content +
                           R"(",")" + key + R"(":")" + content + R"("}}]})";
  ASSERT_TRUE(readCommonChatResponse(body).has_value());
  expectSame(body);
  kCheck.expectPrefixesDeclined(kAccepted[2]);
}

// Random mutations of the accepted responses (bytes replaced by JSON-significant ones):
// whatever the fast reader accepts, the general decoder must read the same.
TEST(ResponseReaderTest, MutatedResponsesNeverDisagree) {
  // The count shows the mutations exercise the fast path, not only its refusals.
  EXPECT_GT(kCheck.expectMutationsAgree(kAccepted, 7, 6000), 100);
}

}  // namespace
}  // namespace switchyard::api::openai
