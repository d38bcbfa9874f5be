#pragma once
// NdjsonStreamEncoder: native stream chunks -> Ollama's NDJSON stream, one JSON object per
// line. /api/chat lines carry `message` deltas (content, thinking); /api/generate lines carry
// `response` / `thinking`. Tool calls are sent whole (Ollama's `arguments` is an object, so the
// argument fragments are gathered) in one line once the model finished them. The last line
// has `done: true`, `done_reason` and the counts and durations; a failure ends the stream with
// a line `{"error":"..."}` instead.
//
// Stateful and owned by one stream: not thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/ollama/ollama_codec.h"
#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::ollama {

class NdjsonStreamEncoder {
 public:
  enum class Mode { kChat, kGenerate };

  // `model` is the name the client asked for. Every line is stamped with the time it is
  // encoded, as Ollama stamps each chunk, unless a fixed `created_at` is given (tests).
  NdjsonStreamEncoder(Mode mode, std::string model, std::string created_at = {})
      : mode_(mode), model_(std::move(model)), created_at_(std::move(created_at)) {}

  // Appends the lines for one chunk (possibly none) to `out`.
  void onChunk(const ChatChunk& chunk, std::string& out);
  // A raw /api/generate stream: text completion chunks.
  void onCompletionChunk(const CompletionResponse& chunk, std::string& out);
  // Appends pending tool calls and the final `done: true` line.
  void finish(const Timings& timings, std::string& out);
  // Appends `{"error":"..."}`. Nothing may follow it.
  void fail(const Status& status, std::string& out);

  const std::optional<Usage>& usage() const { return usage_; }

 private:
  // `logprobs`: the line's tokens in Ollama's form (toOllamaLogprobs), or null.
  void line(std::string_view content, std::string_view thinking, const boost::json::value& logprobs,
            std::string& out);
  void flushToolCalls(std::string& out);
  // "model" and "created_at", the first members of every line.
  void beginLine(JsonWriter& w) const;

  Mode mode_;
  std::string model_;
  std::string created_at_;
  std::vector<ToolCall> calls_;  // gathered from deltas, by index
  FinishReason finish_reason_ = FinishReason::kNone;
  std::optional<Usage> usage_;
  bool finished_ = false;
};

}  // namespace switchyard::api::ollama
