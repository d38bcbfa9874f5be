#include "switchyard/providers/registry.h"

#include "switchyard/providers/anthropic/anthropic_provider.h"
#include "switchyard/providers/gemini/gemini_provider.h"
#include "switchyard/providers/openai/openai_provider.h"
#if SY_WITH_LLAMA
#include "switchyard/providers/local/local_provider.h"
#endif

namespace switchyard::providers {

Result<Registry> Registry::create(const config::Config& config, bool progress,
                                  const Registry* previous) {
  Registry registry;
  for (const auto& pc : config.providers) {
    if (previous != nullptr) {
      auto old = previous->configs_.find(pc.name);
      if (old != previous->configs_.end() && old->second.sameAs(pc)) {
        registry.providers_.emplace(pc.name, previous->providers_.at(pc.name));
        registry.configs_.emplace(pc.name, pc);
        continue;
      }
    }
    Result<ProviderPtr> provider = fail(ErrorCode::kInvalidArgument, "");
    if (pc.kind == "openai" || pc.kind == "azure") {
      provider = OpenAIProvider::create(pc);
    } else if (pc.kind == "anthropic") {
      provider = AnthropicProvider::create(pc);
    } else if (pc.kind == "gemini") {
      provider = GeminiProvider::create(pc);
    } else if (pc.kind == "local") {
#if SY_WITH_LLAMA
      provider = LocalProvider::create(pc, progress);
#else
      (void)progress;
      return fail(ErrorCode::kInvalidArgument,
                  config.source + ":" + std::to_string(pc.line) + ": provider '" + pc.name +
                      "': this build has no in-process engine (built with SY_WITH_LLAMA=OFF)");
#endif
    } else {
      return fail(ErrorCode::kInvalidArgument, config.source + ":" + std::to_string(pc.line) +
                                                   ": provider '" + pc.name +
                                                   "': unknown kind '" + pc.kind + "'");
    }
    if (!provider) return fail(std::move(provider.error()));
    registry.providers_.emplace(pc.name, std::move(*provider));
    registry.configs_.emplace(pc.name, pc);
  }
  return registry;
}

Provider* Registry::find(std::string_view name) const {
  auto it = providers_.find(std::string(name));
  return it == providers_.end() ? nullptr : it->second.get();
}

}  // namespace switchyard::providers
