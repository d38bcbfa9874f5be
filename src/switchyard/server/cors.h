#pragma once
// Cross-origin requests from browsers (CORS): which page origins may call the API, and the
// headers that say so. Configured by `server.cors_origins`; the default, like Ollama's, admits
// pages served from this machine (localhost, 127.0.0.1, [::1], any port) and no others, since a
// gateway holding provider keys must not be spendable by any web page its user opens.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::server {

class CorsPolicy {
 public:
  // Entries: "*" (any origin), "scheme://host" or "scheme://host:port" (exact), or
  // "scheme://host:*" (that host on any port, or none), as the config loader checked them.
  explicit CorsPolicy(const std::vector<std::string>& origins);

  bool enabled() const { return any_ || !entries_.empty(); }
  // The Access-Control-Allow-Origin value for a request from `origin` ("*" when every origin
  // is allowed), or nullopt when that origin is not allowed.
  std::optional<std::string> allow(std::string_view origin) const;

 private:
  struct Entry {
    std::string base;  // "scheme://host" or "scheme://host:port" (compared ignoring case)
    bool any_port = false;
  };
  bool any_ = false;
  std::vector<Entry> entries_;
};

}  // namespace switchyard::server
