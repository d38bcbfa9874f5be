#pragma once
// HTTP/1.1 client for upstream calls: Beast over TCP or TLS (OpenSSL, system CA store, SNI,
// peer verification on), a keep-alive connection pool per upstream origin, and connect /
// first-byte / idle timeouts. Responses can be read whole or streamed chunk by chunk.
//
// Thread-safety: one HttpClient per io_context (per worker thread); not thread-safe. Everything
// it does runs on that io_context, so the pool needs no locks.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/http/proxy.h"

namespace switchyard::http {

// Where an upstream lives. Made once per provider from its base_url, not per request.
struct Origin {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string base_path;  // "/v1" for https://api.openai.com/v1, never ending in '/'

  // "https://api.openai.com/v1" -> {tls, "api.openai.com", 443, "/v1"}. Rejects other schemes,
  // query strings and fragments with a message naming the URL.
  static Result<Origin> parse(std::string_view url);
  std::string key() const;  // "https://host:port": identifies the pool

  // key(), as parse() leaves it, so that a request does not build it again; an origin put
  // together field by field may leave it empty (each request then builds the key).
  std::string pool_key;
};

struct Timeouts {
  std::chrono::milliseconds connect{10'000};     // TCP connect + TLS handshake
  std::chrono::milliseconds first_byte{120'000}; // request sent -> response headers
  std::chrono::milliseconds idle{120'000};       // longest gap between body reads
};

using Header = std::pair<std::string, std::string>;

struct ClientRequest {
  boost::beast::http::verb method = boost::beast::http::verb::post;
  std::string target;  // path + query, already including the origin's base_path
  std::vector<Header> headers;
  std::string body;    // sent with Content-Type from headers (default application/json)
};

struct ClientResponse {
  unsigned status = 0;
  std::vector<Header> headers;  // names lower-cased
  std::string body;

  // First value of header `name` (lower-case), or "" when absent.
  std::string_view header(std::string_view name) const;
};

// A response whose body is read incrementally. Destroying it before the body ended closes the
// connection (it cannot go back to the pool), which also cancels the upstream request.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual unsigned status() const = 0;
  virtual std::string_view header(std::string_view name) const = 0;  // lower-case name
  // Next piece of the decoded body (chunked framing removed). An empty string means the body
  // ended. Errors: kDeadlineExceeded on idle timeout, kUpstream on reset or malformed framing.
  virtual boost::asio::awaitable<Result<std::string>> read() = 0;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends `request` and reads the whole response. Any HTTP status is a success here; transport
  // failures are errors: kUnavailable (connect refused / DNS), kDeadlineExceeded (timeouts),
  // kUpstream (reset, malformed response).
  virtual boost::asio::awaitable<Result<ClientResponse>> send(const Origin& origin,
                                                              ClientRequest request,
                                                              const Timeouts& timeouts) = 0;

  // Sends `request` and returns once the response headers arrived.
  virtual boost::asio::awaitable<Result<std::unique_ptr<ResponseStream>>> stream(
      const Origin& origin, ClientRequest request, const Timeouts& timeouts) = 0;
};

struct ClientOptions {
  std::size_t max_idle_per_origin = 64;               // pooled keep-alive connections
  std::chrono::milliseconds pool_idle_timeout{60'000}; // pooled connections older than this close
  // A pooled connection idle at least this long is probed before reuse (a non-blocking peek:
  // did the server close it, or send a 408 before closing?). One reused sooner is trusted, as
  // servers close idle connections after seconds, not milliseconds: that saves a system call
  // per request under load, and a connection that died anyway is retried once on a fresh one.
  std::chrono::milliseconds pool_probe_after{100};
  std::size_t max_response_bytes = 64 * 1024 * 1024;  // non-streaming bodies
  bool verify_peer = true;                            // TLS certificate verification
  std::string ca_file;                                // extra CA bundle (tests); "" = system store
  // Outbound proxies (HTTPS_PROXY, HTTP_PROXY, NO_PROXY; proxy.h); null or empty: direct.
  std::shared_ptr<const ProxySettings> proxy;
};

// The real client. `executor` must be the io_context executor the client will be used on.
std::unique_ptr<HttpClient> makeHttpClient(boost::asio::any_io_executor executor,
                                           const ClientOptions& options = {});

}  // namespace switchyard::http
