#include "switchyard/guard/guard_stage.h"

#include <algorithm>
#include <optional>
#include <vector>

#include <boost/json.hpp>

#include "switchyard/guard/redact.h"
#include "switchyard/guard/stream_scanner.h"
#include "switchyard/telemetry/metrics.h"

namespace switchyard::guard {
namespace {

Category parseCategory(std::string_view name) {
  if (name == "pii") return Category::kPii;
  if (name == "secret") return Category::kSecret;
  return Category::kCustom;
}

// Restores masked placeholders in the answer and, when the request's policy acts on a type the
// output detector finds, first redacts those entities as [TYPE] (untyped, so they can never
// collide with a placeholder the vault restores). One scanner and restorer per choice. Holds
// the settings the request started with, so a reload never changes an answer mid-way.
class GuardOutputFilter final : public pipeline::OutputFilter {
 public:
  GuardOutputFilter(GuardStage::SettingsPtr settings, Policies::Layers layers, bool scan)
      : settings_(std::move(settings)), layers_(std::move(layers)), scan_(scan) {}

  Vault& vault() { return vault_; }

  std::string write(int choice, std::string_view text) override {
    State& s = state(choice);
    if (!s.scanner) return s.restorer.push(text);
    return s.restorer.push(s.scanner->push(text).text);
  }

  std::string flush(int choice) override {
    State& s = state(choice);
    std::string out;
    if (s.scanner) out = s.restorer.push(s.scanner->finish().text);
    out += s.restorer.finish();
    return out;
  }

 private:
  struct State {
    explicit State(Vault& vault) : restorer(vault) {}
    std::optional<StreamScanner> scanner;
    StreamRestorer restorer;
  };

  State& state(int choice);

  GuardStage::SettingsPtr settings_;
  Policies::Layers layers_;  // point into settings_->config
  bool scan_;
  Vault vault_;  // declared before states_: restorers refer to it
  std::map<int, State> states_;
};

// One text of the request the guard may rewrite, and where it is (for block messages).
struct Field {
  std::string* text;
  std::string where;
};

void collectChat(api::ChatRequest& chat, std::vector<Field>& out) {
  for (std::size_t i = 0; i < chat.messages.size(); ++i) {
    api::Message& m = chat.messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    for (api::ContentPart& part : m.content) {
      if (!part.text.empty()) out.push_back({&part.text, at});
    }
    for (api::ToolCall& call : m.tool_calls) {
      if (!call.arguments.empty()) out.push_back({&call.arguments, at + ".tool_calls"});
    }
    if (!m.reasoning_content.empty()) out.push_back({&m.reasoning_content, at});
    if (m.refusal && !m.refusal->empty()) out.push_back({&*m.refusal, at});
  }
}

// Completion prompts are JSON (a string or a list of strings; token arrays are not text).
void collectPrompt(boost::json::value& prompt, std::vector<std::string>& storage) {
  if (prompt.is_string()) {
    storage.emplace_back(prompt.as_string());
  } else if (prompt.is_array()) {
    for (auto& item : prompt.as_array()) {
      if (item.is_string()) storage.emplace_back(item.as_string());
    }
  }
}

void writePrompt(boost::json::value& prompt, const std::vector<std::string>& storage) {
  std::size_t i = 0;
  if (prompt.is_string()) {
    prompt = boost::json::string(storage[0]);
  } else if (prompt.is_array()) {
    for (auto& item : prompt.as_array()) {
      if (item.is_string()) item = boost::json::string(storage[i++]);
    }
  }
}

}  // namespace

// One finding in field `field` of a request, and the action its policy takes.
struct GuardStage::Hit {
  std::size_t field;
  Finding finding;
  Action action;
};

DetectorOptions detectorOptions(const config::GuardConfig& config) {
  DetectorOptions o;
  o.entities = config.entities;
  o.entropy_threshold = config.entropy_threshold;
  o.generic_min_length = config.generic_min_length;
  for (const auto& d : config.detectors) {
    if (!d.terms.empty()) {
      o.deny_lists.push_back({d.name, d.terms, parseCategory(d.category)});
    } else {
      o.regexes.push_back({d.name, d.regex, d.validator, parseCategory(d.category),
                           d.case_insensitive, d.group});
    }
  }
  o.allow_values = config.allow_values;
  o.allow_patterns = config.allow_patterns;
  return o;
}

struct GuardStage::Settings {
  explicit Settings(const config::GuardConfig& c) : config(c), policies(config) {}
  Settings(const Settings&) = delete;
  Settings& operator=(const Settings&) = delete;

