#pragma once
// Helpers for integration tests that run the real gateway in-process against fake upstreams:
// a loopback config on port 0, providers pointing at FakeUpstreams, and start-up that fails the
// calling test with the gateway's own error. Plain functions: use from the test's thread.

#include <memory>
#include <string>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/server/gateway.h"
#include "tests/fakes/fake_upstream.h"

namespace switchyard::fakes {

// 127.0.0.1, port 0, one worker, no access log, the source named "<test>".
config::Config testConfig();

// A provider of `kind` ("openai", "anthropic", "gemini") at `upstream`, with `models`
// (name, aliases, context window) and an API key the tests can look for in what the fake got.
config::ProviderConfig fakeProvider(std::string name, std::string kind,
                                    const FakeUpstream& upstream,
                                    std::vector<config::ModelConfig> models,
                                    std::string api_key = "sk-test-secret");

// Turns retries off everywhere: one upstream failure reaches the client as the upstream sent
// it (routing_test covers retries).
void noRetries(config::Config& config);

// `name` under the test temporary directory, made unique to this process: two test runs on one
// machine (two checkouts, or two build trees) never share a database or a RAG directory.
std::string testTempPath(const std::string& name);

// Creates and starts the gateway; on failure records a test failure naming the error and
// returns null (callers ASSERT_TRUE on the result).
std::unique_ptr<server::Gateway> startGateway(config::Config config);

}  // namespace switchyard::fakes
