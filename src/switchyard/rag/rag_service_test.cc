// RagService against a fake OpenAI-compatible upstream that embeds (deterministic hash vectors:
// equal texts get equal vectors, different texts unrelated ones), on a corpus made here whose
// questions have their answers in known chunks.

#include "switchyard/rag/rag_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "switchyard/core/log.h"
#include "switchyard/rag/rag_stage.h"
#include "switchyard/rag/test_pdf.h"
#include "tests/fakes/fake_upstream.h"

namespace switchyard::rag {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

struct Fact {
  std::string question;
  std::string answer;  // one paragraph: becomes one chunk
};

// Four handbook pages of four sections each; every section holds one fact.
const std::vector<std::vector<Fact>>& facts() {
  static const std::vector<std::vector<Fact>> kFacts = {
      {{"Which city hosts the main office?",
        "The main office is located in Lyon, on the bank of the Saone river."},
       {"How many vacation days do employees get?",
        "Every employee receives twenty-seven vacation days per calendar year."},
       {"Who approves expense reports?",
        "Expense reports are approved by the finance controller within five days."},
       {"When is the payroll processed?",
        "Payroll is processed on the twenty-fifth of each month."}},
      {{"What port does the metrics exporter listen on?",
        "The metrics exporter listens on port 9464 and serves Prometheus text."},
       {"Which database stores the audit log?",
        "The audit log is stored in PostgreSQL with daily partitions."},
       {"How long are backups retained?",
        "Backups are retained for ninety days in cold storage."},
       {"What is the deployment window?",
        "Deployments happen on Tuesdays between ten and noon."}},
      {{"Which editor do designers use?",
        "Designers use Figma for mockups and prototypes."},
       {"Where are the brand colors defined?",
        "Brand colors are defined in the tokens repository as hex values."},
       {"What font does the website use?",
        "The website typeface is Inter, loaded from a self-hosted bundle."},
       {"Who reviews accessibility?",
        "Accessibility reviews are done by the inclusive design guild."}},
      {{"What is the on-call rotation length?",
        "The on-call rotation lasts one week, handing over on Mondays."},
       {"Which tool pages the on-call engineer?",
        "Alerts page the on-call engineer through Opsgenie."},
       {"What is the severity of a full outage?",
        "A full outage is classified as severity one and needs a postmortem."},
       {"Where are incident timelines written?",
        "Incident timelines are written in the shared incidents notebook."}}};
  return kFacts;
}

std::string handbookMarkdown(std::size_t page) {
  std::string md = "# Handbook part " + std::to_string(page + 1) + "\n\n";
  int s = 0;
  for (const Fact& f : facts()[page]) {
    md += "## Topic " + std::to_string(++s) + "\n\n" + f.answer + "\n\n";
  }
  return md;
}

// Filler documents: random words from a vocabulary that shares common words with the facts.
std::string filler(std::mt19937& rng) {
  static const std::vector<std::string> kWords = {
      "the",    "team",    "process", "review",  "week",     "system", "report", "policy",
      "office", "storage", "day",     "engineer", "release", "budget", "plan",   "service",
      "queue",  "cluster", "meeting", "notes",   "customer", "ticket", "metric", "owner"};
  std::uniform_int_distribution<std::size_t> pick(0, kWords.size() - 1);
  std::string text;
  for (int p = 0; p < 3; ++p) {
    for (int w = 0; w < 40; ++w) text += kWords[pick(rng)] + " ";
    text += "\n\n";
  }
  return text;
}

class RagServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"warn", LogFormat::kText, ""}); }

  void SetUp() override {
    const fs::path dir = fs::path(::testing::TempDir()) / ("rag-service-" + std::string(
        ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir);
    dir_ = dir.string();
    cfg_.source = "<test>";
    config::ProviderConfig p;
    p.name = "up";
    p.kind = "openai";
    p.base_url = upstream_.baseUrl();
    p.api_key = "sk-test";
    p.models = {{"fake-embedder", {}, 0}};
    cfg_.providers = {p};
    cfg_.rag.enabled = true;
    cfg_.rag.path = dir_ + "/rag";
    cfg_.rag.embedding_model = "up/fake-embedder";
    cfg_.rag.chunk_tokens = 64;
    cfg_.rag.chunk_overlap = 8;
    router_ = std::make_unique<routing::Router>(cfg_, health_);
    auto registry = providers::Registry::create(cfg_);
    ASSERT_TRUE(registry) << registry.error().toString();
    registry_ = std::make_unique<providers::Registry>(std::move(*registry));
    auto service = RagService::create(cfg_, *router_, *registry_);
    ASSERT_TRUE(service) << service.error().toString();
    service_ = std::move(*service);
  }

  void ingestCorpus(const std::string& collection) {
    ASSERT_TRUE(service_->index().createCollection(collection, false));
    std::vector<SourceDocument> docs;
    for (std::size_t i = 0; i < facts().size(); ++i) {
      docs.push_back({"handbook-" + std::to_string(i) + ".md", handbookMarkdown(i),
                      Format::kMarkdown, ""});
    }
    std::mt19937 rng(42);
    for (int i = 0; i < 40; ++i) {
      docs.push_back({"filler-" + std::to_string(i) + ".txt", filler(rng), Format::kText, ""});
    }
    auto report = service_->ingestDocuments(collection, std::move(docs));
    ASSERT_TRUE(report) << report.error().toString();
    EXPECT_EQ(report->added, 44);
    EXPECT_GE(report->chunks, 16 + 40);
  }

  // Fraction of queries whose expected chunk text is among the top k.
  double recall(const std::string& collection, Mode mode, int k, bool exact_text) {
    int found = 0;
    int total = 0;
    for (const auto& page : facts()) {
      for (const Fact& f : page) {
        ++total;
        RetrieveRequest r{collection, exact_text ? f.answer : f.question, k, mode};
        auto result = service_->retrieve(r);
        EXPECT_TRUE(result) << result.error().toString();
        if (!result) continue;
        EXPECT_EQ(result->mode, mode);
        for (const RetrievedChunk& c : result->chunks) {
          if (c.chunk.text == f.answer) {
            ++found;
            break;
          }
        }
      }
    }
    return static_cast<double>(found) / total;
  }

  fakes::FakeUpstream upstream_{[] {
    fakes::FakeUpstreamOptions o;
    o.embedding_dimensions = 32;
    return o;
  }()};
  std::string dir_;
  config::Config cfg_;
  routing::HealthBoard health_;
  std::unique_ptr<routing::Router> router_;
  std::unique_ptr<providers::Registry> registry_;
  std::shared_ptr<RagService> service_;
};

