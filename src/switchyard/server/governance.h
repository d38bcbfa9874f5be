#pragma once
// Governance wiring (issue 6): opens the store when keys, limits, the guard or the admin API
// need it, and adds the auth, limits and guard admission stages (in that order) and the
// /admin route module to the extensions. Called once from buildExtensions().

#include "switchyard/core/status.h"
#include "switchyard/server/extensions.h"

namespace switchyard::server {

Status addGovernance(GatewayServices& services, Extensions& ext);

}  // namespace switchyard::server
