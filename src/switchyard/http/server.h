#pragma once
// HTTP/1.1 server: Beast + Asio with C++20 coroutines, one coroutine per connection.
//
// Threading: `workers` threads, each running its own io_context with its own SO_REUSEPORT
// acceptor, so a connection lives on one thread for its whole life and nothing on the request
// path takes a lock. Each worker also owns an HttpClient for upstream calls (pools stay
// thread-local). Server's public methods are thread-safe.
//
// Limits: body (413), header size (431), a header/body read timeout and a keep-alive idle
// timeout (slow clients are cut off), a connection cap (503). Graceful shutdown: stop
// accepting, close idle keep-alive connections, let in-flight requests finish up to a deadline.

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/http/client.h"

namespace switchyard::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port (see Server::port())
  int workers = 0;            // 0 = hardware threads
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  int max_connections = 10'000;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{60'000};  // a client that stops reading is cut off
  // > 0: each I/O thread polls for this long after its last event before it sleeps (lower
  // latency on VMs where waking an idle vCPU is slow, at the cost of CPU time); 0: off.
  std::chrono::microseconds busy_poll{0};
  ClientOptions client;                              // for each worker's upstream client
};

// Reusable per-connection byte buffers for ResponseWriter, so that answering a request on a
// keep-alive connection allocates nothing once they have grown.
struct WriteBuffers {
  std::string out;    // bytes ready for the socket (head, framed chunks)
  std::string chunk;  // the payload of the next chunk of a streamed body
};

// A connection's client-disconnect watch (see ResponseWriter::unlessClientGone) and its
// read-ahead. The connection's coroutine is spawned bound to `cancel`, so emitting it cancels
// whatever the coroutine is waiting for at that moment — the upstream work — without a
// coroutine of its own per request.
//
// The watch is a receive into the connection's buffer, started with the request's work and
// left pending across the response: it completes when the client closes its side (the work
// is cancelled), when the connection breaks, or when the next request arrives — and then it
// is that request's first read. One receive per request serves both, where a peek for the
// watch and a second receive for the next request would each cost a system call that
// usually finds nothing. Shared by the coroutine and the pending receive's handler.
struct ClientWatch {
  boost::asio::cancellation_signal cancel;
  bool active = false;   // the current work is watched: an end of stream cancels it
  bool gone = false;     // the client went away while the work was watched
  bool reading = false;  // the receive is pending
  bool done = false;     // it completed; the result below is not taken yet
  boost::system::error_code ec;
  std::size_t bytes = 0;
  // The connection's coroutine, waiting for the pending receive to bring its next request;
  // resumed in place by the receive's handler (no trip through the scheduler's queue).
  boost::asio::any_completion_handler<void()> waiter;
};

// How a handler answers. Either send() once, or startStream() + write()* + finish().
// Used only from its connection's coroutine.
//
// Writes avoid timers and suspension when they can: the bytes go straight to the socket with a
// non-blocking send, and only what the socket does not take is written asynchronously under
// write_timeout. startStream() only formats the head; it leaves with the first write(),
// flush() or finish(). append() adds to the current chunk without writing, so a handler can
// coalesce several events into one socket write (and one chunk) with a final flush().
class ResponseWriter {
 public:
  using Headers = std::vector<Header>;

  // `watch`: the connection's, for unlessClientGone (null: the work runs unwatched).
  ResponseWriter(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
                 WriteBuffers& buffers, const Request& request,
                 std::chrono::milliseconds write_timeout,
                 const std::atomic<bool>* draining = nullptr,
                 const std::shared_ptr<ClientWatch>* watch = nullptr);

  boost::asio::awaitable<Status> send(unsigned status, std::string_view content_type,
                                      std::string body, const Headers& headers = {});

  boost::asio::awaitable<Status> startStream(unsigned status, std::string_view content_type,
                                             const Headers& headers = {});
  // append(data) + flush().
  boost::asio::awaitable<Status> write(std::string_view data);
  // Adds to the body without writing anything yet.
  void append(std::string_view data);
  // Sends the head (if not sent yet) and everything appended since the last flush.
  boost::asio::awaitable<Status> flush();
  // Flushes what is pending together with the end of the body.
  boost::asio::awaitable<Status> finish();

  // Runs `work` in the connection's own coroutine and cancels it (terminal cancellation of
  // the operation it awaits) when the client closes its side or the connection breaks. Index
  // 0 holds the work's result; index 1 (kCancelled) says the client went away first (whatever
  // the work ended with, an exception included). Bytes a pipelining client sends meanwhile are
  // kept for the next request, and watching stops once any arrive.
  template <typename T>
  boost::asio::awaitable<std::variant<T, Status>> unlessClientGone(boost::asio::awaitable<T> work);

