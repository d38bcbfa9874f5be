#include "switchyard/providers/local/local_provider.h"

#include <unistd.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include "switchyard/api/json_writer.h"
#include "switchyard/core/log.h"
#include "switchyard/core/progress.h"
#include "switchyard/core/thread.h"
#include "switchyard/providers/local/event_queue.h"

namespace switchyard::providers {

namespace asio = boost::asio;
using engine::EngineEvent;
using Lease = engine::ModelRegistry::Lease;

namespace {

Status unsupported(const std::string& provider, std::string_view feature, std::string param) {
  return Status(ErrorCode::kInvalidArgument, "provider '" + provider +
                                                 "' (in-process llama.cpp) does not support " +
                                                 std::string(feature))
      .withParam(std::move(param));
}

std::string schemaText(const boost::json::value& v) {
  return v.is_null() ? std::string() : boost::json::serialize(v);
}

std::int64_t unixNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

api::FinishReason toFinish(engine::FinishReason reason) {
  switch (reason) {
    case engine::FinishReason::kLength:
      return api::FinishReason::kLength;
    case engine::FinishReason::kToolCalls:
      return api::FinishReason::kToolCalls;
    default:
      return api::FinishReason::kStop;
  }
}

api::Usage toUsage(const engine::Usage& u) {
  api::Usage out;
  out.prompt_tokens = u.prompt_tokens;
  out.completion_tokens = u.completion_tokens;
  out.total_tokens = u.prompt_tokens + u.completion_tokens;
  out.cached_tokens = u.cached_tokens;
  return out;
}

// Sampling fields shared by chat and text completions.
Status applySampling(const std::optional<double>& temperature, const std::optional<double>& top_p,
                     const std::optional<std::int64_t>& seed, engine::SamplingParams& out) {
  if (temperature) out.temperature = static_cast<float>(*temperature);
  if (top_p) out.top_p = static_cast<float>(*top_p);
  if (seed) out.seed = static_cast<std::uint32_t>(*seed);
  return Status::ok();
}

// Extension fields llama-server and vLLM accept, carried in `extra`.
Status applyExtensions(const boost::json::object& extra, engine::GenerationRequest& out) {
  if (const auto* v = extra.if_contains("ignore_eos")) {
    if (!v->is_bool()) {
      return Status(ErrorCode::kInvalidArgument, "ignore_eos must be a boolean")
          .withParam("ignore_eos");
    }
    out.ignore_eos = v->as_bool();
  }
  if (const auto* kwargs = extra.if_contains("chat_template_kwargs");
      kwargs && kwargs->is_object()) {
    if (const auto* thinking = kwargs->as_object().if_contains("enable_thinking");
        thinking && thinking->is_bool()) {
      out.enable_thinking = thinking->as_bool();
    }
  }
  if (const auto* v = extra.if_contains("lora"); v != nullptr && !v->is_null()) {
    // llama-server's form: [{"id": 0, "scale": 0.5}], plus {"name": ...} for configured names.
    // The list is the whole adapter set; scale defaults to 1.
    auto bad = [] {
      return Status(ErrorCode::kInvalidArgument,
                    "lora must be an array of {\"name\" or \"id\", \"scale\"} objects")
          .withParam("lora");
    };
    if (!v->is_array()) return bad();
    std::vector<engine::LoraSelection> set;
    for (const auto& item : v->as_array()) {
      if (!item.is_object()) return bad();
      const auto& o = item.as_object();
      engine::LoraSelection sel;
      if (const auto* name = o.if_contains("name")) {
        if (!name->is_string()) return bad();
        sel.name = std::string(name->as_string());
      } else if (const auto* id = o.if_contains("id")) {
        if (!id->is_int64() || id->as_int64() < 0 || id->as_int64() > 1'000'000) return bad();
        sel.id = static_cast<int>(id->as_int64());
      } else {
        return bad();
      }
      if (const auto* scale = o.if_contains("scale")) {
        if (!scale->is_number()) return bad();
        sel.scale = static_cast<float>(scale->to_number<double>());
      }
      set.push_back(std::move(sel));
    }
    out.lora = std::move(set);
  }
  return Status::ok();
}

// OpenAI's logit_bias: token id (a string key) -> bias; -100 bans the token.
Status applyLogitBias(const boost::json::object& bias, engine::SamplingParams& out) {
  for (const auto& [key, value] : bias) {
    std::int32_t token = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), token);
    if (ec != std::errc() || end != key.data() + key.size() || token < 0 || !value.is_number()) {
      return Status(ErrorCode::kInvalidArgument,
                    "logit_bias keys must be token ids and values numbers, got '" +
                        std::string(key) + "'")
          .withParam("logit_bias");
    }
    const double b = value.to_number<double>();
    // OpenAI's -100 bans a token; anything at that bound means the same here.
    out.logit_bias.emplace_back(
        token, b <= -100 ? -std::numeric_limits<float>::infinity() : static_cast<float>(b));
  }
  return Status::ok();
}

// A number in `extra` (the fields the legacy completions type does not model), range-checked.
Result<std::optional<double>> extraNumber(const boost::json::object& extra, std::string_view key,
                                          double lo, double hi) {
  const auto* v = extra.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<double>();
  if (!v->is_number() || v->to_number<double>() < lo || v->to_number<double>() > hi) {
    std::ostringstream range;
    range << key << " must be a number from " << lo << " to " << hi;
    return fail(Status(ErrorCode::kInvalidArgument, range.str()).withParam(std::string(key)));
  }
  return std::optional<double>(v->to_number<double>());
}

Result<std::optional<std::int64_t>> extraInteger(const boost::json::object& extra,
                                                 std::string_view key, std::int64_t lo,
                                                 std::int64_t hi) {
  const auto* v = extra.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::int64_t>();
  if (!v->is_int64() || v->as_int64() < lo || v->as_int64() > hi) {
    return fail(Status(ErrorCode::kInvalidArgument, std::string(key) + " must be an integer from " +
                                                        std::to_string(lo) + " to " +
                                                        std::to_string(hi))
                    .withParam(std::string(key)));
  }
  return std::optional<std::int64_t>(v->as_int64());
}