TEST_F(RagServiceTest, RecallAtFiveLexicalVectorHybrid) {
  ingestCorpus("handbook");
  auto info = service_->index().collection("handbook");
  EXPECT_EQ(info->dims, 32);
  EXPECT_EQ(info->embedding_model, "up/fake-embedder");

  // Questions share words with their answers: BM25 finds them.
  EXPECT_GE(recall("handbook", Mode::kLexical, 5, false), 0.9);
  // The fake's embeddings carry no meaning (a hash of the text), so vector retrieval is tested
  // with the chunk's own text as the query: its vector is the chunk's, the nearest of all.
  EXPECT_EQ(recall("handbook", Mode::kVector, 1, true), 1.0);
  // Hybrid: fusion keeps what either list ranks first.
  EXPECT_GE(recall("handbook", Mode::kHybrid, 5, false), 0.9);
  EXPECT_EQ(recall("handbook", Mode::kHybrid, 5, true), 1.0);

  auto one = service_->retrieve({"handbook", facts()[1][0].question, 3, Mode::kLexical});
  ASSERT_TRUE(one);
  ASSERT_FALSE(one->chunks.empty());
  const RetrievedChunk& top = one->chunks.front();
  EXPECT_EQ(top.chunk.text, facts()[1][0].answer);
  EXPECT_EQ(top.chunk.source, "handbook-1.md");
  EXPECT_EQ(top.chunk.title, "Handbook part 2");
  EXPECT_EQ(top.chunk.section, "Handbook part 2 > Topic 1");
  EXPECT_EQ(top.lexical_rank, 1);
  EXPECT_LE(one->chunks.size(), 3u);
}

