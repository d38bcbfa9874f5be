#pragma once
// AdminRoutes: the governance part of the admin API (docs/keys.md): /admin/keys (create, list,
// get, revoke, rotate), /admin/audit and /admin/guard. Other modules serve their own /admin/*
// paths and protect them with checkAdmin(). Every call needs the
// admin key (Authorization: Bearer or x-api-key), compared in constant time; with no admin key
// configured every /admin call is 403 and says how to set one. Store work runs on the module's
// own thread, never on an I/O thread. Thread-safe.

#include <boost/asio/thread_pool.hpp>

#include <string>

#include "switchyard/audit/audit_log.h"
#include "switchyard/auth/key_cache.h"
#include "switchyard/guard/guard_stage.h"
#include "switchyard/server/route_module.h"

namespace switchyard::server {

class AdminRoutes final : public RouteModule {
 public:
  // `keys`, `audit` and `guard` may be null (that part is not configured); all outlive this.
  AdminRoutes(std::string admin_key, auth::KeyCache* keys, audit::AuditLog* audit,
              const guard::GuardStage* guard);
  ~AdminRoutes() override;

  bool serves(std::string_view path) const override;
  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx) override;

 private:
  struct Reply {
    unsigned status = 200;
    std::string body;
  };
  Reply dispatch(std::string_view path, const http::Request& req);  // on the pool
  Reply keys(std::string_view rest, const http::Request& req);
  Reply auditLog(const http::Request& req);
  Reply guardCounts() const;

  std::string admin_hash_;  // SHA-256 of the admin key; empty: the admin API is disabled
  auth::KeyCache* keys_;
  audit::AuditLog* audit_;
  const guard::GuardStage* guard_;
  boost::asio::thread_pool pool_{1};
};

// The admin key from config (admin_key) or else $SWITCHYARD_ADMIN_KEY; "" when neither is set.
std::string adminKeyFrom(const config::Config& config);

// Whether `req` carries the admin key (Authorization: Bearer or x-api-key), compared in constant
// time: ok, 401 (missing or wrong), or 403 when no admin key is configured (the message says how
// to set one). For any module that serves /admin/* endpoints.
Status checkAdmin(const http::Request& req, const config::Config& config);

}  // namespace switchyard::server
