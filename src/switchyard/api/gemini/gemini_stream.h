#pragma once
// GenerateContentStreamDecoder: a Gemini upstream's streamGenerateContent?alt=sse events (each
// `data:` a whole GenerateContentResponse) -> native ChatChunks, OpenAI-shaped: a role chunk per
// candidate, content / reasoning_content deltas, each function call as one complete tool-call
// delta (several in one event are parallel calls), a finish chunk when a candidate's
// finishReason arrives, and at the end of the body a usage chunk with no choices.
// Stateful and owned by one stream: not thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::gemini {

class GenerateContentStreamDecoder {
 public:
  // `created` stamps the chunks; `id_seed` makes generated tool-call ids unique (request id).
  explicit GenerateContentStreamDecoder(std::int64_t created = 0, std::string id_seed = {})
      : created_(created), id_seed_(std::move(id_seed)) {}

  // Decodes one event's data into zero or more chunks appended to `out`. An {"error":{...}}
  // event returns its error; a blocked prompt returns promptBlocked(); malformed data kUpstream.
  Status onEvent(std::string_view data, std::vector<ChatChunk>& out);
  // The body ended: appends the usage chunk. kUpstream when no candidate had finished (the
  // stream was cut).
  Status finish(std::vector<ChatChunk>& out);

 private:
  ChatChunk base() const;

  struct CandidateState {
    bool started = false;
    bool finished = false;
    int tool_calls = 0;
  };

  std::int64_t created_ = 0;
  std::string id_seed_;
  std::string id_;
  std::string model_;
  std::map<int, CandidateState> candidates_;
  int call_counter_ = 0;
  std::optional<Usage> usage_;
  bool finished_any_ = false;
  bool delivered_ = false;  // a chunk went out (the first carries the prompt's usage)
};

}  // namespace switchyard::api::gemini
