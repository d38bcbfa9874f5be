#pragma once
// FilteringChatSink: passes a stream's chunks to the client's sink with the text of every
// choice run through the request's OutputFilter (restoring masked values, redacting what must
// not leave). Text the filter holds back leaves with the choice's finishing chunk. One per
// request, on its connection's coroutine.

#include <boost/asio/awaitable.hpp>

#include "switchyard/pipeline/stage.h"
#include "switchyard/providers/provider.h"

namespace switchyard::server {

class FilteringChatSink final : public providers::ChatSink {
 public:
  // `filter` may be null only if the sink is never used.
  FilteringChatSink(providers::ChatSink& next, pipeline::OutputFilter* filter)
      : next_(next), filter_(filter) {}

  boost::asio::awaitable<Status> onChunk(const api::ChatChunk& chunk) override {
    api::ChatChunk copy = chunk;
    copy.upstream_json = {};  // the text changes
    for (auto& choice : copy.choices) {
      if (choice.content) *choice.content = filter_->write(choice.index, *choice.content);
      if (choice.finish_reason != api::FinishReason::kNone) {
        std::string rest = filter_->flush(choice.index);
        if (!rest.empty()) choice.content = choice.content.value_or("") + rest;
      }
    }
    co_return co_await next_.onChunk(copy);
  }

  void beginBatch() override { next_.beginBatch(); }
  boost::asio::awaitable<Status> endBatch() override { return next_.endBatch(); }

 private:
  providers::ChatSink& next_;
  pipeline::OutputFilter* filter_;
};

// The same for legacy text completions (/v1/completions, Ollama /api/generate).
class FilteringCompletionSink final : public providers::CompletionSink {
 public:
  FilteringCompletionSink(providers::CompletionSink& next, pipeline::OutputFilter* filter)
      : next_(next), filter_(filter) {}

  boost::asio::awaitable<Status> onChunk(const api::CompletionResponse& chunk) override {
    api::CompletionResponse copy = chunk;
    for (auto& choice : copy.choices) {
      choice.text = filter_->write(choice.index, choice.text);
      if (choice.finish_reason != api::FinishReason::kNone) {
        choice.text += filter_->flush(choice.index);
      }
    }
    co_return co_await next_.onChunk(copy);
  }

  void beginBatch() override { next_.beginBatch(); }
  boost::asio::awaitable<Status> endBatch() override { return next_.endBatch(); }

 private:
  providers::CompletionSink& next_;
  pipeline::OutputFilter* filter_;
};

}  // namespace switchyard::server
