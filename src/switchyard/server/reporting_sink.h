#pragma once
// ReportingChatSink / ReportingCompletionSink: pass a stream's chunks on unchanged and tell the
// current upstream attempt what they say about the model that answered (model id, fingerprint;
// for traced requests the response id, finish reasons and usage), so dispatch can fill
// ctx.model_version and the attempt's CLIENT span. With payload capture on they also keep the
// streamed text, up to a byte cap, and with trace content capture the streamed answer. One per
// request, on its connection's coroutine.

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <string>

#include "switchyard/providers/provider.h"
#include "switchyard/routing/dispatcher.h"
#include "switchyard/telemetry/trace_content.h"

namespace switchyard::server {

template <typename Sink, typename Chunk>
class ReportingSink final : public Sink {
 public:
  // `capture`: where the streamed text goes (null: not captured), at most `cap` bytes;
  // `content`: the answer for the trace (null: not captured).
  ReportingSink(Sink& next, std::string* capture, std::size_t cap,
                telemetry::StreamedOutput* content = nullptr)
      : next_(next), capture_(capture), cap_(cap), content_(content) {}

  // The attempt that the next chunks belong to.
  void reportTo(providers::CallContext& call) { call_ = &call; }

  boost::asio::awaitable<Status> onChunk(const Chunk& chunk) override {
    if (call_ != nullptr) routing::reportChunk(chunk, *call_);
    if (capture_ != nullptr) captureText(chunk);
    if (content_ != nullptr) content_->add(chunk);
    return next_.onChunk(chunk);
  }

  void beginBatch() override { next_.beginBatch(); }
  boost::asio::awaitable<Status> endBatch() override { return next_.endBatch(); }

 private:
  void append(std::string_view text) {
    if (capture_->size() >= cap_) return;
    capture_->append(text.substr(0, cap_ - capture_->size()));
  }
  void captureText(const api::ChatChunk& chunk) {
    for (const auto& choice : chunk.choices) {
      if (choice.content) append(*choice.content);
    }
  }
  void captureText(const api::CompletionResponse& chunk) {
    for (const auto& choice : chunk.choices) append(choice.text);
  }

  Sink& next_;
  std::string* capture_;
  std::size_t cap_;
  telemetry::StreamedOutput* content_;
  providers::CallContext* call_ = nullptr;
};

using ReportingChatSink = ReportingSink<providers::ChatSink, api::ChatChunk>;
using ReportingCompletionSink = ReportingSink<providers::CompletionSink, api::CompletionResponse>;

}  // namespace switchyard::server