// The prompts of a legacy completion: a string, or an array of strings (one choice each).
Result<std::vector<std::string>> promptsOf(const api::CompletionRequest& r,
                                           const std::string& provider) {
  std::vector<std::string> out;
  if (r.prompt.is_string()) {
    out.emplace_back(r.prompt.as_string());
    return out;
  }
  if (r.prompt.is_array()) {
    for (const auto& p : r.prompt.as_array()) {
      if (!p.is_string()) return fail(unsupported(provider, "token-id prompts", "prompt"));
      out.emplace_back(p.as_string());
    }
  }
  if (out.empty()) {
    return fail(
        Status(ErrorCode::kInvalidArgument, "prompt must not be empty").withParam("prompt"));
  }
  return out;
}

int clampTokens(std::int64_t n) {
  return static_cast<int>(std::min<std::int64_t>(n, std::numeric_limits<int>::max()));
}

// Walks `text` as a client receives it: one character per valid UTF-8 sequence and one (U+FFFD)
// per byte of anything invalid, as api::appendJsonString writes it. Calls at(byte, index) for
// every byte position and the end: the index of the character starting there, or, inside a
// character, of the one after it (a token holding part of a character counts the part with its
// first byte). Returns the number of characters.
template <typename F>
std::size_t walkChars(std::string_view text, F&& at) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  std::size_t chars = 0;
  for (const auto* p = begin; p < end;) {
    std::size_t n = *p < 0x80 ? 1 : api::utf8SequenceLength(p, end);
    if (n == 0) n = 1;
    at(static_cast<std::size_t>(p - begin), chars);
    for (std::size_t k = 1; k < n; ++k) at(static_cast<std::size_t>(p - begin) + k, chars + 1);
    ++chars;
    p += n;
  }
  at(text.size(), chars);
  return chars;
}

std::size_t charsIn(std::string_view text) {
  return walkChars(text, [](std::size_t, std::size_t) {});
}

// OpenAI chat's logprobs of a choice (or of one chunk's tokens): {"content": [{token, logprob,
// bytes, top_logprobs}], "refusal": null}. A token that is part of a UTF-8 character shows
// U+FFFD in `token` (JSON strings are UTF-8); `bytes` has its bytes.
boost::json::value chatLogprobs(const std::vector<engine::TokenLogprob>& tokens) {
  boost::json::array content;
  content.reserve(tokens.size());
  for (const engine::TokenLogprob& t : tokens) {
    boost::json::array top;
    top.reserve(t.top.size());
    for (const auto& [text, logprob] : t.top) {
      top.emplace_back(boost::json::object{
          {"token", text}, {"logprob", logprob}, {"bytes", api::byteArray(text)}});
    }
    content.emplace_back(boost::json::object{{"token", t.token},
                                             {"logprob", t.logprob},
                                             {"bytes", api::byteArray(t.token)},
                                             {"top_logprobs", std::move(top)}});
  }
  return boost::json::object{{"content", std::move(content)}, {"refusal", nullptr}};
}

// The character offsets of `tokens` from `offset` on, which comes back as the one after the last.
// Characters of the text as it reaches the client, the tokens' bytes taken as one text: bytes of
// a character that the next token does not complete are one U+FFFD each there. A chunk's tokens
// are such a text: the engine holds back the start of a character until its end arrives.
std::vector<std::size_t> tokenOffsets(const std::vector<engine::TokenLogprob>& tokens,
                                      std::size_t& offset) {
  std::string text;
  std::vector<std::size_t> starts;  // byte offsets, then character offsets
  starts.reserve(tokens.size());
  for (const auto& t : tokens) {
    starts.push_back(text.size());
    text += t.token;
  }
  std::size_t next = 0;
  const std::size_t base = offset;
  offset += walkChars(text, [&](std::size_t byte, std::size_t index) {
    while (next < starts.size() && starts[next] == byte) starts[next++] = base + index;
  });
  return starts;
}

// The legacy completions' logprobs: parallel arrays, text_offset in characters of the choice's
// text; `offset` is the first token's, and comes back as the one after the last. With echo,
// `prompt` has the prompt's tokens, which lead (the first one's logprob and alternatives null:
// nothing comes before it), and `offset` is then where the generated text starts.
boost::json::value completionLogprobs(const std::vector<engine::TokenLogprob>& tokens,
                                      std::size_t& offset,
                                      const std::vector<engine::TokenLogprob>& prompt = {}) {
  boost::json::array texts, logprobs, tops, offsets;
  std::size_t prompt_offset = 0;
  const std::vector<std::size_t> prompt_at = tokenOffsets(prompt, prompt_offset);
  const std::vector<std::size_t> token_at = tokenOffsets(tokens, offset);
  auto add = [&](const engine::TokenLogprob& t, std::size_t at) {
    texts.emplace_back(t.token);
    if (std::isnan(t.logprob)) {
      logprobs.emplace_back(nullptr);
      tops.emplace_back(nullptr);
    } else {
      logprobs.emplace_back(t.logprob);
      boost::json::object top;
      for (const auto& [text, logprob] : t.top) top.emplace(text, logprob);
      tops.emplace_back(std::move(top));
    }
    offsets.emplace_back(at);
  };
  for (std::size_t i = 0; i < prompt.size(); ++i) add(prompt[i], prompt_at[i]);
  for (std::size_t i = 0; i < tokens.size(); ++i) add(tokens[i], token_at[i]);
  return boost::json::object{{"tokens", std::move(texts)},
                             {"token_logprobs", std::move(logprobs)},
                             {"top_logprobs", std::move(tops)},
                             {"text_offset", std::move(offsets)}};
}

// Appends one engine token event to a delta, merging tool-call fragments by index.
void mergeInto(api::ChoiceDelta& delta, EngineEvent& e) {
  if (!e.text.empty()) {
    if (!delta.content) delta.content.emplace();
    *delta.content += e.text;
  }
  if (!e.reasoning_text.empty()) {
    if (!delta.reasoning_content) delta.reasoning_content.emplace();
    *delta.reasoning_content += e.reasoning_text;
  }
  for (auto& tc : e.tool_calls) {
    api::ToolCallDelta* into = nullptr;
    for (auto& existing : delta.tool_calls) {
      if (existing.index == tc.index) into = &existing;
    }
    if (into == nullptr) {
      delta.tool_calls.push_back(
          {tc.index, std::move(tc.id), std::move(tc.name), std::move(tc.arguments)});
      continue;
    }
    if (!tc.id.empty()) into->id = std::move(tc.id);
    if (!tc.name.empty()) into->name = std::move(tc.name);
    into->arguments += tc.arguments;
  }
}

