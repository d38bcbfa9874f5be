#include "switchyard/server/breaker_metrics.h"

#include <string>
#include <string_view>
#include <vector>

namespace switchyard::server {
namespace {

using telemetry::Sample;

// "provider/model" -> {provider, model}
std::vector<std::string> deploymentLabels(std::string_view deployment) {
  const std::size_t slash = deployment.find('/');
  if (slash == std::string_view::npos) return {std::string(deployment), ""};
  return {std::string(deployment.substr(0, slash)), std::string(deployment.substr(slash + 1))};
}

double stateValue(routing::BreakerState state) {
  switch (state) {
    case routing::BreakerState::kClosed: return 0;
    case routing::BreakerState::kHalfOpen: return 1;
    case routing::BreakerState::kOpen: return 2;
  }
  return 0;
}

struct Handles {
  telemetry::Registry::CallbackHandle state;
  telemetry::Registry::CallbackHandle transitions;
};

}  // namespace

std::shared_ptr<void> breakerMetrics(const routing::HealthBoard& health,
                                     telemetry::Registry& registry) {
  auto handles = std::make_shared<Handles>();
  handles->state = registry.callback(
      "switchyard_breaker_state",
      "Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open.",
      telemetry::MetricType::kGauge, {"provider", "model"}, [&health] {
        std::vector<Sample> out;
        for (const auto& d : health.snapshot()) {
          out.push_back({deploymentLabels(d.deployment), stateValue(d.state)});
        }
        return out;
      });
  handles->transitions = registry.callback(
      "switchyard_breaker_transitions_total",
      "Circuit breaker state changes per deployment, by the state entered (open, half_open: a "
      "probe let through after the cooldown, closed: the probe succeeded).",
      telemetry::MetricType::kCounter, {"provider", "model", "to"}, [&health] {
        std::vector<Sample> out;
        for (const auto& d : health.snapshot()) {
          auto labels = [&](std::string_view to) {
            std::vector<std::string> l = deploymentLabels(d.deployment);
            l.emplace_back(to);
            return l;
          };
          out.push_back({labels("open"), static_cast<double>(d.transitions.to_open)});
          out.push_back({labels("half_open"), static_cast<double>(d.transitions.to_half_open)});
          out.push_back({labels("closed"), static_cast<double>(d.transitions.to_closed)});
        }
        return out;
      });
  return handles;
}

}  // namespace switchyard::server
