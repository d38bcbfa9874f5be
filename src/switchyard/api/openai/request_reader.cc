#include "switchyard/api/openai/request_reader.h"

#include <cstdint>
#include <limits>
#include <string>

#include "switchyard/api/openai/sax_reader.h"

namespace switchyard::api::openai {
namespace {

enum class Frame : std::uint8_t { kRoot, kMessages, kMessage, kStop, kStreamOptions };

// The keys the fast path reads; kOther (any other key) declines.
enum class Key : std::uint8_t {
  kOther,
  kModel,
  kMessages,
  kTemperature,
  kTopP,
  kFrequencyPenalty,
  kPresencePenalty,
  kMinP,
  kRepetitionPenalty,
  kMaxTokens,
  kMaxCompletionTokens,
  kSeed,
  kN,
  kTopK,
  kTopLogprobs,
  kStop,
  kUser,
  kReasoningEffort,
  kStream,
  kStreamOptions,
  kLogprobs,
  kRole,
  kContent,
  kName,          // a message's
  kIncludeUsage,  // stream_options'
};

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kMaxStop = 4;  // as the general decoder's kMaxStopSequences

// Builds a ChatRequest from parser events, as ChatRequestReader reads the DOM: where that would
// accept a value, this one sets the same field, and where it would fail, this one declines.
class RequestHandler : public detail::SaxReader<RequestHandler, Frame, Key, 4> {
 public:
  ChatRequest request;

  static bool isArray(Frame frame) { return frame == Frame::kMessages || frame == Frame::kStop; }

  static Key fieldOf(Frame frame, std::string_view key) {
    switch (frame) {
      case Frame::kRoot:
        if (detail::is(key, "model")) return Key::kModel;
        if (detail::is(key, "messages")) return Key::kMessages;
        if (detail::is(key, "temperature")) return Key::kTemperature;
        if (detail::is(key, "stream")) return Key::kStream;
        if (detail::is(key, "max_tokens")) return Key::kMaxTokens;
        if (detail::is(key, "max_completion_tokens")) return Key::kMaxCompletionTokens;
        if (detail::is(key, "top_p")) return Key::kTopP;
        if (detail::is(key, "stream_options")) return Key::kStreamOptions;
        if (detail::is(key, "frequency_penalty")) return Key::kFrequencyPenalty;
        if (detail::is(key, "presence_penalty")) return Key::kPresencePenalty;
        if (detail::is(key, "seed")) return Key::kSeed;
        if (detail::is(key, "n")) return Key::kN;
        if (detail::is(key, "stop")) return Key::kStop;
        if (detail::is(key, "user")) return Key::kUser;
        if (detail::is(key, "top_k")) return Key::kTopK;
        if (detail::is(key, "min_p")) return Key::kMinP;
        if (detail::is(key, "repetition_penalty")) return Key::kRepetitionPenalty;
        if (detail::is(key, "logprobs")) return Key::kLogprobs;
        if (detail::is(key, "top_logprobs")) return Key::kTopLogprobs;
        if (detail::is(key, "reasoning_effort")) return Key::kReasoningEffort;
        return Key::kOther;
      case Frame::kMessage:
        if (detail::is(key, "role")) return Key::kRole;
        if (detail::is(key, "content")) return Key::kContent;
        if (detail::is(key, "name")) return Key::kName;
        return Key::kOther;
      case Frame::kStreamOptions:
        return detail::is(key, "include_usage") ? Key::kIncludeUsage : Key::kOther;
      default:
        return Key::kOther;
    }
  }

  bool objectBegins() {
    if (depth() == 0) return push(Frame::kRoot);
    if (top() == Frame::kRoot && field() == Key::kStreamOptions) {
      return push(Frame::kStreamOptions);
    }
    if (top() == Frame::kMessages) {
      request.messages.emplace_back();
      has_role_ = false;
      has_content_ = false;
      return push(Frame::kMessage);
    }
    return decline();
  }
  bool arrayBegins() {
    if (top() == Frame::kRoot && field() == Key::kMessages) return push(Frame::kMessages);
    if (top() == Frame::kRoot && field() == Key::kStop) {
      request.stop.clear();
      return push(Frame::kStop);
    }
    return decline();
  }
  bool objectEnds(Frame frame) {
    if (frame != Frame::kMessage) return true;
    // A tool message needs a tool_call_id, which this path does not read.
    return (has_role_ && has_content_ && request.messages.back().role != Role::kTool) || decline();
  }
  bool arrayEnds(Frame frame) {
    return frame != Frame::kMessages || !request.messages.empty() || decline();
  }