bool hasPayload(const api::ChoiceDelta& d) {
  return d.content || d.reasoning_content || !d.tool_calls.empty() || !d.logprobs.is_null();
}

Status cancelledByEngine() {
  return Status(ErrorCode::kUnavailable, "the local engine stopped this request (shutting down)")
      .withRetryAfter(1);
}

}  // namespace

// ---- translation ------------------------------------------------------------------------------

Result<engine::GenerationRequest> LocalProvider::toGeneration(const api::ChatRequest& r,
                                                              const std::string& provider) {
  engine::GenerationRequest g;
  if (r.top_logprobs && !r.logprobs.value_or(false)) {
    return fail(Status(ErrorCode::kInvalidArgument,
                       "top_logprobs needs logprobs: true (it says how many alternatives each "
                       "token's logprobs list)")
                    .withParam("top_logprobs"));
  }
  if (r.logprobs.value_or(false)) g.logprobs = r.top_logprobs.value_or(0);

  g.messages.reserve(r.messages.size());
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    const api::Message& m = r.messages[i];
    engine::ChatMessage cm;
    switch (m.role) {
      case api::Role::kSystem:
      case api::Role::kDeveloper:
        cm.role = "system";
        break;
      case api::Role::kUser:
        cm.role = "user";
        break;
      case api::Role::kAssistant:
        cm.role = "assistant";
        break;
      case api::Role::kTool:
        cm.role = "tool";
        break;
    }
    for (const api::ContentPart& part : m.content) {
      if (part.kind == api::ContentPart::Kind::kText) {
        cm.content += part.text;
      } else {
        const std::string param = "messages[" + std::to_string(i) + "].content";
        return fail(unsupported(provider,
                                part.kind == api::ContentPart::Kind::kImage
                                    ? "image input (its models here are text-only)"
                                    : "non-text content parts",
                                param));
      }
    }
    cm.reasoning_content = m.reasoning_content;
    for (const api::ToolCall& tc : m.tool_calls)
      cm.tool_calls.push_back({tc.id, tc.name, tc.arguments});
    cm.tool_call_id = m.tool_call_id;
    cm.name = m.name;
    g.messages.push_back(std::move(cm));
  }

  for (const api::ToolDef& t : r.tools) {
    g.tools.push_back({t.name, t.description, schemaText(t.parameters)});
  }
  switch (r.tool_choice.mode) {
    case api::ToolChoice::Mode::kNone:
      g.tool_choice = engine::ToolChoice::kNone;
      break;
    case api::ToolChoice::Mode::kRequired:
      g.tool_choice = engine::ToolChoice::kRequired;
      break;
    case api::ToolChoice::Mode::kFunction:
      g.tool_choice = engine::ToolChoice::kRequired;
      g.tool_choice_name = r.tool_choice.function_name;
      break;
    default:
      g.tool_choice = engine::ToolChoice::kAuto;
  }
  g.parallel_tool_calls = r.parallel_tool_calls.value_or(true);

  switch (r.response_format.kind) {
    case api::ResponseFormat::Kind::kJsonObject:
      g.json_object = true;
      break;
    case api::ResponseFormat::Kind::kJsonSchema:
      g.json_schema = schemaText(r.response_format.schema);
      if (g.json_schema.empty()) g.json_object = true;
      break;
    default:
      break;
  }

  if (Status s = applySampling(r.temperature, r.top_p, r.seed, g.sampling); !s.isOk())
    return fail(s);
  if (r.top_k) g.sampling.top_k = *r.top_k;
  if (r.min_p) g.sampling.min_p = static_cast<float>(*r.min_p);
  if (r.repetition_penalty) g.sampling.repeat_penalty = static_cast<float>(*r.repetition_penalty);
  if (r.frequency_penalty) g.sampling.frequency_penalty = static_cast<float>(*r.frequency_penalty);
  if (r.presence_penalty) g.sampling.presence_penalty = static_cast<float>(*r.presence_penalty);
  if (Status st = applyLogitBias(r.logit_bias, g.sampling); !st.isOk()) return fail(st);
  if (r.max_tokens) g.max_tokens = clampTokens(*r.max_tokens);
  g.stop = r.stop;
  if (Status s = applyExtensions(r.extra, g); !s.isOk()) return fail(s);
  return g;
}

