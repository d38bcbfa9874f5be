#include "switchyard/api/openai/chunk_reader.h"

#include <cstdint>
#include <string>

#include "switchyard/api/openai/sax_reader.h"

namespace switchyard::api::openai {
namespace {

using detail::Field;
using detail::Frame;
using detail::isIntegerField;

// Builds a ChatChunk from parser events (sax_reader.h has the frame and key machinery).
class ChunkHandler : public detail::CompletionReader<ChunkHandler> {
 public:
  ChatChunk chunk;

  static Field fieldOf(Frame frame, std::string_view key) { return detail::namedField(frame, key); }

  bool objectBegins() {
    if (depth() == 0) return push(Frame::kRoot);
    switch (top()) {
      case Frame::kRoot:
        if (field() == Field::kUsage) return push(Frame::kUsage);
        return isRootError() ? decline() : skipValue();  // an error sent as an event
      case Frame::kChoices: {
        ChoiceDelta& d = chunk.choices.emplace_back();
        d.index = static_cast<int>(chunk.choices.size() - 1);
        return push(Frame::kChoice);
      }
      case Frame::kChoice:
        if (field() == Field::kDelta) {
          reasoning_.reset();
          return push(Frame::kDelta);
        }
        // logprobs are kept verbatim by the general decoder
        return field() == Field::kLogprobs || field() == Field::kIndex ? decline() : skipValue();
      case Frame::kUsage:
      case Frame::kPromptDetails:
      case Frame::kCompletionDetails:
        return usageObjectBegins();
      default:
        return skipValue();
    }
  }

  bool arrayBegins() {
    switch (top()) {
      case Frame::kRoot:
        if (field() == Field::kChoices) return push(Frame::kChoices);
        return field() == Field::kError || field() == Field::kCreated ? decline() : skipValue();
      case Frame::kChoices:
        return decline();  // choices[i] is not an object: the general decoder says so
      case Frame::kChoice:
        return field() == Field::kLogprobs || field() == Field::kIndex ? decline() : skipValue();
      case Frame::kDelta:
        return field() == Field::kToolCalls ? decline() : skipValue();
      case Frame::kUsage:
      case Frame::kPromptDetails:
      case Frame::kCompletionDetails:
        return usageArrayBegins();
      default:
        return skipValue();
    }
  }

  bool objectEnds(Frame frame) {
    if (frame == Frame::kDelta) {
      ChoiceDelta& d = chunk.choices.back();
      if (!d.reasoning_content && reasoning_) d.reasoning_content = std::move(reasoning_);
    } else if (frame == Frame::kUsage) {
      chunk.usage = usage();
    }
    return true;
  }
  bool arrayEnds(Frame) { return true; }

  bool onString(std::string_view v) {
    if (!scalarAllowed() || isIntegerField(field())) return decline();
    switch (top()) {
      case Frame::kRoot:
        if (field() == Field::kId) {
          chunk.id.assign(v);
        } else if (field() == Field::kModel) {
          chunk.model.assign(v);
        } else if (field() == Field::kSystemFingerprint) {
          chunk.system_fingerprint.assign(v);
        }
        break;
      case Frame::kChoice:
        if (field() == Field::kFinishReason) {
          chunk.choices.back().finish_reason = parseFinishReason(v);
        } else if (field() == Field::kStopReason) {
          chunk.choices.back().stop_sequence.assign(v);
        }
        break;
      case Frame::kDelta: {
        ChoiceDelta& d = chunk.choices.back();
        switch (field()) {
          case Field::kContent:
            d.content.emplace(v);
            break;
          case Field::kRole:
            d.role = parseRole(v);
            break;
          case Field::kReasoningContent:
            d.reasoning_content.emplace(v);
            break;
          case Field::kReasoning:
            reasoning_.emplace(v);
            break;
          case Field::kRefusal:
            d.refusal.emplace(v);
            break;
          default:
            break;
        }
        break;
      }
      default:
        break;
    }
    return true;
  }

  bool onInteger(std::int64_t v) {
    if (!scalarAllowed()) return decline();
    if (isIntegerField(field())) setInteger(v);  // anything else is ignored, as in general
    return true;
  }
  bool onUnsigned(std::uint64_t v) { return onInteger(clamped(v)); }
  // A double or a boolean: ignored where the general decoder ignores it, declined where it
  // would convert it (numbers).
  bool onDouble(double) { return otherScalar(); }
  bool onBool(bool) { return otherScalar(); }
  bool onNull() {
    // The general decoder reads a null number as 0, and skips a null string.
    if (top() == Frame::kChoices) return decline();
    if (isIntegerField(field())) setInteger(0);
    return true;
  }

 private:
  // A non-null value of these root members other than what the fast path reads (an error
  // object; choices that are not an array) is the general decoder's to judge.
  bool isRootError() const {
    return top() == Frame::kRoot && (field() == Field::kError || field() == Field::kChoices);
  }
  // A scalar (not null) where one may stand.
  bool scalarAllowed() const { return top() != Frame::kChoices && !isRootError(); }
  bool otherScalar() { return (scalarAllowed() && !isIntegerField(field())) || decline(); }

  void setInteger(std::int64_t v) {
    switch (top()) {
      case Frame::kRoot:
        chunk.created = v;
        break;
      case Frame::kChoice:
        chunk.choices.back().index = static_cast<int>(v);
        break;
      default:
        usageInteger(v);
        break;
    }
  }

  std::optional<std::string> reasoning_;  // "reasoning": used when reasoning_content is absent
};

}  // namespace

std::optional<ChatChunk> readCommonChatChunk(std::string_view data) {
  detail::SaxRun<ChunkHandler> run(data);
  if (ChunkHandler* handler = run.accepted()) return std::move(handler->chunk);
  return std::nullopt;
}

}  // namespace switchyard::api::openai
