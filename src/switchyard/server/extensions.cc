#include "switchyard/server/extensions.h"

namespace switchyard::server {

Result<Extensions> buildExtensions(GatewayServices& services) {
  (void)services;
  Extensions ext;
  // Pricing (telemetry's price table), before the stages that reserve budgets with it.

  // Admission stages, in the pipeline's fixed order: auth, limits, guard, rag.

  // Log-phase observers.

  // Endpoint modules.

  return ext;
}

}  // namespace switchyard::server
