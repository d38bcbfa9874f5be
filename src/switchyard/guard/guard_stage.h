#pragma once
// GuardStage: the pipeline's guard step. It scans every text of a model request (all messages
// and roles, tool results, tool-call arguments, reasoning, completion prompts, embedding inputs)
// with one Detector and acts on each finding by policy (policy.h): redact rewrites the request
// with typed placeholders, mask does the same and restores the values in the answer (an
// OutputFilter with a per-request Vault), local_only tells routing to stay on-prem, block
// answers 400 naming the entity type (never the value). With `scan_output`, entities the model
// writes whose action under the request's own policy (key, route, team, base) is not allow are
// redacted from the answer as [TYPE] (stream-safe).
//
// Thread-safety: admit() is called from every I/O thread. The settings built from config
// (policies, detectors) are immutable and swapped as one by reload(); each request keeps the
// settings it started with, answer included. The counters take a short lock only when
// something was found.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
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
  // `audit` may be null (no store); it must outlive the stage. A config without the `guard:`
  // section (enabled false) makes a stage that lets everything pass until a reload enables it.
  static Result<std::unique_ptr<GuardStage>> create(const config::GuardConfig& config,
                                                    audit::AuditLog* audit);

  // Builds the settings of `config` (compiles the detectors: call off the I/O threads) and
  // swaps them in for the requests that start afterwards. An error keeps the old settings.
  Status reload(const config::GuardConfig& config);

  std::string_view name() const override { return "guard"; }
  boost::asio::awaitable<pipeline::Verdict> admit(pipeline::StageInput& in) override;

  // The synchronous core of admit() (also what tests and benchmarks call).
  pipeline::Verdict check(pipeline::StageInput& in) const;

  // A later stage adds text to chat requests (RAG): each chat request gets a ContentGuard
  // (ctx.content_guard) that scans that text under the request's policy. Set before serving.
  void guardAddedContent(bool on) { guards_added_content_ = on; }

  GuardCounts counts() const;
  // The current settings' request detector (null while the guard is disabled).
  const Detector* detector() const;

  struct Settings;  // one `guard:` section, built (guard_stage.cc)
  using SettingsPtr = std::shared_ptr<const Settings>;

 private:
  class RequestGuard;
  struct Hit;
  static constexpr std::string_view kRequestSource = "request";

  GuardStage(SettingsPtr settings, audit::AuditLog* audit);
  // Counts, audits and summarizes (ctx.guard_summary, x-switchyard-guard) what was found in
  // `source`; returns the first hit whose action is block, if any.
  const Hit* record(pipeline::RequestContext& ctx, std::span<const Hit> hits,
                    std::string_view source) const;

  std::atomic<SettingsPtr> settings_;
  audit::AuditLog* audit_;
  bool guards_added_content_ = false;
  mutable std::mutex mu_;
  mutable GuardCounts counts_;
};

// Detector options from the `guard:` section.
DetectorOptions detectorOptions(const config::GuardConfig& config);

}  // namespace switchyard::guard
