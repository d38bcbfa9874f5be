#include "test_gateway.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace switchyard::fakes {

std::string testTempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / (name + "-" + std::to_string(::getpid())))
      .string();
}

config::Config testConfig() {
  config::Config cfg;
  cfg.source = "<test>";
  cfg.server.host = "127.0.0.1";
  cfg.server.port = 0;
  cfg.server.workers = 1;
  cfg.log.access_log = false;
  return cfg;
}

config::ProviderConfig fakeProvider(std::string name, std::string kind,
                                    const FakeUpstream& upstream,
                                    std::vector<config::ModelConfig> models,
                                    std::string api_key) {
  config::ProviderConfig p;
  p.name = std::move(name);
  p.kind = std::move(kind);
  // The OpenAI fake serves under /v1; Anthropic's base URL has no version (the provider adds
  // /v1/messages) and Gemini's is the API version root.
  if (p.kind == "anthropic") {
    p.base_url = "http://127.0.0.1:" + std::to_string(upstream.port());
  } else if (p.kind == "gemini") {
    p.base_url = "http://127.0.0.1:" + std::to_string(upstream.port()) + "/v1beta";
  } else {
    p.base_url = upstream.baseUrl();
  }
  p.api_key = std::move(api_key);
  p.models = std::move(models);
  return p;
}

void noRetries(config::Config& config) {
  config.routing.retry.attempts = 1;
  for (auto& r : config.routes) r.retry.attempts = 1;
}

std::unique_ptr<server::Gateway> startGateway(config::Config config) {
  auto gw = server::Gateway::create(std::move(config));
  if (!gw) {
    ADD_FAILURE() << "the gateway did not start: " << gw.error().toString();
    return nullptr;
  }
  (*gw)->start();
  return std::move(*gw);
}

}  // namespace switchyard::fakes
