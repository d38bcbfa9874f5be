#include "switchyard/telemetry/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>
#include <variant>

#include "switchyard/core/check.h"

namespace switchyard::telemetry {
namespace {

constexpr char kSep = '\x1f';

bool validName(std::string_view name, bool colon_ok) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                       (colon_ok && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void appendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

void appendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"` (no closing brace) from names and \x1f-joined values; "" when no labels.
void appendLabels(std::string& out, const std::vector<std::string>& names, std::string_view key,
                  bool close) {
  if (names.empty()) return;
  out += '{';
  std::size_t start = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::size_t end = key.find(kSep, start);
    if (end == std::string_view::npos) end = key.size();
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    appendEscaped(out, key.substr(start, end - start), true);
    out += '"';
    start = end + 1;
  }
  if (close) out += '}';
}

std::string joinKey(std::span<const std::string_view> values) {
  std::string key;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) key += kSep;
    key += values[i];
  }
  return key;
}

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);  // first bound >= v
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucketCounts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

template <typename T>
T& Family<T>::with(std::span<const std::string_view> values) {
  SY_CHECK(values.size() == labels_.size());
  // Join into a per-thread buffer: no allocation once the series exists.
  thread_local std::string key;
  key.clear();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) key += kSep;
    key += values[i];
  }
  Shard& shard = shards_[Hash{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.children.find(std::string_view(key));
  if (it != shard.children.end()) return *it->second;
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T& ref = *child;
  shard.children.emplace(key, std::move(child));
  return ref;
}

template <typename T>
std::vector<std::pair<std::string, const T*>> Family<T>::snapshot() {
  std::vector<std::pair<std::string, const T*>> out;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [key, child] : shard.children) out.emplace_back(key, child.get());
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  MetricType type;
  std::string name;
  std::string help;
  std::vector<std::string> labels;
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
  // Callback families: (id, read) in registration order.
  std::vector<std::pair<std::uint64_t, std::function<std::vector<Sample>()>>> reads;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry& Registry::global() {
  static Registry* registry = new Registry();  // never destroyed: outlives every module
  return *registry;
}

Registry::Entry& Registry::add(std::string_view name, std::string_view help, MetricType type,
                               const std::vector<std::string>& labels) {
  SY_CHECK(validName(name, true));
  for (const std::string& label : labels) {
    SY_CHECK(validName(label, false) && !label.starts_with("__"));
    SY_CHECK(type != MetricType::kHistogram || label != "le");
  }
  auto it = entries_.find(name);
  if (it != entries_.end()) {
    SY_CHECK(it->second->type == type && it->second->labels == labels &&
             it->second->reads.empty());
    return *it->second;
  }
  auto entry = std::make_unique<Entry>();
  entry->type = type;
  entry->name = std::string(name);
  entry->help = std::string(help);
  entry->labels = labels;
  Entry& ref = *entry;
  entries_.emplace(std::string(name), std::move(entry));
  return ref;
}

CounterFamily& Registry::counter(std::string_view name, std::string_view help,
                                 std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  Entry& e = add(name, help, MetricType::kCounter, labels);
  if (!e.counter) {
    e.counter.reset(new CounterFamily(std::string(name), std::string(help), std::move(labels)));
  }
  return *e.counter;
}

GaugeFamily& Registry::gauge(std::string_view name, std::string_view help,
                             std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  Entry& e = add(name, help, MetricType::kGauge, labels);
  if (!e.gauge) {
    e.gauge.reset(new GaugeFamily(std::string(name), std::string(help), std::move(labels)));
  }
  return *e.gauge;
}

HistogramFamily& Registry::histogram(std::string_view name, std::string_view help,
                                     std::vector<std::string> labels, std::vector<double> bounds) {
  SY_CHECK(std::is_sorted(bounds.begin(), bounds.end()) &&
           std::adjacent_find(bounds.begin(), bounds.end()) == bounds.end());
  std::lock_guard lock(mu_);
  Entry& e = add(name, help, MetricType::kHistogram, labels);
  if (!e.histogram) {
    e.histogram.reset(new HistogramFamily(std::string(name), std::string(help),
                                          std::move(labels), std::move(bounds)));
  }
  return *e.histogram;
}

Registry::CallbackHandle Registry::callback(std::string_view name, std::string_view help,
                                            MetricType type, std::vector<std::string> labels,
                                            std::function<std::vector<Sample>()> read) {
  SY_CHECK(type != MetricType::kHistogram);
  std::lock_guard lock(mu_);
  Entry* e = nullptr;
  if (auto it = entries_.find(name); it != entries_.end()) {
    // Another feed of an existing callback family.
    SY_CHECK(!it->second->reads.empty() && it->second->type == type &&
             it->second->labels == labels);
    e = it->second.get();
  } else {
    e = &add(name, help, type, labels);
  }
  const std::uint64_t id = next_callback_++;
  e->reads.emplace_back(id, std::move(read));
  return CallbackHandle(this, id);
}

void Registry::removeCallback(std::uint64_t id) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    auto& reads = it->second->reads;
    auto found = std::find_if(reads.begin(), reads.end(),
                              [&](const auto& r) { return r.first == id; });
    if (found == reads.end()) continue;
    reads.erase(found);
    if (reads.empty()) entries_.erase(it);
    return;
  }
}