TEST_F(RagServiceTest, ReingestOnlyChangedDocuments) {
  ASSERT_TRUE(service_->index().createCollection("c", false));
  auto first = service_->ingestDocuments(
      "c", {{"a", "alpha text", Format::kText, ""}, {"b", "beta text", Format::kText, ""}});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->added, 2);
  const std::size_t embeds = upstream_.requestCount();
  auto again = service_->ingestDocuments(
      "c", {{"a", "alpha text", Format::kText, ""}, {"b", "beta text v2", Format::kText, ""}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->unchanged, 1);
  EXPECT_EQ(again->updated, 1);
  EXPECT_EQ(upstream_.requestCount(), embeds + 1);  // only b was embedded again
  auto hits = service_->retrieve({"c", "beta", 5, Mode::kLexical});
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->chunks.size(), 1u);
  EXPECT_EQ(hits->chunks[0].chunk.text, "beta text v2");
}

TEST_F(RagServiceTest, IngestPathsWalksFormatsAndDeletesRemovedFiles) {
  const fs::path docs = fs::path(dir_) / "docs";
  fs::create_directories(docs / "sub");
  fs::create_directories(docs / ".git");
  std::ofstream(docs / "guide.md") << "# Guide\n\n## Install\n\nRun the installer wizard.\n";
  std::ofstream(docs / "sub" / "page.html")
      << "<html><head><title>Ops</title></head><body><h1>Alerts</h1><p>Pager rotation is "
         "weekly.</p><script>hidden()</script></body></html>";
  std::ofstream(docs / "report.pdf", std::ios::binary)
      << testing_pdf::makeTestPdf({{"Intro"}, {"Revenue doubled in Lyon."}}, "Report");
  std::ofstream(docs / ".git" / "notes.md") << "secret hidden notes";
  std::ofstream(docs / "image.png") << "not text";
  ASSERT_TRUE(service_->index().createCollection("files", false));

  std::vector<std::pair<std::size_t, std::size_t>> progress;
  auto report = service_->ingestPaths("files", {docs.string()}, [&](std::size_t d, std::size_t t) {
    progress.emplace_back(d, t);
  });
  ASSERT_TRUE(report) << report.error().toString();
  EXPECT_TRUE(report->errors.empty()) << report->errors.front();
  EXPECT_EQ(report->added, 3);
  EXPECT_EQ(progress.back(), std::make_pair(std::size_t{3}, std::size_t{3}));

  auto pdf = service_->retrieve({"files", "revenue Lyon", 5, Mode::kLexical});
  ASSERT_TRUE(pdf);
  ASSERT_FALSE(pdf->chunks.empty());
  EXPECT_EQ(pdf->chunks[0].chunk.page, 2);
  EXPECT_EQ(pdf->chunks[0].chunk.title, "Report");
  EXPECT_EQ(citationFor(pdf->chunks[0].chunk), fs::canonical(docs / "report.pdf").string() + "#page=2");
  auto html = service_->retrieve({"files", "pager rotation", 5, Mode::kLexical});
  ASSERT_TRUE(html);
  ASSERT_FALSE(html->chunks.empty());
  EXPECT_EQ(html->chunks[0].chunk.section, "Alerts");
  EXPECT_EQ(html->chunks[0].chunk.title, "Ops");
  EXPECT_TRUE(service_->retrieve({"files", "hidden secret", 5, Mode::kLexical})->chunks.empty());

  auto unchanged = service_->ingestPaths("files", {docs.string()});
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->unchanged, 3);
  EXPECT_EQ(unchanged->added + unchanged->updated + unchanged->deleted, 0);

  std::ofstream(docs / "guide.md") << "# Guide\n\n## Install\n\nRun the new setup tool.\n";
  fs::remove(docs / "sub" / "page.html");
  auto changed = service_->ingestPaths("files", {docs.string()});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->updated, 1);
  EXPECT_EQ(changed->unchanged, 1);
  EXPECT_EQ(changed->deleted, 1);
  EXPECT_TRUE(service_->retrieve({"files", "pager rotation", 5, Mode::kLexical})->chunks.empty());
  EXPECT_EQ(service_->index().collection("files")->documents, 2);

  auto missing = service_->ingestPaths("files", {(docs / "nope.md").string()});
  ASSERT_TRUE(missing);
  ASSERT_EQ(missing->errors.size(), 1u);
  EXPECT_THAT(missing->errors[0], HasSubstr("no such file or directory"));
}

