// Raw HTTP bytes, both sides of the running gateway. The `gateway` target sends well-formed
// requests so that the handlers get the coverage; this one feeds the framing itself: the
// server's own request reading (Beast's parser under our buffer, the disconnect watch, body and
// header limits, keep-alive, pipelining) and the upstream client's response parsing (status
// line and header fields into our vector, Content-Length, chunked bodies, SSE relayed as it
// comes).
//
// Input: byte 0 picks the side.
// - Client side (even): the rest, then one more request (GET /healthz with Connection: close),
//   is written to a fresh connection to the gateway, which is then half-closed. The request
//   after the fuzzed bytes keeps the last fuzzed request from reading as abandoned (a request
//   whose client half-closes is cancelled, as nginx and Go do; one with bytes pipelined behind
//   it runs to the end). Nothing says "HEAD" (its answer has no body, which the reader cannot
//   tell without parsing the request; the bytes are changed to "HEAF").
// - Upstream side (odd): a valid request (byte 1 picks chat, chat streamed, Anthropic
//   Messages, Anthropic streamed, Ollama chat, or legacy completions) whose upstream answers
//   with the rest of the input as raw bytes on the socket, then closes it.
//
// SY_FUZZ_VERBOSE=1 prints what the client received.
//
// Properties: nothing crashes, leaks or trips UBSan in any thread; every byte the gateway
// sends back parses as a sequence of HTTP/1.1 responses with nothing after the last, each with
// status 100..599 and never 500, every JSON error valid JSON with an "error"; the gateway
// closes the connection within 10 s of the client's end of input; and it still answers
// GET /healthz afterwards. On the client side also: the answers match the requests, as a
// parser with the gateway's limits reads them: one final (non-1xx) response per complete
// request, in order, up to the first that ends the connection, plus one for a malformed or
// oversized one; fewer only when the last response said "Connection: close"; none of the
// others says so.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/gateway_world.h"

namespace {

namespace sy = switchyard;
namespace fakes = switchyard::fakes;
namespace http = boost::beast::http;

// Small limits, so that the fuzzer reaches them (413, 431) with short inputs: kConfig's
// max_body_bytes and max_header_bytes, which askedBy() applies as the gateway does.
constexpr std::size_t kMaxBodyBytes = 4096;
constexpr std::size_t kMaxHeaderBytes = 1024;
constexpr std::string_view kConfig = R"(
server:
  listen: 127.0.0.1:0
  workers: 1
  max_body_bytes: 4KiB
  max_header_bytes: 1KiB
  header_timeout: 5s
  request_timeout: 10s
  drain_timeout: 1s
log: {level: "off", access_log: false}
storage: {url: "sqlite://@DIR@/switchyard.db"}
providers:
  - name: up
    kind: openai
    base_url: @UPSTREAM@
    locality: cloud:us
    timeouts: {connect: 2s, first_byte: 5s, idle: 5s}
    models: [fake-model]
routing:
  retry: {attempts: 1}
)";

sy::fuzz::GatewayWorld& world() {
  static sy::fuzz::GatewayWorld* w = sy::fuzz::startGatewayWorld("wire", kConfig);
  return *w;
}

// Writes `bytes` to a fresh connection, half-closes it when asked, and returns everything read
// until the gateway closes. A gateway that keeps the connection open 10 s after the end of
// input fails. (A half-close reads as a client that went away: a request in flight then is
// cancelled, so the upstream side does not half-close; its request says Connection: close.)
std::string exchange(std::uint16_t port, std::string_view bytes, bool half_close) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // libFuzzer's -timeout raises SIGALRM every few seconds: a connect it interrupts (EINTR) is
  // tried again on a fresh socket, a send or receive it interrupts continues.
  int fd = -1;
  for (;;) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    SY_FUZZ_CHECK(fd >= 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    SY_FUZZ_CHECK_MSG(errno == EINTR, std::string("connect: ") + std::strerror(errno));
    ::close(fd);
  }
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  // The gateway may answer and close before reading everything (413, 431, a malformed start):
  // a write that fails then is not an error.
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  std::string received;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      received.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    SY_FUZZ_CHECK_MSG(n == 0 || errno == ECONNRESET,
                      "no close 10 s after the end of input; received:\n" + received);
    break;
  }
  ::close(fd);
  return received;
}

