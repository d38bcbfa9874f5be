#include "switchyard/routing/task_examples.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <thread>

#include "switchyard/http/client.h"
#include "switchyard/pipeline/context.h"
#include "switchyard/routing/router.h"

namespace switchyard::routing {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kEmbedBatch = 64;  // examples per embedding call at start-up

// Scales `v` to unit length; false for a zero (or non-finite) vector.
bool normalize(std::span<float> v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (!(norm > 0) || !std::isfinite(norm)) return false;
  const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : v) x *= scale;
  return true;
}

// The first `max` bytes of `text`, not cutting a UTF-8 sequence.
void truncateUtf8(std::string& text, std::size_t max) {
  if (text.size() <= max) return;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
}

// Eight independent partial sums: the compiler turns them into vector lanes (a plain
// left-to-right sum of floats may not be reordered, so it would stay scalar).
float dotProduct(const float* a, const float* b, std::size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += a[j + l] * b[j + l];
  }
  float dot = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; j < n; ++j) dot += a[j] * b[j];
  return dot;
}

// One embedding call on the classifier's own thread (the client belongs to it).
asio::awaitable<Result<api::EmbeddingResponse>> embedOn(
    providers::Provider& provider, http::HttpClient& http, api::EmbeddingRequest request,
    std::chrono::steady_clock::time_point deadline) {
  providers::CallContext call{http, "task-classifier", deadline};
  co_return co_await provider.embed(request, call);
}

}  // namespace

// ---- ExampleIndex ---------------------------------------------------------------------------

Result<ExampleIndex> ExampleIndex::build(const std::vector<std::vector<float>>& vectors,
                                         const std::vector<std::string>& labels) {
  if (vectors.size() != labels.size()) {
    return fail(ErrorCode::kInvalidArgument, "one label per example vector is needed");
  }
  if (vectors.empty()) return fail(ErrorCode::kInvalidArgument, "no examples");
  ExampleIndex index;
  index.dims_ = vectors.front().size();
  if (index.dims_ == 0) return fail(ErrorCode::kInvalidArgument, "empty example vectors");
  index.data_.reserve(vectors.size() * index.dims_);
  std::map<std::string, std::uint32_t, std::less<>> ids;
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    if (vectors[i].size() != index.dims_) {
      return fail(ErrorCode::kInvalidArgument,
                  "example vectors differ in size (" + std::to_string(vectors[i].size()) +
                      " vs " + std::to_string(index.dims_) + ")");
    }
    const std::size_t offset = index.data_.size();
    index.data_.insert(index.data_.end(), vectors[i].begin(), vectors[i].end());
    if (!normalize(std::span<float>(index.data_).subspan(offset, index.dims_))) {
      return fail(ErrorCode::kInvalidArgument,
                  "the embedding of example " + std::to_string(i + 1) + " ('" + labels[i] +
                      "') is a zero vector");
    }
    auto [it, added] = ids.try_emplace(labels[i], static_cast<std::uint32_t>(index.labels_.size()));
    if (added) index.labels_.push_back(labels[i]);
    index.label_of_.push_back(it->second);
  }
  return index;
}

