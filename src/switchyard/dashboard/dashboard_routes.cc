#include "switchyard/dashboard/dashboard_routes.h"

#include <openssl/crypto.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <exception>

#include "switchyard/api/errors.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/auth/auth_stage.h"
#include "switchyard/auth/key_store.h"
#include "switchyard/core/log.h"
#include "switchyard/dashboard/assets.h"
#include "switchyard/dashboard/display_json.h"
#include "switchyard/http/query.h"
#include "switchyard/server/beast_headers.h"

namespace switchyard::dashboard {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kApi = "/admin/api/";
// Scripts and styles only from this origin (no inline code, no CDN); no framing.
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

http::ResponseWriter::Headers securityHeaders(const pipeline::RequestContext& ctx) {
  return {{"x-request-id", ctx.request_id},
          {"Content-Security-Policy", std::string(kCsp)},
          {"X-Content-Type-Options", "nosniff"},
          {"X-Frame-Options", "DENY"},
          {"Referrer-Policy", "no-referrer"}};
}

std::string errorBody(const Status& s) { return api::openai::encodeError(s); }

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool etagMatches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*") return true;
  // A list of (possibly weak) tags: W/"abc", "def"
  while (!if_none_match.empty()) {
    const std::size_t comma = if_none_match.find(',');
    std::string_view tag = if_none_match.substr(0, comma);
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

std::string_view header(const http::Request& req, bhttp::field field) {
  auto it = req.find(field);
  return it == req.end() ? std::string_view() : std::string_view(it->value());
}

}  // namespace

const Asset* findAsset(std::string_view name) {
  if (name.empty()) name = "index.html";
  for (const Asset& a : embeddedAssets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

Localities localitiesFrom(const config::Config& config) {
  Localities out;
  for (const auto& p : config.providers) {
    out[p.name] = p.locality.starts_with("on_prem") ? "local" : "cloud";
  }
  return out;
}

DashboardRoutes::DashboardRoutes(const config::Config& config, std::string admin_key,
                                 std::unique_ptr<DashboardQueries> queries,
                                 const routing::HealthBoard* health)
    : admin_hash_(admin_key.empty() ? std::string() : auth::hashKey(admin_key)),
      sessions_(config.telemetry.dashboard.session_ttl),
      queries_(std::move(queries)),
      health_(health),
      localities_(std::make_shared<const Localities>(localitiesFrom(config))) {}

DashboardRoutes::~DashboardRoutes() { pool_.join(); }

bool DashboardRoutes::serves(std::string_view path) const {
  return path == "/ui" || path.starts_with("/ui/") || path.starts_with(kApi);
}

Status DashboardRoutes::reload(const config::Config& config) {
  sessions_.setTtl(config.telemetry.dashboard.session_ttl);
  localities_.store(std::make_shared<const Localities>(localitiesFrom(config)));
  return Status::ok();
}

asio::awaitable<void> DashboardRoutes::handle(std::string_view path, http::Request& req,
                                              http::ResponseWriter& writer,
                                              http::ConnectionInfo& /*conn*/,
                                              pipeline::RequestContext& ctx) {
  if (!path.starts_with(kApi)) {
    co_await serveAsset(path, req, writer, ctx);
    co_return;
  }
  http::ResponseWriter::Headers headers = securityHeaders(ctx);
  headers.emplace_back("Cache-Control", "no-store");
  const bool is_login = path == "/admin/api/login";
  const bool is_logout = path == "/admin/api/logout";
  if ((is_login || is_logout) && req.method() != bhttp::verb::post) {
    headers.emplace_back("Allow", "POST");
    Status s = Status(ErrorCode::kInvalidArgument, "method not allowed: use POST")
                   .withHttpStatus(405)
                   .withErrorType("method_not_allowed");
    (void)co_await writer.send(405, kJson, errorBody(s), headers);
    co_return;
  }
  if (!is_login && !is_logout && req.method() != bhttp::verb::get) {
    headers.emplace_back("Allow", "GET");
    Status s = Status(ErrorCode::kInvalidArgument, "method not allowed: use GET")
                   .withHttpStatus(405)
                   .withErrorType("method_not_allowed");
    (void)co_await writer.send(405, kJson, errorBody(s), headers);
    co_return;
  }
  Reply reply;
  if (path == "/admin/api/session") {
    // Answers 200 either way, so the page can ask before it shows the login form (a 401 would
    // be a console error in every browser).
    const Status s = authorize(req);
    json::object o{{"authenticated", s.isOk()},
                   {"admin_enabled", !admin_hash_.empty()},
                   {"store", queries_ != nullptr}};
    if (s.isOk()) {
      o["session_ttl_s"] =
          std::chrono::duration_cast<std::chrono::seconds>(sessions_.ttl()).count();
    } else {
      o["message"] = s.message();
    }
    reply = Reply{200, displayJson(o), ""};
  } else if (is_login) {
    reply = login(req);  // hashing only: no I/O
  } else if (is_logout) {
    reply = logout(req);
  } else if (Status denied = authorize(req); !denied.isOk()) {
    if (denied.code() == ErrorCode::kUnauthenticated) {
      headers.emplace_back("WWW-Authenticate", "Bearer");
    }
    reply = Reply{api::httpStatusFor(denied), errorBody(denied), ""};
  } else {
    const std::string owned_path(path);
    reply = co_await asio::co_spawn(
        pool_,
        [this, &owned_path, &req]() -> asio::awaitable<Reply> { co_return api(owned_path, req); },
        asio::use_awaitable);
  }
  if (!reply.set_cookie.empty()) headers.emplace_back("Set-Cookie", std::move(reply.set_cookie));
  if (reply.retry_after_s > 0) headers.emplace_back("Retry-After", std::to_string(reply.retry_after_s));
  (void)co_await writer.send(reply.status, kJson, std::move(reply.body), headers);
}

asio::awaitable<void> DashboardRoutes::serveAsset(std::string_view path, http::Request& req,
                                                  http::ResponseWriter& writer,
                                                  pipeline::RequestContext& ctx) {
  http::ResponseWriter::Headers headers = securityHeaders(ctx);
  const bool head = req.method() == bhttp::verb::head;
  if (req.method() != bhttp::verb::get && !head) {
    headers.emplace_back("Allow", "GET, HEAD");
    (void)co_await writer.send(405, "text/plain; charset=utf-8", "method not allowed: use GET\n",
                               headers);
    co_return;
  }
  std::string_view name = path == "/ui" ? std::string_view() : path.substr(4);  // after "/ui/"
  const Asset* asset = findAsset(name);
  if (asset == nullptr) {
    (void)co_await writer.send(404, "text/plain; charset=utf-8",
                               "Not found. The dashboard is at /ui/\n", headers);
    co_return;
  }
  // The names are not content-hashed, so browsers revalidate every time (a cheap 304).
  headers.emplace_back("ETag", std::string(asset->etag));
  headers.emplace_back("Cache-Control", "no-cache");
  if (etagMatches(header(req, bhttp::field::if_none_match), asset->etag)) {
    (void)co_await writer.send(304, asset->content_type, "", headers);
    co_return;
  }
  // HEAD: the same head, no body (Content-Length then says 0; fine for a probe). The body is a
  // named variable: g++ 12 mishandles a conditional over temporaries inside co_await.
  std::string body;
  if (!head) body.assign(asset->data);
  (void)co_await writer.send(200, asset->content_type, std::move(body), headers);
}

Status DashboardRoutes::authorize(const http::Request& req) {
  if (admin_hash_.empty()) {
    return Status(ErrorCode::kPermissionDenied,
                  "The dashboard is disabled: no admin key is configured. Set the environment "
                  "variable SWITCHYARD_ADMIN_KEY (or `admin_key: ${VAR}` in the config) and "
                  "restart the gateway.")
        .withErrorType("admin_disabled");
  }
  const std::string_view token =
      cookieValue(header(req, bhttp::field::cookie), kCookie);
  if (!token.empty() && sessions_.valid(token)) return Status::ok();
  const std::string presented = auth::presentedKey(server::BeastHeaders(req));
  if (!presented.empty()) {
    const std::string hash = auth::hashKey(presented);
    if (CRYPTO_memcmp(hash.data(), admin_hash_.data(), admin_hash_.size()) == 0) {
      return Status::ok();
    }
  }
  return Status(ErrorCode::kUnauthenticated,
                token.empty() ? "Log in with the admin key (POST /admin/api/login) or send "
                                "'Authorization: Bearer <admin key>'."
                              : "The session has expired; log in again.")
      .withErrorType("invalid_admin_key");
}

DashboardRoutes::Reply DashboardRoutes::login(const http::Request& req) {
  auto error = [](Status s) { return Reply{api::httpStatusFor(s), errorBody(s), ""}; };
  if (admin_hash_.empty()) return error(authorize(req));
  // Guessing the admin key online: a handful of tries a minute, for everyone together.
  if (const int wait = loginBackoff(); wait > 0) {
    Reply r = error(Status(ErrorCode::kRateLimited, "Too many failed logins; try again in " +
                                                        std::to_string(wait) + " s.")
                        .withRetryAfter(wait)
                        .withErrorType("login_rate_limited"));
    r.retry_after_s = wait;
    return r;
  }
  boost::system::error_code ec;
  json::value body = json::parse(req.body(), ec);
  const json::string* key = nullptr;
  if (!ec && body.is_object()) {
    if (auto* k = body.as_object().if_contains("key"); k != nullptr && k->is_string()) {
      key = &k->as_string();
    }
  }
  if (key == nullptr) {
    return error(Status(ErrorCode::kInvalidArgument,
                        "expected a JSON body {\"key\": \"<admin key>\"}")
                     .withParam("key"));
  }
  const std::string hash = auth::hashKey(std::string_view(key->data(), key->size()));
  if (CRYPTO_memcmp(hash.data(), admin_hash_.data(), admin_hash_.size()) != 0) {
    noteLoginFailure();
    logEvent(spdlog::level::warn, "dashboard.login_failed", {});
    return error(Status(ErrorCode::kUnauthenticated, "Wrong admin key.")
                     .withErrorType("invalid_admin_key"));
  }
  const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(sessions_.ttl());
  std::string cookie = std::string(kCookie) + "=" + sessions_.create() +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                       std::to_string(ttl.count());
  auto proto = req.find("x-forwarded-proto");
  if (proto != req.end() && proto->value() == "https") cookie += "; Secure";
  json::object o{{"authenticated", true}, {"expires_in_s", ttl.count()}};
  return Reply{200, displayJson(o), std::move(cookie)};
}

int DashboardRoutes::loginBackoff() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(login_mu_);
  while (!login_failures_.empty() && now - login_failures_.front() >= std::chrono::minutes(1)) {
    login_failures_.pop_front();
  }
  if (login_failures_.size() < kLoginFailuresPerMinute) return 0;
  const auto free_at = login_failures_.front() + std::chrono::minutes(1);
  return static_cast<int>(
      std::chrono::ceil<std::chrono::seconds>(free_at - now).count());
}

void DashboardRoutes::noteLoginFailure() {
  std::lock_guard lock(login_mu_);
  login_failures_.push_back(std::chrono::steady_clock::now());
  if (login_failures_.size() > kLoginFailuresPerMinute) login_failures_.pop_front();
}

DashboardRoutes::Reply DashboardRoutes::logout(const http::Request& req) {
  const std::string_view token = cookieValue(header(req, bhttp::field::cookie), kCookie);
  if (!token.empty()) sessions_.remove(token);
  return Reply{200, R"({"authenticated":false})",
               std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"};
}

DashboardRoutes::Reply DashboardRoutes::api(std::string_view path, const http::Request& req) {
  auto error = [](Status s) { return Reply{api::httpStatusFor(s), errorBody(s), ""}; };
  auto ok = [](const json::object& o) { return Reply{200, displayJson(o), ""}; };
  const std::string_view what = path.substr(kApi.size());
  const http::QueryParams query(req.target());
  try {
    if (what == "breakers") {
      json::array list;
      if (health_ != nullptr) {
        for (const auto& s : health_->snapshot()) {
          list.emplace_back(json::object{{"deployment", s.deployment},
                                         {"state", routing::breakerStateName(s.state)},
                                         {"ewma_ttft_ms", s.ewma_ttft_ms},
                                         {"successes", s.successes},
                                         {"failures", s.failures}});
        }
      }
      return ok(json::object{{"deployments", std::move(list)}});
    }
    if (queries_ == nullptr) {
      return error(Status(ErrorCode::kUnavailable,
                          "the dashboard has no store (storage.url could not be opened)"));
    }
    auto window = Window::parse(query.get("window"), nowMs());
    if (!window) return error(std::move(window.error()));
    auto answer = [&](Result<json::object> r) {
      return r ? ok(*r) : error(std::move(r.error()));
    };
    if (what == "overview") return answer(queries_->overview(*window));
    if (what == "costs") return answer(queries_->costs(*window));
    if (what == "routing") return answer(queries_->routing(*window, *localities_.load()));
    if (what == "guard") return answer(queries_->guard(*window));
    if (what == "requests") {
      RequestFilter f;
      f.from_ms = window->from_ms;
      auto limit = query.integer("limit", 50, 1, 500);
      if (!limit) return error(std::move(limit.error()));
      auto before = query.integer("before", 0, 0, std::numeric_limits<std::int64_t>::max());
      if (!before) return error(std::move(before.error()));
      f.limit = static_cast<int>(*limit);
      f.before_id = *before;
      f.model = query.get("model");
      f.status = query.get("status");
      if (!f.status.empty() && f.status != "ok" && f.status != "error") {
        return error(Status(ErrorCode::kInvalidArgument, "status: expected ok or error")
                         .withParam("status"));
      }
      return answer(queries_->requests(f));
    }
    if (what.starts_with("requests/")) {
      const std::string id(what.substr(9));
      auto found = queries_->request(id);
      if (!found) return error(std::move(found.error()));
      if (!*found) {
        return error(Status(ErrorCode::kNotFound, "no logged request with id '" + id + "'"));
      }
      return ok(**found);
    }
    if (what == "eval/runs") {
      auto limit = query.integer("limit", 50, 1, 500);
      if (!limit) return error(std::move(limit.error()));
      return answer(queries_->evalRuns(static_cast<int>(*limit)));
    }
    if (what.starts_with("eval/runs/")) {
      const std::string id(what.substr(10));
      auto found = queries_->evalRun(id);
      if (!found) return error(std::move(found.error()));
      if (!*found) return error(Status(ErrorCode::kNotFound, "no evaluation run '" + id + "'"));
      return ok(**found);
    }
  } catch (const std::exception& e) {
    return error(Status(ErrorCode::kInternal, std::string("dashboard: ") + e.what()));
  }
  return error(Status(ErrorCode::kNotFound,
                      "Unknown dashboard API URL " + std::string(path) +
                          " (see docs/dashboard.md)")
                   .withErrorType("unknown_url"));
}

}  // namespace switchyard::dashboard
