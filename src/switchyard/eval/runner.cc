#include "switchyard/eval/runner.h"

#include <openssl/evp.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>

#include "switchyard/core/progress.h"
#include "switchyard/http/client.h"

namespace switchyard::eval {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;

namespace {

std::string sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string messagesJson(const std::vector<Message>& messages) {
  json::array a;
  for (const auto& m : messages) a.push_back(json::object{{"role", m.role}, {"content", m.content}});
  return json::serialize(a);
}

std::string errorMessage(unsigned status, std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  std::string msg;
  if (!ec && v.is_object()) {
    if (auto* e = v.as_object().if_contains("error"); e && e->is_object()) {
      if (auto* m = e->as_object().if_contains("message"); m && m->is_string()) {
        msg = std::string(m->as_string());
      }
    }
  }
  if (msg.empty()) msg = std::string(body.substr(0, 200));
  return "HTTP " + std::to_string(status) + ": " + msg;
}

// One item of work: a case, a target, a repeat.
struct Item {
  std::shared_ptr<const Case> c;
  std::size_t target = 0;
  int repeat = 0;
};

class Run : public GradeServices {
 public:
  Run(const Suite& suite, EvalStore& store, const RunnerOptions& options, std::string run_id,
      std::vector<Target> targets, http::Origin origin, std::unique_ptr<CaseSource> source,
      std::int64_t total)
      : suite_(suite),
        store_(store),
        options_(options),
        run_id_(std::move(run_id)),
        targets_(std::move(targets)),
        origin_(std::move(origin)),
        source_(std::move(source)),
        client_(http::makeHttpClient(io_.get_executor())),
        pool_(2),
        writer_(store),
        progress_(options.progress ? std::make_unique<ProgressBar>("eval " + suite.name, total,
                                                                     "outputs")
                                   : nullptr) {
    repeats_ = options.repeats > 0 ? options.repeats : suite.repeats;
    concurrency_ = options.concurrency > 0 ? options.concurrency : suite.concurrency;
    timeouts_.connect = std::chrono::milliseconds(10'000);
    timeouts_.first_byte = options.timeout;
    timeouts_.idle = options.timeout;
  }

  Result<RunSummary> run() {
    // First Ctrl-C: take no new work, let the requests in flight finish and be stored (the run
    // is resumable). Second: leave at once; what the writer committed stays.
    asio::signal_set signals(io_, SIGINT, SIGTERM);
    signals.async_wait([this, &signals](const boost::system::error_code& ec, int) {
      if (ec) return;
      stopping_ = true;
      std::fprintf(stderr, "\nstopping after the requests in flight (again to abort)\n");
      signals.async_wait([](const boost::system::error_code& ec2, int) {
        if (!ec2) std::_Exit(130);
      });
    });
    summary_.run_id = run_id_;
    active_ = concurrency_;
    for (int i = 0; i < concurrency_; ++i) {
      asio::co_spawn(io_, worker(), [this, &signals](std::exception_ptr e) {
        if (e && error_.isOk()) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            error_ = Status(ErrorCode::kInternal, std::string("eval worker: ") + ex.what());
          }
        }
        if (--active_ == 0) {
          signals.cancel();
          io_.stop();
        }
      });
    }
    io_.run();
    pool_.join();
    Status w = writer_.close();
    if (progress_ && !stopping_) {
      progress_->done(std::to_string(summary_.outputs) + " outputs, " +
                      std::to_string(summary_.passed) + " passed");
    }
    summary_.interrupted = stopping_;
    if (!error_.isOk()) return fail(error_);
    if (!w.isOk()) return fail(std::move(w));
    return summary_;
  }

  // GradeServices over the same gateway.
  awaitable<Result<std::vector<double>>> embed(std::string model, std::string text) override {
    json::object body{{"model", model}, {"input", text}};
    auto r = co_await post("/embeddings", json::serialize(body));
    if (!r) co_return fail(r.error());
    if (r->status != 200) co_return fail(ErrorCode::kUpstream, errorMessage(r->status, r->body));
    boost::system::error_code ec;
    json::value v = json::parse(r->body, ec);
    std::vector<double> out;
    if (!ec && v.is_object()) {
      const auto* data = v.as_object().if_contains("data");
      if (data && data->is_array() && !data->as_array().empty()) {
        const auto* e = data->as_array()[0].as_object().if_contains("embedding");
        if (e && e->is_array()) {
          for (const auto& x : e->as_array()) out.push_back(x.is_number() ? x.to_number<double>()
                                                                           : 0.0);
        }
      }
    }
    if (out.empty()) co_return fail(ErrorCode::kUpstream, "no embedding in the response");
    co_return out;
  }

