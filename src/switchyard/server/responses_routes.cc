#include "switchyard/server/responses_routes.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <exception>
#include <type_traits>
#include <variant>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_writer.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/responses_stream.h"
#include "switchyard/core/log.h"
#include "switchyard/http/query.h"
#include "switchyard/server/encoded_stream_writer.h"

namespace switchyard::server {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace codec = api::openai;
namespace json = boost::json;
using pipeline::RequestContext;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kResponsesPath = "/v1/responses";
constexpr std::string_view kResponsesPathNoVersion = "/responses";
constexpr std::string_view kInputItems = "/input_items";

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using ResponsesStreamWriter = EncodedStreamWriter<codec::ResponsesStreamEncoder>;

// A store call on the pool; an exception becomes kInternal.
template <typename F>
asio::awaitable<std::invoke_result_t<F&>> storeTask(F fn) {
  using R = std::invoke_result_t<F&>;
  try {
    co_return fn();
  } catch (const std::exception& e) {
    Status s(ErrorCode::kInternal, std::string("stored responses: ") + e.what());
    if constexpr (std::is_same_v<R, Status>) {
      co_return s;
    } else {
      co_return R(fail(std::move(s)));
    }
  }
}

// Runs `fn` on `pool`. Not a coroutine: callers keep the returned awaitable in a variable and
// co_await that, so that no temporary of the call lives across the suspension (g++ 12).
template <typename F>
asio::awaitable<std::invoke_result_t<F&>> offload(asio::thread_pool& pool, F fn) {
  return asio::co_spawn(pool, storeTask<F>(std::move(fn)), asio::use_awaitable);
}

responses::Caller callerOf(const RequestContext& ctx) { return {ctx.key_id, ctx.admin}; }

// GET /v1/responses/{id}/input_items: `limit` (1-100, default 20), `order` (asc | desc, the
// default), `after` (an item id: the page after it).
Result<std::string> inputItemsPage(const std::string& stored_input, std::string_view target) {
  const http::QueryParams q(target);
  auto limit = q.integer("limit", 20, 1, 100);
  if (!limit) return fail(std::move(limit.error()));
  const std::string order = q.has("order") ? q.get("order") : "desc";
  if (order != "asc" && order != "desc") {
    return fail(
        Status(ErrorCode::kInvalidArgument, "order: expected asc or desc, got '" + order + "'")
            .withParam("order"));
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(stored_input, ec);
  if (ec || !parsed.is_array()) {
    return fail(ErrorCode::kInternal, "the stored input items are unreadable");
  }
  json::array& items = parsed.get_array();
  if (order == "desc") std::reverse(items.begin(), items.end());
  std::size_t from = 0;
  if (const std::string after = q.get("after"); !after.empty()) {
    from = items.size() + 1;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const json::object& item = items[i].as_object();
      const json::value* id = item.if_contains("id");
      if (id != nullptr && id->is_string() && id->get_string() == after) from = i + 1;
    }
    if (from > items.size()) {
      return fail(Status(ErrorCode::kInvalidArgument,
                         "after: no input item with id '" + after + "' in this response")
                      .withParam("after"));
    }
  }
  const std::size_t to = std::min(items.size(), from + static_cast<std::size_t>(*limit));
  json::array page;
  for (std::size_t i = from; i < to; ++i) page.push_back(std::move(items[i]));
  json::object out;
  out["object"] = "list";
  out["first_id"] = page.empty() ? json::value(nullptr) : page.front().at("id");
  out["last_id"] = page.empty() ? json::value(nullptr) : page.back().at("id");
  out["has_more"] = to < items.size();
  out["data"] = std::move(page);
  return json::serialize(out);
}

}  // namespace

ResponsesRoutes::~ResponsesRoutes() {
  if (pool_) pool_->join();
}

void ResponsesRoutes::setStore(responses::ResponseStorePtr store, bool store_by_default) {
  store_ = std::move(store);
  options_.stored = store_ != nullptr;
  options_.store_by_default = store_by_default;
  if (store_ && !pool_) pool_ = std::make_unique<asio::thread_pool>(2);
}

bool ResponsesRoutes::serves(std::string_view path) {
  return path == kResponsesPath || path == kResponsesPathNoVersion ||
         path.starts_with("/v1/responses/") || path.starts_with("/responses/");
}

