#include "switchyard/server/extensions.h"

#include "switchyard/rag/rag_routes.h"
#include "switchyard/rag/rag_stage.h"

namespace switchyard::server {

Result<Extensions> buildExtensions(GatewayServices& services) {
  (void)services;
  Extensions ext;
  // Pricing (telemetry's price table), before the stages that reserve budgets with it.

  // Admission stages, in the pipeline's fixed order: auth, limits, guard, rag.

  // rag (after guard): the retrieval stage, and its /v1/collections + /v1/retrieve endpoints.
  if (services.config.rag.enabled) {
    auto rag = rag::RagService::create(services.config, services.router, services.providers);
    if (!rag) return fail(std::move(rag.error()));
    std::shared_ptr<rag::RagService> service = std::move(*rag);
    ext.stages.push_back(std::make_unique<rag::RagStage>(service));
    ext.routes.push_back(std::make_unique<rag::RagRoutes>(service));
  }

  // Log-phase observers.

  // Endpoint modules.

  return ext;
}

}  // namespace switchyard::server
