#include "switchyard/http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <unordered_map>

#include "switchyard/core/version.h"
#include "switchyard/http/deadline.h"

namespace switchyard::http {

using namespace std::string_view_literals;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
constexpr auto kSweepInterval = std::chrono::seconds(1);
constexpr std::size_t kReadSize = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Origin helpers

bool isIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

void appendHost(std::string& out, const Origin& origin) {
  if (origin.host.find(':') != std::string::npos) {  // IPv6 literal
    out += '[';
    out += origin.host;
    out += ']';
  } else {
    out += origin.host;
  }
}

void appendNumber(std::string& out, std::uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;
  out.append(buf, end);
}

void appendKey(std::string& out, const Origin& origin) {
  out += origin.tls ? "https://"sv : "http://"sv;
  appendHost(out, origin);
  out += ':';
  appendNumber(out, origin.port);
}

// ---------------------------------------------------------------------------------------------
// The response parser: keeps the status and the header fields (names lower-cased) as the
// caller wants them, with no Beast field container in between, and appends the body to
// whatever string `out` points at, so a streamed read hands out exactly the bytes that
// arrived, with no staging copy. A body that arrives while `out` is null waits in the buffer.

class Parser final : public bhttp::basic_parser<false> {
 public:
  std::string* out = nullptr;
  std::uint64_t reserve_limit = 0;  // reserve up to this much of `out` from Content-Length

