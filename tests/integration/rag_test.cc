// RAG through the real gateway: the collections API, /v1/retrieve, and chat requests grounded
// in a collection (OpenAI and Anthropic formats in, streamed or not), against a fake
// OpenAI-compatible upstream that also embeds (hash vectors: equal texts, equal vectors).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <filesystem>

#include "switchyard/core/log.h"
#include "switchyard/rag/test_pdf.h"
#include "switchyard/server/gateway.h"
#include "switchyard/store/database.h"
#include "tests/fakes/fake_upstream.h"
#include "tests/fakes/test_client.h"
#include "tests/fakes/test_gateway.h"

namespace switchyard {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using fakes::Client;
using fakes::FakeUpstream;
using fakes::Reply;
using ::testing::HasSubstr;
using ::testing::Not;

std::string base64(const std::string& bytes) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

// The system prompt the upstream received (its first message when that is a system message).
std::string upstreamSystem(const fakes::RecordedRequest& sent) {
  auto body = json::parse(sent.body);
  const auto& first = body.at("messages").at(0);
  if (first.at("role") != "system") return "";
  const auto& content = first.at("content");
  if (content.is_string()) return std::string(content.as_string());
  std::string text;
  for (const auto& part : content.as_array()) text += std::string(part.at("text").as_string());
  return text;
}

class RagGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { (void)setupLogging({"warn", LogFormat::kText, ""}); }

  void SetUp() override {
    dir_ = (fs::path(::testing::TempDir()) /
            ("rag-gw-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())))
               .string();
    fs::remove_all(dir_);
    config::Config cfg;
    cfg.source = "<test>";
    cfg.server.host = "127.0.0.1";
    cfg.server.port = 0;
    cfg.server.workers = 1;
    cfg.server.drain_timeout = std::chrono::milliseconds(2000);
    cfg.log.access_log = false;
    config::ProviderConfig p;
    p.name = "up";
    p.kind = "openai";
    p.base_url = upstream_.baseUrl();
    p.api_key = "sk-test-secret";
    p.models = {{"fake-model", {"fm"}, 0}, {"fake-embedder", {}, 0}};
    config::ProviderConfig onprem = p;  // the same fake, declared as an on-prem deployment
    onprem.name = "onprem";
    onprem.locality = "on_prem";
    onprem.models = {{"fake-model", {}, 0}};
    cfg.providers = {p, onprem};
    cfg.routes = {{"support", "up", "fake-model", 1}};
    cfg.rag.enabled = true;
    cfg.rag.path = dir_;
    cfg.rag.embedding_model = "up/fake-embedder";
    cfg.rag.routes["support"] = {"kb", 2};
    configure(cfg);
    auto gw = server::Gateway::create(std::move(cfg));
    ASSERT_TRUE(gw.has_value()) << gw.error().toString();
    gateway_ = std::move(*gw);
    gateway_->start();
  }

  // Changes to the test's config before the gateway starts.
  virtual void configure(config::Config&) {}

  Reply call(bhttp::verb method, const std::string& target, const std::string& body = "",
             const fakes::Headers& headers = {}) {
    return fakes::request(gateway_->port(), method, target, body, headers);
  }

  void makeKb(bool is_private = false, const fakes::Headers& auth = {},
              const std::string& name = "kb") {
    Reply created = call(bhttp::verb::post, "/v1/collections",
                         json::serialize(json::object{{"name", name}, {"private", is_private}}),
                         auth);
    ASSERT_EQ(created.status, 201u) << created.body;
    json::object md{{"source", "handbook.md"},
                    {"format", "markdown"},
                    {"text", "# Handbook\n\n## Office\n\nThe main office is in Lyon by the river."
                             "\n\n## Leave\n\nEveryone gets twenty-seven vacation days."}};
    json::object html{{"source", "https://wiki/ops"},
                      {"format", "html"},
                      {"text", "<title>Ops</title><h1>Paging</h1><p>The pager rotates every "
                               "Monday.</p><script>var x = 'Lyon';</script>"}};
    json::object pdf{{"source", "report.pdf"},
                     {"format", "pdf"},
                     {"content_base64", base64(rag::testing_pdf::makeTestPdf(
                                            {{"Cover page"}, {"Revenue doubled in Q3."}}, "Q3"))}};
    Reply ingested = call(bhttp::verb::post, "/v1/collections/" + name + "/documents",
                          json::serialize(json::object{{"documents", json::array{md, html, pdf}}}),
                          auth);
    ASSERT_EQ(ingested.status, 200u) << ingested.body;
    auto report = ingested.json();
    EXPECT_EQ(report.at("added"), 3);
    EXPECT_GE(report.at("chunks").as_int64(), 5);
  }

  FakeUpstream upstream_;
  std::string dir_;
  std::unique_ptr<server::Gateway> gateway_;
};

TEST_F(RagGatewayTest, CollectionsApi) {
  makeKb();
  Reply dup = call(bhttp::verb::post, "/v1/collections", R"({"name":"kb"})");
  EXPECT_EQ(dup.status, 409u);
  EXPECT_EQ(dup.json().at("error").at("code"), "collection_exists");
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections", R"({"name":"a b"})").status, 400u);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections", R"({"nam":"x"})").status, 400u);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections", "not json").status, 400u);
  Reply put = call(bhttp::verb::put, "/v1/collections");
  EXPECT_EQ(put.status, 405u);
  EXPECT_EQ(put.header("allow"), "GET, POST");

