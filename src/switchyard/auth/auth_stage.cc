#include "switchyard/auth/auth_stage.h"

#include <algorithm>
#include <cctype>

#include <boost/url/parse.hpp>

namespace switchyard::auth {
namespace {

bool iequalsPrefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool matches(const std::vector<std::string>& patterns, std::string_view name) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    if (!p.empty() && p.back() == '*') {
      return name.starts_with(std::string_view(p).substr(0, p.size() - 1));
    }
    return p == name;
  });
}

Status unauthenticated(std::string message) {
  return Status(ErrorCode::kUnauthenticated, std::move(message)).withErrorType("invalid_api_key");
}

}  // namespace

std::string presentedKey(const pipeline::RequestHeaders& headers, std::string_view target) {
  const std::string_view authorization = trimmed(headers.get("authorization"));
  if (iequalsPrefix(authorization, "bearer ")) return std::string(trimmed(authorization.substr(7)));
  if (auto key = trimmed(headers.get("x-api-key")); !key.empty()) return std::string(key);
  if (auto key = trimmed(headers.get("x-goog-api-key")); !key.empty()) return std::string(key);
  // Google's clients may send the key as `?key=` (percent-encoded like any query value).
  if (target.find('?') == std::string_view::npos) return {};
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return {};
  const auto params = url->params();
  auto it = params.find("key");
  if (it == params.end()) return {};
  return std::string(trimmed((*it).value));
}

std::shared_ptr<const AuthStage::Settings> AuthStage::settingsOf(const config::Config& config) {
  auto s = std::make_shared<Settings>();
  s->require_keys = config.auth.require_keys;
  for (const auto& p : config.providers) {
    s->providers.emplace(p.name, true);
    for (const auto& m : p.models) {
      s->provider_of.emplace(m.name, p.name);
      for (const auto& alias : m.aliases) s->provider_of.emplace(alias, p.name);
    }
  }
  return s;
}

AuthStage::AuthStage(const config::Config& config, const KeyCache& cache)
    : cache_(cache), settings_(settingsOf(config)) {}

void AuthStage::reload(const config::Config& config) { settings_.store(settingsOf(config)); }

bool AuthStage::allows(const KeyRecord& key, std::string_view model) const {
  const auto settings = settings_.load();
  const auto& providers_ = settings->providers;
  const auto& provider_of_ = settings->provider_of;
  const KeySpec& s = key.spec;
  if (s.models.empty() && s.routes.empty() && s.providers.empty()) return true;
  if (matches(s.models, model) || matches(s.routes, model)) return true;
  if (s.providers.empty()) return false;
  // The provider a name pins: "provider/model", or a model or alias a provider declares.
  std::string_view provider;
  if (auto slash = model.find('/'); slash != std::string_view::npos &&
                                    providers_.contains(model.substr(0, slash))) {
    provider = model.substr(0, slash);
  } else if (auto it = provider_of_.find(model); it != provider_of_.end()) {
    provider = it->second;
  }
  if (!provider.empty()) return matches(s.providers, provider);
  // A virtual model (route) whose candidates span providers: allowed when only providers are
  // scoped; routing drops the candidates of other providers (ctx.allowed_providers).
  return s.models.empty() && s.routes.empty();
}

boost::asio::awaitable<pipeline::Verdict> AuthStage::admit(pipeline::StageInput& in) {
  co_return check(in);
}

pipeline::Verdict AuthStage::check(pipeline::StageInput& in) const {
  std::string_view model;
  if (in.chat != nullptr) model = in.chat->model;
  if (in.completion != nullptr) model = in.completion->model;
  if (in.embedding != nullptr) model = in.embedding->model;
  return authorize(in.headers, in.ctx, model, /*check_model=*/true, in.target);
}

pipeline::Verdict AuthStage::authorize(const pipeline::RequestHeaders& headers,
                                       pipeline::RequestContext& ctx, std::string_view model,
                                       bool check_model, std::string_view target) const {
  KeyPtr key;
  if (Status s = identify(headers, target, ctx, key); !s.isOk()) return s;
  if (!key || !check_model) return Status::ok();  // no key (none required), or no model
  if (!allows(*key, model)) {
    return Status(ErrorCode::kPermissionDenied,
                  "The API key '" + key->spec.name + "' may not use model '" +
                      std::string(model) + "'. Ask an administrator to extend its scopes.")
        .withParam("model")
        .withErrorType("model_not_allowed");
  }
  return Status::ok();
}

pipeline::Verdict AuthStage::authenticate(const pipeline::RequestHeaders& headers,
                                          pipeline::RequestContext& ctx,
                                          std::string_view model) const {
  return authorize(headers, ctx, model, !model.empty());
}

pipeline::Verdict AuthStage::identify(const pipeline::RequestHeaders& headers,
                                      std::string_view target, pipeline::RequestContext& ctx,
                                      KeyPtr& found) const {
  const bool require_keys = settings_.load()->require_keys;
  const std::string secret = presentedKey(headers, target);
  if (secret.empty()) {
    if (!require_keys) return Status::ok();
    return unauthenticated(
        "Missing API key. This gateway requires a virtual key: send it as 'Authorization: "
        "Bearer <key>' (or 'x-api-key: <key>'). An administrator creates keys with "
        "`switchyard keys create` or POST /admin/keys.");
  }
  KeyPtr key = cache_.findBySecret(secret);
  if (!key) {
    // Without required keys, clients may send anything (SDKs insist on some key).
    if (!require_keys) return Status::ok();
    return unauthenticated("Invalid API key. Check the key you sent; it is not a key of this "
                           "gateway.");
  }
  if (key->revoked()) {
    return unauthenticated("This API key (" + key->prefix + "…, id " + key->id +
                           ") has been revoked. Ask an administrator for a new one.");
  }
  ctx.key_id = key->id;
  ctx.key_name = key->spec.name;
  ctx.team = key->spec.team;
  ctx.allowed_providers = key->spec.providers;
  ctx.allowed_collections = key->spec.collections;
  if (ctx.risk_tier.empty()) ctx.risk_tier = key->risk_tier;  // the header wins
  found = std::move(key);
  return Status::ok();
}

}  // namespace switchyard::auth
