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
  static Result<Registry> create(const config::Config& config);

  // nullptr when unknown.
  Provider* find(std::string_view name) const;

 private:
  std::unordered_map<std::string, ProviderPtr> providers_;
};

}  // namespace switchyard::providers
