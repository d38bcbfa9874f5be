#include "switchyard/api/gemini/gemini_stream.h"

#include <boost/json.hpp>

#include "switchyard/api/gemini/gemini_codec.h"
#include "switchyard/api/json_fields.h"

namespace switchyard::api::gemini {

namespace json = boost::json;

ChatChunk GenerateContentStreamDecoder::base() const {
  ChatChunk c;
  c.id = id_;
  c.model = model_;
  c.created = created_;
  return c;
}

Status GenerateContentStreamDecoder::onEvent(std::string_view data, std::vector<ChatChunk>& out) {
  if (data.empty()) return Status::ok();
  boost::system::error_code ec;
  json::value root = json::parse(data, ec);
  if (ec || !root.is_object()) {
    return Status(ErrorCode::kUpstream, "upstream sent an invalid stream event: " +
                                            (ec ? ec.message() : std::string("not an object")));
  }
  const json::object& o = root.get_object();
  if (o.contains("error")) return decodeUpstreamError(200, data);
  if (id_.empty()) id_ = std::string(stringOr(o, "responseId"));
  if (model_.empty()) model_ = std::string(stringOr(o, "modelVersion"));
  if (const json::value* u = o.if_contains("usageMetadata"); u && u->is_object()) {
    usage_ = usageFromGemini(u->get_object());  // cumulative: the last one is the total
  }
  const json::value* cands = o.if_contains("candidates");
  const json::array* candidates = cands ? cands->if_array() : nullptr;
  if (candidates == nullptr || candidates->empty()) {
    if (const json::value* pf = o.if_contains("promptFeedback"); pf && pf->is_object()) {
      const std::string_view reason = stringOr(pf->get_object(), "blockReason");
      if (!reason.empty()) return promptBlocked(reason);
    }
    return Status::ok();  // a usage-only event
  }
  for (std::size_t ci = 0; ci < candidates->size(); ++ci) {
    const json::object* cand = (*candidates)[ci].if_object();
    if (cand == nullptr) continue;
    const json::value* idx = cand->if_contains("index");
    const int index = idx && idx->is_int64() ? static_cast<int>(idx->get_int64())
                                             : static_cast<int>(ci);
    CandidateState& state = candidates_[index];
    auto delta = [&]() -> ChoiceDelta& {
      ChatChunk& chunk = out.emplace_back(base());
      // Gemini counts the prompt from its first event: the first chunk carries it.
      if (!delivered_) chunk.prompt_usage = usage_;
      delivered_ = true;
      ChoiceDelta& d = chunk.choices.emplace_back();
      d.index = index;
      if (!state.started) {
        d.role = Role::kAssistant;
        state.started = true;
      }
      return d;
    };
    // Consecutive parts of one kind share a chunk; a change of kind starts a new one, so that
    // encoders that open blocks per kind (Anthropic's) see them in Gemini's order.
    enum class Kind { kNone, kText, kThought, kCalls } last = Kind::kNone;
    ChoiceDelta* current = nullptr;
    const json::value* content = cand->if_contains("content");
    const json::value* parts_v =
        content && content->is_object() ? content->get_object().if_contains("parts") : nullptr;
    if (parts_v != nullptr && parts_v->is_array()) {
      for (const auto& pv : parts_v->get_array()) {
        const json::object* p = pv.if_object();
        if (p == nullptr) continue;
        const std::string_view signature = stringOr(*p, "thoughtSignature");
        if (const json::value* fc = p->if_contains("functionCall"); fc && fc->is_object()) {
          const json::object& f = fc->get_object();
          if (last != Kind::kCalls) current = &delta();
          last = Kind::kCalls;
          ToolCallDelta& call = current->tool_calls.emplace_back();
          call.index = state.tool_calls++;
          call.name = std::string(stringOr(f, "name"));
          const json::value* args = f.if_contains("args");
          call.arguments = args != nullptr ? json::serialize(*args) : "{}";
          call.id = makeToolCallId(stringOr(f, "id"), id_seed_ + id_, call_counter_++, signature);
          continue;
        }
        const json::value* tv = p->if_contains("text");
        const json::value* thought = p->if_contains("thought");
        const bool is_thought = thought != nullptr && thought->is_bool() && thought->get_bool();
        const std::string_view text =
            tv != nullptr && tv->is_string() ? std::string_view(tv->get_string()) : "";
        if (text.empty() && signature.empty()) continue;
        const Kind kind = is_thought ? Kind::kThought : Kind::kText;
        if (!text.empty()) {
          if (last != kind) current = &delta();
          last = kind;
          std::optional<std::string>& field =
              is_thought ? current->reasoning_content : current->content;
          if (!field) field.emplace();
          *field += text;
        }
        if (!signature.empty()) {
          if (current == nullptr) {
            current = &delta();
            last = kind;
          }
          current->reasoning_signature = std::string(signature);
        }
      }
    }
    const std::string_view reason = stringOr(*cand, "finishReason");
    if (!reason.empty() && !state.finished) {
      ChoiceDelta& d = delta();
      d.finish_reason = finishReasonFromGemini(reason, state.tool_calls > 0);
      state.finished = true;
      finished_any_ = true;
    }
  }
  return Status::ok();
}

Status GenerateContentStreamDecoder::finish(std::vector<ChatChunk>& out) {
  if (!finished_any_) {
    return Status(ErrorCode::kUpstream, "the upstream stream ended before any finishReason");
  }
  if (usage_) {
    ChatChunk chunk = base();
    chunk.usage = usage_;
    out.push_back(std::move(chunk));
  }
  return Status::ok();
}

}  // namespace switchyard::api::gemini
