#include "switchyard/rag/rag_routes.h"

#include <algorithm>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "switchyard/api/errors.h"
#include "switchyard/api/json_fields.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/rag/access.h"

namespace switchyard::rag {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kCollections = "/v1/collections";
constexpr std::string_view kRerank = "/v1/rerank";
constexpr std::size_t kMaxRerankDocuments = 1000;
constexpr std::size_t kMaxDocuments = 1000;

Status invalid(std::string message, std::string param = "") {
  return Status(ErrorCode::kInvalidArgument, std::move(message)).withParam(std::move(param));
}

json::object collectionJson(const CollectionInfo& c) {
  json::object o;
  o["object"] = "collection";
  o["name"] = c.name;
  o["private"] = c.is_private;
  o["documents"] = c.documents;
  o["chunks"] = c.chunks;
  o["embedding_model"] = c.embedding_model;
  o["dimensions"] = c.dims;
  o["created_at"] = c.created_at;
  return o;
}

Result<json::object> parseObject(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return fail(invalid("request body is not valid JSON: " + ec.message()));
  if (!api::allNumbersFinite(v)) {
    return fail(invalid("request body is not valid JSON: " + std::string(api::kNumberOutOfRange)));
  }
  if (!v.is_object()) return fail(invalid("request body must be a JSON object"));
  return std::move(v.as_object());
}

Status stringField(const json::object& o, std::string_view key, std::string& out,
                   bool required) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return required ? invalid("missing required field '" + std::string(key) + "'", std::string(key))
                    : Status::ok();
  }
  if (!v->is_string()) return invalid("'" + std::string(key) + "' must be a string", std::string(key));
  out = std::string(v->as_string());
  return Status::ok();
}

Result<SourceDocument> parseDocumentJson(const json::value& v, std::size_t i) {
  const std::string at = "documents[" + std::to_string(i) + "]";
  if (!v.is_object()) return fail(invalid(at + " must be an object", at));
  const json::object& o = v.as_object();
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k != "source" && k != "text" && k != "content_base64" && k != "format" && k != "title") {
      return fail(invalid("unknown field " + at + "." + std::string(k) +
                              " (expected source, text, content_base64, format, title)",
                          at + "." + std::string(k)));
    }
  }
  SourceDocument doc;
  std::string format = "text";
  if (Status s = stringField(o, "source", doc.source, true); !s.isOk()) {
    return fail(invalid(at + ": " + s.message(), at + ".source"));
  }
  if (doc.source.empty()) return fail(invalid(at + ".source must not be empty", at + ".source"));
  if (Status s = stringField(o, "format", format, false); !s.isOk()) return fail(std::move(s));
  if (Status s = stringField(o, "title", doc.title, false); !s.isOk()) return fail(std::move(s));
  auto parsed = parseFormat(format);
  if (!parsed) return fail(invalid(at + ".format: " + parsed.error().message(), at + ".format"));
  doc.format = *parsed;
  std::string encoded;
  if (Status s = stringField(o, "content_base64", encoded, false); !s.isOk()) return fail(std::move(s));
  if (!encoded.empty()) {
    namespace b64 = boost::beast::detail::base64;
    doc.content.resize(b64::decoded_size(encoded.size()));
    std::size_t data = encoded.size();  // decode() stops at the '=' padding
    while (data > 0 && encoded.size() - data < 2 && encoded[data - 1] == '=') --data;
    auto [written, read] = b64::decode(doc.content.data(), encoded.data(), encoded.size());
    if (read != data) {
      return fail(invalid(at + ".content_base64 is not valid base64", at + ".content_base64"));
    }
    doc.content.resize(written);
  } else {
    if (Status s = stringField(o, "text", doc.content, true); !s.isOk()) {
      return fail(invalid(at + ": missing 'text' (or 'content_base64')", at + ".text"));
    }
  }
  return doc;
}

// /v1/retrieve's "rerank": {"model", "top_n"} to use a reranker, or false for none (default:
// the collection's).
Status parseRerankOption(const json::object& o, RetrieveRequest& r) {
  const json::value* v = o.if_contains("rerank");
  if (v == nullptr || v->is_null()) return Status::ok();
  if (v->is_bool()) {
    if (v->as_bool()) return invalid("'rerank' must be false or {\"model\": ..., \"top_n\": N}",
                                     "rerank");
    r.rerank = config::RagRerankConfig{};
    return Status::ok();
  }
  if (!v->is_object()) {
    return invalid("'rerank' must be false or {\"model\": ..., \"top_n\": N}", "rerank");
  }
  config::RagRerankConfig rerank;
  for (const auto& kv : v->as_object()) {
    if (kv.key() != "model" && kv.key() != "top_n") {
      return invalid("unknown field rerank." + std::string(kv.key()) + " (expected model, top_n)",
                     "rerank." + std::string(kv.key()));
    }
  }
  if (Status s = stringField(v->as_object(), "model", rerank.model, true); !s.isOk()) {
    return invalid("rerank.model: " + s.message(), "rerank.model");
  }
  if (rerank.model.empty()) return invalid("rerank.model must not be empty", "rerank.model");
  if (const json::value* n = v->as_object().if_contains("top_n"); n != nullptr && !n->is_null()) {
    if (!n->is_int64() || n->as_int64() < 1 || n->as_int64() > 1000) {
      return invalid("'rerank.top_n' must be an integer from 1 to 1000", "rerank.top_n");
    }
    rerank.top_n = static_cast<int>(n->as_int64());
  }
  r.rerank = std::move(rerank);
  return Status::ok();
}

