#include "switchyard/http/query.h"

#include <boost/url/parse.hpp>
#include <charconv>

namespace switchyard::http {

QueryParams::QueryParams(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return;
  for (auto param : url->params()) {
    if (param.has_value) values_.emplace_back(param.key, param.value);
  }
}

std::string QueryParams::get(std::string_view key) const {
  for (const auto& [k, v] : values_) {
    if (k == key) return v;
  }
  return {};
}

bool QueryParams::has(std::string_view key) const {
  for (const auto& kv : values_) {
    if (kv.first == key) return true;
  }
  return false;
}

Result<std::int64_t> QueryParams::integer(std::string_view key, std::int64_t fallback,
                                          std::int64_t min, std::int64_t max) const {
  const std::string text = get(key);
  if (text.empty()) return fallback;
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < min || n > max) {
    return fail(
        Status(ErrorCode::kInvalidArgument, std::string(key) + ": expected an integer from " +
                                                std::to_string(min) + " to " + std::to_string(max))
            .withParam(std::string(key)));
  }
  return n;
}

}  // namespace switchyard::http
