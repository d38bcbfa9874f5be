#pragma once
// RagStage: the admission stage that grounds a chat request in a collection. A request names the
// collection in its body (`"rag": {"collection": "handbook", "top_k": 4}`, or just the name), in
// a header (`x-switchyard-rag: handbook;top_k=4;mode=lexical`), or through its route
// (`rag.routes` in config, keyed by the model name the client sent). The stage retrieves with the
// last user message, injects the chunks with numbered citations into the system prompt (any
// provider), records ctx.citations (also sent as the `x-switchyard-citations` header, streaming
// included) and, for a private collection, keeps the request on on-prem providers
// (ctx.local_only). Thread-safe: no state of its own beyond the service.

#include <memory>
#include <string>
#include <vector>

#include "switchyard/pipeline/stage.h"
#include "switchyard/rag/rag_service.h"

namespace switchyard::rag {

// What a request asked for.
struct RagSelection {
  std::string collection;
  int top_k = 0;  // 0: the configured default
  std::optional<Mode> mode;
  std::optional<config::RagRerankConfig> rerank = std::nullopt;  // the route's; unset: collection's
};

// Parses the header form "collection[;top_k=N][;mode=M]".
Result<RagSelection> parseRagHeader(std::string_view value);

// The text block injected into the system prompt for `chunks` (numbered from 1).
std::string renderContext(const std::vector<RetrievedChunk>& chunks);
// "source#section" or "source#page=N": what ctx.citations holds for one chunk.
std::string citationFor(const ChunkRecord& chunk);
// The `citations` extension field of response bodies: a JSON array of {index (1-based, as
// cited in the prompt), collection, source, title, section, page, chunk_id, score}.
std::string citationsJson(std::string_view collection, const std::vector<RetrievedChunk>& chunks);
// The x-switchyard-citations header value: "[1] <cite>, [2] <cite>" with each citation
// percent-encoded outside printable ASCII and for '%', ',' and ';'.
std::string citationsHeader(const std::vector<std::string>& citations);

class RagStage final : public pipeline::Stage {
 public:
  explicit RagStage(std::shared_ptr<RagService> service) : service_(std::move(service)) {}
  std::string_view name() const override { return "rag"; }
  boost::asio::awaitable<pipeline::Verdict> admit(pipeline::StageInput& in) override;

 private:
  std::shared_ptr<RagService> service_;
};

}  // namespace switchyard::rag
