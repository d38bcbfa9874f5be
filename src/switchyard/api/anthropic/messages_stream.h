#pragma once
// Anthropic Messages streaming, both directions.
//
// MessagesStreamEncoder turns native ChatChunks into Anthropic SSE events in the documented
// order: message_start, ping, then per content block content_block_start / content_block_delta
// (text_delta, thinking_delta, signature_delta, input_json_delta) / content_block_stop, and at
// the end message_delta (stop_reason, usage) and message_stop; or `event: error` on failure.
//
// MessagesStreamDecoder turns an Anthropic upstream's SSE events back into native ChatChunks
// (OpenAI-shaped: a role chunk, deltas, a finish chunk, then a usage chunk with no choices).
//
// Both are stateful and owned by one stream: not thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::anthropic {

class MessagesStreamEncoder {
 public:
  // `model` is what message_start reports when the chunks name none.
  explicit MessagesStreamEncoder(std::string model = {}) : model_(std::move(model)) {}

  // Appends the events for one chunk (possibly none) to `out`.
  void onChunk(const ChatChunk& chunk, std::string& out);
  // Appends the closing events: message_delta with stop_reason and usage, then message_stop.
  void finish(std::string& out);
  // Appends an `event: error` with Anthropic's error JSON. Nothing may follow it.
  void fail(const Status& status, std::string& out);

  bool started() const { return started_; }
  // A JSON array that message_start's message carries as `citations` (RAG); "": none.
  void setCitations(std::string json) { citations_json_ = std::move(json); }

 private:
  enum class Block { kNone, kText, kThinking, kToolUse };

  void start(const ChatChunk* chunk, std::string& out);
  void closeBlock(std::string& out);
  void openBlock(Block kind, std::string& out, const ToolCallDelta* call = nullptr);
  void toolDelta(const ToolCallDelta& delta, std::string& out);
  // A content_block_delta of `type` carrying `field: text` in a block of `kind` (opened first
  // unless it is the open one).
  void blockDelta(Block kind, std::string_view type, std::string_view field,
                  std::string_view text, std::string& out);

  std::string model_;
  std::string citations_json_;
  bool started_ = false;
  bool finished_ = false;
  Block block_ = Block::kNone;
  int index_ = -1;  // index of the open (or last) content block
  struct ToolBlock {
    int tool_index;
    int block_index;
  };
  std::vector<ToolBlock> tools_;
  int open_tool_ = -1;  // the tool index whose block is open
  FinishReason finish_reason_ = FinishReason::kNone;
  std::string stop_sequence_;
  std::optional<Usage> usage_;
  // A reasoning signature that arrived after its thinking block was closed (Gemini signs a
  // text answer in its last event): sent at the end in a thinking block of its own, so that
  // the text stays one block and the client can send the signature back next turn.
  std::string pending_signature_;
};

class MessagesStreamDecoder {
 public:
  // `created` stamps the chunks (Anthropic events carry no timestamp; OpenAI chunks need one).
  explicit MessagesStreamDecoder(std::int64_t created = 0) : created_(created) {}

  // Decodes one SSE event (`event` name, `data` payload) into zero or more chunks appended to
  // `out`. An `error` event returns its error (kUpstream-ish Status with the Anthropic type);
  // malformed data returns kUpstream.
  Status onEvent(std::string_view event, std::string_view data, std::vector<ChatChunk>& out);
  // True once message_stop arrived.
  bool done() const { return done_; }

 private:
  ChatChunk base() const;

  std::string id_;
  std::string model_;
  std::int64_t created_ = 0;
  std::int64_t input_tokens_ = 0;
  std::int64_t cache_read_ = 0;
  std::int64_t cache_write_ = 0;
  std::int64_t output_tokens_ = 0;
  struct BlockInfo {
    std::string type;
    int tool_index = -1;
  };
  std::vector<BlockInfo> blocks_;  // by Anthropic block index
  int tools_ = 0;
  bool done_ = false;
};

}  // namespace switchyard::api::anthropic