  unsigned status() const { return status_; }
  const std::vector<Header>& headers() const { return headers_; }
  std::vector<Header> takeHeaders() { return std::move(headers_); }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override {
    status_ = static_cast<unsigned>(code);
    headers_.reserve(12);  // typical responses carry 5-12 fields
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    Header& h = headers_.emplace_back();
    h.first.resize(name.size());
    for (std::size_t i = 0; i < name.size(); ++i) {  // ASCII, no locale
      const char c = name[i];
      h.first[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    h.second.assign(value.data(), value.size());
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code&) override {
    if (length && out != nullptr && *length <= reserve_limit) {
      out->reserve(static_cast<std::size_t>(*length));
    }
  }
  std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override {
    return take(std::string_view(body.data(), body.size()), ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code& ec) override {
    return take(std::string_view(body.data(), body.size()), ec);
  }
  void on_finish_impl(beast::error_code&) override {}

  std::size_t take(std::string_view body, beast::error_code& ec) {
    if (out == nullptr) {
      ec = bhttp::error::need_buffer;
      return 0;
    }
    out->append(body);
    return body.size();
  }

  unsigned status_ = 0;
  std::vector<Header> headers_;
};

// ---------------------------------------------------------------------------------------------
// One upstream connection: plain TCP or TLS over TCP, plus the buffers it reuses per request.

class Connection {
 public:
  Connection(const asio::any_io_executor& executor, std::string key)
      : key_(std::move(key)), plain_(std::in_place, executor) {
    deadline_ = std::make_shared<Deadline>(executor, tcp().socket());
  }
  Connection(const asio::any_io_executor& executor, ssl::context& tls, std::string key)
      : key_(std::move(key)), tls_(std::in_place, executor, tls) {
    deadline_ = std::make_shared<Deadline>(executor, tcp().socket());
  }
  ~Connection() { deadline_->stop(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  beast::ssl_stream<beast::tcp_stream>* tls() { return tls_ ? &*tls_ : nullptr; }
  // The deadline of writes and reads once connected (tcp_stream's own timeout covers only the
  // connect and the TLS handshake): moved on every request and read without a timer update.
  Deadline& deadline() { return *deadline_; }
  // An operation's error, with a cancellation by the deadline reported as the timeout it is.
  boost::system::error_code timedOut(boost::system::error_code ec) const {
    if (ec == asio::error::operation_aborted && deadline_->expired()) return beast::error::timeout;
    return ec;
  }

  // Calls `f` with the concrete stream; both calls must return the same type (an awaitable).
  template <class F>
  auto visit(F&& f) {
    return tls_ ? f(*tls_) : f(*plain_);
  }

  const std::string& key() const { return key_; }
  // "host:port", for error messages.
  std::string_view where() const {
    std::string_view k = key_;
    return k.substr(k.find("://") + 3);
  }

  // False when the peer closed an idle connection (or, for plain HTTP, sent unsolicited bytes).
  bool looksAlive() {
    auto& socket = tcp().socket();
    if (!socket.is_open()) return false;
    char c;
    const ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0) return false;
    return tls_.has_value();  // TLS: could be a session ticket or key update; let TLS decide
  }

  beast::flat_buffer buffer;
  std::string head;  // the request head, rebuilt in place for every request
  Clock::time_point idle_since;
  // Plain HTTP through a proxy: requests go in absolute form, with the proxy's credentials.
  const ProxySettings::Proxy* http_proxy = nullptr;

 private:
  std::string key_;  // Origin key: "https://host:port"
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::shared_ptr<Deadline> deadline_;
};

using ConnectionPtr = std::unique_ptr<Connection>;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// ---------------------------------------------------------------------------------------------
// Idle keep-alive connections per origin, plus the TLS context they share. Held by shared_ptr
// so that a ResponseStream outliving its client can still finish (it then just closes).

class Pool {
 public:
  Pool(asio::any_io_executor executor, const ClientOptions& options)
      : executor_(std::move(executor)), options_(options) {}

  const asio::any_io_executor& executor() const { return executor_; }
  const ClientOptions& options() const { return options_; }

  // A pooled connection for `key` (most recently used first), or null.
  ConnectionPtr acquire(std::string_view key) {
    const auto now = Clock::now();
    maybeSweep(now);
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    while (!list.empty()) {
      ConnectionPtr conn = std::move(list.back());
      list.pop_back();
      if (now - conn->idle_since >= options_.pool_idle_timeout) {
        list.clear();  // the rest are older still
        break;
      }
      if (now - conn->idle_since < options_.pool_probe_after || conn->looksAlive()) return conn;
    }
    return nullptr;
  }

  void release(ConnectionPtr conn) {
    // Bytes beyond the response mean the framing went wrong somewhere: do not reuse.
    if (options_.max_idle_per_origin == 0 || conn->buffer.size() != 0) return;
    const auto now = Clock::now();
    conn->deadline().expiresNever();
    conn->idle_since = now;
    auto it = idle_.find(std::string_view(conn->key()));
    if (it == idle_.end()) it = idle_.try_emplace(conn->key()).first;
    auto& list = it->second;
    if (list.size() >= options_.max_idle_per_origin) list.pop_front();
    list.push_back(std::move(conn));
    maybeSweep(now);
  }

  Result<ssl::context*> tlsContext() {
    if (tls_) return &*tls_;
    if (!tls_error_.isOk()) return fail(tls_error_);
    try {
      ssl::context ctx(ssl::context::tls_client);
      SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
      boost::system::error_code ec;
      ctx.set_default_verify_paths(ec);
      if (ec) {
        tls_error_ =
            Status(ErrorCode::kInternal, "cannot load the system CA store: " + ec.message());
        return fail(tls_error_);
      }
      if (!options_.ca_file.empty()) {
        ctx.load_verify_file(options_.ca_file, ec);
        if (ec) {
          tls_error_ = Status(ErrorCode::kInternal,
                              "cannot load CA file '" + options_.ca_file + "': " + ec.message());
          return fail(tls_error_);
        }
      }
      ctx.set_verify_mode(options_.verify_peer ? ssl::verify_peer : ssl::verify_none);
      tls_.emplace(std::move(ctx));
    } catch (const std::exception& e) {
      tls_error_ = Status(ErrorCode::kInternal, std::string("cannot set up TLS: ") + e.what());
      return fail(tls_error_);
    }
    return &*tls_;
  }

 private:
  // Closes connections idle for longer than pool_idle_timeout. Lazy (on acquire/release, at most
  // once a second) so that no timer keeps the io_context busy.
  void maybeSweep(Clock::time_point now) {
    if (now < next_sweep_) return;
    next_sweep_ = now + kSweepInterval;
    for (auto& [key, list] : idle_) {
      while (!list.empty() && now - list.front()->idle_since >= options_.pool_idle_timeout) {
        list.pop_front();
      }
    }
  }

  asio::any_io_executor executor_;
  ClientOptions options_;
  std::unordered_map<std::string, std::deque<ConnectionPtr>, StringHash, std::equal_to<>> idle_;
  Clock::time_point next_sweep_{};
  std::optional<ssl::context> tls_;
  Status tls_error_;
};

// ---------------------------------------------------------------------------------------------
// Errors

enum class Stage { kResolve, kConnect, kHandshake, kWrite, kReadHeader, kReadBody };

bool isTimeout(const boost::system::error_code& ec) { return ec == beast::error::timeout; }

std::string millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

Status transportError(Stage stage, const boost::system::error_code& ec, std::string_view where,
                      std::chrono::milliseconds timeout, std::uint64_t body_limit = 0) {
  std::string w(where);
  if (ec == asio::error::operation_aborted) {
    return Status(ErrorCode::kCancelled, "request to " + w + " was cancelled");
  }
  switch (stage) {
    case Stage::kResolve:
      if (isTimeout(ec)) {
        return Status(ErrorCode::kDeadlineExceeded,
                      "resolving " + w + " timed out after " + millis(timeout));
      }
      return Status(ErrorCode::kUnavailable, "cannot resolve " + w + ": " + ec.message());
    case Stage::kConnect:
      if (isTimeout(ec)) {
        return Status(ErrorCode::kDeadlineExceeded,
                      "connecting to " + w + " timed out after " + millis(timeout));
      }
      return Status(ErrorCode::kUnavailable, "cannot connect to " + w + ": " + ec.message());
    case Stage::kHandshake:
      if (isTimeout(ec)) {
        return Status(ErrorCode::kDeadlineExceeded,
                      "TLS handshake with " + w + " timed out after " + millis(timeout));
      }
      return Status(ErrorCode::kUnavailable,
                    "TLS handshake with " + w + " failed: " + ec.message());
    case Stage::kWrite:
    case Stage::kReadHeader:
      if (isTimeout(ec)) {
        return Status(ErrorCode::kDeadlineExceeded,
                      "no response from " + w + " within " + millis(timeout));
      }
      break;
    case Stage::kReadBody:
      if (isTimeout(ec)) {
        return Status(ErrorCode::kDeadlineExceeded,
                      w + " sent nothing for " + millis(timeout) + " in the middle of a response");
      }
      break;
  }
  if (ec == bhttp::error::body_limit) {
    return Status(ErrorCode::kUpstream, "response from " + w + " is larger than the limit of " +
                                            std::to_string(body_limit) + " bytes");
  }
  if (ec == bhttp::error::end_of_stream) {
    return Status(ErrorCode::kUpstream, w + " closed the connection without a response");
  }
  if (ec == bhttp::error::partial_message || ec == asio::error::eof ||
      ec == ssl::error::stream_truncated) {
    return Status(ErrorCode::kUpstream, w + " closed the connection in the middle of a response");
  }
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    return Status(ErrorCode::kUpstream, "connection to " + w + " was reset");
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category()) {
    return Status(ErrorCode::kUpstream, "malformed response from " + w + ": " + ec.message());
  }
  const char* what = stage == Stage::kWrite ? "sending to " : "reading from ";
  return Status(ErrorCode::kUpstream, what + w + " failed: " + ec.message());
}

// CONNECT to `origin` through `proxy` on a socket connected to the proxy (RFC 9110 9.3.6):
// after a 2xx the socket is a tunnel to the origin, and TLS starts on it. Runs under the
// stream's connect deadline; errors name the proxy.
asio::awaitable<Status> openTunnel(beast::tcp_stream& tcp, const Origin& origin,
                                   const ProxySettings::Proxy& proxy,
                                   std::chrono::milliseconds timeout) {
  std::string authority;
  appendHost(authority, origin);
  authority += ':';
  appendNumber(authority, origin.port);
  std::string head = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!proxy.authorization.empty()) head += "Proxy-Authorization: " + proxy.authorization + "\r\n";
  head += "\r\n";
  const std::string where = "proxy " + proxy.display;
  auto [wec, written] = co_await asio::async_write(tcp, asio::buffer(head), kUseTuple);
  (void)written;
  if (wec) co_return transportError(Stage::kConnect, wec, where, timeout);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.skip(true);  // a 2xx to CONNECT has no body; the tunnel follows the header
  auto [rec, read] = co_await bhttp::async_read_header(tcp, buffer, parser, kUseTuple);
  (void)read;
  if (rec) co_return transportError(Stage::kConnect, rec, where, timeout);
  const unsigned status = parser.get().result_int();
  if (status / 100 != 2) {
    co_return Status(ErrorCode::kUnavailable, where + " refused the tunnel to " + authority + ": " +
                                                  std::to_string(status) + " " +
                                                  std::string(parser.get().reason()));
  }
  if (buffer.size() != 0) {  // the origin speaks only after our TLS ClientHello
    co_return Status(ErrorCode::kUnavailable,
                     where + " sent data into the tunnel to " + authority + " before TLS");
  }
  co_return Status::ok();
}

// A reused connection that the peer had closed shows it on the first write, as an empty read
// of the response, or as a 408 (a server that timed the idle connection out may say so before
// closing). Only then is the request known not to have been read, so it may be sent again on a
// fresh connection.
bool deadPooledConnection(Stage stage, const boost::system::error_code& ec, const Parser& parser,
                          const Connection& conn) {
  if (!ec) return parser.status() == 408;
  if (isTimeout(ec) || ec == asio::error::operation_aborted) return false;
  if (stage == Stage::kWrite) return true;
  if (parser.got_some() || conn.buffer.size() != 0) return false;
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

// ---------------------------------------------------------------------------------------------
// Requests

bool hasControlChars(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

Status validate(const ClientRequest& request) {
  if (hasControlChars(request.target) || request.target.find(' ') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "invalid request target '" + request.target + "'");
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || hasControlChars(name) || name.find(':') != std::string::npos ||
        name.find(' ') != std::string::npos || hasControlChars(value)) {
      return Status(ErrorCode::kInvalidArgument, "invalid request header '" + name + "'");
    }
  }
  return Status::ok();
}

bool methodCarriesBody(bhttp::verb method) {
  return method == bhttp::verb::post || method == bhttp::verb::put || method == bhttp::verb::patch;
}

// Writes the request line and headers into `head` (reusing its capacity).
void buildHead(const Origin& origin, const ClientRequest& request,
               const ProxySettings::Proxy* http_proxy, std::string& head) {
  head.clear();
  head += bhttp::to_string(request.method);
  head += ' ';
  if (http_proxy != nullptr) {  // absolute form (RFC 9112 3.2.2)
    head += "http://"sv;
    appendHost(head, origin);
    head += ':';
    appendNumber(head, origin.port);
  }
  if (request.target.empty()) {
    head += '/';
  } else {
    head += request.target;
  }
  head += " HTTP/1.1\r\nHost: "sv;
  appendHost(head, origin);
  if (origin.port != (origin.tls ? 443 : 80)) {
    head += ':';
    appendNumber(head, origin.port);
  }
  head += "\r\n"sv;
  if (http_proxy != nullptr && !http_proxy->authorization.empty()) {
    head += "Proxy-Authorization: "sv;
    head += http_proxy->authorization;
    head += "\r\n"sv;
  }
  bool has_user_agent = false;
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    // Framing and connection management are ours; we cannot decode compressed bodies.
    if (beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
        beast::iequals(name, "transfer-encoding") || beast::iequals(name, "connection") ||
        beast::iequals(name, "accept-encoding") || beast::iequals(name, "keep-alive") ||
        beast::iequals(name, "te") || beast::iequals(name, "upgrade")) {
      continue;
    }
    has_user_agent = has_user_agent || beast::iequals(name, "user-agent");
    has_content_type = has_content_type || beast::iequals(name, "content-type");
    head += name;
    head += ": "sv;
    head += value;
    head += "\r\n"sv;
  }
  if (!has_user_agent) {
    head += "User-Agent: switchyard/"sv;
    head += kVersion;
    head += "\r\n"sv;
  }
  head += "Accept-Encoding: identity\r\n"sv;
  if (!request.body.empty() || methodCarriesBody(request.method)) {
    if (!has_content_type && !request.body.empty()) head += "Content-Type: application/json\r\n"sv;
    head += "Content-Length: "sv;
    appendNumber(head, request.body.size());
    head += "\r\n"sv;
  }
  head += "\r\n"sv;
}

void setupParser(Parser& parser, bhttp::verb method, std::string* body_out,
                 std::uint64_t body_limit) {
  parser.header_limit(kHeaderLimit);
  if (body_limit > 0) {
    parser.body_limit(body_limit);
  } else {
    parser.body_limit(boost::none);
  }
  if (method == bhttp::verb::head) parser.skip(true);
  parser.out = body_out;
  parser.reserve_limit = body_limit;
}

// Feeds the parser what the connection has buffered. Partial input is not an error (the next
// fill() brings more); malformed framing and the body limit are.
beast::error_code parseBuffered(Connection& conn, Parser& parser) {
  while (conn.buffer.size() > 0 && !parser.is_done()) {
    beast::error_code ec;
    const std::size_t used = parser.put(conn.buffer.data(), ec);
    conn.buffer.consume(used);
    if (ec == bhttp::error::need_more) return {};
    if (ec) return ec;
    if (used == 0) return {};
  }
  return {};
}

// One socket read into the connection's buffer, under the idle timeout. End of stream is
// handed to the parser: it ends a close-delimited body, and is partial_message otherwise.
asio::awaitable<beast::error_code> fill(Connection& conn, Parser& parser,
                                        std::chrono::milliseconds idle) {
  conn.deadline().expiresAfter(idle);
  auto [rec, n] = co_await conn.visit(
      [&](auto& s) { return s.async_read_some(conn.buffer.prepare(kReadSize), kUseTuple); });
  conn.buffer.commit(n);
  const beast::error_code ec = conn.timedOut(rec);
  // Many TLS servers close without close_notify; that is only fine where EOF ends the body.
  if (ec == asio::error::eof || (ec == ssl::error::stream_truncated && parser.need_eof())) {
    beast::error_code eof_ec;
    (void)parseBuffered(conn, parser);
    parser.put_eof(eof_ec);
    co_return eof_ec;
  }
  co_return ec;
}

// ---------------------------------------------------------------------------------------------

class StreamImpl;

class Client final : public HttpClient {
 public:
  Client(asio::any_io_executor executor, const ClientOptions& options)
      : pool_(std::make_shared<Pool>(std::move(executor), options)) {}

