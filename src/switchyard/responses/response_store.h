#pragma once
// ResponseStore: OpenAI Responses API state (`store: true`, `previous_response_id`, GET and
// DELETE /v1/responses/{id}, input_items), one row per stored Response in the gateway's store
// (SQLite or PostgreSQL, table `stored_responses`). A row holds the request's own input items
// and the Response object as sent; a conversation is the chain of rows linked by previous_id,
// walked in one recursive query. Rows belong to the virtual key that created them (owner; ""
// for anonymous callers) and are pruned after max_age.
//
// Every call blocks on the store: call it off the I/O threads. Thread-safe (the Database
// serializes).

#include <boost/json/array.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "switchyard/core/status.h"
#include "switchyard/store/database.h"

namespace switchyard::responses {

struct StoredResponse {
  std::string id;               // "resp_..."
  std::string owner;            // virtual key id; "" anonymous
  std::string previous_id;      // previous_response_id; "" none
  std::int64_t created_at = 0;  // Unix seconds
  std::string model;
  std::string input;     // JSON array: the request's own input items, each with an "id"
  std::string response;  // JSON object: the Response as sent to the client
};

// Who asks: a key id ("" anonymous); `any` (the admin key) reaches every owner's rows.
struct Caller {
  std::string owner;
  bool any = false;
};

struct ResponseStoreOptions {
  std::chrono::milliseconds max_age{30LL * 24 * 3600 * 1000};  // 0: keep forever
  std::chrono::milliseconds prune_interval{300'000};           // how often put() prunes
  std::size_t max_history_bytes = 32u << 20;  // a conversation longer than this is refused
};

class ResponseStore {
 public:
  // Creates the table (component "responses"). The store keeps `db`.
  static Result<std::unique_ptr<ResponseStore>> open(store::DatabasePtr db,
                                                     ResponseStoreOptions options = {});

  // Stores one Response; an id already stored is an error (a stored Response is never
  // replaced, least of all by another owner's). Prunes expired rows now and then.
  Status put(const StoredResponse& row);
  // The row, when `caller` may see it; kNotFound otherwise (rows of another owner are not
  // found, not forbidden: their existence is not revealed).
  Result<StoredResponse> get(std::string_view id, const Caller& caller);
  // Deletes it; kNotFound as get().
  Status remove(std::string_view id, const Caller& caller);
  // The conversation that `id` ends: for each response from the oldest on, its input items
  // then its output items, ready to precede a new request's input. kNotFound when `id` (or a
  // response it continues) is gone or not the caller's; kInvalidArgument beyond
  // max_history_bytes.
  Result<boost::json::array> history(std::string_view id, const Caller& caller);
  // One item of a stored response (an input item or an output item), by its id, for an
  // `item_reference`. Item ids carry their response's: "<type>_<response suffix>[_...]" (the
  // gateway's ids are 24 hex digits). kNotFound when it is not a stored item the caller may see.
  Result<boost::json::value> item(std::string_view item_id, const Caller& caller);
  // Deletes rows older than max_age; returns how many.
  Result<std::int64_t> prune(std::int64_t now_unix_seconds);

 private:
  ResponseStore(store::DatabasePtr db, ResponseStoreOptions options)
      : db_(std::move(db)), options_(options) {}

  store::DatabasePtr db_;
  ResponseStoreOptions options_;
  std::mutex prune_mu_;
  std::chrono::steady_clock::time_point last_prune_{};
};

using ResponseStorePtr = std::unique_ptr<ResponseStore>;

}  // namespace switchyard::responses