bool validJsonWithError(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  return !ec && v.is_object() && v.as_object().contains("error");
}

// What a client's bytes ask for, read as the gateway reads them (its body and header limits):
// the complete requests up to the first that ends the connection, and whether a malformed or
// oversized request came next (which gets an error response). A request cut short by the end
// of input gets nothing: the client is gone.
struct Asked {
  std::size_t requests = 0;
  bool error = false;
  std::string why;  // the parser's error
};

Asked askedBy(std::string_view bytes) {
  Asked asked;
  while (!bytes.empty()) {
    http::request_parser<http::string_body> parser;
    parser.eager(false);  // stop after the header, to know its size
    parser.header_limit(std::numeric_limits<std::uint32_t>::max());
    parser.body_limit(kMaxBodyBytes);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!ec && !parser.is_header_done() && used < bytes.size()) {
      const std::size_t n = parser.put(boost::asio::buffer(bytes.substr(used)), ec);
      used += n;
      if (n == 0) break;
    }
    if (!ec || ec == http::error::need_more) {
      if (used > kMaxHeaderBytes || (!parser.is_header_done() && bytes.size() > kMaxHeaderBytes)) {
        ec = http::error::header_limit;
      } else if (!parser.is_header_done()) {
        break;  // cut short
      }
    }
    if (!ec) {
      parser.eager(true);
      while (!ec && !parser.is_done() && used < bytes.size()) {
        const std::size_t n = parser.put(boost::asio::buffer(bytes.substr(used)), ec);
        used += n;
        if (n == 0) break;
      }
      if (ec == http::error::need_more) ec = {};
      if (!ec && !parser.is_done()) {
        // A body that ends with the connection (no length, not chunked) is complete at EOF;
        // any other is cut short.
        boost::system::error_code eof;
        parser.put_eof(eof);
        if (!parser.is_done()) break;
      }
    }
    if (ec) {
      asked.error = true;
      asked.why = ec.message();
      break;
    }
    ++asked.requests;
    if (!parser.get().keep_alive()) break;
    bytes.remove_prefix(used);
  }
  return asked;
}

struct Answered {
  std::string statuses;       // of every response, in order
  std::size_t finals = 0;     // non-1xx responses
  bool closed_early = false;  // a response other than the last said Connection: close
  bool last_closes = false;   // the last one did
};

// `wire` must be whole HTTP/1.1 responses, one after another, and nothing else.
Answered checkResponses(std::string_view wire, const std::string& context) {
  Answered answered;
  std::size_t at = 0;
  while (at < wire.size()) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(boost::none);
    parser.header_limit(64 * 1024);
    boost::system::error_code ec;
    const std::string_view rest = wire.substr(at);
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (!ec && !parser.is_done()) parser.put_eof(ec);  // a body that ends with the connection
    SY_FUZZ_CHECK_MSG(!ec && parser.is_done(), context + "\nnot an HTTP response at byte " +
                                                   std::to_string(at) + " (" + ec.message() +
                                                   "):\n" + std::string(rest));
    const auto& response = parser.get();
    const unsigned status = response.result_int();
    const std::string what = context + "\n-> " + std::to_string(status) + "\n" + response.body();
    SY_FUZZ_CHECK_MSG(status >= 100 && status <= 599, what);
    SY_FUZZ_CHECK_MSG(status != 500, what);
    const std::string_view type = response[http::field::content_type];
    if (status >= 400 && type.starts_with("application/json")) {
      SY_FUZZ_CHECK_MSG(validJsonWithError(response.body()), what);
    }
    answered.statuses += std::to_string(status) + (response.keep_alive() ? " " : "(close) ");
    if (status >= 200) {
      answered.closed_early = answered.closed_early || answered.last_closes;
      answered.last_closes = !response.keep_alive();
      ++answered.finals;
    }
    at += used;
  }
  return answered;
}

