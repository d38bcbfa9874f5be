#pragma once
// The dashboard's web bundle (index.html, app.js, app.css from web/), embedded into the binary
// at build time by cmake/embed_assets.cmake, so the single binary serves /ui with no files on
// disk. Immutable static data: thread-safe.

#include <span>
#include <string_view>

namespace switchyard::dashboard {

struct Asset {
  std::string_view name;          // "app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // strong ETag, quoted: "\"3f2a...\""
  std::string_view data;
};

// Every embedded file (defined in the generated dashboard_assets.cc).
std::span<const Asset> embeddedAssets();

// The asset called `name` ("" and "index.html" are the page itself); null when there is none.
const Asset* findAsset(std::string_view name);

}  // namespace switchyard::dashboard
