#include "switchyard/cache/request_key.h"

#include <openssl/evp.h>

#include <bit>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "switchyard/core/check.h"

namespace switchyard::cache {
namespace {

// SHA-256, fetched once (OpenSSL 3 otherwise looks the algorithm up on every init), on a
// context per thread.
const EVP_MD* sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // never freed
  SY_CHECK(md != nullptr);
  return md;
}

struct ThreadDigest {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadDigest() { EVP_MD_CTX_free(ctx); }
};

// Lays fields out as bytes, each as a one-byte tag then its bytes, strings and lists prefixed by
// their length (no two different sequences of fields give the same bytes), then hashes them in one call: many
// small EVP_DigestUpdate calls cost more than the hashing itself.
class Hasher {
 public:
  Hasher() : out_(buffer()) { out_.clear(); }
  ~Hasher() {
    if (out_.capacity() > kKeepCapacity) std::string().swap(out_);  // after a huge request
  }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void tag(char t) { out_ += t; }
  void str(std::string_view s) {
    count(s.size());
    out_ += s;
  }
  // A length or a count as a LEB128 varint: one byte below 128 (most fields are empty), and
  // prefix-free, so the layout stays unambiguous.
  void count(std::size_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void u64(std::uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_.append(b, sizeof b);
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void real(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  void flag(bool v) { tag(v ? '1' : '0'); }
  void json(const boost::json::value& v) {
    if (v.is_null()) return tag('n');
    tag('j');
    str(boost::json::serialize(v));
  }
  void json(const boost::json::object& o) {
    if (o.empty()) return tag('e');
    tag('o');
    str(boost::json::serialize(o));
  }
  template <typename T, typename F>
  void opt(const std::optional<T>& v, F&& f) {
    flag(v.has_value());
    if (v) f(*v);
  }

  CacheKey finish() {
    thread_local ThreadDigest digest;
    SY_CHECK(digest.ctx != nullptr);
    CacheKey key;
    unsigned int n = 0;
    SY_CHECK(EVP_DigestInit_ex2(digest.ctx, sha256(), nullptr) == 1 &&
             EVP_DigestUpdate(digest.ctx, out_.data(), out_.size()) == 1 &&
             EVP_DigestFinal_ex(digest.ctx, key.digest.data(), &n) == 1 &&
             n == key.digest.size());
    return key;
  }

 private:
  static constexpr std::size_t kKeepCapacity = 1 << 20;
  static std::string& buffer() {
    thread_local std::string b;
    return b;
  }
  std::string& out_;
};

void where(Hasher& h, std::string_view kind, const KeyContext& at) {
  h.str(kind);
  h.str(at.scope);
  h.str(at.provider);
  h.str(at.model);
  h.flag(at.stream);
}

void part(Hasher& h, const api::ContentPart& p) {
  h.tag(static_cast<char>('a' + static_cast<int>(p.kind)));
  h.str(p.text);
  h.str(p.image_url);
  h.str(p.image_detail);
  h.json(p.raw);
  h.json(p.cache_control);
}

void message(Hasher& h, const api::Message& m) {
  h.tag(static_cast<char>('a' + static_cast<int>(m.role)));
  h.tag(static_cast<char>('a' + static_cast<int>(m.content_form)));
  h.count(m.content.size());
  for (const auto& p : m.content) part(h, p);
  h.str(m.name);
  h.count(m.tool_calls.size());
  for (const auto& call : m.tool_calls) {
    h.str(call.id);
    h.str(call.name);
    h.str(call.arguments);
    h.json(call.cache_control);
  }
  h.str(m.tool_call_id);
  h.str(m.reasoning_content);
  h.str(m.reasoning_signature);
  h.count(m.redacted_reasoning.size());
  for (const auto& r : m.redacted_reasoning) h.str(r);
  h.flag(m.tool_error);
  h.json(m.cache_control);
  h.opt(m.refusal, [&](const std::string& r) { h.str(r); });
  h.json(m.extra);
}

}  // namespace

CacheKey chatKey(const KeyContext& at, const api::ChatRequest& r) {
  Hasher h;
  where(h, "chat", at);
  h.count(r.messages.size());
  for (const auto& m : r.messages) message(h, m);
  h.count(r.tools.size());
  for (const auto& t : r.tools) {
    h.str(t.name);
    h.str(t.description);
    h.json(t.parameters);
    h.opt(t.strict, [&](bool v) { h.flag(v); });
    h.json(t.cache_control);
    h.json(t.native);
  }
  h.tag(static_cast<char>('a' + static_cast<int>(r.tool_choice.mode)));
  h.str(r.tool_choice.function_name);
  h.opt(r.parallel_tool_calls, [&](bool v) { h.flag(v); });
  h.tag(static_cast<char>('a' + static_cast<int>(r.response_format.kind)));
  h.str(r.response_format.schema_name);
  h.json(r.response_format.schema);
  h.opt(r.response_format.strict, [&](bool v) { h.flag(v); });
  h.str(r.response_format.schema_description);
  auto real = [&](double v) { h.real(v); };
  auto integer = [&](std::int64_t v) { h.i64(v); };
  h.opt(r.temperature, real);
  h.opt(r.top_p, real);
  h.opt(r.frequency_penalty, real);
  h.opt(r.presence_penalty, real);
  h.opt(r.max_tokens, integer);
  h.flag(r.max_tokens_is_completion);
  h.opt(r.seed, integer);
  h.opt(r.n, integer);
  h.count(r.stop.size());
  for (const auto& s : r.stop) h.str(s);
  h.json(r.logit_bias);
  h.opt(r.logprobs, [&](bool v) { h.flag(v); });
  h.opt(r.top_logprobs, integer);
  h.str(r.reasoning_effort);
  h.tag(static_cast<char>('a' + static_cast<int>(r.thinking.mode)));
  h.i64(r.thinking.budget_tokens);
  h.str(r.user);
  h.json(r.metadata);
  h.opt(r.top_k, integer);
  h.opt(r.min_p, real);
  h.opt(r.repetition_penalty, real);
  h.json(r.extra);
  return h.finish();
}

CacheKey embeddingKey(const KeyContext& at, const api::EmbeddingRequest& r) {
  Hasher h;
  where(h, "embedding", at);
  h.count(r.texts.size());
  for (const auto& t : r.texts) h.str(t);
  h.json(r.token_input);
  h.str(r.encoding_format);
  h.opt(r.dimensions, [&](int v) { h.i64(v); });
  h.str(r.user);
  h.json(r.extra);
  return h.finish();
}

}  // namespace switchyard::cache