  config::GuardConfig config;
  Policies policies;            // refers to config
  DetectorPtr detector;         // null: the guard is disabled
  DetectorPtr output_detector;  // null: answers are not scanned
  // What output_detector finds: a request's answer is scanned only when its policy acts on one.
  std::vector<std::pair<std::string, Category>> output_types;
};

namespace {

Result<GuardStage::SettingsPtr> buildSettings(const config::GuardConfig& config) {
  auto settings = std::make_shared<GuardStage::Settings>(config);
  if (!config.enabled) return GuardStage::SettingsPtr(std::move(settings));
  DetectorOptions options = detectorOptions(config);
  auto detector = Detector::create(options);
  if (!detector) return fail(std::move(detector.error()));
  settings->detector = std::move(*detector);
  if (config.scan_output) {
    // The answer is scanned for the types some policy layer (base, route, key or team) acts on;
    // each request then redacts only those its own layers act on.
    std::vector<const config::GuardPolicy*> layers{&config.policy};
    for (const auto* by_name : {&config.routes, &config.keys, &config.teams}) {
      for (const auto& [name, policy] : *by_name) layers.push_back(&policy);
    }
    auto acted = [&](std::string_view type, Category category) {
      return std::any_of(layers.begin(), layers.end(), [&](const config::GuardPolicy* layer) {
        return Policies::actionFor(Policies::Layers{{layer}}, type, category) != Action::kAllow;
      });
    };
    DetectorOptions out = options;
    out.entities.clear();
    const auto& all = options.entities.empty() ? builtinEntityTypes()
                                               : std::vector<std::string_view>(
                                                     options.entities.begin(),
                                                     options.entities.end());
    for (std::string_view type : all) {
      if (acted(type, builtinCategory(type))) {
        out.entities.emplace_back(type);
        settings->output_types.emplace_back(type, builtinCategory(type));
      }
    }
    out.builtins = !out.entities.empty();
    std::erase_if(out.regexes,
                  [&](const CustomRegexOptions& r) { return !acted(r.name, r.category); });
    std::erase_if(out.deny_lists,
                  [&](const DenyListOptions& d) { return !acted(d.name, d.category); });
    for (const auto& r : out.regexes) settings->output_types.emplace_back(r.name, r.category);
    for (const auto& d : out.deny_lists) settings->output_types.emplace_back(d.name, d.category);
    if (out.builtins || !out.regexes.empty() || !out.deny_lists.empty()) {
      auto made = Detector::create(out);
      if (!made) return fail(std::move(made.error()));
      settings->output_detector = std::move(*made);
    }
  }
  return GuardStage::SettingsPtr(std::move(settings));
}

}  // namespace

GuardOutputFilter::State& GuardOutputFilter::state(int choice) {
  auto it = states_.find(choice);
  if (it == states_.end()) {
    it = states_.try_emplace(choice, vault_).first;
    if (scan_) {
      StreamScanOptions options;
      options.style = Style::kType;
      options.keep = [this](const Finding& f) {
        return Policies::actionFor(layers_, f.type, f.category) != Action::kAllow;
      };
      it->second.scanner.emplace(*settings_->output_detector, nullptr, std::move(options));
    }
  }
  return it->second;
}

Result<std::unique_ptr<GuardStage>> GuardStage::create(const config::GuardConfig& config,
                                                       audit::AuditLog* audit) {
  auto settings = buildSettings(config);
  if (!settings) return fail(std::move(settings.error()));
  return std::unique_ptr<GuardStage>(new GuardStage(std::move(*settings), audit));
}

GuardStage::GuardStage(SettingsPtr settings, audit::AuditLog* audit)
    : settings_(std::move(settings)), audit_(audit) {}

Status GuardStage::reload(const config::GuardConfig& config) {
  auto settings = buildSettings(config);
  if (!settings) return std::move(settings.error());
  settings_.store(std::move(*settings));
  return Status::ok();
}

const Detector* GuardStage::detector() const { return settings_.load()->detector.get(); }

boost::asio::awaitable<pipeline::Verdict> GuardStage::admit(pipeline::StageInput& in) {
  co_return check(in);
}

// One request's guard state: its policy layers, the placeholder numbering of its redactions and
// masks (the mask vault lives in the output filter, which restores the values in the answer),
// and the scanner for text later stages add (ctx.content_guard).
class GuardStage::RequestGuard final : public pipeline::ContentGuard {
 public:
  RequestGuard(const GuardStage& stage, SettingsPtr settings, Policies::Layers layers,
               bool output_scan)
      : stage_(stage),
        settings_(std::move(settings)),
        layers_(std::move(layers)),
        output_scan_(output_scan) {}

