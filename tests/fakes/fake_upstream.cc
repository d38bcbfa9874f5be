#include "fake_upstream.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "switchyard/core/check.h"

namespace switchyard::fakes {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint64_t kMaxRequestBody = 64 * 1024 * 1024;

using Request = bhttp::request<bhttp::string_body>;

// ---------------------------------------------------------------------------------------------
// Self-signed certificate

struct Certificate {
  std::string cert_pem;
  std::string key_pem;
};

std::string bioToString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool addExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Certificate makeSelfSignedCertificate(const std::vector<std::string>& names) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  SY_CHECK(key != nullptr);
  X509* cert = X509_new();
  SY_CHECK(cert != nullptr);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("switchyard fake upstream"), -1,
                             -1, 0);
  X509_set_issuer_name(cert, subject);

  std::string san;
  for (const auto& name : names) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(name, ec);
    if (!san.empty()) san += ',';
    san += ec ? "DNS:" : "IP:";
    san += name;
  }
  SY_CHECK(addExtension(cert, NID_basic_constraints, "critical,CA:TRUE"));
  SY_CHECK(addExtension(cert, NID_key_usage, "critical,digitalSignature,keyCertSign"));
  SY_CHECK(addExtension(cert, NID_ext_key_usage, "serverAuth"));
  SY_CHECK(addExtension(cert, NID_subject_key_identifier, "hash"));
  if (!san.empty()) SY_CHECK(addExtension(cert, NID_subject_alt_name, san));
  SY_CHECK(X509_sign(cert, key, EVP_sha256()) > 0);

  Certificate out;
  BIO* bio = BIO_new(BIO_s_mem());
  SY_CHECK(PEM_write_bio_X509(bio, cert) == 1);
  out.cert_pem = bioToString(bio);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  SY_CHECK(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  out.key_pem = bioToString(bio);
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string writeTempFile(const std::string& contents) {
  char path[] = "/tmp/switchyard-fake-ca-XXXXXX";
  const int fd = ::mkstemp(path);
  SY_CHECK(fd >= 0);
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    SY_CHECK(n > 0);
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path;
}

// ---------------------------------------------------------------------------------------------
// OpenAI wire format

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "Hello from the fake" -> "Hello", " from", " the", " fake": how tokens usually stream.
std::vector<std::string> splitWords(std::string_view text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  for (std::size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ' ' && text[i - 1] != ' ')) {
      words.emplace_back(text.substr(start, i - start));
      start = i;
    }
  }
  return words;
}