// POST /v1/rerank: {model, query, documents: [string | {text}], top_n?, return_documents?}.
Status parseRerank(const json::object& o, api::RerankRequest& r, int& top_n,
                   bool& return_documents) {
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k != "model" && k != "query" && k != "documents" && k != "top_n" &&
        k != "return_documents") {
      return invalid("unknown field '" + std::string(k) +
                         "' (expected model, query, documents, top_n, return_documents)",
                     std::string(k));
    }
  }
  if (Status s = stringField(o, "model", r.model, true); !s.isOk()) return s;
  if (Status s = stringField(o, "query", r.query, true); !s.isOk()) return s;
  if (r.query.empty()) return invalid("'query' must not be empty", "query");
  const json::value* docs = o.if_contains("documents");
  if (docs == nullptr || !docs->is_array() || docs->as_array().empty()) {
    return invalid("'documents' must be a non-empty array of strings", "documents");
  }
  if (docs->as_array().size() > kMaxRerankDocuments) {
    return invalid("at most 1000 documents per request", "documents");
  }
  for (std::size_t i = 0; i < docs->as_array().size(); ++i) {
    const json::value& d = docs->as_array()[i];
    const std::string at = "documents[" + std::to_string(i) + "]";
    if (d.is_string()) {
      r.documents.emplace_back(d.as_string());
    } else if (d.is_object() && d.as_object().if_contains("text") != nullptr &&
               d.as_object().at("text").is_string()) {
      r.documents.emplace_back(d.as_object().at("text").as_string());
    } else {
      return invalid(at + " must be a string (or {\"text\": ...})", at);
    }
  }
  top_n = static_cast<int>(r.documents.size());
  if (const json::value* n = o.if_contains("top_n"); n != nullptr && !n->is_null()) {
    if (!n->is_int64() || n->as_int64() < 1) {
      return invalid("'top_n' must be a positive integer", "top_n");
    }
    top_n = static_cast<int>(std::min<std::int64_t>(n->as_int64(), top_n));
  }
  if (const json::value* b = o.if_contains("return_documents"); b != nullptr && !b->is_null()) {
    if (!b->is_bool()) return invalid("'return_documents' must be true or false", "return_documents");
    return_documents = b->as_bool();
  }
  return Status::ok();
}

// llama-server's answer: results by relevance, best first, cut to top_n.
json::value rerankJson(const api::RerankRequest& r, const api::RerankResponse& scored, int top_n,
                       bool return_documents) {
  std::vector<std::size_t> order(scored.scores.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return scored.scores[a] > scored.scores[b];
  });
  json::array results;
  for (std::size_t i = 0; i < order.size() && static_cast<int>(i) < top_n; ++i) {
    json::object item;
    item["index"] = order[i];
    item["relevance_score"] = scored.scores[order[i]];
    if (return_documents) item["document"] = json::object{{"text", r.documents[order[i]]}};
    results.push_back(std::move(item));
  }
  return json::object{
      {"object", "list"},
      {"model", r.model},
      {"results", std::move(results)},
      {"usage", json::object{{"prompt_tokens", scored.usage.prompt_tokens},
                             {"total_tokens", scored.usage.total_tokens}}}};
}

}  // namespace

bool RagRoutes::serves(std::string_view path) const {
  return path == kCollections || path.starts_with("/v1/collections/") || path == "/v1/retrieve" ||
         path == kRerank;
}