asio::awaitable<void> ResponsesRoutes::handle(std::string_view path, http::Request& req,
                                              http::ResponseWriter& writer,
                                              http::ConnectionInfo& conn, RequestContext& ctx) {
  ctx.format = pipeline::WireFormat::kOpenAI;
  ctx.endpoint = pipeline::Endpoint::kResponses;
  const bool creates = path == kResponsesPath || path == kResponsesPathNoVersion;
  const bool counts = path == "/v1/responses/input_tokens" || path == "/responses/input_tokens";
  if (!creates && !counts) co_return co_await stored(path, req, writer, ctx);
  if (req.method() != bhttp::verb::post)
    co_return co_await sendMethodNotAllowed(writer, ctx, "POST");
  if (creates) co_return co_await create(req, writer, conn, ctx);
  co_return co_await inputTokens(req, writer, conn, ctx);
}

asio::awaitable<Result<codec::ResponsesRequest>> ResponsesRoutes::decode(const http::Request& req,
                                                                         RequestContext& ctx,
                                                                         json::value& parsed) {
  auto read = codec::parseResponsesBody(req.body());
  if (!read) co_return fail(std::move(read.error()));
  parsed = std::move(*read);
  json::object& body = parsed.get_object();
  bool identified = false;
  // item_reference input items: the stored items they name, the caller's own.
  json::value* input = store_ ? body.if_contains("input") : nullptr;
  for (std::size_t i = 0; input != nullptr && input->is_array() && i < input->get_array().size();
       ++i) {
    json::value& item = input->get_array()[i];
    const json::object* o = item.if_object();
    const json::value* type = o != nullptr ? o->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string() || type->get_string() != "item_reference") continue;
    const std::string param = "input[" + std::to_string(i) + "].id";
    const json::value* id = o->if_contains("id");
    if (id == nullptr || !id->is_string()) {
      co_return fail(
          Status(ErrorCode::kInvalidArgument, param + ": expected the id of a stored item")
              .withParam(param));
    }
    if (!identified) {
      if (Status s = support_.identify(req, ctx); !s.isOk()) co_return fail(std::move(s));
      identified = true;
    }
    auto op = offload(*pool_, [this, item_id = std::string(id->get_string()),
                               caller = callerOf(ctx)] { return store_->item(item_id, caller); });
    auto found = co_await std::move(op);
    if (!found) {
      Status s = std::move(found.error());
      s.withParam(param);
      co_return fail(std::move(s));
    }
    item = std::move(*found);
  }
  // previous_response_id: the conversation so far, the caller's own, before decoding (the
  // guard and the token estimates see all of it).
  json::array history;
  bool continues = false;
  if (store_) {
    const json::value* prev = body.if_contains("previous_response_id");
    if (prev != nullptr && prev->is_string() && !prev->get_string().empty()) {
      if (!identified) {
        if (Status s = support_.identify(req, ctx); !s.isOk()) co_return fail(std::move(s));
      }
      std::string id(prev->get_string());
      auto op = offload(*pool_,
                        [this, id, caller = callerOf(ctx)] { return store_->history(id, caller); });
      auto loaded = co_await std::move(op);
      if (!loaded) {
        Status s = std::move(loaded.error());
        if (s.code() == ErrorCode::kNotFound && s.message().starts_with("No response found")) {
          s = Status(ErrorCode::kNotFound, "Previous response with id '" + id + "' not found.");
        }
        if (s.code() == ErrorCode::kNotFound) {
          s = std::move(s).withErrorType("previous_response_not_found");
        }
        s.withParam("previous_response_id");
        co_return fail(std::move(s));
      }
      history = std::move(*loaded);
      continues = true;
    }
  }
  co_return codec::decodeResponsesRequest(body, options_, continues ? &history : nullptr);
}

