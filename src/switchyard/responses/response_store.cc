#include "switchyard/responses/response_store.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <string_view>
#include <variant>

namespace switchyard::responses {
namespace json = boost::json;
using store::Row;
using store::Value;

namespace {

constexpr store::Migration kMigrations[] = {
    {1, "stored_responses",
     "CREATE TABLE IF NOT EXISTS stored_responses ("
     " id TEXT PRIMARY KEY, owner TEXT NOT NULL, previous_id TEXT,"
     " created_at BIGINT NOT NULL, model TEXT NOT NULL, input TEXT NOT NULL,"
     " response TEXT NOT NULL);"
     "CREATE INDEX IF NOT EXISTS stored_responses_created ON stored_responses(created_at)",
     ""},
};

// A chain longer than this is refused even when its bytes fit (a loop guard: ids are never
// reused, so a chain cannot cycle, but the query's depth bound must be finite).
constexpr std::int64_t kMaxChain = 100'000;

bool visible(const Caller& caller, const std::string& owner) {
  return caller.any || caller.owner == owner;
}

StoredResponse fromRow(const Row& r) {
  return StoredResponse{r.text(0), r.text(1), r.text(2), r.integer(3),
                        r.text(4), r.text(5), r.text(6)};
}

// A text column in place (Row::text copies; stored conversations can be megabytes).
std::string_view textAt(const Row& r, std::size_t i) {
  const std::string* s = std::get_if<std::string>(&r.values[i]);
  return s != nullptr ? std::string_view(*s) : std::string_view();
}

Status notFound(std::string_view id) {
  return Status(ErrorCode::kNotFound, "No response found with id '" + std::string(id) + "'.");
}

}  // namespace

Result<std::unique_ptr<ResponseStore>> ResponseStore::open(store::DatabasePtr db,
                                                           ResponseStoreOptions options) {
  if (Status s = store::migrate(*db, "responses", kMigrations); !s.isOk()) {
    return fail(std::move(s));
  }
  return std::unique_ptr<ResponseStore>(new ResponseStore(std::move(db), options));
}

Status ResponseStore::put(const StoredResponse& row) {
  const Value params[] = {
      row.id,         row.owner, row.previous_id.empty() ? Value() : Value(row.previous_id),
      row.created_at, row.model, row.input,
      row.response};
  Status s = db_->exec(
      "INSERT INTO stored_responses (id, owner, previous_id, created_at, model, input, response)"
      " VALUES (?, ?, ?, ?, ?, ?, ?)",
      params);
  if (!s.isOk()) return s;
  if (options_.max_age.count() > 0) {
    const auto now = std::chrono::steady_clock::now();
    bool due = false;
    {
      std::lock_guard lock(prune_mu_);
      if (last_prune_ == std::chrono::steady_clock::time_point{} ||
          now - last_prune_ >= options_.prune_interval) {
        last_prune_ = now;
        due = true;
      }
    }
    // A failed prune does not fail the put: the row is stored, the next prune retries.
    if (due) (void)prune(row.created_at);
  }
  return Status::ok();
}

Result<StoredResponse> ResponseStore::get(std::string_view id, const Caller& caller) {
  const Value params[] = {std::string(id)};
  auto rows = db_->query(
      "SELECT id, owner, previous_id, created_at, model, input, response"
      " FROM stored_responses WHERE id = ?",
      params);
  if (!rows) return fail(std::move(rows.error()));
  if (rows->empty() || !visible(caller, rows->front().text(1))) return fail(notFound(id));
  return fromRow(rows->front());
}

Status ResponseStore::remove(std::string_view id, const Caller& caller) {
  auto row = get(id, caller);
  if (!row) return std::move(row.error());
  const Value params[] = {std::string(id)};
  return db_->exec("DELETE FROM stored_responses WHERE id = ?", params);
}

Result<json::array> ResponseStore::history(std::string_view id, const Caller& caller) {
  const Value params[] = {std::string(id), kMaxChain};
  // Newest first: the response asked for, then the one it continued, and so on.
  auto rows = db_->query(
      "WITH RECURSIVE chain(id, previous_id, owner, input, response, depth) AS ("
      " SELECT id, previous_id, owner, input, response, 0 FROM stored_responses WHERE id = ?"
      " UNION ALL"
      " SELECT r.id, r.previous_id, r.owner, r.input, r.response, c.depth + 1"
      " FROM stored_responses r JOIN chain c ON r.id = c.previous_id WHERE c.depth < ?)"
      " SELECT id, previous_id, owner, input, response FROM chain ORDER BY depth DESC",
      params);
  if (!rows) return fail(std::move(rows.error()));
  if (rows->empty()) return fail(notFound(id));
  // The oldest row must start the conversation: a previous_id that is gone broke the chain.
  if (const Row& oldest = rows->front(); !oldest.isNull(1) && !oldest.text(1).empty()) {
    return fail(ErrorCode::kNotFound, "Previous response with id '" + std::string(id) +
                                          "' continues response '" + oldest.text(1) +
                                          "', which is no longer stored.");
  }
  std::size_t bytes = 0;
  for (const Row& r : *rows) {
    if (!visible(caller, r.text(2))) return fail(notFound(id));
    bytes += textAt(r, 3).size() + textAt(r, 4).size();
  }
  if (bytes > options_.max_history_bytes) {
    return fail(ErrorCode::kInvalidArgument,
                "the conversation of previous response '" + std::string(id) + "' holds " +
                    std::to_string(bytes) + " bytes, more than the gateway's limit of " +
                    std::to_string(options_.max_history_bytes) +
                    "; start a new conversation with the turns you need as input");
  }
  json::array items;
  for (const Row& r : *rows) {
    boost::system::error_code ec;
    json::value input = json::parse(textAt(r, 3), ec);
    if (ec || !input.is_array()) {
      return fail(ErrorCode::kInternal, "stored response '" + r.text(0) + "': input unreadable");
    }
    json::value response = json::parse(textAt(r, 4), ec);
    const json::object* o = ec ? nullptr : response.if_object();
    const json::value* output = o != nullptr ? o->if_contains("output") : nullptr;
    if (output == nullptr || !output->is_array()) {
      return fail(ErrorCode::kInternal, "stored response '" + r.text(0) + "': output unreadable");
    }
    for (json::value& item : input.get_array()) items.push_back(std::move(item));
    for (const json::value& item : output->get_array()) items.push_back(item);
  }
  return items;
}

Result<json::value> ResponseStore::item(std::string_view item_id, const Caller& caller) {
  auto missing = [&] {
    return fail(ErrorCode::kNotFound, "No item found with id '" + std::string(item_id) + "'.");
  };
  constexpr std::size_t kSuffix = 24;
  const std::size_t sep = item_id.find('_');
  if (sep == std::string_view::npos || item_id.size() < sep + 1 + kSuffix) return missing();
  const std::string_view suffix = item_id.substr(sep + 1, kSuffix);
  for (char c : suffix) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return missing();
  }
  auto row = get("resp_" + std::string(suffix), caller);
  if (!row) {
    if (row.error().code() == ErrorCode::kNotFound) return missing();
    return fail(std::move(row.error()));
  }
  boost::system::error_code ec;
  json::value input = json::parse(row->input, ec);
  json::value response = ec ? json::value() : json::parse(row->response, ec);
  if (ec) return fail(ErrorCode::kInternal, "stored response '" + row->id + "' is unreadable");
  for (const json::value* list :
       {&input, response.is_object() ? response.get_object().if_contains("output") : nullptr}) {
    if (list == nullptr || !list->is_array()) continue;
    for (const json::value& it : list->get_array()) {
      const json::object* o = it.if_object();
      const json::value* id = o != nullptr ? o->if_contains("id") : nullptr;
      if (id != nullptr && id->is_string() && id->get_string() == item_id) return it;
    }
  }
  return missing();
}

Result<std::int64_t> ResponseStore::prune(std::int64_t now_unix_seconds) {
  if (options_.max_age.count() <= 0) return std::int64_t{0};
  const std::int64_t cutoff =
      now_unix_seconds - std::chrono::duration_cast<std::chrono::seconds>(options_.max_age).count();
  std::int64_t deleted = 0;
  Status s = db_->transaction([&]() -> Status {
    const Value params[] = {cutoff};
    if (Status e = db_->exec("DELETE FROM stored_responses WHERE created_at < ?", params);
        !e.isOk()) {
      return e;
    }
    deleted = db_->changes();
    return Status::ok();
  });
  if (!s.isOk()) return fail(std::move(s));
  return deleted;
}

}  // namespace switchyard::responses