  Reply list = call(bhttp::verb::get, "/v1/collections");
  ASSERT_EQ(list.status, 200u);
  auto data = list.json().at("data").as_array();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].at("name"), "kb");
  EXPECT_EQ(data[0].at("documents"), 3);
  EXPECT_EQ(data[0].at("private"), false);
  EXPECT_EQ(data[0].at("embedding_model"), "up/fake-embedder");
  EXPECT_EQ(data[0].at("dimensions"), 8);

  Reply same = call(bhttp::verb::post, "/v1/collections/kb/documents",
                    R"({"documents":[{"source":"handbook.md","format":"markdown","text":"# Handbook\n\n## Office\n\nThe main office is in Lyon by the river.\n\n## Leave\n\nEveryone gets twenty-seven vacation days."}]})");
  ASSERT_EQ(same.status, 200u) << same.body;
  EXPECT_EQ(same.json().at("unchanged"), 1);
  Reply bad = call(bhttp::verb::post, "/v1/collections/kb/documents",
                   R"({"documents":[{"source":"x","format":"docx","text":"a"}]})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_THAT(bad.body, HasSubstr("unknown document format 'docx'"));
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections/nope/documents",
                 R"({"documents":[{"source":"x","text":"a"}]})")
                .status,
            404u);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/collections/kb/other").status, 404u);

  Reply del = call(bhttp::verb::delete_, "/v1/collections/kb");
  ASSERT_EQ(del.status, 200u) << del.body;
  EXPECT_EQ(del.json().at("deleted"), true);
  EXPECT_EQ(call(bhttp::verb::delete_, "/v1/collections/kb").status, 404u);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/collections/kb").status, 404u);
}

TEST_F(RagGatewayTest, RetrieveReturnsChunksScoresAndSources) {
  makeKb();
  Reply r = call(bhttp::verb::post, "/v1/retrieve",
                 R"({"collection":"kb","query":"Where is the main office?","top_k":2,"mode":"lexical"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("mode"), "lexical");
  auto data = j.at("data").as_array();
  ASSERT_FALSE(data.empty());
  EXPECT_LE(data.size(), 2u);
  EXPECT_EQ(data[0].at("text"), "The main office is in Lyon by the river.");
  EXPECT_EQ(data[0].at("source"), "handbook.md");
  EXPECT_EQ(data[0].at("section"), "Handbook > Office");
  EXPECT_EQ(data[0].at("citation"), "handbook.md#Handbook > Office");
  EXPECT_GT(data[0].at("score").as_double(), 0);
  EXPECT_EQ(data[0].at("rank"), 1);

  // The PDF's second page; the HTML's script text was never indexed.
  Reply pdf = call(bhttp::verb::post, "/v1/retrieve",
                   R"({"collection":"kb","query":"revenue","mode":"lexical"})");
  ASSERT_EQ(pdf.status, 200u);
  EXPECT_EQ(pdf.json().at("data").at(0).at("page"), 2);
  EXPECT_EQ(pdf.json().at("data").at(0).at("citation"), "report.pdf#page=2");
  Reply lyon = call(bhttp::verb::post, "/v1/retrieve",
                    R"({"collection":"kb","query":"Lyon","mode":"lexical","top_k":10})");
  EXPECT_EQ(lyon.json().at("data").as_array().size(), 1u);

  // Vector: the chunk's own text is the query (the fake's vectors carry no meaning).
  Reply vec = call(bhttp::verb::post, "/v1/retrieve",
                   R"({"collection":"kb","query":"The pager rotates every Monday.","mode":"vector","top_k":1})");
  ASSERT_EQ(vec.status, 200u) << vec.body;
  EXPECT_EQ(vec.json().at("data").at(0).at("source"), "https://wiki/ops");
  EXPECT_NEAR(vec.json().at("data").at(0).at("score").as_double(), 1.0, 1e-4);
  Reply hybrid = call(bhttp::verb::post, "/v1/retrieve",
                      R"({"collection":"kb","query":"The pager rotates every Monday."})");
  ASSERT_EQ(hybrid.status, 200u);
  EXPECT_EQ(hybrid.json().at("mode"), "hybrid");
  EXPECT_EQ(hybrid.json().at("data").at(0).at("source"), "https://wiki/ops");
  EXPECT_EQ(hybrid.json().at("data").at(0).at("lexical_rank"), 1);
  EXPECT_EQ(hybrid.json().at("data").at(0).at("vector_rank"), 1);

  EXPECT_EQ(call(bhttp::verb::post, "/v1/retrieve", R"({"collection":"nope","query":"x"})").status,
            404u);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/retrieve", R"({"collection":"kb"})").status, 400u);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/retrieve",
                 R"({"collection":"kb","query":"x","mode":"fuzzy"})")
                .status,
            400u);
  EXPECT_EQ(call(bhttp::verb::get, "/v1/retrieve").status, 405u);
}

