#pragma once
// BeastHeaders: the pipeline's read-only view (pipeline::RequestHeaders) of a Beast request's
// headers. Borrows the request; lives no longer than it.

#include <string_view>

#include "switchyard/http/server.h"
#include "switchyard/pipeline/stage.h"

namespace switchyard::server {

class BeastHeaders final : public pipeline::RequestHeaders {
 public:
  explicit BeastHeaders(const http::Request& req) : req_(req) {}
  std::string_view get(std::string_view name) const override {
    auto it = req_.find(name);
    return it == req_.end() ? std::string_view() : std::string_view(it->value());
  }

 private:
  const http::Request& req_;
};

}  // namespace switchyard::server
