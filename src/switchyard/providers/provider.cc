#include "switchyard/providers/provider.h"

namespace switchyard::providers {

namespace {
Status unsupported(const std::string& provider, std::string_view what) {
  return Status(ErrorCode::kUnprocessable,
                "provider '" + provider + "' does not support " + std::string(what));
}
}  // namespace

boost::asio::awaitable<Result<api::CompletionResponse>> Provider::complete(
    const api::CompletionRequest&, CallContext&) {
  co_return fail(unsupported(name(), "text completions (/v1/completions)"));
}

boost::asio::awaitable<StreamOutcome> Provider::completeStream(const api::CompletionRequest&,
                                                               CompletionSink&, CallContext&) {
  co_return StreamOutcome{unsupported(name(), "text completions (/v1/completions)"), false};
}

boost::asio::awaitable<Result<api::EmbeddingResponse>> Provider::embed(
    const api::EmbeddingRequest&, CallContext&) {
  co_return fail(unsupported(name(), "embeddings"));
}

boost::asio::awaitable<Result<api::RerankResponse>> Provider::rerank(const api::RerankRequest&,
                                                                     CallContext&) {
  co_return fail(unsupported(name(), "reranking"));
}

boost::asio::awaitable<Result<std::int64_t>> Provider::countTokens(const api::ChatRequest&,
                                                                   CallContext&) {
  co_return fail(unsupported(name(), "token counting"));
}

}  // namespace switchyard::providers
