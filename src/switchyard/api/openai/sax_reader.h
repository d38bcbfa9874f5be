#pragma once
// What the fast readers (chunk_reader, response_reader, request_reader) share: a Boost.JSON
// SAX handler base that keeps a stack of the frames (objects and arrays) a reader descends
// into, skips every other value whole, names each member's key once (a Field enum whose
// value-initialised member means "a key the reader does not name") and buffers keys and
// strings that arrive in parts. A reader declines — stops the parser, so that the general DOM
// decoder reads the text instead — on anything outside the shape it knows, and on a named key
// seen twice in one object (Boost.JSON's DOM keeps the last of duplicate keys; declining is
// simpler than reproducing that). Internal to api/openai.
//
// Derived implements, each returning false to decline:
//   static bool isArray(Frame frame)                   which of its frames are arrays
//   Field fieldOf(Frame frame, std::string_view key)   names a key
//   bool objectBegins() / arrayBegins()                a container value for field()
//   bool objectEnds(Frame) / arrayEnds(Frame)          a frame it pushed ends
//   bool onString(std::string_view) / onInteger(std::int64_t) / onUnsigned(std::uint64_t) /
//        onDouble(double) / onBool(bool) / onNull()    a scalar value for field()
// Values at the top of the document other than an object are declined here; a reader's
// handlers run only inside the frames it pushed (and for the document's root object).

#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "switchyard/api/types.h"

namespace switchyard::api::openai::detail {

// The objects and arrays a reader descends into.
enum class Frame : std::uint8_t {
  kRoot,
  kChoices,
  kChoice,
  kDelta,
  kMessage,
  kToolCalls,
  kToolCall,
  kFunction,
  kUsage,
  kPromptDetails,
  kCompletionDetails,
  kEmptyObject,
  kEmptyArray,  // a value kept verbatim that must stay empty
};

// The keys a reader knows (kOther: any other key). At most 31 besides kOther: each is one bit
// of a frame's "seen" mask.
enum class Field : std::uint8_t {
  kOther,
  kId,
  kModel,
  kCreated,
  kSystemFingerprint,
  kServiceTier,
  kUsage,
  kChoices,
  kError,
  kIndex,
  kDelta,
  kMessage,
  kFinishReason,
  kStopReason,  // vLLM: the stop string (or token id) that ended a choice
  kLogprobs,
  kRole,
  kContent,
  kToolCalls,
  kRefusal,
  kName,
  kToolCallId,
  kReasoningContent,
  kReasoning,
  kFunction,
  kArguments,
  kPromptTokens,
  kCompletionTokens,
  kTotalTokens,
  kPromptDetails,
  kCompletionDetails,
  kCachedTokens,
  kCacheWriteTokens,
  kReasoningTokens,
};
static_assert(static_cast<int>(Field::kReasoningTokens) < 64);

// Whether `key` is the literal `name`: a comparison of known length, which the compiler turns
// into a few loads (std::string_view's operator== calls compare() out of line).
template <std::size_t N>
inline bool is(std::string_view key, const char (&name)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), name, N - 1) == 0;
}

