#pragma once
// OpenAI Responses API (POST /v1/responses) <-> native api types: a Responses request becomes
// a ChatRequest any provider can serve, and a ChatResponse becomes a Response object. Stored
// responses (store, previous_response_id) are the caller's to keep: the decoder takes the
// conversation so far as input items and reports what to store. Conversations, background,
// item references and built-in tools are rejected with a 400 naming the feature.
// Stateless free functions: thread-safe. The streaming half lives in responses_stream.h.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/types.h"
#include "switchyard/core/status.h"

namespace switchyard::api::openai {

// A decoded Responses request: the native request plus what the Response object repeats
// back to the client (instructions, tools, tool_choice, temperature, top_p,
// parallel_tool_calls, metadata, max_output_tokens, text, reasoning, ...), normalized to the
// Response schema's shapes and defaults.
struct ResponsesRequest {
  ChatRequest chat;
  boost::json::object echo;
  std::string previous_response_id;  // "" none
  bool store = false;                // the Response is to be stored
};

struct ResponsesOptions {
  // Stored responses are offered (responses.enabled): without, store: true and
  // previous_response_id are 400s.
  bool stored = false;
  bool store_by_default = false;  // a request that does not say `store` is stored
};

// Identity of one Response: "resp_<suffix>", items "msg_<suffix>", "rs_<suffix>",
// "fc_<suffix>_<n>".
struct ResponseMeta {
  std::string id_suffix;
  std::int64_t created_at = 0;
  std::string model;         // used when the upstream names none
  boost::json::object echo;  // ResponsesRequest::echo
  std::string citations_json;  // a JSON array written as the response's `citations`; "": none
};

// Client -> gateway. Errors are kInvalidArgument with param() naming the field
// ("input[2].content[0].type"); unsupported features say which and why.
[[nodiscard]] Result<ResponsesRequest> decodeResponsesRequest(std::string_view body);
// The body as JSON, an object with finite numbers (400 otherwise).
[[nodiscard]] Result<boost::json::value> parseResponsesBody(std::string_view body);
// Decodes a parsed body. `history`: the conversation previous_response_id names, as input items
// (ResponseStore::history), placed after the instructions and before the request's input.
[[nodiscard]] Result<ResponsesRequest> decodeResponsesRequest(const boost::json::object& body,
                                                              const ResponsesOptions& options,
                                                              const boost::json::array* history);

// A request's `input` (a string or input items) as the items a stored Response lists
// (GET /v1/responses/{id}/input_items): each an object with an `id` (kept, or
// "<prefix>_<id_suffix>_input<n>"), messages with `type`, a content list and a status.
boost::json::array storedInputItems(const boost::json::value& input, std::string_view id_suffix);

// Gateway -> client: the whole Response object. Output items in order: a reasoning item
// (when the provider returned reasoning), the assistant message, then function_call items.
// finish_reason length -> status "incomplete" (incomplete_details.reason max_output_tokens),
// content_filter -> "incomplete" (content_filter), else "completed".
std::string encodeResponse(const ChatResponse& response, const ResponseMeta& meta);

// ---- pieces shared with the stream encoder --------------------------------------------------

// One output item, as both the whole-response encoder and the stream encoder build it.
struct ResponseItem {
  enum class Kind { kReasoning, kMessage, kFunctionCall };
  Kind kind = Kind::kMessage;
  std::string id;
  std::string text;     // kReasoning: the summary text; kMessage: the output_text
  std::string refusal;  // kMessage: a refusal part instead of output_text when non-empty
  std::string call_id;  // kFunctionCall
  std::string name;
  std::string arguments;
  // kMessage: the output_text's LogProb objects, comma-separated (`include`
  // message.output_text.logprobs); empty: none.
  std::string logprobs;
  bool completed = true;  // item status "completed", else "in_progress"
  // With `completed`: the item an incomplete response was cut off in (max_output_tokens, a
  // content filter): status "incomplete", as OpenAI writes it.
  bool incomplete = false;
};

// Appends one output item's JSON.
void appendResponseItem(const ResponseItem& item, std::string& out);
// Appends the entries of a chat completion's `logprobs.content` (null or absent: none) to
// `entries`, comma-separated: a chat token's logprob object is a Responses LogProb as it is.
void appendLogprobEntries(const boost::json::value& chat_logprobs, std::string& entries);
// Appends the Response object. `status`: in_progress, completed, incomplete or failed;
// `incomplete_reason` is written (as incomplete_details.reason) only for incomplete; `error`
// only for failed.
void appendResponseObject(const ResponseMeta& meta, std::string_view model, std::string_view status,
                          std::string_view incomplete_reason,
                          const std::vector<ResponseItem>& items, const std::optional<Usage>& usage,
                          const Status* error, std::string& out);
// The Response status for a finish reason, and incomplete_details.reason ("" when complete).
std::string_view responseStatusFor(FinishReason reason);
std::string_view incompleteReasonFor(FinishReason reason);

}  // namespace switchyard::api::openai
