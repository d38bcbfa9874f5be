#pragma once
// Internal to model_maker: the weights of a tiny model that answers a fixed set of questions
// (TinyModelSpec::memorize), so that tests can assert real content from a local model.
//
// The weights are constructed, not trained. Layer 0 is a lookup written by hand; every other
// layer is zero (its residual passes through):
// - Embedding: every token has a constant component ("one"); the tokens the answers are made
//   of and the last token of the generation prompt have a slot of their own ("current"); the
//   "key" tokens of question i (those of its rendered prompt that no other question, answer or
//   the bare template has, English function words such as "the" aside unless nothing else is
//   left) carry a flag for question i.
// - Attention, head 0: a constant query meets a key that is large only on key tokens, in the
//   RoPE dimension that rotates slowest, so every position attends to the key tokens before it
//   and copies their question flags into a "context" slot per question. Without key tokens the
//   attention is uniform over values that are all zero: no question.
// - Feed-forward: one gated unit per transition (question i, current token c) -> next token:
//   silu(gate reads "current c") * (up reads "context i") is non-zero only when both hold; the
//   fallback answer's units read "one" instead, with a smaller weight, so a recognised question
//   outvotes them. Each unit writes the "next" slot of its token.
// - Output: the row of each answer token (and end of turn) reads its "next" slot; every other
//   row is zero. Greedy decoding then emits the answer, then the end-of-turn token.
//
// What it cannot do: tell apart questions that share all their words, or a question from an
// unknown one that has one of its key words ("What is the capital of Spain?" gets France's
// answer); say an answer that repeats a token with different successors (the next token is a
// function of the question and the current token); answer a conversation that asks two known
// questions (their flags mix). With a SentencePiece vocabulary (phi-3, llama-spm) an answer
// comes with the space such models put before their first word (" Paris."): the answer is
// tokenized alone, and SentencePiece prefixes a space; the qwen2 vocabulary (make-tiny's
// default) gives the text exactly.

#include <map>
#include <string>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/engine/model_maker.h"

struct ggml_tensor;
struct llama_model;

namespace switchyard::engine {

// The values of every tensor in `tensors` by name (ggml's layout: ne[0] varies fastest), for
// `model`, just made by llama_model_init_from_user from `spec`. kInvalidArgument when the
// questions or answers do not fit the shape or the construction (see above), naming what.
Result<std::map<std::string, std::vector<float>>> memorizingWeights(
    const llama_model* model, const TinyModelSpec& spec, const std::vector<ggml_tensor*>& tensors);

}  // namespace switchyard::engine
