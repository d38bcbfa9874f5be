// The real gateway in-process with a `local` provider serving a tiny model made for the test:
// OpenAI-shaped requests in, the llama.cpp engine behind, over real HTTP.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "switchyard/core/log.h"
#include "switchyard/server/gateway.h"
#include "switchyard/store/database.h"
#include "tests/fakes/test_client.h"
#include "tests/fakes/test_gateway.h"
#include "tests/fakes/tiny_models.h"

namespace switchyard {
namespace {

namespace json = boost::json;
using fakes::Client;
using fakes::Reply;
using fakes::sseData;

std::string makeModel() {
  engine::TinyModelSpec spec = fakes::tinyModelSpec(
      (std::filesystem::path(::testing::TempDir()) / "local-test.gguf").string());
  spec.added_tokens = {"<tool_call>", "</tool_call>", "<think>", "</think>"};
  return fakes::makeTinyModel(spec);
}

class LocalGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    (void)setupLogging({"warn", LogFormat::kText, ""});
    model_path_ = new std::string(makeModel());
    engine::TinyLoraSpec lora;
    lora.base_path = *model_path_;
    lora.out_path = (std::filesystem::path(::testing::TempDir()) / "local-test-lora.gguf").string();
    auto made = engine::makeTinyLora(lora);
    ASSERT_TRUE(made) << made.error().toString();
    lora_path_ = new std::string(lora.out_path);
  }

  void SetUp() override { start(); }

  // `storage`: with a store URL the request log is on.
  void start(int parallel = 2, std::chrono::milliseconds timeout = std::chrono::seconds(60),
             std::string storage = {},
             std::chrono::milliseconds idle_unload = std::chrono::milliseconds(0)) {
    gateway_.reset();
    config::Config cfg = fakes::testConfig();
    cfg.server.request_timeout = timeout;
    config::ModelConfig m = fakes::localModel("tiny", *model_path_, parallel);
    m.aliases = {"default"};
    m.local.embeddings = true;
    m.local.lora = {{"style", *lora_path_, 0.0f}};  // only for requests that ask for it
    m.context_window = 512;
    cfg.providers = {fakes::localProvider({m})};
    cfg.providers[0].local.idle_unload = idle_unload;
    // One upstream failure must reach the client as it is (routing_test covers retries).
    fakes::noRetries(cfg);
    if (!storage.empty()) {
      cfg.storage_url = storage;
      cfg.telemetry.request_log.enabled = true;
    }
    auto gw = server::Gateway::create(std::move(cfg));
    ASSERT_TRUE(gw.has_value()) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
  }

  static std::string chat(std::string_view extra, std::string_view content = "Hello there") {
    std::string body = R"({"model":"default","messages":[{"role":"user","content":")" +
                       std::string(content) + R"("}])";
    if (!extra.empty()) body += "," + std::string(extra);
    return body + "}";
  }

  static std::string* model_path_;
  static std::string* lora_path_;
  std::unique_ptr<server::Gateway> gateway_;
};

std::string* LocalGatewayTest::model_path_ = nullptr;
std::string* LocalGatewayTest::lora_path_ = nullptr;

TEST_F(LocalGatewayTest, ChatCompletionWithExactUsage) {
  Client c(gateway_->port());
  Reply r =
      c.post("/v1/chat/completions", chat(R"("max_tokens":7,"ignore_eos":true,"temperature":0)"));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("object"), "chat.completion");
  EXPECT_EQ(j.at("model"), "tiny");
  const auto& choice = j.at("choices").at(0);
  EXPECT_EQ(choice.at("message").at("role"), "assistant");
  EXPECT_TRUE(choice.at("message").at("content").is_string());
  EXPECT_EQ(choice.at("finish_reason"), "length");
  EXPECT_EQ(j.at("usage").at("completion_tokens").as_int64(), 7);
  EXPECT_GT(j.at("usage").at("prompt_tokens").as_int64(), 5);
  EXPECT_EQ(j.at("usage").at("total_tokens").as_int64(),
            j.at("usage").at("prompt_tokens").as_int64() + 7);
}

TEST_F(LocalGatewayTest, RequestLogHasTheModelFileHashAndQueueTime) {
  const std::string db = fakes::testTempPath("local-test-log.db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  start(2, std::chrono::seconds(60), "sqlite://" + db);
  Client c(gateway_->port());
  ASSERT_EQ(c.post("/v1/chat/completions", chat(R"("max_tokens":3)")).status, 200u);
  ASSERT_EQ(c.post("/v1/chat/completions", chat(R"("max_tokens":3,"stream":true)")).status, 200u);
  c.close();
  gateway_.reset();  // writes every row
  auto sha = engine::sha256File(*model_path_);
  ASSERT_TRUE(sha.has_value());
  auto store = store::openDatabase("sqlite://" + db);
  ASSERT_TRUE(store.has_value());
  auto rows = (*store)->query("SELECT model_version, queue_ms FROM request_log ORDER BY id");
  ASSERT_TRUE(rows.has_value()) << rows.error().toString();
  ASSERT_EQ(rows->size(), 2u);
  for (const auto& row : *rows) {
    EXPECT_EQ(row.text(0), "sha256:" + *sha);
    EXPECT_FALSE(row.isNull(1));
    EXPECT_GE(row.real(1), 0.0);
  }
  // The changelog holds the same version (from the log rows and the start-up hasher).
  auto versions = (*store)->query("SELECT version FROM model_versions WHERE model = 'tiny'");
  ASSERT_TRUE(versions.has_value());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].text(0), "sha256:" + *sha);
  store->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}