Result<LocalProvider::CompletionJob> LocalProvider::toCompletionJob(const api::CompletionRequest& r,
                                                                    const std::string& provider) {
  CompletionJob job;
  engine::GenerationRequest& g = job.generation;
  auto prompts = promptsOf(r, provider);
  if (!prompts) return fail(std::move(prompts.error()));
  job.prompts = std::move(*prompts);
  if (Status s = applySampling(r.temperature, r.top_p, r.seed, g.sampling); !s.isOk())
    return fail(s);

  // What the completions type keeps in `extra`: OpenAI's other fields, and the sampling
  // extensions of llama-server and vLLM. Each is honoured or refused, never ignored.
  const boost::json::object& x = r.extra;
  auto n = extraInteger(x, "n", 1, 128);
  if (!n) return fail(std::move(n.error()));
  job.n = static_cast<std::size_t>(n->value_or(1));
  // Every choice is an engine request: a bound, like the engine queue's, that says so.
  constexpr std::size_t kMaxChoices = 128;
  if (const std::size_t choices = job.prompts.size() * job.n; choices > kMaxChoices) {
    return fail(Status(ErrorCode::kInvalidArgument,
                       "at most " + std::to_string(kMaxChoices) +
                           " choices per request (prompts times n), got " + std::to_string(choices))
                    .withParam("prompt"));
  }
  auto best_of = extraInteger(x, "best_of", 1, 128);
  if (!best_of) return fail(std::move(best_of.error()));
  if (*best_of && **best_of != 1) {
    return fail(unsupported(provider, "best_of other than 1", "best_of"));
  }
  if (const auto* suffix = x.if_contains("suffix");
      suffix != nullptr && !suffix->is_null() &&
      !(suffix->is_string() && suffix->as_string().empty())) {
    return fail(unsupported(provider, "suffix (text insertion)", "suffix"));
  }
  if (const auto* echo = x.if_contains("echo"); echo != nullptr) {
    if (!echo->is_bool()) {
      return fail(Status(ErrorCode::kInvalidArgument, "echo must be a boolean").withParam("echo"));
    }
    job.echo = echo->as_bool();
  }
  auto logprobs = extraInteger(x, "logprobs", 0, engine::kMaxTopLogprobs);
  if (!logprobs) return fail(std::move(logprobs.error()));
  if (*logprobs) {
    g.logprobs = static_cast<int>(**logprobs);
    // The echoed prompt's tokens come with theirs (how evaluation harnesses score answers).
    g.prompt_logprobs = job.echo;
  }
  for (auto [key, lo, hi, into] :
       {std::tuple{"frequency_penalty", -2.0, 2.0, &g.sampling.frequency_penalty},
        std::tuple{"presence_penalty", -2.0, 2.0, &g.sampling.presence_penalty},
        std::tuple{"min_p", 0.0, 1.0, &g.sampling.min_p},
        std::tuple{"repetition_penalty", 0.0, 10.0, &g.sampling.repeat_penalty}}) {
    auto v = extraNumber(x, key, lo, hi);
    if (!v) return fail(std::move(v.error()));
    if (*v) *into = static_cast<float>(**v);
  }
  auto top_k = extraInteger(x, "top_k", -1, std::numeric_limits<std::int32_t>::max());
  if (!top_k) return fail(std::move(top_k.error()));
  if (*top_k) g.sampling.top_k = static_cast<int>(**top_k);
  if (const auto* bias = x.if_contains("logit_bias"); bias != nullptr && !bias->is_null()) {
    if (!bias->is_object()) {
      return fail(Status(ErrorCode::kInvalidArgument, "logit_bias must be an object")
                      .withParam("logit_bias"));
    }
    if (Status st = applyLogitBias(bias->as_object(), g.sampling); !st.isOk()) return fail(st);
  }

  // The legacy endpoint's default is 16 tokens.
  g.max_tokens = r.max_tokens ? clampTokens(*r.max_tokens) : 16;
  g.stop = r.stop;
  if (Status s = applyExtensions(r.extra, g); !s.isOk()) return fail(s);
  return job;
}

// ---- lifecycle -------------------------------------------------------------------------------

// Two threads (`sy-prep-N`) for the work of turning a request into tokens; the engine's own
// threads keep decoding meanwhile. Work queued when the provider goes still runs.
struct LocalProvider::PrepThreads {
  static constexpr int kThreads = 2;
  asio::io_context io{kThreads};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::vector<std::thread> threads;

  PrepThreads() {
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([this, i] {
        setCurrentThreadName("sy-prep-" + std::to_string(i));
        io.run();
      });
    }
  }
  ~PrepThreads() {
    work.reset();
    for (std::thread& t : threads) t.join();
  }
};

LocalProvider::LocalProvider(std::string name, std::unique_ptr<engine::ModelRegistry> registry)
    : Provider(std::move(name)),
      registry_(std::move(registry)),
      metrics_(std::make_unique<EngineMetrics>(this->name(), *registry_)),
      prep_(std::make_unique<PrepThreads>()) {}

LocalProvider::~LocalProvider() = default;

template <typename F>
asio::awaitable<std::invoke_result_t<F&>> LocalProvider::offload(F work) {
  // co_spawn's completion resumes this coroutine on its own executor (an exception in `work`
  // comes back with it); `work` lives in this frame until then.
  co_return co_await asio::co_spawn(
      prep_->io, [&work]() -> asio::awaitable<std::invoke_result_t<F&>> { co_return work(); },
      asio::use_awaitable);
}

Result<ProviderPtr> LocalProvider::create(const config::ProviderConfig& config, bool progress) {
  const bool draw = progress && ::isatty(STDERR_FILENO) == 1;
  std::vector<engine::ModelSpec> specs;
  for (const config::ModelConfig& m : config.models) {
    engine::ModelSpec spec;
    spec.name = m.name;
    engine::EngineOptions& o = spec.options;
    o.model_path = m.local.path;
    o.n_ctx = m.local.context;
    o.n_parallel = m.local.parallel;
    o.n_batch = m.local.batch;
    o.n_threads = config.local.threads;
    static_assert(config::LocalModelConfig::kGpuLayersAuto == engine::kGpuLayersAuto &&
                  config::LocalModelConfig::kGpuLayersAll == engine::kGpuLayersAll);
    o.n_gpu_layers = m.local.gpu_layers;
    o.max_queue = static_cast<std::size_t>(m.local.max_queue);
    o.host_cache_bytes = m.local.host_cache_bytes;
    o.share_prefixes = m.local.share_prefixes;
    o.park_idle = m.local.park_idle;
    o.embeddings = m.local.embeddings;
    o.chat_template = m.local.chat_template;
    for (const config::LocalLoraConfig& l : m.local.lora) {
      o.lora_adapters.push_back({l.name, l.path, l.scale});
    }
    if (draw) {
      // One bar per load, made on the first progress report (loads run one at a time).
      auto bar = std::make_shared<std::unique_ptr<ProgressBar>>();
      o.on_load_progress = [bar, label = "loading " + m.name](float p) {
        if (!*bar) *bar = std::make_unique<ProgressBar>(label);
        (*bar)->update(p);
        if (p >= 1.0f) {
          (*bar)->done();
          bar->reset();
        }
        return true;
      };
    }
    specs.push_back(std::move(spec));
  }
  engine::ModelRegistryOptions options;
  options.max_loaded = static_cast<std::size_t>(config.local.max_loaded);
  options.idle_unload = config.local.idle_unload;
  auto registry = engine::ModelRegistry::create(std::move(specs), options);
  if (!registry) {
    return fail(Status(registry.error().code(),
                       "provider '" + config.name + "': " + registry.error().message()));
  }
  for (const config::ModelConfig& m : config.models) {
    if (!m.local.preload) continue;
    auto lease = (*registry)->acquireBlocking(m.name);
    if (!lease) {
      return fail(Status(lease.error().code(), "provider '" + config.name + "': model '" + m.name +
                                                   "': " + lease.error().message()));
    }
  }
  return ProviderPtr(new LocalProvider(config.name, std::move(*registry)));
}

