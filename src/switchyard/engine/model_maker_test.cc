#include "switchyard/engine/model_maker.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "switchyard/engine/test_models.h"

namespace switchyard::engine {
namespace {

namespace fs = std::filesystem;

TEST(ModelMakerTest, MakesAModelWhoseMetadataReadsBack) {
  const auto& path = testing_models::tinyQwen2();
  auto info = inspectModel(path);
  ASSERT_TRUE(info) << info.error().toString();
  EXPECT_EQ(info->architecture, "qwen2");
  EXPECT_EQ(info->name, "switchyard-tiny");
  EXPECT_EQ(info->n_layer, 2);
  EXPECT_EQ(info->n_embd, 64);
  EXPECT_EQ(info->n_head, 4);
  EXPECT_EQ(info->n_head_kv, 2);
  EXPECT_EQ(info->n_ctx_train, 4096);
  EXPECT_EQ(info->n_vocab, 151936);
  EXPECT_EQ(info->file_type, "all F32");
  // The chat template is copied from the vocab file (llama_model_save_to_file alone drops it).
  EXPECT_NE(info->chat_template.find("<|im_start|>"), std::string::npos);
  // What a Qwen2 checkpoint has, no more: token_embd and output (untied), the final norm, and per
  // layer two norms, q/k/v with biases (k and v for 2 of 4 heads), o, and the gated FFN. None of
  // the optional tensors llama.cpp would create (per-matrix scales, an output bias).
  const std::uint64_t layer =
      64 + (64 * 64 + 64) + 2 * (64 * 32 + 32) + 64 * 64 + 64 + 3 * (64 * 128);
  EXPECT_EQ(info->n_params, 2ull * 151936 * 64 + 64 + 2 * layer);
  EXPECT_EQ(info->sha256.size(), 64u);
  EXPECT_EQ(info->file_bytes, fs::file_size(path));
}

TEST(ModelMakerTest, SameSeedSameBytesOtherSeedOtherBytes) {
  const auto dir = fs::path(::testing::TempDir());
  TinyModelSpec spec = testing_models::tinySpec();
  spec.n_layer = 1;
  spec.out_path = (dir / "seed_a.gguf").string();
  ASSERT_TRUE(makeTinyModel(spec));
  spec.out_path = (dir / "seed_b.gguf").string();
  ASSERT_TRUE(makeTinyModel(spec));
  spec.seed = 7;
  spec.out_path = (dir / "seed_c.gguf").string();
  ASSERT_TRUE(makeTinyModel(spec));
  auto a = sha256File((dir / "seed_a.gguf").string());
  auto b = sha256File((dir / "seed_b.gguf").string());
  auto c = sha256File((dir / "seed_c.gguf").string());
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(ModelMakerTest, HalfPrecisionWeightsAndTemplateOverride) {
  TinyModelSpec spec = testing_models::tinySpec();
  spec.n_layer = 1;
  spec.weight_type = "f16";
  spec.chat_template = "{{ messages[0]['content'] }}";
  spec.out_path = (fs::path(::testing::TempDir()) / "half.gguf").string();
  ASSERT_TRUE(makeTinyModel(spec));
  auto info = inspectModel(spec.out_path);
  ASSERT_TRUE(info) << info.error().toString();
  EXPECT_EQ(info->file_type, "F16");
  EXPECT_EQ(info->chat_template, spec.chat_template);
  // About half the bytes of the F32 model.
  auto f32 = inspectModel(testing_models::tinyQwen2());
  ASSERT_TRUE(f32);
  EXPECT_LT(info->tensor_bytes, f32->tensor_bytes * 6 / 10);
}

TEST(ModelMakerTest, RejectsBadSpecs) {
  TinyModelSpec spec = testing_models::tinySpec();
  spec.out_path = (fs::path(::testing::TempDir()) / "bad.gguf").string();
  spec.n_head = 3;  // 64 % 3 != 0
  auto r = makeTinyModel(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);

  spec = testing_models::tinySpec();
  spec.out_path = (fs::path(::testing::TempDir()) / "bad.gguf").string();
  fs::remove(spec.out_path);  // a file of that name from elsewhere would prove nothing
  spec.vocab_path = "/nonexistent/vocab.gguf";
  r = makeTinyModel(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(spec.out_path));
}

// What a memorizing model cannot tell apart or say is refused with a reason, and no file.
TEST(ModelMakerTest, MemorizingModelRejectsWhatItCannotAnswer) {
  auto attempt = [](std::vector<QuestionAnswer> pairs, int n_embd = 64) {
    TinyModelSpec spec = testing_models::tinySpec();
    spec.n_layer = 1;
    spec.n_embd = n_embd;
    spec.memorize = std::move(pairs);
    spec.out_path = (fs::path(::testing::TempDir()) / "bad-memorizing.gguf").string();
    fs::remove(spec.out_path);
    auto r = makeTinyModel(spec);
    EXPECT_FALSE(fs::exists(spec.out_path));
    return r ? std::string() : r.error().message();
  };
  // Every word of the second question is in the first.
  EXPECT_NE(attempt({{"Who wrote Hamlet and Macbeth?", "Shakespeare."},
                     {"Who wrote Hamlet?", "William Shakespeare."}})
                .find("\"Who wrote Hamlet?\" has no word"),
            std::string::npos);
  // " the" is followed by " mat" and then by " door".
  EXPECT_NE(attempt({{"Where is the cat?", "On the mat by the door."}}).find("' the' with both"),
            std::string::npos);
  EXPECT_NE(attempt(testing_models::memorizedAnswers(), 16).find("dimensions; the model has 16"),
            std::string::npos);
  EXPECT_NE(attempt({{"Why?", ""}}).find("is empty"), std::string::npos);

  TinyModelSpec spec = testing_models::tinySpec();
  spec.arch = "olmo2";
  spec.memorize = testing_models::memorizedAnswers();
  spec.out_path = (fs::path(::testing::TempDir()) / "bad-memorizing.gguf").string();
  auto r = makeTinyModel(spec);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("qwen2 or llama"), std::string::npos);
}

TEST(ModelMakerTest, RerankerIsAQwen3WithARankHead) {
  auto info = inspectModel(testing_models::tinyReranker(), /*hash_file=*/false);
  ASSERT_TRUE(info) << info.error().toString();
  EXPECT_EQ(info->architecture, "qwen3");

  TinyModelSpec spec = testing_models::tinySpec();  // qwen2: llama.cpp has no rank head for it
  spec.reranker = true;
  spec.out_path = (fs::path(::testing::TempDir()) / "bad-reranker.gguf").string();
  auto r = makeTinyModel(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("qwen3"), std::string::npos);
}

TEST(ModelMakerTest, InspectNamesMissingAndCorruptFiles) {
  auto missing = inspectModel("/nonexistent/model.gguf");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("/nonexistent/model.gguf"), std::string::npos);

