#include "switchyard/engine/chat_format.h"

#include <gtest/gtest.h>
#include <llama.h>

#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <sstream>

#include "switchyard/engine/llama_runtime.h"
#include "switchyard/engine/test_models.h"

namespace switchyard::engine {
namespace {

struct VocabModel {
  void operator()(llama_model* m) const { llama_model_free(m); }
};

std::unique_ptr<llama_model, VocabModel> loadVocab(const std::string& path) {
  ensureLlamaRuntime();
  auto params = llama_model_default_params();
  params.vocab_only = true;
  return std::unique_ptr<llama_model, VocabModel>(llama_model_load_from_file(path.c_str(), params));
}

std::string readTemplate(const std::string& name) {
  std::ifstream in(testing_models::llamaModelsDir() + "/templates/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Feeds `text` to the parser a few bytes at a time, as tokens would arrive, and sums the deltas.
struct Streamed {
  std::string content, reasoning;
  std::vector<ToolCall> calls;
  int name_announcements = 0;
};
Streamed stream(OutputParser& parser, const std::string& text, std::size_t step = 3) {
  Streamed out;
  auto absorb = [&](const EngineEvent& ev) {
    out.content += ev.text;
    out.reasoning += ev.reasoning_text;
    for (const auto& d : ev.tool_calls) {
      if (static_cast<std::size_t>(d.index) >= out.calls.size()) out.calls.resize(d.index + 1);
      auto& c = out.calls[static_cast<std::size_t>(d.index)];
      if (!d.name.empty()) {
        ++out.name_announcements;
        c.name = d.name;
        c.id = d.id;
      }
      c.arguments += d.arguments;
    }
  };
  for (std::size_t n = step; n < text.size(); n += step) {
    EngineEvent ev;
    parser.update(text.substr(0, n), /*is_partial=*/true, ev);
    absorb(ev);
  }
  EngineEvent last;
  parser.update(text, /*is_partial=*/false, last);
  absorb(last);
  return out;
}

// "Weather in Paris?" with one get_weather(city) tool.
GenerationRequest weatherRequest() {
  GenerationRequest r;
  r.messages.push_back({.role = "user", .content = "Weather in Paris?"});
  r.tools.push_back(
      {.name = "get_weather",
       .description = "Weather",
       .parameters =
           R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})"});
  return r;
}

TEST(ChatFormatTest, Qwen25ToolCallsStreamAsDeltas) {
  auto model = loadVocab(testing_models::tinyQwen2Tools());
  ASSERT_TRUE(model);
  auto fmt = ChatFormatter::create(model.get(), "");
  ASSERT_TRUE(fmt) << fmt.error().toString();

  GenerationRequest r = weatherRequest();
  auto rendered = (*fmt)->render(r);
  ASSERT_TRUE(rendered) << rendered.error().toString();
  EXPECT_NE(rendered->prompt.find("get_weather"), std::string::npos);  // tools are in the prompt
  EXPECT_TRUE(rendered->parse_output);
  EXPECT_FALSE(rendered->grammar.empty());
  EXPECT_TRUE(rendered->grammar_lazy);  // tool_choice auto: free text until a call starts

  OutputParser parser(rendered->parser);
  auto out = stream(parser,
                    "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                    "{\"city\": \"Paris\"}}\n</tool_call>");
  EXPECT_EQ(out.content.rfind("Let me check.", 0), 0u) << out.content;
  EXPECT_EQ(out.content.find("tool_call"), std::string::npos) << out.content;
  ASSERT_EQ(out.calls.size(), 1u);
  EXPECT_EQ(out.calls[0].name, "get_weather");
  EXPECT_EQ(out.name_announcements, 1);
  EXPECT_FALSE(out.calls[0].id.empty());
  auto args = boost::json::parse(out.calls[0].arguments);
  EXPECT_EQ(args.at("city").as_string(), "Paris");
  EXPECT_TRUE(parser.hasToolCalls());
}

TEST(ChatFormatTest, Qwen3ReasoningIsSeparated) {
  auto model = loadVocab(testing_models::tinyQwen2Tools());
  ASSERT_TRUE(model);
  const auto tmpl = readTemplate("Qwen-Qwen3-0.6B.jinja");
  ASSERT_FALSE(tmpl.empty());
  auto fmt = ChatFormatter::create(model.get(), tmpl);
  ASSERT_TRUE(fmt) << fmt.error().toString();
  GenerationRequest r;
  r.messages.push_back({.role = "user", .content = "2+2?"});
  auto rendered = (*fmt)->render(r);
  ASSERT_TRUE(rendered) << rendered.error().toString();
  OutputParser parser(rendered->parser);
  auto out = stream(parser, "<think>\nadd two and two\n</think>\n\nIt is 4.");
  // Streaming cannot take back the newline sent before "</think>" arrived.
  EXPECT_TRUE(out.reasoning == "add two and two" || out.reasoning == "add two and two\n")
      << out.reasoning;
  EXPECT_EQ(out.content, "It is 4.");

  r.enable_thinking = false;
  auto off = (*fmt)->render(r);
  ASSERT_TRUE(off);
  EXPECT_NE(off->prompt.find("<think>\n\n</think>"), std::string::npos);
}

TEST(ChatFormatTest, PlainChatTextPassesThroughAsContent) {
  auto model = loadVocab(testing_models::tinyQwen2());
  ASSERT_TRUE(model);
  auto fmt = ChatFormatter::create(model.get(), "");
  ASSERT_TRUE(fmt);
  GenerationRequest r;
  r.messages.push_back({.role = "system", .content = "Be brief."});
  r.messages.push_back({.role = "user", .content = "hi"});
  auto rendered = (*fmt)->render(r);
  ASSERT_TRUE(rendered);
  EXPECT_EQ(rendered->prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_TRUE(rendered->grammar.empty());
  const std::string text = "Odd <b>text</b> with {braces} and <tool_call> look-alikes.";
  if (rendered->parse_output) {
    OutputParser parser(rendered->parser);
    auto out = stream(parser, text, 1);
    EXPECT_EQ(out.content, text);
    EXPECT_TRUE(out.calls.empty());
  }
}

TEST(ChatFormatTest, RawPromptWithSchemaGetsAGrammar) {
  auto model = loadVocab(testing_models::tinyQwen2());
  ASSERT_TRUE(model);
  auto fmt = ChatFormatter::create(model.get(), "");
  ASSERT_TRUE(fmt);
  GenerationRequest r;
  r.raw_prompt = "JSON:";
  r.json_schema = R"({"type":"object","properties":{"a":{"type":"integer"}}})";
  auto rendered = (*fmt)->render(r);
  ASSERT_TRUE(rendered);
  EXPECT_EQ(rendered->prompt, "JSON:");
  EXPECT_FALSE(rendered->grammar.empty());
  EXPECT_FALSE(rendered->parse_output);

  r.tools.push_back({.name = "t"});
  auto bad = (*fmt)->render(r);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param(), "tools");
}

// A template without tool calling never shows the model its tools: such a request is refused
// (as Ollama does) instead of being answered as if there were none; tool_choice "none" is fine.
TEST(ChatFormatTest, TemplateWithoutToolCallingRefusesTools) {
  GenerationRequest r = weatherRequest();

  auto plain = loadVocab(testing_models::tinyQwen2());
  ASSERT_TRUE(plain);
  auto fmt = ChatFormatter::create(plain.get(), "");
  ASSERT_TRUE(fmt) << fmt.error().toString();
  for (ToolChoice choice : {ToolChoice::kAuto, ToolChoice::kRequired}) {
    r.tool_choice = choice;
    auto refused = (*fmt)->render(r);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(refused.error().param(), "tools");
    EXPECT_NE(refused.error().message().find("does not support tools"), std::string::npos)
        << refused.error().message();
  }
  r.tool_choice = ToolChoice::kNone;
  auto without = (*fmt)->render(r);
  ASSERT_TRUE(without) << without.error().toString();
  EXPECT_EQ(without->prompt.find("get_weather"), std::string::npos);

  // The template that has it: required means a call must come, so the grammar is not lazy.
  auto tools = loadVocab(testing_models::tinyQwen2Tools());
  ASSERT_TRUE(tools);
  auto with = ChatFormatter::create(tools.get(), "");
  ASSERT_TRUE(with) << with.error().toString();
  r.tool_choice = ToolChoice::kRequired;
  auto rendered = (*with)->render(r);
  ASSERT_TRUE(rendered) << rendered.error().toString();
  EXPECT_NE(rendered->prompt.find("get_weather"), std::string::npos);
  EXPECT_FALSE(rendered->grammar.grammar.empty());
  EXPECT_FALSE(rendered->grammar_lazy);
}

}  // namespace
}  // namespace switchyard::engine