// Lexical mode in the request tests below: with the fake's meaningless vectors, hybrid fusion
// may rank a random chunk first (hybrid recall is measured in rag_service_test).
TEST_F(RagGatewayTest, ChatIsGroundedWithCitations) {
  makeKb();
  upstream_.clearRequests();
  Reply r = fakes::post(gateway_->port(), "/v1/chat/completions",
                        R"({"model":"fm","rag":{"collection":"kb","top_k":1,"mode":"lexical"},
                            "messages":[{"role":"user","content":"Where is the main office?"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-switchyard-citations"), "[1] handbook.md#Handbook > Office");
  const auto sent = upstream_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/chat/completions");
  const std::string system = upstreamSystem(sent);
  EXPECT_THAT(system, HasSubstr("[1] Handbook - Handbook > Office\nThe main office is in Lyon by the river."));
  EXPECT_THAT(system, Not(HasSubstr("vacation")));  // top_k 1
  auto up = json::parse(sent.body);
  EXPECT_FALSE(up.as_object().contains("rag"));  // ours, not forwarded
  EXPECT_EQ(up.at("messages").at(1).at("content"), "Where is the main office?");
}

TEST_F(RagGatewayTest, StreamingCarriesTheCitationsHeader) {
  makeKb();
  Reply r = fakes::post(gateway_->port(), "/v1/chat/completions",
                        R"({"model":"fm","stream":true,
                            "messages":[{"role":"user","content":"How many vacation days?"}]})",
                        {{"x-switchyard-rag", "kb;top_k=1;mode=lexical"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.header("x-switchyard-citations"), "[1] handbook.md#Handbook > Leave");
  EXPECT_THAT(upstreamSystem(upstream_.lastRequest()),
              HasSubstr("Everyone gets twenty-seven vacation days."));
  bool done = false;
  EXPECT_FALSE(fakes::sseData(r.body, &done).empty());
  EXPECT_TRUE(done);
}

TEST_F(RagGatewayTest, AnthropicMessagesAreGroundedToo) {
  makeKb();
  Reply r = fakes::post(gateway_->port(), "/v1/messages",
                        R"({"model":"fm","max_tokens":64,"system":"Be brief.",
                            "rag":{"collection":"kb","top_k":1,"mode":"lexical"},
                            "messages":[{"role":"user","content":"When does the pager rotate?"}]})",
                        {{"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("type"), "message");
  EXPECT_EQ(r.header("x-switchyard-citations"), "[1] https://wiki/ops#Paging");
  const std::string system = upstreamSystem(upstream_.lastRequest());
  EXPECT_THAT(system, ::testing::StartsWith("Be brief."));
  EXPECT_THAT(system, HasSubstr("The pager rotates every Monday."));
  EXPECT_FALSE(json::parse(upstream_.lastRequest().body).as_object().contains("rag"));

  // An unknown collection is the client's error, in Anthropic's format.
  Reply missing = fakes::post(gateway_->port(), "/v1/messages",
                              R"({"model":"fm","max_tokens":8,
                                  "messages":[{"role":"user","content":"x"}]})",
                              {{"anthropic-version", "2023-06-01"}, {"x-switchyard-rag", "nope"}});
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.json().at("type"), "error");
  EXPECT_THAT(missing.body, HasSubstr("rag collection 'nope' does not exist"));
}

// The citations of the body: {index, collection, source, title, section, page, chunk_id, score}.
void expectOfficeCitation(const json::value& citations) {
  ASSERT_TRUE(citations.is_array()) << json::serialize(citations);
  ASSERT_EQ(citations.as_array().size(), 1u);
  const auto& c = citations.as_array()[0].as_object();
  EXPECT_EQ(c.at("index"), 1);
  EXPECT_EQ(c.at("collection"), "kb");
  EXPECT_EQ(c.at("source"), "handbook.md");
  EXPECT_EQ(c.at("title"), "Handbook");
  EXPECT_EQ(c.at("section"), "Handbook > Office");
  EXPECT_EQ(c.at("page"), 0);
  EXPECT_GT(c.at("chunk_id").as_int64(), 0);
  EXPECT_GT(c.at("score").as_double(), 0.0);
}

constexpr const char* kOffice = R"("messages":[{"role":"user","content":"Where is the main office?"}])";
const fakes::Headers kRagHeader{{"x-switchyard-rag", "kb;top_k=1;mode=lexical"}};

TEST_F(RagGatewayTest, CitationsInOpenAIChatBodies) {
  makeKb();
  Reply r = fakes::post(gateway_->port(), "/v1/chat/completions",
                        std::string(R"({"model":"fm",)") + kOffice + "}", kRagHeader);
  ASSERT_EQ(r.status, 200u) << r.body;
  expectOfficeCitation(r.json().at("citations"));
  EXPECT_EQ(r.json().at("object"), "chat.completion");

  Reply s = fakes::post(gateway_->port(), "/v1/chat/completions",
                        std::string(R"({"model":"fm","stream":true,)") + kOffice + "}",
                        kRagHeader);
  ASSERT_EQ(s.status, 200u) << s.body;
  EXPECT_EQ(s.header("x-switchyard-citations"), "[1] handbook.md#Handbook > Office");
  const auto chunks = fakes::sseData(s.body);
  ASSERT_GE(chunks.size(), 2u);
  expectOfficeCitation(chunks[0].at("citations"));  // the first chunk only
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    EXPECT_FALSE(chunks[i].as_object().contains("citations")) << i;
  }

  // Without a collection there is no such field (and nothing is spent on it).
  Reply plain = fakes::post(gateway_->port(), "/v1/chat/completions",
                            std::string(R"({"model":"fm",)") + kOffice + "}");
  ASSERT_EQ(plain.status, 200u);
  EXPECT_FALSE(plain.json().as_object().contains("citations"));
}

