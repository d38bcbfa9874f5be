#pragma once
// RequestLog: the request log, model-version changelog and feedback tables, written to the
// store (SQLite or PostgreSQL) by one background writer thread in batches. Producers (the
// log-phase observer, the feedback endpoint) only append to a bounded in-memory queue: when it
// is full the row is dropped and counted (switchyard_request_log_dropped_total), never waited
// for. Each batch is one transaction, so a crash loses at most the batch in flight; the
// destructor writes every queued row before it returns (graceful shutdown loses none).
// Retention: rows older than max_age and beyond the newest max_rows are pruned periodically.
//
// Cheap for the request path: an enqueue is one short critical section (a vector push; the
// writer takes the whole queue at once by swapping vectors) and wakes the writer only when a
// batch is full. queue_capacity bounds the queue; the writer holds at most as many rows again
// while it writes them. Written rows go back to the producers as spares (takeSpare()) whose strings
// keep their capacity, so a warm I/O thread fills a row without allocating. The writer reuses
// its statement parameters across batches and derives the model-version changelog from the
// rows it writes.
//
// The writer never competes with requests for a core: it runs under SCHED_IDLE, so it only
// gets CPU time no I/O thread wants. When that is not enough (the queue passes catch_up_depth,
// or rows wait 2 x flush_interval without progress, or flush()/shutdown wants them written
// now) a second writer at normal priority takes over at the next multi-row INSERT and drains
// the queue, then goes back to sleep (switchyard_request_log_catch_ups_total counts these).
// Two threads because an unprivileged thread can enter SCHED_IDLE but never leave it. Where
// the kernel refuses SCHED_IDLE, or writer_background is off, one normal-priority writer
// does everything and yields its core between INSERTs while it has no backlog.
//
// Thread-safety: enqueue*(), takeSpare() and flush() may be called from any thread; the Database
// is used only by the writer threads, one at a time (and by open() before they start).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/store/database.h"
#include "switchyard/telemetry/metrics.h"

namespace switchyard::telemetry {

// One row of request_log (see docs/observability.md for the columns).
struct RequestRecord {
  std::int64_t ts_ms = 0;  // Unix time the request was received, in ms
  std::string request_id;
  std::string key_id;
  std::string key_name;
  std::string team;
  std::string endpoint;  // chat, completions, embeddings, messages, responses, ...
  std::string format;    // inbound wire format: openai, anthropic
  bool stream = false;
  std::string requested_model;
  std::string route;
  std::string provider;
  std::string model;
  std::string model_version;
  int status = 0;
  std::string error_type;  // empty on success
  std::optional<double> queue_ms;
  std::optional<double> ttft_ms;
  double total_ms = 0;
  std::optional<double> overhead_ms;  // gateway time before the upstream call
  api::Usage usage;
  double cost_usd = 0;
  std::string guard_summary;
  bool local_only = false;
  std::string decision;
  int attempts = 0;
  std::string task_type;
  std::string risk_tier;
  std::string rag_collection;
  std::string request_payload;  // only for routes that opted in
  std::string response_payload;
  std::string_view cache;  // the response cache: "hit", "miss", ...; "" (NULL) when off
};

// Rows travel by pointer from the producer through the queue to the writer and back as spares:
// a RequestRecord is some thirty strings, each move of which costs more than the pointer's.
using RecordPtr = std::unique_ptr<RequestRecord>;

// Flattens a finished request; `now` is when the log phase ran.
RequestRecord recordFrom(const pipeline::RequestContext& ctx,
                         pipeline::RequestContext::Clock::time_point now,
                         std::chrono::system_clock::time_point wall_now);
// The same into an existing record (every field assigned, payloads cleared), reusing the
// capacity of its strings.
void fillRecord(const pipeline::RequestContext& ctx,
                pipeline::RequestContext::Clock::time_point now,
                std::chrono::system_clock::time_point wall_now, RequestRecord& out);

struct FeedbackRecord {
  std::int64_t ts_ms = 0;
  std::string request_id;
  std::optional<double> score;
  std::string label;
  std::string comment;
};

struct RequestLogOptions {
  int batch_size = 256;
  std::chrono::milliseconds flush_interval{1000};
  int queue_capacity = 10'000;
  std::chrono::milliseconds max_age{0};  // 0: keep
  std::int64_t max_rows = 0;             // 0: unbounded
  std::chrono::milliseconds prune_interval{300'000};
  std::size_t max_payload_bytes = 64 * 1024;
  // The writer runs under SCHED_IDLE with a normal-priority writer for catching up (above);
  // false: one normal-priority writer.
  bool writer_background = true;
  // Queue depth at which the normal-priority writer takes over; 0: max(2 x batch_size,
  // queue_capacity / 8).
  int catch_up_depth = 0;
  // Local models whose GGUF file hash goes into the model-version changelog at start-up:
  // (provider, model, path).
  std::vector<std::tuple<std::string, std::string, std::string>> local_models;

  static RequestLogOptions fromConfig(const config::Config& config);
};

// The schema (request_log, feedback, model_versions), for store::migrate under component
// "telemetry".
std::span<const store::Migration> telemetryMigrations();

class RequestLog {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // Migrates the schema (blocking: call at start-up) and starts the writer thread.
  static Result<std::unique_ptr<RequestLog>> open(store::DatabasePtr db, RequestLogOptions options,
                                                  Registry& metrics);
  ~RequestLog();

