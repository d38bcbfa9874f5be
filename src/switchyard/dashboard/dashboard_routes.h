#pragma once
// DashboardRoutes: the web dashboard. GET /ui serves the embedded single-page app (ETag/304,
// Cache-Control, a strict Content-Security-Policy); /admin/api/* is the JSON API it calls:
// login/logout/session (session answers 200 with "authenticated" either way), overview, costs, routing, guard, breakers, requests (+ drill-down),
// eval/runs (+ detail). Every API call needs the admin key: a session cookie from
// POST /admin/api/login (HttpOnly, SameSite=Strict) or `Authorization: Bearer <admin key>`.
// Store queries run on the module's own thread pool; the I/O thread only awaits them.
//
// Thread-safety: handle() is called from every I/O thread; reload() from the reload thread.
// Settings that a reload changes are swapped atomically.

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "switchyard/config/config.h"
#include "switchyard/dashboard/queries.h"
#include "switchyard/dashboard/sessions.h"
#include "switchyard/routing/health.h"
#include "switchyard/server/route_module.h"

namespace switchyard::dashboard {

class DashboardRoutes final : public server::RouteModule {
 public:
  // `admin_key` empty: every API call is 403 (and the login page says how to set one).
  // `queries` null: no store (the data endpoints answer 503). `health` may be null.
  DashboardRoutes(const config::Config& config, std::string admin_key,
                  std::unique_ptr<DashboardQueries> queries, const routing::HealthBoard* health);
  ~DashboardRoutes() override;

  bool serves(std::string_view path) const override;
  boost::asio::awaitable<void> handle(std::string_view path, http::Request& req,
                                      http::ResponseWriter& writer, http::ConnectionInfo& conn,
                                      pipeline::RequestContext& ctx) override;

  // A config reload: new session lifetime and provider localities.
  Status reload(const config::Config& config);

  static constexpr std::string_view kCookie = "sy_session";
  // Failed logins allowed per minute (all clients together); then logins answer 429.
  static constexpr std::size_t kLoginFailuresPerMinute = 10;

 private:
  struct Reply {
    unsigned status = 200;
    std::string body;
    std::string set_cookie;
    int retry_after_s = 0;
  };
  boost::asio::awaitable<void> serveAsset(std::string_view path, http::Request& req,
                                          http::ResponseWriter& writer,
                                          pipeline::RequestContext& ctx);
  // Ok, or why the request is not allowed (401/403).
  Status authorize(const http::Request& req);
  Reply login(const http::Request& req);
  Reply logout(const http::Request& req);
  // Seconds until another login may be tried (0: now), after too many failures.
  int loginBackoff();
  void noteLoginFailure();
  Reply api(std::string_view path, const http::Request& req);  // on the pool

  std::string admin_hash_;  // SHA-256 hex of the admin key; empty: disabled
  SessionStore sessions_;
  std::unique_ptr<DashboardQueries> queries_;
  const routing::HealthBoard* health_;
  std::atomic<std::shared_ptr<const Localities>> localities_;
  std::mutex login_mu_;
  std::deque<std::chrono::steady_clock::time_point> login_failures_;  // the last minute's
  boost::asio::thread_pool pool_{2};
};

// Provider name -> "local" (locality on_prem) or "cloud", from the config.
Localities localitiesFrom(const config::Config& config);

}  // namespace switchyard::dashboard
