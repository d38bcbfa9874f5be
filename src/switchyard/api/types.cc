#include "switchyard/api/types.h"

namespace switchyard::api {

std::string Message::text() const {
  std::string out;
  for (const auto& part : content) {
    if (part.kind == ContentPart::Kind::kText) out += part.text;
  }
  return out;
}

std::size_t EmbeddingRequest::inputCount() const {
  if (!texts.empty()) return texts.size();
  if (const auto* arr = token_input.if_array()) {
    if (!arr->empty() && arr->front().is_array()) return arr->size();
    return arr->empty() ? 0 : 1;
  }
  return 0;
}

std::string_view roleName(Role role) {
  switch (role) {
    case Role::kSystem: return "system";
    case Role::kDeveloper: return "developer";
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
    case Role::kTool: return "tool";
  }
  return "user";
}

std::optional<Role> parseRole(std::string_view name) {
  if (name == "user") return Role::kUser;
  if (name == "assistant") return Role::kAssistant;
  if (name == "system") return Role::kSystem;
  if (name == "developer") return Role::kDeveloper;
  if (name == "tool") return Role::kTool;
  return std::nullopt;
}

std::string_view finishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    case FinishReason::kContentFilter: return "content_filter";
    case FinishReason::kError: return "error";
  }
  return "";
}

FinishReason parseFinishReason(std::string_view name) {
  if (name == "stop") return FinishReason::kStop;
  if (name == "length") return FinishReason::kLength;
  if (name == "tool_calls" || name == "function_call") return FinishReason::kToolCalls;
  if (name == "content_filter") return FinishReason::kContentFilter;
  if (name == "error") return FinishReason::kError;
  return FinishReason::kNone;
}

}  // namespace switchyard::api
