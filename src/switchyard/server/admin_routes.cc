#include "switchyard/server/admin_routes.h"

#include <openssl/crypto.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <cstdlib>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_fields.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/auth/auth_stage.h"
#include "switchyard/server/beast_headers.h"

namespace switchyard::server {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view kJson = "application/json";

std::string errorBody(const Status& s) { return api::openai::encodeError(s); }

json::object keyJson(const auth::KeyRecord& k) {
  json::object o;
  o["id"] = k.id;
  o["object"] = "key";
  o["name"] = k.spec.name;
  o["team"] = k.spec.team;
  o["prefix"] = k.prefix;
  auto list = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  o["models"] = list(k.spec.models);
  o["routes"] = list(k.spec.routes);
  o["providers"] = list(k.spec.providers);
  o["collections"] = list(k.spec.collections);
  boost::system::error_code ec;
  json::value meta = json::parse(k.spec.metadata, ec);
  o["metadata"] = ec ? json::value(json::object()) : meta;
  o["rpm"] = k.spec.rpm;
  o["tpm"] = k.spec.tpm;
  o["budget_usd"] = k.spec.budget_usd;
  o["budget_period"] = k.spec.budget_period;
  o["created_ms"] = k.created_ms;
  o["rotated_ms"] = k.rotated_ms;
  o["revoked_ms"] = k.revoked_ms;
  o["revoked"] = k.revoked();
  return o;
}

Status badRequest(std::string message, std::string param = "") {
  return Status(ErrorCode::kInvalidArgument, std::move(message)).withParam(std::move(param));
}

// Reads a key spec from a JSON body; every error names the field.
Result<auth::KeySpec> specFrom(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return fail(badRequest("the body must be a JSON object"));
  if (!api::allNumbersFinite(v)) return fail(badRequest(std::string(api::kNumberOutOfRange)));
  auth::KeySpec spec;
  static constexpr std::string_view kKeys[] = {"name", "team", "models", "routes", "providers",
                                               "metadata", "rpm", "tpm", "budget_usd",
                                               "budget_period", "collections"};
  for (const auto& [key, value] : v.as_object()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return fail(badRequest("unknown field '" + std::string(key) + "'", std::string(key)));
    }
    const std::string field(key);
    if (field == "name" || field == "team" || field == "budget_period") {
      if (!value.is_string()) return fail(badRequest(field + ": expected a string", field));
      std::string s(value.as_string());
      if (field == "name") spec.name = std::move(s);
      else if (field == "team") spec.team = std::move(s);
      else spec.budget_period = std::move(s);
    } else if (field == "models" || field == "routes" || field == "providers" ||
               field == "collections") {
      if (!value.is_array()) return fail(badRequest(field + ": expected a list of names", field));
      auto& out = field == "models"      ? spec.models
                  : field == "routes"    ? spec.routes
                  : field == "providers" ? spec.providers
                                         : spec.collections;
      for (const auto& item : value.as_array()) {
        if (!item.is_string()) return fail(badRequest(field + ": expected strings", field));
        out.emplace_back(item.as_string());
      }
    } else if (field == "metadata") {
      if (!value.is_object()) return fail(badRequest("metadata: expected a JSON object", field));
      spec.metadata = json::serialize(value);
    } else if (field == "budget_usd") {
      if (!value.is_number()) return fail(badRequest("budget_usd: expected a number", field));
      spec.budget_usd = value.to_number<double>();
    } else {
      if (!value.is_int64() && !value.is_uint64()) {
        return fail(badRequest(field + ": expected an integer", field));
      }
      const std::optional<std::int64_t> n = api::exactInt64(value);
      if (!n) return fail(badRequest(field + ": too large", field));
      (field == "rpm" ? spec.rpm : spec.tpm) = *n;
    }
  }
  if (Status s = auth::validateSpec(spec); !s.isOk()) return fail(std::move(s));
  return spec;
}

}  // namespace

std::string adminKeyFrom(const config::Config& config) {
  if (!config.admin_key.empty()) return config.admin_key;
  const char* env = std::getenv("SWITCHYARD_ADMIN_KEY");
  return env != nullptr ? std::string(env) : std::string();
}

