#include "switchyard/auth/key_cache.h"

#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"

namespace switchyard::auth {

Result<std::unique_ptr<KeyCache>> KeyCache::create(KeyStore& store,
                                                   std::chrono::milliseconds interval) {
  std::unique_ptr<KeyCache> cache(new KeyCache(store, interval));
  if (Status s = cache->reload(); !s.isOk()) return fail(std::move(s));
  if (interval.count() > 0) {
    cache->thread_ = std::thread([p = cache.get()] {
      setCurrentThreadName("sy-key-cache");
      p->run();
    });
  }
  return cache;
}

KeyCache::KeyCache(KeyStore& store, std::chrono::milliseconds interval)
    : store_(store), interval_(interval), snap_(std::make_shared<Snapshot>()) {}

KeyCache::~KeyCache() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void KeyCache::run() {
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, interval_, [&] { return stop_; })) {
    lock.unlock();
    if (Status s = reload(); !s.isOk()) {
      logEvent(spdlog::level::warn, "key_reload_failed", {{"error", s.message()}});
    }
    lock.lock();
  }
}

std::shared_ptr<const KeyCache::Snapshot> KeyCache::snapshot() const {
  std::lock_guard lock(mu_);
  return snap_;
}

void KeyCache::publish(std::shared_ptr<const Snapshot> snap) {
  std::lock_guard lock(mu_);
  snap_ = std::move(snap);
}

KeyPtr KeyCache::findBySecret(std::string_view secret) const {
  auto snap = snapshot();
  auto it = snap->by_hash.find(hashKey(secret));
  return it == snap->by_hash.end() ? nullptr : it->second;
}

KeyPtr KeyCache::findById(std::string_view id) const {
  auto snap = snapshot();
  auto it = snap->by_id.find(std::string(id));
  return it == snap->by_id.end() ? nullptr : it->second;
}

std::size_t KeyCache::size() const { return snapshot()->by_id.size(); }

Status KeyCache::reload() {
  std::lock_guard write(write_mu_);
  auto keys = store_.list();
  if (!keys) return std::move(keys.error());
  auto snap = std::make_shared<Snapshot>();
  for (auto& k : *keys) {
    auto ptr = std::make_shared<const KeyRecord>(std::move(k));
    snap->by_hash.emplace(ptr->hash, ptr);
    snap->by_id.emplace(ptr->id, ptr);
  }
  publish(std::move(snap));
  return Status::ok();
}

void KeyCache::upsert(const KeyRecord& record) {
  auto next = std::make_shared<Snapshot>(*snapshot());
  if (auto old = next->by_id.find(record.id); old != next->by_id.end()) {
    next->by_hash.erase(old->second->hash);
  }
  auto ptr = std::make_shared<const KeyRecord>(record);
  next->by_hash[ptr->hash] = ptr;
  next->by_id[ptr->id] = ptr;
  publish(std::move(next));
}

Result<IssuedKey> KeyCache::create(const KeySpec& spec) {
  std::lock_guard write(write_mu_);
  auto issued = store_.create(spec);
  if (issued) upsert(issued->record);
  return issued;
}

Result<KeyRecord> KeyCache::revoke(std::string_view id) {
  std::lock_guard write(write_mu_);
  auto record = store_.revoke(id);
  if (record) upsert(*record);
  return record;
}

Result<IssuedKey> KeyCache::rotate(std::string_view id) {
  std::lock_guard write(write_mu_);
  auto issued = store_.rotate(id);
  if (issued) upsert(issued->record);
  return issued;
}

}  // namespace switchyard::auth