TEST_F(RagGatewayTest, CitationsInAnthropicMessages) {
  makeKb();
  const fakes::Headers headers{{"anthropic-version", "2023-06-01"},
                               {"x-switchyard-rag", "kb;top_k=1;mode=lexical"}};
  Reply r = fakes::post(gateway_->port(), "/v1/messages",
                        std::string(R"({"model":"fm","max_tokens":32,)") + kOffice + "}", headers);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("type"), "message");
  expectOfficeCitation(r.json().at("citations"));

  Reply s = fakes::post(gateway_->port(), "/v1/messages",
                        std::string(R"({"model":"fm","max_tokens":32,"stream":true,)") + kOffice +
                            "}",
                        headers);
  ASSERT_EQ(s.status, 200u) << s.body;
  const auto events = fakes::sseEvents(s.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].name, "message_start");
  expectOfficeCitation(events[0].data.at("message").at("citations"));
  EXPECT_EQ(events.back().name, "message_stop");
}

TEST_F(RagGatewayTest, CitationsInResponses) {
  makeKb();
  Reply r = fakes::post(gateway_->port(), "/v1/responses",
                        R"({"model":"fm","input":"Where is the main office?"})", kRagHeader);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("object"), "response");
  expectOfficeCitation(r.json().at("citations"));

  Reply s = fakes::post(gateway_->port(), "/v1/responses",
                        R"({"model":"fm","stream":true,"input":"Where is the main office?"})",
                        kRagHeader);
  ASSERT_EQ(s.status, 200u) << s.body;
  const auto events = fakes::sseEvents(s.body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().name, "response.created");
  expectOfficeCitation(events.front().data.at("response").at("citations"));
  EXPECT_EQ(events.back().name, "response.completed");
  expectOfficeCitation(events.back().data.at("response").at("citations"));
}

TEST_F(RagGatewayTest, CitationsInOllamaChat) {
  makeKb();
  Reply r = fakes::post(gateway_->port(), "/api/chat",
                        std::string(R"({"model":"fm","stream":false,)") + kOffice + "}",
                        kRagHeader);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("done"), true);
  expectOfficeCitation(r.json().at("citations"));

  Reply s = fakes::post(gateway_->port(), "/api/chat",
                        std::string(R"({"model":"fm",)") + kOffice + "}", kRagHeader);
  ASSERT_EQ(s.status, 200u) << s.body;
  std::vector<json::value> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.body.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (nl > start) lines.push_back(json::parse(s.body.substr(start, nl - start)));
  }
  ASSERT_GE(lines.size(), 2u) << s.body;
  expectOfficeCitation(lines.front().at("citations"));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_FALSE(lines[i].as_object().contains("citations")) << i;
  }
  EXPECT_EQ(lines.back().at("done"), true);
}

