#include "switchyard/api/openai/chunk_reader.h"

#include <boost/json/basic_parser_impl.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace switchyard::api::openai {
namespace {

namespace json = boost::json;
using json::error_code;

// Builds a ChatChunk from parser events. Frames are the objects and arrays whose members it
// reads; any other value is skipped whole (the general decoder ignores it too). A return of
// false stops the parser: the chunk is declined.
class ChunkHandler {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  ChatChunk chunk;
  bool declined = false;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (skip_ > 0) return ++skip_, true;
    if (depth_ == 0) return push(Frame::kRoot);
    switch (top()) {
      case Frame::kRoot:
        if (key_ == "usage") return seen(seen_usage_) && push(Frame::kUsage);
        if (isRootError()) return decline();  // an error sent as an event
        return skipValue();
      case Frame::kChoices: {
        ChoiceDelta& d = chunk.choices.emplace_back();
        d.index = static_cast<int>(chunk.choices.size() - 1);
        return push(Frame::kChoice);
      }
      case Frame::kChoice:
        if (key_ == "delta") {
          reasoning_.reset();
          return push(Frame::kDelta);
        }
        if (key_ == "logprobs") return decline();  // kept verbatim by the general decoder
        return skipValue();
      case Frame::kUsage:
        if (key_ == "prompt_tokens_details") return push(Frame::kPromptDetails);
        if (key_ == "completion_tokens_details") return push(Frame::kCompletionDetails);
        return skipValue();
      default:
        return skipValue();
    }
  }

  bool on_object_end(std::size_t, error_code&) {
    if (skip_ > 0) return --skip_, true;
    const Frame frame = top();
    --depth_;
    if (frame == Frame::kDelta) {
      ChoiceDelta& d = chunk.choices.back();
      if (!d.reasoning_content && reasoning_) d.reasoning_content = std::move(reasoning_);
    } else if (frame == Frame::kUsage) {
      if (!has_total_) usage_.total_tokens = usage_.prompt_tokens + usage_.completion_tokens;
      chunk.usage = usage_;
    }
    return true;
  }

  bool on_array_begin(error_code&) {
    if (skip_ > 0) return ++skip_, true;
    if (depth_ == 0) return decline();  // not an object
    switch (top()) {
      case Frame::kRoot:
        if (key_ == "choices") return seen(seen_choices_) && push(Frame::kChoices);
        if (key_ == "error") return decline();
        return skipValue();
      case Frame::kChoices:
        return decline();  // choices[i] is not an object: the general decoder says so
      case Frame::kChoice:
        if (key_ == "logprobs") return decline();
        return skipValue();
      case Frame::kDelta:
        if (key_ == "tool_calls") return decline();
        return skipValue();
      default:
        return skipValue();
    }
  }

  bool on_array_end(std::size_t, error_code&) {
    if (skip_ > 0) return --skip_, true;
    --depth_;
    return true;
  }

  // Keys are copied (the parser's views last only for the call); most fit std::string's
  // inline buffer.
  bool on_key_part(json::string_view part, std::size_t, error_code&) {
    if (key_done_) key_buffer_.clear();
    key_done_ = false;
    key_buffer_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, error_code&) {
    if (key_done_) key_buffer_.clear();
    key_done_ = true;
    key_buffer_.append(part.data(), part.size());
    key_ = key_buffer_;
    return true;
  }

