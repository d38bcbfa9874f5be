#pragma once
// Small ASCII string helpers shared by the parsers of config, proxies, documents and suites.

#include <cctype>
#include <string>
#include <string_view>

namespace switchyard {

// `s` without leading and trailing white space (std::isspace in the C locale).
inline std::string_view trimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// `s` with ASCII letters in lower case; other bytes (UTF-8 included) unchanged.
inline std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace switchyard
