#pragma once
// AnthropicRoutes: the Anthropic Messages API endpoints, POST /v1/messages (streaming or not)
// and POST /v1/messages/count_tokens. Requests are decoded into native types and routed like
// any other, so a Messages request can reach any provider; answers and errors go back in
// Anthropic's format. Holds no state of its own: thread-safe.

#include <boost/asio/awaitable.hpp>

#include <string_view>

#include "switchyard/http/server.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/server/route_support.h"

namespace switchyard::server {

class AnthropicRoutes {
 public:
  explicit AnthropicRoutes(RouteSupport& support) : support_(support) {}

  // Whether `path` (no query string) is one of these endpoints.
  static bool serves(std::string_view path);

  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx);

 private:
  boost::asio::awaitable<void> messages(http::Request& req, http::ResponseWriter& writer,
                                        http::ConnectionInfo& conn,
                                        pipeline::RequestContext& ctx);
  boost::asio::awaitable<void> countTokens(http::Request& req, http::ResponseWriter& writer,
                                           http::ConnectionInfo& conn,
                                           pipeline::RequestContext& ctx);

  boost::asio::awaitable<void> sendError(http::ResponseWriter& writer,
                                         pipeline::RequestContext& ctx, Status status);
  boost::asio::awaitable<void> sendOk(http::ResponseWriter& writer, pipeline::RequestContext& ctx,
                                      std::string body, http::ResponseWriter::Headers extra = {});
  http::ResponseWriter::Headers headers(const pipeline::RequestContext& ctx) const;
  std::string_view providerKind(std::string_view provider) const;
  void finishCancelled(pipeline::RequestContext& ctx) const;

  RouteSupport& support_;
};

}  // namespace switchyard::server