AdminRoutes::AdminRoutes(std::string admin_key, auth::KeyCache* keys, audit::AuditLog* audit,
                         const guard::GuardStage* guard)
    : admin_hash_(admin_key.empty() ? std::string() : auth::hashKey(admin_key)),
      keys_(keys),
      audit_(audit),
      guard_(guard) {}

AdminRoutes::~AdminRoutes() { pool_.join(); }

bool AdminRoutes::serves(std::string_view path) const {
  return path == "/admin/keys" || path.starts_with("/admin/keys/") || path == "/admin/audit" ||
         path == "/admin/guard";
}

namespace {

Status checkAdminHash(const http::Request& req, const std::string& admin_hash) {
  if (admin_hash.empty()) {
    return Status(ErrorCode::kPermissionDenied,
                  "The admin API is disabled: no admin key is configured. Set the environment "
                  "variable SWITCHYARD_ADMIN_KEY (or `admin_key: ${VAR}` in the config) and "
                  "restart the gateway.")
        .withErrorType("admin_disabled");
  }
  const std::string presented_hash = auth::hashKey(auth::presentedKey(BeastHeaders(req)));
  // Equal-length digests compared in constant time: no timing hint at the key.
  if (CRYPTO_memcmp(presented_hash.data(), admin_hash.data(), admin_hash.size()) != 0) {
    return Status(ErrorCode::kUnauthenticated,
                  "Missing or wrong admin key: send 'Authorization: Bearer <admin key>'.")
        .withErrorType("invalid_admin_key");
  }
  return Status::ok();
}

}  // namespace

Status checkAdmin(const http::Request& req, const config::Config& config) {
  const std::string key = adminKeyFrom(config);
  return checkAdminHash(req, key.empty() ? std::string() : auth::hashKey(key));
}

asio::awaitable<void> AdminRoutes::handle(std::string_view path, http::Request& req,
                                          http::ResponseWriter& writer,
                                          http::ConnectionInfo& /*conn*/,
                                          pipeline::RequestContext& ctx) {
  http::ResponseWriter::Headers headers{{"x-request-id", ctx.request_id}};
  Status denied = checkAdminHash(req, admin_hash_);
  if (!denied.isOk()) {
    (void)co_await writer.send(api::httpStatusFor(denied), kJson, errorBody(denied), headers);
    co_return;
  }
  const std::string owned_path(path);
  Reply reply = co_await asio::co_spawn(
      pool_,
      [this, &owned_path, &req]() -> asio::awaitable<Reply> {
        co_return dispatch(owned_path, req);
      },
      asio::use_awaitable);
  (void)co_await writer.send(reply.status, kJson, std::move(reply.body), headers);
}

AdminRoutes::Reply AdminRoutes::dispatch(std::string_view path, const http::Request& req) {
  auto error = [](Status s) { return Reply{api::httpStatusFor(s), errorBody(s)}; };
  if (path == "/admin/keys" || path.starts_with("/admin/keys/")) {
    if (keys_ == nullptr) {
      return error(Status(ErrorCode::kNotFound, "virtual keys are not configured (no store)"));
    }
    return keys(path.substr(std::string_view("/admin/keys").size()), req);
  }
  if (path == "/admin/audit") {
    if (req.method() != bhttp::verb::get) {
      return error(Status(ErrorCode::kInvalidArgument, "use GET").withHttpStatus(405));
    }
    return auditLog(req);
  }
  if (path == "/admin/guard") {
    if (req.method() != bhttp::verb::get) {
      return error(Status(ErrorCode::kInvalidArgument, "use GET").withHttpStatus(405));
    }
    return guardCounts();
  }
  return error(Status(ErrorCode::kNotFound,
                      "Unknown admin URL " + std::string(path) +
                          " (see docs/keys.md: /admin/keys, /admin/audit, /admin/guard)")
                   .withErrorType("unknown_url"));
}