asio::awaitable<Result<Lease>> LocalProvider::lease(const std::string& model, CallReport* report) {
  if (Lease ready = registry_->tryAcquire(model)) co_return ready;
  const auto started = std::chrono::steady_clock::now();
  auto executor = co_await asio::this_coro::executor;
  Result<Lease> lease =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<Lease>)>(
          [this, &model, executor](auto handler) {
            registry_->acquire(model, [handler = std::move(handler),
                                       executor](Result<Lease> r) mutable {
              asio::post(executor, [handler = std::move(handler), r = std::move(r)]() mutable {
                std::move(handler)(std::move(r));
              });
            });
          },
          asio::use_awaitable);
  if (report != nullptr && lease) {
    report->load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
  }
  co_return lease;
}

asio::awaitable<Status> LocalProvider::preload(const std::string& model) {
  auto lease = co_await this->lease(model);
  if (!lease) co_return std::move(lease.error());
  co_return Status::ok();  // the lease's release counts as the model's last use
}

template <typename OnEvents>
asio::awaitable<Status> LocalProvider::generate(const std::string& model,
                                                engine::GenerationRequest request,
                                                CallContext& ctx, OnEvents on_events) {
  std::vector<engine::GenerationRequest> one;
  one.push_back(std::move(request));
  co_return co_await generateTagged(model, std::move(one), ctx, std::move(on_events));
}

template <typename OnEvents>
asio::awaitable<Status> LocalProvider::generateTagged(
    const std::string& model, std::vector<engine::GenerationRequest> requests, CallContext& ctx,
    OnEvents on_events) {
  auto lease = co_await this->lease(model, &ctx.report);
  if (!lease) co_return std::move(lease.error());
  std::shared_ptr<engine::Engine> engine = std::move(*lease);
  // The model's version for the request log: the GGUF file's hash (as in the changelog).
  if (const std::string& sha = engine->info().sha256; !sha.empty()) {
    ctx.report.model_version = "sha256:" + sha;
  }

  // Whatever ends this coroutine early (the client left, a write failed, cancellation) frees
  // every sequence still running at once.
  struct CancelOnExit {
    engine::Engine* engine;
    std::vector<std::uint64_t> running;  // ids; 0 once ended
    ~CancelOnExit() {
      for (std::uint64_t id : running) {
        if (id != 0) engine->cancel(id);
      }
    }
  } guard{engine.get(), {}};
  auto queue = std::make_shared<local::EventQueue>();
  Status enqueued = co_await offload([&]() -> Status {  // templates and tokenizers run here
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto id = engine->enqueue(std::move(requests[i]),
                                [queue, tag = static_cast<std::uint32_t>(i)](EngineEvent&& e) {
                                  e.tag = tag;
                                  queue->push(std::move(e));
                                });
      if (!id) return std::move(id.error());
      guard.running.push_back(*id);
    }
    return Status::ok();
  });
  if (!enqueued.isOk()) co_return enqueued;
  // Declared after the guard, so it detaches before the cancel: no wake-up is posted for a
  // coroutine that is gone.
  local::EventQueue::Waiter waiter(queue, co_await asio::this_coro::executor);

  const auto deadline = ctx.deadline == std::chrono::steady_clock::time_point{}
                            ? std::chrono::steady_clock::time_point::max()
                            : ctx.deadline;
  std::size_t left = guard.running.size();
  std::vector<EngineEvent> events;
  while (left > 0) {
    if (!co_await waiter.next(events, deadline)) {
      co_return Status(ErrorCode::kDeadlineExceeded,
                       "local model '" + model + "' did not finish within the request timeout");
    }
    for (const EngineEvent& e : events) {
      if (e.kind == EngineEvent::Kind::kToken || e.tag >= guard.running.size()) continue;
      guard.running[e.tag] = 0;  // ended: nothing to cancel
      --left;
      if (e.kind == EngineEvent::Kind::kDone) {
        ctx.report.queue_ms = e.timings.queue_ms;
        ctx.report.prompt_ms = e.timings.prompt_ms;
        ctx.report.decode_ms = e.timings.decode_ms;
      }
    }
    if (Status s = co_await on_events(events); !s.isOk()) co_return s;
  }
  co_return Status::ok();
}

asio::awaitable<Result<LocalProvider::Whole>> LocalProvider::generateWhole(
    const std::string& model, engine::GenerationRequest request, CallContext& ctx) {
  Whole whole;
  Status status =
      co_await generate(model, std::move(request), ctx,
                        [&](std::vector<EngineEvent>& events) -> asio::awaitable<Status> {
                          for (EngineEvent& e : events) {
                            if (e.kind == EngineEvent::Kind::kToken) {
                              mergeInto(whole.merged, e);
                              std::ranges::move(e.logprobs, std::back_inserter(whole.logprobs));
                              std::ranges::move(e.prompt_logprobs,
                                                std::back_inserter(whole.prompt_logprobs));
                            } else if (e.kind == EngineEvent::Kind::kError) {
                              co_return std::move(e.error);
                            } else {
                              if (e.finish_reason == engine::FinishReason::kCancelled)
                                co_return cancelledByEngine();
                              whole.finish = e.finish_reason;
                              whole.stop_sequence = std::move(e.stop_sequence);
                              whole.usage = e.usage;
                            }
                          }
                          co_return Status::ok();
                        });
  if (!status.isOk()) co_return fail(std::move(status));
  co_return whole;
}

asio::awaitable<Result<std::vector<LocalProvider::Whole>>> LocalProvider::generateAll(
    const std::string& model, std::vector<engine::GenerationRequest> requests, CallContext& ctx) {
  std::vector<Whole> out;
  if (requests.size() == 1) {
    auto whole = co_await generateWhole(model, std::move(requests.front()), ctx);
    if (!whole) co_return fail(std::move(whole.error()));
    out.push_back(std::move(*whole));
    co_return out;
  }
  const auto executor = co_await asio::this_coro::executor;
  using Op = decltype(asio::co_spawn(executor, generateWhole(model, {}, ctx), asio::deferred));
  std::vector<Op> ops;
  ops.reserve(requests.size());
  for (engine::GenerationRequest& g : requests) {
    ops.push_back(
        asio::co_spawn(executor, generateWhole(model, std::move(g), ctx), asio::deferred));
  }
  auto [order, exceptions, wholes] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  (void)order;
  for (std::size_t i = 0; i < wholes.size(); ++i) {
    if (exceptions[i]) std::rethrow_exception(exceptions[i]);
    if (!wholes[i]) co_return fail(std::move(wholes[i].error()));
    out.push_back(std::move(*wholes[i]));
  }
  co_return out;
}

