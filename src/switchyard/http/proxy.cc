#include "switchyard/http/proxy.h"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/url/parse.hpp>
#include <cctype>

#include "switchyard/core/strings.h"
#include "switchyard/http/client.h"

namespace switchyard::http {
namespace {

namespace asio = boost::asio;

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::optional<ProxySettings::Proxy>> parseProxy(std::string_view text,
                                                       std::string_view what) {
  text = trimSpace(text);
  if (text.empty()) return std::optional<ProxySettings::Proxy>();
  std::string url(text);
  if (url.find("://") == std::string::npos) url = "http://" + url;  // as curl reads "host:port"
  const std::string where = std::string(what) + ": ";
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return fail(ErrorCode::kInvalidArgument, where +
                                                 "not a proxy URL (expected "
                                                 "http://[user:password@]host[:port])");
  }
  const boost::urls::url_view& u = *parsed;
  const std::string scheme = asciiLower(u.scheme());
  if (scheme != "http") {
    return fail(ErrorCode::kInvalidArgument,
                where + "proxy scheme '" + scheme +
                    "' is not supported (an http:// proxy, which tunnels https:// upstreams "
                    "with CONNECT, is)");
  }
  if ((!u.path().empty() && u.path() != "/") || u.has_query() || u.has_fragment()) {
    return fail(
        ErrorCode::kInvalidArgument,
        where + "a proxy URL has no path, query or fragment (got '" + std::string(text) + "')");
  }
  ProxySettings::Proxy p;
  p.host = asciiLower(u.host_address());
  if (p.host.size() >= 2 && p.host.front() == '[' && p.host.back() == ']') {
    p.host = p.host.substr(1, p.host.size() - 2);
  }
  if (p.host.empty()) return fail(ErrorCode::kInvalidArgument, where + "the proxy URL has no host");
  if (u.has_port()) {
    if (u.port_number() == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  where + "invalid proxy port '" + std::string(u.port()) + "'");
    }
    p.port = u.port_number();
  } else {
    p.port = 1080;  // curl's default for a proxy without a port
  }
  if (u.has_userinfo()) {
    p.authorization = "Basic " + base64(std::string(u.user()) + ":" + std::string(u.password()));
  }
  const bool v6 = p.host.find(':') != std::string::npos;
  p.display = "http://" + (v6 ? "[" + p.host + "]" : p.host) + ":" + std::to_string(p.port);
  return std::optional<ProxySettings::Proxy>(std::move(p));
}

bool isLoopback(const std::string& host) {
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

// Whether NO_PROXY entry `entry` covers `host` (both lower case, IPv6 without brackets).
bool covers(std::string_view entry, std::string_view host) {
  if (entry == "*") return true;
  if (entry.find('/') != std::string_view::npos) {  // a CIDR block
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return false;
    if (address.is_v4()) {
      const auto net = asio::ip::make_network_v4(entry, ec);
      return !ec && asio::ip::network_v4(address.to_v4(), net.prefix_length()).canonical() ==
                        net.canonical();
    }
    const auto net = asio::ip::make_network_v6(entry, ec);
    return !ec && asio::ip::network_v6(address.to_v6(), net.prefix_length()).canonical() ==
                      net.canonical();
  }
  if (entry.starts_with('.')) entry.remove_prefix(1);
  if (host == entry) return true;
  return host.size() > entry.size() && host.ends_with(entry) &&
         host[host.size() - entry.size() - 1] == '.';
}

}  // namespace

Result<ProxySettings> ProxySettings::parse(std::string_view https, std::string_view http,
                                           std::string_view no_proxy, std::string_view what_https,
                                           std::string_view what_http) {
  ProxySettings out;
  auto s = parseProxy(https, what_https);
  if (!s) return fail(std::move(s.error()));
  out.https = std::move(*s);
  auto h = parseProxy(http, what_http);
  if (!h) return fail(std::move(h.error()));
  out.http = std::move(*h);
  std::string_view rest = no_proxy;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string entry = asciiLower(trimSpace(rest.substr(0, comma)));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry.starts_with('[')) {  // [v6] or [v6]:port
      const std::size_t close = entry.find(']');
      entry = close == std::string::npos ? entry.substr(1) : entry.substr(1, close - 1);
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      entry = entry.substr(0, entry.find(':'));  // host:port: the port is not matched
    }
    out.no_proxy.push_back(std::move(entry));
  }
  return out;
}

const ProxySettings::Proxy* ProxySettings::forOrigin(const Origin& origin) const {
  const std::optional<Proxy>& proxy = origin.tls ? https : http;
  if (!proxy) return nullptr;
  const std::string host = asciiLower(origin.host);
  if (isLoopback(host)) return nullptr;
  for (const std::string& entry : no_proxy) {
    if (covers(entry, host)) return nullptr;
  }
  return &*proxy;
}

}  // namespace switchyard::http
