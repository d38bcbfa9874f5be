#include "switchyard/api/gemini/gemini_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "switchyard/api/anthropic/golden_test_util.h"
#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/errors.h"
#include "switchyard/api/openai/codec.h"

namespace switchyard::api::gemini {
namespace {

namespace json = boost::json;
using anthropic::testing::expectJsonGolden;
using anthropic::testing::readTestdata;

ChatRequest openaiRequest(std::string_view body) {
  auto r = openai::decodeChatRequest(body);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? *r : ChatRequest{};
}

json::value encodeOk(const ChatRequest& r) {
  auto body = encodeGenerateContentRequest(r, "gem");
  EXPECT_TRUE(body.has_value()) << (body ? "" : body.error().message());
  return body ? json::parse(*body) : json::value();
}

Status encodeErr(std::string_view openai_body) {
  auto body = encodeGenerateContentRequest(openaiRequest(openai_body), "gem");
  EXPECT_FALSE(body.has_value()) << (body ? *body : "");
  return body ? Status::ok() : body.error();
}

std::string simple(std::string_view extra) {
  return R"({"model":"m","messages":[{"role":"user","content":"Hi"}])" +
         (extra.empty() ? std::string() : "," + std::string(extra)) + "}";
}

// ---- golden --------------------------------------------------------------------------------

TEST(GeminiGolden, OpenAIClientToGeminiUpstream) {
  ChatRequest req = openaiRequest(readTestdata("openai_tools.request.json"));
  auto body = encodeGenerateContentRequest(req, "gem");
  ASSERT_TRUE(body) << body.error().message();
  expectJsonGolden("openai_tools.gemini_upstream.json", *body);
}

TEST(GeminiGolden, UpstreamResponseToBothClients) {
  auto res = decodeGenerateContentResponse(readTestdata("response.upstream.json"), "req-1");
  ASSERT_TRUE(res) << res.error().message();
  res->created = 1700000000;
  expectJsonGolden("response.openai_client.json", openai::encodeChatResponse(*res));
  expectJsonGolden("response.anthropic_client.json", anthropic::encodeMessagesResponse(*res));
}

// ---- request translation -------------------------------------------------------------------

TEST(GeminiRequest, SystemAndTurnsAndGenerationConfig) {
  json::value v = encodeOk(openaiRequest(R"({"model":"m","messages":[
    {"role":"system","content":"S1"},{"role":"user","content":"a"},{"role":"user","content":"b"},
    {"role":"assistant","content":"c"},{"role":"user","content":"d"}],
    "max_tokens":10,"response_format":{"type":"json_object"}})"));
  EXPECT_EQ(v.at("systemInstruction"), json::parse(R"({"parts":[{"text":"S1"}]})"));
  // Consecutive user messages share one turn; roles are user/model.
  EXPECT_EQ(v.at("contents"), json::parse(R"([
    {"role":"user","parts":[{"text":"a"},{"text":"b"}]},
    {"role":"model","parts":[{"text":"c"}]},
    {"role":"user","parts":[{"text":"d"}]}])"));
  EXPECT_EQ(v.at("generationConfig"),
            json::parse(R"({"maxOutputTokens":10,"responseMimeType":"application/json"})"));
  EXPECT_FALSE(v.as_object().contains("model"));
}

TEST(GeminiRequest, ToolChoiceModes) {
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"f"}}])";
  auto mode = [&](std::string_view choice) {
    return encodeOk(openaiRequest(simple(tools + ",\"tool_choice\":" + std::string(choice))))
        .at("toolConfig")
        .at("functionCallingConfig");
  };
  EXPECT_EQ(mode(R"("auto")"), json::parse(R"({"mode":"AUTO"})"));
  EXPECT_EQ(mode(R"("none")"), json::parse(R"({"mode":"NONE"})"));
  EXPECT_EQ(mode(R"("required")"), json::parse(R"({"mode":"ANY"})"));
  EXPECT_EQ(mode(R"({"type":"function","function":{"name":"f"}})"),
            json::parse(R"({"mode":"ANY","allowedFunctionNames":["f"]})"));
  // A tool without parameters is declared without any.
  json::value v = encodeOk(openaiRequest(simple(tools)));
  EXPECT_EQ(v.at("tools"), json::parse(R"([{"functionDeclarations":[{"name":"f"}]}])"));
  EXPECT_FALSE(v.as_object().contains("toolConfig"));
}