std::string base64(const unsigned char* data, std::size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < size) {
    std::uint32_t v = data[i] << 16;
    if (i + 1 < size) v |= data[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Deterministic per input; multiples of 1/256 so they survive float32 and JSON exactly.
std::vector<float> embeddingFor(std::string_view input, std::size_t dims) {
  const std::uint64_t h = fnv1a(input);
  std::vector<float> v(dims);
  for (std::size_t j = 0; j < dims; ++j) {
    const auto byte = static_cast<int>(((h >> ((j % 7) * 8)) + j) & 0xff);
    v[j] = static_cast<float>(byte - 128) / 256.0f;
  }
  return v;
}

// Lower-cased words hashed into `dims` buckets, counted: small integers, exact in JSON.
std::vector<float> bagOfWords(std::string_view input, std::size_t dims) {
  std::vector<float> v(dims);
  std::string word;
  auto flush = [&] {
    if (!word.empty()) v[fnv1a(word) % dims] += 1.0f;
    word.clear();
  };
  for (char c : input) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  return v;
}

std::pair<std::string, std::string> defaultErrorKind(unsigned status) {
  switch (status) {
    case 401:
      return {"invalid_request_error", "invalid_api_key"};
    case 403:
      return {"invalid_request_error", "unsupported_country_region_territory"};
    case 404:
      return {"invalid_request_error", "model_not_found"};
    case 429:
      return {"requests", "rate_limit_exceeded"};
    default:
      break;
  }
  if (status >= 500) return {"server_error", ""};
  return {"invalid_request_error", ""};
}

std::string errorBody(std::string_view message, std::string_view type, std::string_view code) {
  json::object error;
  error["message"] = message;
  error["type"] = type;
  error["param"] = nullptr;
  if (code.empty()) {
    error["code"] = nullptr;
  } else {
    error["code"] = code;
  }
  json::object root;
  root["error"] = std::move(error);
  return json::serialize(root);
}

json::object usageJson(int prompt, int completion) {
  json::object usage;
  usage["prompt_tokens"] = prompt;
  usage["completion_tokens"] = completion;
  usage["total_tokens"] = prompt + completion;
  return usage;
}

std::string sseData(const json::value& v) {
  std::string out = "data: ";
  out += json::serialize(v);
  out += "\n\n";
  return out;
}

struct ParsedBody {
  json::object root;
  std::string model;
  bool stream = false;
  bool include_usage = false;
};

std::optional<ParsedBody> parseBody(const std::string& body, std::string_view default_model) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  ParsedBody out;
  out.root = std::move(v.as_object());
  out.model = std::string(default_model);
  if (const auto* m = out.root.if_contains("model"); m && m->is_string()) {
    out.model = std::string(m->as_string());
  }
  if (const auto* s = out.root.if_contains("stream"); s && s->is_bool()) out.stream = s->as_bool();
  if (const auto* so = out.root.if_contains("stream_options"); so && so->is_object()) {
    if (const auto* iu = so->as_object().if_contains("include_usage"); iu && iu->is_bool()) {
      out.include_usage = iu->as_bool();
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Behavior Behavior::normal() { return Behavior{}; }

Behavior Behavior::error(unsigned status, std::string message) {
  Behavior b;
  b.kind = Kind::kError;
  b.status = status;
  b.error_message = std::move(message);
  return b;
}

Behavior Behavior::hang() {
  Behavior b;
  b.kind = Kind::kHang;
  return b;
}

Behavior Behavior::reset() {
  Behavior b;
  b.kind = Kind::kReset;
  return b;
}

Behavior Behavior::cutStream(int after_chunks) {
  Behavior b;
  b.kind = Kind::kCutStream;
  b.cut_after_chunks = after_chunks;
  return b;
}

Behavior Behavior::delayed(std::chrono::milliseconds delay) {
  Behavior b;
  b.delay = delay;
  return b;
}

Behavior Behavior::toolCall() {
  Behavior b;
  b.kind = Kind::kToolCall;
  return b;
}

Behavior Behavior::customBody(unsigned status, std::string body, std::string content_type) {
  Behavior b;
  b.kind = Kind::kCustomBody;
  b.status = status;
  b.body = std::move(body);
  b.content_type = std::move(content_type);
  return b;
}

Behavior Behavior::customStream(std::vector<std::string> pieces, std::chrono::milliseconds interval,
                                std::string content_type) {
  Behavior b;
  b.kind = Kind::kCustomStream;
  b.pieces = std::move(pieces);
  b.chunk_interval = interval;
  b.content_type = std::move(content_type);
  return b;
}

Behavior Behavior::raw(std::string bytes) {
  Behavior b;
  b.kind = Kind::kRaw;
  b.body = std::move(bytes);
  return b;
}

std::string RecordedRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return {};
}

// ---------------------------------------------------------------------------------------------

struct FakeUpstream::Impl {
  struct Session {
    beast::tcp_stream* tcp = nullptr;
    asio::steady_timer* timer = nullptr;
    std::size_t number = 0;
    std::string sni;
  };

  explicit Impl(FakeUpstreamOptions options) : options_(std::move(options)) {
    if (options_.tls) {
      Certificate cert = makeSelfSignedCertificate(options_.cert_names);
      ca_pem_ = cert.cert_pem;
      ca_file_ = writeTempFile(ca_pem_);
      tls_.emplace(ssl::context::tls_server);
      boost::system::error_code ec;
      tls_->use_certificate(asio::buffer(cert.cert_pem), ssl::context::pem, ec);
      SY_CHECK(!ec);
      tls_->use_private_key(asio::buffer(cert.key_pem), ssl::context::pem, ec);
      SY_CHECK(!ec);
    }
    acceptor_.emplace(io_);
    boost::system::error_code ec;
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    SY_CHECK(!ec);
    port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(io_, acceptLoop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    stop();
    if (!ca_file_.empty()) ::unlink(ca_file_.c_str());
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    std::promise<void> closed;
    asio::post(io_, [this, &closed] {
      boost::system::error_code ec;
      acceptor_->close(ec);
      for (Session* s : sessions_) {
        s->tcp->close();
        s->timer->cancel();
      }
      closed.set_value();
    });
    closed.get_future().wait();
    waitForActive(0, std::chrono::seconds(2));
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool waitForActive(std::size_t n, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (active_.load() != n) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  Behavior nextBehavior(const RecordedRequest& request) {
    std::unique_lock lock(mu_);
    if (queue_.empty()) {
      if (responder_) {
        FakeUpstream::Responder responder = responder_;
        lock.unlock();
        if (auto b = responder(request)) return std::move(*b);
        lock.lock();
      }
      return default_;
    }
    Behavior b = std::move(queue_.front());
    queue_.pop_front();
    return b;
  }

  RecordedRequest record(const Request& req, const Session& session) {
    RecordedRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& field : req.base()) {
      r.headers.emplace_back(toLower(field.name_string()), std::string(field.value()));
    }
    r.body = req.body();
    r.connection = session.number;
    r.sni = session.sni;
    std::lock_guard lock(mu_);
    if (options_.record_requests) requests_.push_back(r);
    return r;
  }

  // ---- connections -------------------------------------------------------------------------

  asio::awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(kUseTuple);
      if (ec) {
        if (stopped_.load() || !acceptor_->is_open()) co_return;
        continue;
      }
      const std::size_t number = accepted_.fetch_add(1) + 1;
      active_.fetch_add(1);
      asio::co_spawn(io_, session(std::move(socket), number), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket, std::size_t number) {
    Session s;
    s.number = number;
    asio::steady_timer timer(io_);
    s.timer = &timer;
    sessions_.push_back(&s);
    struct Unregister {
      Impl* impl;
      std::list<Session*>::iterator it;
      ~Unregister() {
        impl->sessions_.erase(it);
        impl->active_.fetch_sub(1);
      }
    } unregister{this, std::prev(sessions_.end())};

    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_);
      s.tcp = &beast::get_lowest_layer(stream);
      s.tcp->expires_after(std::chrono::seconds(10));
      auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
      if (hec) co_return;
      s.tcp->expires_never();
      if (const char* name =
              SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
        s.sni = name;
      }
      co_await serve(stream, s);
    } else {
      beast::tcp_stream stream(std::move(socket));
      s.tcp = &stream;
      co_await serve(stream, s);
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, Session& s) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(kMaxRequestBody);
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
      (void)n;
      if (ec) co_return;
      const Request& req = parser.get();
      const Behavior behavior = nextBehavior(record(req, s));
      const bool keep = co_await respond(stream, buffer, s, req, behavior);
      if (!keep || !req.keep_alive() || stopped_.load()) break;
    }
    boost::system::error_code ec;
    s.tcp->socket().shutdown(tcp::socket::shutdown_send, ec);
    s.tcp->close();
  }

  // ---- responses ---------------------------------------------------------------------------

  // Returns whether the connection may carry another request.
  template <class Stream>
  asio::awaitable<bool> respond(Stream& stream, beast::flat_buffer& buffer, Session& s,
                                const Request& req, const Behavior& b) {
    if (b.delay.count() > 0) {
      s.timer->expires_after(b.delay);
      co_await s.timer->async_wait(kUseTuple);
      if (stopped_.load()) co_return false;
    }
    switch (b.kind) {
      case Behavior::Kind::kHang:
        for (;;) {  // until the client gives up or stop() closes the socket
          auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kUseTuple);
          if (ec) co_return false;
          buffer.commit(n);
        }
      case Behavior::Kind::kReset: {
        boost::system::error_code ec;
        s.tcp->socket().set_option(asio::socket_base::linger(true, 0), ec);
        s.tcp->close();
        co_return false;
      }
      case Behavior::Kind::kError: {
        auto [type, code] = defaultErrorKind(b.status);
        if (!b.error_type.empty()) type = b.error_type;
        if (!b.error_code.empty()) code = b.error_code;
        co_return co_await sendBody(stream, req, b, b.status, "application/json",
                                    errorBody(b.error_message, type, code));
      }
      case Behavior::Kind::kCustomBody:
        co_return co_await sendBody(stream, req, b, b.status, b.content_type, b.body);
      case Behavior::Kind::kCustomStream: {
        std::vector<std::string_view> pieces;
        pieces.reserve(b.pieces.size() * static_cast<std::size_t>(std::max(b.repeat, 1)));
        for (int r = 0; r < std::max(b.repeat, 1); ++r) {
          for (const auto& p : b.pieces) pieces.emplace_back(p);
        }
        co_return co_await sendStream(stream, req, s, b, b.content_type, pieces, -1);
      }
      case Behavior::Kind::kRaw: {
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(b.body), kUseTuple);
        (void)ec;
        (void)n;
        s.tcp->close();
        co_return false;
      }
      case Behavior::Kind::kNormal:
      case Behavior::Kind::kCutStream:
      case Behavior::Kind::kToolCall:
        break;
    }
    co_return co_await route(stream, s, req, b);
  }

  template <class Stream>
  asio::awaitable<bool> route(Stream& stream, Session& s, const Request& req, const Behavior& b) {
    std::string_view path = req.target();
    path = path.substr(0, path.find('?'));
    const bool post = req.method() == bhttp::verb::post;
    if (post && path.ends_with("/chat/completions")) co_return co_await chat(stream, s, req, b);
    if (post && path.ends_with("/completions")) co_return co_await completions(stream, s, req, b);
    if (post && path.ends_with("/embeddings")) co_return co_await embeddings(stream, req, b);
    if (post && path.ends_with("/rerank")) co_return co_await rerank(stream, req, b);
    if (req.method() == bhttp::verb::get && path.ends_with("/models")) {
      json::array data;
      for (const auto& m : options_.models) {
        json::object model;
        model["id"] = m;
        model["object"] = "model";
        model["created"] = 1700000000;
        model["owned_by"] = "fake-upstream";
        data.push_back(std::move(model));
      }
      json::object root;
      root["object"] = "list";
      root["data"] = std::move(data);
      co_return co_await sendBody(stream, req, b, 200, "application/json", json::serialize(root));
    }
    std::string message = "Unknown request URL: ";
    message += req.method_string();
    message += ' ';
    message += path;
    co_return co_await sendBody(stream, req, b, 404, "application/json",
                                errorBody(message, "invalid_request_error", "unknown_url"));
  }

  template <class Stream>
  asio::awaitable<bool> badJson(Stream& stream, const Request& req, const Behavior& b) {
    co_return co_await sendBody(stream, req, b, 400, "application/json",
                                errorBody("We could not parse the JSON body of your request.",
                                          "invalid_request_error", ""));
  }

  template <class Stream>
  asio::awaitable<bool> chat(Stream& stream, Session& s, const Request& req, const Behavior& b) {
    auto parsed = parseBody(req.body(), "fake-model");
    if (!parsed) co_return co_await badJson(stream, req, b);
    const std::string id = "chatcmpl-fake-" + std::to_string(ids_.fetch_add(1) + 1);
    const std::int64_t created = std::time(nullptr);
    const bool tool = b.kind == Behavior::Kind::kToolCall;
    const auto words = splitWords(b.content);
    const int completion_tokens = tool ? 8 : static_cast<int>(words.size());

    if (!parsed->stream) {
      json::object message;
      message["role"] = "assistant";
      if (tool) {
        message["content"] = nullptr;
        json::object function;
        function["name"] = b.tool_name;
        function["arguments"] = b.tool_arguments;
        json::object call;
        call["id"] = "call_fake_1";
        call["type"] = "function";
        call["function"] = std::move(function);
        message["tool_calls"] = json::array{std::move(call)};
      } else {
        message["content"] = b.content;
      }
      message["refusal"] = nullptr;
      json::object choice;
      choice["index"] = 0;
      choice["message"] = std::move(message);
      choice["logprobs"] = nullptr;
      choice["finish_reason"] = tool ? "tool_calls" : "stop";
      json::object root;
      root["id"] = id;
      root["object"] = "chat.completion";
      root["created"] = created;
      root["model"] = parsed->model;
      root["choices"] = json::array{std::move(choice)};
      root["usage"] = usageJson(b.prompt_tokens, completion_tokens);
      root["system_fingerprint"] = "fp_fake";
      co_return co_await sendBody(stream, req, b, 200, "application/json", json::serialize(root));
    }

    std::vector<std::string> events;
    auto chunk = [&](json::object delta, json::value finish_reason) {
      json::object choice;
      choice["index"] = 0;
      choice["delta"] = std::move(delta);
      choice["logprobs"] = nullptr;
      choice["finish_reason"] = std::move(finish_reason);
      json::object root;
      root["id"] = id;
      root["object"] = "chat.completion.chunk";
      root["created"] = created;
      root["model"] = parsed->model;
      root["system_fingerprint"] = "fp_fake";
      root["choices"] = json::array{std::move(choice)};
      if (parsed->include_usage) root["usage"] = nullptr;
      events.push_back(sseData(root));
    };
    json::object role;
    role["role"] = "assistant";
    if (tool) {
      role["content"] = nullptr;
      chunk(std::move(role), nullptr);
      json::object function;
      function["name"] = b.tool_name;
      function["arguments"] = "";
      json::object call;
      call["index"] = 0;
      call["id"] = "call_fake_1";
      call["type"] = "function";
      call["function"] = std::move(function);
      json::object delta;
      delta["tool_calls"] = json::array{std::move(call)};
      chunk(std::move(delta), nullptr);
      const std::size_t step = std::max<std::size_t>(b.tool_argument_piece, 1);
      for (std::size_t i = 0; i < b.tool_arguments.size(); i += step) {
        json::object fn;
        fn["arguments"] = std::string_view(b.tool_arguments).substr(i, step);
        json::object piece;
        piece["index"] = 0;
        piece["function"] = std::move(fn);
        json::object d;
        d["tool_calls"] = json::array{std::move(piece)};
        chunk(std::move(d), nullptr);
      }
      chunk(json::object{}, "tool_calls");
    } else {
      role["content"] = "";
      chunk(std::move(role), nullptr);
      for (const auto& word : words) {
        json::object delta;
        delta["content"] = word;
        chunk(std::move(delta), nullptr);
      }
      chunk(json::object{}, "stop");
    }
    if (parsed->include_usage) {
      json::object root;
      root["id"] = id;
      root["object"] = "chat.completion.chunk";
      root["created"] = created;
      root["model"] = parsed->model;
      root["system_fingerprint"] = "fp_fake";
      root["choices"] = json::array{};
      root["usage"] = usageJson(b.prompt_tokens, completion_tokens);
      events.push_back(sseData(root));
    }
    events.emplace_back("data: [DONE]\n\n");
    co_return co_await sendEvents(stream, req, s, b, events);
  }

  template <class Stream>
  asio::awaitable<bool> completions(Stream& stream, Session& s, const Request& req,
                                    const Behavior& b) {
    auto parsed = parseBody(req.body(), "fake-model");
    if (!parsed) co_return co_await badJson(stream, req, b);
    const std::string id = "cmpl-fake-" + std::to_string(ids_.fetch_add(1) + 1);
    const std::int64_t created = std::time(nullptr);
    const auto words = splitWords(b.content);
    auto make = [&](std::string_view text, json::value finish_reason) {
      json::object choice;
      choice["text"] = text;
      choice["index"] = 0;
      choice["logprobs"] = nullptr;
      choice["finish_reason"] = std::move(finish_reason);
      json::object root;
      root["id"] = id;
      root["object"] = "text_completion";
      root["created"] = created;
      root["model"] = parsed->model;
      root["choices"] = json::array{std::move(choice)};
      return root;
    };
    const auto usage = usageJson(b.prompt_tokens, static_cast<int>(words.size()));
    if (!parsed->stream) {
      json::object root = make(b.content, "stop");
      root["usage"] = usage;
      co_return co_await sendBody(stream, req, b, 200, "application/json", json::serialize(root));
    }
    std::vector<std::string> events;
    for (const auto& word : words) events.push_back(sseData(make(word, nullptr)));
    events.push_back(sseData(make("", "stop")));
    if (parsed->include_usage) {
      json::object root = make("", nullptr);
      root["choices"] = json::array{};
      root["usage"] = usage;
      events.push_back(sseData(root));
    }
    events.emplace_back("data: [DONE]\n\n");
    co_return co_await sendEvents(stream, req, s, b, events);
  }

  template <class Stream>
  asio::awaitable<bool> embeddings(Stream& stream, const Request& req, const Behavior& b) {
    auto parsed = parseBody(req.body(), "fake-embedder");
    if (!parsed) co_return co_await badJson(stream, req, b);
    const json::object& root = parsed->root;
    std::vector<std::string> inputs;  // one key per input, for deterministic vectors
    const json::value* input = root.if_contains("input");
    if (input != nullptr && input->is_string()) {
      inputs.emplace_back(input->as_string());
    } else if (input != nullptr && input->is_array() && !input->as_array().empty()) {
      const auto& arr = input->as_array();
      if (arr.front().is_number()) {
        inputs.push_back(json::serialize(arr));  // one tokenized input
      } else {
        for (const auto& item : arr) {
          inputs.push_back(item.is_string() ? std::string(item.as_string())
                                            : json::serialize(item));
        }
      }
    } else {
      co_return co_await sendBody(
          stream, req, b, 400, "application/json",
          errorBody("'input' must be a string or a non-empty array", "invalid_request_error", ""));
    }
    std::size_t dims = options_.embedding_dimensions;
    if (const auto* d = root.if_contains("dimensions"); d && d->is_int64() && d->as_int64() > 0) {
      dims = static_cast<std::size_t>(d->as_int64());
    }
    bool as_base64 = false;
    if (const auto* f = root.if_contains("encoding_format"); f && f->is_string()) {
      as_base64 = f->as_string() == "base64";
    }
    json::array data;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const std::vector<float> v = options_.bag_of_words_embeddings
                                       ? bagOfWords(inputs[i], dims)
                                       : embeddingFor(inputs[i], dims);
      json::object item;
      item["object"] = "embedding";
      item["index"] = i;
      if (as_base64) {
        item["embedding"] =
            base64(reinterpret_cast<const unsigned char*>(v.data()), v.size() * sizeof(float));
      } else {
        json::array values;
        for (float x : v) values.push_back(static_cast<double>(x));
        item["embedding"] = std::move(values);
      }
      data.push_back(std::move(item));
    }
    json::object out;
    out["object"] = "list";
    out["data"] = std::move(data);
    out["model"] = parsed->model;
    json::object usage;
    usage["prompt_tokens"] = b.prompt_tokens;
    usage["total_tokens"] = b.prompt_tokens;
    out["usage"] = std::move(usage);
    co_return co_await sendBody(stream, req, b, 200, "application/json", json::serialize(out));
  }

  // POST /v1/rerank (and /rerank), the Jina / Cohere shape vLLM, llama-server and Infinity
  // serve: {model, query, documents, top_n?, return_documents?} -> results by relevance, best
  // first. The score is the share of the query's words found in the document, so tests can
  // predict the order.
  template <class Stream>
  asio::awaitable<bool> rerank(Stream& stream, const Request& req, const Behavior& b) {
    auto parsed = parseBody(req.body(), "fake-reranker");
    if (!parsed) co_return co_await badJson(stream, req, b);
    const json::object& root = parsed->root;
    const json::value* query = root.if_contains("query");
    const json::value* docs = root.if_contains("documents");
    if (query == nullptr || !query->is_string() || docs == nullptr || !docs->is_array()) {
      co_return co_await sendBody(
          stream, req, b, 400, "application/json",
          errorBody("'query' (a string) and 'documents' (an array) are required",
                    "invalid_request_error", ""));
    }
    auto words = [](std::string_view text) {
      std::vector<std::string> out;
      std::string word;
      for (char c : text) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
          word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else if (!word.empty()) {
          out.push_back(std::move(word));
          word.clear();
        }
      }
      if (!word.empty()) out.push_back(std::move(word));
      return out;
    };
    const auto query_words = words(query->as_string());
    std::vector<std::pair<double, std::size_t>> scored;
    std::int64_t tokens = static_cast<std::int64_t>(query_words.size());
    const auto& list = docs->as_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string text = list[i].is_string() ? std::string(list[i].as_string())
                                                   : json::serialize(list[i]);
      const auto doc_words = words(text);
      tokens += static_cast<std::int64_t>(doc_words.size() + query_words.size());
      std::size_t hits = 0;
      for (const auto& w : query_words) {
        if (std::find(doc_words.begin(), doc_words.end(), w) != doc_words.end()) ++hits;
      }
      const double score =
          query_words.empty() ? 0.0
                              : static_cast<double>(hits) / static_cast<double>(query_words.size());
      scored.emplace_back(score, i);
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::size_t top_n = scored.size();
    if (const auto* n = root.if_contains("top_n"); n && n->is_int64() && n->as_int64() > 0) {
      top_n = std::min(top_n, static_cast<std::size_t>(n->as_int64()));
    }
    json::array results;
    for (std::size_t i = 0; i < top_n; ++i) {
      json::object item;
      item["index"] = scored[i].second;
      item["relevance_score"] = scored[i].first;
      results.push_back(std::move(item));
    }
    json::object out;
    out["id"] = "rerank-fake";
    out["model"] = parsed->model;
    out["results"] = std::move(results);
    out["usage"] = json::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}};
    co_return co_await sendBody(stream, req, b, 200, "application/json", json::serialize(out));
  }

  // ---- writing -----------------------------------------------------------------------------

  template <class Stream>
  asio::awaitable<bool> sendBody(Stream& stream, const Request& req, const Behavior& b,
                                 unsigned status, std::string_view content_type, std::string body) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    res.set(bhttp::field::server, "fake-upstream");
    res.set(bhttp::field::content_type, content_type);
    for (const auto& [name, value] : b.headers) res.set(name, value);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(stream, res, kUseTuple);
    (void)n;
    if (ec) co_return false;
    body_bytes_.fetch_add(res.body().size());
    co_return req.keep_alive() && !b.close_after;
  }

  template <class Stream>
  asio::awaitable<bool> sendEvents(Stream& stream, const Request& req, Session& s,
                                   const Behavior& b, const std::vector<std::string>& events) {
    std::vector<std::string_view> pieces(events.begin(), events.end());
    const int cut = b.kind == Behavior::Kind::kCutStream ? b.cut_after_chunks : -1;
    co_return co_await sendStream(stream, req, s, b, "text/event-stream", pieces, cut);
  }

  // A chunked 200 with one HTTP chunk per piece. `cut_after` >= 0 closes the socket after that
  // many pieces, leaving the body unterminated.
  template <class Stream>
  asio::awaitable<bool> sendStream(Stream& stream, const Request& req, Session& s,
                                   const Behavior& b, std::string_view content_type,
                                   const std::vector<std::string_view>& pieces, int cut_after) {
    bhttp::response<bhttp::empty_body> res{bhttp::status::ok, 11};
    res.set(bhttp::field::server, "fake-upstream");
    res.set(bhttp::field::content_type, content_type);
    res.set(bhttp::field::cache_control, "no-cache");
    for (const auto& [name, value] : b.headers) res.set(name, value);
    res.keep_alive(req.keep_alive());
    res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    auto [hec, hn] = co_await bhttp::async_write_header(stream, sr, kUseTuple);
    (void)hn;
    if (hec) co_return false;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (cut_after >= 0 && i == static_cast<std::size_t>(cut_after)) {
        s.tcp->close();
        co_return false;
      }
      if (i > 0 && b.chunk_interval.count() > 0) {
        s.timer->expires_after(b.chunk_interval);
        co_await s.timer->async_wait(kUseTuple);
        if (stopped_.load()) co_return false;
      }
      auto [ec, n] = co_await asio::async_write(
          stream, bhttp::make_chunk(asio::buffer(pieces[i].data(), pieces[i].size())), kUseTuple);
      (void)n;
      if (ec) co_return false;
      body_bytes_.fetch_add(pieces[i].size());
    }
    if (cut_after >= 0 && static_cast<std::size_t>(cut_after) >= pieces.size()) {
      s.tcp->close();
      co_return false;
    }
    auto [ec, n] = co_await asio::async_write(stream, bhttp::make_chunk_last(), kUseTuple);
    (void)n;
    if (ec) co_return false;
    co_return req.keep_alive() && !b.close_after;
  }

  // Destroyed last to first: coroutine frames that io_'s destructor frees still reach the
  // members above it.
  FakeUpstreamOptions options_;
  std::string ca_pem_;
  std::string ca_file_;
  mutable std::mutex mu_;
  Behavior default_;
  FakeUpstream::Responder responder_;
  std::deque<Behavior> queue_;
  std::vector<RecordedRequest> requests_;
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> active_{0};
  std::atomic<std::uint64_t> body_bytes_{0};
  std::atomic<std::uint64_t> ids_{0};
  std::atomic<bool> stopped_{false};
  std::list<Session*> sessions_;  // touched on the io thread only
  std::uint16_t port_ = 0;
  std::optional<ssl::context> tls_;
  asio::io_context io_{1};
  std::optional<tcp::acceptor> acceptor_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------