  const Policies::Layers& layers() const { return layers_; }

  // Counts and audits `hits` (found in `source`), sets local_only, rewrites the texts hit by
  // redact and mask. Returns the first block hit, if any (nothing is rewritten then).
  const Hit* act(pipeline::RequestContext& ctx, std::span<Field> fields,
                 std::span<const Hit> hits, std::string_view source) {
    const Hit* blocked = stage_.record(ctx, hits, source);
    if (blocked != nullptr) return blocked;
    for (std::size_t i = 0; i < fields.size(); ++i) rewrite(ctx, *fields[i].text, i, hits);
    return nullptr;
  }

  // The answer's filter: restores masked values and redacts what the output scan finds. Null
  // while neither is needed.
  std::shared_ptr<GuardOutputFilter> filter() {
    if (!filter_ && output_scan_) {
      filter_ = std::make_shared<GuardOutputFilter>(settings_, layers_, true);
    }
    return filter_;
  }

  std::vector<bool> scan(pipeline::RequestContext& ctx, std::span<std::string> texts,
                         std::string_view source) override {
    std::vector<bool> withheld(texts.size(), false);
    std::vector<Field> fields;
    std::vector<Hit> hits;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      fields.push_back({&texts[i], {}});  // `where` names fields in block errors: none here
      for (Finding& f : settings_->detector->scan(texts[i])) {
        const Action action = Policies::actionFor(layers_, f.type, f.category);
        hits.push_back({i, std::move(f), action});
      }
    }
    if (hits.empty()) return withheld;
    stage_.record(ctx, hits, source);
    for (const Hit& h : hits) {
      if (h.action == Action::kBlock) withheld[h.field] = true;
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (!withheld[i]) rewrite(ctx, *fields[i].text, i, hits);
    }
    if (filter_ && ctx.output_filter != filter_) ctx.output_filter = filter_;
    return withheld;
  }

 private:
  void rewrite(pipeline::RequestContext& ctx, std::string& text, std::size_t field,
               std::span<const Hit> hits) {
    std::string out;
    std::size_t pos = 0;
    bool changed = false;
    for (const Hit& h : hits) {
      if (h.field != field) continue;
      if (h.action == Action::kLocalOnly) {
        if (!ctx.local_only) {
          ctx.local_only = true;
          ctx.local_only_reason = "guard: " + h.finding.type;
        }
        continue;
      }
      if (h.action != Action::kRedact && h.action != Action::kMask) continue;
      if (!changed) out.reserve(text.size());
      changed = true;
      const std::string_view value = std::string_view(text).substr(h.finding.begin, h.finding.size());
      out.append(text, pos, h.finding.begin - pos);
      if (h.action == Action::kMask) {
        if (!filter_) filter_ = std::make_shared<GuardOutputFilter>(settings_, layers_, output_scan_);
        out += filter_->vault().placeholder(h.finding.type, value);
      } else {
        out += redacted_.placeholder(h.finding.type, value);
      }
      pos = h.finding.end;
    }
    if (changed) {
      out.append(text, pos);
      text = std::move(out);
    }
  }

  const GuardStage& stage_;
  SettingsPtr settings_;
  Policies::Layers layers_;  // point into settings_->config
  bool output_scan_;
  Vault redacted_;  // numbering for plain redaction: never restored
  std::shared_ptr<GuardOutputFilter> filter_;
};