asio::awaitable<void> ResponsesRoutes::create(http::Request& req, http::ResponseWriter& writer,
                                              http::ConnectionInfo& conn, RequestContext& ctx) {
  json::value parsed;
  auto decoding = decode(req, ctx, parsed);
  auto decoded = co_await std::move(decoding);
  if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
  const json::object& body = parsed.get_object();
  api::ChatRequest& request = decoded->chat;
  ctx.stream = request.stream;
  if (Status s = co_await support_.admit(req, ctx, request); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  if (Status s = support_.plan(request.model, request, ctx); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  // A Response's id is resp_<x-request-id>; a stored one's must be unique, and a client's own
  // x-request-id need not be (nor may it name another caller's stored response).
  std::string id_suffix = ctx.request_id;
  if (decoded->store && req.find("x-request-id") != req.end()) id_suffix = newRequestId();
  codec::ResponseMeta meta{id_suffix, unixNow(), ctx.model, decoded->echo, ctx.citations_json};

  if (!request.stream) {
    auto outcome = co_await writer.unlessClientGone(support_.chat(request, ctx, conn.client));
    if (outcome.index() == 1) co_return finishCancelled(ctx);
    auto& result = std::get<0>(outcome);
    if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
    if (result->usage) ctx.usage = *result->usage;
    std::string response = codec::encodeResponse(*result, meta);
    if (decoded->store) co_await keep(ctx, id_suffix, *decoded, body, response);
    ctx.first_byte = Clock::now();
    ctx.http_status = 200;
    (void)co_await writer.send(200, kJson, response, support_.responseHeaders(ctx));
    support_.logRequest(ctx);
    co_return;
  }

  ResponsesStreamWriter sink(writer, ctx, codec::ResponsesStreamEncoder(std::move(meta)),
                             [this, &ctx] { return support_.responseHeaders(ctx); });
  auto outcome =
      co_await writer.unlessClientGone(support_.chatStream(request, sink, ctx, conn.client));
  if (outcome.index() == 1) co_return finishCancelled(ctx);
  providers::StreamOutcome& result = std::get<0>(outcome);
  if (result.status.code() == ErrorCode::kCancelled) co_return finishCancelled(ctx);
  if (!result.status.isOk() && !writer.started()) {
    co_return co_await sendError(writer, ctx, std::move(result.status));
  }
  ctx.http_status = 200;
  if (decoded->store && result.status.isOk()) {
    // Stored between encoding the closing events and writing them: a client that continues
    // the conversation as soon as it reads response.completed finds it.
    co_await sink.finish(result.status, [&]() -> asio::awaitable<void> {
      co_await keep(ctx, id_suffix, *decoded, body, sink.encoder().finalResponse());
    });
  } else {
    co_await sink.finish(result.status);
  }
  if (!result.status.isOk()) ctx.error = std::move(result.status);
  support_.logRequest(ctx);
}

asio::awaitable<void> ResponsesRoutes::inputTokens(http::Request& req, http::ResponseWriter& writer,
                                                   http::ConnectionInfo& conn,
                                                   RequestContext& ctx) {
  json::value parsed;
  auto decoding = decode(req, ctx, parsed);
  auto decoded = co_await std::move(decoding);
  if (!decoded) co_return co_await sendError(writer, ctx, std::move(decoded.error()));
  api::ChatRequest& request = decoded->chat;
  request.stream = false;
  if (Status s = co_await support_.admit(req, ctx, request); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  if (Status s = support_.plan(request.model, request, ctx); !s.isOk()) {
    co_return co_await sendError(writer, ctx, std::move(s));
  }
  auto outcome =
      co_await writer.unlessClientGone(support_.countOrEstimate(request, ctx, conn.client));
  if (outcome.index() == 1) co_return finishCancelled(ctx);
  auto& result = std::get<0>(outcome);
  if (!result) co_return co_await sendError(writer, ctx, std::move(result.error()));
  const std::int64_t tokens = result->tokens;
  ctx.usage.prompt_tokens = tokens;
  ctx.first_byte = Clock::now();
  ctx.http_status = 200;
  std::string out;
  api::JsonWriter w(out);
  w.beginObject();
  w.key("object").string("response.input_tokens");
  w.key("input_tokens").integer(tokens);
  w.endObject();
  auto h = support_.responseHeaders(ctx);
  h.emplace_back("x-switchyard-token-count", result->estimated ? "estimate" : "upstream");
  (void)co_await writer.send(200, kJson, out, h);
  support_.logRequest(ctx);
}

asio::awaitable<void> ResponsesRoutes::keep(const RequestContext& ctx, const std::string& id_suffix,
                                            const codec::ResponsesRequest& request,
                                            const json::object& body, std::string response) {
  responses::StoredResponse row;
  row.id = "resp_" + id_suffix;
  row.owner = ctx.key_id;
  row.previous_id = request.previous_response_id;
  row.created_at = unixNow();
  row.model = ctx.model;
  if (const json::value* input = body.if_contains("input")) {
    row.input = json::serialize(codec::storedInputItems(*input, id_suffix));
  } else {
    row.input = "[]";
  }
  row.response = std::move(response);
  auto op = offload(*pool_, [this, row = std::move(row)] { return store_->put(row); });
  if (Status s = co_await std::move(op); !s.isOk()) {
    logEvent(spdlog::level::warn, "response_not_stored",
             {{"request_id", ctx.request_id}, {"error", s.message()}});
  }
}

asio::awaitable<void> ResponsesRoutes::stored(std::string_view path, http::Request& req,
                                              http::ResponseWriter& writer, RequestContext& ctx) {
  std::string_view id = path.substr(path.find("/responses/") + 11);
  const bool input_items = id.ends_with(kInputItems);
  if (input_items) id.remove_suffix(kInputItems.size());
  if (id.empty() || id.find('/') != std::string_view::npos) {
    co_return co_await sendPlainError(
        writer, ctx,
        Status(ErrorCode::kNotFound, "Unknown request URL: " + std::string(req.method_string()) +
                                         " " + std::string(path) +
                                         ". See the API reference for the endpoints this "
                                         "gateway serves.")
            .withErrorType("unknown_url"));
  }
  const auto method = req.method();
  const bool allowed =
      method == bhttp::verb::get || (!input_items && method == bhttp::verb::delete_);
  if (!allowed) {
    co_return co_await sendMethodNotAllowed(writer, ctx, input_items ? "GET" : "GET, DELETE");
  }
  if (!store_) {
    co_return co_await sendPlainError(
        writer, ctx,
        Status(ErrorCode::kNotFound, "No response found with id '" + std::string(id) +
                                         "': stored responses are off on this gateway "
                                         "(responses.enabled: false)"));
  }
  if (Status s = support_.identify(req, ctx); !s.isOk()) {
    co_return co_await sendPlainError(writer, ctx, std::move(s));
  }
  if (method == bhttp::verb::get && !input_items) {
    const http::QueryParams q(req.target());
    if (q.get("stream") == "true") {
      co_return co_await sendPlainError(
          writer, ctx,
          Status(ErrorCode::kInvalidArgument,
                 "stream: replaying a stored response as events is not supported; GET it "
                 "without stream")
              .withParam("stream")
              .withErrorType("unsupported_parameter"));
    }
  }

  const std::string key(id);
  if (method == bhttp::verb::delete_) {
    auto op = offload(*pool_,
                      [this, key, caller = callerOf(ctx)] { return store_->remove(key, caller); });
    if (Status s = co_await std::move(op); !s.isOk()) {
      co_return co_await sendPlainError(writer, ctx, std::move(s));
    }
    std::string body;
    api::JsonWriter w(body);
    w.beginObject();
    w.key("id").string(key);
    w.key("object").string("response");
    w.key("deleted").boolean(true);
    w.endObject();
    ctx.http_status = 200;
    (void)co_await writer.send(200, kJson, body);
    co_return;
  }
  auto op =
      offload(*pool_, [this, key, caller = callerOf(ctx)] { return store_->get(key, caller); });
  auto row = co_await std::move(op);
  if (!row) co_return co_await sendPlainError(writer, ctx, std::move(row.error()));
  if (!input_items) {
    ctx.http_status = 200;
    (void)co_await writer.send(200, kJson, row->response);
    co_return;
  }
  auto page = inputItemsPage(row->input, req.target());
  if (!page) co_return co_await sendPlainError(writer, ctx, std::move(page.error()));
  ctx.http_status = 200;
  (void)co_await writer.send(200, kJson, *page);
}

asio::awaitable<void> ResponsesRoutes::sendError(http::ResponseWriter& writer, RequestContext& ctx,
                                                 Status status) {
  ctx.http_status = api::httpStatusFor(status);
  auto h = support_.responseHeaders(ctx);
  if (status.retryAfterSeconds() > 0) {
    h.emplace_back("Retry-After", std::to_string(status.retryAfterSeconds()));
  }
  (void)co_await writer.send(ctx.http_status, kJson, codec::encodeError(status), h);
  ctx.error = std::move(status);
  support_.logRequest(ctx);
}

asio::awaitable<void> ResponsesRoutes::sendMethodNotAllowed(http::ResponseWriter& writer,
                                                            RequestContext& ctx,
                                                            std::string_view allow) {
  Status status =
      Status(ErrorCode::kInvalidArgument, "method not allowed: use " + std::string(allow))
          .withHttpStatus(405)
          .withErrorType("method_not_allowed");
  ctx.http_status = 405;
  http::ResponseWriter::Headers h{{std::string("Allow"), std::string(allow)}};
  (void)co_await writer.send(405, kJson, codec::encodeError(status), h);
}

asio::awaitable<void> ResponsesRoutes::sendPlainError(http::ResponseWriter& writer,
                                                      RequestContext& ctx, Status status) {
  ctx.http_status = api::httpStatusFor(status);
  http::ResponseWriter::Headers h{{std::string("x-request-id"), ctx.request_id}};
  (void)co_await writer.send(ctx.http_status, kJson, codec::encodeError(status), h);
}

void ResponsesRoutes::finishCancelled(RequestContext& ctx) const {
  ctx.http_status = 499;
  ctx.error = Status(ErrorCode::kCancelled, "client disconnected");
  support_.logRequest(ctx);
}

}  // namespace switchyard::server
