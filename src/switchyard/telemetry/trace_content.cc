#include "switchyard/telemetry/trace_content.h"

#include <boost/json/parse.hpp>

#include "switchyard/api/json_writer.h"

namespace switchyard::telemetry {

namespace {

// Writes one messages document within a byte budget. `kClose` bytes stay free for what closes
// the open string, part, parts list, message and document ("}]}]" and a quote), so a text cut
// anywhere still ends as valid JSON under the cap.
class Writer {
 public:
  explicit Writer(std::size_t max_bytes) : max_(max_bytes) { out_ = "["; }

  bool full() const { return full_; }
  // Whether a message or part needing about `n` more bytes may start.
  bool room(std::size_t n) {
    if (out_.size() + n + kClose > max_) full_ = true;
    return !full_;
  }
  void raw(std::string_view s) { out_ += s; }

  // `,"key":"text"` (shortened to fit); nothing once the budget is spent.
  void member(std::string_view key, std::string_view text) {
    if (full_ || !room(key.size() + 6)) return;
    out_ += ",\"";
    out_ += key;
    out_ += "\":";
    string(text);
  }

  // A JSON string of `text` (quotes included), shortened to fit; a cut fills the budget.
  void string(std::string_view text) {
    scratch_.clear();
    api::appendJsonString(scratch_, text);
    out_ += '"';
    if (out_.size() + scratch_.size() + 1 + kClose <= max_) {
      out_ += scratch_;
      out_ += '"';
      return;
    }
    full_ = true;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
      std::size_t n = api::utf8SequenceLength(p, end);
      if (n == 0) n = 1;  // escaped as U+FFFD
      scratch_.clear();
      api::appendJsonString(scratch_, std::string_view(reinterpret_cast<const char*>(p), n));
      if (out_.size() + scratch_.size() + 1 + kClose > max_) break;
      out_ += scratch_;
      p += n;
    }
    out_ += '"';
  }

  // `,"arguments":` and the arguments as JSON when they are a valid document that fits, else
  // as a (shortened) string.
  void arguments(std::string_view arguments) {
    if (full_ || !room(16)) return;
    out_ += ",\"arguments\":";
    boost::system::error_code ec;
    if (!arguments.empty() && out_.size() + arguments.size() + kClose <= max_) {
      (void)boost::json::parse(arguments, ec);
      if (!ec) {
        out_ += arguments;
        return;
      }
    }
    string(arguments);
  }

  // Opens the next message (a comma after the first).
  bool beginMessage(std::string_view role, std::string_view finish_reason = {}) {
    if (full_ || !room(64 + role.size() + finish_reason.size())) return false;
    if (messages_++ > 0) out_ += ',';
    out_ += "{\"role\":";
    string(role);
    if (!finish_reason.empty()) member("finish_reason", finish_reason);
    out_ += ",\"parts\":[";
    parts_ = 0;
    return true;
  }
  void endMessage() { out_ += "]}"; }

  // Opens a part `{"type":"<type>"` (the caller adds members and closes it with endPart).
  bool beginPart(std::string_view type) {
    if (full_ || !room(48 + type.size())) return false;
    if (parts_++ > 0) out_ += ',';
    out_ += "{\"type\":\"";
    out_ += type;
    out_ += '"';
    return true;
  }
  void endPart() { out_ += '}'; }

  void textPart(std::string_view type, std::string_view text) {
    if (!beginPart(type)) return;
    member("content", text);
    endPart();
  }

  std::string finish() && {
    out_ += ']';
    return std::move(out_);
  }

