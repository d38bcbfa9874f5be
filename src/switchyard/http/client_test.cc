#include "switchyard/http/client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/core/version.h"
#include "switchyard/http/sse.h"
#include "tests/fakes/fake_upstream.h"

namespace switchyard::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using fakes::Behavior;
using fakes::FakeUpstream;
using fakes::FakeUpstreamOptions;
using Clock = std::chrono::steady_clock;

std::uint16_t unusedPort() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io,
                                   asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::vector<std::string> sseData(std::string_view body) {
  SseParser parser;
  std::vector<std::string> out;
  parser.feed(body, [&](const SseEvent& e) { out.push_back(e.data); });
  return out;
}

std::string base64Decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) break;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() { makeClient({}); }

  void makeClient(const ClientOptions& options) {
    client_ = makeHttpClient(io_.get_executor(), options);
  }

  // Runs `aw` on io_ (this thread) until it completes.
  template <class T>
  T run(asio::awaitable<T> aw) {
    auto future = asio::co_spawn(io_, std::move(aw), asio::use_future);
    while (future.wait_for(0s) != std::future_status::ready) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(100ms);
    }
    return future.get();
  }

  static Origin originOf(const std::string& url) {
    auto origin = Origin::parse(url);
    EXPECT_TRUE(origin.has_value()) << url;
    return origin.value_or(Origin{});
  }

  static ClientRequest chatRequest(const Origin& origin, bool stream,
                                   std::string model = "gpt-test") {
    ClientRequest req;
    req.target = origin.base_path + "/chat/completions";
    req.headers.emplace_back("Authorization", "Bearer sk-test");
    req.body = R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])" +
               (stream ? R"(,"stream":true})" : "}");
    return req;
  }

  Result<ClientResponse> send(const Origin& origin, ClientRequest req, Timeouts t = {}) {
    return run(client_->send(origin, std::move(req), t));
  }

  Result<std::unique_ptr<ResponseStream>> openStream(const Origin& origin, ClientRequest req,
                                                     Timeouts t = {}) {
    return run(client_->stream(origin, std::move(req), t));
  }

  Result<std::string> read(ResponseStream& stream) { return run(stream.read()); }

  // Reads to the end; `pieces` gets every non-empty read.
  Result<std::string> readAll(ResponseStream& stream, std::vector<std::string>* pieces = nullptr) {
    std::string all;
    for (;;) {
      auto piece = read(stream);
      if (!piece) return piece;
      if (piece->empty()) return all;
      all += *piece;
      if (pieces != nullptr) pieces->push_back(*piece);
    }
  }

  asio::io_context io_;
  std::unique_ptr<HttpClient> client_;
  FakeUpstream upstream_;
  Origin origin_ = originOf(upstream_.baseUrl());
};

// ---- Origin ----------------------------------------------------------------------------------

TEST(OriginTest, ParsesUrls) {
  auto o = Origin::parse("https://api.openai.com/v1");
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->tls);
  EXPECT_EQ(o->host, "api.openai.com");
  EXPECT_EQ(o->port, 443);
  EXPECT_EQ(o->base_path, "/v1");
  EXPECT_EQ(o->key(), "https://api.openai.com:443");
  EXPECT_EQ(o->pool_key, o->key());

  o = Origin::parse("http://127.0.0.1:8081/openai/v1/");
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(o->tls);
  EXPECT_EQ(o->port, 8081);
  EXPECT_EQ(o->base_path, "/openai/v1");

  o = Origin::parse("http://[::1]:9000");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->base_path, "");
  EXPECT_EQ(o->key(), "http://[::1]:9000");

  o = Origin::parse("http://localhost");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->port, 80);
}

TEST(OriginTest, RejectsWhatItCannotServe) {
  for (const char* url :
       {"ftp://example.com/", "https://example.com/v1?x=1", "https://example.com/v1#frag",
        "https://user:pw@example.com/", "not a url", "http://example.com:0/", "/v1"}) {
    auto o = Origin::parse(url);
    ASSERT_FALSE(o.has_value()) << url;
    EXPECT_EQ(o.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(o.error().message().find(url), std::string::npos) << o.error().message();
  }
}

// ---- plain HTTP ------------------------------------------------------------------------------

TEST_F(ClientTest, PlainRequestSendsTheExpectedHeaders) {
  auto req = chatRequest(origin_, false, "echo-model");
  req.headers.emplace_back("X-Custom", "1");
  req.headers.emplace_back("Content-Length", "999");  // framing is the client's, not ours to set
  const std::string body = req.body;
  auto res = send(origin_, std::move(req));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->header("content-type"), "application/json");
  auto doc = json::parse(res->body).as_object();
  EXPECT_EQ(doc.at("object").as_string(), "chat.completion");
  EXPECT_EQ(doc.at("model").as_string(), "echo-model");

  auto got = upstream_.lastRequest();
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/v1/chat/completions");
  EXPECT_EQ(got.body, body);
  EXPECT_EQ(got.header("host"), "127.0.0.1:" + std::to_string(upstream_.port()));
  EXPECT_EQ(got.header("user-agent"), std::string("switchyard/") + kVersion);
  EXPECT_EQ(got.header("accept-encoding"), "identity");
  EXPECT_EQ(got.header("content-type"), "application/json");
  EXPECT_EQ(got.header("content-length"), std::to_string(body.size()));
  EXPECT_EQ(got.header("authorization"), "Bearer sk-test");
  EXPECT_EQ(got.header("x-custom"), "1");
}