constexpr std::string_view kClientSent = "client sent:\n";

struct UpstreamCase {
  std::string_view path;
  std::string_view body;
};

constexpr UpstreamCase kUpstreamCases[] = {
    {"/v1/chat/completions",
     R"({"model":"fake-model","messages":[{"role":"user","content":"hi"}]})"},
    {"/v1/chat/completions",
     R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},)"
     R"("messages":[{"role":"user","content":"hi"}]})"},
    {"/v1/messages",
     R"({"model":"fake-model","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})"},
    {"/v1/messages", R"({"model":"fake-model","max_tokens":16,"stream":true,)"
                     R"("messages":[{"role":"user","content":"hi"}]})"},
    {"/api/chat", R"({"model":"fake-model","messages":[{"role":"user","content":"hi"}]})"},
    {"/v1/completions", R"({"model":"fake-model","prompt":"hi","max_tokens":4})"},
};
constexpr std::size_t kUpstreamCaseCount = sizeof(kUpstreamCases) / sizeof(kUpstreamCases[0]);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  sy::fuzz::GatewayWorld& w = world();
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const bool verbose = std::getenv("SY_FUZZ_VERBOSE") != nullptr;

  std::string received, context;
  if ((data[0] & 1) == 0) {
    std::string bytes(payload);
    for (std::size_t at = bytes.find("HEAD"); at != std::string::npos; at = bytes.find("HEAD"))
      bytes[at + 3] = 'F';
    bytes += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    w.upstream->setBehavior(fakes::Behavior::normal());
    context = std::string(kClientSent) + bytes;
    received = exchange(w.gateway->port(), bytes, /*half_close=*/true);
  } else {
    const UpstreamCase& c = kUpstreamCases[data[1] % kUpstreamCaseCount];
    w.upstream->setBehavior(fakes::Behavior::raw(std::string(payload.substr(1))));
    const std::string request = "POST " + std::string(c.path) +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                                "\r\nConnection: close\r\nContent-Length: " +
                                std::to_string(c.body.size()) + "\r\n\r\n" + std::string(c.body);
    context = std::string(c.path) + " " + std::string(c.body) + "\nupstream sent:\n" +
              std::string(payload.substr(1));
    received = exchange(w.gateway->port(), request, /*half_close=*/false);
    SY_FUZZ_CHECK_MSG(!received.empty(), context + "\nno answer");
  }
  w.upstream->clearRequests();
  if (verbose) std::fprintf(stderr, "%.600s\n---\n", received.c_str());
  const Answered answered = checkResponses(received, context);
  if ((data[0] & 1) == 0) {
    const Asked asked = askedBy(std::string_view(context).substr(kClientSent.size()));
    const std::size_t expected = asked.requests + (asked.error ? 1 : 0);
    // The counts and the answer first: the detail shown is cut at 8,000 bytes.
    const std::string detail =
        std::to_string(asked.requests) + " requests" +
        (asked.error ? " and a bad one (" + asked.why + ")" : "") + ", " +
        std::to_string(answered.finals) + " responses: " + answered.statuses +
        "\nreceived (the end):\n" +
        received.substr(received.size() - std::min<std::size_t>(received.size(), 1500)) + "\n" +
        context;
    SY_FUZZ_CHECK_MSG(!answered.closed_early, detail);
    SY_FUZZ_CHECK_MSG(
        answered.finals == expected || (answered.finals < expected && answered.last_closes),
        detail);
  }

  const fakes::Reply health = fakes::request(w.gateway->port(), http::verb::get, "/healthz");
  SY_FUZZ_CHECK_MSG(health.status == 200, context + "\nthen /healthz -> " +
                                              std::to_string(health.status) + " " + health.body);
  return 0;
}
