#pragma once
// Server-Sent Events (WHATWG HTML "event stream" format): an incremental parser that accepts a
// stream cut at any byte boundary, and a writer helper that frames one event.
//
// Thread-safety: an SseParser is a value type owned by one reader; not thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace switchyard::http {

struct SseEvent {
  std::string event;  // the `event:` field; "" when the event named none (i.e. "message")
  std::string data;   // `data:` lines joined with '\n', the final newline removed
  std::string id;     // the last `id:` seen on the stream (it persists across events)
  std::optional<std::uint64_t> retry;  // `retry:` (milliseconds) when this event carried one
};

class SseParser {
 public:
  // Parses `chunk` and calls `on_event(const SseEvent&)` for every event it completes. The event
  // is valid only during the call. Line endings may be "\n", "\r\n" or "\r", and a chunk may end
  // anywhere, even between the '\r' and '\n' of one line ending.
  template <typename OnEvent>
  void feed(std::string_view chunk, OnEvent&& on_event) {
    while (!chunk.empty()) {
      if (consume(chunk)) on_event(static_cast<const SseEvent&>(event_));
    }
  }

  // End of stream. The format says an event without its closing blank line is dropped; many
  // servers omit that line before closing, so this dispatches such a pending event instead.
  template <typename OnEvent>
  void finish(OnEvent&& on_event) {
    if (flush()) on_event(static_cast<const SseEvent&>(event_));
  }

  // Forgets everything, including the last event id, as for a new stream.
  void reset();

  // Bytes held for an unfinished line and event (for callers that bound their buffers).
  std::size_t pendingBytes() const { return line_.size() + event_.data.size(); }

 private:
  // Consumes input up to and including one line ending (or all of it when it holds none).
  // Returns true when that completed an event, which is then in event_.
  bool consume(std::string_view& input);
  // Handles one complete line; returns true when it was the blank line that ends an event.
  bool processLine(std::string_view line);
  bool dispatch();
  bool flush();
  void startNextEvent();

  SseEvent event_;
  std::string line_;               // an unfinished line carried over between chunks
  bool event_dispatched_ = false;  // event_ went out; clear its fields before reuse
  bool data_seen_ = false;         // a `data` field was seen in the current event
  bool skip_lf_ = false;           // the previous chunk ended in '\r'
  std::uint8_t bom_checked_ = 0;   // bytes of a leading UTF-8 BOM matched so far (3 = done)
};

// Appends one event to `out`: an optional `event:` line, one `data:` line per line of `data`
// (any of "\n", "\r\n", "\r" splits lines), and the blank line that ends the event. Line breaks
// in `event` are dropped, since they would end the field.
void appendSseEvent(std::string& out, std::string_view data, std::string_view event = {});

}  // namespace switchyard::http