TEST_F(LocalGatewayTest, GreedyOutputIsTheSameStreamedOrNot) {
  Client c(gateway_->port());
  const std::string params = R"("max_tokens":12,"ignore_eos":true,"temperature":0)";
  Reply whole = c.post("/v1/chat/completions", chat(params));
  ASSERT_EQ(whole.status, 200u) << whole.body;
  const std::string expected =
      std::string(whole.json().at("choices").at(0).at("message").at("content").as_string());

  Reply streamed =
      c.post("/v1/chat/completions",
             chat(params + R"(,"stream":true,"stream_options":{"include_usage":true})"));
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  bool done = false;
  auto events = sseData(streamed.body, &done);
  EXPECT_TRUE(done);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().at("choices").at(0).at("delta").at("role"), "assistant");
  std::string text;
  std::string finish;
  for (const auto& e : events) {
    EXPECT_EQ(e.at("object"), "chat.completion.chunk");
    for (const auto& ch : e.at("choices").as_array()) {
      const auto& delta = ch.at("delta").as_object();
      if (auto* content = delta.if_contains("content"); content && content->is_string()) {
        text += content->as_string();
      }
      if (ch.at("finish_reason").is_string()) finish = ch.at("finish_reason").as_string();
    }
  }
  EXPECT_EQ(text, expected);
  EXPECT_EQ(finish, "length");
  // The usage chunk comes last, with no choices.
  EXPECT_TRUE(events.back().at("choices").as_array().empty());
  EXPECT_EQ(events.back().at("usage").at("completion_tokens").as_int64(), 12);
}

// logprobs / top_logprobs, as OpenAI returns them: one entry per generated token whose texts
// (and bytes) make up the answer; the same entries streamed, spread over the chunks.
TEST_F(LocalGatewayTest, ChatLogprobsStreamedOrNot) {
  Client c(gateway_->port());
  const std::string params =
      R"("max_tokens":8,"ignore_eos":true,"temperature":0,"logprobs":true,"top_logprobs":2)";
  Reply whole = c.post("/v1/chat/completions", chat(params));
  ASSERT_EQ(whole.status, 200u) << whole.body;
  const json::value body = whole.json();
  const auto& choice = body.at("choices").at(0);
  const std::string content(choice.at("message").at("content").as_string());
  const auto& entries = choice.at("logprobs").at("content").as_array();
  EXPECT_TRUE(choice.at("logprobs").at("refusal").is_null());
  ASSERT_EQ(entries.size(), 8u) << whole.body;
  std::string from_bytes;
  for (const auto& e : entries) {
    EXPECT_LE(e.at("logprob").to_number<double>(), 0.0);
    for (const auto& b : e.at("bytes").as_array()) from_bytes += static_cast<char>(b.as_int64());
    const auto& top = e.at("top_logprobs").as_array();
    ASSERT_EQ(top.size(), 2u);
    EXPECT_GE(top.at(0).at("logprob").to_number<double>(),
              top.at(1).at("logprob").to_number<double>());
    EXPECT_TRUE(top.at(0).at("bytes").is_array());
  }
  EXPECT_EQ(from_bytes, content);

  Reply streamed = c.post("/v1/chat/completions", chat(params + R"(,"stream":true)"));
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  std::vector<double> streamed_logprobs;
  for (const auto& e : sseData(streamed.body)) {
    for (const auto& ch : e.at("choices").as_array()) {
      if (!ch.as_object().contains("logprobs") || ch.at("logprobs").is_null()) continue;
      for (const auto& entry : ch.at("logprobs").at("content").as_array()) {
        streamed_logprobs.push_back(entry.at("logprob").to_number<double>());
      }
    }
  }
  ASSERT_EQ(streamed_logprobs.size(), entries.size()) << streamed.body;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_NEAR(streamed_logprobs[i], entries.at(i).at("logprob").to_number<double>(), 1e-4);
  }

  // None unless asked; top_logprobs alone is a mistake worth saying.
  Reply plain = c.post("/v1/chat/completions", chat(R"("max_tokens":2)"));
  ASSERT_EQ(plain.status, 200u);
  EXPECT_TRUE(plain.json().at("choices").at(0).at("logprobs").is_null()) << plain.body;
  Reply lonely = c.post("/v1/chat/completions", chat(R"("max_tokens":2,"top_logprobs":2)"));
  EXPECT_EQ(lonely.status, 400u) << lonely.body;
  EXPECT_EQ(lonely.json().at("error").at("param"), "top_logprobs");
}

// n choices: side by side, one prompt counted once; seeded, each choice has its own seed, so
// they differ and the set repeats.
TEST_F(LocalGatewayTest, ChatAndCompletionChoicesN) {
  Client c(gateway_->port());
  const std::string params = R"("max_tokens":4,"ignore_eos":true,"temperature":1,"seed":7,"n":3)";
  Reply one = c.post("/v1/chat/completions", chat(R"("max_tokens":4,"ignore_eos":true)"));
  ASSERT_EQ(one.status, 200u) << one.body;
  Reply r = c.post("/v1/chat/completions", chat(params));
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value body = r.json();
  const auto& choices = body.at("choices").as_array();
  ASSERT_EQ(choices.size(), 3u);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    EXPECT_EQ(choices[i].at("index").as_int64(), static_cast<std::int64_t>(i));
    texts.emplace_back(choices[i].at("message").at("content").as_string());
  }
  EXPECT_TRUE(texts[0] != texts[1] || texts[1] != texts[2]) << r.body;
  EXPECT_EQ(body.at("usage").at("completion_tokens").as_int64(), 12);
  EXPECT_EQ(body.at("usage").at("prompt_tokens"), one.json().at("usage").at("prompt_tokens"));
  Reply again = c.post("/v1/chat/completions", chat(params));
  ASSERT_EQ(again.status, 200u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(again.json().at("choices").at(i).at("message").at("content").as_string(), texts[i]);
  }

  const std::string completion = R"({"model":"tiny","prompt":["a","Once upon a time"],"n":2,)"
                                 R"("max_tokens":3,"ignore_eos":true,"seed":3,"temperature":1.5,)"
                                 R"("logprobs":1,"echo":true)";
  Reply text = c.post("/v1/completions", completion + "}");
  ASSERT_EQ(text.status, 200u) << text.body;
  const json::value text_body = text.json();
  ASSERT_EQ(text_body.at("choices").as_array().size(), 4u);
  EXPECT_EQ(text_body.at("usage").at("completion_tokens").as_int64(), 12);

  // Streamed: the same four choices (prompt i's choice j at index 2i + j), each chunk one
  // choice, echo leading each choice's text, logprobs per choice, one usage chunk last.
  Reply streamed = c.post(
      "/v1/completions", completion + R"(,"stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  bool done = false;
  auto events = sseData(streamed.body, &done);
  EXPECT_TRUE(done);
  ASSERT_FALSE(events.empty());
  std::map<std::int64_t, std::string> streamed_text;
  std::map<std::int64_t, std::size_t> streamed_tokens;
  std::map<std::int64_t, std::string> finish;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto& list = events[i].at("choices").as_array();
    ASSERT_EQ(list.size(), 1u) << streamed.body;
    const auto index = list[0].at("index").as_int64();
    streamed_text[index] += list[0].at("text").as_string();
    if (list[0].at("logprobs").is_object()) {
      streamed_tokens[index] += list[0].at("logprobs").at("tokens").as_array().size();
    }
    if (list[0].at("finish_reason").is_string()) {
      finish[index] = list[0].at("finish_reason").as_string();
    }
  }
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& choice = text_body.at("choices").at(i);
    const auto index = static_cast<std::int64_t>(i);
    EXPECT_EQ(streamed_text[index], choice.at("text").as_string()) << i;
    EXPECT_EQ(streamed_tokens[index], choice.at("logprobs").at("tokens").as_array().size()) << i;
    EXPECT_EQ(finish[index], "length") << i;
  }
  EXPECT_TRUE(streamed_text[2].starts_with("Once upon a time")) << streamed_text[2];
  EXPECT_EQ(events.back().at("usage").at("completion_tokens").as_int64(), 12);
  EXPECT_EQ(events.back().at("usage").at("prompt_tokens"),
            text_body.at("usage").at("prompt_tokens"));
}

