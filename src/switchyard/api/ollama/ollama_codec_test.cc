#include "switchyard/api/ollama/ollama_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "switchyard/api/anthropic/golden_test_util.h"
#include "switchyard/api/errors.h"
#include "switchyard/api/openai/codec.h"

namespace switchyard::api::ollama {
namespace {

namespace json = boost::json;
using anthropic::testing::expectJsonGolden;
using anthropic::testing::readTestdata;

const Timings kTimings{5'000'000, 0, 1'000'000, 4'000'000};
constexpr std::string_view kCreated = "2025-01-02T03:04:05.123456789Z";

// ---- golden: Ollama client request -> OpenAI-compatible upstream request --------------------

TEST(OllamaGolden, ChatRequestToOpenAIUpstream) {
  auto req = decodeChatRequest(readTestdata("chat_full.request.json"));
  ASSERT_TRUE(req.has_value()) << req.error().toString();
  EXPECT_FALSE(req->stream);
  req->model = "gpt-4o-mini";
  expectJsonGolden("chat_full.openai_upstream.json", openai::encodeChatRequest(*req));
}

TEST(OllamaGolden, GenerateBecomesSystemAndOneUserMessage) {
  auto req = decodeGenerateRequest(readTestdata("generate.request.json"));
  ASSERT_TRUE(req.has_value()) << req.error().toString();
  ASSERT_FALSE(req->raw);
  EXPECT_FALSE(req->load_only);
  EXPECT_TRUE(req->chat.stream);  // Ollama streams by default
  EXPECT_TRUE(req->chat.include_usage);
  req->chat.model = "gpt-4o-mini";
  expectJsonGolden("generate.openai_upstream.json", openai::encodeChatRequest(req->chat));
}

TEST(OllamaGolden, RawGenerateIsATextCompletion) {
  auto req = decodeGenerateRequest(readTestdata("generate_raw.request.json"));
  ASSERT_TRUE(req.has_value()) << req.error().toString();
  ASSERT_TRUE(req->raw);
  req->completion.model = "gpt-4o-mini";
  expectJsonGolden("generate_raw.openai_upstream.json",
                   openai::encodeCompletionRequest(req->completion));
}

TEST(OllamaGolden, ChatResponseHasObjectArgumentsAndStats) {
  auto resp = openai::decodeChatResponse(readTestdata("response.upstream.json"));
  ASSERT_TRUE(resp.has_value()) << resp.error().toString();
  expectJsonGolden("response.ollama_client.json",
                   encodeChatResponse(*resp, "fast", kCreated, kTimings));
}

// ---- decoding --------------------------------------------------------------------------------

TEST(OllamaDecode, StreamDefaultsToTrueAndCanBeTurnedOff) {
  auto on = decodeChatRequest(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(on.has_value());
  EXPECT_TRUE(on->stream);
  EXPECT_TRUE(on->include_usage);
  auto off = decodeChatRequest(
      R"({"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE(off->stream);
}

TEST(OllamaDecode, ToolMessagesAnswerTheOldestOpenCallOfTheirTool) {
  auto req = decodeChatRequest(R"({"model":"m","messages":[
    {"role":"assistant","content":"","tool_calls":[
      {"function":{"name":"a","arguments":{"x":1}}},
      {"id":"given","function":{"name":"b","arguments":"{\"y\":2}"}},
      {"function":{"name":"a","arguments":{}}}]},
    {"role":"tool","tool_name":"b","content":"B"},
    {"role":"tool","tool_name":"a","content":"A1"},
    {"role":"tool","content":"A2"}]})");
  ASSERT_TRUE(req.has_value()) << req.error().toString();
  const auto& calls = req->messages[0].tool_calls;
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].id, "call_0");
  EXPECT_EQ(calls[0].arguments, R"({"x":1})");
  EXPECT_EQ(calls[1].id, "given");
  EXPECT_EQ(calls[1].arguments, R"({"y":2})");
  EXPECT_EQ(calls[2].id, "call_1");
  EXPECT_EQ(req->messages[0].content_form, Message::ContentForm::kNull);
  EXPECT_EQ(req->messages[1].tool_call_id, "given");
  EXPECT_EQ(req->messages[2].tool_call_id, "call_0");
  EXPECT_EQ(req->messages[3].tool_call_id, "call_1");
}