// The fake embedder is a cloud provider: a private collection's text never goes to it.
TEST_F(RagServiceTest, PrivateCollectionStaysLexicalWithACloudEmbedder) {
  ASSERT_TRUE(service_->index().createCollection("secret", true));
  const std::size_t before = upstream_.requestCount();
  ASSERT_TRUE(service_->ingestDocuments(
      "secret", {{"salaries.txt", "The salary band for level three is confidential.",
                  Format::kText, ""}}));
  EXPECT_EQ(upstream_.requestCount(), before);
  EXPECT_EQ(service_->index().collection("secret")->dims, 0);
  auto hybrid = service_->retrieve({"secret", "salary band", 3, Mode::kHybrid});
  ASSERT_TRUE(hybrid);
  EXPECT_EQ(hybrid->mode, Mode::kLexical);
  EXPECT_TRUE(hybrid->is_private);
  EXPECT_EQ(upstream_.requestCount(), before);
  auto vector = service_->retrieve({"secret", "salary band", 3, Mode::kVector});
  ASSERT_FALSE(vector);
  EXPECT_THAT(vector.error().message(), HasSubstr("private and the embedding model is not on-prem"));
}

class MapHeaders final : public pipeline::RequestHeaders {
 public:
  std::map<std::string, std::string> values;
  std::string_view get(std::string_view name) const override {
    auto it = values.find(std::string(name));
    return it == values.end() ? std::string_view() : std::string_view(it->second);
  }
};

api::ChatRequest chatAsking(std::string question) {
  api::ChatRequest chat;
  chat.model = "some-model";
  api::Message user;
  user.role = api::Role::kUser;
  user.content = {api::ContentPart{}};
  user.content[0].text = std::move(question);
  chat.messages.push_back(std::move(user));
  return chat;
}

Status admit(RagStage& stage, pipeline::StageInput& in) {
  boost::asio::io_context io;
  auto future = boost::asio::co_spawn(io, stage.admit(in), boost::asio::use_future);
  io.run();
  return future.get();
}

