#include "switchyard/telemetry/tracing.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>

namespace switchyard::telemetry {
namespace {

namespace json = boost::json;
using pipeline::SpanKind;

class MapHeaders final : public pipeline::RequestHeaders {
 public:
  MapHeaders(std::initializer_list<std::pair<const std::string, std::string>> h) : h_(h) {}
  std::string_view get(std::string_view name) const override {
    auto it = h_.find(std::string(name));
    return it == h_.end() ? std::string_view() : std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> h_;
};

constexpr std::string_view kParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(TraceParentTest, ParsesAndFormats) {
  auto tp = pipeline::parseTraceParent(kParent);
  ASSERT_TRUE(tp.has_value());
  EXPECT_EQ(pipeline::toHex(tp->trace_id), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(pipeline::toHex(tp->parent_id), "b7ad6b7169203331");
  EXPECT_TRUE(tp->sampled);
  EXPECT_EQ(pipeline::formatTraceParent(tp->trace_id, tp->parent_id), kParent);
  EXPECT_FALSE(pipeline::parseTraceParent(
                   "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
                   ->sampled);
}

TEST(TraceParentTest, RejectsMalformed) {
  for (std::string_view bad : {
           "",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",      // no flags
           "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",   // upper case
           "00-00000000000000000000000000000000-b7ad6b7169203331-01",   // zero trace id
           "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   // zero parent
           "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   // forbidden version
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",  // v00 with extra
           "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
           "00-0af7651916cd43dd8448eb211c8031zz-b7ad6b7169203331-01",
       }) {
    EXPECT_FALSE(pipeline::parseTraceParent(bad).has_value()) << bad;
  }
  // A later version may append fields.
  EXPECT_TRUE(pipeline::parseTraceParent(
                  "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra")
                  .has_value());
}

TEST(TraceSamplerTest, ContinuesTheClientsTrace) {
  TraceSampler never(0.0);
  MapHeaders sampled({{"traceparent", std::string(kParent)}, {"tracestate", "vendor=1"}});
  auto state = never.start(sampled);  // the parent's decision wins over the ratio
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(pipeline::toHex(state->trace_id), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(pipeline::toHex(state->parent_id), "b7ad6b7169203331");
  EXPECT_EQ(state->trace_state, "vendor=1");
  EXPECT_FALSE(pipeline::isZero(state->server_span_id));

  TraceSampler always(1.0);
  MapHeaders unsampled(
      {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}});
  EXPECT_EQ(always.start(unsampled), nullptr);

  MapHeaders none({});
  auto fresh = always.start(none);
  ASSERT_NE(fresh, nullptr);
  EXPECT_TRUE(pipeline::isZero(fresh->parent_id));
  EXPECT_FALSE(pipeline::isZero(fresh->trace_id));
  EXPECT_EQ(never.start(none), nullptr);
  // A malformed traceparent starts a new trace.
  MapHeaders broken({{"traceparent", "garbage"}});
  auto restarted = always.start(broken);
  ASSERT_NE(restarted, nullptr);
  EXPECT_TRUE(pipeline::isZero(restarted->parent_id));
}

TEST(TraceSamplerTest, RatioKeepsThatShareOfNewTraces) {
  TraceSampler quarter(0.25);
  MapHeaders none({});
  int kept = 0;
  constexpr int kN = 20'000;
  for (int i = 0; i < kN; ++i) kept += quarter.start(none) != nullptr;
  EXPECT_NEAR(static_cast<double>(kept) / kN, 0.25, 0.02);
  // Deterministic on the id: the same trace is kept by every sampler with the same ratio.
  pipeline::TraceId low{};
  low[15] = 1;
  pipeline::TraceId high;
  high.fill(0xff);
  EXPECT_TRUE(quarter.keep(low));
  EXPECT_FALSE(quarter.keep(high));
}

ExportSpan sampleSpan() {
  ExportSpan s;
  s.trace_id = *pipeline::parseTraceParent(kParent).transform([](auto t) { return t.trace_id; });
  s.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  s.parent_id = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};
  s.trace_state = "vendor=1";
  s.name = "chat gpt-4o";
  s.kind = SpanKind::kClient;
  s.start_ns = 1'700'000'000'123'456'789ULL;
  s.end_ns = 1'700'000'000'223'456'789ULL;
  s.attrs = {{"gen_ai.request.model", std::string("gpt-4o")},
             {"gen_ai.usage.input_tokens", std::int64_t{12}},
             {"gen_ai.request.temperature", 0.5},
             {"switchyard.local_only", true},
             {"gen_ai.response.finish_reasons", std::vector<std::string>{"stop"}}};
  s.error = true;
  s.status_message = "server_error";
  return s;
}

TEST(OtlpJsonTest, FollowsTheOtlpJsonMapping) {
  ResourceAttrs resource = {{"service.name", "switchyard"}};
  ExportSpan root = sampleSpan();
  root.parent_id = {};
  root.error = false;
  root.kind = SpanKind::kServer;
  root.trace_state.clear();
  std::vector<ExportSpan> spans = {sampleSpan(), root};
  const json::value doc = json::parse(encodeOtlpJson(resource, spans));

  const auto& rs = doc.at("resourceSpans").as_array();
  ASSERT_EQ(rs.size(), 1u);
  const auto& rattrs = rs[0].at("resource").at("attributes").as_array();
  ASSERT_EQ(rattrs.size(), 1u);
  EXPECT_EQ(rattrs[0].at("key"), "service.name");
  EXPECT_EQ(rattrs[0].at("value").at("stringValue"), "switchyard");
  const auto& ss = rs[0].at("scopeSpans").as_array();
  ASSERT_EQ(ss.size(), 1u);
  EXPECT_EQ(ss[0].at("scope").at("name"), "switchyard");
  const auto& out = ss[0].at("spans").as_array();
  ASSERT_EQ(out.size(), 2u);

  const auto& s = out[0].as_object();
  EXPECT_EQ(s.at("traceId"), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(s.at("spanId"), "0102030405060708");
  EXPECT_EQ(s.at("parentSpanId"), "b7ad6b7169203331");
  EXPECT_EQ(s.at("traceState"), "vendor=1");
  EXPECT_EQ(s.at("name"), "chat gpt-4o");
  EXPECT_EQ(s.at("kind"), 3);  // SPAN_KIND_CLIENT
  EXPECT_EQ(s.at("startTimeUnixNano"), "1700000000123456789");  // a string, not a number
  EXPECT_EQ(s.at("endTimeUnixNano"), "1700000000223456789");
  const auto& attrs = s.at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 5u);
  EXPECT_EQ(attrs[0].at("value").at("stringValue"), "gpt-4o");
  EXPECT_EQ(attrs[1].at("value").at("intValue"), "12");  // int64 as a string
  EXPECT_EQ(attrs[2].at("value").at("doubleValue"), 0.5);
  EXPECT_EQ(attrs[3].at("value").at("boolValue"), true);
  EXPECT_EQ(attrs[4].at("value").at("arrayValue").at("values").at(0).at("stringValue"), "stop");
  EXPECT_EQ(s.at("status").at("code"), 2);  // STATUS_CODE_ERROR
  EXPECT_EQ(s.at("status").at("message"), "server_error");

  const auto& r = out[1].as_object();
  EXPECT_FALSE(r.contains("parentSpanId"));  // a root span
  EXPECT_FALSE(r.contains("traceState"));
  EXPECT_FALSE(r.contains("status"));  // unset
  EXPECT_EQ(r.at("kind"), 2);          // SPAN_KIND_SERVER
}

TEST(OtlpJsonTest, EscapesStrings) {
  ExportSpan s = sampleSpan();
  s.name = "chat \"quoted\"\n\xff";
  s.attrs = {{"k\"ey", std::string("v\\al")}};
  const json::value doc = json::parse(encodeOtlpJson({}, std::span<const ExportSpan>(&s, 1)));
  const auto& span = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
  EXPECT_EQ(span.at("name"), "chat \"quoted\"\n\xEF\xBF\xBD");
  EXPECT_EQ(span.at("attributes").at(0).at("key"), "k\"ey");
  EXPECT_EQ(span.at("attributes").at(0).at("value").at("stringValue"), "v\\al");
}

TEST(BuildSpansTest, ServerSpanParentsStagesRoutingAndAttempts) {
  pipeline::RequestContext ctx;
  const auto t0 = std::chrono::steady_clock::now();
  ctx.received = t0;
  ctx.endpoint = pipeline::Endpoint::kChat;
  ctx.requested_model = "fast";
  ctx.provider = "openai-main";
  ctx.model = "gpt-4o";
  ctx.http_status = 502;
  ctx.error = Status(ErrorCode::kUpstream, "boom").withErrorType("server_error");
  MapHeaders h({{"traceparent", std::string(kParent)}});
  ctx.trace = TraceSampler(1.0).start(h);
  ctx.trace->http_route = "/v1/chat/completions";
  ctx.trace->http_method = "POST";
  pipeline::SpanRecord stage;
  stage.name = "auth";
  stage.span_id = pipeline::newSpanId();
  stage.start = t0 + std::chrono::microseconds(10);
  stage.end = t0 + std::chrono::microseconds(20);
  ctx.trace->spans.push_back(stage);
  pipeline::SpanRecord attempt;
  attempt.kind = SpanKind::kClient;
  attempt.name = "chat gpt-4o";
  attempt.span_id = pipeline::newSpanId();
  attempt.start = t0 + std::chrono::microseconds(30);
  attempt.end = t0 + std::chrono::milliseconds(5);
  attempt.error = true;
  attempt.error_type = "server_error";
  attempt.attrs = {{"switchyard.provider", std::string("openai-main")}};
  ctx.trace->spans.push_back(attempt);

  config::Config cfg;
  config::ProviderConfig p;
  p.name = "openai-main";
  p.kind = "openai";
  p.base_url = "https://api.openai.com/v1";
  cfg.providers = {p};
  const auto now = t0 + std::chrono::milliseconds(6);
  const auto wall = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  auto providers = std::make_shared<const ProviderDirectory>(providerDirectory(cfg));
  auto spans = buildSpans(finishedTrace(ctx, now, wall, providers));
  ASSERT_EQ(spans.size(), 3u);
  const ExportSpan& server = spans[0];
  EXPECT_EQ(server.kind, SpanKind::kServer);
  EXPECT_EQ(server.name, "chat fast");
  EXPECT_EQ(pipeline::toHex(server.parent_id), "b7ad6b7169203331");
  EXPECT_EQ(server.end_ns, 1'700'000'000'000'000'000ULL);
  EXPECT_EQ(server.start_ns, server.end_ns - 6'000'000ULL);
  EXPECT_TRUE(server.error);  // 502
  EXPECT_EQ(std::get<std::int64_t>(*server.attr("http.response.status_code")), 502);
  EXPECT_EQ(std::get<std::string>(*server.attr("http.route")), "/v1/chat/completions");
  EXPECT_EQ(std::get<std::string>(*server.attr("gen_ai.operation.name")), "chat");
  EXPECT_EQ(std::get<std::string>(*server.attr("error.type")), "server_error");
  for (std::size_t i = 1; i < spans.size(); ++i) {
    EXPECT_EQ(spans[i].trace_id, server.trace_id);
    EXPECT_EQ(spans[i].parent_id, server.span_id);
  }
  EXPECT_EQ(spans[1].start_ns, server.start_ns + 10'000ULL);
  const ExportSpan& client = spans[2];
  EXPECT_TRUE(client.error);
  EXPECT_EQ(std::get<std::string>(*client.attr("gen_ai.system")), "openai");
  EXPECT_EQ(std::get<std::string>(*client.attr("server.address")), "api.openai.com");
  EXPECT_EQ(std::get<std::int64_t>(*client.attr("server.port")), 443);

  ctx.http_status = 403;  // a client error is not the server span's error
  EXPECT_FALSE(buildSpans(finishedTrace(ctx, now, wall, providers))[0].error);
}

TEST(BuildSpansTest, CapturedContentGoesOnTheServerSpanAndTheAttemptThatAnswered) {
  pipeline::RequestContext ctx;
  const auto t0 = std::chrono::steady_clock::now();
  ctx.received = t0;
  ctx.http_status = 200;
  MapHeaders h({});
  ctx.trace = TraceSampler(1.0).start(h);
  ctx.trace->capture_content = true;
  ctx.trace->input_messages = R"([{"role":"user","parts":[]}])";
  ctx.trace->output_messages = R"([{"role":"assistant","parts":[]}])";
  for (bool failed : {true, false}) {
    pipeline::SpanRecord attempt;
    attempt.kind = SpanKind::kClient;
    attempt.name = "chat m";
    attempt.span_id = pipeline::newSpanId();
    attempt.start = t0;
    attempt.end = t0;
    attempt.error = failed;
    ctx.trace->spans.push_back(attempt);
  }
  const auto spans = buildSpans(finishedTrace(ctx, t0, std::chrono::system_clock::now(), nullptr));
  ASSERT_EQ(spans.size(), 3u);
  for (std::size_t i : {0u, 2u}) {
    ASSERT_NE(spans[i].attr("gen_ai.input.messages"), nullptr) << i;
    EXPECT_EQ(std::get<std::string>(*spans[i].attr("gen_ai.output.messages")),
              ctx.trace->output_messages);
  }
  EXPECT_EQ(spans[1].attr("gen_ai.input.messages"), nullptr);  // the failed try
  EXPECT_EQ(spans[0].attr("switchyard.content_withheld"), nullptr);

  // Withheld: only the reason.
  ctx.trace->capture_content = false;
  ctx.trace->input_messages.clear();
  ctx.trace->output_messages.clear();
  ctx.trace->content_withheld = "local_only (guard: CREDIT_CARD)";
  const auto withheld =
      buildSpans(finishedTrace(ctx, t0, std::chrono::system_clock::now(), nullptr));
  EXPECT_EQ(withheld[0].attr("gen_ai.input.messages"), nullptr);
  EXPECT_EQ(std::get<std::string>(*withheld[0].attr("switchyard.content_withheld")),
            "local_only (guard: CREDIT_CARD)");
}

}  // namespace
}  // namespace switchyard::telemetry
