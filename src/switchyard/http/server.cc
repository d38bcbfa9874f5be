#include "switchyard/http/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <limits>
#include <list>
#include <mutex>
#include <optional>

#include "switchyard/core/check.h"
#include "switchyard/core/log.h"
#include "switchyard/core/thread.h"
#include "switchyard/http/deadline.h"

namespace switchyard::http {

using namespace std::string_view_literals;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Bodies up to this size are copied behind the head so that both leave in one buffer.
constexpr std::size_t kCoalesceBody = 16 * 1024;

void appendNumber(std::string& out, std::uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;
  out.append(buf, end);
}

// Whether a request asks for "100 Continue" before it sends its body (RFC 9110 10.1.1; curl
// does for bodies over 1 MiB, older libcurl over 1 KiB, and waits a second for it otherwise).
bool expectsContinue(const Request& req) {
  if (req.version() < 11) return false;
  auto it = req.find(bhttp::field::expect);
  return it != req.end() && beast::iequals(it->value(), "100-continue");
}

// Reads one request into `parser`: Beast's read loop (parse what is buffered, read more, repeat;
// end of stream before a complete message is an error) written out, so that the body of a
// request that expects "100 Continue" is asked for once the header has passed the parser's
// limits (a body over the limit gets its 413 instead, and is never sent). With the whole
// request in one read, the common case, this is one receive and one parse.
//
// The header limit is ours, exact: `max_header` bytes from the request line through the blank
// line. (Beast's own header_limit depends on how the bytes were split into reads: a header some
// 30 bytes over a 1 KiB limit passed when it came in two reads and failed in one.) The parser
// stops at the end of the header (eager off), which tells its exact size, then reads the body.
asio::awaitable<boost::system::error_code> readRequest(
    tcp::socket& socket, beast::flat_buffer& buffer,
    bhttp::request_parser<bhttp::string_body>& parser, std::size_t max_header) {
  parser.eager(false);
  parser.header_limit(std::numeric_limits<std::uint32_t>::max());
  std::size_t header_bytes = 0;  // consumed by the parser while the header was not done
  bool continue_sent = false;
  boost::system::error_code ec;
  for (;;) {
    while (buffer.size() > 0 && !parser.is_done()) {
      const bool in_header = !parser.is_header_done();
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (in_header) {
        header_bytes += used;
        if (header_bytes > max_header ||
            (!parser.is_header_done() && header_bytes + buffer.size() > max_header)) {
          co_return bhttp::error::header_limit;
        }
        if (parser.is_header_done()) parser.eager(true);
      }
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec) co_return ec;
      if (used == 0) break;
    }
    if (parser.is_done()) co_return ec;
    if (!continue_sent && parser.is_header_done() && expectsContinue(parser.get())) {
      continue_sent = true;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [wec, wn] = co_await asio::async_write(
          socket, asio::buffer(kContinue.data(), kContinue.size()), kUseTuple);
      (void)wn;
      if (wec) co_return wec;
    }
    const std::size_t size = beast::read_size(buffer, 65536);
    if (size == 0) co_return bhttp::error::buffer_overflow;
    auto [rec, n] = co_await socket.async_read_some(buffer.prepare(size), kUseTuple);
    buffer.commit(n);
    if (rec == asio::error::eof) {
      if (!parser.got_some()) co_return bhttp::error::end_of_stream;
      parser.put_eof(ec);  // partial_message unless the message may end at the end of stream
      co_return ec;
    }
    if (rec) co_return rec;
  }
}

// A lingering close, as nginx's lingering_close: after our FIN (shutdown_send), read and drop
// whatever the client still sends, until it closes, for at most kLingerTime. Closing a socket
// with unread input makes the kernel answer with a reset and drop what it has not yet sent:
// the last response (a 413 while the client is still uploading, the answer before a
// pipelined request we will not serve) could be lost before the client reads it.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::size_t kLingerBytes = 16u << 20;

asio::awaitable<void> lingerBeforeClose(tcp::socket& socket, Deadline& deadline) {
  deadline.expiresAfter(kLingerTime);  // cancels the read below when it passes
  std::array<char, 4096> sink;
  std::size_t dropped = 0;
  while (dropped < kLingerBytes) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink), kUseTuple);
    if (ec) break;  // the client's end of stream, a reset, or the deadline
    dropped += n;
  }
}

