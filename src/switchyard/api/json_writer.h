#pragma once
// JsonWriter: appends JSON text to a caller's string, escaping strings and replacing invalid
// UTF-8 with U+FFFD so that clients always receive valid JSON. Used by codecs that write JSON
// by hand (no DOM on the hot path). Not thread-safe; one writer per output string.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace switchyard::api {

// Appends `s` escaped as the inside of a JSON string (invalid UTF-8 becomes U+FFFD).
void appendJsonString(std::string& out, std::string_view s);

// Length of the valid UTF-8 sequence at p (RFC 3629), 0 when invalid.
std::size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end);

// The bytes of `text` as a JSON array of integers: a logprob entry's `bytes` (OpenAI, Ollama),
// which rebuild a token that is part of a UTF-8 character.
boost::json::array byteArray(std::string_view text);

// Inserts the member `"key":raw_value` (raw_value is JSON text the caller vouches for) as the
// last member of the JSON object whose closing brace is the last '}' in text[0, limit): a whole
// encoded body, one SSE event or one NDJSON line. Lets a response carry an extension field
// (citations) without every encoder knowing about it. False when there is no such brace.
bool spliceMember(std::string& text, std::string_view key, std::string_view raw_value,
                  std::size_t limit = std::string::npos);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  // A key that is a literal of ours: plain ASCII, no escaping needed.
  JsonWriter& key(std::string_view k);
  JsonWriter& escapedKey(std::string_view k);
  void string(std::string_view s);
  void integer(std::int64_t v);
  void unsignedInteger(std::uint64_t v);
  // Shortest text that reads back as the same double; integral values keep a ".0".
  void number(double v);
  // Shortest text that reads back as the same float (no ".0" added); non-finite is null.
  void floatNumber(float v);
  void boolean(bool v);
  void null();
  void value(const boost::json::value& v);
  void object(const boost::json::object& o);
  // The members of `o` (except the key `skip`, when not empty) inside an object the caller
  // has begun.
  void members(const boost::json::object& o, std::string_view skip = {});
  // JSON text the caller vouches for (already serialized), written as is.
  void raw(std::string_view json);

 private:
  void sep();

  std::string& out_;
  bool need_comma_ = false;
  bool after_key_ = false;
};

}  // namespace switchyard::api
