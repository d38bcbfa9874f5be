#pragma once
// OpenAI wire format <-> native api types: chat completions, legacy completions, embeddings
// and errors. Decoders validate client input (Status with `param` set to the faulty field) and
// are lenient with upstream output; encoders write JSON by hand and never fail.
// Stateless free functions: thread-safe.

#include <string>
#include <string_view>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::openai {

// Client -> gateway. Unknown top-level fields (and legacy `functions`/`function_call`) land in
// `extra`; unknown message fields in Message::extra. JSON `null` on an optional field means
// "not set". Errors are kInvalidArgument with param() naming the field ("messages[2].role").
[[nodiscard]] Result<ChatRequest> decodeChatRequest(std::string_view body);
// The general decoder of a chat request (every shape, DOM-based). decodeChatRequest tries the
// fast reader of the common shape first (request_reader.h) and falls back to this one.
[[nodiscard]] Result<ChatRequest> decodeAnyChatRequest(std::string_view body);
[[nodiscard]] Result<CompletionRequest> decodeCompletionRequest(std::string_view body);
[[nodiscard]] Result<EmbeddingRequest> decodeEmbeddingRequest(std::string_view body);

// Gateway -> OpenAI-compatible upstream; request.model is already the upstream's model name.
// `extra` is emitted verbatim after the typed fields; it must not repeat a typed field's key.
std::string encodeChatRequest(const ChatRequest& request);
std::string encodeCompletionRequest(const CompletionRequest& request);
std::string encodeEmbeddingRequest(const EmbeddingRequest& request);

// Upstream -> gateway. Errors are kUpstream; a 200 body that carries {"error":{...}} decodes
// to that error.
[[nodiscard]] Result<ChatResponse> decodeChatResponse(std::string_view body);
// The general decoder of a whole response (every shape, DOM-based). decodeChatResponse tries
// the fast reader of the common shape first (response_reader.h) and falls back to this one.
[[nodiscard]] Result<ChatResponse> decodeAnyChatResponse(std::string_view body);
// One SSE `data:` payload (the caller handles `[DONE]`).
[[nodiscard]] Result<ChatChunk> decodeChatChunk(std::string_view data);
// The general decoder of one chunk (every shape, DOM-based). decodeChatChunk tries the fast
// reader of the common shape first (chunk_reader.h) and falls back to this one.
[[nodiscard]] Result<ChatChunk> decodeAnyChatChunk(std::string_view data);
// A whole completion or one stream chunk: the wire shape is the same.
[[nodiscard]] Result<CompletionResponse> decodeCompletionResponse(std::string_view body);
// `embedding` as a float array or as base64 of little-endian float32.
[[nodiscard]] Result<EmbeddingResponse> decodeEmbeddingResponse(std::string_view body);
// An upstream's non-2xx answer: code from the HTTP status, withHttpStatus(http_status),
// message "upstream returned <status>: <error.message or the start of the body>", param and
// error code (as errorType()) copied when the body is OpenAI's error JSON.
Status decodeUpstreamError(unsigned http_status, std::string_view body);

// Gateway -> client.
std::string encodeChatResponse(const ChatResponse& response);
// Appends one chunk's JSON (the caller frames it as `data: ...\n\n`).
void appendChatChunk(const ChatChunk& chunk, std::string& out);
std::string encodeCompletionResponse(const CompletionResponse& response, bool as_chunk);
// encoding_format "base64": base64 of little-endian float32; anything else: float arrays.
std::string encodeEmbeddingResponse(const EmbeddingResponse& response,
                                    std::string_view encoding_format);
// {"error":{"message":..,"type":..,"param":..|null,"code":..|null}}; code is errorType().
std::string encodeError(const Status& status);

}  // namespace switchyard::api::openai
