#pragma once
// Blocking HTTP client and body parsers for integration tests that drive the gateway over real
// sockets: a keep-alive Client, one-shot request()/post(), and splitters for SSE and NDJSON
// bodies.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::fakes {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One HTTP response as the client saw it.
struct Reply {
  unsigned status = 0;
  boost::beast::http::fields headers;
  std::string body;

  // Value of response header `name` (any case), or "" when absent.
  std::string header(std::string_view name) const;
  // The body parsed as JSON (throws if it is not).
  boost::json::value json() const;
  // The body as NDJSON: one parsed value per non-empty line (throws on an incomplete line).
  std::vector<boost::json::value> lines() const;
};

// One keep-alive connection to 127.0.0.1:<port>. Every request it writes carries
// Content-Type: application/json. Errors (refused connection, a read on a closed socket) throw.
class Client {
 public:
  explicit Client(std::uint16_t port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Writes one request and reads its whole response.
  Reply call(boost::beast::http::verb method, std::string target, std::string body = {},
             Headers headers = {});
  Reply post(std::string target, std::string body);
  // Writes one POST and reads nothing.
  void send(std::string target, std::string body);
  // Reads one whole response.
  Reply readReply();
  // Reads the response headers and at least `bytes` of a streamed body (less if it ends).
  std::string readSome(std::size_t bytes);
  // Whether any of a response has arrived (without reading or waiting).
  bool answered();
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection. Content-Type: application/json is set when `body` is not
// empty. A read error ends the read quietly: a stream cut by an error still has what arrived.
// A HEAD response is read without a body.
Reply request(std::uint16_t port, boost::beast::http::verb method, const std::string& target,
              const std::string& body = "", const Headers& headers = {});
// request() with POST and always Content-Type: application/json.
Reply post(std::uint16_t port, const std::string& target, const std::string& body,
           const Headers& headers = {});

// The JSON of every "data: " line of an SSE body; a "[DONE]" sets *saw_done (when given).
std::vector<boost::json::value> sseData(const std::string& body, bool* saw_done = nullptr);

// One SSE event: its "event:" name ("" without one) and its data, parsed as JSON; the string
// "[DONE]" for the OpenAI terminator, null when it had no data.
struct SseEvent {
  std::string name;
  boost::json::value data;
};
// Every complete ("\n\n"-terminated) event of an SSE body, in order.
std::vector<SseEvent> sseEvents(const std::string& body);
// The names of `events`, in order.
std::vector<std::string> eventNames(const std::vector<SseEvent>& events);

}  // namespace switchyard::fakes
