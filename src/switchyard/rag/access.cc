#include "switchyard/rag/access.h"

#include <algorithm>

namespace switchyard::rag {

bool scopeAllows(const std::vector<std::string>& scopes, std::string_view collection,
                 bool is_private) {
  if (scopes.empty()) return !is_private;
  return std::any_of(scopes.begin(), scopes.end(), [&](const std::string& p) {
    if (p == "*") return !is_private;
    if (!p.empty() && p.back() == '*') {
      return collection.starts_with(std::string_view(p).substr(0, p.size() - 1));
    }
    return p == collection;
  });
}

Status checkCollectionAccess(const pipeline::RequestContext& ctx, std::string_view collection,
                             bool is_private) {
  if (ctx.admin || ctx.key_id.empty()) return Status::ok();
  if (scopeAllows(ctx.allowed_collections, collection, is_private)) return Status::ok();
  std::string message = "The API key '" + ctx.key_name + "' may not use collection '" +
                        std::string(collection) + "'";
  message += is_private ? " (a private collection must be named in the key's collections scope)."
                        : ".";
  message += " Ask an administrator to extend its scopes.";
  return Status(ErrorCode::kPermissionDenied, std::move(message))
      .withParam("collection")
      .withErrorType("collection_not_allowed");
}

}  // namespace switchyard::rag
