#pragma once
// The PostgreSQL implementation of Database (libpq): one connection, reconnected when it drops
// (outside a transaction), `?` placeholders numbered to $1, $2, ... outside quotes, comments
// and dollar-quoted strings. Parameters travel as text (integers typed int8, reals float8,
// text and NULL left for the server to infer); results map int2/4/8, oid and bool to integers,
// float4/8 and numeric to reals, everything else to text. Server notices are not printed.

#include <string>
#include <string_view>

#include "switchyard/store/database.h"

namespace switchyard::store {

// `url` is a libpq URI: postgres://user:password@host:port/dbname?sslmode=...
Result<DatabasePtr> openPostgres(const std::string& url);

// `sql` with each `?` outside quoted text, identifiers and comments replaced by $1, $2, ...
std::string numberPlaceholders(std::string_view sql);

// `url` with its password masked (for logs and errors).
std::string redactUrl(std::string_view url);

}  // namespace switchyard::store
