#pragma once
// Google Gemini API (generativelanguage.googleapis.com/v1beta) wire format <-> native api
// types, for the `gemini` upstream: ChatRequest -> GenerateContentRequest, GenerateContentResponse
// -> ChatResponse, Gemini error bodies -> Status, JSON Schema -> Gemini's OpenAPI Schema subset,
// and the tool-call ids that carry Gemini's thoughtSignature through clients.
// Encoders reject what Gemini cannot express with kUnprocessable naming the feature and the
// provider; decoders are lenient with upstream output. Stateless free functions: thread-safe.
// The streaming half lives in gemini_stream.h.

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::gemini {

// Thinking budgets for OpenAI's reasoning_effort (an Anthropic thinking budget is used as is).
inline constexpr std::int64_t kBudgetLow = 1024;
inline constexpr std::int64_t kBudgetMedium = 8192;
inline constexpr std::int64_t kBudgetHigh = 24576;

// ---- gateway -> gemini upstream -------------------------------------------------------------

// The GenerateContentRequest body for `request` (the model goes in the URL, not the body).
// `provider` names the upstream in errors.
[[nodiscard]] Result<std::string> encodeGenerateContentRequest(const ChatRequest& request,
                                                               std::string_view provider);

// JSON Schema (as OpenAI tools and response_format carry it) -> Gemini's Schema object: types
// upper-cased, ["T","null"] -> nullable, const -> enum, oneOf -> anyOf, local $ref inlined,
// annotations without effect dropped; anything else is kUnprocessable naming the keyword and
// its JSON pointer. `what` names the schema in errors ("tools[0].parameters").
[[nodiscard]] Result<boost::json::value> convertSchema(const boost::json::value& schema,
                                                       std::string_view provider,
                                                       std::string_view what);

// "/models/{model}:generateContent" or "/models/{model}:streamGenerateContent?alt=sse"; a model
// id that already starts with "models/" or "tunedModels/" keeps its collection.
std::string methodPath(std::string_view model, bool stream);

// Embeddings: POST {base}/models/{model}:batchEmbedContents with one request per input text
// (`dimensions` -> outputDimensionality; the extension field `task_type`, e.g.
// "RETRIEVAL_QUERY", -> taskType). Token-id input is kUnprocessable: Gemini embeds text only.
std::string embedPath(std::string_view model);
[[nodiscard]] Result<std::string> encodeBatchEmbedRequest(const EmbeddingRequest& request,
                                                          std::string_view provider);

// ---- gemini upstream -> gateway -------------------------------------------------------------

// {"embeddings":[{"values":[...]}, ...]} -> vectors in input order; `inputs` is how many were
// sent (a different count is an error). Gemini reports no token counts for embeddings: usage
// is estimated from `texts` (4 characters per token, at least 1 per input).
[[nodiscard]] Result<EmbeddingResponse> decodeBatchEmbedResponse(
    std::string_view body, const std::vector<std::string>& texts);

// `id_seed` makes the generated tool-call ids unique per response (the provider passes the
// request id). A response whose prompt was blocked (promptFeedback.blockReason, no candidates)
// is an error naming the reason.
[[nodiscard]] Result<ChatResponse> decodeGenerateContentResponse(std::string_view body,
                                                                 std::string_view id_seed = {});

// usageMetadata -> native: completion_tokens counts candidates + thoughts tokens (as OpenAI's
// includes reasoning), reasoning_tokens the thoughts, cached_tokens cachedContentTokenCount.
Usage usageFromGemini(const boost::json::object& usage_metadata);

// STOP -> stop (tool_calls when the candidate called functions), MAX_TOKENS -> length,
// SAFETY / RECITATION / PROHIBITED_CONTENT / BLOCKLIST / SPII / IMAGE_SAFETY -> content_filter,
// MALFORMED_FUNCTION_CALL / UNEXPECTED_TOOL_CALL -> error, anything else -> stop.
FinishReason finishReasonFromGemini(std::string_view reason, bool has_function_calls);

// A non-2xx answer, or an {"error":{...}} object inside a stream: code from the HTTP status
// (or error.code), withHttpStatus, the google.rpc status name ("RESOURCE_EXHAUSTED") as
// errorType, and Retry-After from the header or from a RetryInfo detail's retryDelay.
Status decodeUpstreamError(unsigned http_status, std::string_view body,
                           std::string_view retry_after_header = {});

// promptFeedback.blockReason -> the error a client sees (400, errorType "prompt_blocked").
Status promptBlocked(std::string_view block_reason);

// ---- tool-call ids and thoughtSignature -----------------------------------------------------

// Gemini signs function-call parts (thoughtSignature) and requires the signature back on the
// same part next turn; clients only echo tool-call ids, so the signature travels inside the id:
// "<base>__thought__<signature, base64url without padding>". `base` is Gemini's own
// functionCall.id prefixed with "call_gid_", or a generated "call_<hex>".
std::string makeToolCallId(std::string_view gemini_id, std::string_view seed, int index,
                           std::string_view signature);

struct ParsedToolCallId {
  std::string gemini_id;  // functionCall.id to send back; "" when the id was generated
  std::string signature;  // standard base64; "" when none
};
ParsedToolCallId parseToolCallId(std::string_view id);

}  // namespace switchyard::api::gemini