  bool started() const { return started_; }
  bool finished() const { return finished_; }
  bool keepAlive() const { return keep_alive_; }
  unsigned status() const { return status_; }
  std::size_t bytesSent() const { return bytes_sent_; }
  void setKeepAlive(bool keep_alive) { keep_alive_ = keep_alive; }
  // A header every response to this request carries, whatever path answers it (CORS).
  void addHeader(std::string name, std::string value) {
    always_.emplace_back(std::move(name), std::move(value));
  }

 private:
  // Starts the read-ahead unless it is pending or done (see ClientWatch); marks the watch
  // gone at once when it already saw the end of the stream.
  void startWatch();
  void stopWatch() { (*watch_)->active = false; }

  void appendHead(unsigned status, std::string_view content_type, const Headers& headers,
                  bool stream, std::size_t content_length);
  // Writes out_, then `second`, then `third` (any may be empty) completely; clears out_.
  boost::asio::awaitable<Status> writeOut(std::string_view second = {},
                                          std::string_view third = {});

  boost::beast::tcp_stream& stream_;
  boost::beast::flat_buffer& buffer_;
  std::string& out_;
  std::string& chunk_;
  std::chrono::milliseconds write_timeout_;
  const std::atomic<bool>* draining_;  // a draining server says Connection: close
  const std::shared_ptr<ClientWatch>* watch_;
  unsigned version_;
  bool keep_alive_;
  bool started_ = false;
  bool finished_ = false;
  bool chunked_ = false;
  bool broken_ = false;  // a write failed; later writes fail at once
  unsigned status_ = 0;
  std::size_t bytes_sent_ = 0;
  Headers always_;
};

template <typename T>
boost::asio::awaitable<std::variant<T, Status>> ResponseWriter::unlessClientGone(
    boost::asio::awaitable<T> work) {
  if (watch_ == nullptr) {
    co_return std::variant<T, Status>(std::in_place_index<0>, co_await std::move(work));
  }
  const ClientWatch& watch = **watch_;
  startWatch();  // the client may be known gone already: then the work does not run
  struct Stop {
    ResponseWriter& writer;
    ~Stop() { writer.stopWatch(); }
  } stop{*this};
  std::exception_ptr error;
  if (!watch.gone) {
    try {
      std::variant<T, Status> result(std::in_place_index<0>, co_await std::move(work));
      stopWatch();
      if (!watch.gone) co_return std::move(result);
    } catch (...) {
      error = std::current_exception();
    }
  }
  stopWatch();
  if (watch.gone) {
    // The cancellation is sticky (every later co_await would throw): clear it, so that the
    // handler can still log and the connection close in order.
    co_await boost::asio::this_coro::reset_cancellation_state();
    keep_alive_ = false;
    co_return std::variant<T, Status>(std::in_place_index<1>,
                                      Status(ErrorCode::kCancelled, "client disconnected"));
  }
  std::rethrow_exception(error);
}

// Per-connection facts a handler may use.
struct ConnectionInfo {
  HttpClient& client;  // this worker's upstream client
  std::string remote_address;
  int worker = 0;
};

using Handler =
    std::function<boost::asio::awaitable<void>(Request&, ResponseWriter&, ConnectionInfo&)>;

class Server {
 public:
  // Binds the listening sockets (so port() is known) but runs nothing yet. An address another
  // socket listens on is an error, even one with SO_REUSEPORT (see checkAddress).
  static Result<std::unique_ptr<Server>> create(const ServerOptions& options, Handler handler);
  // Whether `host`:`port` could be listened on now: a valid address that nothing listens on
  // (port 0: always). For a start-up that has long work to do before create().
  static Status checkAddress(const std::string& host, std::uint16_t port);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& host() const { return options_.host; }

  void start();  // starts the worker threads
  // Stops accepting, closes idle connections, waits for in-flight requests up to `timeout`,
  // then stops the workers. Returns the number of requests still in flight when it gave up.
  std::size_t shutdown(std::chrono::milliseconds timeout);

  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  std::size_t inFlight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::size_t connections() const { return connections_.load(std::memory_order_relaxed); }

 private:
  struct Worker;
  Server(const ServerOptions& options, Handler handler);
  boost::asio::awaitable<void> acceptLoop(Worker& worker);
  boost::asio::awaitable<void> serveConnection(Worker& worker, boost::asio::ip::tcp::socket socket,
                                               std::shared_ptr<ClientWatch> watch);

  ServerOptions options_;
  Handler handler_;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> connections_{0};
  bool stopped_ = false;
};

}  // namespace switchyard::http