asio::awaitable<void> RagRoutes::handle(std::string_view path, http::Request& req,
                                        http::ResponseWriter& writer, http::ConnectionInfo&,
                                        pipeline::RequestContext& ctx) {
  const http::ResponseWriter::Headers headers{{"x-request-id", ctx.request_id}};
  const auto method = req.method();
  Status error;
  unsigned status = 200;
  json::value body;
  bool log_rerank = false;

  std::string allowed_methods;
  auto methodNotAllowed = [&](std::string_view allowed) {
    allowed_methods = std::string(allowed);
    return Status(ErrorCode::kInvalidArgument, "method not allowed: use " + std::string(allowed))
        .withHttpStatus(405)
        .withErrorType("method_not_allowed");
  };

  // /v1/rerank names its model in the body: it authenticates once that is read.
  if (authenticate_ && path != kRerank) error = authenticate_(req, ctx, {});
  // The collection `name` as the caller may see it: its info, or 404 / 403.
  auto accessible = [&](const std::string& name) -> asio::awaitable<Result<CollectionInfo>> {
    auto pending = service_->collectionAsync(name);
    auto found = co_await std::move(pending);
    if (!found) co_return found;
    if (Status s = checkCollectionAccess(ctx, name, found->is_private); !s.isOk()) {
      co_return fail(std::move(s));
    }
    co_return found;
  };

  if (!error.isOk()) {
    // Unauthenticated: answered below, before anything else is looked at.
  } else if (path == kRerank) {
    api::RerankRequest r;
    int top_n = 0;
    bool return_documents = false;
    if (method != bhttp::verb::post) {
      error = methodNotAllowed("POST");
    } else if (auto o = parseObject(req.body()); !o) {
      error = std::move(o.error());
    } else {
      error = parseRerank(*o, r, top_n, return_documents);
    }
    ctx.endpoint = pipeline::Endpoint::kRerank;
    ctx.requested_model = r.model;
    log_rerank = method == bhttp::verb::post;  // like the model endpoints: no row for a 405
    if (error.isOk() && authenticate_) error = authenticate_(req, ctx, r.model);
    if (error.isOk()) {
      if (auto served = service_->servedBy(r.model)) {
        ctx.provider = served->provider;
        ctx.model = served->model;
      }
      ctx.attempts = 1;
      ctx.upstream_start = std::chrono::steady_clock::now();
      auto pending = service_->rerankAsync(r.model, r.query, r.documents);
      auto scored = co_await std::move(pending);
      ctx.first_byte = std::chrono::steady_clock::now();
      if (!scored) {
        error = std::move(scored.error());
      } else {
        ctx.usage = scored->usage;
        body = rerankJson(r, *scored, top_n, return_documents);
      }
    }
  } else if (path == "/v1/retrieve") {
    if (method != bhttp::verb::post) {
      error = methodNotAllowed("POST");
    } else if (auto o = parseObject(req.body()); !o) {
      error = std::move(o.error());
    } else {
      RetrieveRequest r;
      std::string mode;
      error = stringField(*o, "collection", r.collection, true);
      if (error.isOk()) error = stringField(*o, "query", r.query, true);
      if (error.isOk()) error = stringField(*o, "mode", mode, false);
      if (error.isOk() && !mode.empty()) {
        auto m = parseMode(mode);
        if (m) {
          r.mode = *m;
        } else {
          error = std::move(m.error());
        }
      }
      if (error.isOk()) error = parseRerankOption(*o, r);
      if (error.isOk()) {
        if (const json::value* k = o->if_contains("top_k"); k != nullptr && !k->is_null()) {
          if (!k->is_int64() || k->as_int64() < 1 || k->as_int64() > 100) {
            error = invalid("'top_k' must be an integer from 1 to 100", "top_k");
          } else {
            r.top_k = static_cast<int>(k->as_int64());
          }
        }
      }
      if (error.isOk()) {
        auto checked = co_await accessible(r.collection);
        if (!checked) error = std::move(checked.error());
      }
      if (error.isOk()) {
        const std::string collection = r.collection;
        auto pending = service_->retrieveAsync(std::move(r));
        auto result = co_await std::move(pending);
        if (!result) {
          error = std::move(result.error());
        } else {
          json::array data;
          int rank = 0;
          for (const RetrievedChunk& c : result->chunks) {
            json::object item;
            item["rank"] = ++rank;
            item["score"] = c.score;
            item["id"] = c.chunk.id;
            item["text"] = c.chunk.text;
            item["source"] = c.chunk.source;
            item["title"] = c.chunk.title;
            item["section"] = c.chunk.section;
            item["page"] = c.chunk.page;
            item["citation"] = c.chunk.source + (c.chunk.page > 0
                                                     ? "#page=" + std::to_string(c.chunk.page)
                                                     : c.chunk.section.empty() ? std::string()
                                                                               : "#" + c.chunk.section);
            if (c.lexical_rank > 0) item["lexical_rank"] = c.lexical_rank;
            if (c.vector_rank > 0) item["vector_rank"] = c.vector_rank;
            data.push_back(std::move(item));
          }
          json::object o2;
          o2["object"] = "list";
          o2["collection"] = collection;
          o2["mode"] = modeName(result->mode);
          if (!result->reranked_by.empty()) o2["reranked_by"] = result->reranked_by;
          o2["private"] = result->is_private;
          o2["data"] = std::move(data);
          body = std::move(o2);
        }
      }
    }
  } else if (path == kCollections) {
    if (method == bhttp::verb::get) {
      auto pending = service_->collectionsAsync();
      auto list = co_await std::move(pending);
      if (!list) {
        error = std::move(list.error());
      } else {
        json::array data;
        for (const CollectionInfo& c : *list) {
          if (checkCollectionAccess(ctx, c.name, c.is_private).isOk()) {
            data.push_back(collectionJson(c));
          }
        }
        body = json::object{{"object", "list"}, {"data", std::move(data)}};
      }
    } else if (method == bhttp::verb::post) {
      auto o = parseObject(req.body());
      std::string name;
      bool is_private = false;
      if (!o) {
        error = std::move(o.error());
      } else {
        error = stringField(*o, "name", name, true);
        if (const json::value* p = o->if_contains("private"); error.isOk() && p && !p->is_null()) {
          if (!p->is_bool()) {
            error = invalid("'private' must be true or false", "private");
          } else {
            is_private = p->as_bool();
          }
        }
      }
      if (error.isOk()) error = checkCollectionAccess(ctx, name, is_private);
      if (error.isOk()) {
        auto pending = service_->createCollectionAsync(name, is_private);
        auto created = co_await std::move(pending);
        if (!created) {
          error = std::move(created.error());
        } else {
          status = 201;
          body = collectionJson(*created);
        }
      }
    } else {
      error = methodNotAllowed("GET, POST");
    }
  } else {
    // /v1/collections/{name}[/documents]
    std::string_view rest = path.substr(kCollections.size() + 1);
    const std::size_t slash = rest.find('/');
    const std::string name(rest.substr(0, slash));
    const std::string_view sub = slash == std::string_view::npos ? "" : rest.substr(slash);
    if (name.empty() || (!sub.empty() && sub != "/documents")) {
      error = Status(ErrorCode::kNotFound, "Unknown request URL: " + std::string(path))
                  .withErrorType("unknown_url");
    } else if (sub.empty()) {
      if (method == bhttp::verb::get) {
        auto found = co_await accessible(name);
        if (!found) {
          error = std::move(found.error());
        } else {
          body = collectionJson(*found);
        }
      } else if (method == bhttp::verb::delete_) {
        auto found = co_await accessible(name);
        if (!found) {
          error = std::move(found.error());
        } else {
          auto pending = service_->deleteCollectionAsync(name);
          error = co_await std::move(pending);
        }
        if (error.isOk()) {
          body = json::object{{"object", "collection.deleted"}, {"name", name}, {"deleted", true}};
        }
      } else {
        error = methodNotAllowed("GET, DELETE");
      }
    } else if (method != bhttp::verb::post) {
      error = methodNotAllowed("POST");
    } else {
      auto o = parseObject(req.body());
      std::vector<SourceDocument> docs;
      if (!o) {
        error = std::move(o.error());
      } else if (const json::value* list = o->if_contains("documents")) {
        if (!list->is_array() || list->as_array().empty()) {
          error = invalid("'documents' must be a non-empty array", "documents");
        } else if (list->as_array().size() > kMaxDocuments) {
          error = invalid("at most 1000 documents per request", "documents");
        } else {
          for (std::size_t i = 0; i < list->as_array().size() && error.isOk(); ++i) {
            auto doc = parseDocumentJson(list->as_array()[i], i);
            if (!doc) {
              error = std::move(doc.error());
            } else {
              docs.push_back(std::move(*doc));
            }
          }
        }
      } else {
        error = invalid("missing required field 'documents'", "documents");
      }
      if (error.isOk()) {
        auto found = co_await accessible(name);
        if (!found) error = std::move(found.error());
      }
      if (error.isOk()) {
        auto pending = service_->ingestDocumentsAsync(name, std::move(docs));
        auto report = co_await std::move(pending);
        if (!report) {
          error = std::move(report.error());
        } else {
          body = json::object{{"object", "ingest.report"},
                              {"collection", name},
                              {"added", report->added},
                              {"updated", report->updated},
                              {"unchanged", report->unchanged},
                              {"chunks", report->chunks}};
        }
      }
    }
  }

  if (!error.isOk()) {
    ctx.http_status = api::httpStatusFor(error);
    http::ResponseWriter::Headers h = headers;
    if (!allowed_methods.empty()) h.emplace_back("Allow", allowed_methods);
    (void)co_await writer.send(ctx.http_status, kJson, api::openai::encodeError(error), h);
    if (log_rerank && log_request_) {
      ctx.error = std::move(error);
      log_request_(ctx);
    }
    co_return;
  }
  ctx.http_status = status;
  (void)co_await writer.send(status, kJson, json::serialize(body), headers);
  if (log_rerank && log_request_) log_request_(ctx);
}

}  // namespace switchyard::rag
