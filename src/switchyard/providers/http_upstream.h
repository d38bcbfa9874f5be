#pragma once
// HttpUpstream: what the HTTP providers share: the upstream's origin, the headers every call
// carries, and the configured timeouts clamped to a call's deadline. Each provider keeps its
// own paths, auth headers and wire codec. Immutable after construction: thread-safe.

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/http/client.h"
#include "switchyard/providers/provider.h"

namespace switchyard::providers {

// Maps an upstream's non-2xx response to the Status the provider reports.
using UpstreamErrorDecoder = Status (*)(unsigned http_status, std::string_view body,
                                        std::string_view retry_after);

class HttpUpstream {
 public:
  // Parses config.base_url, naming the provider in the error.
  static Result<http::Origin> parseOrigin(const config::ProviderConfig& config);

  // `headers` (auth, provider defaults) go first, then config.headers.
  HttpUpstream(http::Origin origin, std::vector<http::Header> headers,
               const config::ProviderConfig& config);

  http::ClientRequest makeRequest(std::string_view path, std::string body, bool stream) const;
  // The configured timeouts, none longer than what is left before ctx.deadline (if set).
  http::Timeouts timeoutsFor(const CallContext& ctx) const;

  // POSTs a JSON body and returns the 2xx response body; other statuses go through
  // `decode_error`.
  boost::asio::awaitable<Result<std::string>> postJson(std::string_view path, std::string body,
                                                       CallContext& ctx,
                                                       UpstreamErrorDecoder decode_error) const;

  // POSTs a JSON body asking for an event stream and returns it once a 2xx status arrived;
  // otherwise reads (a bounded part of) the error body and returns `decode_error`'s Status.
  boost::asio::awaitable<Result<std::unique_ptr<http::ResponseStream>>> openStream(
      std::string_view path, std::string body, CallContext& ctx,
      UpstreamErrorDecoder decode_error) const;

 private:
  http::Origin origin_;
  std::vector<http::Header> headers_;  // built once
  http::Timeouts timeouts_;
};

}  // namespace switchyard::providers