AdminRoutes::Reply AdminRoutes::keys(std::string_view rest, const http::Request& req) {
  auto error = [](Status s) { return Reply{api::httpStatusFor(s), errorBody(s)}; };
  auto audit = [&](std::string action, const auth::KeyRecord& k) {
    if (audit_ != nullptr) {
      audit_->append({0, 0, "admin", std::move(action), k.id,
                      "name=" + k.spec.name + " team=" + k.spec.team, ""});
    }
  };
  const auto method = req.method();
  if (rest.empty() || rest == "/") {
    if (method == bhttp::verb::get) {
      auto list = keys_->store().list();
      if (!list) return error(std::move(list.error()));
      json::array data;
      for (const auto& k : *list) data.emplace_back(keyJson(k));
      json::object body;
      body["object"] = "list";
      body["data"] = std::move(data);
      return {200, json::serialize(body)};
    }
    if (method == bhttp::verb::post) {
      auto spec = specFrom(req.body());
      if (!spec) return error(std::move(spec.error()));
      auto issued = keys_->create(*spec);
      if (!issued) return error(std::move(issued.error()));
      audit("key.create", issued->record);
      json::object body = keyJson(issued->record);
      body["key"] = issued->secret;  // the only time it is shown
      return {201, json::serialize(body)};
    }
    return error(Status(ErrorCode::kInvalidArgument, "use GET or POST").withHttpStatus(405));
  }
  // /<id>, /<id>/revoke, /<id>/rotate
  rest.remove_prefix(1);
  const std::size_t slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string_view action =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (action.empty() && method == bhttp::verb::get) {
    auto key = keys_->store().get(id);
    if (!key) return error(std::move(key.error()));
    if (!*key) return error(Status(ErrorCode::kNotFound, "no key with id '" + id + "'"));
    return {200, json::serialize(keyJson(**key))};
  }
  if ((action.empty() && method == bhttp::verb::delete_) ||
      (action == "revoke" && method == bhttp::verb::post)) {
    auto key = keys_->revoke(id);
    if (!key) return error(std::move(key.error()));
    audit("key.revoke", *key);
    return {200, json::serialize(keyJson(*key))};
  }
  if (action == "rotate" && method == bhttp::verb::post) {
    auto issued = keys_->rotate(id);
    if (!issued) return error(std::move(issued.error()));
    audit("key.rotate", issued->record);
    json::object body = keyJson(issued->record);
    body["key"] = issued->secret;
    return {200, json::serialize(body)};
  }
  return error(Status(ErrorCode::kNotFound,
                      "Unknown key action: use GET|DELETE /admin/keys/ID, POST "
                      "/admin/keys/ID/revoke or /admin/keys/ID/rotate")
                   .withErrorType("unknown_url"));
}

AdminRoutes::Reply AdminRoutes::auditLog(const http::Request& req) {
  auto error = [](Status s) { return Reply{api::httpStatusFor(s), errorBody(s)}; };
  if (audit_ == nullptr) return error(Status(ErrorCode::kNotFound, "no audit log (no store)"));
  int limit = 100;
  const std::string_view target = req.target();
  if (auto q = target.find("limit="); q != std::string_view::npos) {
    limit = std::atoi(std::string(target.substr(q + 6)).c_str());
    if (limit <= 0 || limit > 10'000) {
      return error(badRequest("limit: expected 1 to 10000", "limit"));
    }
  }
  audit_->flush();
  auto entries = audit_->recent(limit);
  if (!entries) return error(std::move(entries.error()));
  json::array data;
  for (const auto& e : *entries) {
    data.emplace_back(json::object{{"id", e.id},
                                   {"at_ms", e.at_ms},
                                   {"actor", e.actor},
                                   {"action", e.action},
                                   {"target", e.target},
                                   {"detail", e.detail},
                                   {"request_id", e.request_id}});
  }
  return {200, json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}})};
}

AdminRoutes::Reply AdminRoutes::guardCounts() const {
  json::object by_type;
  if (guard_ != nullptr) {
    for (const auto& [type, counts] : guard_->counts()) {
      json::object o;
      for (int i = 0; i < guard::kActionCount; ++i) {
        if (counts[i] != 0) {
          o[guard::actionName(static_cast<guard::Action>(i))] = counts[i];
        }
      }
      by_type[type] = std::move(o);
    }
  }
  return {200, json::serialize(json::object{{"enabled", guard_ != nullptr},
                                            {"interventions", std::move(by_type)}})};
}

}  // namespace switchyard::server