TEST(GeminiRequest, ResponseSchemaAndThinking) {
  json::value v = encodeOk(openaiRequest(simple(
      R"("response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,
         "schema":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],
                   "additionalProperties":false}}},"reasoning_effort":"high")")));
  EXPECT_EQ(v.at("generationConfig"), json::parse(R"({"responseMimeType":"application/json",
    "responseSchema":{"type":"OBJECT","properties":{"a":{"type":"INTEGER"}},"required":["a"]},
    "thinkingConfig":{"thinkingBudget":24576,"includeThoughts":true}})"));

  // An Anthropic client's thinking budget is used as is.
  auto areq = anthropic::decodeMessagesRequest(R"({"model":"m","max_tokens":4000,
    "thinking":{"type":"enabled","budget_tokens":2048},
    "messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_TRUE(areq);
  EXPECT_EQ(encodeOk(*areq).at("generationConfig").at("thinkingConfig"),
            json::parse(R"({"thinkingBudget":2048,"includeThoughts":true})"));
  EXPECT_EQ(encodeOk(openaiRequest(simple(R"("reasoning_effort":"none")")))
                .at("generationConfig")
                .at("thinkingConfig"),
            json::parse(R"({"thinkingBudget":0})"));
}

TEST(GeminiRequest, UnsupportedFeaturesAreRejectedByName) {
  auto expectRejects = [](std::string_view extra, std::string_view needle) {
    Status s = encodeErr(simple(extra));
    EXPECT_EQ(s.code(), ErrorCode::kUnprocessable) << extra;
    EXPECT_EQ(httpStatusFor(s), 400u);
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("'gem'"), std::string::npos) << s.message();
  };
  expectRejects(R"("logprobs":true)", "logprobs");
  expectRejects(R"("logit_bias":{"1":2})", "logit_bias");
  expectRejects(R"("min_p":0.1)", "min_p");
  expectRejects(R"("web_search_options":{})", "web_search_options");
  expectRejects(R"("reasoning_effort":"extreme")", "reasoning_effort");
  expectRejects(R"("tools":[{"type":"function","function":{"name":"f"}}],
                   "parallel_tool_calls":false)",
                "parallel_tool_calls");
  // Images by URL: Gemini takes inline data (or its own file API), not arbitrary URLs.
  Status s = encodeErr(R"({"model":"m","messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]})");
  EXPECT_NE(s.message().find("image URLs"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Gemini"), std::string::npos) << s.message();
  // A tool result whose call is unknown cannot be named.
  s = encodeErr(R"({"model":"m","messages":[{"role":"user","content":"Hi"},
    {"role":"tool","tool_call_id":"nope","content":"x"}]})");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("nope"), std::string::npos);
}

TEST(GeminiRequest, GeminiOwnFieldsPassThrough) {
  json::value v = encodeOk(openaiRequest(simple(
      R"("safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}])")));
  EXPECT_EQ(v.at("safetySettings").at(0).at("threshold"), "BLOCK_NONE");
}

// ---- schema conversion ---------------------------------------------------------------------

TEST(GeminiSchema, ConvertsTheCommonSubset) {
  auto c = convertSchema(json::parse(R"({"type":"object","title":"T",
    "properties":{"a":{"anyOf":[{"type":"string"},{"type":"null"}]},
                  "b":{"type":"array","items":{"$ref":"#/definitions/B"},"minItems":1},
                  "c":{"allOf":[{"type":"boolean"}]},"d":{"enum":["x","y"]}},
    "definitions":{"B":{"type":"number","format":"double"}}})"),
                         "gem", "schema");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, json::parse(R"({"type":"OBJECT","title":"T","properties":{
    "a":{"nullable":true,"type":"STRING"},
    "b":{"type":"ARRAY","items":{"type":"NUMBER","format":"double"},"minItems":1},
    "c":{"type":"BOOLEAN"},"d":{"enum":["x","y"],"type":"STRING","format":"enum"}}})"));
}

