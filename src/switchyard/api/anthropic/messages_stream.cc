#include "switchyard/api/anthropic/messages_stream.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <limits>

#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/json_fields.h"
#include "switchyard/api/json_writer.h"

namespace switchyard::api::anthropic {

namespace {

namespace json = boost::json;

void beginEvent(std::string& out, std::string_view name) {
  out += "event: ";
  out += name;
  out += "\ndata: ";
}

void endEvent(std::string& out) { out += "\n\n"; }

void writeUsage(JsonWriter& w, const Usage& u) {
  w.beginObject();
  w.key("input_tokens")
      .integer(std::max<std::int64_t>(0, u.prompt_tokens - u.cached_tokens - u.cache_write_tokens));
  w.key("cache_creation_input_tokens").integer(u.cache_write_tokens);
  w.key("cache_read_input_tokens").integer(u.cached_tokens);
  w.key("output_tokens").integer(u.completion_tokens);
  w.endObject();
}

const json::object* objectAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

// The HTTP status Anthropic uses for an error type, for errors that arrive inside a stream.
unsigned statusForErrorType(std::string_view type) {
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "billing_error") return 402;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  if (type == "request_too_large") return 413;
  if (type == "rate_limit_error") return 429;
  if (type == "timeout_error") return 504;
  if (type == "overloaded_error") return 529;
  return 500;
}

}  // namespace

// ---- encoder --------------------------------------------------------------------------------

void MessagesStreamEncoder::start(const ChatChunk* chunk, std::string& out) {
  started_ = true;
  const std::string id = messageId(chunk != nullptr ? std::string_view(chunk->id) : "");
  std::string_view model =
      chunk != nullptr && !chunk->model.empty() ? std::string_view(chunk->model) : model_;
  Usage usage;
  if (chunk != nullptr) usage = chunk->usage.value_or(chunk->prompt_usage.value_or(Usage{}));
  usage.completion_tokens = 0;
  beginEvent(out, "message_start");
  JsonWriter w(out);
  w.beginObject();
  w.key("type").string("message_start");
  w.key("message").beginObject();
  w.key("id").string(id);
  w.key("type").string("message");
  w.key("role").string("assistant");
  w.key("model").string(model);
  w.key("content").beginArray().endArray();
  w.key("stop_reason").null();
  w.key("stop_sequence").null();
  w.key("usage");
  writeUsage(w, usage);
  if (!citations_json_.empty()) w.key("citations").raw(citations_json_);
  w.endObject();
  w.endObject();
  endEvent(out);
  out += "event: ping\ndata: {\"type\":\"ping\"}\n\n";
}

void MessagesStreamEncoder::closeBlock(std::string& out) {
  if (block_ == Block::kNone) return;
  beginEvent(out, "content_block_stop");
  out += "{\"type\":\"content_block_stop\",\"index\":";
  out += std::to_string(index_);
  out += '}';
  endEvent(out);
  block_ = Block::kNone;
  open_tool_ = -1;
}

void MessagesStreamEncoder::openBlock(Block kind, std::string& out, const ToolCallDelta* call) {
  closeBlock(out);
  ++index_;
  block_ = kind;
  beginEvent(out, "content_block_start");
  JsonWriter w(out);
  w.beginObject();
  w.key("type").string("content_block_start");
  w.key("index").integer(index_);
  w.key("content_block").beginObject();
  switch (kind) {
    case Block::kText:
      w.key("type").string("text");
      w.key("text").string("");
      break;
    case Block::kThinking:
      w.key("type").string("thinking");
      w.key("thinking").string("");
      w.key("signature").string("");
      break;
    case Block::kToolUse:
      w.key("type").string("tool_use");
      w.key("id").string(call != nullptr && !call->id.empty()
                             ? call->id
                             : "toolu_switchyard_" + std::to_string(index_));
      w.key("name").string(call != nullptr ? std::string_view(call->name) : "");
      w.key("input").beginObject().endObject();
      break;
    case Block::kNone:
      break;
  }
  w.endObject();
  w.endObject();
  endEvent(out);
}

