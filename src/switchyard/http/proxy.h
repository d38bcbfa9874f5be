#pragma once
// Outbound proxies for upstream connections, as HTTPS_PROXY, HTTP_PROXY and NO_PROXY set them
// for curl and most HTTP clients: an https:// upstream is reached through a CONNECT tunnel (TLS
// runs end to end, the proxy sees only the host name), an http:// upstream by sending the
// request in absolute form to the proxy. Loopback upstreams always go direct.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::http {

struct Origin;

struct ProxySettings {
  struct Proxy {
    std::string host;  // a name or an IP literal (IPv6 without brackets)
    std::uint16_t port = 0;
    std::string authorization;  // "Basic ..." from the URL's user:password, or ""
    std::string display;        // "http://host:port", for messages (never the password)
    bool operator==(const Proxy&) const = default;
  };
  std::optional<Proxy> https;  // for https:// upstreams
  std::optional<Proxy> http;   // for http:// upstreams
  // NO_PROXY: lower-case host names and domain suffixes (".example.com" or "example.com" match
  // the name and its subdomains), IP literals; "*" sends everything direct.
  std::vector<std::string> no_proxy;

  // `https` and `http` are proxy URLs as curl takes them: [http://][user:password@]host[:port][/]
  // (port 1080 when absent, as curl); empty means none. `no_proxy` is a comma-separated list.
  // Errors name the setting (`what_https`, `what_http`) at fault.
  static Result<ProxySettings> parse(std::string_view https, std::string_view http,
                                     std::string_view no_proxy,
                                     std::string_view what_https = "HTTPS_PROXY",
                                     std::string_view what_http = "HTTP_PROXY");

  // The proxy an upstream connection goes through, or null for a direct connection.
  const Proxy* forOrigin(const Origin& origin) const;
  bool empty() const { return !https && !http; }
  bool operator==(const ProxySettings&) const = default;
};

}  // namespace switchyard::http