namespace {

// `n` copies of a request for `n` choices; with a seed, each its own (seed + i), so that the
// choices differ and the whole set is still reproducible.
std::vector<engine::GenerationRequest> copies(const engine::GenerationRequest& g, int n) {
  std::vector<engine::GenerationRequest> out(static_cast<std::size_t>(n), g);
  if (g.sampling.seed) {
    for (std::size_t i = 1; i < out.size(); ++i) {
      out[i].sampling.seed = *g.sampling.seed + static_cast<std::uint32_t>(i);
    }
  }
  return out;
}

// A completion job's engine requests: every prompt n times, to run side by side, in OpenAI's
// order (the first prompt's choices first: prompt i's choice j is choice i * n + j).
std::vector<engine::GenerationRequest> choiceRequests(LocalProvider::CompletionJob& job) {
  std::vector<engine::GenerationRequest> requests;
  requests.reserve(job.prompts.size() * job.n);
  for (const std::string& prompt : job.prompts) {
    job.generation.raw_prompt = prompt;
    for (auto& g : copies(job.generation, static_cast<int>(job.n))) {
      requests.push_back(std::move(g));
    }
  }
  return requests;
}

// Usage of several choices of one prompt: the prompt counts once, as OpenAI counts it.
void addChoiceUsage(api::Usage& total, const api::Usage& u, bool first_of_prompt) {
  if (first_of_prompt) {
    total.prompt_tokens += u.prompt_tokens;
    total.cached_tokens += u.cached_tokens;
  }
  total.completion_tokens += u.completion_tokens;
  total.total_tokens = total.prompt_tokens + total.completion_tokens;
}

}  // namespace

// ---- chat ------------------------------------------------------------------------------------

asio::awaitable<StreamOutcome> LocalProvider::chatStream(const api::ChatRequest& request,
                                                         ChatSink& sink, CallContext& ctx) {
  auto generation = toGeneration(request, name());
  if (!generation) co_return StreamOutcome{std::move(generation.error()), false};
  // n choices run side by side as n sequences (their common prompt computed once); each chunk
  // carries one choice's delta under its index, as OpenAI streams them.
  const int n = static_cast<int>(request.n.value_or(1));

  api::ChatChunk chunk;
  chunk.id = "chatcmpl-" + ctx.request_id;
  chunk.model = request.model;
  chunk.created = unixNow();
  bool delivered = false;
  struct ChoiceState {
    bool role_sent = false;
    bool done = false;
    api::ChoiceDelta pending;  // token events merged since the last chunk of this choice
    std::vector<engine::TokenLogprob> logprobs;  // of the tokens in `pending`
  };
  std::vector<ChoiceState> choices(static_cast<std::size_t>(n));
  api::Usage usage;
  int running = n;
  // Usage from the first event (the prompt is counted by then): the first chunk carries it.
  std::optional<api::Usage> prompt_usage;

  auto send = [&](std::size_t i, api::ChoiceDelta delta) -> asio::awaitable<Status> {
    if (!choices[i].role_sent) {
      delta.role = api::Role::kAssistant;
      choices[i].role_sent = true;
    }
    delta.index = static_cast<int>(i);
    chunk.choices.assign(1, std::move(delta));
    chunk.usage.reset();
    chunk.prompt_usage = delivered ? std::nullopt : prompt_usage;
    delivered = true;
    co_return co_await sink.onChunk(chunk);
  };
  // What a choice gathered goes out as one chunk.
  auto flush = [&](std::size_t i) -> asio::awaitable<Status> {
    ChoiceState& c = choices[i];
    if (!c.logprobs.empty()) c.pending.logprobs = chatLogprobs(c.logprobs);
    c.logprobs.clear();
    if (!hasPayload(c.pending)) co_return Status::ok();
    // A named value, not a temporary: GCC 12 mis-copies a prvalue argument into a coroutine
    // lambda's frame (the string's inline buffer pointer keeps pointing at the temporary).
    api::ChoiceDelta delta = std::exchange(c.pending, api::ChoiceDelta{});
    co_return co_await send(i, std::move(delta));
  };
  auto relay = [&](std::vector<EngineEvent>& events) -> asio::awaitable<Status> {
    for (EngineEvent& e : events) {
      const std::size_t i = e.tag;
      if (i >= choices.size() || choices[i].done) continue;
      if (!prompt_usage && e.kind != EngineEvent::Kind::kError) prompt_usage = toUsage(e.usage);
      if (e.kind == EngineEvent::Kind::kToken) {
        mergeInto(choices[i].pending, e);
        std::ranges::move(e.logprobs, std::back_inserter(choices[i].logprobs));
        continue;
      }
      if (Status s = co_await flush(i); !s.isOk()) co_return s;
      if (e.kind == EngineEvent::Kind::kError) co_return std::move(e.error);
      if (e.finish_reason == engine::FinishReason::kCancelled) co_return cancelledByEngine();
      api::ChoiceDelta last;
      last.finish_reason = toFinish(e.finish_reason);
      last.stop_sequence = std::move(e.stop_sequence);
      if (Status s = co_await send(i, std::move(last)); !s.isOk()) co_return s;
      choices[i].done = true;
      addChoiceUsage(usage, toUsage(e.usage), i == 0);  // the prompt once, as unstreamed
      if (--running == 0 && request.include_usage) {
        chunk.choices.clear();
        chunk.usage = usage;
        if (Status s = co_await sink.onChunk(chunk); !s.isOk()) co_return s;
      }
    }
    for (std::size_t i = 0; i < choices.size(); ++i) {
      if (Status s = co_await flush(i); !s.isOk()) co_return s;
    }
    co_return Status::ok();
  };
  // Everything that arrived since the last wake-up (tokens, the finish, usage) goes out in one
  // write.
  Status status =
      co_await generateTagged(request.model, copies(*generation, n), ctx,
                              [&](std::vector<EngineEvent>& events) -> asio::awaitable<Status> {
                                sink.beginBatch();
                                Status relayed = co_await relay(events);
                                Status flushed = co_await sink.endBatch();
                                co_return relayed.isOk() ? flushed : relayed;
                              });
  co_return StreamOutcome{std::move(status), delivered};
}