  bool on_string_part(json::string_view part, std::size_t, error_code&) {
    if (skip_ == 0) string_buffer_.append(part.data(), part.size());
    return true;
  }
  bool on_string(json::string_view part, std::size_t, error_code&) {
    if (skip_ > 0) return true;
    std::string_view value(part.data(), part.size());
    if (!string_buffer_.empty()) {
      string_buffer_.append(part.data(), part.size());
      value = string_buffer_;
    }
    const bool ok = onString(value);
    string_buffer_.clear();
    return ok;
  }

  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t v, json::string_view, error_code&) {
    if (skip_ > 0) return true;
    return onInteger(v);
  }
  bool on_uint64(std::uint64_t v, json::string_view, error_code&) {
    if (skip_ > 0) return true;
    // Clamped, as the general decoder does.
    return onInteger(v > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX
                                                               : static_cast<std::int64_t>(v));
  }
  bool on_double(double, json::string_view, error_code&) {
    if (skip_ > 0) return true;
    return otherScalar();
  }
  bool on_bool(bool, error_code&) {
    if (skip_ > 0) return true;
    return otherScalar();
  }
  bool on_null(error_code&) {
    if (skip_ > 0) return true;
    if (depth_ == 0) return decline();  // not an object
    // The general decoder reads a null number as 0, and skips a null string.
    if (isIntegerField()) return onInteger(0);
    return !isChoicesElement() || decline();
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  enum class Frame : std::uint8_t {
    kRoot, kChoices, kChoice, kDelta, kUsage, kPromptDetails, kCompletionDetails
  };

  Frame top() const { return frames_[depth_ - 1]; }
  bool push(Frame f) {
    if (depth_ == frames_.size()) return decline();
    frames_[depth_++] = f;
    return true;
  }
  bool skipValue() {
    skip_ = 1;
    return true;
  }
  bool decline() {
    declined = true;
    return false;
  }
  // A structural key seen twice in one object: left to the general decoder.
  bool seen(bool& flag) {
    if (flag) return decline();
    flag = true;
    return true;
  }
  // A non-null value of these root members other than what the fast path reads (an error
  // object; choices that are not an array) is the general decoder's to judge.
  bool isRootError() const {
    return depth_ > 0 && top() == Frame::kRoot && (key_ == "error" || key_ == "choices");
  }
  bool isChoicesElement() const { return depth_ > 0 && top() == Frame::kChoices; }

  // Fields the general decoder reads with int64Of (nulls and integers only here).
  bool isIntegerField() const {
    if (depth_ == 0) return false;
    switch (top()) {
      case Frame::kRoot: return key_ == "created";
      case Frame::kChoice: return key_ == "index";
      case Frame::kUsage:
        return key_ == "prompt_tokens" || key_ == "completion_tokens" || key_ == "total_tokens";
      case Frame::kPromptDetails: return key_ == "cached_tokens" || key_ == "cache_write_tokens";
      case Frame::kCompletionDetails: return key_ == "reasoning_tokens";
      default: return false;
    }
  }

  bool onInteger(std::int64_t v) {
    if (depth_ == 0) return decline();
    if (isChoicesElement() || isRootError()) return decline();
    if (!isIntegerField()) return true;  // ignored, as the general decoder ignores it
    switch (top()) {
      case Frame::kRoot: chunk.created = v; break;
      case Frame::kChoice: chunk.choices.back().index = static_cast<int>(v); break;
      case Frame::kUsage:
        if (key_ == "prompt_tokens") {
          usage_.prompt_tokens = v;
        } else if (key_ == "completion_tokens") {
          usage_.completion_tokens = v;
        } else {
          usage_.total_tokens = v;
          has_total_ = true;
        }
        break;
      case Frame::kPromptDetails:
        (key_ == "cached_tokens" ? usage_.cached_tokens : usage_.cache_write_tokens) = v;
        break;
      case Frame::kCompletionDetails: usage_.reasoning_tokens = v; break;
      default: break;
    }
    return true;
  }

  bool onString(std::string_view v) {
    if (depth_ == 0 || isChoicesElement() || isRootError()) return decline();
    if (isIntegerField()) return decline();  // the general decoder parses some strings as 0
    switch (top()) {
      case Frame::kRoot:
        if (key_ == "id") {
          chunk.id.assign(v);
        } else if (key_ == "model") {
          chunk.model.assign(v);
        } else if (key_ == "system_fingerprint") {
          chunk.system_fingerprint.assign(v);
        }
        break;
      case Frame::kChoice:
        if (key_ == "finish_reason") chunk.choices.back().finish_reason = parseFinishReason(v);
        break;
      case Frame::kDelta: {
        ChoiceDelta& d = chunk.choices.back();
        if (key_ == "content") {
          d.content.emplace(v);
        } else if (key_ == "role") {
          d.role = parseRole(v);
        } else if (key_ == "reasoning_content") {
          d.reasoning_content.emplace(v);
        } else if (key_ == "reasoning") {
          reasoning_.emplace(v);
        } else if (key_ == "refusal") {
          d.refusal.emplace(v);
        }
        break;
      }
      default: break;
    }
    return true;
  }

  // A double or a boolean: ignored where the general decoder ignores it, declined where it
  // would convert it (numbers) or where the shape is not a member (choices elements).
  bool otherScalar() {
    return (depth_ > 0 && !isIntegerField() && !isChoicesElement() && !isRootError()) ||
           decline();
  }

  std::array<Frame, 6> frames_{};
  std::size_t depth_ = 0;
  int skip_ = 0;                 // > 0: inside a value that is skipped whole
  std::string_view key_;         // the current member's key (valid until the next key)
  std::string key_buffer_;       // the current key's bytes
  bool key_done_ = false;        // key_buffer_ holds a whole key: the next part starts anew
  std::string string_buffer_;    // a string that arrived in parts
  std::optional<std::string> reasoning_;  // "reasoning": used when reasoning_content is absent
  Usage usage_;
  bool has_total_ = false;
  bool seen_choices_ = false;
  bool seen_usage_ = false;
};

}  // namespace

std::optional<ChatChunk> readCommonChatChunk(std::string_view data) {
  json::basic_parser<ChunkHandler> parser{json::parse_options{}};
  error_code ec;
  const std::size_t used = parser.write_some(false, data.data(), data.size(), ec);
  if (ec || parser.handler().declined || !parser.done() || used != data.size()) {
    return std::nullopt;
  }
  return std::move(parser.handler().chunk);
}

}  // namespace switchyard::api::openai