const GuardStage::Hit* GuardStage::record(pipeline::RequestContext& ctx,
                                          std::span<const Hit> hits,
                                          std::string_view source) const {
  if (hits.empty()) return nullptr;
  // Per type: how many, and the severest action.
  std::map<std::string, std::pair<int, Action>> by_type;
  const Hit* blocked = nullptr;
  for (const Hit& h : hits) {
    auto& [count, action] = by_type[h.finding.type];
    ++count;
    action = std::max(action, h.action);
    if (h.action == Action::kBlock && blocked == nullptr) blocked = &h;
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [type, ca] : by_type) counts_[type][static_cast<int>(ca.second)] += ca.first;
  }
  // Entity types are the detectors' (built-in and configured): a bounded label set.
  static telemetry::CounterFamily& interventions = telemetry::Registry::global().counter(
      "switchyard_guard_interventions_total",
      "Entities the guard found in requests, by entity type and the action taken.",
      {"entity_type", "action"});
  for (const auto& [type, ca] : by_type) {
    interventions.with({type, actionName(ca.second)}).inc(ca.first);
  }
  // The summary (request log, x-switchyard-guard) names where a finding was when it was not
  // in the client's request: "rag:handbook:EMAIL:redact:1".
  const bool added = source != kRequestSource;
  for (const auto& [type, ca] : by_type) {
    if (!ctx.guard_summary.empty()) ctx.guard_summary += ',';
    if (added) ctx.guard_summary.append(source).append(":");
    ctx.guard_summary += type + ":" + std::string(actionName(ca.second)) + ":" +
                         std::to_string(ca.first);
    if (audit_ != nullptr && ca.second != Action::kAllow) {
      std::string detail = "count=" + std::to_string(ca.first) + " key=" + ctx.key_id;
      if (added) detail.append(" in=").append(source);
      audit_->append({0, 0, "guard", "guard." + std::string(actionName(ca.second)), type,
                      std::move(detail), ctx.request_id});
    }
  }
  auto header = std::find_if(ctx.response_headers.begin(), ctx.response_headers.end(),
                             [](const auto& h) { return h.first == "x-switchyard-guard"; });
  if (header != ctx.response_headers.end()) {
    header->second = ctx.guard_summary;
  } else {
    ctx.response_headers.emplace_back("x-switchyard-guard", ctx.guard_summary);
  }
  return blocked;
}

pipeline::Verdict GuardStage::check(pipeline::StageInput& in) const {
  const SettingsPtr settings = settings_.load();
  if (!settings->detector) return Status::ok();  // no `guard:` section
  pipeline::RequestContext& ctx = in.ctx;
  std::vector<Field> fields;
  std::vector<std::string> prompt_texts;  // completion prompts, written back afterwards
  std::string_view model;
  if (in.chat != nullptr) {
    model = in.chat->model;
    collectChat(*in.chat, fields);
  } else if (in.completion != nullptr) {
    model = in.completion->model;
    collectPrompt(in.completion->prompt, prompt_texts);
    for (std::size_t i = 0; i < prompt_texts.size(); ++i) {
      fields.push_back({&prompt_texts[i], "prompt"});
    }
  } else if (in.embedding != nullptr) {
    model = in.embedding->model;
    for (std::size_t i = 0; i < in.embedding->texts.size(); ++i) {
      fields.push_back({&in.embedding->texts[i], "input[" + std::to_string(i) + "]"});
    }
  }

  Policies::Layers layers = settings->policies.layersFor(ctx.key_name, model, ctx.team);
  std::vector<Hit> hits;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    for (Finding& f : settings->detector->scan(*fields[i].text)) {
      const Action action = Policies::actionFor(layers, f.type, f.category);
      hits.push_back({i, std::move(f), action});
    }
  }
  // The answer is scanned when this request's own policy acts on a type the output finds.
  const bool output_scan =
      settings->output_detector != nullptr && in.embedding == nullptr &&
      std::any_of(settings->output_types.begin(), settings->output_types.end(),
                  [&](const auto& t) {
                    return Policies::actionFor(layers, t.first, t.second) != Action::kAllow;
                  });
  // Only chat requests take added content (RAG injects into chats).
  const bool content_guard = guards_added_content_ && in.chat != nullptr;
  if (hits.empty() && !output_scan && !content_guard) return Status::ok();

  auto guard = std::make_shared<RequestGuard>(*this, settings, std::move(layers), output_scan);
  if (const Hit* blocked = guard->act(ctx, fields, hits, kRequestSource)) {
    const bool secret = blocked->finding.category == Category::kSecret;
    return Status(ErrorCode::kInvalidArgument,
                  "Request blocked by the gateway's guard policy: " + fields[blocked->field].where +
                      " contains " + (secret ? "a secret" : "personal data") + " of type " +
                      blocked->finding.type +
                      ". Remove it, or ask an administrator to change the guard policy.")
        .withParam(fields[blocked->field].where)
        .withErrorType(secret ? "secret_blocked" : "pii_blocked");
  }
  if (!prompt_texts.empty() && in.completion != nullptr) {
    writePrompt(in.completion->prompt, prompt_texts);
  }
  if (auto filter = guard->filter()) ctx.output_filter = std::move(filter);
  if (content_guard) ctx.content_guard = std::move(guard);
  return Status::ok();
}

GuardCounts GuardStage::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

}  // namespace switchyard::guard