asio::awaitable<Result<api::ChatResponse>> LocalProvider::chat(const api::ChatRequest& request,
                                                               CallContext& ctx) {
  auto generation = toGeneration(request, name());
  if (!generation) co_return fail(std::move(generation.error()));
  // n choices run side by side; their common prompt is computed once (prefix sharing).
  auto wholes =
      co_await generateAll(request.model, copies(*generation, request.n.value_or(1)), ctx);
  if (!wholes) co_return fail(std::move(wholes.error()));

  api::ChatResponse response;
  response.id = "chatcmpl-" + ctx.request_id;
  response.model = request.model;
  response.created = unixNow();
  api::Usage usage;
  for (std::size_t i = 0; i < wholes->size(); ++i) {
    Whole& whole = (*wholes)[i];
    api::ChoiceDelta& all = whole.merged;
    api::Choice choice;
    choice.index = static_cast<int>(i);
    choice.message.role = api::Role::kAssistant;
    if (all.content) {
      choice.message.content.push_back(
          {.kind = api::ContentPart::Kind::kText, .text = std::move(*all.content)});
    } else if (!all.tool_calls.empty()) {
      choice.message.content_form = api::Message::ContentForm::kNull;
    } else {
      choice.message.content.push_back({.kind = api::ContentPart::Kind::kText});
    }
    if (all.reasoning_content) choice.message.reasoning_content = *all.reasoning_content;
    for (auto& tc : all.tool_calls) {
      choice.message.tool_calls.push_back(
          {std::move(tc.id), std::move(tc.name), std::move(tc.arguments)});
    }
    choice.finish_reason = toFinish(whole.finish);
    choice.stop_sequence = std::move(whole.stop_sequence);
    if (request.logprobs.value_or(false)) choice.logprobs = chatLogprobs(whole.logprobs);
    response.choices.push_back(std::move(choice));
    addChoiceUsage(usage, toUsage(whole.usage), i == 0);
  }
  response.usage = usage;
  co_return response;
}

// ---- text completions ------------------------------------------------------------------------

asio::awaitable<StreamOutcome> LocalProvider::completeStream(const api::CompletionRequest& request,
                                                             CompletionSink& sink,
                                                             CallContext& ctx) {
  auto job = toCompletionJob(request, name());
  if (!job) co_return StreamOutcome{std::move(job.error()), false};
  const std::size_t n = job->n;
  const bool with_logprobs = job->generation.logprobs >= 0;
  // Each chunk carries one choice under its index.
  std::vector<engine::GenerationRequest> requests = choiceRequests(*job);
  struct ChoiceState {
    std::string text;        // to send; with echo the prompt leads the first chunk's
    std::size_t offset = 0;  // text_offset of the next token
    std::vector<engine::TokenLogprob> logprobs;
    std::vector<engine::TokenLogprob> prompt_logprobs;  // with echo: the first chunk's
    bool done = false;
  };
  std::vector<ChoiceState> choices(requests.size());
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (job->echo) choices[i].text = job->prompts[i / n];
    choices[i].offset = charsIn(choices[i].text);
  }
  api::CompletionResponse chunk;
  chunk.id = "cmpl-" + ctx.request_id;
  chunk.model = request.model;
  chunk.created = unixNow();
  bool delivered = false;
  api::Usage usage;
  std::size_t running = choices.size();

  auto send = [&](std::size_t i, engine::FinishReason finish) -> asio::awaitable<Status> {
    ChoiceState& c = choices[i];
    api::CompletionChoice choice;
    choice.index = static_cast<int>(i);
    if (with_logprobs)
      choice.logprobs = completionLogprobs(c.logprobs, c.offset, c.prompt_logprobs);
    c.logprobs.clear();
    c.prompt_logprobs.clear();
    choice.text = std::exchange(c.text, {});
    choice.finish_reason = toFinish(finish);
    chunk.choices.assign(1, std::move(choice));
    delivered = true;
    co_return co_await sink.onChunk(chunk);
  };
  auto hasPending = [&](const ChoiceState& c) {
    return !c.text.empty() || !c.logprobs.empty() || !c.prompt_logprobs.empty();
  };
  auto relay = [&](std::vector<EngineEvent>& events) -> asio::awaitable<Status> {
    for (EngineEvent& e : events) {
      const std::size_t i = e.tag;
      if (i >= choices.size() || choices[i].done) continue;
      ChoiceState& c = choices[i];
      if (e.kind == EngineEvent::Kind::kToken) {
        c.text += e.text;
        std::ranges::move(e.logprobs, std::back_inserter(c.logprobs));
        std::ranges::move(e.prompt_logprobs, std::back_inserter(c.prompt_logprobs));
        continue;
      }
      if (e.kind == EngineEvent::Kind::kError) co_return std::move(e.error);
      if (e.finish_reason == engine::FinishReason::kCancelled) co_return cancelledByEngine();
      if (Status s = co_await send(i, e.finish_reason); !s.isOk()) co_return s;
      c.done = true;
      // Each prompt counts once for its n choices.
      addChoiceUsage(usage, toUsage(e.usage), i % n == 0);
      if (--running == 0 && request.include_usage) {
        chunk.choices.clear();
        chunk.usage = usage;
        if (Status s = co_await sink.onChunk(chunk); !s.isOk()) co_return s;
      }
    }
    for (std::size_t i = 0; i < choices.size(); ++i) {
      if (choices[i].done || !hasPending(choices[i])) continue;
      if (Status s = co_await send(i, engine::FinishReason::kNone); !s.isOk()) co_return s;
    }
    co_return Status::ok();
  };
  Status status = co_await generateTagged(request.model, std::move(requests), ctx, relay);
  co_return StreamOutcome{std::move(status), delivered};
}

