#pragma once
// Guard policies: what to do with each entity a Detector finds (allow, redact, mask, local_only,
// block), from the `guard:` config section, with overrides per key, per requested model/route
// and per team. Immutable after construction: thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/guard/finding.h"

namespace switchyard::guard {

// Ordered from least to most severe: when one value gets two actions, the severer one wins.
enum class Action : std::uint8_t { kAllow, kRedact, kMask, kLocalOnly, kBlock };
inline constexpr int kActionCount = 5;

std::optional<Action> parseAction(std::string_view name);
std::string_view actionName(Action action);

class Policies {
 public:
  explicit Policies(const config::GuardConfig& config);

  // The policy layers that apply to one request, most specific first: the key's, the
  // requested model's (route name), the team's, then the base policy.
  struct Layers {
    std::vector<const config::GuardPolicy*> layers;
  };
  Layers layersFor(std::string_view key_name, std::string_view model,
                   std::string_view team) const;

  // In each layer, from the most specific: the entity type, then its category, then
  // "default"; the first layer that says anything decides. Nothing anywhere: allow.
  static Action actionFor(const Layers& layers, std::string_view type, Category category);

 private:
  const config::GuardConfig& config_;
};

}  // namespace switchyard::guard
