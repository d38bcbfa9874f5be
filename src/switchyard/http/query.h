#pragma once
// QueryParams: the decoded query parameters of a request target ("/path?limit=20&order=asc"),
// for endpoints that take a few (list pagination, filters). Malformed targets read as empty.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::http {

class QueryParams {
 public:
  explicit QueryParams(std::string_view target);
  // The first value of `key`, decoded; "" when absent.
  std::string get(std::string_view key) const;
  bool has(std::string_view key) const;
  // An integer within [min, max]; `fallback` when absent; kInvalidArgument (param `key`)
  // otherwise.
  Result<std::int64_t> integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                               std::int64_t max) const;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

}  // namespace switchyard::http