FakeUpstream::FakeUpstream(FakeUpstreamOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

FakeUpstream::~FakeUpstream() = default;

std::uint16_t FakeUpstream::port() const { return impl_->port_; }

std::string FakeUpstream::baseUrl() const {
  return std::string(impl_->options_.tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(impl_->port_) + "/v1";
}

const std::string& FakeUpstream::caFile() const { return impl_->ca_file_; }
const std::string& FakeUpstream::caPem() const { return impl_->ca_pem_; }

void FakeUpstream::setBehavior(Behavior behavior) {
  std::lock_guard lock(impl_->mu_);
  impl_->default_ = std::move(behavior);
}

void FakeUpstream::pushBehavior(Behavior behavior) {
  std::lock_guard lock(impl_->mu_);
  impl_->queue_.push_back(std::move(behavior));
}

void FakeUpstream::setResponder(Responder responder) {
  std::lock_guard lock(impl_->mu_);
  impl_->responder_ = std::move(responder);
}

void FakeUpstream::clearBehaviors() {
  std::lock_guard lock(impl_->mu_);
  impl_->queue_.clear();
  impl_->default_ = Behavior::normal();
}

std::vector<RecordedRequest> FakeUpstream::requests() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_;
}

std::size_t FakeUpstream::requestCount() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_.size();
}

RecordedRequest FakeUpstream::lastRequest() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_.empty() ? RecordedRequest{} : impl_->requests_.back();
}

void FakeUpstream::clearRequests() {
  std::lock_guard lock(impl_->mu_);
  impl_->requests_.clear();
}

std::size_t FakeUpstream::connectionsAccepted() const { return impl_->accepted_.load(); }
std::size_t FakeUpstream::activeConnections() const { return impl_->active_.load(); }
std::uint64_t FakeUpstream::bodyBytesSent() const { return impl_->body_bytes_.load(); }

bool FakeUpstream::waitForActiveConnections(std::size_t n,
                                            std::chrono::milliseconds timeout) const {
  return impl_->waitForActive(n, timeout);
}

void FakeUpstream::stop() { impl_->stop(); }

}  // namespace switchyard::fakes