// The legacy endpoint's fields: logprobs (parallel arrays with text offsets), echo, sampling
// extensions; what the engine cannot do is refused by name, never ignored.
TEST_F(LocalGatewayTest, TextCompletionLogprobsEchoAndRefusals) {
  Client c(gateway_->port());
  const std::string prompt = "Once upon a time";
  Reply r = c.post("/v1/completions",
                   R"({"model":"tiny","prompt":")" + prompt +
                       R"(","max_tokens":6,"ignore_eos":true,"temperature":0,"logprobs":3})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value body = r.json();
  const auto& choice = body.at("choices").at(0);
  const std::string text(choice.at("text").as_string());
  const auto& lp = choice.at("logprobs");
  const auto& tokens = lp.at("tokens").as_array();
  ASSERT_EQ(tokens.size(), 6u) << r.body;
  ASSERT_EQ(lp.at("token_logprobs").as_array().size(), 6u);
  ASSERT_EQ(lp.at("text_offset").as_array().size(), 6u);
  EXPECT_EQ(lp.at("text_offset").at(0).as_int64(), 0);
  for (const auto& top : lp.at("top_logprobs").as_array()) EXPECT_EQ(top.as_object().size(), 3u);

  // echo: the prompt leads the text; the same continuation follows it.
  Reply echoed = c.post("/v1/completions",
                        R"({"model":"tiny","prompt":")" + prompt +
                            R"(","max_tokens":6,"ignore_eos":true,"temperature":0,"echo":true})");
  ASSERT_EQ(echoed.status, 200u) << echoed.body;
  EXPECT_EQ(echoed.json().at("choices").at(0).at("text").as_string(), prompt + text);

  // echo with logprobs (what evaluation harnesses send to score a continuation): the prompt's
  // tokens lead, the first without a number, offsets running over the prompt and on into the
  // generated tokens, which are the same as without echo.
  Reply scored = c.post("/v1/completions",
                        R"({"model":"tiny","prompt":")" + prompt +
                            R"(","max_tokens":6,"ignore_eos":true,"temperature":0,"echo":true,)"
                            R"("logprobs":3})");
  ASSERT_EQ(scored.status, 200u) << scored.body;
  const json::value scored_body = scored.json();
  const auto& scored_choice = scored_body.at("choices").at(0);
  EXPECT_EQ(scored_choice.at("text").as_string(), prompt + text);
  const auto& slp = scored_choice.at("logprobs");
  const auto& stokens = slp.at("tokens").as_array();
  const std::size_t n_prompt =
      static_cast<std::size_t>(scored_body.at("usage").at("prompt_tokens").as_int64());
  ASSERT_EQ(stokens.size(), n_prompt + 6) << scored.body;
  std::string scored_text;
  for (const auto& t : stokens) scored_text += t.as_string();
  EXPECT_EQ(scored_text, prompt + text);
  const auto& slogprobs = slp.at("token_logprobs").as_array();
  const auto& stops = slp.at("top_logprobs").as_array();
  const auto& soffsets = slp.at("text_offset").as_array();
  EXPECT_TRUE(slogprobs.at(0).is_null());
  EXPECT_TRUE(stops.at(0).is_null());
  std::int64_t at = 0;
  for (std::size_t i = 0; i < stokens.size(); ++i) {
    EXPECT_EQ(soffsets.at(i).as_int64(), at) << i;
    for (char ch : stokens.at(i).as_string()) {  // characters: UTF-8 lead bytes
      if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++at;
    }
    if (i == 0) continue;
    EXPECT_LE(slogprobs.at(i).as_double(), 0.0) << i;
    EXPECT_EQ(stops.at(i).as_object().size(), 3u) << i;
  }
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(stokens.at(n_prompt + i), tokens.at(i));
    EXPECT_NEAR(slogprobs.at(n_prompt + i).as_double(), lp.at("token_logprobs").at(i).as_double(),
                1e-3);
  }
  // max_tokens 0 only scores the prompt (without echo and logprobs it is a 400).
  Reply prompt_only =
      c.post("/v1/completions", R"({"model":"tiny","prompt":")" + prompt +
                                    R"(","max_tokens":0,"echo":true,"logprobs":0})");
  ASSERT_EQ(prompt_only.status, 200u) << prompt_only.body;
  const json::value prompt_only_body = prompt_only.json();
  EXPECT_EQ(prompt_only_body.at("choices").at(0).at("text").as_string(), prompt);
  EXPECT_EQ(prompt_only_body.at("choices").at(0).at("logprobs").at("tokens").as_array().size(),
            n_prompt);
  EXPECT_EQ(prompt_only_body.at("usage").at("completion_tokens").as_int64(), 0);
  Reply zero =
      c.post("/v1/completions", R"({"model":"tiny","prompt":")" + prompt + R"(","max_tokens":0})");
  EXPECT_EQ(zero.status, 400u) << zero.body;

  // Streamed, the prompt's entries come in the first chunk, then the same as above.
  Reply scored_stream =
      c.post("/v1/completions",
             R"({"model":"tiny","prompt":")" + prompt +
                 R"(","max_tokens":6,"ignore_eos":true,"temperature":0,"echo":true,"logprobs":3,)"
                 R"("stream":true})");
  ASSERT_EQ(scored_stream.status, 200u) << scored_stream.body;
  json::array streamed_tokens;
  for (const auto& e : sseData(scored_stream.body)) {
    for (const auto& ch : e.at("choices").as_array()) {
      if (ch.at("logprobs").is_null()) continue;
      for (const auto& t : ch.at("logprobs").at("tokens").as_array()) streamed_tokens.push_back(t);
    }
  }
  EXPECT_EQ(streamed_tokens, stokens);

  // Streamed: the chunks' tokens are the whole answer's, offsets running on.
  Reply streamed = c.post(
      "/v1/completions",
      R"({"model":"tiny","prompt":")" + prompt +
          R"(","max_tokens":6,"ignore_eos":true,"temperature":0,"logprobs":1,"stream":true})");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  std::vector<std::int64_t> offsets;
  std::string streamed_text;
  for (const auto& e : sseData(streamed.body)) {
    for (const auto& ch : e.at("choices").as_array()) {
      streamed_text += ch.at("text").as_string();
      if (ch.at("logprobs").is_null()) continue;
      for (const auto& o : ch.at("logprobs").at("text_offset").as_array()) {
        offsets.push_back(o.as_int64());
      }
    }
  }
  EXPECT_EQ(streamed_text, text);
  std::vector<std::int64_t> expected;
  for (const auto& o : lp.at("text_offset").as_array()) expected.push_back(o.as_int64());
  EXPECT_EQ(offsets, expected);

  // Offsets count characters as the client receives the text. Token 378 is the bytes E2 80, the
  // start of a 3-byte character ("—" is E2 80 94) that the next token never completes: each
  // token's two bytes reach the client as two U+FFFD, so the tokens start 2 characters apart.
  for (const bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streamed" : "whole");
    Reply broken =
        c.post("/v1/completions", std::string(R"({"model":"tiny","prompt":"x","max_tokens":3,)") +
                                      R"("temperature":0,"ignore_eos":true,"logprobs":0,)" +
                                      R"("logit_bias":{"378":100},"stream":)" +
                                      (stream ? "true}" : "false}"));
    ASSERT_EQ(broken.status, 200u) << broken.body;
    std::vector<json::value> bodies;
    if (stream) {
      bodies = sseData(broken.body);
    } else {
      bodies.push_back(broken.json());
    }
    std::string broken_text;
    std::vector<std::int64_t> broken_offsets;
    for (const auto& b : bodies) {
      for (const auto& ch : b.at("choices").as_array()) {
        broken_text += ch.at("text").as_string();
        if (ch.at("logprobs").is_null()) continue;
        for (const auto& o : ch.at("logprobs").at("text_offset").as_array()) {
          broken_offsets.push_back(o.as_int64());
        }
      }
    }
    std::string six_replacements;
    for (int i = 0; i < 6; ++i) six_replacements += "\xEF\xBF\xBD";
    EXPECT_EQ(broken_text, six_replacements);
    EXPECT_EQ(broken_offsets, (std::vector<std::int64_t>{0, 2, 4}));
  }

  // A sampling extension is honoured: a bias of 100 on one token makes it the answer.
  Reply biased =
      c.post("/v1/completions", R"({"model":"tiny","prompt":"x","max_tokens":3,"temperature":0,)"
                                R"("logit_bias":{"9707":100}})");
  ASSERT_EQ(biased.status, 200u) << biased.body;
  Reply one = c.post(
      "/v1/completions",
      R"({"model":"tiny","prompt":"x","max_tokens":1,"temperature":0,"logit_bias":{"9707":100},"logprobs":0})");
  ASSERT_EQ(one.status, 200u) << one.body;
  const std::string token(
      one.json().at("choices").at(0).at("logprobs").at("tokens").at(0).as_string());
  EXPECT_EQ(biased.json().at("choices").at(0).at("text").as_string(), token + token + token);

  // Several prompts: one choice each, in order, each what it gets alone; usage summed.
  Reply several = c.post("/v1/completions",
                         R"({"model":"tiny","prompt":["x","Once upon a time"],"max_tokens":3,)"
                         R"("temperature":0,"logit_bias":{"9707":100}})");
  ASSERT_EQ(several.status, 200u) << several.body;
  const json::value several_body = several.json();
  const auto& choices = several_body.at("choices").as_array();
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(choices.at(0).at("index").as_int64(), 0);
  EXPECT_EQ(choices.at(1).at("index").as_int64(), 1);
  EXPECT_EQ(choices.at(0).at("text"), biased.json().at("choices").at(0).at("text"));
  EXPECT_EQ(choices.at(1).at("text").as_string(), token + token + token);
  EXPECT_EQ(several.json().at("usage").at("completion_tokens").as_int64(), 6);

  for (const auto& [extra, param] : std::vector<std::pair<std::string, std::string>>{
           {R"("prompt":[[1,2,3]])", "prompt"},
           {R"("prompt":[])", "prompt"},
           {R"("prompt":["a","b","c"],"n":50)", "prompt"},
           {R"("best_of":3)", "best_of"},
           {R"("suffix":" The end.")", "suffix"},
           {R"("logprobs":21)", "logprobs"},
           {R"("top_k":"many")", "top_k"},
           {R"("frequency_penalty":5)", "frequency_penalty"}}) {
    const std::string prompt = extra.starts_with(R"("prompt")") ? "" : R"("prompt":"x",)";
    Reply bad = c.post("/v1/completions",
                       R"({"model":"tiny",)" + prompt + R"("max_tokens":2,)" + extra + "}");
    EXPECT_EQ(bad.status, 400u) << extra << ": " << bad.body;
    EXPECT_EQ(bad.json().at("error").at("param"), json::value(param)) << bad.body;
  }
}