  asio::awaitable<Result<ClientResponse>> send(const Origin& origin, ClientRequest request,
                                               const Timeouts& timeouts) override;

  asio::awaitable<Result<std::unique_ptr<ResponseStream>>> stream(
      const Origin& origin, ClientRequest request, const Timeouts& timeouts) override;

 private:
  asio::awaitable<Result<ConnectionPtr>> connect(const Origin& origin,
                                                 std::chrono::milliseconds timeout);
  // Sends the request on a pooled or new connection and reads the response header into
  // `parser`. On success `conn` holds the connection, positioned at the start of the body.
  asio::awaitable<Status> open(const Origin& origin, const ClientRequest& request,
                               const Timeouts& timeouts, std::optional<Parser>& parser,
                               ConnectionPtr& conn, std::string* body_out,
                               std::uint64_t body_limit);

  std::shared_ptr<Pool> pool_;
  std::string key_scratch_;  // pool lookups; used only between suspension points
};

// The first value of header `name` (any case) among `headers`, or "".
std::string_view headerValue(const std::vector<Header>& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return {};
}

class StreamImpl final : public ResponseStream {
 public:
  StreamImpl(std::weak_ptr<Pool> pool, std::chrono::milliseconds idle)
      : pool_(std::move(pool)), idle_(idle) {}