// "<hex size>\r\n", the line that opens a chunk.
void appendChunkSize(std::string& out, std::size_t size) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, size, 16);
  (void)ec;
  out.append(buf, end);
  out += "\r\n"sv;
}

// "Name: value\r\n". Control characters would end the field (response splitting); they are
// dropped, as no header we send may carry them.
void appendField(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": "sv;
  for (;;) {
    auto bad = std::find_if(value.begin(), value.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 && c != '\t';
    });
    out.append(value.data(), static_cast<std::size_t>(bad - value.begin()));
    if (bad == value.end()) break;
    value.remove_prefix(static_cast<std::size_t>(bad - value.begin()) + 1);
  }
  out += "\r\n"sv;
}

Status writeError(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return Status(ErrorCode::kCancelled, "client write timed out");
  return Status(ErrorCode::kCancelled, "client connection lost: " + ec.message());
}

}  // namespace

// ---------------------------------------------------------------------------------------------

ResponseWriter::ResponseWriter(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                               WriteBuffers& buffers, const Request& request,
                               std::chrono::milliseconds write_timeout,
                               const std::atomic<bool>* draining,
                               const std::shared_ptr<ClientWatch>* watch)
    : stream_(stream),
      buffer_(buffer),
      out_(buffers.out),
      chunk_(buffers.chunk),
      write_timeout_(write_timeout),
      draining_(draining),
      watch_(watch),
      version_(request.version()),
      keep_alive_(request.keep_alive()) {
  out_.clear();
  chunk_.clear();
}

void ResponseWriter::appendHead(unsigned status, std::string_view content_type,
                                const Headers& headers, bool stream,
                                std::size_t content_length) {
  out_ += "HTTP/"sv;
  out_ += static_cast<char>('0' + version_ / 10 % 10);
  out_ += '.';
  out_ += static_cast<char>('0' + version_ % 10);
  out_ += ' ';
  appendNumber(out_, status);
  out_ += ' ';
  out_ += std::string_view(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
  out_ += "\r\nServer: switchyard\r\n"sv;
  appendField(out_, "Content-Type", content_type);
  if (stream) out_ += "Cache-Control: no-cache\r\n"sv;
  for (const auto& [name, value] : headers) appendField(out_, name, value);
  for (const auto& [name, value] : always_) appendField(out_, name, value);
  if (stream && chunked_) out_ += "Transfer-Encoding: chunked\r\n"sv;
  if (version_ >= 11) {
    if (!keep_alive_) out_ += "Connection: close\r\n"sv;
  } else if (keep_alive_) {
    out_ += "Connection: keep-alive\r\n"sv;
  }
  if (!stream && status != 204 && status != 304) {  // those two never carry a body (RFC 9110)
    out_ += "Content-Length: "sv;
    appendNumber(out_, content_length);
    out_ += "\r\n"sv;
  }
  out_ += "\r\n"sv;
}

asio::awaitable<Status> ResponseWriter::writeOut(std::string_view second,
                                                 std::string_view third) {
  if (broken_) {
    out_.clear();
    co_return Status(ErrorCode::kCancelled, "client connection lost");
  }
  const std::array<asio::const_buffer, 3> buffers{asio::buffer(out_), asio::buffer(second),
                                                  asio::buffer(third)};
  const std::size_t total = out_.size() + second.size() + third.size();
  if (total == 0) co_return Status::ok();
  // The socket is in non-blocking mode: this takes what fits in the send buffer (usually all of
  // it) without a timer or a trip through the scheduler.
  boost::system::error_code ec;
  std::size_t n = stream_.socket().write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    n = 0;
  }
  if (!ec && n < total) {
    beast::buffers_suffix<std::array<asio::const_buffer, 3>> rest(buffers);
    rest.consume(n);
    stream_.expires_after(write_timeout_);
    auto [aec, an] = co_await asio::async_write(stream_, rest, kUseTuple);
    stream_.expires_never();
    ec = aec;
    n += an;
  }
  bytes_sent_ += n;
  out_.clear();
  if (ec) {
    keep_alive_ = false;
    broken_ = true;
    co_return writeError(ec);
  }
  co_return Status::ok();
}

