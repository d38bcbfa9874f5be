#include "switchyard/rag/rag_stage.h"

#include <boost/json.hpp>

#include <charconv>

#include "switchyard/api/json_fields.h"
#include "switchyard/api/json_writer.h"
#include "switchyard/core/log.h"
#include "switchyard/rag/access.h"

namespace switchyard::rag {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view kHeader = "x-switchyard-rag";
constexpr int kMaxTopK = 100;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status badRag(std::string message, std::string param) {
  return Status(ErrorCode::kInvalidArgument, std::move(message)).withParam(std::move(param));
}

// The body's "rag" field: an object {collection, top_k, mode} or a collection name.
Result<RagSelection> parseBodyField(const json::value& v) {
  RagSelection sel;
  if (v.is_string()) {
    sel.collection = std::string(v.as_string());
  } else if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      const std::string_view key = kv.key();
      if (key == "collection") {
        if (!kv.value().is_string()) return fail(badRag("rag.collection must be a string", "rag.collection"));
        sel.collection = std::string(kv.value().as_string());
      } else if (key == "top_k") {
        if (!kv.value().is_int64() && !kv.value().is_uint64()) {
          return fail(badRag("rag.top_k must be an integer", "rag.top_k"));
        }
        const auto k = api::exactInt64(kv.value()).value_or(kMaxTopK + 1);  // > 2^63: too big
        if (k < 1 || k > kMaxTopK) {
          return fail(badRag("rag.top_k must be between 1 and 100", "rag.top_k"));
        }
        sel.top_k = static_cast<int>(k);
      } else if (key == "mode") {
        if (!kv.value().is_string()) return fail(badRag("rag.mode must be a string", "rag.mode"));
        auto mode = parseMode(kv.value().as_string());
        if (!mode) return fail(badRag(mode.error().message(), "rag.mode"));
        sel.mode = *mode;
      } else {
        return fail(badRag("unknown field rag." + std::string(key) +
                               " (expected collection, top_k, mode)",
                           "rag." + std::string(key)));
      }
    }
  } else {
    return fail(badRag("rag must be an object {\"collection\": ..., \"top_k\": ...} or a "
                       "collection name",
                       "rag"));
  }
  if (sel.collection.empty()) return fail(badRag("rag.collection is required", "rag.collection"));
  return sel;
}

void injectIntoSystemPrompt(api::ChatRequest& chat, const std::string& context) {
  if (!chat.messages.empty() && (chat.messages.front().role == api::Role::kSystem ||
                                 chat.messages.front().role == api::Role::kDeveloper)) {
    api::Message& system = chat.messages.front();
    if (system.content_form == api::Message::ContentForm::kString && !system.content.empty()) {
      system.content.front().text += "\n\n" + context;
      return;
    }
    api::ContentPart part;
    part.text = context;
    if (system.content_form == api::Message::ContentForm::kNull) {
      system.content_form = api::Message::ContentForm::kString;
      system.content = {part};
    } else {
      system.content.push_back(std::move(part));
    }
    return;
  }
  api::Message system;
  system.role = api::Role::kSystem;
  system.content_form = api::Message::ContentForm::kString;
  api::ContentPart part;
  part.text = context;
  system.content.push_back(std::move(part));
  chat.messages.insert(chat.messages.begin(), std::move(system));
}

std::string lastUserText(const api::ChatRequest& chat) {
  for (auto it = chat.messages.rbegin(); it != chat.messages.rend(); ++it) {
    if (it->role == api::Role::kUser) return it->text();
  }
  return {};
}