  unsigned status() const override { return parser_->status(); }

  std::string_view header(std::string_view name) const override {
    return headerValue(parser_->headers(), name);
  }

  asio::awaitable<Result<std::string>> read() override {
    std::string out;
    if (!error_.isOk()) co_return fail(error_);
    if (done_ || !conn_) co_return out;
    Parser& parser = *parser_;
    parser.out = &out;
    for (;;) {
      beast::error_code ec = parseBuffered(*conn_, parser);
      if (!ec && (!out.empty() || parser.is_done())) break;
      if (!ec) ec = co_await fill(*conn_, parser, idle_);
      if (ec) {
        parser.out = nullptr;
        error_ = transportError(Stage::kReadBody, ec, conn_->where(), idle_);
        conn_.reset();
        co_return fail(error_);
      }
    }
    parser.out = nullptr;
    if (parser.is_done()) finishBody();
    co_return out;
  }

  // The body ended: the connection may serve the next request.
  void finishBody() {
    done_ = true;
    if (!conn_) return;
    auto pool = pool_.lock();
    if (pool && parser_->keep_alive()) pool->release(std::move(conn_));
    conn_.reset();
  }

  std::optional<Parser> parser_;
  ConnectionPtr conn_;

 private:
  std::weak_ptr<Pool> pool_;
  std::chrono::milliseconds idle_;
  Status error_;
  bool done_ = false;
};

asio::awaitable<Result<ConnectionPtr>> Client::connect(const Origin& origin,
                                                       std::chrono::milliseconds timeout) {
  const auto& executor = pool_->executor();
  const auto deadline = Clock::now() + timeout;
  std::string key;
  appendKey(key, origin);

  ConnectionPtr conn;
  if (origin.tls) {
    auto tls = pool_->tlsContext();
    if (!tls) co_return fail(std::move(tls.error()));
    conn = std::make_unique<Connection>(executor, **tls, std::move(key));
  } else {
    conn = std::make_unique<Connection>(executor, std::move(key));
  }
  beast::tcp_stream& tcp = conn->tcp();
  // Through a proxy the TCP connection goes to it; errors up to the tunnel name the proxy.
  const ProxySettings::Proxy* proxy =
      pool_->options().proxy ? pool_->options().proxy->forOrigin(origin) : nullptr;
  const std::string& host = proxy ? proxy->host : origin.host;
  const std::uint16_t port = proxy ? proxy->port : origin.port;
  const std::string proxy_where = proxy ? "proxy " + proxy->display : std::string();
  const std::string_view where = proxy ? std::string_view(proxy_where) : conn->where();

  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    tcp.expires_at(deadline);
    auto [cec] = co_await tcp.async_connect(tcp::endpoint(address, port), kUseTuple);
    if (cec) co_return fail(transportError(Stage::kConnect, cec, where, timeout));
  } else {
    // The resolver runs getaddrinfo on a background thread; a timer cancels it at the deadline.
    // (A getaddrinfo call already running cannot be interrupted; the OS resolver's own timeouts
    // bound it.)
    auto resolver = std::make_shared<tcp::resolver>(executor);
    asio::steady_timer timer(executor, deadline);
    timer.async_wait(
        [weak = std::weak_ptr<tcp::resolver>(resolver)](const boost::system::error_code& tec) {
          if (tec) return;
          if (auto r = weak.lock()) r->cancel();
        });
    char port_buf[8];
    auto [port_end, pec] = std::to_chars(port_buf, port_buf + sizeof port_buf, port);
    (void)pec;
    auto [rec, results] = co_await resolver->async_resolve(
        host, std::string_view(port_buf, port_end - port_buf), kUseTuple);
    timer.cancel();
    if (rec) {
      if (rec == asio::error::operation_aborted && Clock::now() >= deadline) {
        rec = beast::error::timeout;
      }
      co_return fail(transportError(Stage::kResolve, rec, where, timeout));
    }
    tcp.expires_at(deadline);
    auto [cec, endpoint] = co_await tcp.async_connect(results, kUseTuple);
    (void)endpoint;
    if (cec) co_return fail(transportError(Stage::kConnect, cec, where, timeout));
  }
  tcp.socket().set_option(tcp::no_delay(true), ec);
  if (proxy != nullptr && origin.tls) {
    if (Status s = co_await openTunnel(tcp, origin, *proxy, timeout); !s.isOk()) {
      co_return fail(std::move(s));
    }
  } else if (proxy != nullptr) {
    conn->http_proxy = proxy;
  }
  if (!origin.tls) tcp.socket().non_blocking(true, ec);  // see the request write in open()

