#pragma once
// ResponsesStreamEncoder turns native ChatChunks into Responses API SSE events (`event:` name
// plus JSON with a `sequence_number`) in the documented order: response.created,
// response.in_progress, then per output item response.output_item.added, its content events
// (reasoning_summary_part / reasoning_summary_text, content_part + output_text or refusal, or
// function_call_arguments), response.output_item.done, and at the end response.completed or
// response.incomplete; on failure an `error` event followed by response.failed.
// Stateful and owned by one stream: not thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "switchyard/api/openai/responses_codec.h"
#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::openai {

class ResponsesStreamEncoder {
 public:
  explicit ResponsesStreamEncoder(ResponseMeta meta) : meta_(std::move(meta)) {}

  // Appends the events for one chunk (the opening events with the first one) to `out`.
  void onChunk(const ChatChunk& chunk, std::string& out);
  // Closes open items and appends response.completed or response.incomplete.
  void finish(std::string& out);
  // Appends an `error` event and response.failed. Nothing may follow them.
  void fail(const Status& status, std::string& out);

  bool started() const { return started_; }
  // The Response object of the closing event (completed, incomplete or failed), as sent; empty
  // before finish() or fail(). What a stored response keeps.
  const std::string& finalResponse() const { return final_response_; }

 private:
  void start(std::string& out);
  void event(std::string_view type, std::string& out, const std::string& fields);
  void responseEvent(std::string_view type, std::string_view status, const Status* error,
                     std::string& out);
  void closeOpenItems(std::string& out);
  void closeItem(std::size_t index, std::string& out);
  std::size_t openItem(ResponseItem item, std::string& out, bool refusal_part = false);
  std::string nextMessageId() const;
  // `logprobs`: the delta's chat logprobs (null: none).
  void text(const std::string& delta, const boost::json::value& logprobs, std::string& out);
  void refusal(const std::string& delta, std::string& out);
  void reasoning(const std::string& delta, std::string& out);
  void toolCall(const ToolCallDelta& delta, std::string& out);

  ResponseMeta meta_;
  std::string model_;
  bool started_ = false;
  bool finished_ = false;
  std::int64_t sequence_ = 0;
  std::vector<ResponseItem> items_;
  std::vector<bool> open_;
  int text_item_ = -1;       // index of the open message item
  int refusal_item_ = -1;    // index of the open message item whose part is a refusal
  int reasoning_item_ = -1;  // index of the open reasoning item
  struct ToolItem {
    int tool_index;
    std::size_t item;
  };
  std::vector<ToolItem> tools_;
  FinishReason finish_reason_ = FinishReason::kNone;
  std::optional<Usage> usage_;
  std::string final_response_;
};

}  // namespace switchyard::api::openai
