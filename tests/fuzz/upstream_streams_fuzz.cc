// A streamed upstream body, as bytes off the socket: the SSE parser, then each provider's
// stream decoder (OpenAI chat chunks, Anthropic Messages events, Gemini streamGenerateContent),
// then every client-side stream encoder (OpenAI chunks, Anthropic events, Responses events,
// Ollama NDJSON), which is the path a translated stream takes through the gateway.
//
// Properties: nothing crashes, leaks or trips UBSan; the SSE parser gives the same events
// however the bytes are split into reads; an event it gives, written again with
// appendSseEvent, parses back to itself; every event and line the encoders write carries valid
// JSON, and so does every error they end a stream with.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/api/anthropic/messages_codec.h"
#include "switchyard/api/anthropic/messages_stream.h"
#include "switchyard/api/gemini/gemini_stream.h"
#include "switchyard/api/ollama/ollama_stream.h"
#include "switchyard/api/openai/codec.h"
#include "switchyard/api/openai/responses_stream.h"
#include "switchyard/http/sse.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace api = switchyard::api;
namespace openai = switchyard::api::openai;
namespace anthropic = switchyard::api::anthropic;
namespace gemini = switchyard::api::gemini;
namespace ollama = switchyard::api::ollama;
namespace http = switchyard::http;
using switchyard::Status;
using switchyard::fuzz::validJson;

struct Event {
  std::string event, data, id;
  std::optional<std::uint64_t> retry;
  bool operator==(const Event&) const = default;
};

std::vector<Event> parse(std::string_view bytes, std::size_t read_size) {
  std::vector<Event> events;
  auto keep = [&](const http::SseEvent& e) { events.push_back({e.event, e.data, e.id, e.retry}); };
  http::SseParser parser;
  while (!bytes.empty()) {
    const std::size_t n = std::min(read_size, bytes.size());
    parser.feed(bytes.substr(0, n), keep);
    bytes.remove_prefix(n);
  }
  parser.finish(keep);
  return events;
}

// Every event in an SSE text the encoders wrote carries JSON (or [DONE]).
void checkSseOut(std::string_view text) {
  http::SseParser parser;
  auto check = [](const http::SseEvent& e) {
    SY_FUZZ_CHECK_MSG(e.data == "[DONE]" || validJson(e.data), e.data);
  };
  parser.feed(text, check);
  parser.finish(check);
}

void checkNdjsonOut(std::string_view text) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    SY_FUZZ_CHECK_MSG(end != std::string_view::npos, text);  // every line is terminated
    SY_FUZZ_CHECK_MSG(validJson(text.substr(0, end)), text.substr(0, end));
    text.remove_prefix(end + 1);
  }
}

// The chunks one decoder produced, through every client encoder, ended by `end` (ok: the
// stream finished; else the error it failed with).
void encodeForClients(const std::vector<api::ChatChunk>& chunks, const Status& end) {
  std::string openai_out;
  anthropic::MessagesStreamEncoder messages("fuzz-model");
  std::string messages_out;
  openai::ResponseMeta meta;
  meta.id_suffix = "fuzz";
  meta.model = "fuzz-model";
  openai::ResponsesStreamEncoder responses(meta);
  std::string responses_out;
  ollama::NdjsonStreamEncoder ndjson(ollama::NdjsonStreamEncoder::Mode::kChat, "fuzz",
                                     "2026-01-01T00:00:00.000000000Z");
  std::string ndjson_out;
  for (const api::ChatChunk& chunk : chunks) {
    openai_out += "data: ";
    openai::appendChatChunk(chunk, openai_out);
    openai_out += "\n\n";
    messages.onChunk(chunk, messages_out);
    responses.onChunk(chunk, responses_out);
    ndjson.onChunk(chunk, ndjson_out);
  }
  if (end.isOk()) {
    openai_out += "data: [DONE]\n\n";
    messages.finish(messages_out);
    responses.finish(responses_out);
    ndjson.finish({}, ndjson_out);
  } else {
    openai_out += "data: " + openai::encodeError(end) + "\n\n";
    messages.fail(end, messages_out);
    responses.fail(end, responses_out);
    ndjson.fail(end, ndjson_out);
  }
  checkSseOut(openai_out);
  checkSseOut(messages_out);
  checkSseOut(responses_out);
  checkNdjsonOut(ndjson_out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // One read, then reads of a size the input picks (1 to 16 bytes: every split point is met).
  const std::vector<Event> events = parse(bytes, bytes.size() + 1);
  const std::size_t read_size = 1 + (size == 0 ? 0 : data[size - 1] % 16);
  SY_FUZZ_CHECK(parse(bytes, read_size) == events);

  for (const Event& e : events) {
    std::string framed;
    http::appendSseEvent(framed, e.data, e.event);
    std::vector<Event> again = parse(framed, framed.size() + 1);
    SY_FUZZ_CHECK_MSG(again.size() == 1, framed);
    SY_FUZZ_CHECK_MSG(again[0].data == e.data && again[0].event == e.event, framed);
  }

  // OpenAI-compatible upstream: one chunk per event until [DONE].
  {
    std::vector<api::ChatChunk> chunks;
    Status end = Status::ok();
    for (const Event& e : events) {
      if (e.data == "[DONE]") break;
      auto chunk = openai::decodeChatChunk(e.data);
      if (!chunk) {
        end = chunk.error();
        break;
      }
      chunk->upstream_json = {};
      chunks.push_back(std::move(*chunk));
    }
    encodeForClients(chunks, end);
  }
  // Anthropic upstream.
  {
    anthropic::MessagesStreamDecoder decoder(1);
    std::vector<api::ChatChunk> chunks;
    Status end = Status::ok();
    for (const Event& e : events) {
      end = decoder.onEvent(e.event, e.data, chunks);
      if (!end.isOk() || decoder.done()) break;
    }
    encodeForClients(chunks, end);
  }
  // Gemini upstream.
  {
    gemini::GenerateContentStreamDecoder decoder(1, "fuzz");
    std::vector<api::ChatChunk> chunks;
    Status end = Status::ok();
    for (const Event& e : events) {
      end = decoder.onEvent(e.data, chunks);
      if (!end.isOk()) break;
    }
    if (end.isOk()) end = decoder.finish(chunks);
    encodeForClients(chunks, end);
  }
  return 0;
}
