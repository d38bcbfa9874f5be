#include "switchyard/routing/dispatcher.h"

#include <boost/json/parse.hpp>

#include <cctype>

namespace switchyard::routing {

bool isRetryable(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kRateLimited:
    case ErrorCode::kUnavailable:
    case ErrorCode::kUpstream:
    case ErrorCode::kDeadlineExceeded: return true;
    default: break;
  }
  const int http = status.httpStatus();
  return http == 408 || http == 409 || http == 429 || http >= 500;
}

bool isDeploymentFault(const Status& status) {
  if (isRetryable(status)) return true;
  // The provider's own key or permissions are wrong: another deployment may work.
  const int http = status.httpStatus();
  return status.code() == ErrorCode::kInternal || http == 401 || http == 403;
}

std::chrono::milliseconds backoffFor(const config::RetryConfig& retry, int attempt) {
  if (retry.backoff.count() <= 0) return std::chrono::milliseconds(0);
  const int doublings = std::clamp(attempt - 2, 0, 20);
  const auto cap = std::min<std::int64_t>(retry.max_backoff.count(),
                                          retry.backoff.count() << doublings);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::chrono::milliseconds(
      std::uniform_int_distribution<std::int64_t>(cap / 2, std::max<std::int64_t>(cap, 1))(rng));
}

namespace {

bool looksLikeRefusal(std::string_view text) {
  static constexpr std::string_view kPhrases[] = {
      "i can't help", "i cannot help", "i can't assist", "i cannot assist", "i'm unable to",
      "i am unable to", "i won't be able", "i'm sorry, but i can", "as an ai"};
  std::string lowered(text.substr(0, 400));
  for (char& ch : lowered) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (auto p : kPhrases) {
    if (lowered.find(p) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::string failedCheck(const RoutePolicy& policy, const api::ChatResponse& response) {
  const std::string text =
      response.choices.empty() ? std::string() : response.choices.front().message.text();
  const bool has_tool_calls =
      !response.choices.empty() && !response.choices.front().message.tool_calls.empty();
  for (const auto& check : policy.cascade) {
    if (check.kind == "min_chars") {
      if (!has_tool_calls && text.size() < check.min_chars) return "min_chars";
    } else if (check.kind == "json_valid") {
      boost::system::error_code ec;
      (void)boost::json::parse(text, ec);
      if (ec) return "json_valid";
    } else if (check.kind == "regex") {
      if (check.regex && !RE2::PartialMatch(text, *check.regex)) return "regex";
    } else if (check.kind == "no_refusal") {
      if (looksLikeRefusal(text)) return "no_refusal";
    }
  }
  return {};
}

}  // namespace switchyard::routing