TEST(GeminiSchema, RejectsWhatGeminiCannotExpressNamingKeywordAndPath) {
  auto err = [](std::string_view schema) {
    auto c = convertSchema(json::parse(schema), "gem", "tools[0].parameters");
    EXPECT_FALSE(c.has_value()) << schema;
    return c ? std::string() : c.error().message();
  };
  std::string m = err(R"({"type":"object","properties":{"x":{"type":"string","not":{}}}})");
  EXPECT_NE(m.find("'not'"), std::string::npos) << m;
  EXPECT_NE(m.find("tools[0].parameters /properties/x/not"), std::string::npos) << m;
  m = err(R"({"type":"object","additionalProperties":{"type":"integer"}})");
  EXPECT_NE(m.find("additionalProperties"), std::string::npos) << m;
  m = err(R"({"type":"integer","exclusiveMinimum":0})");
  EXPECT_NE(m.find("exclusiveMinimum"), std::string::npos) << m;
  m = err(R"({"$ref":"https://example.com/s.json"})");
  EXPECT_NE(m.find("$ref"), std::string::npos) << m;
  m = err(R"({"$defs":{"N":{"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}},
             "$ref":"#/$defs/N"})");
  EXPECT_NE(m.find("recursive"), std::string::npos) << m;
  m = err(R"({"type":["string","integer"]})");
  EXPECT_NE(m.find("several non-null types"), std::string::npos) << m;
  m = err(R"({"enum":[1,2]})");
  EXPECT_NE(m.find("non-string enum"), std::string::npos) << m;
}

// ---- response translation ------------------------------------------------------------------

TEST(GeminiResponse, PartsUsageAndFinish) {
  auto res = decodeGenerateContentResponse(readTestdata("response.upstream.json"), "req-1");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->id, "resp-abc123");
  EXPECT_EQ(res->model, "gemini-2.5-flash");
  ASSERT_EQ(res->choices.size(), 1u);
  const Message& m = res->choices[0].message;
  EXPECT_EQ(m.text(), "Let me check both.");
  EXPECT_EQ(m.reasoning_content, "The user wants weather in two places.");
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(json::parse(m.tool_calls[0].arguments), json::parse(R"({"location":"Paris"})"));
  EXPECT_NE(m.tool_calls[0].id, m.tool_calls[1].id);
  EXPECT_EQ(parseToolCallId(m.tool_calls[0].id).signature, "CiQB0e2Kb+sig/1=");
  EXPECT_EQ(parseToolCallId(m.tool_calls[1].id).signature, "");
  EXPECT_EQ(res->choices[0].finish_reason, FinishReason::kToolCalls);
  ASSERT_TRUE(res->usage);
  EXPECT_EQ(res->usage->prompt_tokens, 120);
  EXPECT_EQ(res->usage->completion_tokens, 75);
  EXPECT_EQ(res->usage->cached_tokens, 64);
  EXPECT_EQ(res->usage->reasoning_tokens, 45);
  EXPECT_EQ(res->usage->total_tokens, 195);
  // Same input, same ids: they are stable.
  auto again = decodeGenerateContentResponse(readTestdata("response.upstream.json"), "req-1");
  EXPECT_EQ(again->choices[0].message.tool_calls[1].id, m.tool_calls[1].id);
}

TEST(GeminiResponse, FinishReasonMapping) {
  EXPECT_EQ(finishReasonFromGemini("STOP", false), FinishReason::kStop);
  EXPECT_EQ(finishReasonFromGemini("STOP", true), FinishReason::kToolCalls);
  EXPECT_EQ(finishReasonFromGemini("MAX_TOKENS", false), FinishReason::kLength);
  for (const char* r : {"SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"}) {
    EXPECT_EQ(finishReasonFromGemini(r, false), FinishReason::kContentFilter) << r;
  }
  EXPECT_EQ(finishReasonFromGemini("MALFORMED_FUNCTION_CALL", false), FinishReason::kError);
  auto res = decodeGenerateContentResponse(R"({"candidates":[
    {"content":{"parts":[{"text":"a"}]},"finishReason":"MAX_TOKENS","index":0},
    {"content":{"parts":[{"text":"b"}]},"finishReason":"SAFETY","index":1}]})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->choices.size(), 2u);
  EXPECT_EQ(res->choices[1].index, 1);
  EXPECT_EQ(res->choices[1].message.text(), "b");
  EXPECT_EQ(res->choices[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ(res->choices[1].finish_reason, FinishReason::kContentFilter);
}

TEST(GeminiResponse, BlockedPromptIsAClearError) {
  auto res = decodeGenerateContentResponse(
      R"({"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},
          "usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}})");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(res.error().message().find("blockReason: SAFETY"), std::string::npos);
  EXPECT_EQ(res.error().errorType(), "prompt_blocked");
}

// ---- thoughtSignature round trip -----------------------------------------------------------

