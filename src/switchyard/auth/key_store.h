#pragma once
// Virtual keys: what a client presents instead of a provider's key. A key is shown once, when it
// is created or rotated; the store keeps only its SHA-256 (hex) and a short public prefix for
// recognition. KeyStore reads and writes keys in the Database (component "auth"); its calls
// block on the store, so call them from the CLI, the admin API's worker thread or the key
// cache's reload thread, never from an I/O thread. Thread-safe (the Database serializes).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/store/database.h"

namespace switchyard::auth {

// What a key may do and spend. Empty lists allow everything; 0 limits are unlimited.
struct KeySpec {
  std::string name;
  std::string team;
  std::vector<std::string> models;     // model names or aliases; "prefix*" matches a prefix
  std::vector<std::string> routes;     // route names
  std::vector<std::string> providers;  // providers, for "provider/model" and their own models
  // RAG collections it may read and write (rag/access.h); empty: every collection that is not
  // private ("*"). A private collection must be named (or matched by a "prefix*").
  std::vector<std::string> collections;
  std::string metadata = "{}";         // a JSON object, stored as given
  std::int64_t rpm = 0;
  std::int64_t tpm = 0;
  double budget_usd = 0;
  std::string budget_period = "month";  // day | month
};

struct KeyRecord {
  std::string id;      // "key_" + 16 hex digits; stable across rotation
  std::string prefix;  // the first characters of the secret, e.g. "sy-3fa9c1"
  std::string hash;    // SHA-256 of the secret, hex
  KeySpec spec;
  std::int64_t created_ms = 0;
  std::int64_t rotated_ms = 0;  // 0: never
  std::int64_t revoked_ms = 0;  // 0: active
  // From the metadata's "risk_tier" (read once, when the key is loaded): the routing risk tier
  // of this key's requests unless they send x-switchyard-risk. Empty: the risk rules decide.
  std::string risk_tier;

  bool revoked() const { return revoked_ms != 0; }
};

// A key as created or rotated: the secret is here and nowhere else.
struct IssuedKey {
  KeyRecord record;
  std::string secret;
};

// SHA-256 of `secret`, 64 lower-case hex digits.
std::string hashKey(std::string_view secret);
// A new secret: "sy-" + 48 hex digits from OpenSSL's CSPRNG.
std::string newSecret();
// Checks a spec (name, period, limits, metadata is a JSON object whose "risk_tier", if any, is a
// tier name); the message names the field.
Status validateSpec(const KeySpec& spec);
// The "risk_tier" string of a metadata JSON object; "" when absent or not a string.
std::string riskTierOf(std::string_view metadata);

class KeyStore {
 public:
  // Applies the "auth" migrations. `db` must outlive the store.
  static Result<std::unique_ptr<KeyStore>> open(store::Database& db);

  Result<IssuedKey> create(const KeySpec& spec);
  Result<std::vector<KeyRecord>> list();  // newest first, revoked included
  Result<std::optional<KeyRecord>> get(std::string_view id);
  // Revokes at once (idempotent). kNotFound for an unknown id.
  Result<KeyRecord> revoke(std::string_view id);
  // A new secret for the same key (id, scopes, limits and spend stay); the old one stops working.
  Result<IssuedKey> rotate(std::string_view id);

 private:
  explicit KeyStore(store::Database& db) : db_(db) {}
  store::Database& db_;
};

using KeyStorePtr = std::unique_ptr<KeyStore>;

}  // namespace switchyard::auth
