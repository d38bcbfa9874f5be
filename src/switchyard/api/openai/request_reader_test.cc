// The fast request reader against the general (validating) decoder: wherever it accepts a
// body, it must produce exactly what the general decoder produces; where it declines,
// decodeChatRequest gives the general decoder's answer, errors (message and param) included.

#include "switchyard/api/openai/request_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/fast_reader_testing.h"

namespace switchyard::api::openai {
namespace {

// Bodies the fast reader takes: what the OpenAI SDKs, LangChain and curl users send for text
// chat, and edge values the general decoder accepts.
const std::vector<std::string> kAccepted = {
    R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16})",
    R"({"model":"bench","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hi"}],"temperature":0.2,"top_p":1,"stream":true,"stream_options":{"include_usage":true}})",
    R"({"model":"m","messages":[{"role":"developer","content":"d"},{"role":"user","name":"ann","content":"q"},{"role":"assistant","content":"a","name":null},{"role":"user","content":""}]})",
    R"({"model":"m","messages":[{"content":"content first","role":"user"}],"n":1,"seed":-7,"stop":"\n\n","user":"u-1","frequency_penalty":-2,"presence_penalty":2.0})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d"],"max_completion_tokens":100,"logprobs":true,"top_logprobs":20})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":[],"top_k":-1,"min_p":0,"repetition_penalty":1.1,"reasoning_effort":"low"})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":false,"stream_options":{"include_usage":true}})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":null},"stream":true})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":null,"max_tokens":null,"stop":null,"stream":null,"stream_options":null,"n":null,"user":null,"seed":null})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"seed":9223372036854775807,"max_tokens":9223372036854775807,"top_k":2147483647,"n":128})",
    R"({"model":"esc","messages":[{"role":"user","content":"line\nbreak \"quoted\" caf\u00e9 \ud83d\ude00 tab\t"}],"user":"\u0041"})",
    R"({"model":"keyesc","messages":[{"role":"user","con\u0074ent":"escaped key"}]})",
    R"(  {"model":"ws","messages":[{"role":"user","content":"spaces around"}]}  )",
};

// Bodies the fast reader leaves to the general decoder (valid or not).
const std::vector<std::string> kDeclined = {
    R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"parts"}]}]})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"store":false})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"metadata":{"a":"b"}})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true,"x":1}})",
    R"({"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}]})",
    R"({"model":"m","messages":[{"role":"tool","tool_call_id":"c","content":"r"}]})",
    R"({"model":"m","messages":[{"role":"tool","content":"r"}]})",
    R"({"model":"m","messages":[{"role":"user","content":"x","extra_field":1}]})",
    R"({"model":"m","messages":[{"role":"assistant","content":null}]})",
    R"({"model":"m","messages":[{"role":"user"}]})",
    R"({"model":"m","messages":[{"content":"no role"}]})",
    R"({"model":"m","messages":[{"role":"bot","content":"x"}]})",
    R"({"model":"m","messages":[{"role":7,"content":"x"}]})",
    R"({"model":"m","messages":[{"role":"user","content":"x","name":5}]})",
    R"({"model":"m","messages":[]})",
    R"({"model":"m","messages":{}})",
    R"({"model":"m","messages":["x"]})",
    R"({"model":"m","messages":null})",
    R"({"model":"m"})",
    R"({"messages":[{"role":"user","content":"x"}]})",
    R"({"model":"","messages":[{"role":"user","content":"x"}]})",
    R"({"model":null,"messages":[{"role":"user","content":"x"}]})",
    R"({"model":5,"messages":[{"role":"user","content":"x"}]})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":2.5})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":-0.1})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"0.5"})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_p":1.5})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":16.0})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":16.5})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":18446744073709551615})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":10,"max_completion_tokens":20})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"seed":18446744073709551615})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":0})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":129})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":21})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_k":-2})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"repetition_penalty":0})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":5})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":1})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":true})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"user":1})",
    R"({"model":"a","model":"b","messages":[{"role":"user","content":"x"}]})",
    R"({"model":"m","messages":[{"role":"user","role":"system","content":"x"}]})",
    R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1,"temperature":3})",
    R"([1,2])",
    R"("text")",
    R"()",
    R"({"model":"m","messages":[)",
    R"({"model":"m","messages":[{"role":"user","content":"x"}]} x)",
    "{\"model\":\"m\xff\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
};

const testing::FastReaderCheck<ChatRequest> kCheck{readCommonChatRequest, decodeAnyChatRequest,
                                                   decodeChatRequest};

void expectSame(const std::string& body) {
  kCheck.expectSame(body);
  // The fast path's result also encodes the same upstream request.
  if (auto fast = readCommonChatRequest(body)) {
    auto any = decodeAnyChatRequest(body);
    ASSERT_TRUE(any.has_value());
    EXPECT_EQ(encodeChatRequest(*fast), encodeChatRequest(*any)) << body;
  }
}

TEST(RequestReaderTest, CommonRequestsDecodeAsTheGeneralDecoderDoes) {
  kCheck.expectAll(kAccepted, true);
  for (const std::string& body : kAccepted) expectSame(body);
}

TEST(RequestReaderTest, OtherRequestsAreLeftToTheGeneralDecoder) {
  kCheck.expectAll(kDeclined, false);
}

TEST(RequestReaderTest, GoldenRequests) {
  for (const char* name : {"chat_basic.request.json", "chat_tools.request.json"}) {
    std::ifstream in(std::string(SY_TESTDATA_DIR) + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    ASSERT_FALSE(text.str().empty()) << name;
    expectSame(text.str());
  }
}

// Long strings with escapes (the parser may hand them over in parts) and every prefix of a
// body (truncated input is an error for both).
TEST(RequestReaderTest, LongEscapedStringsAndTruncatedInput) {
  const std::string content = testing::longEscapedText();
  const std::string body = R"({"model":"long","messages":[{"role":"user","content":")" + content +
                           R"("},{"role":"assistant","content":")" + content + R"("}]})";
  ASSERT_TRUE(readCommonChatRequest(body).has_value());
  expectSame(body);
  kCheck.expectPrefixesDeclined(kAccepted[1]);
}

// Random mutations of the accepted bodies: whatever the fast reader accepts, the general
// decoder must read the same, and every error must be the general decoder's.
TEST(RequestReaderTest, MutatedRequestsNeverDisagree) {
  // The count shows the mutations exercise the fast path, not only its refusals.
  EXPECT_GT(kCheck.expectMutationsAgree(kAccepted, 11, 8000), 100);
}

}  // namespace
}  // namespace switchyard::api::openai
