#include "switchyard/server/cors.h"

#include <algorithm>
#include <cctype>

namespace switchyard::server {
namespace {

bool allDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

CorsPolicy::CorsPolicy(const std::vector<std::string>& origins) {
  for (const std::string& o : origins) {
    if (o == "*") {
      any_ = true;
    } else if (o.size() > 2 && o.ends_with(":*")) {
      entries_.push_back({o.substr(0, o.size() - 2), true});
    } else {
      entries_.push_back({o, false});
    }
  }
}

std::optional<std::string> CorsPolicy::allow(std::string_view origin) const {
  if (any_) return std::string("*");
  for (const Entry& e : entries_) {
    if (equalsIgnoringCase(origin, e.base)) return std::string(origin);
    // "host:*" admits "host:<digits>" (the port the page was served from).
    if (e.any_port && origin.size() > e.base.size() + 1 && origin[e.base.size()] == ':' &&
        equalsIgnoringCase(origin.substr(0, e.base.size()), e.base) &&
        allDigits(origin.substr(e.base.size() + 1))) {
      return std::string(origin);
    }
  }
  return std::nullopt;
}

}  // namespace switchyard::server
