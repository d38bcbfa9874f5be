#include "switchyard/api/openai/rerank_codec.h"

#include <boost/json.hpp>

#include <cmath>
#include <optional>

#include "switchyard/api/json_fields.h"

namespace switchyard::api::openai {

namespace json = boost::json;

namespace {

Status invalid(std::string message) {
  return Status(ErrorCode::kUpstream, "invalid rerank response: " + std::move(message));
}

}  // namespace

std::string encodeRerankRequest(const RerankRequest& request) {
  json::array documents;
  documents.reserve(request.documents.size());
  for (const std::string& d : request.documents) documents.emplace_back(d);
  json::object body;
  body["model"] = request.model;
  body["query"] = request.query;
  body["documents"] = std::move(documents);
  body["top_n"] = request.documents.size();
  return json::serialize(body);
}

Result<RerankResponse> decodeRerankResponse(std::string_view body, std::size_t documents) {
  boost::system::error_code ec;
  const json::value root = json::parse(body, ec);
  if (ec) return fail(invalid("not JSON (" + ec.message() + ")"));
  const json::array* results = root.if_array();
  RerankResponse out;
  if (const json::object* o = root.if_object()) {
    const json::value* list = o->if_contains("results");
    if (list == nullptr) list = o->if_contains("data");
    results = list != nullptr ? list->if_array() : nullptr;
    if (const json::value* m = o->if_contains("model"); m && m->is_string()) {
      out.model = std::string(m->get_string());
    }
    if (const json::value* u = o->if_contains("usage"); u && u->is_object()) {
      const json::object& usage = u->get_object();
      auto count = [&](std::string_view key) -> std::int64_t {
        const json::value* v = usage.if_contains(key);
        return v != nullptr ? exactInt64(*v).value_or(0) : 0;
      };
      out.usage.prompt_tokens = count("prompt_tokens");
      out.usage.total_tokens = count("total_tokens");
      if (out.usage.prompt_tokens == 0) out.usage.prompt_tokens = out.usage.total_tokens;
      if (out.usage.total_tokens == 0) out.usage.total_tokens = out.usage.prompt_tokens;
    }
  }
  if (results == nullptr) return fail(invalid("expected a 'results' array"));
  out.scores.assign(documents, std::nan(""));
  for (const json::value& item : *results) {
    const json::object* r = item.if_object();
    if (r == nullptr) return fail(invalid("a result is not an object"));
    const json::value* index = r->if_contains("index");
    const json::value* score = r->if_contains("relevance_score");
    if (score == nullptr) score = r->if_contains("score");
    const std::optional<std::int64_t> at = index != nullptr ? exactInt64(*index) : std::nullopt;
    if (!at || score == nullptr || !score->is_number()) {
      return fail(invalid("each result needs an integer index and a numeric relevance_score"));
    }
    const std::int64_t i = *at;
    if (i < 0 || static_cast<std::size_t>(i) >= documents) {
      return fail(invalid("index " + std::to_string(i) + " is out of range for " +
                          std::to_string(documents) + " documents"));
    }
    double& slot = out.scores[static_cast<std::size_t>(i)];
    if (!std::isnan(slot)) return fail(invalid("index " + std::to_string(i) + " is repeated"));
    slot = score->to_number<double>();
  }
  for (std::size_t i = 0; i < out.scores.size(); ++i) {
    if (std::isnan(out.scores[i])) {
      return fail(invalid("no score for document " + std::to_string(i) + " of " +
                          std::to_string(documents)));
    }
  }
  return out;
}

}  // namespace switchyard::api::openai
