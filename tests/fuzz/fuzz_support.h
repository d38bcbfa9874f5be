#pragma once
// What every fuzz target shares: a check that stops the run with the failing property and the
// input's size (libFuzzer then saves the input as crash-<sha1>), and JSON validity as
// Boost.JSON's strict parser sees it (UTF-8 checked, no comments, nothing after the value).

#include <boost/json/parse.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace switchyard::fuzz {

[[noreturn]] inline void fail(const char* what, const char* file, int line,
                              std::string_view detail) {
  std::fprintf(stderr, "\n%s:%d: property failed: %s\n", file, line, what);
  if (!detail.empty()) {
    // Printable ASCII as is, newlines kept, anything else (NUL included) as \xNN.
    std::string shown;
    for (const char c : detail.substr(0, 8000)) {
      const auto u = static_cast<unsigned char>(c);
      if ((u >= 0x20 && u < 0x7f) || c == '\n') {
        shown += c;
      } else {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", u);
        shown += hex;
      }
    }
    std::fprintf(stderr, "  detail: %s\n", shown.c_str());
  }
  std::abort();
}

inline bool validJson(std::string_view text) {
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec);
  return !ec;
}

}  // namespace switchyard::fuzz

// SY_FUZZ_CHECK(cond) / SY_FUZZ_CHECK_MSG(cond, detail): detail is anything convertible to
// std::string_view, printed when the property fails (the offending output, say).
#define SY_FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::switchyard::fuzz::fail(#cond, __FILE__, __LINE__, {}))
#define SY_FUZZ_CHECK_MSG(cond, detail) \
  ((cond) ? (void)0 : ::switchyard::fuzz::fail(#cond, __FILE__, __LINE__, (detail)))
