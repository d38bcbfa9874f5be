#pragma once
// RouteModule: a group of HTTP endpoints that a module beyond the model APIs serves (admin API,
// metrics, feedback, collections, dashboard, ...). The gateway offers each request whose path
// no built-in route serves to the modules in order; the first whose serves() is true handles
// it. Modules are built once at start-up and called from every I/O thread: thread-safe.

#include <boost/asio/awaitable.hpp>

#include <string_view>

#include "switchyard/http/server.h"
#include "switchyard/pipeline/context.h"

namespace switchyard::server {

class RouteModule {
 public:
  virtual ~RouteModule() = default;
  // Whether `path` (no query string) belongs to this module.
  virtual bool serves(std::string_view path) const = 0;
  // Answers the request (ctx carries the request id; ctx.received is set).
  virtual boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                              http::ResponseWriter& writer,
                                              http::ConnectionInfo& conn,
                                              pipeline::RequestContext& ctx) = 0;
};

}  // namespace switchyard::server