void MessagesStreamEncoder::toolDelta(const ToolCallDelta& d, std::string& out) {
  auto it = std::find_if(tools_.begin(), tools_.end(),
                         [&](const ToolBlock& t) { return t.tool_index == d.index; });
  int block_index;
  if (it == tools_.end()) {
    openBlock(Block::kToolUse, out, &d);
    open_tool_ = d.index;
    tools_.push_back({d.index, index_});
    block_index = index_;
  } else {
    // A fragment for a call whose block another block already followed (upstreams that
    // interleave parallel calls): it still goes to that call's block, by index.
    block_index = it->block_index;
  }
  if (d.arguments.empty()) return;
  beginEvent(out, "content_block_delta");
  JsonWriter w(out);
  w.beginObject();
  w.key("type").string("content_block_delta");
  w.key("index").integer(block_index);
  w.key("delta").beginObject();
  w.key("type").string("input_json_delta");
  w.key("partial_json").string(d.arguments);
  w.endObject();
  w.endObject();
  endEvent(out);
}

void MessagesStreamEncoder::blockDelta(Block kind, std::string_view type, std::string_view field,
                                       std::string_view text, std::string& out) {
  if (block_ != kind) openBlock(kind, out);
  beginEvent(out, "content_block_delta");
  JsonWriter w(out);
  w.beginObject();
  w.key("type").string("content_block_delta");
  w.key("index").integer(index_);
  w.key("delta").beginObject();
  w.key("type").string(type);
  w.key(field).string(text);
  w.endObject();
  w.endObject();
  endEvent(out);
}

void MessagesStreamEncoder::onChunk(const ChatChunk& chunk, std::string& out) {
  if (finished_) return;
  if (!started_) start(&chunk, out);
  if (chunk.usage) usage_ = *chunk.usage;
  auto delta = [&](Block kind, std::string_view type, std::string_view field,
                   std::string_view text) { blockDelta(kind, type, field, text, out); };
  for (const ChoiceDelta& c : chunk.choices) {
    if (c.index != 0) continue;  // the Messages API has one answer per request
    if (c.redacted_reasoning) {
      closeBlock(out);
      ++index_;
      beginEvent(out, "content_block_start");
      JsonWriter w(out);
      w.beginObject();
      w.key("type").string("content_block_start");
      w.key("index").integer(index_);
      w.key("content_block").beginObject();
      w.key("type").string("redacted_thinking");
      w.key("data").string(*c.redacted_reasoning);
      w.endObject();
      w.endObject();
      endEvent(out);
      block_ = Block::kThinking;  // closed by the next block or the end
    }
    if (c.reasoning_content && !c.reasoning_content->empty()) {
      delta(Block::kThinking, "thinking_delta", "thinking", *c.reasoning_content);
    }
    if (c.reasoning_signature && !c.reasoning_signature->empty()) {
      if (block_ == Block::kThinking || index_ < 0) {
        delta(Block::kThinking, "signature_delta", "signature", *c.reasoning_signature);
      } else {
        pending_signature_ = *c.reasoning_signature;
      }
    }
    if (c.content && !c.content->empty()) delta(Block::kText, "text_delta", "text", *c.content);
    if (c.refusal && !c.refusal->empty()) delta(Block::kText, "text_delta", "text", *c.refusal);
    for (const ToolCallDelta& t : c.tool_calls) toolDelta(t, out);
    if (c.finish_reason != FinishReason::kNone) {
      finish_reason_ = c.finish_reason;
      stop_sequence_ = c.stop_sequence;
    }
  }
}

void MessagesStreamEncoder::finish(std::string& out) {
  if (finished_) return;
  if (!started_) start(nullptr, out);
  closeBlock(out);
  if (!pending_signature_.empty()) {
    blockDelta(Block::kThinking, "signature_delta", "signature", pending_signature_, out);
    closeBlock(out);
    pending_signature_.clear();
  }
  finished_ = true;
  const std::string_view stop = stopReasonName(finish_reason_, stop_sequence_, !tools_.empty());
  beginEvent(out, "message_delta");
  JsonWriter w(out);
  w.beginObject();
  w.key("type").string("message_delta");
  w.key("delta").beginObject();
  w.key("stop_reason").string(stop);
  w.key("stop_sequence");
  if (stop == "stop_sequence") {
    w.string(stop_sequence_);
  } else {
    w.null();
  }
  w.endObject();
  w.key("usage");
  writeUsage(w, usage_.value_or(Usage{}));
  w.endObject();
  endEvent(out);
  out += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
}

