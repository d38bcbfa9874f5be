#pragma once
// Who may read and write a RAG collection. A request's caller is what the auth stage (model
// requests) or the module authenticator (the /v1/collections and /v1/retrieve endpoints) found
// in RequestContext: the admin key may do everything; a virtual key is limited by its
// `collections` scope; with keys not required, a request without a key is anonymous and may
// use every collection (as it may use every model). Pure functions: thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/pipeline/context.h"

namespace switchyard::rag {

// Whether a key whose collection scope is `scopes` may read and write `collection`. Patterns are
// names or "prefix*". An empty scope is "*": every collection that is not private. A private
// collection is reachable only through a pattern other than the bare "*" (its name, or a prefix
// such as "hr-*"): the default scope never reaches private documents.
bool scopeAllows(const std::vector<std::string>& scopes, std::string_view collection,
                 bool is_private);

// The same check for the caller of `ctx` (admin, key, or anonymous): ok, or 403
// (`collection_not_allowed`, param `collection`) naming the key and the collection.
Status checkCollectionAccess(const pipeline::RequestContext& ctx, std::string_view collection,
                             bool is_private);

}  // namespace switchyard::rag