TEST_F(LocalGatewayTest, SharedPrefixReportsCachedTokens) {
  Client c(gateway_->port());
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "The quick brown fox jumps over the lazy dog. ";
  const std::string params = R"("max_tokens":2,"temperature":0)";
  ASSERT_EQ(c.post("/v1/chat/completions", chat(params, long_text + "First?")).status, 200u);
  Reply second = c.post("/v1/chat/completions", chat(params, long_text + "Second?"));
  ASSERT_EQ(second.status, 200u) << second.body;
  const json::value body = second.json();
  const auto& usage = body.at("usage");
  const auto cached = usage.at("prompt_tokens_details").at("cached_tokens").as_int64();
  EXPECT_GT(cached, 300) << second.body;
  EXPECT_LT(cached, usage.at("prompt_tokens").as_int64());
}

TEST_F(LocalGatewayTest, LoraFieldChoosesTheAdapter) {
  Client c(gateway_->port());
  const std::string params = R"("max_tokens":12,"ignore_eos":true,"temperature":0)";
  auto content = [&](const std::string& extra) {
    Reply r = c.post("/v1/chat/completions", chat(params + extra));
    EXPECT_EQ(r.status, 200u) << r.body;
    if (r.status != 200u) return std::string();
    return std::string(r.json().at("choices").at(0).at("message").at("content").as_string());
  };
  const std::string base = content("");
  const std::string by_name = content(R"(,"lora":[{"name":"style","scale":1.0}])");
  const std::string by_id = content(R"(,"lora":[{"id":0}])");  // llama-server's form
  EXPECT_NE(by_name, base);
  EXPECT_EQ(by_id, by_name);
  EXPECT_EQ(content(R"(,"lora":[])"), base);

  Reply unknown = c.post("/v1/chat/completions", chat(params + R"(,"lora":[{"name":"nope"}])"));
  EXPECT_EQ(unknown.status, 400u) << unknown.body;
  EXPECT_NE(unknown.body.find("nope"), std::string::npos) << unknown.body;
  EXPECT_NE(unknown.body.find("style"), std::string::npos) << unknown.body;
  Reply malformed = c.post("/v1/chat/completions", chat(params + R"(,"lora":"style")"));
  EXPECT_EQ(malformed.status, 400u) << malformed.body;
}