TEST(OllamaDecode, ToolMessageWithoutACallIsRejected) {
  auto req = decodeChatRequest(
      R"({"model":"m","messages":[{"role":"tool","tool_name":"a","content":"x"}]})");
  ASSERT_FALSE(req.has_value());
  EXPECT_EQ(req.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(req.error().param(), "messages[0]");
}

TEST(OllamaDecode, FormatJsonAndThinkAndNumPredict) {
  auto req = decodeChatRequest(R"({"model":"m","format":"json","think":true,
    "options":{"num_predict":-1},"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(req.has_value()) << req.error().toString();
  EXPECT_EQ(req->response_format.kind, ResponseFormat::Kind::kJsonObject);
  EXPECT_EQ(req->reasoning_effort, "medium");
  EXPECT_FALSE(req->max_tokens.has_value());  // -1: until the model stops
  auto off = decodeChatRequest(R"({"model":"m","think":false,"messages":[]})");
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(off->thinking.mode, ThinkingConfig::Mode::kDisabled);
  EXPECT_TRUE(off->messages.empty());  // a load probe
}

TEST(OllamaDecode, UnknownSamplingOptionsAreRejectedNamingThem) {
  auto req = decodeChatRequest(R"({"model":"m","options":{"mirostat":2},"messages":[]})");
  ASSERT_FALSE(req.has_value());
  EXPECT_EQ(req.error().code(), ErrorCode::kUnprocessable);
  EXPECT_EQ(req.error().param(), "options.mirostat");
  EXPECT_NE(req.error().message().find("options.mirostat"), std::string::npos);
  EXPECT_EQ(httpStatusFor(req.error()), 400u);
  // Neutral values and runtime-only options pass.
  EXPECT_TRUE(
      decodeChatRequest(
          R"({"model":"m","options":{"mirostat":0,"mirostat_tau":5.0,"typical_p":1.0,"num_gpu":1},"messages":[]})")
          .has_value());
}

TEST(OllamaDecode, BadInputNamesTheField) {
  struct Case {
    const char* body;
    const char* param;
  } cases[] = {
      {R"({"messages":[]})", "model"},
      {R"({"model":"m","messages":[{"role":"robot","content":"x"}]})", "messages[0].role"},
      {R"({"model":"m","messages":[{"role":"user","content":"x","images":[1]}]})",
       "messages[0].images[0]"},
      {R"({"model":"m","stream":"yes"})", "stream"},
      {R"({"model":"m","format":"xml"})", "format"},
      {R"({"model":"m","options":{"temperature":"hot"}})", "options.temperature"},
      {R"({"model":"m","tools":[{"type":"function"}]})", "tools[0]"},
      {R"({"model":"m","messages":[{"role":"user","tool_calls":[]}]})", "messages[0].tool_calls"},
  };
  for (const auto& c : cases) {
    auto req = decodeChatRequest(c.body);
    ASSERT_FALSE(req.has_value()) << c.body;
    EXPECT_EQ(req.error().param(), c.param) << c.body << ": " << req.error().message();
  }
  EXPECT_FALSE(decodeChatRequest("[1]").has_value());
  EXPECT_FALSE(decodeChatRequest("{").has_value());
}

TEST(OllamaDecode, GenerateRejectsWhatHasNoEquivalent) {
  for (const char* body : {
           R"({"model":"m","prompt":"x","suffix":"y"})",
           R"({"model":"m","prompt":"x","template":"{{ .Prompt }}"})",
           R"({"model":"m","prompt":"x","context":[1,2,3]})",
           R"({"model":"m","prompt":"x","raw":true,"system":"s"})",
           R"({"model":"m","prompt":"x","raw":true,"format":"json"})",
       }) {
    auto req = decodeGenerateRequest(body);
    ASSERT_FALSE(req.has_value()) << body;
    EXPECT_EQ(req.error().code(), ErrorCode::kUnprocessable) << body;
    EXPECT_NE(req.error().message().find("not supported"), std::string::npos);
  }
  auto lp = decodeChatRequest(R"({"model":"m","logprobs":true,"top_logprobs":21,"messages":[]})");
  ASSERT_FALSE(lp.has_value());
  EXPECT_EQ(lp.error().param(), "top_logprobs");
  EXPECT_FALSE(
      decodeGenerateRequest(R"({"model":"m","prompt":"x","raw":true,"think":true})").has_value());
  EXPECT_TRUE(
      decodeGenerateRequest(R"({"model":"m","prompt":"x","raw":true,"think":false})").has_value());
  // Empty ones are what clients send by default.
  auto ok = decodeGenerateRequest(R"({"model":"m","prompt":"","suffix":"","context":[]})");
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->load_only);
}

// logprobs / top_logprobs reach the native request (top_logprobs alone asks for nothing); a raw
// generate asks the legacy completion for them.
TEST(OllamaDecode, LogprobsBecomeTheNativeFields) {
  auto chat = decodeChatRequest(R"({"model":"m","logprobs":true,"top_logprobs":3,"messages":[]})");
  ASSERT_TRUE(chat.has_value()) << chat.error().toString();
  EXPECT_EQ(chat->logprobs, true);
  EXPECT_EQ(chat->top_logprobs, 3);
  auto off = decodeChatRequest(R"({"model":"m","logprobs":false,"top_logprobs":3,"messages":[]})");
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE(off->logprobs.has_value());
  auto gen = decodeGenerateRequest(R"({"model":"m","prompt":"x","logprobs":true})");
  ASSERT_TRUE(gen.has_value());
  EXPECT_EQ(gen->chat.logprobs, true);
  EXPECT_EQ(gen->chat.top_logprobs, 0);
  auto raw = decodeGenerateRequest(
      R"({"model":"m","prompt":"x","raw":true,"logprobs":true,"top_logprobs":2})");
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->completion.extra.at("logprobs"), 2);
  EXPECT_FALSE(decodeChatRequest(R"({"model":"m","logprobs":"yes","messages":[]})").has_value());
}