  awaitable<Result<std::string>> chat(std::string model, std::vector<Message> messages) override {
    json::object body{{"model", model}, {"temperature", 0}, {"max_tokens", 512}};
    body["messages"] = json::parse(messagesJson(messages));
    auto r = co_await post("/chat/completions", json::serialize(body));
    if (!r) co_return fail(r.error());
    if (r->status != 200) co_return fail(ErrorCode::kUpstream, errorMessage(r->status, r->body));
    Output out;
    if (auto s = parseChatResponse(r->body, out); !s.isOk()) co_return fail(std::move(s));
    co_return out.text;
  }

  awaitable<Result<SandboxResult>> runPython(std::string program) override {
    const SandboxOptions options = options_.sandbox;
    co_return co_await offload([program = std::move(program), options]() {
      return eval::runPython(program, options);
    });
  }

 private:
  template <class F>
  awaitable<std::invoke_result_t<F>> offload(F f) {
    using T = std::invoke_result_t<F>;
    co_return co_await asio::co_spawn(
        pool_.get_executor(), [f = std::move(f)]() -> awaitable<T> { co_return f(); },
        use_awaitable);
  }

  awaitable<Result<http::ClientResponse>> post(std::string_view path, std::string body) {
    http::ClientRequest req;
    req.method = boost::beast::http::verb::post;
    req.target = origin_.base_path + std::string(path);
    req.headers.emplace_back("content-type", "application/json");
    if (!options_.api_key.empty()) {
      req.headers.emplace_back("authorization", "Bearer " + options_.api_key);
    }
    req.body = std::move(body);
    co_return co_await client_->send(origin_, std::move(req), timeouts_);
  }

  // The next (case, target, repeat), or nullopt at the end. Called on the io thread only.
  Result<std::optional<Item>> nextItem() {
    if (current_ && ++repeat_ >= repeats_) {
      repeat_ = 0;
      if (++target_ >= targets_.size()) current_.reset();
    }
    if (!current_) {
      if (options_.limit > 0 && summary_.cases >= options_.limit) return std::optional<Item>();
      auto c = source_->next();
      if (!c) return fail(c.error());
      if (!*c) return std::optional<Item>();
      current_ = std::make_shared<const Case>(std::move(**c));
      target_ = 0;
      repeat_ = 0;
      ++summary_.cases;
    }
    return std::optional<Item>(Item{current_, target_, repeat_});
  }

  awaitable<void> worker() {
    asio::steady_timer timer(io_);
    while (!stopping_ && error_.isOk()) {
      auto item = nextItem();
      if (!item) {
        error_ = item.error();
        break;
      }
      if (!*item) break;
      co_await runItem(**item);
      if (progress_) progress_->set(static_cast<std::uint64_t>(done_));
      // Backpressure: let the writer catch up before taking more work.
      while (writer_.pending() > 4096 && !stopping_) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(use_awaitable);
      }
    }
  }

