#include "switchyard/http/server.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

namespace switchyard::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A blocking raw-socket client, so tests control every byte on the wire.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(std::string_view data) { asio::write(socket_, asio::buffer(data)); }
  // Reads until the peer closes or `until` appears.
  std::string receive(std::string_view until = {}) {
    std::string out;
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      std::size_t n = socket_.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
  }
  // Within 10 s (a server that keeps the connection fails the test instead of hanging it).
  bool closedByPeer() {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) return false;
    char c;
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
  void close() { socket_.close(); }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

class ServerTest : public ::testing::Test {
 protected:
  void startServer(ServerOptions options = {}) {
    options.port = 0;
    options.workers = 2;
    auto server = Server::create(options, [this](Request& req, ResponseWriter& writer,
                                                 ConnectionInfo&) { return handle(req, writer); });
    ASSERT_TRUE(server.has_value()) << server.error().toString();
    server_ = std::move(*server);
    server_->start();
  }
  void TearDown() override {
    release_.store(true);
    if (server_) server_->shutdown(std::chrono::milliseconds(2000));
  }

  asio::awaitable<void> handle(Request& req, ResponseWriter& writer) {
    handled_.fetch_add(1);
    if (req.target() == "/slow") {
      // Holds the request open until the test releases it.
      asio::steady_timer t(co_await asio::this_coro::executor);
      while (!release_.load()) {
        t.expires_after(std::chrono::milliseconds(5));
        co_await t.async_wait(asio::use_awaitable);
      }
      (void)co_await writer.send(200, "text/plain", "slow done");
    } else if (req.target() == "/watched" || req.target() == "/watched-throws") {
      // Upstream-like work raced against the client: waits ~300 ms unless the client leaves.
      // The second kind lets the cancellation escape as an exception.
      const bool throws = req.target() == "/watched-throws";
      auto work = [throws]() -> asio::awaitable<std::string> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(std::chrono::milliseconds(300));
        if (throws) {
          co_await t.async_wait(asio::use_awaitable);
          co_return "worked";
        }
        auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return ec ? "cancelled" : "worked";
      };
      auto outcome = co_await writer.unlessClientGone(work());
      if (outcome.index() == 1) {
        // The handler goes on after the client left (as the gateway's request log does): its
        // own awaits are not cancelled too.
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
        co_await t.async_wait(asio::use_awaitable);
        client_gone_.fetch_add(1);
        co_return;
      }
      (void)co_await writer.send(
          200, "text/plain",
          std::string(req.method_string()) + " " + std::get<0>(outcome) + ":" + req.body());
    } else if (req.target() == "/stream") {
      (void)co_await writer.startStream(200, "text/event-stream");
      (void)co_await writer.write("data: 1\n\n");
      (void)co_await writer.write("data: 2\n\n");
      (void)co_await writer.finish();
    } else {
      (void)co_await writer.send(200, "text/plain", "echo:" + req.body());
    }
  }

  std::unique_ptr<Server> server_;
  std::atomic<bool> release_{false};
  std::atomic<int> handled_{0};
  std::atomic<int> client_gone_{0};
};