TEST_F(RagServiceTest, StageInjectsCitesAndKeepsPrivateRequestsLocal) {
  ASSERT_TRUE(service_->index().createCollection("secret", true));
  ASSERT_TRUE(service_->ingestDocuments(
      "secret", {{"hr/salaries.md", "# Pay\n\n## Bands\n\nLevel three earns ninety thousand.\n",
                  Format::kMarkdown, ""},
                 {"hr/other.md", "Unrelated text about parking.", Format::kText, ""}}));
  RagStage stage(service_);
  MapHeaders headers;
  pipeline::RequestContext ctx;
  api::ChatRequest chat = chatAsking("What does level three earn?");
  chat.extra["rag"] = json::parse(R"({"collection":"secret","top_k":1})");
  chat.extra["other_field"] = 1;
  pipeline::StageInput in{headers, ctx, &chat};
  Status s = admit(stage, in);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_FALSE(chat.extra.contains("rag"));
  EXPECT_TRUE(chat.extra.contains("other_field"));
  ASSERT_EQ(chat.messages.size(), 2u);
  EXPECT_EQ(chat.messages[0].role, api::Role::kSystem);
  EXPECT_THAT(chat.messages[0].text(), HasSubstr("[1] Pay - Pay > Bands\nLevel three earns ninety thousand."));
  EXPECT_EQ(chat.messages[1].text(), "What does level three earn?");
  EXPECT_EQ(ctx.citations, (std::vector<std::string>{"hr/salaries.md#Pay > Bands"}));
  EXPECT_EQ(ctx.rag_collection, "secret");
  EXPECT_TRUE(ctx.local_only);
  EXPECT_EQ(ctx.local_only_reason, "private collection secret");
  ASSERT_EQ(ctx.response_headers.size(), 1u);
  EXPECT_EQ(ctx.response_headers[0].first, "x-switchyard-citations");
  EXPECT_EQ(ctx.response_headers[0].second, "[1] hr/salaries.md#Pay > Bands");

  // A system prompt already there gets the context appended; the header form works too.
  pipeline::RequestContext ctx2;
  api::ChatRequest chat2 = chatAsking("parking");
  api::Message system;
  system.role = api::Role::kSystem;
  system.content = {api::ContentPart{}};
  system.content[0].text = "Be brief.";
  chat2.messages.insert(chat2.messages.begin(), system);
  headers.values["x-switchyard-rag"] = "secret;top_k=2;mode=lexical";
  pipeline::StageInput in2{headers, ctx2, &chat2};
  ASSERT_TRUE(admit(stage, in2).isOk());
  ASSERT_EQ(chat2.messages.size(), 2u);
  EXPECT_THAT(chat2.messages[0].text(), ::testing::StartsWith("Be brief.\n\n"));
  EXPECT_THAT(chat2.messages[0].text(), HasSubstr("Unrelated text about parking."));

  // Unknown collection: 404 naming it; bad field: 400.
  pipeline::RequestContext ctx3;
  api::ChatRequest chat3 = chatAsking("x");
  chat3.extra["rag"] = "nope";
  headers.values.clear();
  pipeline::StageInput in3{headers, ctx3, &chat3};
  Status missing = admit(stage, in3);
  EXPECT_EQ(missing.code(), ErrorCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("rag collection 'nope' does not exist"));
  chat3.extra["rag"] = json::parse(R"({"collection":"secret","top_k":0})");
  EXPECT_EQ(admit(stage, in3).param(), "rag.top_k");

  // Nothing asked: nothing changes.
  pipeline::RequestContext ctx4;
  api::ChatRequest chat4 = chatAsking("hello");
  pipeline::StageInput in4{headers, ctx4, &chat4};
  ASSERT_TRUE(admit(stage, in4).isOk());
  EXPECT_EQ(chat4.messages.size(), 1u);
  EXPECT_FALSE(ctx4.local_only);
}

TEST_F(RagServiceTest, RouteConfigNamesTheCollection) {
  ASSERT_TRUE(service_->index().createCollection("kb", false));
  ASSERT_TRUE(service_->ingestDocuments("kb", {{"kb.txt", "The wifi password is on the fridge.",
                                                Format::kText, ""}}));
  cfg_.rag.routes["support"] = {"kb", 2};  // the service reads its config live
  RagStage stage(service_);
  MapHeaders headers;
  pipeline::RequestContext ctx;
  api::ChatRequest chat = chatAsking("where is the wifi password");
  chat.model = "support";
  pipeline::StageInput in{headers, ctx, &chat};
  ASSERT_TRUE(admit(stage, in).isOk());
  EXPECT_EQ(ctx.citations, (std::vector<std::string>{"kb.txt"}));
  EXPECT_FALSE(ctx.local_only);
}

TEST_F(RagServiceTest, UnknownEmbeddingModelIsAStartupError) {
  config::Config cfg = cfg_;
  cfg.rag.embedding_model = "up/nope-embedder-x";
  cfg.rag.embedding_model_line = 7;
  cfg.providers[0].name = "other";  // no provider "up": the name cannot resolve
  routing::HealthBoard health;
  routing::Router router(cfg, health);
  auto registry = providers::Registry::create(cfg);
  ASSERT_TRUE(registry);
  auto service = RagService::create(cfg, router, *registry);
  ASSERT_FALSE(service);
  EXPECT_THAT(service.error().message(),
              HasSubstr("<test>:7: rag.embedding_model: 'up/nope-embedder-x' is not a model this "
                        "gateway serves"));
}

}  // namespace
}  // namespace switchyard::rag
