#pragma once
// OllamaRoutes: Ollama's native API, so that Ollama clients (the `ollama` packages, Open WebUI,
// LangChain's Ollama classes) reach any provider through the router: POST /api/chat,
// /api/generate, /api/embed, /api/embeddings, /api/show; GET /api/tags, /api/ps, /api/version;
// GET and HEAD / ("Ollama is running"); /api/ps lists the local models loaded now. Streams are
// NDJSON. Model management endpoints (/api/pull, /api/create, ...) answer 501. Errors are
// Ollama's {"error":"..."}.
// The model listing is swapped whole on config reload (setModels); everything else is immutable:
// thread-safe.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/ollama/ollama_codec.h"
#include "switchyard/http/server.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/routing/router.h"
#include "switchyard/server/route_support.h"

namespace switchyard::server {

class OllamaRoutes {
 public:
  explicit OllamaRoutes(RouteSupport& support);

  // The model listing (/api/tags, /api/show) of `config` as `router` resolves it; called at
  // start-up and on every config reload, before requests see the new configuration.
  void setModels(const config::Config& config, const routing::Router& router);

  // Whether `path` (no query string) is one of these endpoints.
  static bool serves(std::string_view path);

  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx);

 private:
  // The model endpoints; each sets `keep_alive` to the request's, which handle() applies to
  // the local model that served it once the request is done (so that 0 unloads it after the
  // answer rather than before).
  using KeepAlive = api::ollama::KeepAlive;
  boost::asio::awaitable<void> chat(http::Request& req, http::ResponseWriter& writer,
                                    http::ConnectionInfo& conn, pipeline::RequestContext& ctx,
                                    KeepAlive& keep_alive);
  boost::asio::awaitable<void> generate(http::Request& req, http::ResponseWriter& writer,
                                        http::ConnectionInfo& conn, pipeline::RequestContext& ctx,
                                        KeepAlive& keep_alive);
  boost::asio::awaitable<void> embed(http::Request& req, http::ResponseWriter& writer,
                                     http::ConnectionInfo& conn, pipeline::RequestContext& ctx,
                                     bool legacy, KeepAlive& keep_alive);
  // A request with nothing to answer (Ollama's load probe, and `ollama stop`): loads the model
  // ("load"), or with keep_alive 0 leaves it to unload ("unload"); `body` encodes the answer
  // given its done_reason.
  template <typename Encode>
  boost::asio::awaitable<void> loadOnly(http::ResponseWriter& writer, pipeline::RequestContext& ctx,
                                        const KeepAlive& keep_alive, Encode body);
  // POST /api/pull: a model this gateway serves is there already ("success"); nothing is
  // downloaded, so any other name is a 404 that says so.
  boost::asio::awaitable<void> pull(http::Request& req, http::ResponseWriter& writer,
                                    pipeline::RequestContext& ctx);
  boost::asio::awaitable<void> show(http::Request& req, http::ResponseWriter& writer,
                                    pipeline::RequestContext& ctx);

  // Routes `model`; a trailing ":latest" (Ollama's default tag) is ignored when the name
  // without it is known. Unknown models are 404 "model 'x' not found", as Ollama says it.
  template <typename Request>
  Status resolve(std::string_view model, const Request& request, pipeline::RequestContext& ctx);
  struct Listing {
    std::vector<api::ollama::ModelInfo> models;
    std::string loaded_at;  // modified_at of every model: when the configuration was loaded
    std::string tags_body;
  };
  static const api::ollama::ModelInfo* findModel(const Listing& listing, std::string_view name);
  std::string psBody() const;
  // GET /api/tags: the listing, with the digests of the local models loaded now or before.
  std::string tagsBody();
  api::ollama::Timings timings(const pipeline::RequestContext& ctx) const;

  boost::asio::awaitable<void> sendError(http::ResponseWriter& writer,
                                         pipeline::RequestContext& ctx, Status status);
  boost::asio::awaitable<void> sendOk(http::ResponseWriter& writer, pipeline::RequestContext& ctx,
                                      std::string body);
  void finishCancelled(pipeline::RequestContext& ctx) const;

  RouteSupport& support_;
  std::atomic<std::shared_ptr<const Listing>> listing_{std::make_shared<const Listing>()};
  // GGUF digests by "provider/model", learnt from loaded engines (hashing a file of gigabytes
  // for a listing would take seconds; the engine reads it anyway when it loads).
  std::mutex digests_mu_;
  std::map<std::string, std::string, std::less<>> digests_;
};

}  // namespace switchyard::server