TEST_F(ClientTest, GetWithoutBodySendsNoContentLength) {
  ClientRequest req;
  req.method = boost::beast::http::verb::get;
  req.target = origin_.base_path + "/models";
  auto res = send(origin_, std::move(req));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 200u);
  auto doc = json::parse(res->body).as_object();
  EXPECT_EQ(doc.at("data").as_array().size(), 2u);
  EXPECT_EQ(upstream_.lastRequest().header("content-length"), "");
}

TEST_F(ClientTest, KeepAliveReusesOneConnection) {
  for (int i = 0; i < 10; ++i) {
    auto res = send(origin_, chatRequest(origin_, false));
    ASSERT_TRUE(res.has_value()) << res.error().toString();
    EXPECT_EQ(res->status, 200u);
  }
  EXPECT_EQ(upstream_.requestCount(), 10u);
  EXPECT_EQ(upstream_.connectionsAccepted(), 1u);
}

TEST_F(ClientTest, ErrorStatusIsAResponseAndKeepsTheConnection) {
  upstream_.pushBehavior(Behavior::error(429, "slow down"));
  auto res = send(origin_, chatRequest(origin_, false));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 429u);
  auto error = json::parse(res->body).as_object().at("error").as_object();
  EXPECT_EQ(error.at("message").as_string(), "slow down");
  EXPECT_EQ(error.at("code").as_string(), "rate_limit_exceeded");
  ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  EXPECT_EQ(upstream_.connectionsAccepted(), 1u);
}

TEST_F(ClientTest, ConcurrentRequestsEachGetAConnectionThenReuseThem) {
  const Timeouts timeouts;
  auto round = [&] {
    std::vector<std::future<Result<ClientResponse>>> futures;
    for (int i = 0; i < 16; ++i) {
      futures.push_back(asio::co_spawn(
          io_, client_->send(origin_, chatRequest(origin_, false), timeouts), asio::use_future));
    }
    for (auto& f : futures) {
      while (f.wait_for(0s) != std::future_status::ready) {
        if (io_.stopped()) io_.restart();
        io_.run_one_for(100ms);
      }
      auto res = f.get();
      ASSERT_TRUE(res.has_value()) << res.error().toString();
      EXPECT_EQ(res->status, 200u);
    }
  };
  round();
  EXPECT_EQ(upstream_.connectionsAccepted(), 16u);
  round();
  EXPECT_EQ(upstream_.connectionsAccepted(), 16u);
  EXPECT_EQ(upstream_.requestCount(), 32u);
}

TEST_F(ClientTest, IdleConnectionsExpireFromThePool) {
  ClientOptions options;
  options.pool_idle_timeout = 100ms;
  makeClient(options);
  ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  std::this_thread::sleep_for(250ms);
  ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  EXPECT_EQ(upstream_.connectionsAccepted(), 2u);
  EXPECT_TRUE(upstream_.waitForActiveConnections(1, 2s));  // the expired one was closed
}