 private:
  static constexpr std::size_t kClose = 8;
  std::size_t max_;
  std::string out_;
  std::string scratch_;
  int messages_ = 0;
  int parts_ = 0;
  bool full_ = false;
};

void toolCallPart(Writer& w, const api::ToolCall& call) {
  if (!w.beginPart("tool_call")) return;
  if (!call.id.empty()) w.member("id", call.id);
  w.member("name", call.name);
  w.arguments(call.arguments);
  w.endPart();
}

void messageParts(Writer& w, const api::Message& m) {
  if (m.role == api::Role::kTool) {
    if (w.beginPart("tool_call_response")) {
      w.member("id", m.tool_call_id);
      w.member("response", m.text());
      w.endPart();
    }
    return;
  }
  if (!m.reasoning_content.empty()) w.textPart("reasoning", m.reasoning_content);
  for (const api::ContentPart& part : m.content) {
    if (part.kind == api::ContentPart::Kind::kText) {
      w.textPart("text", part.text);
    } else if (part.kind == api::ContentPart::Kind::kImage) {
      // The image itself (often a data: URI of megabytes) stays out.
      if (w.beginPart("uri")) {
        w.raw(",\"modality\":\"image\"");
        w.endPart();
      }
    }
  }
  if (m.refusal) w.textPart("refusal", *m.refusal);
  for (const api::ToolCall& call : m.tool_calls) toolCallPart(w, call);
}

std::string_view finishName(api::FinishReason reason) {
  const std::string_view name = api::finishReasonName(reason);
  return name.empty() ? std::string_view("stop") : name;  // required by the conventions
}

void promptMessages(Writer& w, const boost::json::value& prompt) {
  auto one = [&](std::string_view text) {
    if (!w.beginMessage("user")) return;
    w.textPart("text", text);
    w.endMessage();
  };
  if (prompt.is_string()) {
    one(prompt.get_string());
  } else if (prompt.is_array()) {
    for (const auto& item : prompt.get_array()) {
      if (item.is_string()) one(item.get_string());
    }
  }
}

}  // namespace

std::string inputMessagesJson(const api::ChatRequest& request, std::size_t max_bytes) {
  Writer w(max_bytes);
  for (const api::Message& m : request.messages) {
    if (!w.beginMessage(api::roleName(m.role))) break;
    messageParts(w, m);
    w.endMessage();
  }
  return std::move(w).finish();
}

std::string inputMessagesJson(const api::CompletionRequest& request, std::size_t max_bytes) {
  Writer w(max_bytes);
  promptMessages(w, request.prompt);
  return std::move(w).finish();
}

std::string outputMessagesJson(const api::ChatResponse& response, std::size_t max_bytes) {
  Writer w(max_bytes);
  for (const api::Choice& c : response.choices) {
    if (!w.beginMessage("assistant", finishName(c.finish_reason))) break;
    messageParts(w, c.message);
    w.endMessage();
  }
  return std::move(w).finish();
}

std::string outputMessagesJson(const api::CompletionResponse& response, std::size_t max_bytes) {
  Writer w(max_bytes);
  for (const api::CompletionChoice& c : response.choices) {
    if (!w.beginMessage("assistant", finishName(c.finish_reason))) break;
    w.textPart("text", c.text);
    w.endMessage();
  }
  return std::move(w).finish();
}

void StreamedOutput::append(std::string& to, std::string_view text) const {
  if (to.size() >= max_bytes_) return;
  to.append(text.substr(0, max_bytes_ - to.size()));
}

void StreamedOutput::add(const api::ChatChunk& chunk) {
  for (const api::ChoiceDelta& d : chunk.choices) {
    Choice& c = choices_[d.index];
    if (d.content) append(c.text, *d.content);
    if (d.reasoning_content) append(c.reasoning, *d.reasoning_content);
    for (const api::ToolCallDelta& t : d.tool_calls) {
      api::ToolCall& call = c.tool_calls[t.index];
      if (!t.id.empty()) call.id = t.id;
      if (!t.name.empty()) call.name = t.name;
      append(call.arguments, t.arguments);
    }
    if (d.finish_reason != api::FinishReason::kNone) c.finish_reason = d.finish_reason;
  }
}

void StreamedOutput::add(const api::CompletionResponse& chunk) {
  for (const api::CompletionChoice& d : chunk.choices) {
    Choice& c = choices_[d.index];
    append(c.text, d.text);
    if (d.finish_reason != api::FinishReason::kNone) c.finish_reason = d.finish_reason;
  }
}

std::string StreamedOutput::json() const {
  Writer w(max_bytes_);
  for (const auto& [index, c] : choices_) {
    if (!w.beginMessage("assistant", finishName(c.finish_reason))) break;
    if (!c.reasoning.empty()) w.textPart("reasoning", c.reasoning);
    if (!c.text.empty() || c.tool_calls.empty()) w.textPart("text", c.text);
    for (const auto& [i, call] : c.tool_calls) toolCallPart(w, call);
    w.endMessage();
  }
  return std::move(w).finish();
}

}  // namespace switchyard::telemetry
