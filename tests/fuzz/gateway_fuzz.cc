// The whole gateway over a real socket: one HTTP request per input to any endpoint (OpenAI,
// Anthropic, Responses, Ollama, explain, feedback, RAG collections and retrieval, rerank,
// admin keys, audit, dashboard API), with or without the admin key, against a fake
// OpenAI-compatible upstream that answers, streams, calls tools, cuts a stream or refuses.
// The gateway runs as `serve` runs it: a config file's text, SQLite store, request log, guard
// (redact, block, local-only, output scanning), RAG, the response cache.
//
// Input: byte 0 picks the endpoint, byte 1 the credentials, risk header, upstream behaviour and
// Cache-Control (the response cache is on); the rest is the request body, or (for endpoints that
// take none) the end of the path or the query string, percent-encoded where HTTP requires it.
//
// SY_FUZZ_VERBOSE=1 prints each request and the start of its answer.
//
// Properties: nothing crashes, leaks or trips UBSan in any thread; every request gets an answer
// with a status in 200..599 and never 500 (an error of ours that was not handled); every JSON
// error answer is valid JSON with an "error"; an answer that says JSON is valid JSON.

#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/gateway_world.h"

namespace {

namespace sy = switchyard;
namespace fakes = switchyard::fakes;
using Verb = boost::beast::http::verb;

constexpr std::string_view kAdminKey = "sy-admin-fuzz-0123456789";

// The fake upstream serves every provider: kind openai at /v1 (anthropic and gemini upstreams
// would need fakes of their own; the client-side translations run for any provider). @UPSTREAM@,
// @DIR@ and @ADMIN_KEY@ are filled in at start-up.
constexpr std::string_view kConfig = R"(
server:
  listen: 127.0.0.1:0
  workers: 1
  max_body_bytes: 256KiB
  request_timeout: 10s
  drain_timeout: 1s
log: {level: "off", access_log: false}
storage: {url: "sqlite://@DIR@/switchyard.db"}
admin_key: @ADMIN_KEY@
providers:
  - name: up
    kind: openai
    base_url: @UPSTREAM@
    api_key: sk-upstream-secret
    locality: cloud:us
    timeouts: {connect: 2s, first_byte: 5s, idle: 5s}
    models:
      - name: fake-model
        aliases: [fm]
        context_window: 8192
      - name: fake-embedder
      - name: fake-reranker
        rerank: true
  - name: onprem
    kind: openai
    base_url: @UPSTREAM@
    locality: on_prem
    timeouts: {connect: 2s, first_byte: 5s, idle: 5s}
    models: [local-model]
routing:
  retry: {attempts: 1}
  tasks:
    - {name: legal, keywords: [contract]}
routes:
  - name: auto
    candidates: [up/fake-model, onprem/local-model]
  - name: private
    locality: [on_prem]
    target: onprem/local-model
cache: {enabled: true, max_bytes: 4MiB}
guard:
  policy: {pii: redact, secret: block, CREDIT_CARD: local_only}
  scan_output: true
rag:
  path: @DIR@/rag
  embedding_model: up/fake-embedder
  routes:
    support: {collection: handbook}
)";

sy::fuzz::GatewayWorld& world() {
  static sy::fuzz::GatewayWorld* w =
      sy::fuzz::startGatewayWorld("gateway", kConfig, {{"@ADMIN_KEY@", std::string(kAdminKey)}});
  return *w;
}

enum class Put { kBody, kPath, kQuery };
struct Endpoint {
  Verb method;
  std::string_view path;
  Put put;
};

