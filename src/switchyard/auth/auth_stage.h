#pragma once
// AuthStage: the first admission stage. It reads the client's key (Authorization: Bearer,
// Anthropic's x-api-key, Google's x-goog-api-key), finds the virtual key in the KeyCache, fills
// ctx.key_id / key_name / team, and checks the requested model against the key's scopes.
// Missing or unknown key -> 401 when keys are required; a revoked key -> 401 always; a model,
// route or provider outside the key's scopes -> 403. Keys are never logged or echoed.
// Thread-safe: reads the cache and settings that reload() swaps atomically.

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "switchyard/auth/key_cache.h"
#include "switchyard/config/config.h"
#include "switchyard/pipeline/stage.h"

namespace switchyard::auth {

class AuthStage final : public pipeline::Stage {
 public:
  // `cache` outlives the stage. The config names which provider serves which model, for
  // provider scopes.
  AuthStage(const config::Config& config, const KeyCache& cache);

  std::string_view name() const override { return "auth"; }
  boost::asio::awaitable<pipeline::Verdict> admit(pipeline::StageInput& in) override;
  pipeline::Verdict check(pipeline::StageInput& in) const;

  // Whether `key` may use `model` (a model name or alias, a route name or provider/model).
  bool allows(const KeyRecord& key, std::string_view model) const;

  // Takes auth.require_keys and the provider/model map of a reloaded config (config reload);
  // requests already admitted are not affected.
  void reload(const config::Config& config);

 private:
  struct Settings {
    bool require_keys = false;
    std::map<std::string, std::string, std::less<>> provider_of;  // model or alias -> provider
    std::map<std::string, bool, std::less<>> providers;            // configured provider names
  };
  static std::shared_ptr<const Settings> settingsOf(const config::Config& config);

  const KeyCache& cache_;
  std::atomic<std::shared_ptr<const Settings>> settings_;
};

// The key a client presented, or "" (Bearer token, x-api-key, x-goog-api-key, then Google's
// `key` query parameter of `target`, in that order).
std::string presentedKey(const pipeline::RequestHeaders& headers, std::string_view target = {});

}  // namespace switchyard::auth