asio::awaitable<Status> ResponseWriter::send(unsigned status, std::string_view content_type,
                                             std::string body, const Headers& headers) {
  SY_DCHECK(!started_);
  started_ = true;
  status_ = status;
  if (draining_ != nullptr && draining_->load(std::memory_order_relaxed)) keep_alive_ = false;
  out_.clear();
  appendHead(status, content_type, headers, false, body.size());
  Status result;
  if (body.size() <= kCoalesceBody) {
    out_ += body;
    result = co_await writeOut();
  } else {
    result = co_await writeOut(body);
  }
  finished_ = true;
  co_return result;
}

asio::awaitable<Status> ResponseWriter::startStream(unsigned status, std::string_view content_type,
                                                    const Headers& headers) {
  SY_DCHECK(!started_);
  started_ = true;
  status_ = status;
  if (draining_ != nullptr && draining_->load(std::memory_order_relaxed)) keep_alive_ = false;
  if (version_ >= 11) {
    chunked_ = true;
  } else {
    keep_alive_ = false;  // HTTP/1.0: the end of the body is the end of the connection
  }
  out_.clear();
  chunk_.clear();
  appendHead(status, content_type, headers, true, 0);
  co_return Status::ok();
}

void ResponseWriter::append(std::string_view data) {
  SY_DCHECK(started_);
  if (finished_) return;  // the connection broke; the caller learns it from its next flush
  if (chunked_) {
    chunk_ += data;
  } else {
    out_ += data;
  }
}

asio::awaitable<Status> ResponseWriter::flush() {
  if (!started_ || finished_) co_return Status::ok();
  if (!chunk_.empty()) {
    appendChunkSize(out_, chunk_.size());
    Status s = co_await writeOut(chunk_, "\r\n");
    chunk_.clear();
    if (!s.isOk()) finished_ = true;
    co_return s;
  }
  Status s = co_await writeOut();
  if (!s.isOk()) finished_ = true;
  co_return s;
}

asio::awaitable<Status> ResponseWriter::write(std::string_view data) {
  SY_DCHECK(started_ && !finished_);
  append(data);
  co_return co_await flush();
}

asio::awaitable<Status> ResponseWriter::finish() {
  if (finished_) co_return Status::ok();
  finished_ = true;
  if (!chunked_) co_return co_await writeOut();
  if (!chunk_.empty()) {
    appendChunkSize(out_, chunk_.size());
    Status s = co_await writeOut(chunk_, "\r\n0\r\n\r\n");
    chunk_.clear();
    co_return s;
  }
  out_ += "0\r\n\r\n"sv;
  co_return co_await writeOut();
}

void ResponseWriter::startWatch() {
  ClientWatch& watch = **watch_;
  watch.gone = false;
  if (watch.done) {
    // It completed during an earlier stage of this request: pipelined bytes (nothing left to
    // watch), or the end of the stream.
    watch.gone = watch.ec || watch.bytes == 0;
    return;
  }
  watch.active = true;
  if (watch.reading) return;
  // Bytes of a pipelined request already buffered: the client is there, and the next parse
  // starts from them (no read-ahead; the work runs unwatched, as after any pipelined byte).
  const std::size_t size = buffer_.size() == 0 ? beast::read_size(buffer_, 65536) : 0;
  if (size == 0) {
    watch.active = false;
    return;
  }
  watch.reading = true;
  stream_.socket().async_read_some(
      buffer_.prepare(size), [watch = *watch_](const boost::system::error_code& ec, std::size_t n) {
        watch->reading = false;
        watch->done = true;
        watch->ec = ec;
        watch->bytes = n;
        if (watch->active) {
          watch->active = false;
          // End of stream or a broken connection cancels the work; a pipelined request is
          // left for the next parse.
          if (ec || n == 0) {
            watch->gone = true;
            watch->cancel.emit(asio::cancellation_type::terminal);
          }
        }
        if (watch->waiter) {
          // (swap, not a move: Boost 1.81's move assignment wraps the handler in itself)
          asio::any_completion_handler<void()> waiter;
          waiter.swap(watch->waiter);
          std::move(waiter)();
        }
      });
}