  if (auto* tls = conn->tls()) {
    if (!isIpLiteral(origin.host)) {
      // SNI carries names only, never IP literals (RFC 6066).
      SSL_set_tlsext_host_name(tls->native_handle(), origin.host.c_str());
    }
    if (pool_->options().verify_peer) {
      tls->set_verify_callback(ssl::host_name_verification(origin.host), ec);
    }
    auto [hec] = co_await tls->async_handshake(ssl::stream_base::client, kUseTuple);
    if (hec) {
      Status status = transportError(Stage::kHandshake, hec, conn->where(), timeout);
      const long verify = SSL_get_verify_result(tls->native_handle());
      if (verify == X509_V_ERR_UNSPECIFIED) {
        // Set when a verify callback rejects a chain OpenSSL accepted; ours only checks names.
        status = Status(status.code(), status.message() + " (certificate does not match host '" +
                                           origin.host + "')");
      } else if (verify != X509_V_OK) {
        status = Status(status.code(),
                        status.message() + " (" + X509_verify_cert_error_string(verify) + ")");
      }
      co_return fail(std::move(status));
    }
  }
  tcp.expires_never();  // from here on the connection's Deadline times its operations
  co_return conn;
}

asio::awaitable<Status> Client::open(const Origin& origin, const ClientRequest& request,
                                     const Timeouts& timeouts, std::optional<Parser>& parser,
                                     ConnectionPtr& conn, std::string* body_out,
                                     std::uint64_t body_limit) {
  if (Status s = validate(request); !s.isOk()) co_return s;
  for (int attempt = 0;; ++attempt) {
    std::string_view key = origin.pool_key;
    if (key.empty()) {
      key_scratch_.clear();
      appendKey(key_scratch_, origin);
      key = key_scratch_;
    }
    conn = pool_->acquire(key);
    const bool reused = conn != nullptr;
    if (!reused) {
      auto fresh = co_await connect(origin, timeouts.connect);
      if (!fresh) co_return std::move(fresh.error());
      conn = std::move(*fresh);
    }
    buildHead(origin, request, conn->http_proxy, conn->head);
    if (body_out != nullptr) body_out->clear();
    parser.emplace();
    setupParser(*parser, request.method, body_out, body_limit);

    Stage stage = Stage::kWrite;
    beast::tcp_stream& tcp = conn->tcp();
    conn->deadline().expiresAfter(timeouts.first_byte);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(conn->head),
                                                    asio::buffer(request.body)};
    // Plain TCP: one non-blocking send usually takes the whole request, with no suspension;
    // only what it leaves (and everything over TLS) goes through the asynchronous write.
    boost::system::error_code ec;
    std::size_t written = 0;
    if (conn->tls() == nullptr) {
      written = tcp.socket().write_some(buffers, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        written = 0;
      }
    }
    if (!ec && written < conn->head.size() + request.body.size()) {
      beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
      rest.consume(written);
      auto [aec, an] =
          co_await conn->visit([&](auto& s) { return asio::async_write(s, rest, kUseTuple); });
      (void)an;
      ec = conn->timedOut(aec);
    }
    if (!ec) {
      stage = Stage::kReadHeader;
      for (;;) {
        auto [rec, n] = co_await conn->visit(
            [&](auto& s) { return bhttp::async_read_header(s, conn->buffer, *parser, kUseTuple); });
        (void)n;
        ec = conn->timedOut(rec);
        if (ec) break;
        const unsigned status = parser->status();
        if (status < 100 || status >= 200 || status == 101) break;
        // An interim response (e.g. 103 Early Hints): the real one follows.
        parser.emplace();
        setupParser(*parser, request.method, body_out, body_limit);
      }
    }
    if (reused && attempt == 0 && deadPooledConnection(stage, ec, *parser, *conn)) {
      conn.reset();
      continue;
    }
    if (!ec) {
      parser->eager(true);
      co_return Status::ok();
    }
    Status status = transportError(stage, ec, conn->where(), timeouts.first_byte, body_limit);
    conn.reset();
    co_return status;
  }
}

