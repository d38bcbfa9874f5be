#pragma once
// Reports over a stored run: a console table, JSON, JUnit XML (for CI) and a self-contained
// HTML page with inline SVG charts (pass rate, cost and latency per target, pass rate per
// category) and a per-case diff across targets (and against a baseline run). Every format reads
// the store page by page, so a report over 100k cases never holds them all. Stateless.

#include <ostream>
#include <string>

#include "switchyard/core/status.h"
#include "switchyard/eval/eval_store.h"

namespace switchyard::eval {

enum class ReportFormat { kTable, kJson, kJunit, kHtml };

// "table" | "json" | "junit" | "html".
Result<ReportFormat> parseReportFormat(std::string_view name);

struct ReportOptions {
  std::string baseline;          // compare against this run ("" = the run's recorded baseline)
  std::size_t max_case_rows = 2000;  // HTML and table: cases listed at most
};

Status writeReport(EvalStore& store, const std::string& run_id, ReportFormat format,
                   std::ostream& out, const ReportOptions& options = {});

// Escapes text for HTML/XML (also drops control characters XML 1.0 forbids).
std::string xmlEscape(std::string_view text);

}  // namespace switchyard::eval