TEST_F(RagGatewayTest, RouteConfigGroundsEveryRequestOfTheRoute) {
  makeKb();
  Reply r = fakes::post(gateway_->port(), "/v1/chat/completions",
                        R"({"model":"support","messages":[{"role":"user","content":"vacation days"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_THAT(r.header("x-switchyard-citations"), HasSubstr("handbook.md#Handbook > Leave"));
  EXPECT_THAT(upstreamSystem(upstream_.lastRequest()), HasSubstr("twenty-seven vacation days"));
  // Another model: untouched.
  Reply plain = fakes::post(gateway_->port(), "/v1/chat/completions",
                            R"({"model":"fm","messages":[{"role":"user","content":"vacation days"}]})");
  ASSERT_EQ(plain.status, 200u);
  EXPECT_EQ(plain.header("x-switchyard-citations"), "");
  EXPECT_EQ(upstreamSystem(upstream_.lastRequest()), "");
}

TEST_F(RagGatewayTest, BadRagFieldIsA400) {
  makeKb();
  Reply r = fakes::post(gateway_->port(), "/v1/chat/completions",
                        R"({"model":"fm","rag":{"collection":"kb","k":3},
                            "messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json().at("error").at("param"), "rag.k");
  // Beyond what an int64 holds: a 400 like any top_k out of range (Boost.JSON's throwing
  // conversion made it a 500).
  Reply huge = fakes::post(gateway_->port(), "/v1/chat/completions",
                           R"({"model":"fm","rag":{"collection":"kb","top_k":18446744073709551615},
                               "messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(huge.status, 400u);
  EXPECT_EQ(huge.json().at("error").at("param"), "rag.top_k");
  Reply completion = fakes::post(gateway_->port(), "/v1/completions",
                                 R"({"model":"fm","prompt":"x"})", {{"x-switchyard-rag", "kb"}});
  EXPECT_EQ(completion.status, 400u);
  EXPECT_THAT(completion.body, HasSubstr("chat requests only"));
}

// A private collection makes the request local-only: routing refuses cloud deployments and
// takes on-prem ones.
TEST_F(RagGatewayTest, PrivateCollectionForcesLocalRouting) {
  makeKb(/*is_private=*/true);
  Reply cloud = fakes::post(gateway_->port(), "/v1/chat/completions",
                            R"({"model":"fm","messages":[{"role":"user","content":"office?"}]})",
                            {{"x-switchyard-rag", "kb;mode=lexical"}});
  EXPECT_EQ(cloud.status, 403u) << cloud.body;
  EXPECT_THAT(cloud.body, HasSubstr("private collection kb"));
  Reply local = fakes::post(gateway_->port(), "/v1/chat/completions",
                            R"({"model":"onprem/fake-model",
                                "messages":[{"role":"user","content":"Where is the main office?"}]})",
                            {{"x-switchyard-rag", "kb;mode=lexical;top_k=1"}});
  ASSERT_EQ(local.status, 200u) << local.body;
  EXPECT_EQ(local.header("x-switchyard-provider"), "onprem");
  EXPECT_THAT(local.header("x-switchyard-decision"), HasSubstr("local-only"));
  EXPECT_THAT(upstreamSystem(upstream_.lastRequest()), HasSubstr("The main office is in Lyon"));
  // The same model without the collection is not restricted.
  EXPECT_EQ(fakes::post(gateway_->port(), "/v1/chat/completions",
                        R"({"model":"fm","messages":[{"role":"user","content":"hi"}]})")
                .status,
            200u);
}

// ---- the guard scans retrieved chunks ----------------------------------------------------------

// Chunks are added to the prompt after the guard scanned the client's text: the request's own
// policy applies to them too (redacted, masked, a chunk holding a blocked secret left out, and
// private data in a chunk keeps the request on-prem).
class RagGuardTest : public RagGatewayTest {
 protected:
  void configure(config::Config& cfg) override {
    cfg.guard.enabled = true;
    cfg.guard.policy = {{"EMAIL", "redact"}, {"PHONE", "mask"}, {"secret", "block"},
                        {"IBAN", "local_only"}};
  }

  void makeContacts() {
    ASSERT_EQ(call(bhttp::verb::post, "/v1/collections", R"({"name":"contacts"})").status, 201u);
    json::object doc{
        {"source", "contacts.md"},
        {"format", "markdown"},
        {"text", "# Contacts\n\n## Manager\n\nThe office manager is jane.doe@example.com."
                 "\n\n## Deploy\n\nThe office deploy key is AKIAIOSFODNN7EXAMPLE."
                 "\n\n## Phone\n\nThe office phone is +1 415 555 0134."
                 "\n\n## Refunds\n\nThe office refund account is DE89 3704 0044 0532 0130 00."}};
    Reply ingested = call(bhttp::verb::post, "/v1/collections/contacts/documents",
                          json::serialize(json::object{{"documents", json::array{doc}}}));
    ASSERT_EQ(ingested.status, 200u) << ingested.body;
  }
};

TEST_F(RagGuardTest, RetrievedChunksAreScannedWithTheRequestsPolicy) {
  makeContacts();
  upstream_.clearRequests();
  Reply r = fakes::post(gateway_->port(), "/v1/chat/completions",
                        R"({"model":"onprem/fake-model",
                            "rag":{"collection":"contacts","top_k":4,"mode":"lexical"},
                            "messages":[{"role":"user","content":"Who runs the office? I am bob@example.org"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const std::string system = upstreamSystem(upstream_.lastRequest());
  EXPECT_THAT(system, HasSubstr("The office manager is [EMAIL_2]."));
  EXPECT_THAT(system, HasSubstr("The office phone is [PHONE_1]."));
  EXPECT_THAT(system, Not(HasSubstr("jane.doe")));
  EXPECT_THAT(system, Not(HasSubstr("415 555")));
  EXPECT_THAT(system, Not(HasSubstr("AKIA")));  // the chunk with the secret is left out
  EXPECT_THAT(system, Not(HasSubstr("deploy key")));
  // The client's own address took the first number.
  auto up = json::parse(upstream_.lastRequest().body);
  EXPECT_EQ(up.at("messages").at(1).at("content"), "Who runs the office? I am [EMAIL_1]");
  // Three chunks cited, numbered without a gap; the guard header names where it acted.
  const std::string citations = r.header("x-switchyard-citations");
  EXPECT_THAT(citations, HasSubstr("[3] "));
  EXPECT_THAT(citations, Not(HasSubstr("[4] ")));
  EXPECT_THAT(citations, Not(HasSubstr("Deploy")));
  const std::string guard = r.header("x-switchyard-guard");
  EXPECT_THAT(guard, HasSubstr("EMAIL:redact:1,"));
  EXPECT_THAT(guard, HasSubstr("rag:contacts:AWS_ACCESS_KEY:block:1"));
  EXPECT_THAT(guard, HasSubstr("rag:contacts:IBAN:local_only:1"));
  EXPECT_THAT(r.header("x-switchyard-decision"), HasSubstr("local-only"));
}

TEST_F(RagGuardTest, PrivateDataInAChunkKeepsTheRequestOnPrem) {
  makeContacts();
  // The IBAN is in the refunds chunk: a cloud model cannot get it.
  Reply cloud = fakes::post(gateway_->port(), "/v1/chat/completions",
                            R"({"model":"fm","rag":{"collection":"contacts","top_k":1,
                                "mode":"lexical"},
                                "messages":[{"role":"user","content":"refund account"}]})");
  EXPECT_EQ(cloud.status, 403u) << cloud.body;
  EXPECT_THAT(cloud.body, HasSubstr("guard: IBAN"));
  // A chunk without anything private goes to the cloud model as usual.
  Reply ok = fakes::post(gateway_->port(), "/v1/chat/completions",
                         R"({"model":"fm","rag":{"collection":"contacts","top_k":1,
                             "mode":"lexical"},
                             "messages":[{"role":"user","content":"office manager"}]})");
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_THAT(upstreamSystem(upstream_.lastRequest()), HasSubstr("[EMAIL_1]"));
}