  bool onString(std::string_view v) {
    switch (top()) {
      case Frame::kRoot:
        switch (field()) {
          case Key::kModel:
            if (v.empty()) return decline();
            request.model.assign(v);
            return true;
          case Key::kStop:
            request.stop.assign(1, std::string(v));
            return true;
          case Key::kUser:
            request.user.assign(v);
            return true;
          case Key::kReasoningEffort:
            request.reasoning_effort.assign(v);
            return true;
          default:
            return decline();
        }
      case Frame::kMessage: {
        Message& m = request.messages.back();
        switch (field()) {
          case Key::kRole: {
            const auto role = parseRole(v);
            if (!role) return decline();
            m.role = *role;
            has_role_ = true;
            return true;
          }
          case Key::kContent:
            m.content_form = Message::ContentForm::kString;
            m.content.resize(1);
            m.content[0].text.assign(v);
            has_content_ = true;
            return true;
          case Key::kName:
            m.name.assign(v);
            return true;
          default:
            return decline();
        }
      }
      case Frame::kStop:
        if (request.stop.size() == kMaxStop) return decline();
        request.stop.emplace_back(v);
        return true;
      default:
        return decline();
    }
  }

  bool onInteger(std::int64_t v) {
    if (top() != Frame::kRoot) return decline();
    switch (field()) {
      case Key::kMaxTokens:
        return inRange(v, 1, kInt64Max) && set(max_tokens_, v);
      case Key::kMaxCompletionTokens:
        return inRange(v, 1, kInt64Max) && set(max_completion_, v);
      case Key::kSeed:
        return set(request.seed, v);
      case Key::kN:
        return inRange(v, 1, 128) && set(request.n, static_cast<int>(v));
      case Key::kTopK:
        return inRange(v, -1, std::numeric_limits<int>::max()) &&
               set(request.top_k, static_cast<int>(v));
      case Key::kTopLogprobs:
        return inRange(v, 0, 20) && set(request.top_logprobs, static_cast<int>(v));
      default:
        return onNumber(static_cast<double>(v));
    }
  }
  bool onUnsigned(std::uint64_t v) {
    if (v <= static_cast<std::uint64_t>(kInt64Max)) return onInteger(static_cast<std::int64_t>(v));
    return onNumber(static_cast<double>(v));  // too large for an integer field
  }
  // A double: the general decoder takes integral ones for integer fields too; not this path.
  bool onDouble(double v) { return onNumber(v); }
  bool onBool(bool v) {
    if (top() == Frame::kStreamOptions && field() == Key::kIncludeUsage) {
      include_usage_ = v;
      return true;
    }
    if (top() != Frame::kRoot) return decline();
    if (field() == Key::kStream) return set(request.stream, v);
    if (field() == Key::kLogprobs) return set(request.logprobs, v);
    return decline();
  }
  // null means "not set" for every modelled field but model, messages, role and content.
  bool onNull() {
    switch (top()) {
      case Frame::kRoot:
        return (field() != Key::kOther && field() != Key::kModel && field() != Key::kMessages) ||
               decline();
      case Frame::kMessage:
        return field() == Key::kName || decline();
      case Frame::kStreamOptions:
        return field() == Key::kIncludeUsage || decline();
      default:
        return decline();
    }
  }

  // The request once the whole body was read, or nullopt when it lacks what the general
  // decoder requires (model, messages) or combines max_tokens and max_completion_tokens.
  std::optional<ChatRequest> finish() {
    if (request.model.empty() || request.messages.empty()) return std::nullopt;
    if (max_completion_) {
      if (max_tokens_) return std::nullopt;  // both: the general decoder forwards max_tokens too
      request.max_tokens = max_completion_;
      request.max_tokens_is_completion = true;
    } else {
      request.max_tokens = max_tokens_;
    }
    // stream_options mean nothing without streaming (as in the general decoder).
    request.include_usage = request.stream && include_usage_;
    return std::move(request);
  }

 private:
  // A number for a floating-point field, range-checked as the general decoder does.
  bool onNumber(double d) {
    if (top() != Frame::kRoot) return decline();
    switch (field()) {
      case Key::kTemperature:
        return within(d, 0, 2) && set(request.temperature, d);
      case Key::kTopP:
        return within(d, 0, 1) && set(request.top_p, d);
      case Key::kFrequencyPenalty:
        return within(d, -2, 2) && set(request.frequency_penalty, d);
      case Key::kPresencePenalty:
        return within(d, -2, 2) && set(request.presence_penalty, d);
      case Key::kMinP:
        return within(d, 0, 1) && set(request.min_p, d);
      case Key::kRepetitionPenalty:
        return (d > 0 || decline()) && set(request.repetition_penalty, d);
      default:
        return decline();
    }
  }
  bool inRange(std::int64_t v, std::int64_t min, std::int64_t max) {
    return (v >= min && v <= max) || decline();
  }
  bool within(double d, double min, double max) { return (!(d < min) && !(d > max)) || decline(); }
  template <typename T, typename V>
  static bool set(T& field, V value) {
    field = value;
    return true;
  }

  bool has_role_ = false;     // the current message's
  bool has_content_ = false;  // the current message's
  bool include_usage_ = false;
  std::optional<std::int64_t> max_tokens_;
  std::optional<std::int64_t> max_completion_;
};

}  // namespace

std::optional<ChatRequest> readCommonChatRequest(std::string_view body) {
  detail::SaxRun<RequestHandler> run(body);
  RequestHandler* handler = run.accepted();
  if (handler == nullptr) return std::nullopt;
  return handler->finish();
}

}  // namespace switchyard::api::openai