  // Never blocks on I/O; false when the queue was full and the row was dropped.
  bool enqueue(RecordPtr record);
  bool enqueue(RequestRecord&& record) {
    return enqueue(std::make_unique<RequestRecord>(std::move(record)));
  }
  bool enqueue(const RequestRecord& record) {
    return enqueue(std::make_unique<RequestRecord>(record));
  }
  // A record to fill (fillRecord) and enqueue(): one the writer has finished with, its strings
  // still allocated, when this thread's previous enqueue() picked one up; else a new one.
  static RecordPtr takeSpare();
  bool enqueueFeedback(FeedbackRecord feedback);
  // A provider model reported `version` at `ts_ms` (written with the next batch).
  void noteModelVersion(std::string provider, std::string model, std::string version,
                        std::int64_t ts_ms, std::string identity = {});

  // Blocks until every row queued before the call is written (or failed). For tests and the
  // CLI, never for I/O threads.
  void flush();
  // Runs retention now (blocking, like flush()).
  void pruneNow();

  std::uint64_t written() const { return written_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }
  // Times the normal-priority writer took over from the background one.
  std::uint64_t catchUps() const { return catch_ups_.load(); }
  // Whether the writer runs in the background (SCHED_IDLE) with a catch-up writer.
  bool backgroundWriter() const { return background_; }

 private:
  enum class Role {
    kOnly,        // the one writer, normal priority
    kBackground,  // SCHED_IDLE: timed and full batches while no catch-up is on
    kCatchUp,     // normal priority: backlogs, flush(), pruneNow(), shutdown
  };

  RequestLog(store::DatabasePtr db, RequestLogOptions options, Registry& metrics);
  void run(Role role);
  // Waits (mu_ held) until `role` has a round to write; false when the thread should exit.
  bool waitForWork(Role role, std::unique_lock<std::mutex>& lock);
  // Writes a round (round_mu_ held): takes the queue when no round is open, then writes it in
  // batches. The background writer stops at an INSERT boundary when a catch-up starts (the
  // round stays open for the catch-up writer); returns true when the round is finished.
  bool writeRound(Role role);
  // A catch-up is needed now (mu_ held): starts it unless one is on. `fell_behind` counts it
  // in catchUps() (not for flush(), retention or shutdown).
  void startCatchUpLocked(bool fell_behind);
  void hashLocalModels();
  // Multi-row INSERTs for `rows`; with `stop`, returns after the first INSERT that finds it
  // set. `written` counts the rows inserted.
  Status writeRows(std::span<const RecordPtr> rows, const std::atomic<bool>* stop,
                   bool yield_between, std::size_t& written);
  Status writeFeedback(const std::vector<FeedbackRecord>& feedback);
  void setRow(std::size_t slot, const RequestRecord& r);  // into params_
  Status prune();

  struct VersionNote {
    std::int64_t first_ms = 0;
    std::int64_t last_ms = 0;
    std::string identity;
  };
  using VersionKey = std::tuple<std::string, std::string, std::string>;

  store::DatabasePtr db_;
  RequestLogOptions options_;
  const std::size_t batch_;  // options_.batch_size, at least 1

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<RecordPtr> pending_;      // the writer swaps it out whole
  std::size_t in_writer_ = 0;           // rows the writer took and has not finished with
  std::atomic<std::size_t> pending_count_{0};  // pending_.size(), read by the writer unlocked
  std::vector<RecordPtr> spares_;              // finished rows for producers to reuse
  std::vector<FeedbackRecord> pending_feedback_;
  std::map<VersionKey, VersionNote> pending_versions_;  // noteModelVersion()
  std::uint64_t enqueued_seq_ = 0;  // batches are cut by sequence for flush()
  std::uint64_t written_seq_ = 0;
  std::uint64_t flush_target_ = 0;     // flush(): write at least up to this sequence
  std::uint64_t flush_requested_ = 0;  // flush() generations asked for / served
  std::uint64_t flush_served_ = 0;
  bool writer_exited_ = false;
  bool prune_requested_ = false;
  std::uint64_t prunes_done_ = 0;
  bool stop_ = false;
  SteadyTime next_flush_;  // the background (or only) writer's timer for partial batches
  SteadyTime next_prune_;
  // Catch-up (see the top of the file); catch_up_ under mu_, hand_over_ its lock-free copy for
  // the background writer's INSERT loop.
  bool background_ = false;  // set by open() before any producer runs
  std::size_t catch_up_depth_ = 0;
  bool catch_up_ = false;
  std::atomic<bool> hand_over_{false};
  std::condition_variable catch_up_wake_;
  std::atomic<std::uint64_t> catch_ups_{0};

  // The open round: only the writer holding round_mu_ touches these.
  std::mutex round_mu_;
  bool round_open_ = false;
  std::vector<RecordPtr> round_rows_;      // taken from pending_ by swapping, kept for capacity
  std::size_t round_next_ = 0;             // first row not yet written
  std::vector<FeedbackRecord> round_feedback_;
  std::map<VersionKey, VersionNote> round_versions_;
  bool round_extras_ = false;  // feedback and versions still to write (with the first batch)
  bool round_prune_ = false;
  std::uint64_t round_serving_ = 0;  // flush() generation this round serves

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  Counter& written_metric_;
  Counter& dropped_metric_;
  Counter& errors_metric_;
  Counter& pruned_metric_;
  Gauge& queue_metric_;
  Counter& catch_up_metric_;

  std::vector<store::Value> params_;  // writer thread: one multi-row INSERT's parameters

  std::atomic<bool> stop_hashing_{false};
  std::thread hasher_;
  std::thread writer_;           // background (or the only writer)
  std::thread catch_up_writer_;  // normal priority, when writer_ is in the background
};

}  // namespace switchyard::telemetry