// A raw HTTP/1.1 server for what the fake upstream does not do: on its first connection it
// answers one request, then (after `stale_after`) writes a 408 and closes, as servers that time
// out idle keep-alive connections may; every later connection answers "fresh" once and closes.
class TimingOutServer {
 public:
  explicit TimingOutServer(std::chrono::milliseconds stale_after)
      : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        thread_([this, stale_after] { serve(stale_after); }) {}
  ~TimingOutServer() {
    stop_ = true;
    asio::ip::tcp::socket wake(io_);  // ends the blocking accept
    boost::system::error_code ignored;
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  // Reads one request (head + Content-Length body); false at end of stream.
  static bool readRequest(asio::ip::tcp::socket& socket) {
    std::string in;
    char buf[4096];
    for (;;) {
      const auto head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto at = in.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(in.substr(at + 16));
        if (in.size() >= head_end + 4 + length) return true;
      }
      boost::system::error_code ec;
      const std::size_t n = socket.read_some(asio::buffer(buf), ec);
      if (ec) return false;
      in.append(buf, n);
    }
  }
  static void answer(asio::ip::tcp::socket& socket, std::string_view body, bool close = false) {
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                 std::to_string(body.size()) +
                                 (close ? "\r\nConnection: close" : "") + "\r\n\r\n" +
                                 std::string(body);
    boost::system::error_code ignored;
    asio::write(socket, asio::buffer(response), ignored);
  }
  void serve(std::chrono::milliseconds stale_after) {
    for (;;) {
      asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      if (++connections_ == 1) {
        if (!readRequest(socket)) continue;
        answer(socket, "first");
        std::this_thread::sleep_for(stale_after);
        asio::write(
            socket,
            asio::buffer(std::string_view("HTTP/1.1 408 Request Timeout\r\n"
                                          "Content-Length: 0\r\nConnection: close\r\n\r\n")),
            ec);
        continue;  // closes the socket
      }
      if (readRequest(socket)) answer(socket, "fresh", /*close=*/true);
    }
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  const std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(ClientTest, ConnectionTheServerTimedOutIsNeverTheAnswer) {
  // Probed (idle past pool_probe_after: the peek sees the 408 and the close), or reused at
  // once and retried on a fresh connection when the 408 comes back: either way, the answer.
  for (const auto probe_after :
       {std::chrono::milliseconds(0), std::chrono::milliseconds(3'600'000)}) {
    SCOPED_TRACE("pool_probe_after " + std::to_string(probe_after.count()) + " ms");
    ClientOptions options;
    options.pool_probe_after = probe_after;
    makeClient(options);
    TimingOutServer server(20ms);
    auto origin = originOf("http://127.0.0.1:" + std::to_string(server.port()) + "/v1");
    auto first = send(origin, chatRequest(origin, false));
    ASSERT_TRUE(first.has_value()) << first.error().toString();
    EXPECT_EQ(first->body, "first");
    std::this_thread::sleep_for(150ms);  // the 408 and the close have arrived
    auto second = send(origin, chatRequest(origin, false));
    ASSERT_TRUE(second.has_value()) << second.error().toString();
    EXPECT_EQ(second->status, 200u);
    EXPECT_EQ(second->body, "fresh");
    EXPECT_EQ(server.connections(), 2);
  }
}

TEST_F(ClientTest, PoolOfZeroNeverReuses) {
  ClientOptions options;
  options.max_idle_per_origin = 0;
  makeClient(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  EXPECT_EQ(upstream_.connectionsAccepted(), 3u);
}

TEST_F(ClientTest, InvalidHeaderIsRejectedBeforeSending) {
  auto req = chatRequest(origin_, false);
  req.headers.emplace_back("X-Evil", "a\r\nInjected: yes");
  auto res = send(origin_, std::move(req));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(upstream_.requestCount(), 0u);
}

// ---- streaming -------------------------------------------------------------------------------

TEST_F(ClientTest, StreamingReadsArriveIncrementally) {
  Behavior paced;
  paced.chunk_interval = 60ms;  // 8 events: role, 5 words, stop, [DONE]
  upstream_.setBehavior(paced);
  const auto start = Clock::now();
  auto stream = openStream(origin_, chatRequest(origin_, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  EXPECT_EQ((*stream)->status(), 200u);
  EXPECT_EQ((*stream)->header("content-type"), "text/event-stream");

  std::vector<Clock::duration> at;
  std::string all;
  for (;;) {
    auto piece = read(**stream);
    ASSERT_TRUE(piece.has_value()) << piece.error().toString();
    if (piece->empty()) break;
    at.push_back(Clock::now() - start);
    all += *piece;
  }
  ASSERT_GE(at.size(), 6u);
  // The upstream paces 8 events 60 ms apart: the first read must not have waited for the rest.
  EXPECT_GE(at.back() - at.front(), 300ms);
  EXPECT_LT(at.front(), 1s);

  auto events = sseData(all);
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string content;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    auto delta = json::parse(events[i])
                     .as_object()
                     .at("choices")
                     .as_array()[0]
                     .as_object()
                     .at("delta")
                     .as_object();
    if (auto* c = delta.if_contains("content"); c && c->is_string()) content += c->as_string();
  }
  EXPECT_EQ(content, "Hello from the fake upstream!");

  // The finished stream gave its connection back.
  upstream_.setBehavior(Behavior::normal());
  ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  EXPECT_EQ(upstream_.connectionsAccepted(), 1u);
}

TEST_F(ClientTest, StreamedErrorStatusCanBeRead) {
  upstream_.pushBehavior(Behavior::error(500, "boom"));
  auto stream = openStream(origin_, chatRequest(origin_, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  EXPECT_EQ((*stream)->status(), 500u);
  auto body = readAll(**stream);
  ASSERT_TRUE(body.has_value());
  EXPECT_NE(body->find("boom"), std::string::npos);
}

TEST_F(ClientTest, EarlyDestroyOfAStreamClosesTheConnection) {
  Behavior slow;
  slow.chunk_interval = 30ms;
  slow.content = std::string(200, 'w');
  for (int i = 0; i < 100; ++i) slow.content += " w";
  upstream_.setBehavior(slow);
  auto stream = openStream(origin_, chatRequest(origin_, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  auto piece = read(**stream);
  ASSERT_TRUE(piece.has_value());
  EXPECT_FALSE(piece->empty());
  EXPECT_EQ(upstream_.activeConnections(), 1u);
  stream->reset();
  EXPECT_TRUE(upstream_.waitForActiveConnections(0, 3s));

  upstream_.setBehavior(Behavior::normal());
  ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  EXPECT_EQ(upstream_.connectionsAccepted(), 2u);  // nothing half-read went back to the pool
}

TEST_F(ClientTest, ReadingStopsWhenTheCallerStops) {
  const std::string piece(64 * 1024, 'x');
  Behavior big = Behavior::customStream({piece}, 0ms, "application/octet-stream");
  big.repeat = 1024;  // 64 MiB
  upstream_.setBehavior(big);
  auto stream = openStream(origin_, chatRequest(origin_, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  ASSERT_TRUE(read(**stream).has_value());
  std::this_thread::sleep_for(300ms);
  // Only socket buffers' worth went out: the upstream is held back, not drained into memory.
  EXPECT_LT(upstream_.bodyBytesSent(), 32u * 1024 * 1024);
  stream->reset();
  EXPECT_TRUE(upstream_.waitForActiveConnections(0, 3s));
}

TEST_F(ClientTest, StreamsAreNotCappedByTheResponseLimit) {
  ClientOptions options;
  options.max_response_bytes = 1024;
  makeClient(options);
  upstream_.setBehavior(Behavior::customBody(200, std::string(4096, 'a'), "text/plain"));
  auto stream = openStream(origin_, chatRequest(origin_, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  auto body = readAll(**stream);
  ASSERT_TRUE(body.has_value()) << body.error().toString();
  EXPECT_EQ(body->size(), 4096u);
}

TEST_F(ClientTest, CutStreamIsAnUpstreamError) {
  upstream_.setBehavior(Behavior::cutStream(3));
  auto stream = openStream(origin_, chatRequest(origin_, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  std::string all;
  Result<std::string> piece;
  for (;;) {
    piece = read(**stream);
    if (!piece || piece->empty()) break;
    all += *piece;
  }
  ASSERT_FALSE(piece.has_value());
  EXPECT_EQ(piece.error().code(), ErrorCode::kUpstream);
  EXPECT_NE(piece.error().message().find("127.0.0.1:" + std::to_string(upstream_.port())),
            std::string::npos)
      << piece.error().message();
  EXPECT_EQ(sseData(all).size(), 3u);
  // The error sticks.
  auto again = read(**stream);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kUpstream);
}

// ---- failures --------------------------------------------------------------------------------

TEST_F(ClientTest, HangTimesOutAtFirstByte) {
  upstream_.setBehavior(Behavior::hang());
  Timeouts t;
  t.first_byte = 200ms;
  auto start = Clock::now();
  auto res = send(origin_, chatRequest(origin_, false), t);
  auto elapsed = Clock::now() - start;
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(res.error().message().find("127.0.0.1:" + std::to_string(upstream_.port())),
            std::string::npos)
      << res.error().message();
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 2s);

  start = Clock::now();
  auto stream = openStream(origin_, chatRequest(origin_, true), t);
  ASSERT_FALSE(stream.has_value());
  EXPECT_EQ(stream.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(ClientTest, SilentStreamHitsTheIdleTimeout) {
  upstream_.setBehavior(Behavior::customStream({"data: a\n\n", "data: b\n\n"}, 1500ms));
  Timeouts t;
  t.idle = 150ms;
  auto stream = openStream(origin_, chatRequest(origin_, true), t);
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  auto first = read(**stream);
  ASSERT_TRUE(first.has_value()) << first.error().toString();
  EXPECT_EQ(*first, "data: a\n\n");
  const auto start = Clock::now();
  auto second = read(**stream);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(ClientTest, DelayBeforeHeadersWithinTheTimeoutSucceeds) {
  upstream_.pushBehavior(Behavior::delayed(250ms));
  Timeouts t;
  t.first_byte = 2s;
  const auto start = Clock::now();
  auto res = send(origin_, chatRequest(origin_, false), t);
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_GE(Clock::now() - start, 240ms);
}

TEST_F(ClientTest, ResetIsAnUpstreamError) {
  upstream_.setBehavior(Behavior::reset());
  auto res = send(origin_, chatRequest(origin_, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUpstream);
  EXPECT_NE(res.error().message().find("127.0.0.1:" + std::to_string(upstream_.port())),
            std::string::npos)
      << res.error().message();
  EXPECT_EQ(upstream_.connectionsAccepted(), 1u);  // a fresh connection is never retried
}

TEST_F(ClientTest, DeadPooledConnectionIsRetriedOnceOnAFreshOne) {
  upstream_.pushBehavior(Behavior::normal());
  upstream_.pushBehavior(Behavior::reset());  // the pooled connection dies under request 2
  ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  auto res = send(origin_, chatRequest(origin_, false));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(upstream_.requestCount(), 3u);
  EXPECT_EQ(upstream_.connectionsAccepted(), 2u);
}

TEST_F(ClientTest, RetryHappensOnlyOnce) {
  upstream_.pushBehavior(Behavior::normal());
  upstream_.pushBehavior(Behavior::reset());
  upstream_.pushBehavior(Behavior::reset());
  ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  auto res = send(origin_, chatRequest(origin_, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUpstream);
  EXPECT_EQ(upstream_.connectionsAccepted(), 2u);
}

TEST_F(ClientTest, NoRetryOnceTheResponseHasStarted) {
  upstream_.pushBehavior(Behavior::normal());
  // Part of a response, then the connection closes: the request may have been served.
  upstream_.pushBehavior(Behavior::raw("HTTP/1.1 200 OK\r\nContent-Len"));
  ASSERT_TRUE(send(origin_, chatRequest(origin_, false)).has_value());
  auto res = send(origin_, chatRequest(origin_, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUpstream);
  EXPECT_EQ(upstream_.requestCount(), 2u);
  EXPECT_EQ(upstream_.connectionsAccepted(), 1u);
}

TEST_F(ClientTest, MalformedResponseIsAnUpstreamError) {
  upstream_.setBehavior(Behavior::raw("SMTP ready\r\n\r\n"));
  auto res = send(origin_, chatRequest(origin_, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUpstream);
  EXPECT_NE(res.error().message().find("malformed response from 127.0.0.1:"), std::string::npos)
      << res.error().message();

  // Bad chunked framing in the middle of a stream.
  upstream_.setBehavior(
      Behavior::raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"));
  auto stream = openStream(origin_, chatRequest(origin_, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  auto body = readAll(**stream);
  ASSERT_FALSE(body.has_value());
  EXPECT_EQ(body.error().code(), ErrorCode::kUpstream);
}

TEST_F(ClientTest, ServerClosingAnIdleConnectionIsSurvived) {
  Behavior closing;
  closing.close_after = true;
  upstream_.setBehavior(closing);
  for (int i = 0; i < 3; ++i) {
    auto res = send(origin_, chatRequest(origin_, false));
    ASSERT_TRUE(res.has_value()) << res.error().toString();
  }
  EXPECT_EQ(upstream_.requestCount(), 3u);
  EXPECT_EQ(upstream_.connectionsAccepted(), 3u);
}

TEST_F(ClientTest, ConnectionRefusedIsUnavailable) {
  const auto port = unusedPort();
  auto origin = originOf("http://127.0.0.1:" + std::to_string(port) + "/v1");
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(res.error().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << res.error().message();
}

TEST_F(ClientTest, UnknownHostIsUnavailable) {
  auto origin = originOf("http://no-such-host.invalid:8080/v1");
  Timeouts t;
  t.connect = 5s;
  auto res = send(origin, chatRequest(origin, false), t);
  ASSERT_FALSE(res.has_value());
  EXPECT_TRUE(res.error().code() == ErrorCode::kUnavailable ||
              res.error().code() == ErrorCode::kDeadlineExceeded)
      << res.error().toString();
  EXPECT_NE(res.error().message().find("no-such-host.invalid:8080"), std::string::npos)
      << res.error().message();
}

TEST_F(ClientTest, HostNameIsResolved) {
  auto origin = originOf("http://localhost:" + std::to_string(upstream_.port()) + "/v1");
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(upstream_.lastRequest().header("host"),
            "localhost:" + std::to_string(upstream_.port()));
}

TEST_F(ClientTest, ResponseLargerThanTheLimitIsRejected) {
  ClientOptions options;
  options.max_response_bytes = 1024;
  makeClient(options);

  upstream_.pushBehavior(Behavior::customBody(200, std::string(1024, 'a'), "text/plain"));
  auto res = send(origin_, chatRequest(origin_, false));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->body.size(), 1024u);

  upstream_.pushBehavior(Behavior::customBody(200, std::string(4096, 'a'), "text/plain"));
  res = send(origin_, chatRequest(origin_, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUpstream);
  EXPECT_NE(res.error().message().find("larger than the limit of 1024 bytes"), std::string::npos)
      << res.error().message();

  // Chunked, so the size is only known as it arrives.
  Behavior chunked = Behavior::customStream({std::string(600, 'b')}, 0ms, "text/plain");
  chunked.repeat = 4;
  upstream_.pushBehavior(chunked);
  res = send(origin_, chatRequest(origin_, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUpstream);
}

TEST_F(ClientTest, CancelledRequestLeavesThePoolUsable) {
  using namespace asio::experimental::awaitable_operators;
  upstream_.pushBehavior(Behavior::hang());
  Timeouts t;
  t.first_byte = 5s;
  auto race = [&]() -> asio::awaitable<std::size_t> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
    auto winner = co_await (client_->send(origin_, chatRequest(origin_, false), t) ||
                            timer.async_wait(asio::use_awaitable));
    co_return winner.index();
  };
  const auto start = Clock::now();
  EXPECT_EQ(run(race()), 1u);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(upstream_.waitForActiveConnections(0, 2s));  // the hung connection was dropped
  auto res = send(origin_, chatRequest(origin_, false));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(upstream_.connectionsAccepted(), 2u);
}

// ---- TLS -------------------------------------------------------------------------------------

class TlsClientTest : public ClientTest {
 protected:
  static FakeUpstreamOptions tlsOptions(std::vector<std::string> names = {"localhost",
                                                                          "127.0.0.1"}) {
    FakeUpstreamOptions options;
    options.tls = true;
    options.cert_names = std::move(names);
    return options;
  }
};

TEST_F(TlsClientTest, TrustedSelfSignedCertificateWorksAndKeepsAlive) {
  FakeUpstream tls(tlsOptions());
  ClientOptions options;
  options.ca_file = tls.caFile();
  makeClient(options);
  auto origin = originOf(tls.baseUrl());
  EXPECT_TRUE(origin.tls);
  for (int i = 0; i < 3; ++i) {
    auto res = send(origin, chatRequest(origin, false));
    ASSERT_TRUE(res.has_value()) << res.error().toString();
    EXPECT_EQ(res->status, 200u);
  }
  EXPECT_EQ(tls.connectionsAccepted(), 1u);
  EXPECT_EQ(tls.lastRequest().sni, "");  // no SNI for an IP literal

  auto stream = openStream(origin, chatRequest(origin, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  auto body = readAll(**stream);
  ASSERT_TRUE(body.has_value()) << body.error().toString();
  EXPECT_EQ(sseData(*body).back(), "[DONE]");
}

TEST_F(TlsClientTest, SendsServerNameIndication) {
  FakeUpstream tls(tlsOptions());
  ClientOptions options;
  options.ca_file = tls.caFile();
  makeClient(options);
  auto origin = originOf("https://localhost:" + std::to_string(tls.port()) + "/v1");
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(tls.lastRequest().sni, "localhost");
}

TEST_F(TlsClientTest, UntrustedCertificateFailsVerification) {
  FakeUpstream tls(tlsOptions());
  auto origin = originOf(tls.baseUrl());
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(res.error().message().find("certificate verify failed"), std::string::npos)
      << res.error().message();
  EXPECT_NE(res.error().message().find("self-signed certificate"), std::string::npos)
      << res.error().message();
  EXPECT_EQ(tls.requestCount(), 0u);
}

TEST_F(TlsClientTest, HostNameMismatchFailsVerification) {
  FakeUpstream tls(tlsOptions({"other.example"}));
  ClientOptions options;
  options.ca_file = tls.caFile();
  makeClient(options);
  auto origin = originOf(tls.baseUrl());
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(res.error().message().find("certificate does not match host '127.0.0.1'"),
            std::string::npos)
      << res.error().message();
  EXPECT_EQ(tls.requestCount(), 0u);
}

TEST_F(TlsClientTest, VerificationCanBeTurnedOff) {
  FakeUpstream tls(tlsOptions({"other.example"}));
  ClientOptions options;
  options.verify_peer = false;
  makeClient(options);
  auto origin = originOf(tls.baseUrl());
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
}

TEST_F(TlsClientTest, MissingCaFileIsReported) {
  ClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  makeClient(options);
  auto origin = originOf("https://127.0.0.1:1/v1");
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_NE(res.error().message().find("/nonexistent/ca.pem"), std::string::npos)
      << res.error().message();
}

// ---- the fake's wire format, as other modules' tests rely on it ----------------------------

TEST_F(ClientTest, FakeStreamsUsageWhenAskedFor) {
  auto req = chatRequest(origin_, true);
  req.body = R"({"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}})";
  auto stream = openStream(origin_, std::move(req));
  ASSERT_TRUE(stream.has_value());
  auto body = readAll(**stream);
  ASSERT_TRUE(body.has_value());
  auto events = sseData(*body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  auto usage_chunk = json::parse(events[events.size() - 2]).as_object();
  EXPECT_TRUE(usage_chunk.at("choices").as_array().empty());
  EXPECT_EQ(usage_chunk.at("usage").at("completion_tokens").as_int64(), 5);
  EXPECT_EQ(usage_chunk.at("usage").at("prompt_tokens").as_int64(), 12);
  EXPECT_TRUE(json::parse(events[0]).as_object().at("usage").is_null());
}

TEST_F(ClientTest, FakeSplitsToolCallArguments) {
  upstream_.setBehavior(Behavior::toolCall());
  auto stream = openStream(origin_, chatRequest(origin_, true));
  ASSERT_TRUE(stream.has_value());
  auto body = readAll(**stream);
  ASSERT_TRUE(body.has_value());
  std::string name;
  std::string arguments;
  int argument_chunks = 0;
  std::string finish;
  for (const auto& data : sseData(*body)) {
    if (data == "[DONE]") break;
    auto choice = json::parse(data).at("choices").as_array()[0].as_object();
    if (choice.at("finish_reason").is_string()) finish = choice.at("finish_reason").as_string();
    auto& delta = choice.at("delta").as_object();
    if (auto* calls = delta.if_contains("tool_calls")) {
      auto& fn = calls->as_array()[0].at("function").as_object();
      if (auto* n = fn.if_contains("name")) name = n->as_string();
      const auto& piece = fn.at("arguments").as_string();
      if (!piece.empty()) ++argument_chunks;
      arguments += piece;
    }
  }
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(arguments, Behavior{}.tool_arguments);
  EXPECT_GT(argument_chunks, 5);
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(ClientTest, FakeServesCompletionsAndEmbeddings) {
  ClientRequest req;
  req.target = "/v1/completions";
  req.body = R"({"model":"text-model","prompt":"hi"})";
  auto res = send(origin_, std::move(req));
  ASSERT_TRUE(res.has_value());
  auto doc = json::parse(res->body);
  EXPECT_EQ(doc.at("object").as_string(), "text_completion");
  EXPECT_EQ(doc.at("model").as_string(), "text-model");
  EXPECT_EQ(doc.at("choices").as_array()[0].at("text").as_string(),
            "Hello from the fake upstream!");

  auto embed = [&](std::string_view format) {
    ClientRequest r;
    r.target = "/v1/embeddings";
    r.body = std::string(R"({"model":"e","input":["a","b"],"encoding_format":")") +
             std::string(format) + "\"}";
    auto out = send(origin_, std::move(r));
    EXPECT_TRUE(out.has_value());
    return json::parse(out->body);
  };
  auto floats = embed("float");
  auto b64 = embed("base64");
  ASSERT_EQ(floats.at("data").as_array().size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& values = floats.at("data").as_array()[i].at("embedding").as_array();
    ASSERT_EQ(values.size(), 8u);
    const std::string raw = base64Decode(b64.at("data").as_array()[i].at("embedding").as_string());
    ASSERT_EQ(raw.size(), 8 * sizeof(float));
    for (std::size_t j = 0; j < 8; ++j) {
      float f;
      std::memcpy(&f, raw.data() + j * sizeof(float), sizeof f);
      EXPECT_EQ(static_cast<double>(f), values[j].to_number<double>());
    }
  }
  EXPECT_NE(floats.at("data").as_array()[0].at("embedding"),
            floats.at("data").as_array()[1].at("embedding"));
}

// ---- proxies ---------------------------------------------------------------------------------

// A forward proxy on 127.0.0.1 for one test: CONNECT tunnels and absolute-form HTTP requests,
// to upstreams it knows by "host:port" (names no resolver knows, so only the proxy can reach
// them). Records each request head; with `required_auth`, anything else gets a 407.
class FakeProxy {
 public:
  FakeProxy(std::map<std::string, std::uint16_t> routes, std::string required_auth = "")
      : routes_(std::move(routes)),
        required_auth_(std::move(required_auth)),
        acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] { acceptLoop(); });
  }
  ~FakeProxy() {
    {
      // shutdown() wakes the threads blocked on these sockets (close() would not).
      std::lock_guard lock(mu_);
      stopping_ = true;
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
      boost::system::error_code ec;
      for (auto& socket : sockets_) socket->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    }
    accept_thread_.join();
    for (auto& t : threads_) t.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> heads() const {
    std::lock_guard lock(mu_);
    return heads_;
  }

 private:
  using Socket = std::shared_ptr<asio::ip::tcp::socket>;

  Socket track(Socket s) {
    std::lock_guard lock(mu_);
    sockets_.push_back(s);
    return s;
  }

  void acceptLoop() {
    for (;;) {
      auto client = std::make_shared<asio::ip::tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*client, ec);
      std::lock_guard lock(mu_);
      if (ec || stopping_) return;
      sockets_.push_back(client);
      threads_.emplace_back([this, client] { serve(client); });
    }
  }

  void serve(Socket client) {
    boost::system::error_code ec;
    std::string in;
    const std::size_t end = asio::read_until(*client, asio::dynamic_buffer(in), "\r\n\r\n", ec);
    if (ec) return;
    const std::string head = in.substr(0, end);
    in.erase(0, end);
    {
      std::lock_guard lock(mu_);
      heads_.push_back(head);
    }
    const std::string line = head.substr(0, head.find("\r\n"));
    const std::string method = line.substr(0, line.find(' '));
    std::string target = line.substr(method.size() + 1);
    target = target.substr(0, target.find(' '));
    if (!required_auth_.empty() &&
        head.find("\r\nProxy-Authorization: " + required_auth_ + "\r\n") == std::string::npos) {
      asio::write(*client,
                  asio::buffer(std::string_view("HTTP/1.1 407 Proxy Authentication Required\r\n"
                                                "Proxy-Authenticate: Basic realm=\"t\"\r\n"
                                                "Content-Length: 0\r\n\r\n")),
                  ec);
      return;
    }
    std::string authority = target;
    std::string forward;        // what goes to the upstream first
    if (method != "CONNECT") {  // absolute form: http://host:port/path -> /path
      authority = target.substr(7, target.find('/', 7) - 7);
      forward = method + " " + target.substr(7 + authority.size()) + line.substr(line.rfind(' ')) +
                head.substr(line.size()) + in;
    }
    const auto route = routes_.find(authority);
    if (route == routes_.end()) {
      asio::write(*client,
                  asio::buffer(std::string_view("HTTP/1.1 502 Bad Gateway\r\n"
                                                "Content-Length: 0\r\n\r\n")),
                  ec);
      return;
    }
    auto upstream = track(std::make_shared<asio::ip::tcp::socket>(io_));
    upstream->connect({asio::ip::make_address("127.0.0.1"), route->second}, ec);
    if (ec) return;
    if (method == "CONNECT") {
      asio::write(*client,
                  asio::buffer(std::string_view("HTTP/1.1 200 Connection established\r\n\r\n")),
                  ec);
    } else {
      asio::write(*upstream, asio::buffer(forward), ec);
    }
    // Both directions until either side closes.
    std::thread back([client, upstream] { pipe(*upstream, *client); });
    pipe(*client, *upstream);
    back.join();
  }

  static void pipe(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to) {
    std::array<char, 16384> buf;
    boost::system::error_code ec;
    for (;;) {
      const std::size_t n = from.read_some(asio::buffer(buf), ec);
      if (ec || asio::write(to, asio::buffer(buf.data(), n), ec) != n || ec) break;
    }
    to.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    from.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }

  std::map<std::string, std::uint16_t> routes_;
  std::string required_auth_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  mutable std::mutex mu_;
  bool stopping_ = false;
  std::vector<Socket> sockets_;
  std::vector<std::string> heads_;
  std::thread accept_thread_;
  std::vector<std::thread> threads_;
};

std::shared_ptr<const ProxySettings> proxySettings(std::string https, std::string http) {
  auto s = ProxySettings::parse(https, http, "");
  EXPECT_TRUE(s.has_value()) << s.error().toString();
  return std::make_shared<const ProxySettings>(s.value_or(ProxySettings{}));
}

// An https:// upstream through HTTPS_PROXY: a CONNECT tunnel with the proxy's credentials, TLS
// end to end (SNI and the certificate are the upstream's), kept alive and reused.
TEST_F(TlsClientTest, HttpsUpstreamThroughAConnectTunnel) {
  FakeUpstream tls(tlsOptions({"api.upstream.test"}));
  FakeProxy proxy({{"api.upstream.test:443", tls.port()}}, "Basic dTpw");  // u:p
  ClientOptions options;
  options.ca_file = tls.caFile();
  options.proxy = proxySettings("http://u:p@127.0.0.1:" + std::to_string(proxy.port()), "");
  makeClient(options);
  auto origin = originOf("https://api.upstream.test/v1");
  for (int i = 0; i < 2; ++i) {
    auto res = send(origin, chatRequest(origin, false));
    ASSERT_TRUE(res.has_value()) << res.error().toString();
    EXPECT_EQ(res->status, 200u);
  }
  EXPECT_EQ(tls.lastRequest().sni, "api.upstream.test");
  EXPECT_EQ(tls.lastRequest().target, "/v1/chat/completions");
  EXPECT_EQ(tls.connectionsAccepted(), 1u);  // the tunnel is pooled like any connection
  const auto heads = proxy.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0].rfind("CONNECT api.upstream.test:443 HTTP/1.1\r\n", 0), 0u) << heads[0];
  EXPECT_NE(heads[0].find("Proxy-Authorization: Basic dTpw"), std::string::npos);
  EXPECT_EQ(heads[0].find("sk-test"), std::string::npos);  // the API key stays inside TLS

  auto stream = openStream(origin, chatRequest(origin, true));
  ASSERT_TRUE(stream.has_value()) << stream.error().toString();
  auto body = readAll(**stream);
  ASSERT_TRUE(body.has_value()) << body.error().toString();
  EXPECT_EQ(sseData(*body).back(), "[DONE]");
}

TEST_F(TlsClientTest, ProxyRefusingTheTunnelIsAClearError) {
  FakeUpstream tls(tlsOptions({"api.upstream.test"}));
  FakeProxy proxy({{"api.upstream.test:443", tls.port()}}, "Basic dTpw");
  ClientOptions options;
  options.ca_file = tls.caFile();
  options.proxy = proxySettings("127.0.0.1:" + std::to_string(proxy.port()), "");  // no user
  makeClient(options);
  auto origin = originOf("https://api.upstream.test/v1");
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(res.error().message(), "proxy http://127.0.0.1:" + std::to_string(proxy.port()) +
                                       " refused the tunnel to api.upstream.test:443: 407 Proxy "
                                       "Authentication Required");
  EXPECT_EQ(tls.connectionsAccepted(), 0u);

  const std::uint16_t closed = unusedPort();
  options.proxy = proxySettings("http://127.0.0.1:" + std::to_string(closed), "");
  makeClient(options);
  res = send(origin, chatRequest(origin, false));
  ASSERT_FALSE(res.has_value());
  EXPECT_NE(res.error().message().find("cannot connect to proxy http://127.0.0.1:" +
                                       std::to_string(closed)),
            std::string::npos)
      << res.error().message();
}

// An http:// upstream through HTTP_PROXY: requests in absolute form, with the credentials;
// loopback upstreams still go direct.
TEST_F(ClientTest, HttpUpstreamThroughAProxyInAbsoluteForm) {
  FakeProxy proxy({{"vllm.lan:8000", upstream_.port()}});
  ClientOptions options;
  options.proxy = proxySettings("", "http://ops:pw@127.0.0.1:" + std::to_string(proxy.port()));
  makeClient(options);
  auto origin = originOf("http://vllm.lan:8000/v1");
  auto res = send(origin, chatRequest(origin, false));
  ASSERT_TRUE(res.has_value()) << res.error().toString();
  EXPECT_EQ(res->status, 200u);
  const auto heads = proxy.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0].rfind("POST http://vllm.lan:8000/v1/chat/completions HTTP/1.1\r\n", 0), 0u)
      << heads[0];
  EXPECT_NE(heads[0].find("Proxy-Authorization: Basic b3BzOnB3"), std::string::npos);  // ops:pw
  EXPECT_EQ(upstream_.lastRequest().target, "/v1/chat/completions");

  auto direct = send(origin_, chatRequest(origin_, false));  // 127.0.0.1: never proxied
  ASSERT_TRUE(direct.has_value()) << direct.error().toString();
  EXPECT_EQ(proxy.heads().size(), 1u);
}

}  // namespace
}  // namespace switchyard::http