asio::awaitable<Result<ClientResponse>> Client::send(const Origin& origin, ClientRequest request,
                                                     const Timeouts& timeouts) {
  ClientResponse response;
  std::optional<Parser> parser;
  ConnectionPtr conn;
  const std::uint64_t limit = pool_->options().max_response_bytes;
  Status status = co_await open(origin, request, timeouts, parser, conn, &response.body, limit);
  if (!status.isOk()) co_return fail(std::move(status));

  for (;;) {
    beast::error_code ec = parseBuffered(*conn, *parser);
    if (!ec && parser->is_done()) break;
    if (!ec) ec = co_await fill(*conn, *parser, timeouts.idle);
    if (ec) {
      co_return fail(transportError(Stage::kReadBody, ec, conn->where(), timeouts.idle, limit));
    }
  }
  parser->out = nullptr;
  response.status = parser->status();
  response.headers = parser->takeHeaders();
  if (parser->keep_alive()) pool_->release(std::move(conn));
  co_return response;
}

asio::awaitable<Result<std::unique_ptr<ResponseStream>>> Client::stream(const Origin& origin,
                                                                        ClientRequest request,
                                                                        const Timeouts& timeouts) {
  auto stream = std::make_unique<StreamImpl>(pool_, timeouts.idle);
  Status status =
      co_await open(origin, request, timeouts, stream->parser_, stream->conn_, nullptr, 0);
  if (!status.isOk()) co_return fail(std::move(status));
  if (stream->parser_->is_done()) stream->finishBody();
  co_return std::unique_ptr<ResponseStream>(std::move(stream));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<Origin> Origin::parse(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid upstream URL '" + std::string(url) + "': " + std::string(why));
  };
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return bad(parsed.error().message());
  const auto& u = *parsed;
  Origin origin;
  if (u.scheme_id() == boost::urls::scheme::https) {
    origin.tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    return bad("the scheme must be http or https");
  }
  if (u.has_userinfo()) return bad("credentials in the URL are not supported");
  if (u.has_query()) return bad("a query string is not allowed");
  if (u.has_fragment()) return bad("a fragment is not allowed");
  switch (u.host_type()) {
    case boost::urls::host_type::name:
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      break;
    default:
      return bad("unsupported host");
  }
  origin.host = u.host_address();
  if (origin.host.empty()) return bad("the host is missing");
  if (u.has_port() && !u.port().empty()) {
    origin.port = u.port_number();
    if (origin.port == 0) return bad("invalid port");
  } else {
    origin.port = origin.tls ? 443 : 80;
  }
  std::string_view path = u.encoded_path();
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  origin.base_path = path;
  origin.pool_key = origin.key();
  return origin;
}

std::string Origin::key() const {
  std::string out;
  appendKey(out, *this);
  return out;
}

std::string_view ClientResponse::header(std::string_view name) const {
  return headerValue(headers, name);
}

std::unique_ptr<HttpClient> makeHttpClient(boost::asio::any_io_executor executor,
                                           const ClientOptions& options) {
  return std::make_unique<Client>(std::move(executor), options);
}

}  // namespace switchyard::http