// ---- access: virtual keys and collection scopes --------------------------------------------

constexpr std::string_view kAdmin = "admin-rag-test-key-0123456789";

class RagAuthTest : public RagGatewayTest {
 protected:
  void configure(config::Config& cfg) override {
    fs::create_directories(dir_);
    cfg.storage_url = "sqlite://" + dir_ + "/switchyard.db";
    cfg.admin_key = std::string(kAdmin);
    cfg.auth.require_keys = true;
  }

  static fakes::Headers bearer(std::string_view key) {
    return {{"authorization", "Bearer " + std::string(key)}};
  }
  fakes::Headers admin() const { return bearer(kAdmin); }

  // A virtual key (its secret) made through the admin API.
  std::string makeKey(const std::string& name, const json::array& collections = {}) {
    json::object spec{{"name", name}};
    if (!collections.empty()) spec["collections"] = collections;
    Reply r = call(bhttp::verb::post, "/admin/keys", json::serialize(spec), admin());
    EXPECT_EQ(r.status, 201u) << r.body;
    if (r.status == 201u) {
      EXPECT_EQ(r.json().at("collections"), collections);
    }
    return r.status == 201u ? std::string(r.json().at("key").as_string()) : std::string();
  }

  Reply retrieve(const std::string& collection, const fakes::Headers& auth) {
    return call(bhttp::verb::post, "/v1/retrieve",
                json::serialize(json::object{
                    {"collection", collection}, {"query", "office"}, {"mode", "lexical"}}),
                auth);
  }

  static std::vector<std::string> names(const Reply& list) {
    std::vector<std::string> out;
    const json::value body = list.json();
    for (const auto& c : body.at("data").as_array()) {
      out.emplace_back(c.at("name").as_string());
    }
    return out;
  }
};

TEST_F(RagAuthTest, EndpointsNeedAKeyWhenKeysAreRequired) {
  Reply none = call(bhttp::verb::get, "/v1/collections");
  EXPECT_EQ(none.status, 401u) << none.body;
  EXPECT_EQ(none.json().at("error").at("code"), "invalid_api_key");
  Reply wrong = call(bhttp::verb::post, "/v1/retrieve", R"({"collection":"kb","query":"x"})",
                     bearer("sy-not-a-key"));
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_THAT(wrong.body, HasSubstr("Invalid API key"));
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections", R"({"name":"x"})").status, 401u);
  EXPECT_EQ(call(bhttp::verb::delete_, "/v1/collections/x").status, 401u);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections/x/documents", R"({"documents":[]})").status,
            401u);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/rerank", R"({"model":"m","query":"q","documents":["d"]})")
                .status,
            401u);
  // The admin key reaches everything.
  makeKb(false, admin());
  makeKb(true, admin(), "hr");
  Reply list = call(bhttp::verb::get, "/v1/collections", "", admin());
  ASSERT_EQ(list.status, 200u) << list.body;
  EXPECT_THAT(names(list), ::testing::UnorderedElementsAre("kb", "hr"));
  EXPECT_EQ(retrieve("hr", admin()).status, 200u);

  // A revoked key is refused.
  Reply made = call(bhttp::verb::post, "/admin/keys", R"({"name":"gone"})", admin());
  ASSERT_EQ(made.status, 201u);
  const std::string id(made.json().at("id").as_string());
  const std::string secret(made.json().at("key").as_string());
  EXPECT_EQ(retrieve("kb", bearer(secret)).status, 200u);
  ASSERT_EQ(call(bhttp::verb::post, "/admin/keys/" + id + "/revoke", "", admin()).status, 200u);
  Reply revoked = retrieve("kb", bearer(secret));
  EXPECT_EQ(revoked.status, 401u);
  EXPECT_THAT(revoked.body, HasSubstr("revoked"));
}

