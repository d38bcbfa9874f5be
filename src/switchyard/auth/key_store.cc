#include "switchyard/auth/key_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace switchyard::auth {
namespace {

constexpr store::Migration kMigrations[] = {
    {1, "auth_keys",
     "CREATE TABLE IF NOT EXISTS auth_keys ("
     " id TEXT PRIMARY KEY, name TEXT NOT NULL, team TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,"
     " prefix TEXT NOT NULL, models TEXT NOT NULL, routes TEXT NOT NULL,"
     " providers TEXT NOT NULL, metadata TEXT NOT NULL, rpm INTEGER NOT NULL,"
     " tpm INTEGER NOT NULL, budget_usd REAL NOT NULL, budget_period TEXT NOT NULL,"
     " created_ms INTEGER NOT NULL, rotated_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL)",
     "CREATE TABLE IF NOT EXISTS auth_keys ("
     " id TEXT PRIMARY KEY, name TEXT NOT NULL, team TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,"
     " prefix TEXT NOT NULL, models TEXT NOT NULL, routes TEXT NOT NULL,"
     " providers TEXT NOT NULL, metadata TEXT NOT NULL, rpm BIGINT NOT NULL,"
     " tpm BIGINT NOT NULL, budget_usd DOUBLE PRECISION NOT NULL, budget_period TEXT NOT NULL,"
     " created_ms BIGINT NOT NULL, rotated_ms BIGINT NOT NULL, revoked_ms BIGINT NOT NULL)"},
    {2, "auth_keys_collections",
     "ALTER TABLE auth_keys ADD COLUMN collections TEXT NOT NULL DEFAULT '[]'",
     "ALTER TABLE auth_keys ADD COLUMN collections TEXT NOT NULL DEFAULT '[]'"},
};

constexpr std::string_view kColumns =
    "id, name, team, hash, prefix, models, routes, providers, metadata, rpm, tpm, budget_usd, "
    "budget_period, created_ms, rotated_ms, revoked_ms, collections";

constexpr std::size_t kPrefixChars = 9;  // "sy-" + 6 hex digits

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

std::string randomHex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) std::abort();  // no entropy
  return hex(buf.data(), buf.size());
}

std::string toJson(const std::vector<std::string>& list) {
  boost::json::array a;
  for (const auto& s : list) a.emplace_back(s);
  return boost::json::serialize(a);
}

std::vector<std::string> fromJson(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& item : v.as_array()) {
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

KeyRecord fromRow(const store::Row& r) {
  KeyRecord k;
  k.id = r.text(0);
  k.spec.name = r.text(1);
  k.spec.team = r.text(2);
  k.hash = r.text(3);
  k.prefix = r.text(4);
  k.spec.models = fromJson(r.text(5));
  k.spec.routes = fromJson(r.text(6));
  k.spec.providers = fromJson(r.text(7));
  k.spec.metadata = r.text(8);
  k.spec.rpm = r.integer(9);
  k.spec.tpm = r.integer(10);
  k.spec.budget_usd = r.real(11);
  k.spec.budget_period = r.text(12);
  k.created_ms = r.integer(13);
  k.rotated_ms = r.integer(14);
  k.revoked_ms = r.integer(15);
  k.risk_tier = riskTierOf(k.spec.metadata);
  k.spec.collections = fromJson(r.text(16));
  return k;
}

}  // namespace

std::string hashKey(std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(secret.data(), secret.size(), digest, &n, EVP_sha256(), nullptr) != 1) {
    std::abort();  // SHA-256 is always available in OpenSSL
  }
  return hex(digest, n);
}

std::string newSecret() { return "sy-" + randomHex(24); }

std::string riskTierOf(std::string_view metadata) {
  boost::system::error_code ec;
  auto meta = boost::json::parse(metadata, ec);
  if (ec || !meta.is_object()) return {};
  const auto* tier = meta.get_object().if_contains("risk_tier");
  return tier != nullptr && tier->is_string() ? std::string(tier->get_string()) : std::string();
}

