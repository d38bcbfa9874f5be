#include "switchyard/routing/router.h"

#include <algorithm>

namespace switchyard::routing {

Router::Router(const config::Config& config) {
  // Lower-priority names first so that higher-priority ones overwrite them.
  std::unordered_map<std::string, int> owners;  // model id or alias -> providers declaring it
  for (const auto& p : config.providers) {
    for (const auto& m : p.models) {
      ++owners[m.name];
      for (const auto& a : m.aliases) ++owners[a];
    }
  }
  for (const auto& p : config.providers) {
    for (const auto& m : p.models) {
      pipeline::Target target{p.name, m.name};
      by_name_[p.name + "/" + m.name] = {"", target, "explicit provider/model"};
      if (owners[m.name] == 1) {
        by_name_[m.name] = {"", target, "model served by one provider"};
        listing_.push_back({m.name, p.name});
      }
      for (const auto& a : m.aliases) {
        by_name_[a] = {"", target, "alias of " + p.name + "/" + m.name};
        listing_.push_back({a, p.name});
      }
      listing_.push_back({p.name + "/" + m.name, p.name});
      provider_models_[p.name].push_back(m.name);
    }
  }
  for (const auto& r : config.routes) {
    by_name_[r.name] = {r.name, {r.provider, r.model}, "route " + r.name};
    listing_.push_back({r.name, "switchyard"});
  }
  std::sort(listing_.begin(), listing_.end(),
            [](const ModelListing& a, const ModelListing& b) { return a.id < b.id; });
  listing_.erase(std::unique(listing_.begin(), listing_.end(),
                             [](const ModelListing& a, const ModelListing& b) {
                               return a.id == b.id;
                             }),
                 listing_.end());
}

Status Router::route(std::string_view model, pipeline::RequestContext& ctx) const {
  auto it = by_name_.find(std::string(model));
  if (it == by_name_.end()) {
    // "provider/unlisted-model": a provider may serve models the config does not list.
    if (auto slash = model.find('/'); slash != std::string_view::npos) {
      std::string provider(model.substr(0, slash));
      if (provider_models_.contains(provider) && slash + 1 < model.size()) {
        ctx.route.clear();
        ctx.plan = {{provider, std::string(model.substr(slash + 1))}};
        ctx.decision = "explicit provider/model";
        return Status::ok();
      }
    }
    return Status(ErrorCode::kNotFound,
                  "The model '" + std::string(model) +
                      "' does not exist or is not served by this gateway (GET /v1/models lists "
                      "the available models)")
        .withParam("model")
        .withErrorType("model_not_found");
  }
  ctx.route = it->second.route;
  ctx.plan.assign(1, it->second.target);
  ctx.decision = it->second.decision;
  return Status::ok();
}

}  // namespace switchyard::routing
