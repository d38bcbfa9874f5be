#include "switchyard/api/ollama/ollama_stream.h"

#include "switchyard/api/json_writer.h"

namespace switchyard::api::ollama {

void NdjsonStreamEncoder::beginLine(JsonWriter& w) const {
  w.beginObject();
  w.key("model").string(model_);
  if (created_at_.empty()) {
    w.key("created_at").string(formatTimestamp(std::chrono::system_clock::now()));
  } else {
    w.key("created_at").string(created_at_);
  }
}

void NdjsonStreamEncoder::line(std::string_view content, std::string_view thinking,
                               const boost::json::value& logprobs, std::string& out) {
  JsonWriter w(out);
  beginLine(w);
  if (mode_ == Mode::kChat) {
    w.key("message");
    static const std::vector<ToolCall> kNoCalls;
    appendMessage(w, content, thinking, kNoCalls);
  } else {
    w.key("response").string(content);
    if (!thinking.empty()) w.key("thinking").string(thinking);
  }
  w.key("done").boolean(false);
  if (logprobs.is_array()) w.key("logprobs").value(logprobs);
  w.endObject();
  out += '\n';
}

void NdjsonStreamEncoder::onChunk(const ChatChunk& chunk, std::string& out) {
  if (finished_) return;
  if (chunk.usage) usage_ = chunk.usage;
  for (const auto& choice : chunk.choices) {
    if (choice.index != 0) continue;  // Ollama has one answer per request
    const std::string_view content = choice.content ? *choice.content : std::string_view();
    const std::string_view thinking =
        choice.reasoning_content ? *choice.reasoning_content : std::string_view();
    const boost::json::value logprobs = toOllamaLogprobs(choice.logprobs);
    if (!content.empty() || !thinking.empty() || logprobs.is_array()) {
      line(content, thinking, logprobs, out);
    }
    for (const auto& d : choice.tool_calls) {
      if (d.index < 0 || d.index > 1024) continue;
      if (calls_.size() <= static_cast<std::size_t>(d.index)) calls_.resize(d.index + 1);
      ToolCall& call = calls_[d.index];
      if (!d.id.empty()) call.id = d.id;
      if (!d.name.empty()) call.name = d.name;
      call.arguments += d.arguments;
    }
    if (choice.finish_reason != FinishReason::kNone) {
      finish_reason_ = choice.finish_reason;
      flushToolCalls(out);
    }
  }
}

void NdjsonStreamEncoder::onCompletionChunk(const CompletionResponse& chunk, std::string& out) {
  if (finished_) return;
  if (chunk.usage) usage_ = chunk.usage;
  for (const auto& choice : chunk.choices) {
    if (choice.index != 0) continue;
    const boost::json::value logprobs = toOllamaLogprobs(choice.logprobs);
    if (!choice.text.empty() || logprobs.is_array()) line(choice.text, {}, logprobs, out);
    if (choice.finish_reason != FinishReason::kNone) finish_reason_ = choice.finish_reason;
  }
}

void NdjsonStreamEncoder::flushToolCalls(std::string& out) {
  std::vector<ToolCall> calls;
  for (auto& c : calls_) {
    if (!c.name.empty()) calls.push_back(std::move(c));
  }
  calls_.clear();
  if (calls.empty() || mode_ != Mode::kChat) return;
  JsonWriter w(out);
  beginLine(w);
  w.key("message");
  appendMessage(w, "", "", calls);
  w.key("done").boolean(false);
  w.endObject();
  out += '\n';
}

void NdjsonStreamEncoder::finish(const Timings& timings, std::string& out) {
  if (finished_) return;
  flushToolCalls(out);
  finished_ = true;
  const Usage usage = usage_.value_or(Usage{});
  JsonWriter w(out);
  beginLine(w);
  if (mode_ == Mode::kChat) {
    w.key("message").beginObject().key("role").string("assistant");
    w.key("content").string("");
    w.endObject();
  } else {
    w.key("response").string("");
  }
  w.key("done").boolean(true);
  w.key("done_reason")
      .string(
          doneReason(finish_reason_ == FinishReason::kNone ? FinishReason::kStop : finish_reason_));
  w.key("total_duration").integer(timings.total_ns);
  w.key("load_duration").integer(timings.load_ns);
  w.key("prompt_eval_count").integer(usage.prompt_tokens);
  w.key("prompt_eval_duration").integer(timings.prompt_eval_ns);
  w.key("eval_count").integer(usage.completion_tokens);
  w.key("eval_duration").integer(timings.eval_ns);
  w.endObject();
  out += '\n';
}

void NdjsonStreamEncoder::fail(const Status& status, std::string& out) {
  if (finished_) return;
  finished_ = true;
  out += encodeError(status);
  out += '\n';
}

}  // namespace switchyard::api::ollama
