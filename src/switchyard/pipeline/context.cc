#include "switchyard/pipeline/context.h"

namespace switchyard::pipeline {

std::string_view endpointName(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kChat: return "chat";
    case Endpoint::kCompletions: return "completions";
    case Endpoint::kEmbeddings: return "embeddings";
    case Endpoint::kMessages: return "messages";
    case Endpoint::kCountTokens: return "count_tokens";
    case Endpoint::kResponses: return "responses";
    case Endpoint::kRerank: return "rerank";
  }
  return "unknown";
}

}  // namespace switchyard::pipeline
