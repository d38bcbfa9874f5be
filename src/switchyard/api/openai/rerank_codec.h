#pragma once
// The rerank wire format of OpenAI-compatible servers (vLLM, llama-server, Infinity, Jina,
// Cohere-style APIs): POST /rerank {model, query, documents, top_n} answered with
// {results: [{index, relevance_score}], usage}. Stateless: thread-safe.

#include <string>
#include <string_view>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::openai {

// Asks for a score for every document (top_n = the number of documents).
std::string encodeRerankRequest(const RerankRequest& request);

// Scores in document order. Accepts `results` (or `data`, or a bare array as Hugging Face TEI
// sends) of {index, relevance_score | score}; usage from `usage` (prompt_tokens / total_tokens)
// when present. kUpstream when the body is not one, an index is out of range or repeated, or a
// document got no score.
Result<RerankResponse> decodeRerankResponse(std::string_view body, std::size_t documents);

}  // namespace switchyard::api::openai
