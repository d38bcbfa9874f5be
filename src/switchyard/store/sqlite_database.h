#pragma once
// The SQLite implementation of Database: one connection in WAL mode (readers never block the
// writer), a busy timeout, foreign keys on, prepared statements cached by SQL text.

#include <string>

#include "switchyard/store/database.h"

namespace switchyard::store {

// `path` is a file path or ":memory:". Creates the file (not its directory) when missing.
Result<DatabasePtr> openSqlite(const std::string& path);

}  // namespace switchyard::store
