#include "switchyard/cache/entry_codec.h"

#include <bit>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

namespace switchyard::cache {
namespace {

namespace json = boost::json;

constexpr std::string_view kMagic = "SYCE";
constexpr std::uint8_t kVersion = 1;
constexpr std::int64_t kMaxEpochMillis = std::int64_t{9'000'000'000'000'000'000} / 1'000'000;

enum class Kind : std::uint8_t { kChat = 0, kChunks = 1, kEmbeddings = 2 };

// A new field in one of these types must be written and read below (and compared by the round
// trip test) or it is silently lost on the shared tier; the sizes make the compiler say so.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(api::ContentPart) == 152, "ContentPart changed: update entry_codec.cc");
static_assert(sizeof(api::ToolCall) == 120, "ToolCall changed: update entry_codec.cc");
static_assert(sizeof(api::Message) == 304, "Message changed: update entry_codec.cc");
static_assert(sizeof(api::Choice) == 376, "Choice changed: update entry_codec.cc");
static_assert(sizeof(api::Usage) == 48, "Usage changed: update entry_codec.cc");
static_assert(sizeof(api::ChatResponse) == 248, "ChatResponse changed: update entry_codec.cc");
static_assert(sizeof(api::ToolCallDelta) == 104, "ToolCallDelta changed: update entry_codec.cc");
static_assert(sizeof(api::ChoiceDelta) == 304, "ChoiceDelta changed: update entry_codec.cc");
static_assert(sizeof(api::ChatChunk) == 256, "ChatChunk changed: update entry_codec.cc");
static_assert(sizeof(api::EmbeddingResponse) == 104,
              "EmbeddingResponse changed: update entry_codec.cc");
static_assert(sizeof(Entry) == 376, "Entry changed: update entry_codec.cc");
#endif

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void byte(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    byte(static_cast<std::uint8_t>(v));
  }
  void integer(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void boolean(bool v) { byte(v ? 1 : 0); }
  void string(std::string_view v) {
    varint(v.size());
    out_.append(v);
  }
  void optionalString(const std::optional<std::string>& v) {
    boolean(v.has_value());
    if (v) string(*v);
  }
  void strings(const std::vector<std::string>& v) {
    varint(v.size());
    for (const auto& s : v) string(s);
  }
  // JSON as its text; "" for null (and for an empty object: both mean "absent" in the types).
  void value(const json::value& v) { string(v.is_null() ? std::string() : json::serialize(v)); }
  void object(const json::object& o) { string(o.empty() ? std::string() : json::serialize(o)); }
  void f32(float v) {
    const auto bits = std::bit_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>(bits >> (8 * i)));
  }

  void usage(const api::Usage& u) {
    integer(u.prompt_tokens);
    integer(u.completion_tokens);
    integer(u.total_tokens);
    integer(u.cached_tokens);
    integer(u.cache_write_tokens);
    integer(u.reasoning_tokens);
  }
  void optionalUsage(const std::optional<api::Usage>& u) {
    boolean(u.has_value());
    if (u) usage(*u);
  }

  void message(const api::Message& m) {
    byte(static_cast<std::uint8_t>(m.role));
    byte(static_cast<std::uint8_t>(m.content_form));
    varint(m.content.size());
    for (const auto& p : m.content) {
      byte(static_cast<std::uint8_t>(p.kind));
      string(p.text);
      string(p.image_url);
      string(p.image_detail);
      value(p.raw);
      value(p.cache_control);
    }
    string(m.name);
    varint(m.tool_calls.size());
    for (const auto& c : m.tool_calls) {
      string(c.id);
      string(c.name);
      string(c.arguments);
      value(c.cache_control);
    }
    string(m.tool_call_id);
    string(m.reasoning_content);
    string(m.reasoning_signature);
    strings(m.redacted_reasoning);
    boolean(m.tool_error);
    value(m.cache_control);
    optionalString(m.refusal);
    object(m.extra);
  }

  void chat(const api::ChatResponse& r) {
    string(r.id);
    string(r.model);
    integer(r.created);
    varint(r.choices.size());
    for (const auto& c : r.choices) {
      integer(c.index);
      message(c.message);
      byte(static_cast<std::uint8_t>(c.finish_reason));
      string(c.stop_sequence);
      value(c.logprobs);
    }
    optionalUsage(r.usage);
    string(r.system_fingerprint);
    string(r.service_tier);
    string(r.upstream_json);
  }