TEST_F(LocalGatewayTest, JsonSchemaOutputParses) {
  Client c(gateway_->port());
  const std::string format =
      R"("response_format":{"type":"json_schema","json_schema":{"name":"p","schema":)"
      R"({"type":"object","properties":{"name":{"type":"string","maxLength":8},)"
      R"("age":{"type":"integer","minimum":0,"maximum":120}},"required":["name","age"],)"
      R"("additionalProperties":false}}},"max_tokens":200,"seed":7)";
  for (int i = 0; i < 3; ++i) {
    Reply r = c.post("/v1/chat/completions", chat(format));
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto content = r.json().at("choices").at(0).at("message").at("content").as_string();
    boost::system::error_code ec;
    auto parsed = json::parse(content, ec);
    ASSERT_FALSE(ec) << content;
    EXPECT_TRUE(parsed.at("name").is_string()) << content;
    EXPECT_TRUE(parsed.at("age").is_int64()) << content;
  }
}

TEST_F(LocalGatewayTest, TextCompletionsAndEmbeddings) {
  Client c(gateway_->port());
  Reply r =
      c.post("/v1/completions",
             R"({"model":"tiny","prompt":"Once upon a time","max_tokens":5,"ignore_eos":true})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("object"), "text_completion");
  EXPECT_EQ(r.json().at("usage").at("completion_tokens").as_int64(), 5);

  Reply e = c.post("/v1/embeddings", R"({"model":"tiny","input":["hello world","goodbye"]})");
  ASSERT_EQ(e.status, 200u) << e.body;
  const json::value body = e.json();
  const auto& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  for (const auto& item : data) {
    const auto& v = item.at("embedding").as_array();
    EXPECT_EQ(v.size(), 64u);  // the tiny model's width
    double norm = 0;
    for (const auto& x : v) norm += x.to_number<double>() * x.to_number<double>();
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-3);
  }
  EXPECT_GT(e.json().at("usage").at("prompt_tokens").as_int64(), 2);
}

// Ollama's logprobs (top-level `logprobs`, one entry per token, on every streamed line that has
// tokens), from /api/chat and a raw /api/generate alike.
TEST_F(LocalGatewayTest, OllamaLogprobsStreamedOrNot) {
  Client c(gateway_->port());
  const std::string options = R"("options":{"temperature":0,"num_predict":5},"logprobs":true,)"
                              R"("top_logprobs":2)";
  Reply whole = c.post("/api/chat", R"({"model":"tiny","stream":false,"messages":[)"
                                    R"({"role":"user","content":"Hello"}],)" +
                                        options + "}");
  ASSERT_EQ(whole.status, 200u) << whole.body;
  const json::value body = whole.json();
  const auto& entries = body.at("logprobs").as_array();
  ASSERT_EQ(static_cast<std::int64_t>(entries.size()), body.at("eval_count").as_int64());
  std::string joined;
  for (const auto& e : entries) {
    joined += e.at("token").as_string();
    EXPECT_EQ(e.at("top_logprobs").as_array().size(), 2u);
    EXPECT_LE(e.at("logprob").to_number<double>(), 0.0);
  }
  EXPECT_EQ(joined, body.at("message").at("content").as_string());

  Reply streamed = c.post("/api/chat", R"({"model":"tiny","messages":[)"
                                       R"({"role":"user","content":"Hello"}],)" +
                                           options + "}");
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  std::size_t streamed_entries = 0;
  std::istringstream lines(streamed.body);
  for (std::string line; std::getline(lines, line);) {
    const json::value l = json::parse(line);
    if (const auto* lp = l.as_object().if_contains("logprobs")) {
      streamed_entries += lp->as_array().size();
    }
  }
  EXPECT_EQ(streamed_entries, entries.size()) << streamed.body;

  Reply raw = c.post("/api/generate", R"({"model":"tiny","prompt":"Once upon","raw":true,)"
                                      R"("stream":false,)" +
                                          options + "}");
  ASSERT_EQ(raw.status, 200u) << raw.body;
  const json::value raw_body = raw.json();
  std::string raw_joined;
  for (const auto& e : raw_body.at("logprobs").as_array()) {
    raw_joined += e.at("token").as_string();
    EXPECT_EQ(e.at("top_logprobs").as_array().size(), 2u);
  }
  EXPECT_EQ(raw_joined, raw_body.at("response").as_string());
}

