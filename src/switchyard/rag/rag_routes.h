#pragma once
// RagRoutes: the RAG HTTP API. POST/GET /v1/collections, DELETE /v1/collections/{name},
// POST /v1/collections/{name}/documents (text, Markdown or HTML in the JSON body; PDF as
// base64), POST /v1/retrieve. Disk and embedding work runs on the service's workers; the I/O
// thread only awaits it. Errors use OpenAI's error body. Thread-safe.

#include <memory>

#include "switchyard/rag/rag_service.h"
#include "switchyard/server/route_module.h"

namespace switchyard::rag {

class RagRoutes final : public server::RouteModule {
 public:
  explicit RagRoutes(std::shared_ptr<RagService> service) : service_(std::move(service)) {}

  bool serves(std::string_view path) const override;
  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx) override;

 private:
  std::shared_ptr<RagService> service_;
};

}  // namespace switchyard::rag