TEST_F(RagAuthTest, DefaultScopeReachesEveryCollectionButPrivateOnes) {
  makeKb(false, admin());
  makeKb(true, admin(), "hr");
  const std::string key = makeKey("reader");
  Reply list = call(bhttp::verb::get, "/v1/collections", "", bearer(key));
  ASSERT_EQ(list.status, 200u) << list.body;
  EXPECT_EQ(names(list), std::vector<std::string>{"kb"});  // hr is private: not listed
  EXPECT_EQ(retrieve("kb", bearer(key)).status, 200u);
  Reply hr = retrieve("hr", bearer(key));
  EXPECT_EQ(hr.status, 403u) << hr.body;
  EXPECT_EQ(hr.json().at("error").at("code"), "collection_not_allowed");
  EXPECT_THAT(hr.body, HasSubstr("private collection must be named"));
  EXPECT_EQ(call(bhttp::verb::get, "/v1/collections/hr", "", bearer(key)).status, 403u);
  EXPECT_EQ(call(bhttp::verb::delete_, "/v1/collections/hr", "", bearer(key)).status, 403u);
  // It may make and fill collections that are not private, not private ones.
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections", R"({"name":"notes"})", bearer(key)).status,
            201u);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections", R"({"name":"s","private":true})",
                 bearer(key))
                .status,
            403u);
  // Chat grounding follows the same scope: the private collection is refused.
  Reply chat = fakes::post(gateway_->port(), "/v1/chat/completions",
                           R"({"model":"onprem/fake-model",
                               "messages":[{"role":"user","content":"office?"}]})",
                           {{"authorization", "Bearer " + key}, {"x-switchyard-rag", "hr"}});
  EXPECT_EQ(chat.status, 403u) << chat.body;
  EXPECT_EQ(chat.json().at("error").at("param"), "rag.collection");
  Reply ok = fakes::post(gateway_->port(), "/v1/chat/completions",
                         R"({"model":"fm","messages":[{"role":"user","content":"office?"}]})",
                         {{"authorization", "Bearer " + key}, {"x-switchyard-rag", "kb"}});
  EXPECT_EQ(ok.status, 200u) << ok.body;
}

TEST_F(RagAuthTest, NamedScopesRestrictAndOpenPrivateCollections) {
  makeKb(false, admin());
  makeKb(true, admin(), "hr");
  const std::string kb_only = makeKey("kb-bot", json::array{"kb"});
  const std::string hr = makeKey("hr-bot", json::array{"hr*"});
  EXPECT_EQ(retrieve("kb", bearer(kb_only)).status, 200u);
  EXPECT_EQ(retrieve("hr", bearer(kb_only)).status, 403u);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/collections", R"({"name":"other"})", bearer(kb_only))
                .status,
            403u);
  Reply hr_list = call(bhttp::verb::get, "/v1/collections", "", bearer(hr));
  EXPECT_EQ(names(hr_list), std::vector<std::string>{"hr"});
  Reply found = retrieve("hr", bearer(hr));
  ASSERT_EQ(found.status, 200u) << found.body;
  EXPECT_EQ(found.json().at("private"), true);
  EXPECT_EQ(retrieve("kb", bearer(hr)).status, 403u);
  // A private collection it names grounds its chats (on on-prem providers).
  Reply chat = fakes::post(gateway_->port(), "/v1/chat/completions",
                           R"({"model":"onprem/fake-model",
                               "messages":[{"role":"user","content":"Where is the main office?"}]})",
                           {{"authorization", "Bearer " + hr}, {"x-switchyard-rag", "hr;top_k=1;mode=lexical"}});
  ASSERT_EQ(chat.status, 200u) << chat.body;
  EXPECT_EQ(chat.json().at("citations").at(0).at("collection"), "hr");
  EXPECT_EQ(call(bhttp::verb::delete_, "/v1/collections/hr", "", bearer(hr)).status, 200u);
}

// Reranking through a remote OpenAI-compatible server (vLLM, llama-server, Infinity): a model
// marked `rerank: true` serves POST /v1/rerank and RAG's rerank step through the upstream's
// /rerank, and /v1/rerank calls are logged like /v1/embeddings (request log, metrics).
class RagRemoteRerankTest : public RagGatewayTest {
 protected:
  void configure(config::Config& cfg) override {
    config::ModelConfig reranker;
    reranker.name = "fake-reranker";
    reranker.rerank = true;
    cfg.providers[0].models.push_back(reranker);
    cfg.rag.collections["kb"].rerank = {"up/fake-reranker", 10};
    db_ = dir_ + "-log.db";
    for (const char* s : {"", "-wal", "-shm"}) fs::remove(db_ + s);
    cfg.storage_url = "sqlite://" + db_;
    cfg.telemetry.request_log.enabled = true;
    cfg.telemetry.request_log.flush_interval = std::chrono::milliseconds(50);
  }
  void TearDown() override {
    gateway_.reset();
    for (const char* s : {"", "-wal", "-shm"}) fs::remove(db_ + s);
  }
  std::string db_;
};