// A key's name in a frame. Switching on the length first leaves at most three comparisons per
// key.
inline Field namedField(Frame frame, std::string_view key) {
  switch (frame) {
    case Frame::kRoot:
      switch (key.size()) {
        case 2: return is(key, "id") ? Field::kId : Field::kOther;
        case 5:
          if (is(key, "model")) return Field::kModel;
          if (is(key, "usage")) return Field::kUsage;
          return is(key, "error") ? Field::kError : Field::kOther;
        case 7:
          if (is(key, "created")) return Field::kCreated;
          return is(key, "choices") ? Field::kChoices : Field::kOther;
        case 12: return is(key, "service_tier") ? Field::kServiceTier : Field::kOther;
        case 18: return is(key, "system_fingerprint") ? Field::kSystemFingerprint : Field::kOther;
        default: return Field::kOther;
      }
    case Frame::kChoice:
      switch (key.size()) {
        case 5:
          if (is(key, "index")) return Field::kIndex;
          return is(key, "delta") ? Field::kDelta : Field::kOther;
        case 7: return is(key, "message") ? Field::kMessage : Field::kOther;
        case 8: return is(key, "logprobs") ? Field::kLogprobs : Field::kOther;
        case 11:
          return is(key, "stop_reason") ? Field::kStopReason : Field::kOther;
        case 13: return is(key, "finish_reason") ? Field::kFinishReason : Field::kOther;
        default: return Field::kOther;
      }
    case Frame::kDelta:
    case Frame::kMessage:
      switch (key.size()) {
        case 4:
          if (is(key, "role")) return Field::kRole;
          return is(key, "name") ? Field::kName : Field::kOther;
        case 7:
          if (is(key, "content")) return Field::kContent;
          return is(key, "refusal") ? Field::kRefusal : Field::kOther;
        case 9: return is(key, "reasoning") ? Field::kReasoning : Field::kOther;
        case 10: return is(key, "tool_calls") ? Field::kToolCalls : Field::kOther;
        case 12: return is(key, "tool_call_id") ? Field::kToolCallId : Field::kOther;
        case 17: return is(key, "reasoning_content") ? Field::kReasoningContent : Field::kOther;
        default: return Field::kOther;
      }
    case Frame::kToolCall:
      if (is(key, "id")) return Field::kId;
      return is(key, "function") ? Field::kFunction : Field::kOther;
    case Frame::kFunction:
      if (is(key, "name")) return Field::kName;
      return is(key, "arguments") ? Field::kArguments : Field::kOther;
    case Frame::kUsage:
      switch (key.size()) {
        case 12: return is(key, "total_tokens") ? Field::kTotalTokens : Field::kOther;
        case 13: return is(key, "prompt_tokens") ? Field::kPromptTokens : Field::kOther;
        case 17: return is(key, "completion_tokens") ? Field::kCompletionTokens : Field::kOther;
        case 21: return is(key, "prompt_tokens_details") ? Field::kPromptDetails : Field::kOther;
        case 25:
          return is(key, "completion_tokens_details") ? Field::kCompletionDetails : Field::kOther;
        default: return Field::kOther;
      }
    case Frame::kPromptDetails:
      if (is(key, "cached_tokens")) return Field::kCachedTokens;
      return is(key, "cache_write_tokens") ? Field::kCacheWriteTokens : Field::kOther;
    case Frame::kCompletionDetails:
      return is(key, "reasoning_tokens") ? Field::kReasoningTokens : Field::kOther;
    default:
      return Field::kOther;
  }
}

// Members the general decoder reads with int64Of. The readers take integers and null (0) for
// them and decline anything else (int64Of converts doubles and reads other kinds as 0).
inline bool isIntegerField(Field field) {
  switch (field) {
    case Field::kCreated:
    case Field::kIndex:
    case Field::kPromptTokens:
    case Field::kCompletionTokens:
    case Field::kTotalTokens:
    case Field::kCachedTokens:
    case Field::kCacheWriteTokens:
    case Field::kReasoningTokens:
      return true;
    default:
      return false;
  }
}

template <typename Derived, typename Frame, typename Field, std::size_t kMaxDepth>
class SaxReader {
 public:
  using error_code = boost::json::error_code;
  using string_view = boost::json::string_view;

  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  bool declined() const { return declined_; }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (skip_ > 0) return ++skip_, true;
    return self().objectBegins();
  }
  bool on_object_end(std::size_t, error_code&) {
    if (skip_ > 0) return --skip_, true;
    return self().objectEnds(frames_[--depth_]);
  }
  bool on_array_begin(error_code&) {
    if (skip_ > 0) return ++skip_, true;
    if (depth_ == 0) return decline();  // not an object
    return self().arrayBegins();
  }
  bool on_array_end(std::size_t, error_code&) {
    if (skip_ > 0) return --skip_, true;
    return self().arrayEnds(frames_[--depth_]);
  }

  bool on_key_part(string_view part, std::size_t, error_code&) {
    if (skip_ == 0) key_buffer_.append(part.data(), part.size());
    return true;
  }
  bool on_key(string_view part, std::size_t, error_code&) {
    if (skip_ > 0) return true;
    std::string_view key(part.data(), part.size());
    if (!key_buffer_.empty()) {
      key_buffer_.append(part.data(), part.size());
      key = key_buffer_;
    }
    field_ = self().fieldOf(frames_[depth_ - 1], key);
    key_buffer_.clear();
    if (field_ == Field{}) return true;
    const std::uint64_t bit = std::uint64_t{1} << static_cast<unsigned>(field_);
    if ((seen_[depth_ - 1] & bit) != 0) return decline();
    seen_[depth_ - 1] |= bit;
    return true;
  }

  bool on_string_part(string_view part, std::size_t, error_code&) {
    if (skip_ == 0) string_buffer_.append(part.data(), part.size());
    return true;
  }
  bool on_string(string_view part, std::size_t, error_code&) {
    if (skip_ > 0) return true;
    if (depth_ == 0) return decline();
    std::string_view value(part.data(), part.size());
    if (!string_buffer_.empty()) {
      string_buffer_.append(part.data(), part.size());
      value = string_buffer_;
    }
    const bool ok = self().onString(value);
    string_buffer_.clear();
    return ok;
  }

  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t v, string_view, error_code&) {
    return skip_ > 0 || (depth_ > 0 ? self().onInteger(v) : decline());
  }
  bool on_uint64(std::uint64_t v, string_view, error_code&) {
    return skip_ > 0 || (depth_ > 0 ? self().onUnsigned(v) : decline());
  }
  bool on_double(double v, string_view, error_code&) {
    // Boost.JSON reads 1e400 as infinity and 0e400 as NaN: the general decoder says why.
    if (!std::isfinite(v)) return decline();
    return skip_ > 0 || (depth_ > 0 ? self().onDouble(v) : decline());
  }
  bool on_bool(bool v, error_code&) {
    return skip_ > 0 || (depth_ > 0 ? self().onBool(v) : decline());
  }
  bool on_null(error_code&) { return skip_ > 0 || (depth_ > 0 ? self().onNull() : decline()); }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 protected:
  // The innermost frame; only valid inside one (a reader's handlers always are).
  Frame top() const { return frames_[depth_ - 1]; }
  std::size_t depth() const { return depth_; }
  // The current member's key, named; Field{} inside arrays and for keys a reader ignores.
  Field field() const { return depth_ > 0 && Derived::isArray(top()) ? Field{} : field_; }

  bool push(Frame frame) {
    if (depth_ == kMaxDepth) return decline();
    frames_[depth_] = frame;
    seen_[depth_] = 0;
    ++depth_;
    field_ = Field{};
    return true;
  }
  // The value that begins now (an object or array) is skipped whole.
  bool skipValue() {
    skip_ = 1;
    return true;
  }
  bool decline() {
    declined_ = true;
    return false;
  }
  // uint64 values the general decoder reads as int64 are clamped, as int64Of does.
  static std::int64_t clamped(std::uint64_t v) {
    return v > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(v);
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }

  std::array<Frame, kMaxDepth> frames_{};
  std::array<std::uint64_t, kMaxDepth> seen_{};  // per object frame: known keys seen so far
  std::size_t depth_ = 0;
  int skip_ = 0;               // > 0: inside a value that is skipped whole
  Field field_{};              // the current member's key, named
  std::string key_buffer_;     // a key that arrived in parts
  std::string string_buffer_;  // a string that arrived in parts
  bool declined_ = false;
};

