#pragma once
// The fast path for the commonest upstream bytes of all: one OpenAI chat.completion.chunk event
// of a text stream. Boost.JSON's SAX parser (basic_parser) fills the ChatChunk directly, with no
// DOM in between, for the usual shape (envelope, choices with a text/role/reasoning/refusal
// delta, finish_reason, usage). Anything else — tool calls, logprobs, an embedded error,
// numbers or types the general decoder treats specially, malformed JSON — makes it decline,
// and decodeChatChunk() decodes the event with the general (DOM) decoder instead, so the result
// is always the general decoder's (a differential test holds the two to that). Stateless;
// thread-safe.

#include <optional>
#include <string_view>

#include "switchyard/api/types.h"

namespace switchyard::api::openai {

// The chunk in `data`, or nullopt when the fast path declines it.
std::optional<ChatChunk> readCommonChatChunk(std::string_view data);

}  // namespace switchyard::api::openai
