// Request bodies as clients send them, fed to every decoder of a client-facing endpoint: OpenAI
// chat (fast reader against the general decoder), completions, embeddings, Responses,
// Anthropic Messages and count_tokens, Ollama chat, generate and embed.
//
// Properties: nothing crashes, leaks or trips UBSan; wherever the fast chat reader accepts a
// body the general decoder gives the same request, and the public decoder always answers as the
// general one does (errors: message and param); every error encodes to valid JSON in each API's
// error shape; every accepted request encodes to valid JSON for each upstream format that takes
// it, and the OpenAI encoding decodes again.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/gemini/gemini_codec.h"
#include "switchyard/api/ollama/ollama_codec.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/request_reader.h"
#include "switchyard/api/openai/responses_codec.h"
#include "tests/fuzz/api_checks.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace api = switchyard::api;
namespace openai = switchyard::api::openai;
namespace anthropic = switchyard::api::anthropic;
namespace gemini = switchyard::api::gemini;
namespace ollama = switchyard::api::ollama;
using switchyard::Status;
using switchyard::fuzz::checkError;
using switchyard::fuzz::checkFastReader;
using switchyard::fuzz::validJson;

// A decoded chat request, whichever API it came in: what the providers would send upstream.
// `round_trip`: the request came in as an OpenAI chat request, so its OpenAI encoding must pass
// the same validation again (other APIs allow other ranges, e.g. Ollama any temperature, which
// an OpenAI upstream may then refuse).
void checkUpstreamEncodings(const api::ChatRequest& request, bool round_trip = false) {
  const std::string body = openai::encodeChatRequest(request);
  SY_FUZZ_CHECK_MSG(validJson(body), body);
  if (round_trip) {
    auto again = openai::decodeAnyChatRequest(body);
    SY_FUZZ_CHECK_MSG(again.has_value(), body + "\n-> " + again.error().toString());
  }

  if (auto messages = anthropic::encodeMessagesRequest(request, "fuzz")) {
    SY_FUZZ_CHECK_MSG(validJson(*messages), *messages);
  } else {
    checkError(messages.error());
  }
  if (auto contents = gemini::encodeGenerateContentRequest(request, "fuzz")) {
    SY_FUZZ_CHECK_MSG(validJson(*contents), *contents);
  } else {
    checkError(contents.error());
  }
}

void openAiChat(std::string_view body) {
  const auto general = openai::decodeAnyChatRequest(body);
  if (!checkFastReader(openai::readCommonChatRequest(body), general,
                       openai::decodeChatRequest(body),
                       [](const api::ChatRequest& r) { return openai::encodeChatRequest(r); })) {
    return;
  }
  checkUpstreamEncodings(*general, /*round_trip=*/true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  openAiChat(body);

  if (auto r = openai::decodeCompletionRequest(body)) {
    const std::string up = openai::encodeCompletionRequest(*r);
    SY_FUZZ_CHECK_MSG(validJson(up), up);
  } else {
    checkError(r.error());
  }
  if (auto r = openai::decodeEmbeddingRequest(body)) {
    const std::string up = openai::encodeEmbeddingRequest(*r);
    SY_FUZZ_CHECK_MSG(validJson(up), up);
    if (auto g = gemini::encodeBatchEmbedRequest(*r, "fuzz")) {
      SY_FUZZ_CHECK_MSG(validJson(*g), *g);
    } else {
      checkError(g.error());
    }
  } else {
    checkError(r.error());
  }
  if (auto r = openai::decodeResponsesRequest(body)) {
    checkUpstreamEncodings(r->chat);
    // What a stored response keeps of this input must read back as the history of the next
    // request (previous_response_id): the normalized items decode whenever the input did.
    auto parsed = openai::parseResponsesBody(body);
    SY_FUZZ_CHECK(parsed.has_value());
    const boost::json::array history =
        openai::storedInputItems(parsed->get_object().at("input"), "fuzz");
    const boost::json::object next{{"model", "m"}, {"input", "next"}};
    auto continued = openai::decodeResponsesRequest(next, {.stored = true}, &history);
    SY_FUZZ_CHECK_MSG(continued.has_value(), continued.error().message());
    if (continued) checkUpstreamEncodings(continued->chat);
  } else {
    checkError(r.error());
  }

  for (bool count_tokens : {false, true}) {
    if (auto r = anthropic::decodeMessagesRequest(body, count_tokens)) {
      checkUpstreamEncodings(*r);
      if (count_tokens) {
        if (auto c = anthropic::encodeCountTokensRequest(*r, "fuzz")) {
          SY_FUZZ_CHECK_MSG(validJson(*c), *c);
        } else {
          checkError(c.error());
        }
      }
    } else {
      checkError(r.error());
    }
  }

  if (auto r = ollama::decodeChatRequest(body)) {
    // No messages: Ollama's "load the model" probe, answered without an upstream call.
    if (!r->messages.empty()) checkUpstreamEncodings(*r);
  } else {
    checkError(r.error());
  }
  if (auto r = ollama::decodeGenerateRequest(body)) {
    if (r->raw) {
      const std::string up = openai::encodeCompletionRequest(r->completion);
      SY_FUZZ_CHECK_MSG(validJson(up), up);
    } else if (!r->load_only) {
      checkUpstreamEncodings(r->chat);
    }
  } else {
    checkError(r.error());
  }
  if (auto r = ollama::decodeEmbedRequest(body); !r) checkError(r.error());
  if (auto r = ollama::decodeEmbeddingsRequest(body); !r) checkError(r.error());
  if (auto r = ollama::decodeShowRequest(body); !r) checkError(r.error());
  return 0;
}
