#include "test_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <sstream>

namespace switchyard::fakes {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using asio::ip::tcp;

namespace {

tcp::endpoint local(std::uint16_t port) {
  return tcp::endpoint(asio::ip::make_address("127.0.0.1"), port);
}

// A blocking connect, tried again on a fresh socket when a signal interrupts it (EINTR: the
// fuzz targets share this client, and libFuzzer's -timeout raises SIGALRM every few seconds).
void connectLocal(beast::tcp_stream& stream, std::uint16_t port) {
  for (int attempt = 0;; ++attempt) {
    boost::system::error_code ec;
    stream.socket().close(ec);
    stream.socket().connect(local(port), ec);
    if (!ec) return;
    if (ec != asio::error::interrupted || attempt == 100) {
      throw boost::system::system_error(ec, "connect");
    }
  }
}

// Reads a whole message into `parser`, continuing when a signal interrupts the blocking read.
void readWhole(beast::tcp_stream& stream, beast::flat_buffer& buffer,
               bhttp::response_parser<bhttp::string_body>& parser, boost::system::error_code& ec) {
  do {
    ec = {};
    bhttp::read(stream, buffer, parser, ec);
  } while (ec == asio::error::interrupted);
}

}  // namespace

std::string Reply::header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : std::string(it->value());
}

json::value Reply::json() const { return json::parse(body); }

std::vector<json::value> Reply::lines() const {
  std::vector<json::value> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

struct Client::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;

  void write(bhttp::verb method, std::string target, std::string body, Headers headers) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::content_type, "application/json");
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(stream, req);
  }
};

Client::Client(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  connectLocal(impl_->stream, port);
}

Client::~Client() = default;

Reply Client::call(bhttp::verb method, std::string target, std::string body, Headers headers) {
  impl_->write(method, std::move(target), std::move(body), std::move(headers));
  return readReply();
}

Reply Client::post(std::string target, std::string body) {
  return call(bhttp::verb::post, std::move(target), std::move(body));
}

void Client::send(std::string target, std::string body) {
  impl_->write(bhttp::verb::post, std::move(target), std::move(body), {});
}

Reply Client::readReply() {
  bhttp::response_parser<bhttp::string_body> parser;
  boost::system::error_code ec;
  readWhole(impl_->stream, impl_->buffer, parser, ec);
  if (ec) throw boost::system::system_error(ec, "read");
  auto res = parser.release();
  return Reply{res.result_int(), res.base(), res.body()};
}

std::string Client::readSome(std::size_t bytes) {
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read_header(impl_->stream, impl_->buffer, parser);
  while (parser.get().body().size() < bytes && !parser.is_done()) {
    bhttp::read_some(impl_->stream, impl_->buffer, parser);
  }
  return parser.get().body();
}

bool Client::answered() {
  return impl_->buffer.size() > 0 || impl_->stream.socket().available() > 0;
}

void Client::close() { impl_->stream.socket().close(); }

namespace {

Reply oneShot(std::uint16_t port, bhttp::verb method, const std::string& target,
              const std::string& body, const Headers& headers, bool json_type) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  connectLocal(stream, port);
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (json_type) req.set(bhttp::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  if (method == bhttp::verb::head) parser.skip(true);
  boost::system::error_code ec;
  readWhole(stream, buffer, parser, ec);  // a stream cut by an error still has its body
  auto res = parser.release();
  return Reply{res.result_int(), res.base(), res.body()};
}

}  // namespace

Reply request(std::uint16_t port, bhttp::verb method, const std::string& target,
              const std::string& body, const Headers& headers) {
  return oneShot(port, method, target, body, headers, !body.empty());
}

Reply post(std::uint16_t port, const std::string& target, const std::string& body,
           const Headers& headers) {
  return oneShot(port, bhttp::verb::post, target, body, headers, true);
}

std::vector<json::value> sseData(const std::string& body, bool* saw_done) {
  std::vector<json::value> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    auto end = body.find("\n\n", pos);
    std::string data = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") {
      if (saw_done) *saw_done = true;
      continue;
    }
    out.push_back(json::parse(data));
  }
  return out;
}

std::vector<SseEvent> sseEvents(const std::string& body) {
  std::vector<SseEvent> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::string_view block(body.data() + pos, end - pos);
    pos = end + 2;
    SseEvent e;
    std::string data;
    while (!block.empty()) {
      auto nl = block.find('\n');
      std::string_view line = block.substr(0, nl);
      if (line.starts_with("event: ")) e.name = std::string(line.substr(7));
      if (line.starts_with("data: ")) data += line.substr(6);
      block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
    }
    if (data == "[DONE]") {
      e.data = "[DONE]";
    } else if (!data.empty()) {
      e.data = json::parse(data);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> eventNames(const std::vector<SseEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}

}  // namespace switchyard::fakes