asio::awaitable<Result<api::CompletionResponse>> LocalProvider::complete(
    const api::CompletionRequest& request, CallContext& ctx) {
  auto job = toCompletionJob(request, name());
  if (!job) co_return fail(std::move(job.error()));
  const std::size_t n = job->n;
  const bool with_logprobs = job->generation.logprobs >= 0;

  auto wholes = co_await generateAll(request.model, choiceRequests(*job), ctx);
  if (!wholes) co_return fail(std::move(wholes.error()));

  api::CompletionResponse response;
  response.id = "cmpl-" + ctx.request_id;
  response.model = request.model;
  response.created = unixNow();
  api::Usage usage;
  for (std::size_t i = 0; i < wholes->size(); ++i) {
    Whole& whole = (*wholes)[i];
    api::CompletionChoice choice;
    choice.index = static_cast<int>(i);
    std::string text = job->echo ? job->prompts[i / n] : std::string();
    if (with_logprobs) {
      std::size_t offset = charsIn(text);
      choice.logprobs = completionLogprobs(whole.logprobs, offset, whole.prompt_logprobs);
    }
    // Raw prompts have no output parser: every token is content.
    if (whole.merged.content) text += *whole.merged.content;
    choice.text = std::move(text);
    choice.finish_reason = toFinish(whole.finish);
    response.choices.push_back(std::move(choice));
    addChoiceUsage(usage, toUsage(whole.usage), i % n == 0);
  }
  response.usage = usage;
  co_return response;
}

// ---- embeddings ------------------------------------------------------------------------------

asio::awaitable<Result<std::int64_t>> LocalProvider::countTokens(const api::ChatRequest& request,
                                                                 CallContext& ctx) {
  auto generation = toGeneration(request, name());
  if (!generation) co_return fail(std::move(generation.error()));
  auto lease = co_await this->lease(request.model, &ctx.report);
  if (!lease) co_return fail(std::move(lease.error()));
  std::shared_ptr<engine::Engine> engine = std::move(*lease);
  // Rendering and tokenizing a long conversation takes a while: off the I/O thread.
  co_return co_await offload([&]() -> Result<std::int64_t> {
    auto n = engine->countPromptTokens(*generation);
    if (!n) return fail(std::move(n.error()));
    return static_cast<std::int64_t>(*n);
  });
}

asio::awaitable<Result<api::EmbeddingResponse>> LocalProvider::embed(
    const api::EmbeddingRequest& request, CallContext& ctx) {
  if (!request.token_input.is_null()) {
    co_return fail(unsupported(name(), "token-id input for embeddings", "input"));
  }
  if (request.dimensions) {
    co_return fail(unsupported(name(), "'dimensions' (its embedding size is fixed)", "dimensions"));
  }
  const engine::ModelSpec* spec = registry_->find(request.model);
  if (spec != nullptr && !spec->options.embeddings) {
    co_return fail(Status(ErrorCode::kInvalidArgument,
                          "model '" + request.model + "' of provider '" + name() +
                              "' does not serve embeddings (set 'embeddings: true' under it)")
                       .withParam("model"));
  }
  auto lease = co_await this->lease(request.model, &ctx.report);
  if (!lease) co_return fail(std::move(lease.error()));
  std::shared_ptr<engine::Engine> engine = std::move(*lease);

  api::EmbeddingResponse response;
  response.model = request.model;
  auto counted = co_await offload([&]() -> Result<std::int64_t> {
    std::int64_t n = 0;
    for (const std::string& text : request.texts) {
      auto tokens = engine->tokenize(text, true);
      if (!tokens) return fail(std::move(tokens.error()));
      n += static_cast<std::int64_t>(tokens->size());
    }
    return n;
  });
  if (!counted) co_return fail(std::move(counted.error()));
  response.usage.prompt_tokens = *counted;
  response.usage.total_tokens = response.usage.prompt_tokens;

  auto executor = co_await asio::this_coro::executor;
  auto vectors = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                               void(Result<engine::Embeddings>)>(
      [&](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        Status s =
            engine->embedAsync(request.texts, [shared, executor](Result<engine::Embeddings> r) {
              asio::post(executor, [shared, r = std::move(r)]() mutable {
                std::move (*shared)(std::move(r));
              });
            });
        if (!s.isOk()) {
          asio::post(executor, [shared, s = std::move(s)]() mutable {
            std::move (*shared)(Result<engine::Embeddings>(fail(std::move(s))));
          });
        }
      },
      asio::use_awaitable);
  if (!vectors) co_return fail(std::move(vectors.error()));
  response.embeddings = std::move(*vectors);
  co_return response;
}

asio::awaitable<Result<api::RerankResponse>> LocalProvider::rerank(
    const api::RerankRequest& request, CallContext& ctx) {
  const engine::ModelSpec* spec = registry_->find(request.model);
  if (spec != nullptr && !spec->options.embeddings) {
    co_return fail(Status(ErrorCode::kInvalidArgument,
                          "model '" + request.model + "' of provider '" + name() +
                              "' does not serve pooled outputs: a reranker needs "
                              "'embeddings: true' under it")
                       .withParam("model"));
  }
  auto lease = co_await this->lease(request.model, &ctx.report);
  if (!lease) co_return fail(std::move(lease.error()));
  std::shared_ptr<engine::Engine> engine = std::move(*lease);

  api::RerankResponse response;
  response.model = request.model;
  auto executor = co_await asio::this_coro::executor;
  auto scores = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                              void(Result<engine::Scores>)>(
      [&](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        Status s = engine->rerankAsync(
            request.query, request.documents, [shared, executor](Result<engine::Scores> r) {
              asio::post(executor, [shared, r = std::move(r)]() mutable {
                std::move (*shared)(std::move(r));
              });
            });
        if (!s.isOk()) {
          asio::post(executor, [shared, s = std::move(s)]() mutable {
            std::move (*shared)(Result<engine::Scores>(fail(std::move(s))));
          });
        }
      },
      asio::use_awaitable);
  if (!scores) co_return fail(std::move(scores.error()));
  response.scores.assign(scores->begin(), scores->end());
  // Usage as llama-server counts it: the query and each document.
  response.usage.prompt_tokens = co_await offload([&] {
    auto count = [&](const std::string& text) -> std::int64_t {
      auto tokens = engine->tokenize(text, false);
      return tokens ? static_cast<std::int64_t>(tokens->size()) : 0;
    };
    const std::int64_t query_tokens = count(request.query);
    std::int64_t n = 0;
    for (const std::string& doc : request.documents) n += query_tokens + count(doc);
    return n;
  });
  response.usage.total_tokens = response.usage.prompt_tokens;
  co_return response;
}

}  // namespace switchyard::providers
