#pragma once
// The fast path for the commonest client body: an OpenAI chat completion request with text
// messages (role, string content, name) and the usual sampling parameters (temperature, top_p,
// penalties, max_tokens / max_completion_tokens, seed, n, stop, user, stream, stream_options,
// top_k, min_p, repetition_penalty, logprobs, top_logprobs, reasoning_effort). Boost.JSON's SAX
// parser fills the ChatRequest directly, with no DOM in between. Anything else — tools, content
// parts, response_format, fields kept verbatim for the upstream, a value the general decoder
// would reject or convert, duplicate keys, malformed JSON — makes it decline, and
// decodeChatRequest() decodes the body with the general (validating, DOM) decoder instead, so
// the result, errors included, is always the general decoder's (a differential test holds the
// two to that). Stateless; thread-safe.
//
// Cost of declining: the SAX pass stops at the first member it does not read, so a body that
// declines late (SDKs put `messages` first, `tools` after) costs up to about 1.65 times the DOM
// decoder alone; the common text-chat body costs about 0.65 times (callgrind: 5.1k against
// 7.9k instructions for the bench body).

#include <optional>
#include <string_view>

#include "switchyard/api/types.h"

namespace switchyard::api::openai {

// The request in `body`, or nullopt when the fast path declines it.
std::optional<ChatRequest> readCommonChatRequest(std::string_view body);

}  // namespace switchyard::api::openai