// The base of the readers of chat.completion documents and their chunks: the frames and key
// names above, and `usage` read as readUsage does.
template <typename Derived>
class CompletionReader : public SaxReader<Derived, Frame, Field, 8> {
 public:
  static bool isArray(Frame frame) {
    return frame == Frame::kChoices || frame == Frame::kToolCalls || frame == Frame::kEmptyArray;
  }

 protected:
  // `usage` and its details objects, read as readUsage does. usageObjectBegins/-ArrayBegins
  // handle a container met inside them; usageInteger an integer (or null: 0) member.
  bool usageObjectBegins() {
    if (this->top() == Frame::kUsage && this->field() == Field::kPromptDetails) {
      return this->push(Frame::kPromptDetails);
    }
    if (this->top() == Frame::kUsage && this->field() == Field::kCompletionDetails) {
      return this->push(Frame::kCompletionDetails);
    }
    return isIntegerField(this->field()) ? this->decline() : this->skipValue();
  }
  bool usageArrayBegins() {
    return isIntegerField(this->field()) ? this->decline() : this->skipValue();
  }
  void usageInteger(std::int64_t v) {
    switch (this->field()) {
      case Field::kPromptTokens:
        usage_.prompt_tokens = v;
        break;
      case Field::kCompletionTokens:
        usage_.completion_tokens = v;
        break;
      case Field::kTotalTokens:
        usage_.total_tokens = v;
        has_total_ = true;  // even when null (0): the general decoder checks for the key
        break;
      case Field::kCachedTokens:
        usage_.cached_tokens = v;
        break;
      case Field::kCacheWriteTokens:
        usage_.cache_write_tokens = v;
        break;
      case Field::kReasoningTokens:
        usage_.reasoning_tokens = v;
        break;
      default:
        break;
    }
  }
  // The usage object that just ended.
  Usage usage() const {
    Usage u = usage_;
    if (!has_total_) u.total_tokens = u.prompt_tokens + u.completion_tokens;
    return u;
  }

 private:
  Usage usage_;
  bool has_total_ = false;
};

// Runs `Handler` over the whole of `data`. Returns the handler when the text is one complete
// JSON document that it accepted, nullptr otherwise.
template <typename Handler>
class SaxRun {
 public:
  explicit SaxRun(std::string_view data) {
    error_code ec;
    const std::size_t used = parser_.write_some(false, data.data(), data.size(), ec);
    ok_ = !ec && !parser_.handler().declined() && parser_.done() && used == data.size();
  }
  Handler* accepted() { return ok_ ? &parser_.handler() : nullptr; }

 private:
  using error_code = boost::json::error_code;
  boost::json::basic_parser<Handler> parser_{boost::json::parse_options{}};
  bool ok_ = false;
};

}  // namespace switchyard::api::openai::detail
