#pragma once
// RagRoutes: the RAG HTTP API. POST/GET /v1/collections, DELETE /v1/collections/{name},
// POST /v1/collections/{name}/documents (text, Markdown or HTML in the JSON body; PDF as
// base64), POST /v1/retrieve, POST /v1/rerank (a model request: logged like /v1/embeddings).
// Disk and embedding work runs on the service's workers; the I/O thread only awaits it. Errors
// use OpenAI's error body. Thread-safe.
//
// Access: every call is authenticated like a model request (the gateway's `authenticate`,
// server/extensions.h: 401 without a valid key when keys are required); a key then reaches only
// the collections its `collections` scope allows (rag/access.h: 403 otherwise, and listings
// leave the others out); the admin key reaches all of them.

#include <functional>
#include <memory>

#include "switchyard/rag/rag_service.h"
#include "switchyard/server/route_module.h"

namespace switchyard::rag {

class RagRoutes final : public server::RouteModule {
 public:
  using Authenticator =
      std::function<Status(const http::Request&, pipeline::RequestContext&, std::string_view)>;
  // The gateway's log phase (price, request-log row, metrics), for POST /v1/rerank.
  using RequestLogger = std::function<void(pipeline::RequestContext&)>;
  // `authenticate` null: no keys are configured, every caller is anonymous. `log_request`
  // null: rerank calls are not logged.
  explicit RagRoutes(std::shared_ptr<RagService> service, Authenticator authenticate = {},
                     RequestLogger log_request = {})
      : service_(std::move(service)),
        authenticate_(std::move(authenticate)),
        log_request_(std::move(log_request)) {}

  bool serves(std::string_view path) const override;
  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx) override;

 private:
  std::shared_ptr<RagService> service_;
  Authenticator authenticate_;
  RequestLogger log_request_;
};

}  // namespace switchyard::rag