Status validateSpec(const KeySpec& spec) {
  auto bad = [](std::string field, std::string message) {
    return Status(ErrorCode::kInvalidArgument, field + ": " + message).withParam(field);
  };
  if (spec.name.empty() || spec.name.size() > 200) {
    return bad("name", "a key needs a name (1 to 200 characters)");
  }
  for (char c : spec.name + spec.team) {
    if (static_cast<unsigned char>(c) < 0x20) return bad("name", "control characters");
  }
  if (spec.budget_period != "day" && spec.budget_period != "month") {
    return bad("budget_period", "expected day or month, got '" + spec.budget_period + "'");
  }
  if (spec.rpm < 0) return bad("rpm", "must not be negative");
  if (spec.tpm < 0) return bad("tpm", "must not be negative");
  if (!(spec.budget_usd >= 0) || spec.budget_usd > 1e12) {
    return bad("budget_usd", "must be an amount of 0 or more");
  }
  boost::system::error_code ec;
  auto meta = boost::json::parse(spec.metadata, ec);
  if (ec || !meta.is_object()) return bad("metadata", "must be a JSON object");
  if (const auto* tier = meta.get_object().if_contains("risk_tier")) {
    const bool name = tier->is_string() && !tier->get_string().empty() &&
                      tier->get_string().size() <= 32 &&
                      std::all_of(tier->get_string().begin(), tier->get_string().end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                      });
    if (!name) {
      return bad("metadata", "risk_tier must be a short risk tier name such as low or high");
    }
  }
  for (const auto* list : {&spec.models, &spec.routes, &spec.providers, &spec.collections}) {
    for (const auto& s : *list) {
      if (s.empty()) return bad("scopes", "empty names are not allowed");
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<KeyStore>> KeyStore::open(store::Database& db) {
  if (Status s = store::migrate(db, "auth", kMigrations); !s.isOk()) return fail(std::move(s));
  return std::unique_ptr<KeyStore>(new KeyStore(db));
}

Result<IssuedKey> KeyStore::create(const KeySpec& spec) {
  if (Status s = validateSpec(spec); !s.isOk()) return fail(std::move(s));
  IssuedKey issued;
  issued.secret = newSecret();
  KeyRecord& k = issued.record;
  k.id = "key_" + randomHex(8);
  k.prefix = issued.secret.substr(0, kPrefixChars);
  k.hash = hashKey(issued.secret);
  k.spec = spec;
  k.risk_tier = riskTierOf(spec.metadata);
  k.created_ms = nowMs();
  const store::Value params[] = {k.id, spec.name, spec.team, k.hash, k.prefix,
                                 toJson(spec.models), toJson(spec.routes),
                                 toJson(spec.providers), spec.metadata, spec.rpm, spec.tpm,
                                 spec.budget_usd, spec.budget_period, k.created_ms,
                                 std::int64_t{0}, std::int64_t{0}, toJson(spec.collections)};
  Status s = db_.exec("INSERT INTO auth_keys (" + std::string(kColumns) +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      params);
  if (!s.isOk()) return fail(std::move(s));
  return issued;
}

Result<std::vector<KeyRecord>> KeyStore::list() {
  auto rows = db_.query("SELECT " + std::string(kColumns) +
                        " FROM auth_keys ORDER BY created_ms DESC, id");
  if (!rows) return fail(std::move(rows.error()));
  std::vector<KeyRecord> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(fromRow(r));
  return out;
}

Result<std::optional<KeyRecord>> KeyStore::get(std::string_view id) {
  const store::Value params[] = {std::string(id)};
  auto rows =
      db_.query("SELECT " + std::string(kColumns) + " FROM auth_keys WHERE id = ?", params);
  if (!rows) return fail(std::move(rows.error()));
  if (rows->empty()) return std::optional<KeyRecord>();
  return std::optional<KeyRecord>(fromRow(rows->front()));
}

Result<KeyRecord> KeyStore::revoke(std::string_view id) {
  const store::Value params[] = {nowMs(), std::string(id)};
  Status s = db_.exec("UPDATE auth_keys SET revoked_ms = ? WHERE id = ? AND revoked_ms = 0",
                      params);
  if (!s.isOk()) return fail(std::move(s));
  auto key = get(id);
  if (!key) return fail(std::move(key.error()));
  if (!*key) return fail(ErrorCode::kNotFound, "no key with id '" + std::string(id) + "'");
  return std::move(**key);
}

Result<IssuedKey> KeyStore::rotate(std::string_view id) {
  auto key = get(id);
  if (!key) return fail(std::move(key.error()));
  if (!*key) return fail(ErrorCode::kNotFound, "no key with id '" + std::string(id) + "'");
  if ((*key)->revoked()) {
    return fail(ErrorCode::kInvalidArgument,
                "key '" + std::string(id) + "' is revoked; create a new one instead");
  }
  IssuedKey issued;
  issued.secret = newSecret();
  issued.record = std::move(**key);
  issued.record.prefix = issued.secret.substr(0, kPrefixChars);
  issued.record.hash = hashKey(issued.secret);
  issued.record.rotated_ms = nowMs();
  const store::Value params[] = {issued.record.hash, issued.record.prefix,
                                 issued.record.rotated_ms, std::string(id)};
  Status s = db_.exec(
      "UPDATE auth_keys SET hash = ?, prefix = ?, rotated_ms = ? WHERE id = ? AND revoked_ms = 0",
      params);
  if (!s.isOk()) return fail(std::move(s));
  if (db_.changes() != 1) {
    return fail(ErrorCode::kInvalidArgument, "key '" + std::string(id) + "' was revoked meanwhile");
  }
  return issued;
}

}  // namespace switchyard::auth