  void chunk(const StoredChunk& s) {
    const api::ChatChunk& c = s.chunk;
    string(c.id);
    string(c.model);
    integer(c.created);
    varint(c.choices.size());
    for (const auto& d : c.choices) {
      integer(d.index);
      boolean(d.role.has_value());
      if (d.role) byte(static_cast<std::uint8_t>(*d.role));
      optionalString(d.content);
      optionalString(d.reasoning_content);
      optionalString(d.reasoning_signature);
      optionalString(d.redacted_reasoning);
      optionalString(d.refusal);
      varint(d.tool_calls.size());
      for (const auto& t : d.tool_calls) {
        integer(t.index);
        string(t.id);
        string(t.name);
        string(t.arguments);
      }
      byte(static_cast<std::uint8_t>(d.finish_reason));
      string(d.stop_sequence);
      value(d.logprobs);
    }
    optionalUsage(c.usage);
    optionalUsage(c.prompt_usage);
    string(c.system_fingerprint);
    string(s.json);  // what upstream_json viewed
  }

  void embeddings(const api::EmbeddingResponse& r) {
    string(r.model);
    varint(r.embeddings.size());
    for (const auto& v : r.embeddings) {
      varint(v.size());
      for (float f : v) f32(f);
    }
    usage(r.usage);
  }

 private:
  std::string& out_;
};

// Reads what Writer wrote. The first problem is kept and every later read returns a default,
// so the code reads straight through and checks once.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return error_.empty(); }
  bool atEnd() const { return in_.empty(); }
  const std::string& error() const { return error_; }
  void fail(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    in_ = {};
  }

  std::uint8_t byte() {
    if (in_.empty()) {
      fail("truncated");
      return 0;
    }
    const auto v = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return v;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail("a varint longer than 10 bytes");
    return 0;
  }
  std::int64_t integer() {
    const std::uint64_t z = varint();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  int smallInt() {
    const std::int64_t v = integer();
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
      fail("an index out of range");
      return 0;
    }
    return static_cast<int>(v);
  }
  bool boolean() {
    const std::uint8_t b = byte();
    if (b > 1) fail("a boolean that is neither 0 nor 1");
    return b == 1;
  }
  // An element count, each element taking at least `min_bytes` of what is left (so a corrupt
  // count cannot make the reader reserve more than the input could hold).
  std::size_t count(std::size_t min_bytes) {
    const std::uint64_t n = varint();
    if (n > in_.size() / min_bytes) {
      fail("a count larger than the bytes that follow");
      return 0;
    }
    return static_cast<std::size_t>(n);
  }
  std::string_view bytes() {
    const std::uint64_t n = varint();
    if (n > in_.size()) {
      fail("truncated");
      return {};
    }
    const std::string_view v = in_.substr(0, static_cast<std::size_t>(n));
    in_.remove_prefix(static_cast<std::size_t>(n));
    return v;
  }
  std::string string() { return std::string(bytes()); }
  std::optional<std::string> optionalString() {
    if (!boolean()) return std::nullopt;
    return string();
  }
  std::vector<std::string> strings() {
    std::vector<std::string> v(count(1));
    for (auto& s : v) s = string();
    return v;
  }
  json::value value() {
    const std::string_view text = bytes();
    if (text.empty()) return nullptr;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) fail("a JSON value that does not parse");
    return v;
  }
  json::object object() {
    json::value v = value();
    if (v.is_null()) return {};
    if (!v.is_object()) {
      fail("a JSON object that is not one");
      return {};
    }
    return std::move(v.as_object());
  }
  float f32() {
    std::uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<std::uint32_t>(byte()) << (8 * i);
    return std::bit_cast<float>(bits);
  }
  template <typename E>
  E enumeration(E last, std::string_view what) {
    const std::uint8_t v = byte();
    if (v > static_cast<std::uint8_t>(last)) fail("an unknown " + std::string(what));
    return static_cast<E>(v);
  }

  api::Usage usage() {
    api::Usage u;
    u.prompt_tokens = integer();
    u.completion_tokens = integer();
    u.total_tokens = integer();
    u.cached_tokens = integer();
    u.cache_write_tokens = integer();
    u.reasoning_tokens = integer();
    return u;
  }
  std::optional<api::Usage> optionalUsage() {
    if (!boolean()) return std::nullopt;
    return usage();
  }

  api::Message message() {
    api::Message m;
    m.role = enumeration(api::Role::kTool, "role");
    m.content_form = enumeration(api::Message::ContentForm::kNull, "content form");
    m.content.resize(count(6));
    for (auto& p : m.content) {
      p.kind = enumeration(api::ContentPart::Kind::kOther, "content part kind");
      p.text = string();
      p.image_url = string();
      p.image_detail = string();
      p.raw = value();
      p.cache_control = value();
    }
    m.name = string();
    m.tool_calls.resize(count(4));
    for (auto& c : m.tool_calls) {
      c.id = string();
      c.name = string();
      c.arguments = string();
      c.cache_control = value();
    }
    m.tool_call_id = string();
    m.reasoning_content = string();
    m.reasoning_signature = string();
    m.redacted_reasoning = strings();
    m.tool_error = boolean();
    m.cache_control = value();
    m.refusal = optionalString();
    m.extra = object();
    return m;
  }

  api::ChatResponse chat() {
    api::ChatResponse r;
    r.id = string();
    r.model = string();
    r.created = integer();
    r.choices.resize(count(16));
    for (auto& c : r.choices) {
      c.index = smallInt();
      c.message = message();
      c.finish_reason = enumeration(api::FinishReason::kError, "finish reason");
      c.stop_sequence = string();
      c.logprobs = value();
    }
    r.usage = optionalUsage();
    r.system_fingerprint = string();
    r.service_tier = string();
    r.upstream_json = string();
    return r;
  }

  StoredChunk chunk() {
    StoredChunk s;
    api::ChatChunk& c = s.chunk;
    c.id = string();
    c.model = string();
    c.created = integer();
    c.choices.resize(count(11));
    for (auto& d : c.choices) {
      d.index = smallInt();
      if (boolean()) d.role = enumeration(api::Role::kTool, "role");
      d.content = optionalString();
      d.reasoning_content = optionalString();
      d.reasoning_signature = optionalString();
      d.redacted_reasoning = optionalString();
      d.refusal = optionalString();
      d.tool_calls.resize(count(4));
      for (auto& t : d.tool_calls) {
        t.index = smallInt();
        t.id = string();
        t.name = string();
        t.arguments = string();
      }
      d.finish_reason = enumeration(api::FinishReason::kError, "finish reason");
      d.stop_sequence = string();
      d.logprobs = value();
    }
    c.usage = optionalUsage();
    c.prompt_usage = optionalUsage();
    c.system_fingerprint = string();
    s.json = string();  // the view is set once the entry has its final place
    return s;
  }

  api::EmbeddingResponse embeddings() {
    api::EmbeddingResponse r;
    r.model = string();
    r.embeddings.resize(count(1));
    for (auto& v : r.embeddings) {
      v.resize(count(4));
      for (float& f : v) f = f32();
    }
    r.usage = usage();
    return r;
  }

 private:
  std::string_view in_;
  std::string error_;
};

}  // namespace

