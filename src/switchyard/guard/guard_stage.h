#pragma once
// GuardStage: the pipeline's guard step. It scans every text of a model request (all messages
// and roles, tool results, tool-call arguments, reasoning, completion prompts, embedding inputs)
// with one Detector and acts on each finding by policy (policy.h): redact rewrites the request
// with typed placeholders, mask does the same and restores the values in the answer (an
// OutputFilter with a per-request Vault), local_only tells routing to stay on-prem, block
// answers 400 naming the entity type (never the value). With `scan_output`, entities the model
// writes are redacted from the answer as [TYPE] (stream-safe).
//
// Built once at start-up; admit() is called from every I/O thread: thread-safe (the detector
// is immutable, the counters take a short lock only when something was found).

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "switchyard/audit/audit_log.h"
#include "switchyard/config/config.h"
#include "switchyard/guard/detector.h"
#include "switchyard/guard/policy.h"
#include "switchyard/pipeline/stage.h"

namespace switchyard::guard {

// Findings per entity type and action since start-up.
using GuardCounts = std::map<std::string, std::array<std::uint64_t, kActionCount>>;

class GuardStage final : public pipeline::Stage {
 public:
  // `audit` may be null (no store); it must outlive the stage.
  static Result<std::unique_ptr<GuardStage>> create(const config::GuardConfig& config,
                                                    audit::AuditLog* audit);

  std::string_view name() const override { return "guard"; }
  boost::asio::awaitable<pipeline::Verdict> admit(pipeline::StageInput& in) override;

  // The synchronous core of admit() (also what tests and benchmarks call).
  pipeline::Verdict check(pipeline::StageInput& in) const;

  GuardCounts counts() const;
  const Detector& detector() const { return *detector_; }

 private:
  GuardStage(const config::GuardConfig& config, DetectorPtr detector, DetectorPtr output,
             audit::AuditLog* audit);

  config::GuardConfig config_;
  Policies policies_;
  DetectorPtr detector_;
  DetectorPtr output_detector_;  // null: answers are not scanned
  audit::AuditLog* audit_;
  mutable std::mutex mu_;
  mutable GuardCounts counts_;
};

// Detector options from the `guard:` section.
DetectorOptions detectorOptions(const config::GuardConfig& config);

}  // namespace switchyard::guard