// ---------------------------------------------------------------------------------------------

struct Server::Worker {
  // An io_context whose queued handlers (suspended connections and requests) can be destroyed
  // at shutdown while the object itself, which other threads' executors may still point at for
  // a moment, lives on until the server is destroyed.
  struct Context : asio::io_context {
    using asio::io_context::io_context;
    void destroyPending() { shutdown(); }
  };

  explicit Worker(int index) : index(index), io(1), acceptor(io) {}

  int index;
  Context io;
  tcp::acceptor acceptor;
  std::unique_ptr<HttpClient> client;
  // Connections waiting for their next request; closed at once on shutdown. Touched only on
  // this worker's thread.
  // With each, its watch: one waiting on its read-ahead is a suspended coroutine held by the
  // watch itself, which shutdown must release (see Server::shutdown).
  std::list<std::pair<beast::tcp_stream*, ClientWatch*>> idle;
};

Server::Server(const ServerOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)) {}

Server::~Server() {
  if (!threads_.empty() && !stopped_) shutdown(std::chrono::milliseconds(0));
}

// Each worker has its own acceptor in one SO_REUSEPORT group, and the kernel admits any other
// socket of this user into that group: a second gateway (or anything else listening with
// SO_REUSEPORT) on the port would silently take a share of the connections. A plain bind finds
// the port taken; the group binds it after (a start racing another program for the port in
// between is the only case this misses).
Status Server::checkAddress(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Status(ErrorCode::kInvalidArgument, "invalid listen address '" + host + "'");
  if (port == 0) return Status::ok();
  asio::io_context io;
  tcp::acceptor probe(io);
  const tcp::endpoint endpoint(address, port);
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  if (!ec) return Status::ok();
  const std::string where = "cannot listen on " + host + ":" + std::to_string(port) + ": ";
  if (ec == asio::error::address_in_use) {
    return Status(ErrorCode::kUnavailable,
                  where +
                      "the address is already in use (another switchyard, or another "
                      "program, is listening on it)");
  }
  return Status(ErrorCode::kUnavailable, where + ec.message());
}

Result<std::unique_ptr<Server>> Server::create(const ServerOptions& options, Handler handler) {
  std::unique_ptr<Server> server(new Server(options, std::move(handler)));
  int workers = options.workers > 0 ? options.workers
                                    : static_cast<int>(std::thread::hardware_concurrency());
  if (workers <= 0) workers = 1;

  if (Status s = checkAddress(options.host, options.port); !s.isOk()) return fail(std::move(s));
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  std::uint16_t port = options.port;
  for (int i = 0; i < workers; ++i) {
    auto worker = std::make_unique<Worker>(i);
    auto& acc = worker->acceptor;
    tcp::endpoint endpoint(address, port);
    acc.open(endpoint.protocol(), ec);
    if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) acc.bind(endpoint, ec);
    if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return fail(ErrorCode::kUnavailable, "cannot listen on " + options.host + ":" +
                                               std::to_string(port) + ": " + ec.message());
    }
    if (port == 0) port = acc.local_endpoint().port();
    worker->client = makeHttpClient(worker->io.get_executor(), options.client);
    server->workers_.push_back(std::move(worker));
  }
  server->port_ = port;
  return server;
}