std::string encodeEntry(const Entry& entry, std::chrono::system_clock::time_point stored) {
  std::string out;
  out.reserve(approximateBytes(entry));
  out.append(kMagic);
  Writer w(out);
  w.byte(kVersion);
  w.integer(
      std::chrono::duration_cast<std::chrono::milliseconds>(stored.time_since_epoch()).count());
  w.integer(entry.ttl.count());
  w.string(entry.provider);
  w.string(entry.model);
  w.string(entry.model_version);
  if (const auto* chat = std::get_if<api::ChatResponse>(&entry.value)) {
    w.byte(static_cast<std::uint8_t>(Kind::kChat));
    w.chat(*chat);
  } else if (const auto* chunks = std::get_if<std::vector<StoredChunk>>(&entry.value)) {
    w.byte(static_cast<std::uint8_t>(Kind::kChunks));
    w.varint(chunks->size());
    for (const auto& s : *chunks) w.chunk(s);
  } else {
    w.byte(static_cast<std::uint8_t>(Kind::kEmbeddings));
    w.embeddings(std::get<api::EmbeddingResponse>(entry.value));
  }
  return out;
}

Result<DecodedEntry> decodeEntry(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) {
    return fail(ErrorCode::kInvalidArgument, "not a cached entry (no SYCE header)");
  }
  Reader r(bytes.substr(kMagic.size()));
  if (const std::uint8_t version = r.byte(); r.ok() && version != kVersion) {
    return fail(ErrorCode::kInvalidArgument, "a cached entry of format version " +
                                                 std::to_string(version) + " (this build reads " +
                                                 std::to_string(kVersion) + ")");
  }
  DecodedEntry out;
  // Milliseconds since the epoch, within what the system clock can hold (± 292 years).
  const std::int64_t stored_ms = r.integer();
  if (stored_ms < -kMaxEpochMillis || stored_ms > kMaxEpochMillis) r.fail("a time out of range");
  out.stored = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::milliseconds(r.ok() ? stored_ms : 0)));
  out.entry.ttl = std::chrono::milliseconds(r.integer());
  if (out.entry.ttl.count() <= 0) r.fail("a TTL that is not positive");
  out.entry.provider = r.string();
  out.entry.model = r.string();
  out.entry.model_version = r.string();
  switch (r.enumeration(Kind::kEmbeddings, "entry kind")) {
    case Kind::kChat:
      out.entry.value = r.chat();
      break;
    case Kind::kChunks: {
      std::vector<StoredChunk> chunks(r.count(8));
      for (auto& s : chunks) s = r.chunk();
      out.entry.value = std::move(chunks);
      break;
    }
    case Kind::kEmbeddings:
      out.entry.value = r.embeddings();
      break;
  }
  if (r.ok() && !r.atEnd()) r.fail("bytes after the entry");
  if (!r.ok()) {
    return fail(ErrorCode::kInvalidArgument, "a corrupt cached entry: " + r.error());
  }
  return out;
}

}  // namespace switchyard::cache