std::optional<TaskVote> ExampleIndex::nearest(std::span<const float> query, int k,
                                              double min_similarity) const {
  if (query.size() != dims_ || k < 1) return std::nullopt;
  double norm = 0;
  for (float x : query) norm += static_cast<double>(x) * x;
  if (!(norm > 0) || !std::isfinite(norm)) return std::nullopt;
  const double inv_norm = 1.0 / std::sqrt(norm);

  std::vector<std::pair<float, std::uint32_t>> scored(size());
  for (std::size_t row = 0; row < size(); ++row) {
    const float dot = dotProduct(data_.data() + row * dims_, query.data(), dims_);
    scored[row] = {static_cast<float>(dot * inv_norm), static_cast<std::uint32_t>(row)};
  }
  const std::size_t take = std::min<std::size_t>(static_cast<std::size_t>(k), scored.size());
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(take),
                    scored.end(), [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  if (scored.front().first < min_similarity) return std::nullopt;

  // Similarity-weighted votes; ties go to the label of the nearer example.
  std::vector<double> weight(labels_.size(), 0.0);
  std::vector<int> votes(labels_.size(), 0);
  std::vector<double> best(labels_.size(), -2.0);
  for (std::size_t i = 0; i < take; ++i) {
    const std::uint32_t label = label_of_[scored[i].second];
    weight[label] += std::max(0.0f, scored[i].first);
    ++votes[label];
    best[label] = std::max(best[label], static_cast<double>(scored[i].first));
  }
  std::size_t winner = label_of_[scored.front().second];
  for (std::size_t l = 0; l < labels_.size(); ++l) {
    if (votes[l] == 0) continue;
    if (weight[l] > weight[winner] || (weight[l] == weight[winner] && best[l] > best[winner])) {
      winner = l;
    }
  }
  return TaskVote{labels_[winner], best[winner], votes[winner], static_cast<int>(take)};
}

// ---- ExampleClassifier ----------------------------------------------------------------------

// The classifier's own event loop and HTTP client: embedding calls run here, whatever thread
// asks for them.
class ExampleClassifier::Io {
 public:
  Io()
      : guard(asio::make_work_guard(io)),
        http(http::makeHttpClient(io.get_executor())),
        thread([this] { io.run(); }) {}
  ~Io() {
    guard.reset();
    io.stop();
    thread.join();
    http.reset();
  }

  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::unique_ptr<http::HttpClient> http;
  std::thread thread;
};

ExampleClassifier::ExampleClassifier() = default;
ExampleClassifier::~ExampleClassifier() = default;

Result<std::unique_ptr<ExampleClassifier>> ExampleClassifier::create(
    const config::Config& config, const Router& router, providers::Registry& providers,
    const ExampleClassifier* previous) {
  const config::TaskClassifierConfig& settings = config.routing.classifier;
  const std::string where =
      config.source +
      (settings.embedding_model_line > 0 ? ":" + std::to_string(settings.embedding_model_line)
                                         : std::string()) +
      ": routing.classifier.embedding_model: ";
  auto bad = [&](const std::string& message) {
    return fail(Status(ErrorCode::kInvalidArgument, where + message)
                    .withParam("routing.classifier.embedding_model"));
  };

  std::unique_ptr<ExampleClassifier> c(new ExampleClassifier());
  c->settings_ = settings;
  auto served = resolveServedModel(config, router, providers, settings.embedding_model);
  if (!served) return bad(served.error().message());
  if (Status s = checkServesEmbeddings(*served); !s.isOk()) return bad(s.message());
  c->provider_ = served->provider;
  c->model_ = served->model;
  c->on_prem_ = served->on_prem;
  c->io_ = std::make_unique<Io>();

  const auto same_examples = [&](const config::TaskClassifierConfig& a) {
    if (a.embedding_model != settings.embedding_model ||
        a.examples.size() != settings.examples.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.examples.size(); ++i) {
      if (a.examples[i].task != settings.examples[i].task ||
          a.examples[i].text != settings.examples[i].text) {
        return false;
      }
    }
    return true;
  };
  if (previous != nullptr && previous->index_ && previous->provider_ == c->provider_ &&
      previous->model_ == c->model_ && same_examples(previous->settings_)) {
    c->index_ = previous->index_;
    return c;
  }

  std::vector<std::string> texts;
  std::vector<std::string> labels;
  texts.reserve(settings.examples.size());
  labels.reserve(settings.examples.size());
  for (const config::TaskExample& e : settings.examples) {
    texts.push_back(e.text);
    truncateUtf8(texts.back(), kMaxTextBytes);
    labels.push_back(e.task);
  }
  auto vectors = c->embedBlocking(texts);
  if (!vectors) {
    c->index_error_ = vectors.error().message();
    return c;
  }
  auto index = ExampleIndex::build(*vectors, labels);
  if (!index) return bad(index.error().message());
  c->index_ = std::make_shared<const ExampleIndex>(std::move(*index));
  return c;
}

Result<std::vector<std::vector<float>>> ExampleClassifier::embedBlocking(
    const std::vector<std::string>& texts) {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (std::size_t start = 0; start < texts.size(); start += kEmbedBatch) {
    const std::size_t end = std::min(texts.size(), start + kEmbedBatch);
    api::EmbeddingRequest request;
    request.model = model_;
    request.texts.assign(texts.begin() + static_cast<std::ptrdiff_t>(start),
                         texts.begin() + static_cast<std::ptrdiff_t>(end));
    // Start-up may wait for a local model to load or a cold server: a generous deadline.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    auto future = asio::co_spawn(
        io_->io, embedOn(*provider_, *io_->http, std::move(request), deadline), asio::use_future);
    Result<api::EmbeddingResponse> response = future.get();
    if (!response) {
      return fail(Status(response.error().code(), "embedding the examples with '" +
                                                       settings_.embedding_model +
                                                       "' failed: " + response.error().message()));
    }
    if (response->embeddings.size() != end - start) {
      return fail(ErrorCode::kUpstream,
                  "'" + settings_.embedding_model + "' returned " +
                      std::to_string(response->embeddings.size()) + " vectors for " +
                      std::to_string(end - start) + " examples");
    }
    for (auto& v : response->embeddings) out.push_back(std::move(v));
  }
  return out;
}

asio::awaitable<Result<std::optional<TaskVote>>> ExampleClassifier::classify(
    std::string text) const {
  if (!index_) co_return std::optional<TaskVote>();
  truncateUtf8(text, kMaxTextBytes);
  api::EmbeddingRequest request;
  request.model = model_;
  request.texts.push_back(std::move(text));
  const auto deadline = std::chrono::steady_clock::now() + settings_.timeout;
  // Kept in a variable: g++ 12 destroys temporaries of a co_await expression wrongly.
  auto call = asio::co_spawn(io_->io, embedOn(*provider_, *io_->http, std::move(request), deadline),
                             asio::use_awaitable);
  Result<api::EmbeddingResponse> embedding = co_await std::move(call);
  if (!embedding) co_return fail(std::move(embedding.error()));
  if (embedding->embeddings.size() != 1) {
    co_return fail(ErrorCode::kUpstream, "'" + settings_.embedding_model + "' returned " +
                                             std::to_string(embedding->embeddings.size()) +
                                             " vectors for one input");
  }
  co_return index_->nearest(embedding->embeddings.front(), settings_.k, settings_.min_similarity);
}

}  // namespace switchyard::routing