  awaitable<void> runItem(const Item& item) {
    const Case& c = *item.c;
    const Target& target = targets_[item.target];
    if (!options_.resume_run.empty()) {
      auto have = co_await offload([this, &c, &target, rep = item.repeat]() {
        return store_.hasOutput(run_id_, c.index, target.name, rep);
      });
      if (!have) {
        error_ = have.error();
        co_return;
      }
      if (*have) {
        ++summary_.skipped;
        ++done_;
        co_return;
      }
    }
    const std::string body = requestBody(suite_, c, target);
    const std::string key = sha256Hex(target.model + "\n" + std::to_string(item.repeat) + "\n" +
                                      body);
    ResultRecord rec;
    Output& out = rec.output;
    bool have_response = false;
    if (options_.use_cache) {
      auto hit = co_await offload([this, &key]() { return store_.cacheGet(key); });
      if (hit && *hit) {
        boost::system::error_code ec;
        json::value v = json::parse(**hit, ec);
        if (!ec && v.is_object() && parseChatResponse(v.at("body").as_string(), out).isOk()) {
          out.latency_ms = v.at("latency_ms").to_number<double>();
          out.cost_usd = v.at("cost_usd").to_number<double>();
          if (auto* d = v.as_object().if_contains("deployment"); d && d->is_string()) {
            out.deployment = d->as_string();
          }
          out.cached = true;
          have_response = true;
          ++summary_.cache_hits;
        }
      }
    }
    if (!have_response) {
      const auto start = std::chrono::steady_clock::now();
      auto r = co_await post("/chat/completions", body);
      out.latency_ms = std::chrono::duration<double, std::milli>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      if (!r) {
        out.error = r.error().message();
      } else if (r->status != 200) {
        out.error = errorMessage(r->status, r->body);
      } else if (auto s = parseChatResponse(r->body, out); !s.isOk()) {
        out.error = s.message();
      } else {
        const std::string_view provider = r->header("x-switchyard-provider");
        const std::string_view model = r->header("x-switchyard-model");
        if (!provider.empty() && !model.empty()) {
          out.deployment = std::string(provider) + "/" + std::string(model);
        }
        const std::string_view cost = r->header("x-switchyard-cost-usd");
        if (!cost.empty()) {
          out.cost_usd = std::atof(std::string(cost).c_str());
        } else if (target.input_per_1m == 0 && target.output_per_1m == 0 && options_.price &&
                   !provider.empty()) {
          out.cost_usd = options_.price(provider, model, out.prompt_tokens, out.completion_tokens);
        } else {
          out.cost_usd = (static_cast<double>(out.prompt_tokens) * target.input_per_1m +
                          static_cast<double>(out.completion_tokens) * target.output_per_1m) /
                         1e6;
        }
        if (options_.use_cache) {
          rec.cache_key = key;
          rec.cache_value = json::serialize(json::object{
              {"body", r->body}, {"latency_ms", out.latency_ms}, {"cost_usd", out.cost_usd},
              {"deployment", out.deployment}});
        }
      }
    }
    double total_weight = 0, passed_weight = 0;
    for (const auto& spec : c.asserts) {
      AssertionResult a = co_await grade(spec, c, out, *this, options_.grade);
      total_weight += spec.weight;
      if (a.passed) passed_weight += spec.weight;
      rec.assertions.push_back({spec.type, a.passed, a.score, spec.weight, std::move(a.reason)});
    }
    rec.score = total_weight > 0 ? passed_weight / total_weight : 0;
    rec.passed = rec.score + 1e-9 >= suite_.pass_threshold;
    rec.run_id = run_id_;
    rec.case_idx = c.index;
    rec.case_id = c.id;
    rec.category = c.category;
    for (const auto& t : c.tags) rec.tags += (rec.tags.empty() ? "" : ",") + t;
    rec.task_type = taskType(c);
    rec.input = messagesJson(c.messages);
    rec.target = target.name;
    rec.repeat = item.repeat;
    ++summary_.outputs;
    if (rec.passed) ++summary_.passed;
    ++done_;
    writer_.push(std::move(rec));
  }

  std::string taskType(const Case& c) const {
    if (suite_.task_type == "category") return c.category.empty() ? "general" : c.category;
    const std::string prefix = suite_.task_type.substr(4);
    for (const auto& t : c.tags) {
      if (t.starts_with(prefix)) return t.substr(prefix.size());
    }
    return "general";
  }

  const Suite& suite_;
  EvalStore& store_;
  const RunnerOptions& options_;
  std::string run_id_;
  std::vector<Target> targets_;
  http::Origin origin_;
  std::unique_ptr<CaseSource> source_;
  asio::io_context io_{1};
  std::unique_ptr<http::HttpClient> client_;
  asio::thread_pool pool_;
  ResultWriter writer_;
  std::unique_ptr<ProgressBar> progress_;
  http::Timeouts timeouts_;
  int repeats_ = 1;
  int concurrency_ = 1;
  int active_ = 0;
  bool stopping_ = false;
  Status error_;
  RunSummary summary_;
  std::int64_t done_ = 0;
  std::shared_ptr<const Case> current_;
  std::size_t target_ = 0;
  int repeat_ = 0;
};

}  // namespace

std::string newRunId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  const std::string t = nowIso8601();  // 2026-11-26T08:19:44.123Z
  std::string id;
  for (char ch : t.substr(0, 19)) {
    if (std::isdigit(static_cast<unsigned char>(ch))) id += ch;
    if (id.size() == 8 && ch == 'T') id += '-';
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "%06x", static_cast<unsigned>(rng() & 0xffffff));
  return id + "-" + hex;
}

std::string requestBody(const Suite& suite, const Case& c, const Target& target) {
  json::object body = suite.request;
  body["model"] = target.model;
  body["messages"] = json::parse(messagesJson(c.messages));
  if (!c.tools.is_null()) body["tools"] = c.tools;
  if (!c.response_format.is_null()) body["response_format"] = c.response_format;
  body["stream"] = false;
  return json::serialize(body);
}