// Ollama's prompt_eval_duration and eval_duration are the engine's own phases, streamed or not
// (a whole answer used to report the ~1 µs between its arrival and its encoding as eval).
TEST_F(LocalGatewayTest, OllamaDurationsAreTheEnginesOwn) {
  Client c(gateway_->port());
  for (const char* stream : {"false", "true"}) {
    Reply r = c.post("/api/chat", std::string(R"({"model":"tiny","stream":)") + stream +
                                      R"(,"options":{"temperature":0,"num_predict":6},)"
                                      R"("messages":[{"role":"user","content":"Hello"}]})");
    ASSERT_EQ(r.status, 200u) << r.body;
    std::string last = r.body.substr(0, r.body.find_last_not_of('\n') + 1);
    last = last.substr(last.find_last_of('\n') + 1);
    const json::value j = json::parse(last);
    ASSERT_EQ(j.at("done"), true) << stream << ": " << r.body;
    ASSERT_EQ(j.at("eval_count"), 6) << r.body;
    const std::int64_t prompt = j.at("prompt_eval_duration").as_int64();
    const std::int64_t eval = j.at("eval_duration").as_int64();
    EXPECT_GT(prompt, 0) << stream;
    // Five decode steps after the first token: each runs the model, far above 10 µs.
    EXPECT_GT(eval, 5 * 10'000) << stream << ": " << last;
    EXPECT_LE(prompt + eval, j.at("total_duration").as_int64()) << stream;
  }
}

TEST_F(LocalGatewayTest, OllamaListingDescribesTheGgufFile) {
  Client c(gateway_->port());
  Reply tags = c.call(boost::beast::http::verb::get, "/api/tags");
  ASSERT_EQ(tags.status, 200u) << tags.body;
  const json::value body = tags.json();
  const json::value* tiny = nullptr;
  for (const auto& m : body.at("models").as_array()) {
    if (m.at("name") == "tiny") tiny = &m;
  }
  ASSERT_NE(tiny, nullptr) << tags.body;
  EXPECT_EQ(tiny->at("size").as_int64(),
            static_cast<std::int64_t>(std::filesystem::file_size(*model_path_)));
  // The file's SHA-256 once loaded (`ollama list` shows its first 12 digits as the ID), the
  // same as /api/ps says.
  ASSERT_EQ(c.post("/api/generate", R"({"model":"tiny"})").status, 200u);  // a load probe
  Reply listed = c.call(boost::beast::http::verb::get, "/api/tags");
  const json::value listed_body = listed.json();
  std::string digest;
  for (const auto& m : listed_body.at("models").as_array()) {
    if (m.at("name") == "tiny") digest = m.at("digest").as_string();
  }
  EXPECT_EQ(digest.size(), 64u) << listed.body;
  Reply ps = c.call(boost::beast::http::verb::get, "/api/ps");
  EXPECT_NE(ps.body.find("\"digest\":\"" + digest + "\""), std::string::npos) << ps.body;
  const auto& details = tiny->at("details");
  EXPECT_EQ(details.at("format"), "gguf");
  EXPECT_EQ(details.at("family"), "qwen2");
  EXPECT_EQ(details.at("families"), json::parse(R"(["qwen2"])"));
  EXPECT_EQ(details.at("quantization_level"), "F32");
  EXPECT_TRUE(std::string(details.at("parameter_size").as_string()).ends_with("M"))
      << details;
  Reply show = c.post("/api/show", R"({"model":"tiny"})");
  ASSERT_EQ(show.status, 200u) << show.body;
  EXPECT_EQ(show.json().at("model_info").at("general.architecture"), "qwen2");
  EXPECT_GT(show.json().at("model_info").at("general.parameter_count").as_int64(), 1000);
  // The keys `ollama show` prints, named after the architecture as in Ollama's answer.
  EXPECT_GT(show.json().at("model_info").at("qwen2.context_length").as_int64(), 0) << show.body;
  EXPECT_GT(show.json().at("model_info").at("qwen2.embedding_length").as_int64(), 0);
  EXPECT_NE(std::string(show.json().at("template").as_string()).find("<|im_start|>"),
            std::string::npos)
      << show.body;  // the GGUF's own chat template
}

// GET /api/ps: the local models loaded now.
json::value ollamaPs(std::uint16_t port) {
  Client c(port);
  Reply r = c.call(boost::beast::http::verb::get, "/api/ps");
  EXPECT_EQ(r.status, 200u) << r.body;
  return r.json();
}

// Seconds from now to a model's expires_at (RFC 3339, UTC).
double expiresIn(const json::value& m) {
  std::tm tm{};
  const std::string text(m.at("expires_at").as_string());
  EXPECT_NE(strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << text;
  return static_cast<double>(timegm(&tm)) - static_cast<double>(std::time(nullptr));
}

const json::value* findModel(const json::value& ps, std::string_view name) {
  for (const auto& m : ps.at("models").as_array()) {
    if (m.at("name").as_string() == name) return &m;
  }
  return nullptr;
}

// Ollama's GET /api/ps (`ollama ps`): the local models loaded now, under each public name.
TEST_F(LocalGatewayTest, OllamaPsListsTheLoadedModel) {
  auto ps = [this] { return ollamaPs(gateway_->port()); };
  auto find = findModel;
  for (auto idle : {std::chrono::milliseconds(0), std::chrono::milliseconds(600'000)}) {
    SCOPED_TRACE("idle_unload " + std::to_string(idle.count()) + " ms");
    start(2, std::chrono::seconds(60), {}, idle);
    EXPECT_EQ(ps(), json::parse(R"({"models":[]})"));  // nothing loaded before a request
    Client c(gateway_->port());
    ASSERT_EQ(c.post("/v1/chat/completions", chat(R"("max_tokens":2)")).status, 200u);

    const json::value body = ps();
    const json::value* tiny = find(body, "tiny");
    ASSERT_NE(tiny, nullptr) << body;
    EXPECT_NE(find(body, "default"), nullptr) << body;  // the alias names the same engine
    EXPECT_EQ(tiny->at("model"), "tiny");
    EXPECT_EQ(tiny->at("digest").as_string().size(), 64u);
    EXPECT_GT(tiny->at("size").as_int64(), 1'000'000);
    EXPECT_LE(tiny->at("size_vram").as_int64(), tiny->at("size").as_int64());
    EXPECT_EQ(tiny->at("context_length").as_int64(), 512);
    EXPECT_EQ(tiny->at("details").at("format"), "gguf");
    EXPECT_EQ(tiny->at("details").at("family"), "qwen2");
    if (idle.count() == 0) {
      EXPECT_GT(expiresIn(*tiny), 50.0 * 365 * 86400);  // kept forever
    } else {
      EXPECT_NEAR(expiresIn(*tiny), 600.0, 60.0);  // ten minutes after its last use
    }
  }
}

// Ollama's keep_alive: each request says how long its model stays loaded afterwards (one
// without it, the configured idle time); a request with nothing to answer loads the model, or
// with keep_alive 0 unloads it (`ollama stop`).
TEST_F(LocalGatewayTest, OllamaKeepAliveLoadsAndUnloadsTheModel) {
  start(2, std::chrono::seconds(60), {}, std::chrono::minutes(10));
  const std::uint16_t port = gateway_->port();
  auto tiny = [port]() -> std::optional<json::value> {
    const json::value ps = ollamaPs(port);
    const json::value* m = findModel(ps, "tiny");
    return m == nullptr ? std::nullopt : std::optional<json::value>(*m);
  };
  // The registry unloads on its own thread: a keep_alive of 0 takes effect a moment later.
  auto unloadedSoon = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (tiny() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return !tiny();
  };
  auto post = [port](const std::string& path, const std::string& body) {
    return fakes::post(port, path, body);
  };
  const std::string prompt =
      R"("stream":false,"options":{"num_predict":2},"messages":[{"role":"user","content":"Hi"}])";

  // `ollama stop` on a model that is not loaded: nothing to do, nothing loaded.
  Reply r = post("/api/generate", R"({"model":"tiny","keep_alive":0})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("done_reason"), "unload");
  EXPECT_FALSE(tiny());

  // The load probe loads it (`ollama run` sends one first), for keep_alive -1 until its room is
  // needed: expires_at a century ahead.
  r = post("/api/generate", R"({"model":"tiny:latest","keep_alive":-1})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("done_reason"), "load");
  ASSERT_TRUE(tiny());
  EXPECT_GT(expiresIn(*tiny()), 50.0 * 365 * 86400);

  // A request without keep_alive puts the configured idle time back; "90s" its own.
  ASSERT_EQ(post("/api/chat", R"({"model":"tiny",)" + prompt + "}").status, 200u);
  ASSERT_TRUE(tiny());
  EXPECT_NEAR(expiresIn(*tiny()), 600.0, 60.0);
  ASSERT_EQ(post("/api/chat", R"({"model":"tiny","keep_alive":"90s",)" + prompt + "}").status,
            200u);
  ASSERT_TRUE(tiny());
  EXPECT_NEAR(expiresIn(*tiny()), 90.0, 30.0);

  // keep_alive 0 on a real request: answered first, unloaded after.
  r = post("/api/chat", R"({"model":"tiny","keep_alive":0,)" + prompt + "}");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("eval_count"), 2) << r.body;
  EXPECT_TRUE(unloadedSoon());

  // The next request loads it again, and says so in load_duration; the one after does not.
  for (bool loads : {true, false}) {
    r = post("/api/chat", R"({"model":"tiny",)" + prompt + "}");
    ASSERT_EQ(r.status, 200u) << r.body;
    const std::int64_t load = r.json().at("load_duration").as_int64();
    if (loads) {
      EXPECT_GT(load, 1'000'000) << r.body;  // a load takes far more than a millisecond
      EXPECT_LT(load, r.json().at("total_duration").as_int64());
    } else {
      EXPECT_EQ(load, 0) << r.body;
    }
  }

  // `ollama stop` (an empty chat with keep_alive 0 works as well as generate).
  ASSERT_TRUE(tiny());
  r = post("/api/chat", R"({"model":"tiny","messages":[],"keep_alive":"0s"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("done_reason"), "unload");
  EXPECT_TRUE(unloadedSoon());

  // A duration Ollama would not read is the client's error, naming the field.
  r = post("/api/generate", R"({"model":"tiny","keep_alive":"a while"})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("keep_alive"), std::string::npos) << r.body;
  EXPECT_FALSE(tiny());
}

TEST_F(LocalGatewayTest, BadInputGetsClearErrors) {
  Client c(gateway_->port());
  std::string huge;
  for (int i = 0; i < 200; ++i) huge += "many words fill up the context here ";
  Reply too_long = c.post("/v1/chat/completions", chat("", huge));
  EXPECT_EQ(too_long.status, 400u) << too_long.body;
  const std::string message(too_long.json().at("error").at("message").as_string());
  EXPECT_NE(message.find("tokens but the context holds 512"), std::string::npos) << message;
  EXPECT_EQ(too_long.json().at("error").at("code"), "context_length_exceeded");

  Reply unknown = c.post("/v1/chat/completions",
                         R"({"model":"local/nope","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unknown.status, 404u) << unknown.body;

  Reply image = c.post(
      "/v1/chat/completions",
      R"({"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]})");
  EXPECT_EQ(image.status, 400u) << image.body;
  EXPECT_NE(image.body.find("image input"), std::string::npos) << image.body;
}

// n choices streamed as OpenAI streams them: each chunk one choice's delta under its index, the
// role first and a finish last for each, one usage chunk after all (the prompt counted once).
// With a seed each choice is what the same request gives unstreamed.
TEST_F(LocalGatewayTest, SeveralChoicesStreamUnderTheirIndexes) {
  Client c(gateway_->port());
  const std::string params = R"("n":3,"max_tokens":6,"ignore_eos":true,"seed":7,)"
                             R"("temperature":1.5,"logprobs":true)";
  Reply whole = c.post("/v1/chat/completions", chat(params));
  ASSERT_EQ(whole.status, 200u) << whole.body;
  const json::value whole_body = whole.json();
  ASSERT_EQ(whole_body.at("choices").as_array().size(), 3u);

  Reply streamed =
      c.post("/v1/chat/completions",
             chat(params + R"(,"stream":true,"stream_options":{"include_usage":true})"));
  ASSERT_EQ(streamed.status, 200u) << streamed.body;
  bool done = false;
  auto events = sseData(streamed.body, &done);
  EXPECT_TRUE(done);
  std::map<std::int64_t, std::string> text;
  std::map<std::int64_t, int> roles;
  std::map<std::int64_t, int> logprobs;
  std::map<std::int64_t, std::string> finish;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto& choices = events[i].at("choices").as_array();
    ASSERT_EQ(choices.size(), 1u) << streamed.body;
    const auto index = choices[0].at("index").as_int64();
    EXPECT_FALSE(finish.contains(index)) << "a chunk after the choice finished";
    const auto& delta = choices[0].at("delta").as_object();
    if (delta.contains("role")) ++roles[index];
    if (auto* content = delta.if_contains("content"); content && content->is_string()) {
      text[index] += content->as_string();
    }
    if (auto* lp = choices[0].as_object().if_contains("logprobs"); lp && lp->is_object()) {
      logprobs[index] += static_cast<int>(lp->at("content").as_array().size());
    }
    if (choices[0].at("finish_reason").is_string()) {
      finish[index] = choices[0].at("finish_reason").as_string();
    }
  }
  for (std::int64_t i = 0; i < 3; ++i) {
    const auto& choice = whole_body.at("choices").at(static_cast<std::size_t>(i));
    EXPECT_EQ(text[i], choice.at("message").at("content").as_string()) << i;
    EXPECT_EQ(roles[i], 1) << i;
    EXPECT_EQ(logprobs[i], 6) << i;
    EXPECT_EQ(finish[i], "length") << i;
  }
  EXPECT_NE(text[0], text[1]);  // seed + index: the choices differ
  const auto& usage = events.back().at("usage");
  EXPECT_TRUE(events.back().at("choices").as_array().empty());
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), 18);
  EXPECT_EQ(usage.at("prompt_tokens"), whole_body.at("usage").at("prompt_tokens"));
}

// A prompt's template and tokens are made off the I/O threads (about 1.5 s for this one): the
// gateway's other connections are answered meanwhile, not after it. Health checks on fresh
// connections (either I/O thread) run for as long as the long prompt is in the gateway; none may
// wait a fifth of that time (one stuck behind the tokenizer waits nearly all of it).
TEST_F(LocalGatewayTest, LongPromptDoesNotStallOtherConnections) {
  using Clock = std::chrono::steady_clock;
  Client big(gateway_->port());
  const auto start = Clock::now();
  big.send("/v1/chat/completions", chat(R"("max_tokens":1)", std::string(1 << 20, 'a')));
  Clock::duration worst{};
  int checks = 0;
  while (!big.answered()) {
    const auto t0 = Clock::now();
    ASSERT_EQ(fakes::request(gateway_->port(), boost::beast::http::verb::get, "/healthz").status,
              200u);
    worst = std::max(worst, Clock::now() - t0);
    ++checks;
  }
  const auto total = Clock::now() - start;
  EXPECT_LT(worst * 5, total) << checks << " health checks, the slowest "
                              << std::chrono::duration<double, std::milli>(worst).count()
                              << " ms, the long prompt's answer after "
                              << std::chrono::duration<double, std::milli>(total).count() << " ms";
  Reply r = big.readReply();
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(r.body.find("context_length_exceeded"), std::string::npos) << r.body;
}

TEST_F(LocalGatewayTest, ClientDisconnectMidStreamLeavesTheEngineServing) {
  // One sequence: the abandoned stream must give it back (the engine's own tests assert the
  // slot is freed at once; here the HTTP side's cancel path is exercised end to end).
  start(/*parallel=*/1);
  for (int i = 0; i < 3; ++i) {
    Client c(gateway_->port());
    c.send("/v1/chat/completions", chat(R"("max_tokens":100000,"ignore_eos":true,"stream":true)"));
    const std::string first = c.readSome(1);
    EXPECT_NE(first.find("data: "), std::string::npos);
    c.close();
  }
  Client c2(gateway_->port());
  Reply r = c2.post("/v1/chat/completions", chat(R"("max_tokens":3,"ignore_eos":true)"));
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("usage").at("completion_tokens").as_int64(), 3);
}

TEST_F(LocalGatewayTest, RequestTimeoutEndsALongGeneration) {
  start(/*parallel=*/1, std::chrono::milliseconds(1));
  Client c(gateway_->port());
  Reply r = c.post("/v1/chat/completions", chat(R"("max_tokens":400,"ignore_eos":true)"));
  EXPECT_EQ(r.status, 504u) << r.body;
}

}  // namespace
}  // namespace switchyard