TEST_F(RagRemoteRerankTest, V1RerankGoesToTheUpstreamAndIsLogged) {
  Reply r = call(bhttp::verb::post, "/v1/rerank",
                 R"({"model":"up/fake-reranker","query":"capital of France","top_n":2,
                     "documents":["Bananas are yellow.","Paris is the capital of France.",
                                  {"text":"France is in Europe."}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value j = r.json();
  const auto& results = j.at("results").as_array();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].at("index"), 1);  // all three query words
  EXPECT_EQ(results[0].at("relevance_score").to_number<double>(), 1.0);
  EXPECT_EQ(results[1].at("index"), 2);
  EXPECT_GT(j.at("usage").at("prompt_tokens").as_int64(), 0);

  const auto sent = upstream_.lastRequest();
  EXPECT_EQ(sent.target, "/v1/rerank");
  EXPECT_EQ(sent.header("authorization"), "Bearer sk-test-secret");
  EXPECT_EQ(json::parse(sent.body),
            json::parse(R"({"model":"fake-reranker","query":"capital of France",
                            "documents":["Bananas are yellow.","Paris is the capital of France.",
                                         "France is in Europe."],"top_n":3})"));

  // A model that is not marked as a reranker: a clear 400, never sent upstream.
  const std::size_t before = upstream_.requestCount();
  Reply not_marked = call(bhttp::verb::post, "/v1/rerank",
                          R"({"model":"up/fake-model","query":"q","documents":["a","b"]})");
  EXPECT_EQ(not_marked.status, 400u) << not_marked.body;
  EXPECT_THAT(not_marked.body, HasSubstr("rerank: true"));
  EXPECT_EQ(upstream_.requestCount(), before);
  EXPECT_EQ(call(bhttp::verb::post, "/v1/rerank",
                 R"({"model":"nope","query":"q","documents":["a"]})")
                .status,
            404u);

  Reply metrics = call(bhttp::verb::get, "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr(R"(switchyard_requests_total{endpoint="rerank",route="",)"
                                      R"(provider="up",model="fake-reranker",status="200"} 1)"));
  gateway_.reset();  // writes every row

  auto db = store::openDatabase("sqlite://" + db_);
  ASSERT_TRUE(db.has_value());
  auto rows = (*db)->query(
      "SELECT endpoint, requested_model, provider, model, status, error_type, prompt_tokens, "
      "total_ms FROM request_log ORDER BY id");
  ASSERT_TRUE(rows.has_value()) << rows.error().toString();
  ASSERT_EQ(rows->size(), 3u);
  const auto& ok = (*rows)[0];
  EXPECT_EQ(ok.text(0), "rerank");
  EXPECT_EQ(ok.text(1), "up/fake-reranker");
  EXPECT_EQ(ok.text(2), "up");
  EXPECT_EQ(ok.text(3), "fake-reranker");
  EXPECT_EQ(ok.integer(4), 200);
  EXPECT_EQ(ok.text(5), "");
  EXPECT_GT(ok.integer(6), 0);
  EXPECT_GT(ok.real(7), 0);
  EXPECT_EQ((*rows)[1].integer(4), 400);
  EXPECT_EQ((*rows)[2].integer(4), 404);
  EXPECT_EQ((*rows)[2].text(5), "model_not_found");
}

TEST_F(RagRemoteRerankTest, RetrievalIsRerankedByTheRemoteModel) {
  makeKb();
  Reply r = call(bhttp::verb::post, "/v1/retrieve",
                 R"({"collection":"kb","query":"How many vacation days does everyone get?",
                     "mode":"hybrid","top_k":1})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value j = r.json();
  ASSERT_TRUE(j.as_object().contains("reranked_by")) << r.body;
  EXPECT_EQ(j.at("reranked_by"), "up/fake-reranker");
  EXPECT_EQ(j.at("data").at(0).at("text"), "Everyone gets twenty-seven vacation days.");
  bool reranked_upstream = false;
  for (const auto& req : upstream_.requests()) {
    if (req.target == "/v1/rerank") {
      reranked_upstream = true;
      EXPECT_EQ(json::parse(req.body).at("query"), "How many vacation days does everyone get?");
    }
  }
  EXPECT_TRUE(reranked_upstream);
}

// A reranker the gateway cannot call that way is a start-up error naming the config key.
TEST(RagRemoteRerankConfigTest, UnmarkedRemoteRerankerIsAStartupError) {
  FakeUpstream upstream;
  config::Config cfg;
  cfg.source = "<test>";
  cfg.server.port = 0;
  cfg.server.workers = 1;
  config::ProviderConfig p;
  p.name = "up";
  p.kind = "openai";
  p.base_url = upstream.baseUrl();
  p.models = {{"chat-model", {}, 0}};
  cfg.providers = {p};
  cfg.rag.enabled = true;
  const std::string dir = fakes::testTempPath("rag-unmarked");
  cfg.rag.path = dir;
  cfg.rag.collections["kb"].rerank = {"up/chat-model", 10};
  auto gw = server::Gateway::create(std::move(cfg));
  std::error_code ec;
  fs::remove_all(dir, ec);  // the store may exist before the check refuses
  ASSERT_FALSE(gw.has_value());
  EXPECT_THAT(gw.error().message(), HasSubstr("rag.collections.kb.rerank.model"));
  EXPECT_THAT(gw.error().message(), HasSubstr("'rerank: true'"));
}

}  // namespace
}  // namespace switchyard
