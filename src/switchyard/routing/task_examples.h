#pragma once
// Nearest-neighbour task classification over labelled example utterances: the routing signal
// "task type" for phrasings that keyword rules miss ("draft an indemnity clause" -> legal).
//
// ExampleIndex holds the examples as unit vectors with their task labels; the k nearest by
// cosine similarity vote, each vote weighted by its similarity. It is exact (a scan): a few
// thousand examples of 1024 dimensions take well under a millisecond, far less than embedding
// the request itself.
//
// ExampleClassifier embeds the examples once with the configured embedding model (start-up and
// reload, blocking the caller; an unchanged classifier reuses the previous index) and, per
// request, the request's text — on its own I/O thread with its own HTTP client, so a request
// coroutine awaits it without blocking its worker. ExampleIndex is immutable and
// ExampleClassifier::classify() may be called from every thread at once.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/providers/registry.h"

namespace switchyard::routing {

class Router;

struct TaskVote {
  std::string task;
  double similarity = 0;  // cosine similarity of the nearest example of `task`
  int votes = 0;          // how many of the k neighbours are `task`
  int k = 0;              // neighbours that voted (k, or fewer examples)
};

class ExampleIndex {
 public:
  // One vector per example (equal dimensions, any norm; zero vectors are rejected) and the
  // example's task label.
  static Result<ExampleIndex> build(const std::vector<std::vector<float>>& vectors,
                                    const std::vector<std::string>& labels);

  // The task that the k nearest examples vote for (sum of their similarities per task). No
  // decision (nullopt) when the nearest example is less similar than `min_similarity`, or the
  // query's dimensions differ from the index's.
  std::optional<TaskVote> nearest(std::span<const float> query, int k,
                                  double min_similarity) const;

  std::size_t size() const { return label_of_.size(); }
  std::size_t dimensions() const { return dims_; }

 private:
  std::size_t dims_ = 0;
  std::vector<float> data_;              // size() rows of dims_ floats, each of unit length
  std::vector<std::uint32_t> label_of_;  // row -> index into labels_
  std::vector<std::string> labels_;
};

class ExampleClassifier {
 public:
  // Resolves routing.classifier.embedding_model (a model name as clients use it) through
  // `router` and `providers` — an unknown model, or a local model without embeddings, is a
  // config error naming the key — then embeds the examples. When embedding them fails (the
  // embedding model's server is down), the classifier starts without an index: requests use
  // the built-in classifier and the next reload tries again. `previous` (a reload) lends its
  // index when the model and examples are unchanged. `providers` must outlive the classifier.
  static Result<std::unique_ptr<ExampleClassifier>> create(const config::Config& config,
                                                           const Router& router,
                                                           providers::Registry& providers,
                                                           const ExampleClassifier* previous);
  ~ExampleClassifier();

  ExampleClassifier(const ExampleClassifier&) = delete;
  ExampleClassifier& operator=(const ExampleClassifier&) = delete;

  // Whether the examples are embedded (classify() can decide).
  bool ready() const { return index_ != nullptr; }
  // Whether the embedding model runs on-prem: text of local-only requests may go to it.
  bool onPrem() const { return on_prem_; }
  const config::TaskClassifierConfig& settings() const { return settings_; }
  const std::string& indexError() const { return index_error_; }

  // Embeds `text` (its first kMaxTextBytes) within settings().timeout and votes. nullopt: no
  // decision (not ready, or no example similar enough); an error: the embedding call failed.
  boost::asio::awaitable<Result<std::optional<TaskVote>>> classify(std::string text) const;

  static constexpr std::size_t kMaxTextBytes = 2048;

 private:
  class Io;
  ExampleClassifier();
  Result<std::vector<std::vector<float>>> embedBlocking(const std::vector<std::string>& texts);

  config::TaskClassifierConfig settings_;
  providers::Provider* provider_ = nullptr;
  std::string model_;  // the provider's model id
  bool on_prem_ = false;
  std::shared_ptr<const ExampleIndex> index_;
  std::string index_error_;  // why there is no index
  std::unique_ptr<Io> io_;
};

}  // namespace switchyard::routing
