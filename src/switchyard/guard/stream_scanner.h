#pragma once
// StreamScanner: scans model output as it streams. Chunks go in; redacted text and findings come
// out, with a bounded hold-back so that an entity split across chunks ("john.do" + "e@x.com") is
// still caught. One per stream, not thread-safe; the Detector it uses must outlive it.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/guard/detector.h"
#include "switchyard/guard/finding.h"
#include "switchyard/guard/redact.h"

namespace switchyard::guard {

struct StreamScanOptions {
  // Bytes kept back from the end of what has arrived; an entity (with the context it needs) up
  // to this long is caught wherever the chunks split it. 0: the detector's maxEntitySpan().
  std::size_t hold_back = 0;
  // An entity still open at the end of the buffer (a PEM block still arriving) may extend the
  // hold past hold_back, but never past this; then the buffer is emitted as scanned so far.
  std::size_t max_hold = 64 * 1024;
  // Scan only once this many bytes beyond hold_back are waiting: token-sized chunks would
  // otherwise rescan the whole hold-back for every few bytes. Trades latency for CPU.
  std::size_t scan_step = 64;
  Style style = Style::kTyped;
  // Which findings to redact (e.g. by the request's policy); unset: all of them.
  std::function<bool(const Finding&)> keep;
};

class StreamScanner {
 public:
  struct Output {
    std::string text;               // ready to send: redacted
    std::vector<Finding> findings;  // offsets into the whole input stream, not the chunk
  };

  // With a vault, placeholders share its numbering (e.g. the request's own [EMAIL_1]).
  StreamScanner(const Detector& detector, Vault* vault, StreamScanOptions options = {});

  Output push(std::string_view chunk);
  Output finish();  // scans and emits everything still held

  std::size_t held() const { return buffer_.size(); }

 private:
  Output emit(std::size_t cut, const std::vector<Finding>& found);

  const Detector& detector_;
  Vault* vault_;
  Vault own_vault_;
  StreamScanOptions options_;
  std::string left_;    // the last bytes already emitted: context for boundary checks
  std::string buffer_;  // received, not yet emitted
  std::size_t base_ = 0;  // stream offset of buffer_[0]
};

}  // namespace switchyard::guard
