#include "switchyard/engine/memorizing_model.h"

#include <ggml.h>
#include <llama.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <string_view>
#include <utility>

#include "switchyard/engine/chat_format.h"

namespace switchyard::engine {
namespace {

using Tokens = std::vector<llama_token>;

// Gains of the construction (see memorizing_model.h). With every component of the residual
// about 1 before a norm, a normalised component is about sqrt(n_embd / 3..4): the attention
// scores of key tokens come out near 50 (uniform weight elsewhere would need e^50 tokens), the
// context slot near 1, a recognised question's unit about five times a fallback unit, and the
// answer token's logit near 40 against 0 for every other token.
constexpr float kQuery = 3.0f;       // query: "one" -> the slow RoPE dimension
constexpr float kKey = 3.0f;         // key: question flag -> the same dimension
constexpr float kContext = 0.15f;    // attention output -> context slot
constexpr float kGate = 1.0f;        // gate: "current c"
constexpr float kUp = 1.0f;          // up: "context i"
constexpr float kFallbackUp = 0.2f;  // up of the fallback answer's units: "one"
constexpr float kDown = 0.2f;        // unit -> "next" slot
constexpr float kOutput = 4.0f;      // "next" slot -> logit

Status invalid(std::string message) {
  return Status(ErrorCode::kInvalidArgument, "memorizing model: " + std::move(message));
}

Result<Tokens> tokenize(const llama_vocab* vocab, const std::string& text, bool special) {
  const auto size = static_cast<std::int32_t>(text.size());
  int n = llama_tokenize(vocab, text.data(), size, nullptr, 0, special, special);
  if (n < 0) n = -n;
  Tokens tokens(static_cast<std::size_t>(n));
  if (n > 0 && llama_tokenize(vocab, text.data(), size, tokens.data(), n, special, special) < 0) {
    return fail(ErrorCode::kInternal, "memorizing model: tokenization failed");
  }
  return tokens;
}

std::string pieceOf(const llama_vocab* vocab, llama_token token) {
  char buf[256];
  const int n = llama_token_to_piece(vocab, token, buf, sizeof buf, 0, true);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "#" + std::to_string(token);
}

// English function words: with a handful of questions, "the" may well belong to one of them
// alone, and would then make any question with a "the" that one. (Tokens are compared as their
// text, case and surrounding spaces aside.)
bool isCommonWord(std::string_view piece) {
  static const std::set<std::string, std::less<>> kWords = {
      "a",     "about", "an",   "and",  "are",  "as",    "at",   "be",   "by",     "can",
      "could", "did",   "do",   "does", "for",  "from",  "how",  "i",    "in",     "is",
      "it",    "its",   "me",   "my",   "of",   "on",    "or",   "our",  "please", "tell",
      "that",  "the",   "this", "to",   "was",  "we",    "were", "what", "when",   "where",
      "which", "who",   "why",  "will", "with", "would", "you",  "your"};
  while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\n')) piece.remove_prefix(1);
  while (!piece.empty() && (piece.back() == ' ' || piece.back() == '\n')) piece.remove_suffix(1);
  std::string lower(piece);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return kWords.contains(lower);
}

// The prompt tokens of a conversation of one user message, as the engine renders and tokenizes
// it (the chat template with its generation prompt; special tokens parsed, BOS per the vocab).
Result<Tokens> promptTokens(ChatFormatter& formatter, const llama_vocab* vocab,
                            const std::string& question) {
  GenerationRequest request;
  request.messages.push_back(ChatMessage{.role = "user", .content = question});
  auto rendered = formatter.render(request);
  if (!rendered) return fail(rendered.error());
  return tokenize(vocab, rendered->prompt, /*special=*/true);
}

// One answer as the model walks it: the token it starts from (the generation prompt's last),
// the answer's tokens, then end of turn. `question` < 0: the fallback.
struct Walk {
  int question = -1;
  Tokens tokens;
};

struct Layout {
  int one = 0;
  int questions = 0;
  std::map<llama_token, int> current;  // token -> slot
  std::map<llama_token, int> next;     // token -> slot
  int flag(int question) const { return 1 + question; }
  int context(int question) const { return 1 + questions + question; }
  int size() const { return 1 + 2 * questions + static_cast<int>(current.size() + next.size()); }
};

}  // namespace

Result<std::map<std::string, std::vector<float>>> memorizingWeights(
    const llama_model* model, const TinyModelSpec& spec, const std::vector<ggml_tensor*>& tensors) {
  const llama_vocab* vocab = llama_model_get_vocab(model);
  llama_token end = llama_vocab_eot(vocab);
  if (end == LLAMA_TOKEN_NULL) end = llama_vocab_eos(vocab);
  if (end == LLAMA_TOKEN_NULL) return fail(invalid("the vocab has no end-of-turn token"));
  auto formatter = ChatFormatter::create(model, "");
  if (!formatter) return fail(formatter.error());

  const int n_questions = static_cast<int>(spec.memorize.size());
  std::vector<Tokens> prompts;
  std::vector<Walk> walks;
  for (int i = 0; i < n_questions; ++i) {
    const auto& [question, answer] = spec.memorize[static_cast<std::size_t>(i)];
    auto prompt = promptTokens(**formatter, vocab, question);
    if (!prompt) return fail(prompt.error());
    if (prompt->empty()) return fail(invalid("the chat template renders nothing"));
    auto tokens = tokenize(vocab, answer, /*special=*/false);
    if (!tokens) return fail(tokens.error());
    if (tokens->empty()) return fail(invalid("the answer to \"" + question + "\" is empty"));
    Walk walk{i, {prompt->back()}};
    walk.tokens.insert(walk.tokens.end(), tokens->begin(), tokens->end());
    walk.tokens.push_back(end);
    prompts.push_back(std::move(*prompt));
    walks.push_back(std::move(walk));
  }
  auto bare = promptTokens(**formatter, vocab, "");
  if (!bare) return fail(bare.error());
  if (bare->empty()) return fail(invalid("the chat template renders nothing"));
  if (!spec.fallback_answer.empty()) {
    auto tokens = tokenize(vocab, spec.fallback_answer, false);
    if (!tokens) return fail(tokens.error());
    Walk walk{-1, {bare->back()}};
    walk.tokens.insert(walk.tokens.end(), tokens->begin(), tokens->end());
    walk.tokens.push_back(end);
    walks.push_back(std::move(walk));
  }

  // Key tokens: a question's own words. Answer tokens never are (generating one would add the
  // flag of another question).
  std::set<llama_token> shared(bare->begin(), bare->end());
  for (const Walk& w : walks) shared.insert(w.tokens.begin(), w.tokens.end());
  std::map<llama_token, int> seen_in;  // token -> question, or -1 when in several
  for (int i = 0; i < n_questions; ++i) {
    for (llama_token t : std::set<llama_token>(prompts[i].begin(), prompts[i].end())) {
      auto [it, inserted] = seen_in.emplace(t, i);
      if (!inserted) it->second = -1;
    }
  }
  std::vector<std::vector<llama_token>> keys(static_cast<std::size_t>(n_questions));
  std::vector<std::vector<llama_token>> common(static_cast<std::size_t>(n_questions));
  for (const auto& [token, question] : seen_in) {
    if (question < 0 || shared.contains(token)) continue;
    (isCommonWord(pieceOf(vocab, token)) ? common : keys)[question].push_back(token);
  }
  for (int i = 0; i < n_questions; ++i) {
    // Common words recognise a question only when it has nothing else of its own.
    if (keys[i].empty()) keys[i] = std::move(common[i]);
    if (keys[i].empty()) {
      return fail(invalid("the question \"" + spec.memorize[i].question +
                          "\" has no word that the other questions and the answers do not "
                          "have, so it cannot be told apart"));
    }
  }

  // Transitions: (question, current token) -> next token.
  std::map<std::pair<int, llama_token>, llama_token> transitions;
  Layout layout;
  layout.questions = n_questions;
  for (const Walk& w : walks) {
    for (std::size_t k = 0; k + 1 < w.tokens.size(); ++k) {
      const llama_token from = w.tokens[k], to = w.tokens[k + 1];
      auto [it, inserted] = transitions.emplace(std::pair{w.question, from}, to);
      if (!inserted && it->second != to) {
        const std::string which =
            w.question < 0 ? "the fallback answer"
                           : "the answer to \"" + spec.memorize[w.question].question + "\"";
        return fail(invalid(which + " follows the token '" + pieceOf(vocab, from) +
                            "' with both '" + pieceOf(vocab, it->second) + "' and '" +
                            pieceOf(vocab, to) +
                            "' (the next token is chosen by the question and the current token "
                            "alone)"));
      }
      layout.current.emplace(from, 0);
      layout.next.emplace(to, 0);
    }
  }
  int slot = 1 + 2 * n_questions;
  for (auto& [token, s] : layout.current) s = slot++;
  for (auto& [token, s] : layout.next) s = slot++;

  const int n_embd = spec.n_embd, n_ff = spec.n_ff;
  const int head_dim = spec.n_head > 0 ? n_embd / spec.n_head : 0;
  if (layout.size() > n_embd) {
    return fail(invalid("the questions and answers need " + std::to_string(layout.size()) +
                        " dimensions; the model has " + std::to_string(n_embd) +
                        " (use a larger --dim, or fewer or shorter answers)"));
  }
  if (static_cast<int>(transitions.size()) > n_ff) {
    return fail(invalid("the answers need " + std::to_string(transitions.size()) +
                        " feed-forward units; the model has " + std::to_string(n_ff) +
                        " (use a larger --ff)"));
  }
  if (head_dim < 2 || head_dim < n_questions) {
    return fail(invalid("a head of " + std::to_string(head_dim) + " dimensions cannot hold " +
                        std::to_string(n_questions) + " questions (use fewer heads)"));
  }
  // The dimension whose RoPE frequency is the lowest: a pair (d, d + head_dim/2) rotated by
  // base^(-2d/head_dim) for NEOX layouts (qwen2), adjacent pairs for the original one (llama).
  const int slow =
      llama_model_rope_type(model) == LLAMA_ROPE_TYPE_NEOX ? head_dim / 2 - 1 : head_dim - 2;

  std::map<std::string, std::vector<float>> out;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> shape;  // name -> (ne0, ne1)
  for (const ggml_tensor* t : tensors) {
    const std::string name = t->name;
    // Norm weights are 1, and so are the optional per-matrix scales (the model in memory has
    // them; make-tiny does not write them).
    const bool unit = name.ends_with("norm.weight") || name.ends_with("scale");
    out[name].assign(static_cast<std::size_t>(ggml_nelements(t)), unit ? 1.0f : 0.0f);
    shape[name] = {t->ne[0], t->ne[1]};
  }
  for (const char* name :
       {"token_embd.weight", "output.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
        "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_gate.weight",
        "blk.0.ffn_up.weight", "blk.0.ffn_down.weight"}) {
    if (!out.contains(name)) {
      return fail(
          invalid(std::string("the architecture has no tensor ") + name + " (use qwen2 or llama)"));
    }
  }
  // (row, column) of a matrix whose rows are outputs and columns inputs (ggml: ne[0] = inputs).
  auto at = [&](const char* name, std::int64_t row, std::int64_t column) -> float& {
    return out[name][static_cast<std::size_t>(row * shape[name].first + column)];
  };

  const std::int64_t n_vocab = shape["token_embd.weight"].second;
  for (std::int64_t t = 0; t < n_vocab; ++t) at("token_embd.weight", t, layout.one) = 1.0f;
  for (const auto& [token, s] : layout.current) at("token_embd.weight", token, s) = 1.0f;
  for (int i = 0; i < n_questions; ++i) {
    for (llama_token t : keys[i]) at("token_embd.weight", t, layout.flag(i)) = 1.0f;
  }
  // Head 0 (and its KV head 0).
  at("blk.0.attn_q.weight", slow, layout.one) = kQuery;
  for (int i = 0; i < n_questions; ++i) {
    at("blk.0.attn_k.weight", slow, layout.flag(i)) = kKey;
    at("blk.0.attn_v.weight", i, layout.flag(i)) = 1.0f;
    at("blk.0.attn_output.weight", layout.context(i), i) = kContext;
  }
  int unit = 0;
  for (const auto& [from, to] : transitions) {
    const auto& [question, token] = from;
    at("blk.0.ffn_gate.weight", unit, layout.current.at(token)) = kGate;
    if (question >= 0) {
      at("blk.0.ffn_up.weight", unit, layout.context(question)) = kUp;
    } else {
      at("blk.0.ffn_up.weight", unit, layout.one) = kFallbackUp;
    }
    at("blk.0.ffn_down.weight", layout.next.at(to), unit) = kDown;
    ++unit;
  }
  for (const auto& [token, s] : layout.next) at("output.weight", token, s) = kOutput;
  return out;
}

}  // namespace switchyard::engine
