#pragma once
// A small Prometheus metrics registry: labelled counters, gauges and histograms, plus gauges
// read at scrape time (callbacks), rendered in the text exposition format 0.0.4.
//
//   auto& requests = Registry::global().counter("switchyard_breaker_trips_total",
//                                               "Circuit breaker trips.", {"provider"});
//   requests.with({"openai"}).inc();
//
// Families are created once (usually at start-up; creating an existing name again returns it)
// and live as long as the registry. with() finds or creates a child series; the pointer it
// returns stays valid, so hot paths may keep it. Updates are lock-free atomics; with() takes one
// of 16 shard locks, picked by the label values' hash, so threads touching different series
// rarely meet. Thread-safe throughout.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchyard::telemetry {

class Counter {
 public:
  void inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  void observe(double v);
  // Snapshot: per-bucket (not cumulative) counts, the last being +Inf; sum; count.
  std::vector<std::uint64_t> bucketCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> bounds_;  // owned by the family
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// One named metric with fixed label names; children by label values.
template <typename T>
class Family {
 public:
  // The series for these label values (as many as the family has label names).
  T& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  T& with(std::span<const std::string_view> values);
  const std::string& name() const { return name_; }

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::unique_ptr<T>, Hash, std::equal_to<>> children;
  };
  static constexpr std::size_t kShards = 16;

  std::string name_;
  std::string help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;  // histograms
  Shard shards_[kShards];

  // (label values joined by \x1f, child) for every series, sorted by key.
  std::vector<std::pair<std::string, const T*>> snapshot();
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// A sample a callback reports at scrape time.
struct Sample {
  std::vector<std::string> label_values;
  double value = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry that GET /metrics serves.
  static Registry& global();

  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, labels [a-zA-Z_][a-zA-Z0-9_]* (not "le" for
  // histograms); asking again for an existing name with the same type and labels returns it.
  CounterFamily& counter(std::string_view name, std::string_view help,
                         std::vector<std::string> labels = {});
  GaugeFamily& gauge(std::string_view name, std::string_view help,
                     std::vector<std::string> labels = {});
  // `bounds`: ascending bucket upper bounds (+Inf is implicit).
  HistogramFamily& histogram(std::string_view name, std::string_view help,
                             std::vector<std::string> labels, std::vector<double> bounds);

  // A counter or gauge family whose samples `read` reports when scraped (engine queue depth,
  // breaker states, ...). Removed when the returned handle is destroyed; `read` must not call
  // back into the registry. Several callbacks may feed one family (one per gateway, provider or
  // engine; same type and labels): their samples are merged, and where two report the same
  // label values the one registered last wins (a provider rebuilt by a reload replaces the one
  // still draining requests).
  class CallbackHandle {
   public:
    CallbackHandle() = default;
    CallbackHandle(CallbackHandle&& other) noexcept { *this = std::move(other); }
    CallbackHandle& operator=(CallbackHandle&& other) noexcept;
    ~CallbackHandle();

   private:
    friend class Registry;
    CallbackHandle(Registry* registry, std::uint64_t id) : registry_(registry), id_(id) {}
    Registry* registry_ = nullptr;
    std::uint64_t id_ = 0;
  };
  [[nodiscard]] CallbackHandle callback(std::string_view name, std::string_view help,
                                        MetricType type, std::vector<std::string> labels,
                                        std::function<std::vector<Sample>()> read);

  // Every metric in the text exposition format 0.0.4, families sorted by name.
  std::string render() const;

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry;
  Entry& add(std::string_view name, std::string_view help, MetricType type,
             const std::vector<std::string>& labels);
  void removeCallback(std::uint64_t id);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
  std::uint64_t next_callback_ = 1;
};

// Bucket bounds in seconds for request latencies (1 ms .. 60 s) and gateway overhead
// (10 µs .. 100 ms).
std::vector<double> latencyBuckets();
std::vector<double> overheadBuckets();

}  // namespace switchyard::telemetry