void MessagesStreamEncoder::fail(const Status& status, std::string& out) {
  if (finished_) return;
  finished_ = true;
  beginEvent(out, "error");
  out += encodeError(status);
  endEvent(out);
}

// ---- decoder --------------------------------------------------------------------------------

ChatChunk MessagesStreamDecoder::base() const {
  ChatChunk c;
  c.id = id_;
  c.model = model_;
  c.created = created_;
  return c;
}

Status MessagesStreamDecoder::onEvent(std::string_view event, std::string_view data,
                                      std::vector<ChatChunk>& out) {
  if (data.empty()) return Status::ok();
  boost::system::error_code ec;
  json::value root = json::parse(data, ec);
  if (ec || !root.is_object()) {
    return Status(ErrorCode::kUpstream,
                  "invalid stream event '" + std::string(event) + "': not a JSON object");
  }
  const json::object& o = root.get_object();
  std::string_view type = stringOr(o, "type");
  if (type.empty()) type = event;

  if (type == "ping") return Status::ok();
  if (type == "error") {
    const json::object* e = objectAt(o, "error");
    return decodeUpstreamError(statusForErrorType(e ? stringOr(*e, "type") : ""), data);
  }
  if (type == "message_start") {
    const json::object* m = objectAt(o, "message");
    if (m == nullptr) return Status(ErrorCode::kUpstream, "message_start without 'message'");
    id_ = std::string(stringOr(*m, "id"));
    model_ = std::string(stringOr(*m, "model"));
    if (const json::object* u = objectAt(*m, "usage")) {
      input_tokens_ = upstreamCount(*u, "input_tokens");
      cache_read_ = upstreamCount(*u, "cache_read_input_tokens");
      cache_write_ = upstreamCount(*u, "cache_creation_input_tokens");
      output_tokens_ = upstreamCount(*u, "output_tokens");
    }
    ChatChunk c = base();
    c.choices.emplace_back().role = Role::kAssistant;
    if (objectAt(*m, "usage") != nullptr) {
      c.prompt_usage = usageFromAnthropic(input_tokens_, 0, cache_read_, cache_write_);
    }
    out.push_back(std::move(c));
    return Status::ok();
  }
  if (type == "content_block_start") {
    const auto index =
        static_cast<std::size_t>(std::max<std::int64_t>(0, upstreamCount(o, "index")));
    if (index > 4096) return Status(ErrorCode::kUpstream, "content block index out of range");
    if (blocks_.size() <= index) blocks_.resize(index + 1);
    const json::object* b = objectAt(o, "content_block");
    if (b == nullptr) return Status(ErrorCode::kUpstream, "content_block_start without a block");
    BlockInfo& info = blocks_[index];
    info.type = std::string(stringOr(*b, "type"));
    ChatChunk c = base();
    ChoiceDelta& d = c.choices.emplace_back();
    if (info.type == "text") {
      if (std::string_view t = stringOr(*b, "text"); !t.empty()) d.content = std::string(t);
    } else if (info.type == "thinking") {
      if (std::string_view t = stringOr(*b, "thinking"); !t.empty()) {
        d.reasoning_content = std::string(t);
      }
    } else if (info.type == "redacted_thinking") {
      d.redacted_reasoning = std::string(stringOr(*b, "data"));
    } else if (info.type == "tool_use") {
      info.tool_index = tools_++;
      ToolCallDelta& t = d.tool_calls.emplace_back();
      t.index = info.tool_index;
      t.id = std::string(stringOr(*b, "id"));
      t.name = std::string(stringOr(*b, "name"));
    } else {
      return Status::ok();  // server tool blocks have no native form
    }
    if (!d.content && !d.reasoning_content && !d.redacted_reasoning && d.tool_calls.empty()) {
      return Status::ok();
    }
    out.push_back(std::move(c));
    return Status::ok();
  }
  if (type == "content_block_delta") {
    const auto index =
        static_cast<std::size_t>(std::max<std::int64_t>(0, upstreamCount(o, "index")));
    const json::object* delta = objectAt(o, "delta");
    if (delta == nullptr) return Status(ErrorCode::kUpstream, "content_block_delta without delta");
    const std::string_view dtype = stringOr(*delta, "type");
    ChatChunk c = base();
    ChoiceDelta& d = c.choices.emplace_back();
    if (dtype == "text_delta") {
      d.content = std::string(stringOr(*delta, "text"));
    } else if (dtype == "thinking_delta") {
      d.reasoning_content = std::string(stringOr(*delta, "thinking"));
    } else if (dtype == "signature_delta") {
      d.reasoning_signature = std::string(stringOr(*delta, "signature"));
    } else if (dtype == "input_json_delta") {
      if (index >= blocks_.size() || blocks_[index].tool_index < 0) return Status::ok();
      std::string_view partial = stringOr(*delta, "partial_json");
      if (partial.empty()) return Status::ok();
      blocks_[index].type = "tool_use+args";
      ToolCallDelta& t = d.tool_calls.emplace_back();
      t.index = blocks_[index].tool_index;
      t.arguments = std::string(partial);
    } else {
      return Status::ok();  // citations_delta and future delta types
    }
    out.push_back(std::move(c));
    return Status::ok();
  }
  if (type == "content_block_stop") {
    const auto index =
        static_cast<std::size_t>(std::max<std::int64_t>(0, upstreamCount(o, "index")));
    // A tool called without arguments streams no input_json_delta; OpenAI clients still need
    // a JSON object to parse.
    if (index < blocks_.size() && blocks_[index].type == "tool_use") {
      ChatChunk c = base();
      ToolCallDelta& t = c.choices.emplace_back().tool_calls.emplace_back();
      t.index = blocks_[index].tool_index;
      t.arguments = "{}";
      out.push_back(std::move(c));
    }
    return Status::ok();
  }
  if (type == "message_delta") {
    ChatChunk c = base();
    ChoiceDelta& d = c.choices.emplace_back();
    if (const json::object* delta = objectAt(o, "delta")) {
      const std::string_view stop = stringOr(*delta, "stop_reason");
      if (stop == "max_tokens" || stop == "model_context_window_exceeded") {
        d.finish_reason = FinishReason::kLength;
      } else if (stop == "tool_use") {
        d.finish_reason = FinishReason::kToolCalls;
      } else if (stop == "refusal") {
        d.finish_reason = FinishReason::kContentFilter;
      } else {
        d.finish_reason = FinishReason::kStop;
        d.stop_sequence = std::string(stringOr(*delta, "stop_sequence"));
      }
    }
    if (const json::object* u = objectAt(o, "usage")) {
      // Cumulative counts; newer API versions repeat the input side here too.
      if (u->contains("output_tokens")) output_tokens_ = upstreamCount(*u, "output_tokens");
      if (u->contains("input_tokens")) input_tokens_ = upstreamCount(*u, "input_tokens");
      if (u->contains("cache_read_input_tokens")) {
        cache_read_ = upstreamCount(*u, "cache_read_input_tokens");
      }
      if (u->contains("cache_creation_input_tokens")) {
        cache_write_ = upstreamCount(*u, "cache_creation_input_tokens");
      }
    }
    out.push_back(std::move(c));
    ChatChunk usage = base();
    usage.usage = usageFromAnthropic(input_tokens_, output_tokens_, cache_read_, cache_write_);
    out.push_back(std::move(usage));
    return Status::ok();
  }
  if (type == "message_stop") {
    done_ = true;
    return Status::ok();
  }
  return Status::ok();  // new event types may be added; Anthropic says to ignore them
}

}  // namespace switchyard::api::anthropic
