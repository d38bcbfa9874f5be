#include "switchyard/server/extensions.h"

#include "switchyard/server/governance.h"

namespace switchyard::server {

Result<Extensions> buildExtensions(GatewayServices& services) {
  Extensions ext;
  // Pricing (telemetry's price table), before the stages that reserve budgets with it.

  // Admission stages, in the pipeline's fixed order: auth, limits, guard, rag.
  // Governance: auth, limits and guard stages, and the /admin module (issue 6).
  if (Status s = addGovernance(services, ext); !s.isOk()) return fail(std::move(s));

  // Log-phase observers.

  // Endpoint modules.

  return ext;
}

}  // namespace switchyard::server
