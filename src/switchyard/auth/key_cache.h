#pragma once
// KeyCache: the in-memory view of the virtual keys that the auth stage reads on every request
// (no store access on I/O threads). It re-reads the store every reload_interval on its own
// thread (keys created or revoked by `switchyard keys` in another process), and the admin API
// changes keys through it, so a key revoked there is refused by the very next request.
//
// Thread-safety: every method may be called from any thread. Lookups copy one shared_ptr under
// a short lock; mutations and reloads are serialized so a reload cannot resurrect a key that
// was revoked while it read the store.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "switchyard/auth/key_store.h"

namespace switchyard::auth {

using KeyPtr = std::shared_ptr<const KeyRecord>;

class KeyCache {
 public:
  // Loads every key once (blocking), then reloads every `interval` (0: never) on a thread.
  static Result<std::unique_ptr<KeyCache>> create(KeyStore& store,
                                                  std::chrono::milliseconds interval);
  ~KeyCache();
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  KeyPtr findBySecret(std::string_view secret) const;  // hashes, then looks up
  KeyPtr findById(std::string_view id) const;
  std::size_t size() const;

  // Store mutations that are visible to lookups as soon as they return (blocking: call off the
  // I/O threads).
  Result<IssuedKey> create(const KeySpec& spec);
  Result<KeyRecord> revoke(std::string_view id);
  Result<IssuedKey> rotate(std::string_view id);
  Status reload();

  KeyStore& store() { return store_; }

 private:
  struct Snapshot {
    std::unordered_map<std::string, KeyPtr> by_hash;
    std::unordered_map<std::string, KeyPtr> by_id;
  };
  KeyCache(KeyStore& store, std::chrono::milliseconds interval);
  std::shared_ptr<const Snapshot> snapshot() const;
  void publish(std::shared_ptr<const Snapshot> snap);
  // Copy of the current snapshot with `record` put in place of its old version.
  void upsert(const KeyRecord& record);
  void run();

  KeyStore& store_;
  const std::chrono::milliseconds interval_;
  std::mutex write_mu_;  // serializes store mutations and reloads
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snap_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace switchyard::auth
