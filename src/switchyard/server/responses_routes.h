#pragma once
// ResponsesRoutes: OpenAI's Responses API, POST /v1/responses (streaming or not), served
// statelessly. Requests are decoded into native types and routed like any other, so a
// Responses request can reach any provider; answers go back as Response objects or Responses
// stream events, errors in OpenAI's error format. Holds no state of its own: thread-safe.

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "switchyard/http/server.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/server/route_support.h"

namespace switchyard::server {

class ResponsesRoutes {
 public:
  explicit ResponsesRoutes(RouteSupport& support) : support_(support) {}

  // Whether `path` (no query string) is one of these endpoints.
  static bool serves(std::string_view path);

  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx);

 private:
  boost::asio::awaitable<void> sendError(http::ResponseWriter& writer,
                                         pipeline::RequestContext& ctx, Status status);
  void finishCancelled(pipeline::RequestContext& ctx) const;

  RouteSupport& support_;
};

}  // namespace switchyard::server
