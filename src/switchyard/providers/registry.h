#pragma once
// Registry: the providers built from config, by name. Immutable after create(); thread-safe.

#include <string>
#include <string_view>
#include <unordered_map>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/providers/provider.h"

namespace switchyard::providers {

class Registry {
 public:
  // Builds every provider; `local` providers check their model files and load the models marked
  // preload (with a progress bar on stderr when `progress` is set and stderr is a terminal).
  // With `previous` (a config reload), providers whose configuration is unchanged are shared
  // with it instead of built again: local models stay loaded, connection pools stay warm.
  static Result<Registry> create(const config::Config& config, bool progress = false,
                                 const Registry* previous = nullptr);

  // nullptr when unknown.
  Provider* find(std::string_view name) const;

 private:
  std::unordered_map<std::string, ProviderPtr> providers_;
  std::unordered_map<std::string, config::ProviderConfig> configs_;  // what each was built from
};

}  // namespace switchyard::providers
