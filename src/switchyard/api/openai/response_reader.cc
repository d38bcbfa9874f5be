#include "switchyard/api/openai/response_reader.h"

#include <cstdint>
#include <string>
#include <utility>

#include "switchyard/api/openai/sax_reader.h"

namespace switchyard::api::openai {
namespace {

namespace json = boost::json;
using detail::Field;
using detail::Frame;
using detail::isIntegerField;

// Builds a ChatResponse from parser events, as decodeAnyChatResponse reads the DOM (sax_reader.h
// has the frame and key machinery).
class ResponseHandler : public detail::CompletionReader<ResponseHandler> {
 public:
  ChatResponse response;

  // Whether the document had its choices array (the general decoder requires one).
  bool hasChoices() const { return choices_seen_; }

  Field fieldOf(Frame frame, std::string_view key) {
    const Field field = detail::namedField(frame, key);
    if (frame == Frame::kMessage && field == Field::kOther) extra_key_.assign(key);
    return field;
  }

  bool objectBegins() {
    if (depth() == 0) return push(Frame::kRoot);
    switch (top()) {
      case Frame::kRoot:
        if (field() == Field::kUsage) return push(Frame::kUsage);
        return rejectsContainer() ? decline() : skipValue();
      case Frame::kChoices: {
        Choice& choice = response.choices.emplace_back();
        choice.index = static_cast<int>(response.choices.size() - 1);
        choice.message.role = Role::kAssistant;
        message_seen_ = false;
        return push(Frame::kChoice);
      }
      case Frame::kChoice:
        if (field() == Field::kMessage) {
          message_seen_ = true;
          reasoning_content_.reset();
          reasoning_.reset();
          return push(Frame::kMessage);
        }
        return rejectsContainer() ? decline() : skipValue();
      case Frame::kMessage:
        if (field() == Field::kOther) return push(Frame::kEmptyObject);
        return skipValue();  // content, refusal, tool_calls … as an object: ignored
      case Frame::kToolCalls:
        message().tool_calls.emplace_back();
        return push(Frame::kToolCall);
      case Frame::kToolCall:
        return field() == Field::kFunction ? push(Frame::kFunction) : skipValue();
      case Frame::kFunction:
        return field() == Field::kArguments ? decline() : skipValue();  // arguments as JSON
      case Frame::kUsage:
      case Frame::kPromptDetails:
      case Frame::kCompletionDetails:
        return usageObjectBegins();
      default:
        return decline();  // inside a kept value that had to stay empty
    }
  }

  bool arrayBegins() {
    switch (top()) {
      case Frame::kRoot:
        if (field() == Field::kChoices) {
          choices_seen_ = true;
          return push(Frame::kChoices);
        }
        return rejectsContainer() ? decline() : skipValue();
      case Frame::kChoice:
        return rejectsContainer() ? decline() : skipValue();
      case Frame::kMessage:
        if (field() == Field::kToolCalls) return push(Frame::kToolCalls);
        if (field() == Field::kContent) return decline();  // content parts
        if (field() == Field::kOther) return push(Frame::kEmptyArray);
        return skipValue();
      case Frame::kToolCall:
        return skipValue();
      case Frame::kFunction:
        return field() == Field::kArguments ? decline() : skipValue();
      case Frame::kUsage:
      case Frame::kPromptDetails:
      case Frame::kCompletionDetails:
        return usageArrayBegins();
      default:
        return decline();  // choices[i] or tool_calls[i] not an object; a non-empty kept value
    }
  }

  bool objectEnds(Frame frame) {
    switch (frame) {
      case Frame::kChoice:
        return message_seen_ || decline();  // no message: the general decoder says so
      case Frame::kMessage: {
        Message& m = message();
        if (m.content.empty() && m.content_form == Message::ContentForm::kString) {
          m.content_form = Message::ContentForm::kNull;
        }
        if (reasoning_content_) {
          m.reasoning_content = std::move(*reasoning_content_);
        } else if (reasoning_) {
          m.reasoning_content = std::move(*reasoning_);
        }
        return true;
      }
      case Frame::kUsage:
        response.usage = usage();
        return true;
      case Frame::kEmptyObject:
        return keepExtra(json::object());
      default:
        return true;
    }
  }
  bool arrayEnds(Frame frame) { return frame != Frame::kEmptyArray || keepExtra(json::array()); }

