#include "switchyard/api/openai/responses_stream.h"

#include "switchyard/api/errors.h"
#include "switchyard/api/json_writer.h"

namespace switchyard::api::openai {

namespace {

// The members of a JSON object written by `fill`, without the braces, so that an event can
// put its own `type` and `sequence_number` around them.
template <typename F>
std::string members(F&& fill) {
  std::string s;
  JsonWriter w(s);
  w.beginObject();
  fill(w);
  w.endObject();
  return s.substr(1, s.size() - 2);
}

std::string itemJson(const ResponseItem& item) {
  std::string s;
  appendResponseItem(item, s);
  return s;
}

// `logprobs`: LogProb objects, comma-separated (ResponseItem::logprobs).
void writeOutputText(JsonWriter& w, std::string_view text, std::string_view logprobs = {}) {
  w.beginObject();
  w.key("type").string("output_text");
  w.key("text").string(text);
  w.key("annotations").beginArray().endArray();
  w.key("logprobs").raw("[" + std::string(logprobs) + "]");
  w.endObject();
}

void writeRefusal(JsonWriter& w, std::string_view refusal) {
  w.beginObject();
  w.key("type").string("refusal");
  w.key("refusal").string(refusal);
  w.endObject();
}

void writeSummaryText(JsonWriter& w, std::string_view text) {
  w.beginObject();
  w.key("type").string("summary_text");
  w.key("text").string(text);
  w.endObject();
}

}  // namespace

void ResponsesStreamEncoder::event(std::string_view type, std::string& out,
                                   const std::string& fields) {
  out += "event: ";
  out += type;
  out += "\ndata: {\"type\":\"";
  out += type;
  out += "\",\"sequence_number\":";
  out += std::to_string(sequence_++);
  if (!fields.empty()) {
    out += ',';
    out += fields;
  }
  out += "}\n\n";
}

void ResponsesStreamEncoder::responseEvent(std::string_view type, std::string_view status,
                                           const Status* error, std::string& out) {
  std::string response = "\"response\":";
  std::optional<Usage> usage = status == "in_progress" ? std::nullopt : usage_;
  appendResponseObject(meta_, model_, status, incompleteReasonFor(finish_reason_),
                       status == "in_progress" ? std::vector<ResponseItem>{} : items_, usage, error,
                       response);
  if (status != "in_progress") final_response_.assign(response, response.find(':') + 1);
  event(type, out, response);
}

void ResponsesStreamEncoder::start(std::string& out) {
  started_ = true;
  responseEvent("response.created", "in_progress", nullptr, out);
  responseEvent("response.in_progress", "in_progress", nullptr, out);
}

std::size_t ResponsesStreamEncoder::openItem(ResponseItem item, std::string& out,
                                             bool refusal_part) {
  item.completed = false;
  const std::size_t index = items_.size();
  items_.push_back(std::move(item));
  open_.push_back(true);
  const ResponseItem& it = items_.back();
  event("response.output_item.added", out, members([&](JsonWriter& w) {
          w.key("output_index").integer(static_cast<std::int64_t>(index));
          w.key("item").raw(itemJson(it));
        }));
  if (it.kind == ResponseItem::Kind::kMessage) {
    event("response.content_part.added", out, members([&](JsonWriter& w) {
            w.key("item_id").string(it.id);
            w.key("output_index").integer(static_cast<std::int64_t>(index));
            w.key("content_index").integer(0);
            w.key("part");
            if (refusal_part) {
              writeRefusal(w, "");
            } else {
              writeOutputText(w, "");
            }
          }));
  } else if (it.kind == ResponseItem::Kind::kReasoning) {
    event("response.reasoning_summary_part.added", out, members([&](JsonWriter& w) {
            w.key("item_id").string(it.id);
            w.key("output_index").integer(static_cast<std::int64_t>(index));
            w.key("summary_index").integer(0);
            w.key("part");
            writeSummaryText(w, "");
          }));
  }
  return index;
}

void ResponsesStreamEncoder::closeItem(std::size_t index, std::string& out) {
  if (!open_[index]) return;
  open_[index] = false;
  ResponseItem& it = items_[index];
  const auto output_index = static_cast<std::int64_t>(index);
  switch (it.kind) {
    case ResponseItem::Kind::kMessage:
      if (static_cast<int>(index) == refusal_item_) {
        event("response.refusal.done", out, members([&](JsonWriter& w) {
                w.key("item_id").string(it.id);
                w.key("output_index").integer(output_index);
                w.key("content_index").integer(0);
                w.key("refusal").string(it.refusal);
              }));
        event("response.content_part.done", out, members([&](JsonWriter& w) {
                w.key("item_id").string(it.id);
                w.key("output_index").integer(output_index);
                w.key("content_index").integer(0);
                w.key("part");
                writeRefusal(w, it.refusal);
              }));
        refusal_item_ = -1;
        break;
      }
      event("response.output_text.done", out, members([&](JsonWriter& w) {
              w.key("item_id").string(it.id);
              w.key("output_index").integer(output_index);
              w.key("content_index").integer(0);
              w.key("text").string(it.text);
              w.key("logprobs").raw("[" + it.logprobs + "]");
            }));
      event("response.content_part.done", out, members([&](JsonWriter& w) {
              w.key("item_id").string(it.id);
              w.key("output_index").integer(output_index);
              w.key("content_index").integer(0);
              w.key("part");
              writeOutputText(w, it.text, it.logprobs);
            }));
      if (static_cast<int>(index) == text_item_) text_item_ = -1;
      break;
    case ResponseItem::Kind::kReasoning:
      event("response.reasoning_summary_text.done", out, members([&](JsonWriter& w) {
              w.key("item_id").string(it.id);
              w.key("output_index").integer(output_index);
              w.key("summary_index").integer(0);
              w.key("text").string(it.text);
            }));
      event("response.reasoning_summary_part.done", out, members([&](JsonWriter& w) {
              w.key("item_id").string(it.id);
              w.key("output_index").integer(output_index);
              w.key("summary_index").integer(0);
              w.key("part");
              writeSummaryText(w, it.text);
            }));
      if (static_cast<int>(index) == reasoning_item_) reasoning_item_ = -1;
      break;
    case ResponseItem::Kind::kFunctionCall:
      event("response.function_call_arguments.done", out, members([&](JsonWriter& w) {
              w.key("item_id").string(it.id);
              w.key("output_index").integer(output_index);
              w.key("name").string(it.name);
              w.key("arguments").string(it.arguments);
            }));
      break;
  }
  it.completed = true;
  event("response.output_item.done", out, members([&](JsonWriter& w) {
          w.key("output_index").integer(output_index);
          w.key("item").raw(itemJson(it));
        }));
}

void ResponsesStreamEncoder::closeOpenItems(std::string& out) {
  for (std::size_t i = 0; i < items_.size(); ++i) closeItem(i, out);
}

void ResponsesStreamEncoder::reasoning(const std::string& delta, std::string& out) {
  if (reasoning_item_ < 0) {
    closeOpenItems(out);
    reasoning_item_ = static_cast<int>(openItem(
        ResponseItem{.kind = ResponseItem::Kind::kReasoning, .id = "rs_" + meta_.id_suffix}, out));
  }
  ResponseItem& it = items_[reasoning_item_];
  it.text += delta;
  event("response.reasoning_summary_text.delta", out, members([&](JsonWriter& w) {
          w.key("item_id").string(it.id);
          w.key("output_index").integer(reasoning_item_);
          w.key("summary_index").integer(0);
          w.key("delta").string(delta);
        }));
}

std::string ResponsesStreamEncoder::nextMessageId() const {
  // One message per response keeps the ids unique; a second text run (after tool calls)
  // gets a suffix.
  std::string id = "msg_" + meta_.id_suffix;
  int messages = 0;
  for (const auto& it : items_) messages += it.kind == ResponseItem::Kind::kMessage ? 1 : 0;
  if (messages > 0) id += "_" + std::to_string(messages);
  return id;
}

void ResponsesStreamEncoder::text(const std::string& delta, const boost::json::value& logprobs,
                                  std::string& out) {
  if (text_item_ < 0) {
    closeOpenItems(out);
    text_item_ = static_cast<int>(openItem(
        ResponseItem{.kind = ResponseItem::Kind::kMessage, .id = nextMessageId()}, out));
  }
  ResponseItem& it = items_[text_item_];
  it.text += delta;
  std::string entries;
  appendLogprobEntries(logprobs, entries);
  if (!entries.empty()) {
    if (!it.logprobs.empty()) it.logprobs += ',';
    it.logprobs += entries;
  }
  event("response.output_text.delta", out, members([&](JsonWriter& w) {
          w.key("item_id").string(it.id);
          w.key("output_index").integer(text_item_);
          w.key("content_index").integer(0);
          w.key("delta").string(delta);
          w.key("logprobs").raw("[" + entries + "]");
        }));
}

// A refusal is a message whose one content part is a refusal instead of output_text.
void ResponsesStreamEncoder::refusal(const std::string& delta, std::string& out) {
  if (refusal_item_ < 0) {
    closeOpenItems(out);
    refusal_item_ = static_cast<int>(openItem(
        ResponseItem{.kind = ResponseItem::Kind::kMessage, .id = nextMessageId()}, out, true));
  }
  ResponseItem& it = items_[refusal_item_];
  it.refusal += delta;
  event("response.refusal.delta", out, members([&](JsonWriter& w) {
          w.key("item_id").string(it.id);
          w.key("output_index").integer(refusal_item_);
          w.key("content_index").integer(0);
          w.key("delta").string(delta);
        }));
}

void ResponsesStreamEncoder::toolCall(const ToolCallDelta& delta, std::string& out) {
  const ToolItem* tool = nullptr;
  for (const auto& t : tools_) {
    if (t.tool_index == delta.index) tool = &t;
  }
  if (tool == nullptr) {
    // A new call: text or reasoning before it is finished; earlier calls stay open so that
    // interleaved fragments of parallel calls still land in their own items.
    if (text_item_ >= 0) closeItem(static_cast<std::size_t>(text_item_), out);
    if (refusal_item_ >= 0) closeItem(static_cast<std::size_t>(refusal_item_), out);
    if (reasoning_item_ >= 0) closeItem(static_cast<std::size_t>(reasoning_item_), out);
    const std::size_t index =
        openItem(ResponseItem{.kind = ResponseItem::Kind::kFunctionCall,
                              .id = "fc_" + meta_.id_suffix + "_" + std::to_string(tools_.size()),
                              .call_id = delta.id,
                              .name = delta.name},
                 out);
    tools_.push_back(ToolItem{delta.index, index});
    tool = &tools_.back();
  }
  if (delta.arguments.empty()) return;
  ResponseItem& it = items_[tool->item];
  if (!open_[tool->item]) return;  // a fragment after its item was closed: nowhere to put it
  it.arguments += delta.arguments;
  const auto output_index = static_cast<std::int64_t>(tool->item);
  event("response.function_call_arguments.delta", out, members([&](JsonWriter& w) {
          w.key("item_id").string(it.id);
          w.key("output_index").integer(output_index);
          w.key("delta").string(delta.arguments);
        }));
}

void ResponsesStreamEncoder::onChunk(const ChatChunk& chunk, std::string& out) {
  if (finished_) return;
  if (model_.empty() && !chunk.model.empty()) model_ = chunk.model;
  if (!started_) start(out);
  if (chunk.usage) usage_ = *chunk.usage;
  for (const ChoiceDelta& c : chunk.choices) {
    if (c.index != 0) continue;  // a Response has one answer
    if (c.reasoning_content && !c.reasoning_content->empty()) {
      reasoning(*c.reasoning_content, out);
    }
    if (c.content && !c.content->empty()) text(*c.content, c.logprobs, out);
    if (c.refusal && !c.refusal->empty()) refusal(*c.refusal, out);
    for (const ToolCallDelta& t : c.tool_calls) toolCall(t, out);
    if (c.finish_reason != FinishReason::kNone) finish_reason_ = c.finish_reason;
  }
}

void ResponsesStreamEncoder::finish(std::string& out) {
  if (finished_) return;
  if (!started_) start(out);
  finished_ = true;
  const std::string_view status = responseStatusFor(finish_reason_);
  // The item still being written is the one the response was cut off in.
  if (status == "incomplete" && !items_.empty() && open_.back()) items_.back().incomplete = true;
  closeOpenItems(out);
  if (status == "incomplete") {
    responseEvent("response.incomplete", status, nullptr, out);
  } else if (status == "failed") {
    Status error(ErrorCode::kUpstream, "the upstream model failed");
    responseEvent("response.failed", status, &error, out);
  } else {
    responseEvent("response.completed", "completed", nullptr, out);
  }
}

void ResponsesStreamEncoder::fail(const Status& status, std::string& out) {
  if (finished_) return;
  if (!started_) start(out);
  finished_ = true;
  event("error", out, members([&](JsonWriter& w) {
          w.key("code");
          if (status.errorType().empty()) {
            w.string(openaiErrorType(status));
          } else {
            w.string(status.errorType());
          }
          w.key("message").string(status.message());
          w.key("param");
          if (status.param().empty()) {
            w.null();
          } else {
            w.string(status.param());
          }
        }));
  responseEvent("response.failed", "failed", &status, out);
}

}  // namespace switchyard::api::openai
