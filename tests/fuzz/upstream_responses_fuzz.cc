// Bodies as upstreams answer them, fed to every decoder of an upstream answer: OpenAI chat
// responses and stream chunks (fast readers against the general decoders), completions,
// embeddings, rerank, Anthropic Messages and count_tokens, Gemini generateContent and
// batchEmbedContents, and each provider's error decoder.
//
// Properties: nothing crashes, leaks or trips UBSan; the fast readers agree with the general
// decoders wherever they accept, and the public decoders answer as the general ones do; every
// decoded answer re-encodes to valid JSON in each client API's shape (OpenAI, Anthropic,
// Responses, Ollama), and every error, including an upstream error that quotes a body of
// arbitrary bytes, to valid JSON error bodies.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/gemini/gemini_codec.h"
#include "switchyard/api/ollama/ollama_codec.h"
#include "switchyard/api/openai/chunk_reader.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/rerank_codec.h"
#include "switchyard/api/openai/response_reader.h"
#include "switchyard/api/openai/responses_codec.h"
#include "tests/fuzz/api_checks.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace api = switchyard::api;
namespace openai = switchyard::api::openai;
namespace anthropic = switchyard::api::anthropic;
namespace gemini = switchyard::api::gemini;
namespace ollama = switchyard::api::ollama;
using switchyard::Result;
using switchyard::Status;
using switchyard::fuzz::checkError;
using switchyard::fuzz::checkFastReader;
using switchyard::fuzz::validJson;

// A decoded answer as each client API would receive it.
void checkClientEncodings(const api::ChatResponse& response) {
  const std::string o = openai::encodeChatResponse(response);
  SY_FUZZ_CHECK_MSG(validJson(o), o);
  const std::string a = anthropic::encodeMessagesResponse(response);
  SY_FUZZ_CHECK_MSG(validJson(a), a);
  openai::ResponseMeta meta;
  meta.id_suffix = "fuzz";
  meta.model = "fuzz-model";
  const std::string r = openai::encodeResponse(response, meta);
  SY_FUZZ_CHECK_MSG(validJson(r), r);
  const std::string l =
      ollama::encodeChatResponse(response, "fuzz", "2026-01-01T00:00:00.000000000Z", {});
  SY_FUZZ_CHECK_MSG(validJson(l), l);
}

void openAiResponse(std::string_view body) {
  const auto general = openai::decodeAnyChatResponse(body);
  if (checkFastReader(openai::readCommonChatResponse(body), general,
                      openai::decodeChatResponse(body),
                      [](const api::ChatResponse& r) { return openai::encodeChatResponse(r); })) {
    checkClientEncodings(*general);
  }
}

std::string chunkJson(const api::ChatChunk& chunk) {
  std::string out;
  openai::appendChatChunk(chunk, out);
  return out;
}

void openAiChunk(std::string_view data) {
  const auto general = openai::decodeAnyChatChunk(data);
  if (!checkFastReader(openai::readCommonChatChunk(data), general, openai::decodeChatChunk(data),
                       chunkJson)) {
    return;
  }
  const std::string out = chunkJson(*general);
  SY_FUZZ_CHECK_MSG(validJson(out), out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  openAiResponse(body);
  openAiChunk(body);
  if (auto r = openai::decodeCompletionResponse(body)) {
    for (bool as_chunk : {false, true}) {
      const std::string out = openai::encodeCompletionResponse(*r, as_chunk);
      SY_FUZZ_CHECK_MSG(validJson(out), out);
    }
  } else {
    checkError(r.error());
  }
  if (auto r = openai::decodeEmbeddingResponse(body)) {
    for (std::string_view format : {"float", "base64"}) {
      const std::string out = openai::encodeEmbeddingResponse(*r, format);
      SY_FUZZ_CHECK_MSG(validJson(out), out);
    }
  } else {
    checkError(r.error());
  }
  if (auto r = openai::decodeRerankResponse(body, 3); !r) checkError(r.error());

  if (auto r = anthropic::decodeMessagesResponse(body)) {
    checkClientEncodings(*r);
  } else {
    checkError(r.error());
  }
  if (auto r = anthropic::decodeCountTokensResponse(body); !r) checkError(r.error());

  if (auto r = gemini::decodeGenerateContentResponse(body, "fuzz")) {
    checkClientEncodings(*r);
  } else {
    checkError(r.error());
  }
  const std::vector<std::string> texts = {"one", "two"};
  if (auto r = gemini::decodeBatchEmbedResponse(body, texts); !r) checkError(r.error());

  for (unsigned status : {400u, 429u, 500u, 529u}) {
    checkError(openai::decodeUpstreamError(status, body));
    checkError(anthropic::decodeUpstreamError(status, body));
    checkError(gemini::decodeUpstreamError(status, body, status == 429 ? "7" : ""));
  }
  return 0;
}