Registry::CallbackHandle& Registry::CallbackHandle::operator=(CallbackHandle&& other) noexcept {
  if (this != &other) {
    if (registry_ != nullptr) registry_->removeCallback(id_);
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

Registry::CallbackHandle::~CallbackHandle() {
  if (registry_ != nullptr) registry_->removeCallback(id_);
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(4096);
  for (const auto& [name, e] : entries_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    appendEscaped(out, e->help, false);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += typeName(e->type);
    out += '\n';
    auto line = [&](std::string_view suffix, std::string_view key, double value) {
      out += name;
      out += suffix;
      appendLabels(out, e->labels, key, true);
      out += ' ';
      appendNumber(out, value);
      out += '\n';
    };
    if (e->counter) {
      for (const auto& [key, c] : e->counter->snapshot()) line("", key, c->value());
    } else if (e->gauge) {
      for (const auto& [key, g] : e->gauge->snapshot()) line("", key, g->value());
    } else if (e->histogram) {
      const std::vector<double>& bounds = e->histogram->bounds_;
      for (const auto& [key, h] : e->histogram->snapshot()) {
        const auto counts = h->bucketCounts();
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          out += name;
          out += "_bucket";
          if (e->labels.empty()) {
            out += '{';
          } else {
            appendLabels(out, e->labels, key, false);
            out += ',';
          }
          out += "le=\"";
          appendNumber(out, i < bounds.size() ? bounds[i] : INFINITY);
          out += "\"} ";
          out += std::to_string(cumulative);
          out += '\n';
        }
        // _count equals the +Inf bucket even if an observation lands between the two reads.
        line("_sum", key, h->sum());
        line("_count", key, static_cast<double>(cumulative));
      }
    } else if (!e->reads.empty()) {
      // Newest feed first; a stable sort keeps it ahead of older ones with the same labels.
      std::vector<Sample> samples;
      for (auto r = e->reads.rbegin(); r != e->reads.rend(); ++r) {
        for (Sample& s : r->second()) {
          if (s.label_values.size() == e->labels.size()) samples.push_back(std::move(s));
        }
      }
      std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
        return a.label_values < b.label_values;
      });
      for (std::size_t i = 0; i < samples.size(); ++i) {
        if (i > 0 && samples[i].label_values == samples[i - 1].label_values) continue;
        std::vector<std::string_view> views(samples[i].label_values.begin(),
                                            samples[i].label_values.end());
        line("", joinKey(views), samples[i].value);
      }
    }
  }
  return out;
}

std::vector<double> latencyBuckets() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> overheadBuckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025, 0.1};
}

}  // namespace switchyard::telemetry
