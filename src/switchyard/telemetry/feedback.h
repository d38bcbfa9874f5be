#pragma once
// POST /v1/feedback: a client's judgement of one answer (request id, score and/or label,
// comment), stored in the `feedback` table and joined with request_log by request_id.

#include <string_view>

#include "switchyard/core/status.h"
#include "switchyard/telemetry/request_log.h"

namespace switchyard::telemetry {

// Parses and validates the JSON body: {"request_id": "...", "score": 1, "label": "good",
// "comment": "..."}; score or label (or both) is required. Errors name the field (param).
Result<FeedbackRecord> parseFeedback(std::string_view body);

}  // namespace switchyard::telemetry
