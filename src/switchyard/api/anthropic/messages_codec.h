#pragma once
// Anthropic Messages API wire format <-> native api types, both directions: clients that speak
// Anthropic (POST /v1/messages, /v1/messages/count_tokens) and the `anthropic` upstream.
// Decoders validate client input (Status with `param` naming the field) and are lenient with
// upstream output; encoders never fail except where a native request holds something the
// Anthropic API cannot express (then kUnprocessable naming the feature and the provider).
// Stateless free functions: thread-safe. The streaming halves live in messages_stream.h.

#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::anthropic {

// The Anthropic API version this codec speaks (sent upstream as `anthropic-version`).
inline constexpr std::string_view kApiVersion = "2023-06-01";
// Anthropic requires max_tokens; requests from other formats that leave it unset get this.
inline constexpr std::int64_t kDefaultMaxTokens = 4096;

// ---- client -> gateway ----------------------------------------------------------------------

// A Messages API request. `system` becomes leading system messages; tool_result blocks become
// tool messages (before the rest of their user turn); thinking becomes reasoning_content with
// its signature; metadata.user_id becomes `user`; thinking.budget_tokens also sets
// reasoning_effort (for OpenAI-style upstreams; see docs/anthropic.md). Unknown top-level
// fields land in `extra` and are forwarded verbatim. `include_usage` is set for streams.
// `for_count_tokens`: max_tokens is not required (count_tokens has none).
[[nodiscard]] Result<ChatRequest> decodeMessagesRequest(std::string_view body,
                                                        bool for_count_tokens = false);

// ---- gateway -> client ----------------------------------------------------------------------

std::string encodeMessagesResponse(const ChatResponse& response);
// {"type":"error","error":{"type":..,"message":..}}; HTTP status from api::httpStatusFor.
std::string encodeError(const Status& status);
// Anthropic's error `type` for a status: the upstream's own Anthropic type when it carried one.
std::string_view errorType(const Status& status);
// The Message id a client sees: Anthropic's own (`msg_...`) unchanged; any other upstream's id
// gets Anthropic's prefix in place of its own (`chatcmpl-abc` -> `msg_abc`), so ids look like
// the API's and still lead back to the upstream's.
std::string messageId(std::string_view upstream_id);
// "end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal".
std::string_view stopReasonName(FinishReason reason, std::string_view stop_sequence,
                                bool has_tool_calls);
// {"input_tokens":N}
std::string encodeCountTokensResponse(std::int64_t input_tokens);
// A local estimate of a request's input tokens for upstreams that cannot count: about four
// bytes of text per token plus a small overhead per message, tool and image (docs/anthropic.md).
std::int64_t estimateInputTokens(const ChatRequest& request);

// ---- gateway -> anthropic upstream ----------------------------------------------------------

// `provider` names the upstream in errors. request.model is already the upstream's model id.
[[nodiscard]] Result<std::string> encodeMessagesRequest(const ChatRequest& request,
                                                        std::string_view provider);
// The same request reduced to what count_tokens accepts (no max_tokens, stream, sampling).
[[nodiscard]] Result<std::string> encodeCountTokensRequest(const ChatRequest& request,
                                                           std::string_view provider);

// ---- anthropic upstream -> gateway ----------------------------------------------------------

[[nodiscard]] Result<ChatResponse> decodeMessagesResponse(std::string_view body);
[[nodiscard]] Result<std::int64_t> decodeCountTokensResponse(std::string_view body);
// Anthropic usage -> native: prompt_tokens counts every input token (uncached + cache reads +
// cache writes), as OpenAI's does; cached_tokens are the reads, cache_write_tokens the writes.
Usage usageFromAnthropic(std::int64_t input, std::int64_t output, std::int64_t cache_read,
                         std::int64_t cache_write);
// An upstream's non-2xx answer (or an `error` event): code from the HTTP status,
// withHttpStatus(http_status), message "upstream returned <status>: <error.message>", and the
// Anthropic error type as errorType().
Status decodeUpstreamError(unsigned http_status, std::string_view body);

}  // namespace switchyard::api::anthropic
