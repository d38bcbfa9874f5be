#include "switchyard/server/governance.h"

#include <openssl/crypto.h>

#include "switchyard/audit/audit_log.h"
#include "switchyard/auth/auth_stage.h"
#include "switchyard/auth/key_cache.h"
#include "switchyard/core/log.h"
#include "switchyard/guard/guard_stage.h"
#include "switchyard/limits/limits_stage.h"
#include "switchyard/server/admin_routes.h"
#include "switchyard/server/beast_headers.h"

namespace switchyard::server {
namespace {

// Everything the governance stages share; kept alive by Extensions::keep_alive, which is
// destroyed after the stages and modules that point into it.
struct GovernanceState {
  store::DatabasePtr db;
  audit::AuditLogPtr audit;
  auth::KeyStorePtr key_store;
  std::unique_ptr<auth::KeyCache> keys;
  std::unique_ptr<limits::BudgetTracker> budgets;
};

Status withContext(Status s, std::string_view what) {
  return Status(s.code(), std::string(what) + ": " + s.message());
}

}  // namespace

Status addGovernance(GatewayServices& services, Extensions& ext) {
  const config::Config& config = services.config;
  const std::string admin_key = adminKeyFrom(config);
  const bool needs_store = config.auth.require_keys || !admin_key.empty() ||
                           !config.limits.teams.empty() || !config.limits.redis.url.empty() ||
                           config.guard.enabled;
  auto state = std::make_shared<GovernanceState>();
  auth::AuthStage* auth = nullptr;
  limits::LimitsStage* limits = nullptr;
  if (needs_store) {
    auto db = store::openDatabase(config.storage_url);
    if (!db) return withContext(std::move(db.error()), "storage.url");
    state->db = std::move(*db);
    auto audit = audit::AuditLog::open(*state->db);
    if (!audit) return withContext(std::move(audit.error()), "audit log");
    state->audit = std::move(*audit);
    auto key_store = auth::KeyStore::open(*state->db);
    if (!key_store) return withContext(std::move(key_store.error()), "keys");
    state->key_store = std::move(*key_store);
    auto keys = auth::KeyCache::create(*state->key_store, config.auth.reload_interval);
    if (!keys) return withContext(std::move(keys.error()), "keys");
    state->keys = std::move(*keys);
    auto budgets = limits::BudgetTracker::open(state->db.get());
    if (!budgets) return withContext(std::move(budgets.error()), "budgets");
    state->budgets = std::move(*budgets);

    auto auth_stage = std::make_unique<auth::AuthStage>(config, *state->keys);
    ext.authenticate = [stage = auth_stage.get(),
                        admin_hash = admin_key.empty() ? std::string() : auth::hashKey(admin_key)](
                           const http::Request& req, pipeline::RequestContext& ctx,
                           std::string_view model) -> Status {
      const BeastHeaders headers(req);
      const std::string presented = auth::presentedKey(headers);
      if (!admin_hash.empty() && !presented.empty()) {
        const std::string hash = auth::hashKey(presented);
        if (CRYPTO_memcmp(hash.data(), admin_hash.data(), admin_hash.size()) == 0) {
          ctx.admin = true;
          return Status::ok();
        }
      }
      return stage->authenticate(headers, ctx, model);
    };
    auto limits_stage = std::make_unique<limits::LimitsStage>(config.limits, state->keys.get(),
                                                              ext.pricing, *state->budgets);
    limits_stage->share(config.limits.redis);
    auth = auth_stage.get();
    limits = limits_stage.get();
    ext.stages.push_back(std::move(auth_stage));
    ext.stages.push_back(std::move(limits_stage));
    logEvent(spdlog::level::info, "governance",
             {{"store", state->db->description()},
              {"keys", static_cast<long long>(state->keys->size())},
              {"require_keys", config.auth.require_keys},
              {"admin_api", !admin_key.empty()},
              {"shared_limits", config.limits.redis.url.empty() ? std::string("off")
                                                                : config.limits.redis.display()}});
  }
  // The guard stage is there even without a `guard:` section (it lets everything pass), so that
  // a reload can turn it on.
  auto guard = guard::GuardStage::create(config.guard, state->audit.get());
  if (!guard) return withContext(std::move(guard.error()), "guard");
  guard::GuardStage* guard_stage = guard->get();
  // Retrieved RAG chunks go into chat prompts after the guard ran: scanned under the same policy.
  guard_stage->guardAddedContent(config.rag.enabled);
  ext.stages.push_back(std::move(*guard));
  ext.routes.push_back(std::make_unique<AdminRoutes>(admin_key, state->keys.get(),
                                                     state->audit.get(), guard_stage));
  // Config reloads: new guard policies and detectors (built here, on the reload thread), key
  // settings and team limits; requests in flight finish on the settings they started with.
  audit::AuditLog* audit = state->audit.get();
  ext.reloaders.push_back([auth, limits, guard_stage, audit](const config::Config& next) -> Status {
    if (audit != nullptr) {  // an administrator's action like any other (SIGHUP or the API)
      audit->append({0, 0, "admin", "config.reload", next.source, "guard auth limits", ""});
    }
    if (auth != nullptr) auth->reload(next);
    Status limits_status = limits != nullptr ? limits->reload(next.limits) : Status::ok();
    if (Status s = guard_stage->reload(next.guard); !s.isOk()) {
      return withContext(std::move(s), "guard (previous policies kept)");
    }
    if (auth == nullptr && (next.auth.require_keys || !next.limits.teams.empty())) {
      return Status(ErrorCode::kInvalidArgument,
                    "auth.require_keys and limits.teams take effect after a restart when the "
                    "gateway started without a key store");
    }
    return limits_status;
  });
  ext.keep_alive.push_back(std::move(state));
  return Status::ok();
}

}  // namespace switchyard::server
