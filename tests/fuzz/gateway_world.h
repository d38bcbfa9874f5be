#pragma once
// The running gateway of the fuzz targets that talk to it over sockets (gateway, http_wire): a
// Gateway on loopback, from a config template, against a FakeUpstream. Started on first use and
// never destroyed (its threads run until the process exits); its directory is removed at exit.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/log.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fuzz/fuzz_support.h"

namespace switchyard::fuzz {

struct GatewayWorld {
  std::string dir;
  std::unique_ptr<fakes::FakeUpstream> upstream;
  std::unique_ptr<server::Gateway> gateway;
};

// `config` is YAML in which "@UPSTREAM@" stands for the fake upstream's base URL, "@DIR@" for a
// fresh temporary directory, and each of `fills`' names for its value. Logging is off.
inline GatewayWorld* startGatewayWorld(
    std::string_view name, std::string_view config,
    const std::vector<std::pair<std::string_view, std::string>>& fills = {}) {
  (void)setupLogging({"off", LogFormat::kText, ""});
  auto* world = new GatewayWorld;
  std::string dir = "/tmp/switchyard-" + std::string(name) + "-fuzz-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) fail("mkdtemp", __FILE__, __LINE__, dir);
  world->dir = dir;
  static std::vector<std::string> dirs;
  if (dirs.empty()) {
    std::atexit([] {
      for (const auto& d : dirs) std::filesystem::remove_all(d);
    });
  }
  dirs.push_back(dir);
  world->upstream = std::make_unique<fakes::FakeUpstream>();

  std::string text(config);
  const auto fill = [&](std::string_view key, const std::string& value) {
    for (std::size_t at = text.find(key); at != std::string::npos;
         at = text.find(key, at + value.size())) {
      text.replace(at, key.size(), value);
    }
  };
  fill("@UPSTREAM@", world->upstream->baseUrl());
  fill("@DIR@", world->dir);
  for (const auto& [key, value] : fills) fill(key, value);

  auto parsed = config::parseConfig(text, std::string(name) + ".yaml");
  if (!parsed) fail("config", __FILE__, __LINE__, parsed.error().toString());
  auto gateway = server::Gateway::create(std::move(*parsed));
  if (!gateway) fail("gateway", __FILE__, __LINE__, gateway.error().toString());
  world->gateway = std::move(*gateway);
  world->gateway->start();
  return world;
}

}  // namespace switchyard::fuzz
