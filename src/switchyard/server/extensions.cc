#include "switchyard/server/extensions.h"

namespace switchyard::server {

Result<Extensions> buildExtensions(GatewayServices& services) {
  (void)services;
  Extensions ext;
  // Admission stages, in the pipeline's fixed order: auth, limits, guard, rag.

  // Log-phase observers.

  // Endpoint modules.

  return ext;
}

}  // namespace switchyard::server
