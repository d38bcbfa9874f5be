#include "switchyard/guard/policy.h"

namespace switchyard::guard {
namespace {

constexpr std::string_view kActionNames[] = {"allow", "redact", "mask", "local_only", "block"};

std::optional<Action> lookup(const config::GuardPolicy& policy, std::string_view key) {
  auto it = policy.find(std::string(key));
  if (it == policy.end()) return std::nullopt;
  return parseAction(it->second);
}

}  // namespace

std::optional<Action> parseAction(std::string_view name) {
  for (int i = 0; i < kActionCount; ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

std::string_view actionName(Action action) { return kActionNames[static_cast<int>(action)]; }

Policies::Policies(const config::GuardConfig& config) : config_(config) {}

Policies::Layers Policies::layersFor(std::string_view key_name, std::string_view model,
                                     std::string_view team) const {
  Layers out;
  auto add = [&](const std::map<std::string, config::GuardPolicy>& by_name,
                 std::string_view name) {
    if (name.empty()) return;
    if (auto it = by_name.find(std::string(name)); it != by_name.end()) {
      out.layers.push_back(&it->second);
    }
  };
  add(config_.keys, key_name);
  add(config_.routes, model);
  add(config_.teams, team);
  out.layers.push_back(&config_.policy);
  return out;
}

Action Policies::actionFor(const Layers& layers, std::string_view type, Category category) {
  for (const config::GuardPolicy* layer : layers.layers) {
    if (auto a = lookup(*layer, type)) return *a;
    if (auto a = lookup(*layer, categoryName(category))) return *a;
    if (auto a = lookup(*layer, "default")) return *a;
  }
  return Action::kAllow;
}

}  // namespace switchyard::guard