TEST_F(ServerTest, ClientThatLeavesCancelsTheWorkAtOnce) {
  startServer();
  RawClient c(server_->port());
  c.send("POST /watched HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\na");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the work is under way
  const auto left = std::chrono::steady_clock::now();
  c.close();
  for (int i = 0; i < 200 && client_gone_.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(client_gone_.load(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - left, std::chrono::milliseconds(200));
}

TEST_F(ServerTest, WorkThatThrowsWhenCancelledStillEndsAsClientGone) {
  startServer();
  for (int i = 0; i < 2; ++i) {  // the connection's coroutine and the server stay usable
    RawClient c(server_->port());
    c.send("POST /watched-throws HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\na");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c.close();
    for (int n = 0; n < 200 && client_gone_.load() == i; ++n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(client_gone_.load(), i + 1);
  }
  RawClient c(server_->port());
  c.send("POST /watched-throws HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nz");
  EXPECT_NE(c.receive("worked:z").find("POST worked:z"), std::string::npos);
}

TEST_F(ServerTest, PipelinedRequestNeitherCancelsTheWorkNorIsLost) {
  startServer();
  RawClient c(server_->port());
  c.send("POST /watched HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\na");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the watch is armed
  c.send("POST /watched HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nb");
  const std::string res = c.receive("worked:b");
  EXPECT_NE(res.find("POST worked:a"), std::string::npos) << res;
  EXPECT_NE(res.find("POST worked:b"), std::string::npos) << res;  // every byte of it
  EXPECT_LT(res.find("worked:a"), res.find("worked:b")) << res;
  EXPECT_EQ(client_gone_.load(), 0);
  EXPECT_EQ(handled_.load(), 2);
}

// A watched request leaves a receive pending (ClientWatch's read-ahead) that becomes the next
// request's first read: requests that come later on the same connection, watched or not, are
// each answered, and none of them counts as a client that left.
TEST_F(ServerTest, WatchedRequestsKeepTheConnectionAlive) {
  startServer();
  RawClient c(server_->port());
  for (int i = 0; i < 3; ++i) {
    const std::string body(1, static_cast<char>('a' + i));
    c.send("POST /watched HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n" + body);
    const std::string res = c.receive("worked:" + body);
    EXPECT_NE(res.find("POST worked:" + body), std::string::npos) << res;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the next one comes later
  }
  c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_NE(c.receive("echo:hi").find("echo:hi"), std::string::npos);
  EXPECT_EQ(handled_.load(), 4);
  EXPECT_EQ(client_gone_.load(), 0);
}

// After a watched request the connection waits for the next one on the pending read-ahead:
// the idle timeout still closes it, and a client that closes it is not a cancelled request.
TEST_F(ServerTest, IdleTimeoutClosesAConnectionAfterAWatchedRequest) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  startServer(options);
  RawClient c(server_->port());
  c.send("POST /watched HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\na");
  EXPECT_NE(c.receive("worked:a").find("POST worked:a"), std::string::npos);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  RawClient d(server_->port());
  d.send("POST /watched HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nb");
  EXPECT_NE(d.receive("worked:b").find("POST worked:b"), std::string::npos);
  d.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(client_gone_.load(), 0);
  EXPECT_EQ(server_->connections(), 0u);
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  startServer();
  RawClient c(server_->port());
  for (int i = 0; i < 3; ++i) {
    c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    std::string res = c.receive("echo:hi");
    EXPECT_NE(res.find("HTTP/1.1 200"), std::string::npos) << res;
    EXPECT_NE(res.find("echo:hi"), std::string::npos);
  }
  EXPECT_EQ(handled_.load(), 3);
}

// With busy polling the I/O threads spin between events instead of sleeping: requests on
// several connections are still answered, streamed, and the server still drains and stops.
TEST_F(ServerTest, BusyPollingWorkersServeStreamAndShutDown) {
  ServerOptions options;
  options.busy_poll = std::chrono::microseconds(200);
  startServer(options);
  RawClient a(server_->port());
  RawClient b(server_->port());
  for (int i = 0; i < 20; ++i) {
    RawClient& c = i % 2 == 0 ? a : b;
    c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    const std::string res = c.receive("echo:hi");
    ASSERT_NE(res.find("HTTP/1.1 200"), std::string::npos) << res;
  }
  // Idle longer than the window: the workers sleep, and a new request wakes them.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  a.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string streamed = a.receive("0\r\n\r\n");
  EXPECT_NE(streamed.find("data: 2"), std::string::npos) << streamed;
  EXPECT_EQ(handled_.load(), 21);
  b.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  // Wait for the handler itself (inFlight() may still count the stream on `a` for a moment
  // after its last chunk reached the client; a shutdown then would find `b` idle and close it).
  while (handled_.load() < 22) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto done = std::async(std::launch::async,
                         [&] { return server_->shutdown(std::chrono::milliseconds(5000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release_.store(true);
  EXPECT_EQ(done.get(), 0u);
  EXPECT_NE(b.receive().find("slow done"), std::string::npos);
}

// The workers' acceptors share the port through SO_REUSEPORT; a second server on the same
// port must not join that group and take a share of the connections.
TEST_F(ServerTest, SecondServerOnTheSamePortIsRefused) {
  startServer();
  ServerOptions options;
  options.port = server_->port();
  options.workers = 2;
  auto second = Server::create(
      options, [](Request&, ResponseWriter& writer, ConnectionInfo&) -> asio::awaitable<void> {
        (void)co_await writer.send(200, "text/plain", "second");
      });
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message().find("already in use"), std::string::npos)
      << second.error().toString();
  EXPECT_NE(second.error().message().find(std::to_string(server_->port())), std::string::npos);
  // The same check alone, as the gateway makes it before loading models.
  EXPECT_EQ(Server::checkAddress("127.0.0.1", server_->port()).code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(Server::checkAddress("127.0.0.1", 0).isOk());
  EXPECT_EQ(Server::checkAddress("not-an-address", 8080).code(), ErrorCode::kInvalidArgument);
  // Every connection still reaches the first server.
  for (int i = 0; i < 8; ++i) {
    RawClient c(server_->port());
    c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx");
    EXPECT_NE(c.receive("echo:x").find("echo:x"), std::string::npos);
  }
}

TEST_F(ServerTest, ChunkedStreamIsFramedAndTerminated) {
  startServer();
  RawClient c(server_->port());
  c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string res = c.receive("\r\n0\r\n\r\n");
  EXPECT_NE(res.find("Transfer-Encoding: chunked"), std::string::npos) << res;
  EXPECT_NE(res.find("data: 1\n\n"), std::string::npos);
  EXPECT_NE(res.find("data: 2\n\n"), std::string::npos);
}

TEST_F(ServerTest, OversizedBodyGets413) {
  ServerOptions options;
  options.max_body_bytes = 16;
  startServer(options);
  RawClient c(server_->port());
  c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n12345678901234567");
  std::string res = c.receive();
  EXPECT_NE(res.find("HTTP/1.1 413"), std::string::npos) << res;
  EXPECT_NE(res.find("larger than the limit of 16 bytes"), std::string::npos) << res;
  EXPECT_EQ(handled_.load(), 0);
}

// curl (over 1 MiB) and other clients send "Expect: 100-continue" and hold the body back until
// the server says so, or for a second when it never does.
TEST_F(ServerTest, ExpectContinueGetsAnInterimResponseBeforeTheBody) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(3000);  // without the 100: closed, not hung
  startServer(options);
  RawClient c(server_->port());
  for (int i = 0; i < 2; ++i) {  // and again on the same connection
    c.send("POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n");
    const std::string interim = c.receive("\r\n\r\n");
    EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    c.send("hello");
    const std::string res = c.receive("echo:hello");
    EXPECT_EQ(res.rfind("HTTP/1.1 200", 0), 0u) << res;
    EXPECT_NE(res.find("echo:hello"), std::string::npos) << res;
  }
  EXPECT_EQ(handled_.load(), 2);
}

TEST_F(ServerTest, ExpectContinueIsNotSentWhenTheBodyIsAlreadyThere) {
  startServer();
  RawClient c(server_->port());
  c.send("POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
  const std::string res = c.receive("echo:hi");
  EXPECT_EQ(res.rfind("HTTP/1.1 200", 0), 0u) << res;
}

TEST_F(ServerTest, ExpectContinueOverTheBodyLimitGets413Instead) {
  ServerOptions options;
  options.max_body_bytes = 16;
  startServer(options);
  RawClient c(server_->port());
  c.send("POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n");
  const std::string res = c.receive();  // the final answer, then the server closes
  EXPECT_EQ(res.rfind("HTTP/1.1 413", 0), 0u) << res;
  EXPECT_EQ(res.find("100 Continue"), std::string::npos) << res;
  EXPECT_EQ(handled_.load(), 0);
}

// A request that arrives in pieces (the header split mid-line, a chunked body over several
// writes) is assembled whole.
TEST_F(ServerTest, RequestInPiecesIsAssembled) {
  startServer();
  RawClient c(server_->port());
  const std::string pieces[] = {"POST /x HTTP/1.1\r\nHo",
                                "st: t\r\nTransfer-Encoding: chunked\r\n\r\n", "3\r\nabc\r\n",
                                "4\r\ndefg\r\n", "0\r\n\r\n"};
  for (const std::string& piece : pieces) {
    c.send(piece);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string res = c.receive("echo:abcdefg");
  EXPECT_NE(res.find("echo:abcdefg"), std::string::npos) << res;
  EXPECT_EQ(handled_.load(), 1);
}

TEST_F(ServerTest, ClientThatClosesMidBodyIsNotServed) {
  startServer();
  {
    RawClient c(server_->port());
    c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  RawClient d(server_->port());  // the server goes on serving
  d.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_NE(d.receive("echo:ok").find("echo:ok"), std::string::npos);
  EXPECT_EQ(handled_.load(), 1);
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  ServerOptions options;
  options.max_header_bytes = 256;
  startServer(options);
  RawClient c(server_->port());
  c.send("GET /x HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(1024, 'a') + "\r\n\r\n");
  std::string res = c.receive();
  EXPECT_NE(res.find("HTTP/1.1 431"), std::string::npos) << res;
}

// The limit counts the request line and every header line through the blank line, exactly,
// however the bytes arrive: whole, or one byte per write.
TEST_F(ServerTest, HeaderLimitIsExactWhateverTheReads) {
  ServerOptions options;
  options.max_header_bytes = 256;
  startServer(options);
  const std::string start = "GET /x HTTP/1.1\r\nHost: t\r\nX-Pad: ";
  const auto header = [&](std::size_t size) {
    return start + std::string(size - start.size() - 4, 'a') + "\r\n\r\n";
  };
  ASSERT_EQ(header(256).size(), 256u);
  for (const bool bytewise : {false, true}) {
    for (const std::size_t size : {256u, 257u}) {
      RawClient c(server_->port());
      const std::string request = header(size);
      if (bytewise) {
        for (char ch : request) c.send(std::string(1, ch));
      } else {
        c.send(request);
      }
      const std::string res = size == 256 ? c.receive("echo:") : c.receive();
      EXPECT_EQ(res.rfind(size == 256 ? "HTTP/1.1 200" : "HTTP/1.1 431", 0), 0u)
          << size << (bytewise ? " bytewise: " : ": ") << res;
    }
  }
  // A header that has not ended by the limit is refused before it ends.
  RawClient c(server_->port());
  c.send(start + std::string(300, 'a'));
  EXPECT_EQ(c.receive().rfind("HTTP/1.1 431", 0), 0u);
}

// The server closes after a response the client has not read yet (its receive window is
// small, the answer large), with input it will not read left in its socket (a pipelined
// request after "Connection: close"). A plain close() answers that input with a reset, and the
// kernel drops the part of the answer still queued; the server lingers instead, and the answer
// arrives whole.
TEST_F(ServerTest, LingeringCloseDeliversTheLastResponseWhole) {
  ServerOptions options;
  options.max_body_bytes = 16u << 20;
  startServer(options);
  asio::io_context io;
  tcp::socket socket(io);
  socket.open(tcp::v4());
  socket.set_option(asio::socket_base::receive_buffer_size(4096));
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  // More than the server's socket can buffer (4 MiB at most by default), so that it is still
  // writing when the next bytes come.
  const std::string body(8u << 20, 'b');
  asio::write(socket, asio::buffer("POST /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                   "Content-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n" + body));
  // The server has the request and waits for us to read its answer; what we send now stays
  // unread in its socket.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  asio::write(socket, asio::buffer(std::string_view("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string received;
  char buf[4096];
  boost::system::error_code ec;
  while (!ec) received.append(buf, socket.read_some(asio::buffer(buf), ec));
  EXPECT_EQ(ec, asio::error::eof) << ec.message() << " after " << received.size() << " bytes";
  const std::size_t head = received.find("\r\n\r\n");
  ASSERT_NE(head, std::string::npos);
  EXPECT_EQ(received.size() - head - 4, 5 + body.size());  // "echo:" + the body
  EXPECT_EQ(handled_.load(), 1);
}

TEST_F(ServerTest, MalformedRequestGets400) {
  startServer();
  RawClient c(server_->port());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  std::string res = c.receive();
  EXPECT_NE(res.find("HTTP/1.1 400"), std::string::npos) << res;
}

TEST_F(ServerTest, SlowClientIsCutOffAfterHeaderTimeout) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(200);
  startServer(options);
  RawClient c(server_->port());
  c.send("POST /x HTTP/1.1\r\nHost: t\r\n");  // never finishes its headers
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ServerTest, ConnectionCapAnswers503) {
  ServerOptions options;
  options.max_connections = 1;
  options.workers = 1;
  startServer(options);
  RawClient first(server_->port());
  first.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
  first.receive("echo:");
  RawClient second(server_->port());
  std::string res = second.receive();
  EXPECT_NE(res.find("HTTP/1.1 503"), std::string::npos) << res;
  EXPECT_NE(res.find("too many connections"), std::string::npos);
}

TEST_F(ServerTest, ShutdownDrainsInFlightRequests) {
  startServer();
  RawClient c(server_->port());
  c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  while (server_->inFlight() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  RawClient idle(server_->port());  // an idle keep-alive connection is closed at once
  // So is one waiting for its next request on a watched request's read-ahead.
  RawClient served(server_->port());
  served.send("POST /watched HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\na");
  EXPECT_NE(served.receive("worked:a").find("POST worked:a"), std::string::npos);
  auto done = std::async(std::launch::async,
                         [&] { return server_->shutdown(std::chrono::milliseconds(5000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(server_->draining());
  EXPECT_TRUE(idle.closedByPeer());
  EXPECT_TRUE(served.closedByPeer());
  release_.store(true);
  EXPECT_EQ(done.get(), 0u);  // nothing abandoned
  std::string res = c.receive();
  EXPECT_NE(res.find("slow done"), std::string::npos) << res;
  EXPECT_NE(res.find("Connection: close"), std::string::npos) << res;
}

// Connections waiting for their next request on a watched request's read-ahead, stopped at
// once: the shutdown may stop the workers before its cancel reached them, and each suspended
// coroutine (held by its own watch) must still be released (the ASan build's leak check).
TEST_F(ServerTest, ShutdownReleasesConnectionsWaitingOnTheirReadAhead) {
  startServer();
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<RawClient>(server_->port()));
    clients.back()->send("POST /watched HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\na");
  }
  for (auto& c : clients)
    EXPECT_NE(c->receive("worked:a").find("POST worked:a"), std::string::npos);
  // (The answer leaves before the request is counted done.)
  while (server_->inFlight() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(server_->shutdown(std::chrono::milliseconds(0)), 0u);
  for (auto& c : clients) EXPECT_TRUE(c->closedByPeer());
}

}  // namespace
}  // namespace switchyard::http
