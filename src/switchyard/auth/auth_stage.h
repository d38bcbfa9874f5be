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
  // check() for endpoints that are not chat/completion/embedding requests (the RAG API,
  // /v1/rerank): 401 for a missing or unknown key (when keys are required) and a revoked key;
  // fills ctx.key_id, key_name, team and the key's scopes; with a `model`, 403 when the key's
  // scopes do not allow it.
  pipeline::Verdict authenticate(const pipeline::RequestHeaders& headers,
                                 pipeline::RequestContext& ctx,
                                 std::string_view model = {}) const;

  // Whether `key` may use `model` (a model name or alias, a route name or provider/model).
  bool allows(const KeyRecord& key, std::string_view model) const;

  // Takes auth.require_keys and the provider/model map of a reloaded config (config reload);
  // requests already admitted are not affected.
  void reload(const config::Config& config);

 private:
  // Identifies the caller (headers, then the `key` query parameter of `target`), then
  // (check_model) checks `model` against the key's scopes.
  pipeline::Verdict authorize(const pipeline::RequestHeaders& headers,
                              pipeline::RequestContext& ctx, std::string_view model,
                              bool check_model, std::string_view target = {}) const;
  // authenticate(), also handing back the key (null: none presented or unknown, not required).
  pipeline::Verdict identify(const pipeline::RequestHeaders& headers, std::string_view target,
                             pipeline::RequestContext& ctx, KeyPtr& found) const;

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