// OpenAI's two shapes become Ollama's one: entries with bytes and alternatives, most likely
// first.
TEST(OllamaEncode, LogprobsInOllamasForm) {
  const json::value chat = json::parse(
      R"({"content":[{"token":"Hi","logprob":-0.5,"bytes":[72,105],)"
      R"("top_logprobs":[{"token":"Hi","logprob":-0.5,"bytes":[72,105]}]}],"refusal":null})");
  EXPECT_EQ(toOllamaLogprobs(chat),
            json::parse(R"([{"token":"Hi","logprob":-0.5,"bytes":[72,105],)"
                        R"("top_logprobs":[{"token":"Hi","logprob":-0.5,"bytes":[72,105]}]}])"));
  const json::value legacy =
      json::parse(R"({"tokens":["a"," b"],"token_logprobs":[-1.0,-2.0],)"
                  R"("top_logprobs":[{"x":-3.0,"a":-1.0},{" b":-2.0}],"text_offset":[0,1]})");
  EXPECT_EQ(toOllamaLogprobs(legacy),
            json::parse(R"([{"token":"a","logprob":-1.0,"bytes":[97],"top_logprobs":[)"
                        R"({"token":"a","logprob":-1.0,"bytes":[97]},)"
                        R"({"token":"x","logprob":-3.0,"bytes":[120]}]},)"
                        R"({"token":" b","logprob":-2.0,"bytes":[32,98],"top_logprobs":[)"
                        R"({"token":" b","logprob":-2.0,"bytes":[32,98]}]}])"));
  EXPECT_TRUE(toOllamaLogprobs(nullptr).is_null());
}

TEST(OllamaDecode, EmbedTakesAStringOrAnArrayAndLegacyAPrompt) {
  auto one = decodeEmbedRequest(R"({"model":"e","input":"a","truncate":true,"keep_alive":0})");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->texts, std::vector<std::string>{"a"});
  auto many = decodeEmbedRequest(R"({"model":"e","input":["a","b"],"dimensions":4})");
  ASSERT_TRUE(many.has_value());
  EXPECT_EQ(many->texts, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(many->dimensions, 4);
  auto legacy = decodeEmbeddingsRequest(R"({"model":"e","prompt":"p"})");
  ASSERT_TRUE(legacy.has_value());
  EXPECT_EQ(legacy->texts, std::vector<std::string>{"p"});
  EXPECT_FALSE(decodeEmbedRequest(R"({"model":"e","input":[]})").has_value());
  EXPECT_FALSE(decodeEmbeddingsRequest(R"({"model":"e","prompt":["x"]})").has_value());
}

