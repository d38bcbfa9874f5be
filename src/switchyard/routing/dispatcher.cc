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

template <typename Response>
void reportWhole(const Response& response, providers::CallContext& call) {
  call.report.response_model = response.model;
  call.report.system_fingerprint = response.system_fingerprint;
  if (!call.traced) return;
  call.report.response_id = response.id;
  call.report.usage = response.usage;
  call.report.finish_reasons.clear();
  for (const auto& choice : response.choices) {
    if (auto name = api::finishReasonName(choice.finish_reason); !name.empty()) {
      call.report.finish_reasons.emplace_back(name);
    }
  }
}

template <typename Chunk>
void reportStreamed(const Chunk& chunk, providers::CallContext& call) {
  providers::CallReport& r = call.report;
  // The last chunk that names them wins: Gemini may name its modelVersion only in a later
  // event (the provider fills the id asked for into the chunks before it).
  if (!chunk.model.empty() && chunk.model != r.response_model) r.response_model = chunk.model;
  if (!chunk.system_fingerprint.empty() && chunk.system_fingerprint != r.system_fingerprint) {
    r.system_fingerprint = chunk.system_fingerprint;
  }
  if (!call.traced) return;
  if (!chunk.id.empty() && chunk.id != r.response_id) r.response_id = chunk.id;
  if (chunk.usage) r.usage = chunk.usage;
  for (const auto& choice : chunk.choices) {
    if (auto name = api::finishReasonName(choice.finish_reason); !name.empty()) {
      r.finish_reasons.emplace_back(name);
    }
  }
}

std::string_view operationOf(pipeline::Endpoint endpoint) {
  switch (endpoint) {
    case pipeline::Endpoint::kCompletions: return "text_completion";
    case pipeline::Endpoint::kEmbeddings: return "embeddings";
    default: return "chat";
  }
}

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

namespace switchyard::routing {

void reportResponse(const api::ChatResponse& response, providers::CallContext& call) {
  reportWhole(response, call);
}
void reportResponse(const api::CompletionResponse& response, providers::CallContext& call) {
  reportWhole(response, call);
}
void reportResponse(const api::EmbeddingResponse& response, providers::CallContext& call) {
  call.report.response_model = response.model;
  if (call.traced) call.report.usage = response.usage;
}
void reportChunk(const api::ChatChunk& chunk, providers::CallContext& call) {
  reportStreamed(chunk, call);
}
void reportChunk(const api::CompletionResponse& chunk, providers::CallContext& call) {
  reportStreamed(chunk, call);
}

std::string modelVersionOf(const providers::CallReport& report, std::string_view asked) {
  if (!report.model_version.empty()) return report.model_version;
  std::string version;
  if (!report.response_model.empty() && report.response_model != asked) {
    version = report.response_model;
  }
  if (!report.system_fingerprint.empty()) {
    if (!version.empty()) version += ' ';
    version += report.system_fingerprint;
  }
  return version;
}

pipeline::SpanRecord attemptSpan(const pipeline::RequestContext& ctx,
                                 const pipeline::Target& target, int attempt,
                                 const pipeline::SpanId& span_id,
                                 std::chrono::steady_clock::time_point start,
                                 std::chrono::steady_clock::time_point end, const Status& status,
                                 const providers::CallReport& report) {
  pipeline::SpanRecord span;
  span.kind = pipeline::SpanKind::kClient;
  const std::string_view operation = operationOf(ctx.endpoint);
  span.name.reserve(operation.size() + 1 + target.model.size());
  span.name = operation;
  span.name += ' ';
  span.name += target.model;
  span.span_id = span_id;
  span.start = start;
  span.end = end;
  auto& a = span.attrs;
  a.reserve(16);
  a.push_back({"gen_ai.operation.name", std::string(operation)});
  a.push_back({"switchyard.provider", target.provider});
  a.push_back({"gen_ai.request.model", target.model});
  // Tries of this candidate (1 = first) and of the request overall.
  a.push_back({"switchyard.attempt", std::int64_t{attempt}});
  a.push_back({"switchyard.request_attempt", std::int64_t{ctx.attempts}});
  if (attempt > 1) a.push_back({"http.request.resend_count", std::int64_t{attempt - 1}});
  if (ctx.trace->max_tokens) a.push_back({"gen_ai.request.max_tokens", *ctx.trace->max_tokens});
  if (ctx.trace->temperature) {
    a.push_back({"gen_ai.request.temperature", *ctx.trace->temperature});
  }
  if (!report.response_model.empty()) a.push_back({"gen_ai.response.model", report.response_model});
  if (!report.response_id.empty()) a.push_back({"gen_ai.response.id", report.response_id});
  if (!report.finish_reasons.empty()) {
    a.push_back({"gen_ai.response.finish_reasons", report.finish_reasons});
  }
  if (report.usage) {
    a.push_back({"gen_ai.usage.input_tokens", std::int64_t{report.usage->prompt_tokens}});
    a.push_back({"gen_ai.usage.output_tokens", std::int64_t{report.usage->completion_tokens}});
  }
  if (report.load_ms) a.push_back({"switchyard.load_ms", *report.load_ms});
  if (report.queue_ms) a.push_back({"switchyard.queue_ms", *report.queue_ms});
  if (report.prompt_ms) a.push_back({"switchyard.prompt_ms", *report.prompt_ms});
  if (report.decode_ms) a.push_back({"switchyard.decode_ms", *report.decode_ms});
  if (!status.isOk()) {
    span.error = true;
    span.error_type = status.errorType().empty() ? std::string(errorCodeName(status.code()))
                                                 : status.errorType();
    a.push_back({"error.type", span.error_type});
    if (status.httpStatus() > 0) {
      a.push_back({"http.response.status_code", std::int64_t{status.httpStatus()}});
    }
  }
  return span;
}

}  // namespace switchyard::routing
