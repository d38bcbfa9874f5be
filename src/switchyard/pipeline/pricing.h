#pragma once
// Pricing: what a request costs in USD. The telemetry module implements it from its price table
// (per 1M input, output, cached-read and cache-write tokens; local models from hardware cost and
// measured throughput). The log phase fills RequestContext::cost_usd with cost() before the
// stages settle (budgets); the limits stage reserves with an estimate at admission, before the
// request is routed. Immutable after start-up: thread-safe.

#include <cstdint>
#include <string_view>

#include "switchyard/api/types.h"

namespace switchyard::pipeline {

class Pricing {
 public:
  virtual ~Pricing() = default;
  // USD for `usage` on `provider`'s `model`; 0 when the price is unknown.
  virtual double cost(std::string_view provider, std::string_view model,
                      const api::Usage& usage) const = 0;
  // An upper estimate before the call on one model.
  virtual double estimate(std::string_view provider, std::string_view model,
                          std::int64_t prompt_tokens, std::int64_t max_output_tokens) const = 0;
  // An upper estimate before routing: the most expensive configured model.
  virtual double maxEstimate(std::int64_t prompt_tokens, std::int64_t max_output_tokens) const = 0;
};

}  // namespace switchyard::pipeline
