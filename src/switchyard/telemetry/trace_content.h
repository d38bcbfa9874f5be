#pragma once
// Content capture for traces (telemetry.traces.capture_content): a request's prompt and its
// answer as the OpenTelemetry GenAI semantic conventions' message JSON, the values of the
// `gen_ai.input.messages` and `gen_ai.output.messages` span attributes:
//
//   [{"role":"user","parts":[{"type":"text","content":"..."}]}]
//   [{"role":"assistant","finish_reason":"stop","parts":[{"type":"text","content":"..."}]}]
//
// Tool calls are {"type":"tool_call","id","name","arguments"}, tool results
// {"type":"tool_call_response","id","response"}, reasoning {"type":"reasoning","content"}.
// Each document stays valid JSON within `max_bytes`: texts are shortened (at a UTF-8 boundary)
// and later messages left out once the budget is spent.
//
// Thread-safety: free functions are stateless; a StreamedOutput belongs to one request.

#include <cstddef>
#include <map>
#include <string>

#include "switchyard/api/types.h"

namespace switchyard::telemetry {

std::string inputMessagesJson(const api::ChatRequest& request, std::size_t max_bytes);
// The prompt (a string or a list of strings; token arrays are not text) as user messages.
std::string inputMessagesJson(const api::CompletionRequest& request, std::size_t max_bytes);
std::string outputMessagesJson(const api::ChatResponse& response, std::size_t max_bytes);
std::string outputMessagesJson(const api::CompletionResponse& response, std::size_t max_bytes);

// A streamed answer put together chunk by chunk (text, reasoning, tool calls and the finish
// reason of each choice), keeping at most `max_bytes` of text per choice.
class StreamedOutput {
 public:
  explicit StreamedOutput(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  void add(const api::ChatChunk& chunk);
  void add(const api::CompletionResponse& chunk);
  std::string json() const;

 private:
  struct Choice {
    std::string text;
    std::string reasoning;
    std::map<int, api::ToolCall> tool_calls;  // by the deltas' index
    api::FinishReason finish_reason = api::FinishReason::kNone;
  };
  void append(std::string& to, std::string_view text) const;

  std::size_t max_bytes_;
  std::map<int, Choice> choices_;
};

}  // namespace switchyard::telemetry