Status parseChatResponse(std::string_view body, Output& out) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Status(ErrorCode::kUpstream, "the response is not a JSON object");
  }
  const auto& o = v.as_object();
  const auto* choices = o.if_contains("choices");
  if (!choices || !choices->is_array() || choices->as_array().empty() ||
      !choices->as_array()[0].is_object()) {
    return Status(ErrorCode::kUpstream, "the response has no choices");
  }
  const auto* message = choices->as_array()[0].as_object().if_contains("message");
  if (message && message->is_object()) {
    const auto& m = message->as_object();
    if (auto* c = m.if_contains("content"); c && c->is_string()) out.text = c->as_string();
    if (auto* calls = m.if_contains("tool_calls"); calls && calls->is_array()) {
      for (const auto& call : calls->as_array()) {
        if (!call.is_object()) continue;
        const auto* fn = call.as_object().if_contains("function");
        if (!fn || !fn->is_object()) continue;
        ToolCall t;
        if (auto* n = fn->as_object().if_contains("name"); n && n->is_string()) {
          t.name = n->as_string();
        }
        if (auto* a = fn->as_object().if_contains("arguments")) {
          t.arguments = a->is_string() ? std::string(a->as_string()) : json::serialize(*a);
        }
        out.tool_calls.push_back(std::move(t));
      }
    }
  }
  if (const auto* usage = o.if_contains("usage"); usage && usage->is_object()) {
    const auto& u = usage->as_object();
    // Counts that are not integers an int64 holds (7.5, 1e300) count as absent; the throwing
    // to_number<std::int64_t>() would end the run.
    boost::system::error_code ec;
    if (auto* p = u.if_contains("prompt_tokens"); p && p->is_number()) {
      if (const auto n = p->to_number<std::int64_t>(ec); !ec) out.prompt_tokens = n;
    }
    if (auto* p = u.if_contains("completion_tokens"); p && p->is_number()) {
      if (const auto n = p->to_number<std::int64_t>(ec); !ec) out.completion_tokens = n;
    }
  }
  return Status::ok();
}

Result<RunSummary> runSuite(const Suite& suite, EvalStore& store, const RunnerOptions& options) {
  std::string url = options.gateway_url;
  while (url.ends_with("/")) url.pop_back();
  auto origin = http::Origin::parse(url);
  if (!origin) return fail(origin.error());
  if (origin->base_path.empty()) origin->base_path = "/v1";

  std::vector<Target> targets;
  for (const auto& t : suite.targets) {
    if (options.targets.empty() ||
        std::find(options.targets.begin(), options.targets.end(), t.name) !=
            options.targets.end()) {
      targets.push_back(t);
    }
  }
  for (const auto& name : options.targets) {
    if (std::none_of(suite.targets.begin(), suite.targets.end(),
                     [&](const Target& t) { return t.name == name; })) {
      return fail(ErrorCode::kInvalidArgument, "--target " + name + ": not a target of the suite");
    }
  }
  auto source = CaseSource::open(suite);
  if (!source) return fail(source.error());

  std::int64_t cases = countCases(suite);
  if (options.limit > 0 && cases > options.limit) cases = options.limit;
  const int repeats = options.repeats > 0 ? options.repeats : suite.repeats;

  std::string run_id = options.resume_run;
  if (run_id.empty()) {
    run_id = newRunId();
    json::array tj;
    for (const auto& t : targets) tj.push_back(json::object{{"name", t.name}, {"model", t.model}});
    json::object opts{{"repeats", repeats},
                      {"pass_threshold", suite.pass_threshold},
                      {"task_type", suite.task_type},
                      {"max_regressions", suite.max_regressions},
                      {"min_pass_rate", suite.min_pass_rate},
                      {"gateway", options.gateway_label.empty() ? url : options.gateway_label},
                      {"limit", options.limit},
                      {"concurrency", options.concurrency},
                      {"cache", options.use_cache}};
    RunInfo info;
    info.id = run_id;
    info.suite = suite.name;
    std::error_code ec;
    info.suite_path = std::filesystem::absolute(suite.path, ec).string();
    info.started_at = nowIso8601();
    info.status = "running";
    info.targets = json::serialize(tj);
    info.options = json::serialize(opts);
    info.baseline = options.baseline;
    info.cases_total = cases;
    if (auto s = store.createRun(info); !s.isOk()) return fail(std::move(s));
  } else {
    if (auto s = store.finishRun(run_id, "running"); !s.isOk()) return fail(std::move(s));
  }
  const std::int64_t total = cases < 0 ? 0 : cases * static_cast<std::int64_t>(targets.size()) *
                                                  repeats;
  Run run(suite, store, options, run_id, std::move(targets), std::move(*origin),
          std::move(*source), total);
  auto summary = run.run();
  const char* status = !summary ? "failed" : summary->interrupted ? "interrupted" : "done";
  (void)store.finishRun(run_id, status);
  if (summary && cases < 0) (void)store.setCasesTotal(run_id, summary->cases);
  return summary;
}

}  // namespace switchyard::eval
