#include "switchyard/cli/keys_cmd.h"

#include <boost/json.hpp>

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "switchyard/audit/audit_log.h"
#include "switchyard/auth/key_store.h"
#include "switchyard/config/config.h"

namespace switchyard::cli {
namespace {

struct KeysArgs {
  std::string config_path;
  std::string id;
  bool json = false;
  auth::KeySpec spec;
  std::vector<std::string> metadata;  // key=value
};

std::string date(std::int64_t ms) {
  if (ms == 0) return "-";
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "*" : out;
}

// The store named by the config, and the audit log on it.
struct Store {
  store::DatabasePtr db;
  std::unique_ptr<auth::KeyStore> keys;
  audit::AuditLogPtr audit;
};

Result<Store> openStore(const std::string& config_path) {
  auto config = config::loadConfigFile(config_path);
  if (!config) return fail(std::move(config.error()));
  Store s;
  auto db = store::openDatabase(config->storage_url);
  if (!db) return fail(std::move(db.error()));
  s.db = std::move(*db);
  auto keys = auth::KeyStore::open(*s.db);
  if (!keys) return fail(std::move(keys.error()));
  s.keys = std::move(*keys);
  auto audit = audit::AuditLog::open(*s.db);
  if (!audit) return fail(std::move(audit.error()));
  s.audit = std::move(*audit);
  return s;
}

int failed(const Status& s) {
  std::cerr << "switchyard keys: " << s.message() << "\n";
  return 1;
}

void audit(Store& s, std::string action, const auth::KeyRecord& k) {
  s.audit->append({0, 0, "cli", std::move(action), k.id,
                   "name=" + k.spec.name + " team=" + k.spec.team, ""});
  s.audit->flush();
}

void printIssued(const auth::IssuedKey& issued, std::string_view verb) {
  std::cout << "Key " << verb << ": " << issued.record.id << " (" << issued.record.spec.name
            << ")\n\n  " << issued.secret
            << "\n\nThis is the only time the key is shown: store it now. Clients send it as\n"
               "'Authorization: Bearer <key>' (Anthropic SDKs: x-api-key).\n";
}

int create(KeysArgs& args) {
  boost::json::object meta;
  for (const std::string& kv : args.metadata) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "switchyard keys: --metadata expects KEY=VALUE, got '" << kv << "'\n";
      return 2;
    }
    meta[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  args.spec.metadata = boost::json::serialize(meta);
  auto s = openStore(args.config_path);
  if (!s) return failed(s.error());
  auto issued = s->keys->create(args.spec);
  if (!issued) return failed(issued.error());
  audit(*s, "key.create", issued->record);
  printIssued(*issued, "created");
  return 0;
}

int list(const KeysArgs& args) {
  auto s = openStore(args.config_path);
  if (!s) return failed(s.error());
  auto keys = s->keys->list();
  if (!keys) return failed(keys.error());
  if (args.json) {
    boost::json::array out;
    for (const auto& k : *keys) {
      out.push_back({{"id", k.id},          {"name", k.spec.name},   {"team", k.spec.team},
                     {"prefix", k.prefix},  {"rpm", k.spec.rpm},     {"tpm", k.spec.tpm},
                     {"budget_usd", k.spec.budget_usd},
                     {"budget_period", k.spec.budget_period},
                     {"created_ms", k.created_ms}, {"revoked", k.revoked()}});
    }
    std::cout << boost::json::serialize(out) << "\n";
    return 0;
  }
  std::printf("%-20s %-16s %-10s %-10s %-8s %-8s %-14s %-24s %s\n", "ID", "NAME", "TEAM",
              "PREFIX", "RPM", "TPM", "BUDGET", "MODELS", "STATUS");
  for (const auto& k : *keys) {
    char budget[32] = "-";
    if (k.spec.budget_usd > 0) {
      std::snprintf(budget, sizeof budget, "$%.2f/%s", k.spec.budget_usd,
                    k.spec.budget_period.c_str());
    }
    const std::string status = k.revoked() ? "revoked " + date(k.revoked_ms)
                                           : "active since " + date(k.created_ms);
    std::printf("%-20s %-16s %-10s %-10s %-8lld %-8lld %-14s %-24s %s\n", k.id.c_str(),
                k.spec.name.c_str(), k.spec.team.empty() ? "-" : k.spec.team.c_str(),
                (k.prefix + "…").c_str(), static_cast<long long>(k.spec.rpm),
                static_cast<long long>(k.spec.tpm), budget, joined(k.spec.models).c_str(),
                status.c_str());
  }
  if (keys->empty()) std::cout << "(no keys; create one with `switchyard keys create`)\n";
  return 0;
}

int revoke(const KeysArgs& args) {
  auto s = openStore(args.config_path);
  if (!s) return failed(s.error());
  auto key = s->keys->revoke(args.id);
  if (!key) return failed(key.error());
  audit(*s, "key.revoke", *key);
  std::cout << "Key revoked: " << key->id << " (" << key->spec.name
            << "). A running gateway refuses it within auth.reload_interval; revoke through "
               "POST /admin/keys/ID/revoke to refuse it at once.\n";
  return 0;
}

int rotate(const KeysArgs& args) {
  auto s = openStore(args.config_path);
  if (!s) return failed(s.error());
  auto issued = s->keys->rotate(args.id);
  if (!issued) return failed(issued.error());
  audit(*s, "key.rotate", issued->record);
  printIssued(*issued, "rotated (the old secret no longer works)");
  return 0;
}

}  // namespace

void addKeysCommand(CLI::App& app, std::function<int()>& action) {
  auto args = std::make_shared<KeysArgs>();
  auto* keys = app.add_subcommand(
      "keys", "Manage virtual keys (stored hashed in the config's storage.url)");
  keys->require_subcommand(1);
  auto config = [&](CLI::App* cmd) {
    cmd->add_option("-c,--config", args->config_path, "config file (its storage.url is used)")
        ->required()
        ->envname("SWITCHYARD_CONFIG");
  };

  auto* create_cmd = keys->add_subcommand("create", "Create a key; prints it once");
  config(create_cmd);
  create_cmd->add_option("--name", args->spec.name, "who or what uses the key")->required();
  create_cmd->add_option("--team", args->spec.team, "team or tenant (team limits apply)");
  create_cmd->add_option("--model", args->spec.models,
                         "allowed model or alias (repeat; 'prefix*' matches a prefix)");
  create_cmd->add_option("--route", args->spec.routes, "allowed route name (repeat)");
  create_cmd->add_option("--provider", args->spec.providers, "allowed provider (repeat)");
  create_cmd->add_option("--collection", args->spec.collections,
                         "RAG collection it may read and write (repeat; 'prefix*' matches a "
                         "prefix; default: every collection that is not private)");
  create_cmd->add_option("--rpm", args->spec.rpm, "requests per minute (0: unlimited)")
      ->check(CLI::NonNegativeNumber);
  create_cmd->add_option("--tpm", args->spec.tpm, "tokens per minute (0: unlimited)")
      ->check(CLI::NonNegativeNumber);
  create_cmd->add_option("--budget", args->spec.budget_usd, "USD per period (0: unlimited)")
      ->check(CLI::NonNegativeNumber);
  create_cmd->add_option("--period", args->spec.budget_period, "budget period: day or month")
      ->check(CLI::IsMember({"day", "month"}));
  create_cmd->add_option("--metadata", args->metadata, "KEY=VALUE to keep with the key (repeat)");
  create_cmd->callback([&action, args] { action = [args] { return create(*args); }; });

  auto* list_cmd = keys->add_subcommand("list", "List keys (never their secrets)");
  config(list_cmd);
  list_cmd->add_flag("--json", args->json, "print JSON");
  list_cmd->callback([&action, args] { action = [args] { return list(*args); }; });

  auto* revoke_cmd = keys->add_subcommand("revoke", "Revoke a key");
  config(revoke_cmd);
  revoke_cmd->add_option("ID", args->id, "key id (key_...)")->required();
  revoke_cmd->callback([&action, args] { action = [args] { return revoke(*args); }; });

  auto* rotate_cmd = keys->add_subcommand("rotate", "Give a key a new secret; prints it once");
  config(rotate_cmd);
  rotate_cmd->add_option("ID", args->id, "key id (key_...)")->required();
  rotate_cmd->callback([&action, args] { action = [args] { return rotate(*args); }; });
}

}  // namespace switchyard::cli