namespace {

// An I/O thread's loop. With `busy_poll` > 0, after each burst of work the thread keeps polling
// (epoll without a timeout) for up to that long before it blocks: a reply that arrives within
// the window is picked up without a wake-up, which on a virtual machine whose idle vCPUs halt
// (an IPI and a VM exit per wake-up) is most of a proxied request's added latency. It costs
// the window's CPU time whenever the next event comes later than that, so it is off by
// default (like the kernel's net.core.busy_poll).
void runWorker(asio::io_context& io, std::chrono::microseconds busy_poll) {
  if (busy_poll.count() <= 0) {
    io.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  auto last_work = Clock::now();
  while (!io.stopped()) {
    if (io.poll() > 0) {
      last_work = Clock::now();
    } else if (Clock::now() - last_work >= busy_poll) {
      if (io.run_one() == 0) break;  // stopped, or out of work
      last_work = Clock::now();
    }
  }
}

}  // namespace

void Server::start() {
  for (auto& worker : workers_) {
    asio::co_spawn(worker->io, acceptLoop(*worker), asio::detached);
    threads_.emplace_back([w = worker.get(), i = threads_.size(), busy_poll = options_.busy_poll] {
      setCurrentThreadName("sy-io-" + std::to_string(i));
      runWorker(w->io, busy_poll);
    });
  }
}

asio::awaitable<void> Server::acceptLoop(Worker& worker) {
  for (;;) {
    auto [ec, socket] = co_await worker.acceptor.async_accept(kUseTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !worker.acceptor.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      logEvent(spdlog::level::warn, "accept_failed", {{"error", ec.message()}});
      asio::steady_timer pause(worker.io, std::chrono::milliseconds(50));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    // The connection's coroutine is bound to its watch's signal (see ClientWatch); the
    // completion handler keeps the signal alive until the coroutine has ended.
    auto watch = std::make_shared<ClientWatch>();
    const asio::cancellation_slot slot = watch->cancel.slot();
    asio::co_spawn(worker.io, serveConnection(worker, std::move(socket), watch),
                   asio::bind_cancellation_slot(slot, [watch](const std::exception_ptr&) {}));
  }
}

asio::awaitable<void> Server::serveConnection(Worker& worker, tcp::socket socket,
                                              std::shared_ptr<ClientWatch> watch) {
  const std::size_t open = connections_.fetch_add(1, std::memory_order_relaxed) + 1;
  struct Release {
    std::atomic<std::size_t>& count;
    ~Release() { count.fetch_sub(1, std::memory_order_relaxed); }
  } release{connections_};

  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  // ResponseWriter writes with non-blocking sends first (see writeOut).
  socket.non_blocking(true, ec);
  std::string remote;
  if (auto ep = socket.remote_endpoint(ec); !ec) remote = ep.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  WriteBuffers write_buffers;

  if (open > static_cast<std::size_t>(options_.max_connections)) {
    Request dummy;
    dummy.version(11);
    dummy.keep_alive(false);
    ResponseWriter writer(stream, buffer, write_buffers, dummy, options_.write_timeout);
    // (Headers built outside the co_await: g++ 12 miscompiles braced arrays inside one.)
    const ResponseWriter::Headers headers{{std::string("Retry-After"), std::string("1")}};
    (void)co_await writer.send(
        503, "application/json",
        R"({"error":{"message":"too many connections","type":"server_error","param":null,"code":"overloaded"}})",
        headers);
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return;
  }

  ConnectionInfo info{*worker.client, std::move(remote), worker.index};
  auto deadline = std::make_shared<Deadline>(stream.get_executor(), stream.socket());
  struct StopDeadline {
    Deadline& deadline;
    ~StopDeadline() { deadline.stop(); }
  } stop_deadline{*deadline};
  bool first = true;
  bool linger = false;  // the client may still be sending: drain its input before closing
  for (;;) {
    // Accepted while shutdown was closing the idle connections (the accept completed just
    // before the acceptor closed): nobody would cancel this read, so close it now.
    if (draining()) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options_.max_body_bytes);
    deadline->expiresAfter(first ? options_.header_timeout : options_.idle_timeout);
    first = false;

    worker.idle.emplace_front(&stream, watch.get());
    auto idle_it = worker.idle.begin();
    // The last request's read-ahead (see ClientWatch) is this request's first read.
    boost::system::error_code read_ec;
    if (watch->reading) {
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
          [&watch](asio::any_completion_handler<void()> handler) { handler.swap(watch->waiter); },
          asio::use_awaitable);
    }
    if (watch->done) {
      watch->done = false;
      buffer.commit(watch->bytes);
      if (watch->ec == asio::error::eof) {
        read_ec = bhttp::error::end_of_stream;
      } else {
        read_ec = watch->ec;
      }
    }
    // From the socket itself: the read deadline is our own (Deadline), so tcp_stream's timeout
    // layer would only add work to every read.
    if (!read_ec) {
      read_ec = co_await readRequest(stream.socket(), buffer, parser, options_.max_header_bytes);
    }
    worker.idle.erase(idle_it);

    if (read_ec) {
      unsigned status = 0;
      std::string message;
      if (read_ec == bhttp::error::body_limit) {
        status = 413;
        message = "request body is larger than the limit of " +
                  std::to_string(options_.max_body_bytes) + " bytes";
      } else if (read_ec == bhttp::error::header_limit) {
        status = 431;
        message = "request headers are larger than the limit of " +
                  std::to_string(options_.max_header_bytes) + " bytes";
      } else if (read_ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                 read_ec != bhttp::error::end_of_stream && read_ec != bhttp::error::partial_message) {
        status = 400;
        message = "malformed HTTP request: " + read_ec.message();
      }
      if (status != 0) {
        Request dummy;
        dummy.version(11);
        dummy.keep_alive(false);
        ResponseWriter writer(stream, buffer, write_buffers, dummy, options_.write_timeout);
        std::string body = R"({"error":{"message":")";
        appendJsonEscaped(body, message);
        body += R"(","type":"invalid_request_error","param":null,"code":null}})";
        (void)co_await writer.send(status, "application/json", std::move(body));
        linger = true;  // the rest of what it sent is unread
      }
      break;
    }

    Request request = parser.release();
    deadline->expiresNever();
    if (draining()) request.keep_alive(false);

    in_flight_.fetch_add(1, std::memory_order_relaxed);
    ResponseWriter writer(stream, buffer, write_buffers, request, options_.write_timeout,
                          &draining_, &watch);
    bool threw = false;
    try {
      co_await handler_(request, writer, info);
    } catch (const std::exception& e) {
      // Handlers map errors themselves; this is the last line of defence. (No co_await is
      // allowed inside a catch block, hence the flag.)
      SY_BUG(std::string("handler threw: ") + e.what());
      threw = true;
    }
    if (threw) {
      writer.setKeepAlive(false);
      if (!writer.started()) {
        (void)co_await writer.send(
            500, "application/json",
            R"({"error":{"message":"internal error","type":"server_error","param":null,"code":null}})");
      }
    }
    if (writer.started() && !writer.finished()) (void)co_await writer.finish();
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (!writer.started() || !writer.keepAlive() || draining()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  // Bytes after the last request we answered: pipelined requests we will not serve, the rest
  // of a body over the limit. A read-ahead still pending (the answered request was watched)
  // has found nothing yet, and a second read may not run beside it: close then. (Waiting for it
  // here would leave this frame held by the watch, and the watch by the frame, at shutdown.)
  // A finished read-ahead that found the end of input, or an error, leaves nothing to drain.
  const bool peer_closed = watch->done && (watch->ec || watch->bytes == 0);
  if (!draining() && !watch->reading && !peer_closed &&
      (linger || watch->done || buffer.size() > 0 || stream.socket().available(ec) > 0)) {
    co_await lingerBeforeClose(stream.socket(), *deadline);
  }
  stream.close();
}

std::size_t Server::shutdown(std::chrono::milliseconds timeout) {
  if (stopped_) return 0;
  draining_.store(true);
  for (auto& worker : workers_) {
    asio::post(worker->io, [w = worker.get()] {
      boost::system::error_code ignored;
      w->acceptor.close(ignored);
      for (auto& connection : w->idle) connection.first->socket().cancel(ignored);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (inFlight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::size_t left = inFlight();
  for (auto& worker : workers_) worker->io.stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  // A connection still waiting for its next request on a read-ahead (the cancel above came too
  // late for it) is a coroutine held only by its own watch: released, it posts its unwinding
  // to its stopped context, which destroys it below with the rest.
  for (auto& worker : workers_) {
    for (auto& connection : worker->idle) {
      connection.second->waiter = nullptr;
    }
  }
  // Requests abandoned past the timeout end here, while the upstream clients and the handler's
  // state they refer to are still alive.
  for (auto& worker : workers_) worker->io.destroyPending();
  stopped_ = true;
  return left;
}

}  // namespace switchyard::http
