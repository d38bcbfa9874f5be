#include "switchyard/dashboard/sessions.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

#include "switchyard/core/check.h"

namespace switchyard::dashboard {
namespace {

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  SY_CHECK(EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) == 1);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

SessionStore::SessionStore(std::chrono::milliseconds ttl, std::size_t max_sessions)
    : ttl_(ttl), max_sessions_(std::max<std::size_t>(1, max_sessions)) {}

std::string SessionStore::create(Clock::time_point now) {
  unsigned char bytes[32];
  SY_CHECK(RAND_bytes(bytes, sizeof bytes) == 1);
  std::string token = hex(bytes, sizeof bytes);
  std::lock_guard lock(mu_);
  for (auto it = expiry_.begin(); it != expiry_.end();) {
    it = it->second <= now ? expiry_.erase(it) : std::next(it);
  }
  if (expiry_.size() >= max_sessions_) {
    auto oldest = std::min_element(expiry_.begin(), expiry_.end(), [](const auto& a, const auto& b) {
      return a.second < b.second;
    });
    expiry_.erase(oldest);
  }
  expiry_[sha256(token)] = now + ttl_;
  return token;
}

bool SessionStore::valid(std::string_view token, Clock::time_point now) {
  if (token.size() != 64) return false;
  const std::string key = sha256(token);
  std::lock_guard lock(mu_);
  auto it = expiry_.find(key);
  if (it == expiry_.end()) return false;
  if (it->second <= now) {
    expiry_.erase(it);
    return false;
  }
  return true;
}

void SessionStore::remove(std::string_view token) {
  const std::string key = sha256(token);
  std::lock_guard lock(mu_);
  expiry_.erase(key);
}

void SessionStore::setTtl(std::chrono::milliseconds ttl) {
  std::lock_guard lock(mu_);
  ttl_ = ttl;
}

std::chrono::milliseconds SessionStore::ttl() const {
  std::lock_guard lock(mu_);
  return ttl_;
}

std::size_t SessionStore::size() const {
  std::lock_guard lock(mu_);
  return expiry_.size();
}

std::string_view cookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return {};
}

}  // namespace switchyard::dashboard