  const auto junk = (fs::path(::testing::TempDir()) / "junk.gguf").string();
  std::ofstream(junk) << "this is not a model";
  auto corrupt = inspectModel(junk);
  ASSERT_FALSE(corrupt);
  EXPECT_EQ(corrupt.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(corrupt.error().message().find(junk), std::string::npos);
}

TEST(ModelMakerTest, QuantizesToQ8_0) {
  const auto out = (fs::path(::testing::TempDir()) / "tiny-q8_0.gguf").string();
  auto r = quantizeModel(testing_models::tinyQwen2(), out, "Q8_0");
  ASSERT_TRUE(r) << r.error().toString();
  auto info = inspectModel(out);
  ASSERT_TRUE(info) << info.error().toString();
  EXPECT_EQ(info->file_type, "Q8_0");
  EXPECT_EQ(info->architecture, "qwen2");
  EXPECT_FALSE(info->chat_template.empty());
  auto f32 = inspectModel(testing_models::tinyQwen2());
  ASSERT_TRUE(f32);
  EXPECT_EQ(info->n_params, f32->n_params);
  EXPECT_LT(info->file_bytes, f32->file_bytes / 3);
}

TEST(ModelMakerTest, UnknownQuantizationTypeIsAClearError) {
  const auto out = (fs::path(::testing::TempDir()) / "never.gguf").string();
  auto r = quantizeModel(testing_models::tinyQwen2(), out, "q9_9");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("q9_9"), std::string::npos);
  EXPECT_NE(r.error().message().find("q4_k_m"), std::string::npos);  // lists the known ones
  EXPECT_FALSE(fs::exists(out));

  auto missing = quantizeModel("/nonexistent.gguf", out, "q8_0");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace switchyard::engine
