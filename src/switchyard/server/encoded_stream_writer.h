#pragma once
// EncodedStreamWriter: a ChatSink that turns native chunks into another wire format's stream
// events through a stateful encoder (Anthropic Messages, OpenAI Responses, ...) and writes them.
// The response starts with the first event, so a failure before it can still be a plain HTTP
// error; the events of one upstream read leave in one socket write (beginBatch/endBatch); the
// end of the stream leaves with whatever the last batch still holds.
//
// Encoder: onChunk(const api::ChatChunk&, std::string& out), finish(std::string& out),
// fail(const Status&, std::string& out). One per request; used from its connection's coroutine.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include "switchyard/http/server.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/providers/provider.h"

namespace switchyard::server {

template <typename Encoder>
class EncodedStreamWriter final : public providers::ChatSink {
 public:
  // `headers` is asked when the response starts, once the answering provider is known.
  EncodedStreamWriter(http::ResponseWriter& writer, pipeline::RequestContext& ctx, Encoder encoder,
                      std::function<http::ResponseWriter::Headers()> headers)
      : writer_(writer), ctx_(ctx), encoder_(std::move(encoder)), headers_(std::move(headers)) {}

  boost::asio::awaitable<Status> onChunk(const api::ChatChunk& chunk) override {
    if (chunk.usage) ctx_.usage = *chunk.usage;
    buffer_.clear();
    encoder_.onChunk(chunk, buffer_);
    if (buffer_.empty()) co_return Status::ok();
    if (Status s = co_await start(); !s.isOk()) co_return s;
    writer_.append(buffer_);
    if (batching_) co_return Status::ok();
    co_return co_await writer_.flush();
  }

  void beginBatch() override { batching_ = true; }
  boost::asio::awaitable<Status> endBatch() override {
    batching_ = false;
    co_return co_await writer_.flush();
  }

  // The encoder's closing events, or its error events for `status`. `before_write`, when set,
  // runs once they are encoded and before they are written (e.g. to store what the encoder
  // closed, before the client sees the end).
  boost::asio::awaitable<void> finish(
      const Status& status, std::function<boost::asio::awaitable<void>()> before_write = {}) {
    buffer_.clear();
    if (status.isOk()) {
      encoder_.finish(buffer_);
    } else {
      encoder_.fail(status, buffer_);
    }
    if (before_write) co_await before_write();
    (void)co_await start();
    writer_.append(buffer_);
    (void)co_await writer_.finish();
  }

  const Encoder& encoder() const { return encoder_; }

 private:
  boost::asio::awaitable<Status> start() {
    if (writer_.started()) co_return Status::ok();
    ctx_.first_byte = std::chrono::steady_clock::now();
    co_return co_await writer_.startStream(200, "text/event-stream", headers_());
  }

  http::ResponseWriter& writer_;
  pipeline::RequestContext& ctx_;
  Encoder encoder_;
  std::function<http::ResponseWriter::Headers()> headers_;
  std::string buffer_;
  bool batching_ = false;
};

}  // namespace switchyard::server
