#pragma once
// The fast path for the commonest non-streamed upstream answer: one OpenAI chat.completion.
// Boost.JSON's SAX parser fills the ChatResponse directly, with no DOM in between, for the usual
// shape (envelope, choices whose message has text, refusal, reasoning and tool calls with string
// arguments, scalar or empty extra message fields, usage). Anything else — content parts,
// logprobs, an error object, numbers the general decoder converts, duplicate keys, malformed
// JSON — makes it decline, and decodeChatResponse() decodes the body with the general (DOM)
// decoder instead, so the result is always the general decoder's (a differential test holds
// the two to that). Stateless; thread-safe.

#include <optional>
#include <string_view>

#include "switchyard/api/types.h"

namespace switchyard::api::openai {

// The response in `body`, or nullopt when the fast path declines it.
std::optional<ChatResponse> readCommonChatResponse(std::string_view body);

}  // namespace switchyard::api::openai