  bool onString(std::string_view v) {
    if (!scalarAllowed() || isIntegerField(field())) return decline();
    switch (top()) {
      case Frame::kRoot:
        switch (field()) {
          case Field::kId:
            response.id.assign(v);
            break;
          case Field::kModel:
            response.model.assign(v);
            break;
          case Field::kSystemFingerprint:
            response.system_fingerprint.assign(v);
            break;
          case Field::kServiceTier:
            response.service_tier.assign(v);
            break;
          default:
            break;
        }
        return true;
      case Frame::kChoice:
        if (field() == Field::kFinishReason) {
          response.choices.back().finish_reason = parseFinishReason(v);
        } else if (field() == Field::kStopReason) {
          response.choices.back().stop_sequence.assign(v);
        }
        return true;
      case Frame::kMessage: {
        Message& m = message();
        switch (field()) {
          case Field::kRole:
            m.role = parseRole(v).value_or(Role::kAssistant);
            break;
          case Field::kContent:
            m.content_form = Message::ContentForm::kString;
            m.content.resize(1);
            m.content[0].text.assign(v);
            break;
          case Field::kRefusal:
            m.refusal.emplace(v);
            break;
          case Field::kName:
            m.name.assign(v);
            break;
          case Field::kToolCallId:
            m.tool_call_id.assign(v);
            break;
          case Field::kReasoningContent:
            reasoning_content_.emplace(v);
            break;
          case Field::kReasoning:
            reasoning_.emplace(v);
            break;
          case Field::kOther:
            return keepExtra(json::string_view(v.data(), v.size()));
          default:
            break;  // tool_calls as a string: ignored
        }
        return true;
      }
      case Frame::kToolCall:
        if (field() == Field::kId) message().tool_calls.back().id.assign(v);
        return true;
      case Frame::kFunction:
        if (field() == Field::kName) {
          message().tool_calls.back().name.assign(v);
        } else if (field() == Field::kArguments) {
          message().tool_calls.back().arguments.assign(v);
        }
        return true;
      default:
        return true;
    }
  }

  bool onInteger(std::int64_t v) {
    if (!scalarAllowed() || field() == Field::kArguments) return decline();
    if (isIntegerField(field())) {
      setInteger(v);
      return true;
    }
    return !keepsExtra() || keepExtra(v);
  }
  bool onUnsigned(std::uint64_t v) {
    if (keepsExtra()) return keepExtra(v);  // verbatim, unclamped
    return onInteger(clamped(v));
  }
  bool onDouble(double v) { return otherScalar(v); }
  bool onBool(bool v) { return otherScalar(v); }
  bool onNull() {
    if (!scalarAllowed(/*null=*/true)) return decline();
    if (isIntegerField(field())) {
      setInteger(0);  // the general decoder reads a null number as 0
      return true;
    }
    return !keepsExtra() || keepExtra(nullptr);  // null strings and arguments: unset
  }

 private:
  Message& message() { return response.choices.back().message; }

  // Members whose value the general decoder would reject, convert or keep verbatim in a way
  // the fast path does not reproduce when they are containers: an error object, choices that
  // are not an array, a non-object message, logprobs, numbers as containers.
  bool rejectsContainer() const {
    switch (field()) {
      case Field::kError:
      case Field::kChoices:
      case Field::kMessage:
      case Field::kLogprobs:
        return true;
      default:
        return isIntegerField(field());
    }
  }
  // Whether a scalar may stand here: not as an element of choices or tool_calls, not inside
  // a kept value that must stay empty, not as choices or a message; logprobs (kept verbatim)
  // and error (an error sent with status 200) only as null.
  bool scalarAllowed(bool null = false) const {
    switch (top()) {
      case Frame::kChoices:
      case Frame::kToolCalls:
      case Frame::kEmptyObject:
      case Frame::kEmptyArray:
        return false;
      case Frame::kRoot:
        return field() != Field::kChoices && (null || field() != Field::kError);
      case Frame::kChoice:
        return field() != Field::kMessage && (null || field() != Field::kLogprobs);
      default:
        return true;
    }
  }
  bool otherScalar(auto v) {
    if (!scalarAllowed() || isIntegerField(field()) || field() == Field::kArguments) {
      return decline();
    }
    return !keepsExtra() || keepExtra(v);
  }

  // An unknown message member is kept verbatim in Message::extra (once: a key seen twice
  // declines, as the DOM would keep the last).
  bool keepsExtra() const { return top() == Frame::kMessage && field() == Field::kOther; }
  bool keepExtra(json::value value) {
    return message().extra.emplace(extra_key_, std::move(value)).second || decline();
  }

  void setInteger(std::int64_t v) {
    switch (top()) {
      case Frame::kRoot:
        response.created = v;
        break;
      case Frame::kChoice:
        response.choices.back().index = static_cast<int>(v);
        break;
      default:
        usageInteger(v);
        break;
    }
  }

  bool choices_seen_ = false;
  bool message_seen_ = false;  // the current choice has its message
  std::optional<std::string> reasoning_content_;
  std::optional<std::string> reasoning_;  // used when reasoning_content is absent
  std::string extra_key_;                 // the current unknown message member's key
};

}  // namespace

std::optional<ChatResponse> readCommonChatResponse(std::string_view body) {
  detail::SaxRun<ResponseHandler> run(body);
  ResponseHandler* handler = run.accepted();
  if (handler == nullptr || !handler->hasChoices()) return std::nullopt;
  return std::move(handler->response);
}

}  // namespace switchyard::api::openai