// The guard scans what goes into the prompt (title, section, text of each chunk) under the
// request's own policy: redacted and masked in place, and a chunk with a blocked entity is
// left out (and not cited).
void withholdByGuard(pipeline::ContentGuard& guard, pipeline::RequestContext& ctx,
                     std::string_view collection, std::vector<RetrievedChunk>& chunks) {
  constexpr std::size_t kFields = 3;
  std::vector<std::string> texts;
  texts.reserve(chunks.size() * kFields);
  for (RetrievedChunk& c : chunks) {
    texts.push_back(std::move(c.chunk.title));
    texts.push_back(std::move(c.chunk.section));
    texts.push_back(std::move(c.chunk.text));
  }
  const std::vector<bool> withheld = guard.scan(ctx, texts, "rag:" + std::string(collection));
  std::vector<RetrievedChunk> kept;
  kept.reserve(chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const std::size_t at = i * kFields;
    if (withheld[at] || withheld[at + 1] || withheld[at + 2]) continue;
    RetrievedChunk& c = chunks[i];
    c.chunk.title = std::move(texts[at]);
    c.chunk.section = std::move(texts[at + 1]);
    c.chunk.text = std::move(texts[at + 2]);
    kept.push_back(std::move(c));
  }
  chunks = std::move(kept);
}

}  // namespace

Result<RagSelection> parseRagHeader(std::string_view value) {
  RagSelection sel;
  std::size_t start = 0;
  bool first = true;
  while (start <= value.size()) {
    std::size_t end = value.find(';', start);
    if (end == std::string_view::npos) end = value.size();
    const std::string_view item = trim(value.substr(start, end - start));
    if (first) {
      sel.collection = std::string(item);
      first = false;
    } else if (!item.empty()) {
      const std::size_t eq = item.find('=');
      const std::string_view key = trim(item.substr(0, eq));
      const std::string_view val = eq == std::string_view::npos ? "" : trim(item.substr(eq + 1));
      if (key == "top_k") {
        int k = 0;
        auto [ptr, ec] = std::from_chars(val.data(), val.data() + val.size(), k);
        if (ec != std::errc() || ptr != val.data() + val.size() || k < 1 || k > kMaxTopK) {
          return fail(badRag(std::string(kHeader) + ": top_k must be an integer from 1 to 100",
                             std::string(kHeader)));
        }
        sel.top_k = k;
      } else if (key == "mode") {
        auto mode = parseMode(val);
        if (!mode) {
          return fail(badRag(std::string(kHeader) + ": " + mode.error().message(),
                             std::string(kHeader)));
        }
        sel.mode = *mode;
      } else {
        return fail(badRag(std::string(kHeader) + ": unknown parameter '" + std::string(key) +
                               "' (expected top_k or mode)",
                           std::string(kHeader)));
      }
    }
    if (end == value.size()) break;
    start = end + 1;
  }
  if (sel.collection.empty()) {
    return fail(badRag(std::string(kHeader) + ": expected COLLECTION[;top_k=N][;mode=M]",
                       std::string(kHeader)));
  }
  return sel;
}

std::string citationFor(const ChunkRecord& chunk) {
  std::string cite = chunk.source;
  if (chunk.page > 0) {
    cite += "#page=" + std::to_string(chunk.page);
  } else if (!chunk.section.empty()) {
    cite += "#" + chunk.section;
  }
  return cite;
}

std::string renderContext(const std::vector<RetrievedChunk>& chunks) {
  std::string out =
      "Answer using the numbered sources below where they are relevant, and cite them by "
      "number in brackets, like [1]. If they do not contain the answer, say so.\n";
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const ChunkRecord& c = chunks[i].chunk;
    out += "\n[" + std::to_string(i + 1) + "] " + (c.title.empty() ? c.source : c.title);
    if (!c.section.empty()) out += " - " + c.section;
    if (c.page > 0) out += " (page " + std::to_string(c.page) + ")";
    out += "\n";
    out += c.text;
    out += "\n";
  }
  return out;
}

