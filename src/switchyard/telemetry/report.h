#pragma once
// Reports over the request log (`switchyard report usage|cost|tco`): requests, tokens and spend
// per model, key, team and route, with feedback joined in; and a total-cost-of-ownership
// comparison of the logged traffic: what the cloud part cost through APIs against what the
// same tokens would cost on the local hardware (configured $/hour, measured throughput), what
// the local part would have cost through an API, and the break-even volume.
// Reads the store with plain queries; not for I/O threads.

#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/store/database.h"
#include "switchyard/telemetry/prices.h"

namespace switchyard::telemetry {

struct ReportOptions {
  std::string kind = "usage";          // usage | cost | tco
  std::int64_t since_ms = 0;           // rows at or after this Unix time (ms)
  std::string by;                      // model | key | team | route | provider; "": all
  bool json = false;
  std::string compare = "openai/gpt-4o-mini";  // tco: the API model local traffic is priced at
  double hourly_usd = -1;              // tco: overrides the configured hardware price
  double tokens_per_second = 0;        // tco: overrides the measured local throughput
};

// "7d", "24h", "30m", "2w" -> milliseconds.
Result<std::int64_t> parseSince(std::string_view text);

// The report as text tables, or one JSON document with `json`.
Result<std::string> runReport(store::Database& db, const config::Config& config,
                              const PriceTable& prices, const ReportOptions& options);

}  // namespace switchyard::telemetry