TEST(GeminiSignature, SurvivesAnOpenAIClientRoundTrip) {
  auto res = decodeGenerateContentResponse(readTestdata("response.upstream.json"), "req-1");
  ASSERT_TRUE(res);
  // The OpenAI client gets the response, then sends the assistant turn back with results.
  json::value client = json::parse(openai::encodeChatResponse(*res));
  json::value assistant = client.at("choices").at(0).at("message");
  json::array messages;
  messages.push_back(json::parse(R"({"role":"user","content":"Weather?"})"));
  messages.push_back(assistant);
  for (const auto& call : assistant.at("tool_calls").as_array()) {
    json::object tool;
    tool["role"] = "tool";
    tool["tool_call_id"] = call.at("id");
    tool["content"] = "ok";
    messages.push_back(std::move(tool));
  }
  json::object next;
  next["model"] = "m";
  next["messages"] = std::move(messages);
  json::value up = encodeOk(openaiRequest(json::serialize(next)));
  const json::array& contents = up.at("contents").as_array();
  ASSERT_EQ(contents.size(), 3u);
  const json::array& model_parts = contents[1].at("parts").as_array();
  // Text first, then both calls; the signature is back on the first call only, verbatim.
  ASSERT_EQ(model_parts.size(), 3u);
  EXPECT_EQ(model_parts[1].at("thoughtSignature"), "CiQB0e2Kb+sig/1=");
  EXPECT_EQ(model_parts[1].at("functionCall").at("args").at("location"), "Paris");
  EXPECT_FALSE(model_parts[2].as_object().contains("thoughtSignature"));
  const json::array& results = contents[2].at("parts").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].at("functionResponse"),
            json::parse(R"({"name":"get_weather","response":{"output":"ok"}})"));
}

TEST(GeminiSignature, IdsCarryGeminiIdsAndSignatures) {
  const std::string id = makeToolCallId("abc", "seed", 0, "a+b/cw==");
  EXPECT_EQ(id.find_first_of("+/="), std::string::npos) << id;  // safe in any client's ids
  auto parsed = parseToolCallId(id);
  EXPECT_EQ(parsed.gemini_id, "abc");
  EXPECT_EQ(parsed.signature, "a+b/cw==");
  EXPECT_EQ(parseToolCallId("call_123").signature, "");
  EXPECT_EQ(parseToolCallId("call_123").gemini_id, "");
  // Gemini's own id goes back on functionCall and functionResponse.
  json::value up = encodeOk(openaiRequest(R"({"model":"m","messages":[
    {"role":"user","content":"x"},
    {"role":"assistant","tool_calls":[{"id":"call_gid_abc","type":"function",
      "function":{"name":"f","arguments":""}}]},
    {"role":"tool","tool_call_id":"call_gid_abc","content":"[1,2]"}]})"));
  EXPECT_EQ(up.at("contents").at(1).at("parts").at(0).at("functionCall"),
            json::parse(R"({"id":"abc","name":"f","args":{}})"));
  EXPECT_EQ(up.at("contents").at(2).at("parts").at(0).at("functionResponse"),
            json::parse(R"({"id":"abc","name":"f","response":{"output":"[1,2]"}})"));
}

TEST(GeminiSignature, AnthropicThinkingSignatureGoesBackOnTheLastPart) {
  auto req = anthropic::decodeMessagesRequest(R"({"model":"m","max_tokens":10,"messages":[
    {"role":"user","content":"Hi"},
    {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"U0lH"},
                                   {"type":"text","text":"Hello"}]},
    {"role":"user","content":"More"}]})");
  ASSERT_TRUE(req) << req.error().message();
  json::value up = encodeOk(*req);
  EXPECT_EQ(up.at("contents").at(1),
            json::parse(R"({"role":"model","parts":[{"text":"Hello","thoughtSignature":"U0lH"}]})"));
}

// ---- errors --------------------------------------------------------------------------------

TEST(GeminiErrors, StatusesAndRetryAfter) {
  auto err = [](unsigned status, std::string_view rpc, std::string_view header = {}) {
    return decodeUpstreamError(status,
                               R"({"error":{"code":)" + std::to_string(status) +
                                   R"(,"message":"boom","status":")" + std::string(rpc) + "\"}}",
                               header);
  };
  Status s = err(400, "INVALID_ARGUMENT");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(httpStatusFor(s), 400u);
  EXPECT_EQ(s.errorType(), "INVALID_ARGUMENT");
  EXPECT_EQ(s.message(), "upstream returned 400: boom");
  EXPECT_EQ(err(401, "UNAUTHENTICATED").code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(err(403, "PERMISSION_DENIED").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(err(404, "NOT_FOUND").code(), ErrorCode::kNotFound);
  EXPECT_EQ(httpStatusFor(err(404, "NOT_FOUND")), 404u);
  EXPECT_EQ(err(500, "INTERNAL").code(), ErrorCode::kUpstream);
  EXPECT_EQ(httpStatusFor(err(500, "INTERNAL")), 500u);
  EXPECT_EQ(err(503, "UNAVAILABLE").code(), ErrorCode::kUnavailable);
  s = err(429, "RESOURCE_EXHAUSTED", "12");
  EXPECT_EQ(s.code(), ErrorCode::kRateLimited);
  EXPECT_EQ(s.retryAfterSeconds(), 12);
  // Without the header, RetryInfo's retryDelay.
  s = decodeUpstreamError(429, R"({"error":{"code":429,"message":"quota","status":
    "RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo",
    "retryDelay":"36.2s"}]}})");
  EXPECT_EQ(s.retryAfterSeconds(), 37);
  // An error object inside a 200 stream takes its status from error.code.
  s = decodeUpstreamError(200, R"({"error":{"code":503,"message":"overloaded",
    "status":"UNAVAILABLE"}})");
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(httpStatusFor(s), 503u);
  // Not JSON at all.
  s = decodeUpstreamError(502, "<html>bad gateway</html>");
  EXPECT_EQ(s.code(), ErrorCode::kUpstream);
  EXPECT_NE(s.message().find("bad gateway"), std::string::npos);
}

