#pragma once
// ResponsesRoutes: OpenAI's Responses API. POST /v1/responses (streaming or not) is decoded
// into native types and routed like any other request, so it can reach any provider; answers go
// back as Response objects or Responses stream events, errors in OpenAI's error format.
// With stored responses (responses.enabled, the default for config files) a Response is kept in
// the store when the request says `store` (or does not say and store_by_default holds), a
// request may continue one with `previous_response_id`, and GET /v1/responses/{id},
// DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items serve them, each caller
// seeing only its own key's responses. Store calls run on a small pool of their own, never on
// an I/O thread. Thread-safe.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string_view>

#include "switchyard/api/openai/responses_codec.h"
#include "switchyard/http/server.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/responses/response_store.h"
#include "switchyard/server/route_support.h"

namespace switchyard::server {

class ResponsesRoutes {
 public:
  explicit ResponsesRoutes(RouteSupport& support) : support_(support) {}
  ~ResponsesRoutes();

  // Turns stored responses on (before the server starts). `store` is kept.
  void setStore(responses::ResponseStorePtr store, bool store_by_default);

  // Whether `path` (no query string) is one of these endpoints.
  static bool serves(std::string_view path);

  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx);

 private:
  boost::asio::awaitable<void> create(http::Request& req, http::ResponseWriter& writer,
                                      http::ConnectionInfo& conn, pipeline::RequestContext& ctx);
  // POST /v1/responses/input_tokens: the request's input tokens, counted by the provider that
  // would serve it (an estimate when it cannot count: x-switchyard-token-count says which).
  boost::asio::awaitable<void> inputTokens(http::Request& req, http::ResponseWriter& writer,
                                           http::ConnectionInfo& conn,
                                           pipeline::RequestContext& ctx);
  // Parses the body (into `parsed`, an object when this succeeds) and decodes it, with the
  // conversation its previous_response_id names.
  boost::asio::awaitable<Result<api::openai::ResponsesRequest>> decode(
      const http::Request& req, pipeline::RequestContext& ctx, boost::json::value& parsed);
  // GET / DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items.
  boost::asio::awaitable<void> stored(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, pipeline::RequestContext& ctx);
  // Keeps a Response (awaited before the client sees it end, so that a next request can
  // continue it at once). A failure is logged; the client still gets its answer.
  boost::asio::awaitable<void> keep(const pipeline::RequestContext& ctx,
                                    const std::string& id_suffix,
                                    const api::openai::ResponsesRequest& request,
                                    const boost::json::object& body, std::string response);
  boost::asio::awaitable<void> sendError(http::ResponseWriter& writer,
                                         pipeline::RequestContext& ctx, Status status);
  // An error for a request that is not a model call (stored-response reads): not logged.
  boost::asio::awaitable<void> sendPlainError(http::ResponseWriter& writer,
                                              pipeline::RequestContext& ctx, Status status);
  boost::asio::awaitable<void> sendMethodNotAllowed(http::ResponseWriter& writer,
                                                    pipeline::RequestContext& ctx,
                                                    std::string_view allow);
  void finishCancelled(pipeline::RequestContext& ctx) const;

  RouteSupport& support_;
  api::openai::ResponsesOptions options_;
  responses::ResponseStorePtr store_;
  // Declared after store_: destroyed (joined) first.
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

}  // namespace switchyard::server
