#pragma once
// SessionStore: dashboard login sessions. A login with the admin key gets a random 256-bit
// token (sent as an HttpOnly, SameSite=Strict cookie) that stays valid for the configured
// lifetime. Only the token's SHA-256 is kept, so a memory dump shows no usable token and lookups
// by hash do not leak timing about the token. In memory only: a restart logs everyone out.
//
// Thread-safety: all methods may be called from any thread (one mutex, held for a map lookup).

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace switchyard::dashboard {

class SessionStore {
 public:
  using Clock = std::chrono::system_clock;

  explicit SessionStore(std::chrono::milliseconds ttl, std::size_t max_sessions = 1024);

  // A new session valid until now + ttl; returns its token (64 hex characters). The oldest
  // session goes when max_sessions are open.
  std::string create(Clock::time_point now = Clock::now());
  // Whether `token` names a live session (expired ones are forgotten on the way).
  bool valid(std::string_view token, Clock::time_point now = Clock::now());
  void remove(std::string_view token);

  void setTtl(std::chrono::milliseconds ttl);
  std::chrono::milliseconds ttl() const;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::chrono::milliseconds ttl_;
  std::size_t max_sessions_;
  std::map<std::string, Clock::time_point, std::less<>> expiry_;  // SHA-256(token) -> expiry
};

// The value of cookie `name` in a Cookie header ("a=1; sy_session=abc"); "" when absent.
std::string_view cookieValue(std::string_view header, std::string_view name);

}  // namespace switchyard::dashboard