// keep_alive as Ollama reads it: a number of seconds or a Go duration; negative is forever.
TEST(OllamaDecode, KeepAliveIsSecondsOrAGoDuration) {
  using std::chrono::milliseconds;
  const std::pair<std::string_view, std::int64_t> good[] = {
      {"5m", 300'000},  {"1h30m", 5'400'000}, {"1.5s", 1'500},
      {"250ms", 250},   {".5s", 500},         {"0", 0},
      {"-0", 0},        {"300", 300'000},     {"1us", 1},
      {"10\u00b5s", 1}, {"2ns", 1},           {"+2s", 2'000},
      {"-1m", -1},      {"-1", -1},           {"1h2m3s4ms", 3'723'004},
  };
  for (const auto& [text, ms] : good) {
    auto parsed = parseKeepAlive(text);
    ASSERT_TRUE(parsed.has_value()) << text << ": " << parsed.error().toString();
    EXPECT_EQ(parsed->count(), ms) << text;
  }
  for (std::string_view bad : {"", "-", "m", "5x", "1h30", "1..5s", ".s", "5 m", "soon"}) {
    auto parsed = parseKeepAlive(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().param(), "keep_alive");
    EXPECT_NE(parsed.error().message().find("invalid duration"), std::string::npos) << bad;
  }
  EXPECT_EQ(parseKeepAlive("1000000000h")->count(), -1);  // beyond a century: forever

  KeepAlive keep;
  ASSERT_TRUE(decodeChatRequest(R"({"model":"m","messages":[]})", &keep).has_value());
  EXPECT_FALSE(keep.has_value());  // not sent: the configured idle time
  ASSERT_TRUE(decodeChatRequest(R"({"model":"m","messages":[],"keep_alive":"10m"})", &keep));
  EXPECT_EQ(keep, milliseconds(600'000));
  ASSERT_TRUE(decodeEmbedRequest(R"({"model":"e","input":"a","keep_alive":0})", &keep));
  EXPECT_EQ(keep, milliseconds(0));
  ASSERT_TRUE(decodeEmbeddingsRequest(R"({"model":"e","prompt":"a","keep_alive":2.5})", &keep));
  EXPECT_EQ(keep, milliseconds(2'500));
  auto gen = decodeGenerateRequest(R"({"model":"m","keep_alive":-1})");
  ASSERT_TRUE(gen.has_value());
  EXPECT_TRUE(gen->load_only);
  EXPECT_EQ(gen->keep_alive, milliseconds(-1));
  for (std::string_view body : {R"({"model":"m","messages":[],"keep_alive":"soon"})",
                                R"({"model":"m","messages":[],"keep_alive":true})"}) {
    auto bad = decodeChatRequest(body);
    ASSERT_FALSE(bad.has_value()) << body;
    EXPECT_EQ(bad.error().param(), "keep_alive");
    EXPECT_EQ(httpStatusFor(bad.error()), 400u);
  }
}

TEST(OllamaDecode, ShowTakesModelOrLegacyName) {
  EXPECT_EQ(*decodeShowRequest(R"({"model":"a"})"), "a");
  EXPECT_EQ(*decodeShowRequest(R"({"name":"b"})"), "b");
  EXPECT_FALSE(decodeShowRequest("{}").has_value());
}

// ---- encoding --------------------------------------------------------------------------------

TEST(OllamaEncode, ErrorsAreOneStringField) {
  EXPECT_EQ(encodeError(Status(ErrorCode::kNotFound, "model 'x' not found")),
            R"({"error":"model 'x' not found"})");
}

TEST(OllamaEncode, TimestampsAreRfc3339WithNanoseconds) {
  using namespace std::chrono;
  const system_clock::time_point t{seconds(1'700'000'000) + nanoseconds(123'456'000)};
  EXPECT_EQ(formatTimestamp(t), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(formatTimestamp(system_clock::time_point{seconds(0)}), "1970-01-01T00:00:00Z");
}

TEST(OllamaEncode, GenerateAndEmbedShapes) {
  Usage usage{3, 2, 5};
  auto gen = json::parse(encodeGenerateResponse("m", kCreated, "hi", "", "stop", usage, kTimings));
  EXPECT_EQ(gen.at("response"), "hi");
  EXPECT_EQ(gen.at("done"), true);
  EXPECT_EQ(gen.at("done_reason"), "stop");
  EXPECT_EQ(gen.at("prompt_eval_count"), 3);
  EXPECT_EQ(gen.at("eval_count"), 2);
  EXPECT_EQ(gen.at("total_duration"), 5'000'000);
  EmbeddingResponse emb;
  emb.embeddings = {{0.5f, -1.0f}, {0.25f, 2.0f}};
  emb.usage.prompt_tokens = 4;
  auto e = json::parse(encodeEmbedResponse(emb, "e", kTimings));
  EXPECT_EQ(e.at("embeddings"), json::parse("[[0.5,-1.0],[0.25,2.0]]"));
  EXPECT_EQ(e.at("prompt_eval_count"), 4);
  EXPECT_EQ(json::parse(encodeEmbeddingsResponse(emb)).at("embedding"), json::parse("[0.5,-1.0]"));
}

TEST(OllamaEncode, TagsAndShowDescribeTheModels) {
  ModelInfo local{"tiny", "local", "local", "tiny-chat", "gguf", 2048, true};
  ModelInfo cloud{"fast", "up", "openai", "gpt-4o-mini", "", 0, false};
  auto tags = json::parse(encodeTags({local, cloud}, kCreated));
  const auto& models = tags.at("models").as_array();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].at("name"), "tiny");
  EXPECT_EQ(models[0].at("model"), "tiny");
  EXPECT_EQ(models[0].at("modified_at").as_string(), kCreated);
  EXPECT_EQ(models[0].at("size"), 0);
  EXPECT_EQ(models[0].at("details").at("format"), "gguf");
  EXPECT_EQ(models[1].at("details").at("format"), "");
  auto show = json::parse(encodeShow(local, kCreated));
  EXPECT_EQ(show.at("model_info").at("general.context_length"), 2048);
  EXPECT_FALSE(show.at("model_info").as_object().contains(".context_length"));  // no family
  ModelInfo gguf = local;
  gguf.family = "qwen2";
  gguf.context_length = 32768;
  gguf.embedding_length = 896;
  gguf.chat_template = "{{ messages }}";
  auto shown = json::parse(encodeShow(gguf, kCreated));
  EXPECT_EQ(shown.at("model_info").at("general.architecture"), "qwen2");
  EXPECT_EQ(shown.at("model_info").at("qwen2.context_length"), 32768);
  EXPECT_EQ(shown.at("model_info").at("qwen2.embedding_length"), 896);
  EXPECT_EQ(shown.at("template"), "{{ messages }}");
  EXPECT_EQ(show.at("model_info").at("switchyard.upstream_model"), "tiny-chat");
  EXPECT_EQ(show.at("capabilities"), json::parse(R"(["completion","tools","embedding"])"));
  EXPECT_EQ(json::parse(encodeVersion("1.2.3")).at("version"), "1.2.3");
  EXPECT_EQ(json::parse(encodePs({})).at("models").as_array().size(), 0u);
  RunningModel running;
  running.model = &local;
  running.digest = std::string(64, 'a');
  running.size_bytes = 1000;
  running.vram_bytes = 750;
  running.context_length = 4096;
  running.expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  auto ps = json::parse(encodePs({running}));
  ASSERT_EQ(ps.at("models").as_array().size(), 1u);
  const auto& p = ps.at("models").at(0);
  EXPECT_EQ(p.at("name"), "tiny");
  EXPECT_EQ(p.at("model"), "tiny");
  EXPECT_EQ(p.at("digest").as_string(), std::string(64, 'a'));
  EXPECT_EQ(p.at("size"), 1000);
  EXPECT_EQ(p.at("size_vram"), 750);
  EXPECT_EQ(p.at("context_length"), 4096);
  EXPECT_EQ(p.at("expires_at"), "2027-01-15T08:00:00Z");
  EXPECT_EQ(p.at("details").at("format"), "gguf");
}

TEST(OllamaListing, ParameterSizeAndQuantizationAsOllamaWritesThem) {
  EXPECT_EQ(parameterSize(494'032'768), "494.03M");
  EXPECT_EQ(parameterSize(7'615'616'512), "7.6B");
  EXPECT_EQ(parameterSize(19'674'076), "19.67M");
  EXPECT_EQ(parameterSize(1'500'000'000'000), "1.5T");
  EXPECT_EQ(parameterSize(900), "900");
  EXPECT_EQ(quantizationLevel("Q4_K - Medium"), "Q4_K_M");
  EXPECT_EQ(quantizationLevel("Q3_K - Small"), "Q3_K_S");
  EXPECT_EQ(quantizationLevel("Q8_0"), "Q8_0");
  EXPECT_EQ(quantizationLevel("all F32"), "F32");
  EXPECT_EQ(quantizationLevel("Q4_0 (guessed)"), "Q4_0");
}

TEST(OllamaCodec, NumbersBeyondADoubleAreErrors) {
  for (const char* number : {"0e400", "1e400"}) {
    auto r = decodeChatRequest(std::string(R"({"model":"m","messages":[{"role":"user",)") +
                               R"("content":"hi"}],"options":{"temperature":)" + number + "}}");
    ASSERT_FALSE(r) << number;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("a number is out of range"), std::string::npos)
        << r.error().message();
  }
}

}  // namespace
}  // namespace switchyard::api::ollama
