#pragma once
// Router: resolves the model a client names into a plan of upstream targets.
// Names resolve in this order: a route name; a "provider/model" pair; a model id or alias that
// exactly one provider declares. Built once from config; immutable and thread-safe after.

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/pipeline/context.h"

namespace switchyard::routing {

struct ModelListing {
  std::string id;        // public name
  std::string owned_by;  // provider name, or "switchyard" for routes
};

class Router {
 public:
  explicit Router(const config::Config& config);

  // Fills ctx.route, ctx.plan and ctx.decision, or returns kNotFound naming the model.
  Status route(std::string_view model, pipeline::RequestContext& ctx) const;

  // Every public name, for GET /v1/models.
  const std::vector<ModelListing>& models() const { return listing_; }

 private:
  struct Entry {
    std::string route;  // "" for a provider's own model or alias
    pipeline::Target target;
    std::string decision;
  };
  std::unordered_map<std::string, Entry> by_name_;
  std::unordered_map<std::string, std::vector<std::string>> provider_models_;  // for errors
  std::vector<ModelListing> listing_;
};

}  // namespace switchyard::routing