std::string citationsJson(std::string_view collection, const std::vector<RetrievedChunk>& chunks) {
  std::string out;
  api::JsonWriter w(out);
  w.beginArray();
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const ChunkRecord& c = chunks[i].chunk;
    w.beginObject();
    w.key("index").integer(static_cast<std::int64_t>(i + 1));
    w.key("collection").string(collection);
    w.key("source").string(c.source);
    w.key("title").string(c.title);
    w.key("section").string(c.section);
    w.key("page").integer(c.page);
    w.key("chunk_id").integer(c.id);
    w.key("score").number(chunks[i].score);
    w.endObject();
  }
  w.endArray();
  return out;
}

std::string citationsHeader(const std::vector<std::string>& citations) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < citations.size(); ++i) {
    if (i > 0) out += ", ";
    out += "[" + std::to_string(i + 1) + "] ";
    for (unsigned char c : citations[i]) {
      if (c < 0x20 || c >= 0x7f || c == '%' || c == ',' || c == ';') {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out;
}

asio::awaitable<pipeline::Verdict> RagStage::admit(pipeline::StageInput& in) {
  std::optional<RagSelection> selection;
  api::ChatRequest* chat = in.chat;
  if (chat != nullptr) {
    if (auto it = chat->extra.find("rag"); it != chat->extra.end()) {
      auto parsed = parseBodyField(it->value());
      chat->extra.erase(it);  // ours: never forwarded upstream
      if (!parsed) co_return std::move(parsed.error());
      selection = std::move(*parsed);
    }
  }
  if (!selection) {
    const std::string_view header = in.headers.get(kHeader);
    if (!header.empty()) {
      auto parsed = parseRagHeader(header);
      if (!parsed) co_return std::move(parsed.error());
      selection = std::move(*parsed);
    }
  }
  if (!selection && chat != nullptr) {
    const auto& routes = service_->options().routes;
    if (auto it = routes.find(chat->model); it != routes.end()) {
      selection = RagSelection{it->second.collection, it->second.top_k, std::nullopt};
      if (!it->second.rerank.model.empty()) selection->rerank = it->second.rerank;
    }
  }
  if (!selection) co_return Status::ok();
  if (chat == nullptr) {
    co_return badRag("retrieval (rag) works with chat requests only", std::string(kHeader));
  }

  // The key's collections scope: a name outside it is refused before any retrieval work.
  if (Status s = checkCollectionAccess(in.ctx, selection->collection, false); !s.isOk()) {
    co_return s.withParam("rag.collection");
  }
  RetrieveRequest request;
  request.collection = selection->collection;
  request.top_k = selection->top_k;
  request.mode = selection->mode;
  request.rerank = selection->rerank;
  request.query = lastUserText(*chat);
  in.ctx.rag_collection = selection->collection;
  auto pending = service_->retrieveAsync(std::move(request));
  Result<RetrieveResult> result = co_await std::move(pending);
  if (!result) {
    Status s = std::move(result.error());
    if (s.code() == ErrorCode::kNotFound) {
      co_return Status(ErrorCode::kNotFound,
                       "rag collection '" + selection->collection + "' does not exist")
          .withParam("rag.collection")
          .withErrorType("collection_not_found");
    }
    co_return s;
  }
  if (result->is_private) {
    if (Status s = checkCollectionAccess(in.ctx, selection->collection, true); !s.isOk()) {
      co_return s.withParam("rag.collection");
    }
    in.ctx.local_only = true;
    in.ctx.local_only_reason = "private collection " + selection->collection;
  }
  if (in.ctx.content_guard) {
    withholdByGuard(*in.ctx.content_guard, in.ctx, selection->collection, result->chunks);
  }
  if (result->chunks.empty()) co_return Status::ok();
  injectIntoSystemPrompt(*chat, renderContext(result->chunks));
  for (const RetrievedChunk& c : result->chunks) in.ctx.citations.push_back(citationFor(c.chunk));
  in.ctx.response_headers.emplace_back("x-switchyard-citations", citationsHeader(in.ctx.citations));
  in.ctx.citations_json = citationsJson(selection->collection, result->chunks);
  co_return Status::ok();
}

}  // namespace switchyard::rag