constexpr Endpoint kEndpoints[] = {
    {Verb::post, "/v1/chat/completions", Put::kBody},
    {Verb::post, "/v1/completions", Put::kBody},
    {Verb::post, "/v1/embeddings", Put::kBody},
    {Verb::post, "/v1/messages", Put::kBody},
    {Verb::post, "/v1/messages/count_tokens", Put::kBody},
    {Verb::post, "/v1/responses", Put::kBody},
    {Verb::post, "/v1/route/explain", Put::kBody},
    {Verb::post, "/v1/feedback", Put::kBody},
    {Verb::post, "/v1/rerank", Put::kBody},
    {Verb::post, "/v1/retrieve", Put::kBody},
    {Verb::post, "/v1/collections", Put::kBody},
    {Verb::post, "/v1/collections/handbook/documents", Put::kBody},
    {Verb::post, "/api/chat", Put::kBody},
    {Verb::post, "/api/generate", Put::kBody},
    {Verb::post, "/api/embed", Put::kBody},
    {Verb::post, "/api/embeddings", Put::kBody},
    {Verb::post, "/api/show", Put::kBody},
    {Verb::post, "/admin/keys", Put::kBody},
    {Verb::post, "/admin/api/login", Put::kBody},
    {Verb::get, "/v1/models/", Put::kPath},
    {Verb::get, "/v1/collections/", Put::kPath},
    {Verb::delete_, "/v1/collections/", Put::kPath},
    {Verb::get, "/admin/keys/", Put::kPath},
    {Verb::post, "/admin/keys/", Put::kPath},  // /<id>/revoke, /<id>/rotate
    {Verb::get, "/admin/keys", Put::kQuery},
    {Verb::get, "/admin/audit", Put::kQuery},
    {Verb::get, "/admin/guard", Put::kQuery},
    {Verb::get, "/admin/api/", Put::kPath},  // overview?window=..., requests/<id>, ...
    {Verb::get, "/v1/models", Put::kQuery},
    {Verb::get, "/metrics", Put::kQuery},
    {Verb::get, "/ui/", Put::kPath},
    {Verb::post, "/v1/chat/completions", Put::kQuery},
    // Stored responses (responses.enabled is on for config files).
    {Verb::get, "/v1/responses/", Put::kPath},  // <id>, <id>/input_items?limit=..&after=..
    {Verb::delete_, "/v1/responses/", Put::kPath},
    {Verb::post, "/v1/responses/input_tokens", Put::kBody},
    // The response cache (cache.enabled): the admin's flush and counters.
    {Verb::delete_, "/admin/cache", Put::kQuery},
    {Verb::get, "/admin/cache", Put::kQuery},
};
constexpr std::size_t kEndpointCount = sizeof(kEndpoints) / sizeof(kEndpoints[0]);

// Bytes a request target may hold as they are; everything else is percent-encoded. '%' itself
// passes, so malformed escapes reach the server's own decoding.
bool targetSafe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._~/?&=%:@!$'()*+,;").find(static_cast<char>(c)) !=
             std::string_view::npos;
}

std::string encodeTarget(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (targetSafe(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

fakes::Behavior behavior(unsigned choice) {
  fakes::Behavior b;
  switch (choice) {
    case 0:
      break;  // a canned answer (streamed when asked)
    case 1:
      b.kind = fakes::Behavior::Kind::kToolCall;
      break;
    case 2:
      b.kind = fakes::Behavior::Kind::kCutStream;
      b.cut_after_chunks = 2;
      break;
    default:
      b.kind = fakes::Behavior::Kind::kError;
      b.status = 429;
      break;
  }
  return b;
}

bool validJsonWithError(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  return !ec && v.is_object() && v.as_object().contains("error");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  sy::fuzz::GatewayWorld& w = world();
  const Endpoint& endpoint = kEndpoints[data[0] % kEndpointCount];
  const unsigned flags = data[1];
  const std::string_view payload(reinterpret_cast<const char*>(data) + 2, size - 2);

  fakes::Headers headers;
  switch (flags & 3) {
    case 0:
      break;
    case 1:
      headers.emplace_back("Authorization", "Bearer " + std::string(kAdminKey));
      break;
    case 2:
      headers.emplace_back("Authorization", "Bearer sk-sy-not-a-real-key");
      break;
    case 3:
      headers.emplace_back("x-api-key", std::string(kAdminKey));
      break;
  }
  if ((flags & 4) != 0) headers.emplace_back("x-switchyard-risk", "high");
  // The response cache: served, refreshed, bypassed, or only young answers.
  static constexpr std::string_view kCacheControl[] = {"", "no-cache", "no-store",
                                                       "max-age=0, private"};
  if (const std::string_view cc = kCacheControl[(flags >> 5) & 3]; !cc.empty()) {
    headers.emplace_back("Cache-Control", std::string(cc));
  }
  w.upstream->setBehavior(behavior((flags >> 3) & 3));

  std::string target(endpoint.path);
  std::string body;
  switch (endpoint.put) {
    case Put::kBody:
      body = std::string(payload);
      break;
    case Put::kPath:
      target += encodeTarget(payload);
      break;
    case Put::kQuery:
      target += '?';
      target += encodeTarget(payload);
      break;
  }
  const fakes::Reply reply =
      endpoint.put == Put::kBody
          ? fakes::post(w.gateway->port(), target, body, headers)
          : fakes::request(w.gateway->port(), endpoint.method, target, body, headers);
  w.upstream->clearRequests();

  const std::string what = std::string(boost::beast::http::to_string(endpoint.method)) + " " +
                           target + " -> " + std::to_string(reply.status) + "\n" + reply.body;
  static const bool verbose = std::getenv("SY_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "%.300s\n", what.c_str());
  SY_FUZZ_CHECK_MSG(reply.status >= 200 && reply.status <= 599, what);
  SY_FUZZ_CHECK_MSG(reply.status != 500, what);
  const std::string type = reply.header("Content-Type");
  if (type.starts_with("application/json")) {
    if (reply.status >= 400) {
      SY_FUZZ_CHECK_MSG(validJsonWithError(reply.body), what);
    } else {
      SY_FUZZ_CHECK_MSG(sy::fuzz::validJson(reply.body), what);
    }
  }
  return 0;
}