TEST(GeminiPaths, MethodPaths) {
  EXPECT_EQ(methodPath("gemini-2.5-flash", false), "/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(methodPath("gemini-2.5-flash", true),
            "/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(methodPath("tunedModels/x", false), "/tunedModels/x:generateContent");
}

// ---- embeddings -----------------------------------------------------------------------------

TEST(GeminiEmbeddings, RequestHasOneEntryPerInput) {
  auto decoded = openai::decodeEmbeddingRequest(
      R"({"model":"text-embedding-004","input":["alpha","beta"],"dimensions":256,)"
      R"("task_type":"RETRIEVAL_QUERY"})");
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(embedPath(decoded->model), "/models/text-embedding-004:batchEmbedContents");
  EXPECT_EQ(embedPath("tunedModels/mine"), "/tunedModels/mine:batchEmbedContents");
  auto body = encodeBatchEmbedRequest(*decoded, "gem");
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(json::parse(*body), json::parse(R"({"requests":[
    {"model":"models/text-embedding-004","content":{"parts":[{"text":"alpha"}]},
     "outputDimensionality":256,"taskType":"RETRIEVAL_QUERY"},
    {"model":"models/text-embedding-004","content":{"parts":[{"text":"beta"}]},
     "outputDimensionality":256,"taskType":"RETRIEVAL_QUERY"}]})"));
}

TEST(GeminiEmbeddings, TokenInputAndBadTaskTypeAreRejected) {
  auto tokens = openai::decodeEmbeddingRequest(R"({"model":"e","input":[1,2,3]})");
  ASSERT_TRUE(tokens);
  auto err = encodeBatchEmbedRequest(*tokens, "gem");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code(), ErrorCode::kUnprocessable);
  EXPECT_NE(err.error().message().find("token-id input"), std::string::npos);
  auto bad = openai::decodeEmbeddingRequest(R"({"model":"e","input":"x","task_type":3})");
  ASSERT_TRUE(bad);
  EXPECT_FALSE(encodeBatchEmbedRequest(*bad, "gem"));
}

TEST(GeminiEmbeddings, ResponseVectorsInOrderWithEstimatedUsage) {
  const std::vector<std::string> texts = {"alpha beta gamma", "x"};
  auto r = decodeBatchEmbedResponse(
      R"({"embeddings":[{"values":[0.5,-0.25,1]},{"values":[0,0.125,-1]}]})", texts);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->embeddings.size(), 2u);
  EXPECT_EQ(r->embeddings[0], (std::vector<float>{0.5f, -0.25f, 1.0f}));
  EXPECT_EQ(r->embeddings[1], (std::vector<float>{0.0f, 0.125f, -1.0f}));
  EXPECT_EQ(r->usage.prompt_tokens, 4 + 1);  // 16 chars / 4, and at least 1
  EXPECT_EQ(r->usage.total_tokens, 5);

  EXPECT_FALSE(decodeBatchEmbedResponse(R"({"embeddings":[{"values":[1]}]})", texts));
  EXPECT_FALSE(decodeBatchEmbedResponse(R"({"embeddings":[{"values":[1]},{"v":[]}]})", texts));
  EXPECT_FALSE(decodeBatchEmbedResponse(R"({"embeddings":[{"values":[1]},{"values":["a"]}]})",
                                        texts));
  EXPECT_FALSE(decodeBatchEmbedResponse("not json", texts));
}


}  // namespace
}  // namespace switchyard::api::gemini
