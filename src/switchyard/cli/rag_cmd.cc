// `switchyard ingest` and `switchyard collections`: the RAG collections on disk, without a
// running gateway (SQLite WAL lets both work on one directory at once).

#include "switchyard/cli/rag_cmd.h"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "switchyard/config/config.h"
#include "switchyard/core/log.h"
#include "switchyard/core/progress.h"
#include "switchyard/providers/registry.h"
#include "switchyard/rag/rag_service.h"
#include "switchyard/routing/router.h"

namespace switchyard::cli {

namespace {

struct IngestArgs {
  std::vector<std::string> paths;
  std::string collection;
  std::string config_path;
  bool is_private = false;
};

struct CollectionsArgs {
  std::string config_path;
  std::string name;
  bool json = false;
};

// The config's rag section (or its defaults when the file has none).
Result<config::Config> loadConfig(const std::string& path) {
  auto config = path.empty() ? config::embeddedDefaultConfig() : config::loadConfigFile(path);
  if (!config) return config;
  config->rag.enabled = true;
  return config;
}

std::string humanBytes(double bytes) {
  if (bytes >= 1 << 20) return fmt::format("{:.1f} MiB", bytes / (1 << 20));
  if (bytes >= 1 << 10) return fmt::format("{:.1f} KiB", bytes / (1 << 10));
  return fmt::format("{:.0f} B", bytes);
}

int ingest(const IngestArgs& args) {
  (void)setupLogging({"warn", LogFormat::kText, ""});
  auto config = loadConfig(args.config_path);
  if (!config) {
    std::cerr << "switchyard: " << config.error().message() << "\n";
    return 2;
  }
  if (!rag::validCollectionName(args.collection)) {
    std::cerr << "switchyard: invalid collection name '" << args.collection
              << "': use 1-64 letters, digits, '_', '-' or '.'\n";
    return 2;
  }
  // Only the embedder's provider is needed: other local models are not loaded.
  config::Config providers_config = *config;
  if (config->rag.embedding_model.empty()) providers_config.providers.clear();
  routing::HealthBoard health;
  routing::Router router(providers_config, health);
  auto registry = providers::Registry::create(providers_config, /*progress=*/true);
  if (!registry) {
    std::cerr << "switchyard: " << registry.error().message() << "\n";
    return 1;
  }
  auto service = rag::RagService::create(*config, router, *registry);
  if (!service) {
    std::cerr << "switchyard: " << service.error().message() << "\n";
    return 1;
  }
  auto info = (*service)->index().ensureCollection(args.collection, args.is_private);
  if (!info) {
    std::cerr << "switchyard: " << info.error().message() << "\n";
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ProgressBar> bar;
  auto report = (*service)->ingestPaths(
      args.collection, args.paths, [&](std::size_t done, std::size_t total) {
        if (!bar) bar = std::make_unique<ProgressBar>("ingest " + args.collection, total, "files");
        bar->set(done);
      });
  if (!report) {
    std::cerr << "switchyard: " << report.error().message() << "\n";
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string summary = fmt::format(
      "{} added, {} updated, {} unchanged, {} deleted; {} chunks; {} in {:.2f} s ({}/s)",
      report->added, report->updated, report->unchanged, report->deleted, report->chunks,
      humanBytes(static_cast<double>(report->bytes)), seconds,
      humanBytes(seconds > 0 ? static_cast<double>(report->bytes) / seconds : 0.0));
  if (bar) bar->done(summary);
  std::cout << "collection " << args.collection << (info->is_private ? " (private)" : "") << ": "
            << summary << "\n";
  if (!(*service)->hasEmbedder()) {
    std::cout << "no rag.embedding_model configured: lexical (BM25) retrieval only\n";
  }
  for (const std::string& e : report->errors) std::cerr << "switchyard: " << e << "\n";
  return report->errors.empty() ? 0 : 1;
}

Result<std::unique_ptr<rag::Index>> openIndex(const std::string& config_path) {
  auto config = loadConfig(config_path);
  if (!config) return fail(std::move(config.error()));
  const std::string dir =
      config->rag.path.empty() ? rag::defaultRagDir(config->storage_url) : config->rag.path;
  return rag::Index::open(dir, {config->rag.hnsw_m, config->rag.hnsw_ef_construction,
                                config->rag.hnsw_ef_search});
}

int listCollections(const CollectionsArgs& args) {
  auto index = openIndex(args.config_path);
  if (!index) {
    std::cerr << "switchyard: " << index.error().message() << "\n";
    return 1;
  }
  auto list = (*index)->collections();
  if (!list) {
    std::cerr << "switchyard: " << list.error().message() << "\n";
    return 1;
  }
  if (list->empty()) {
    std::cout << "no collections in " << (*index)->dir() << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<24} {:>9} {:>9} {:>7}  {}\n", "NAME", "DOCUMENTS", "CHUNKS",
                           "PRIVATE", "EMBEDDINGS");
  for (const rag::CollectionInfo& c : *list) {
    std::cout << fmt::format("{:<24} {:>9} {:>9} {:>7}  {}\n", c.name, c.documents, c.chunks,
                             c.is_private ? "yes" : "no",
                             c.dims > 0 ? fmt::format("{} ({} dims)", c.embedding_model, c.dims)
                                        : std::string("none (lexical)"));
  }
  return 0;
}

int deleteCollection(const CollectionsArgs& args) {
  auto index = openIndex(args.config_path);
  if (!index) {
    std::cerr << "switchyard: " << index.error().message() << "\n";
    return 1;
  }
  if (Status s = (*index)->deleteCollection(args.name); !s.isOk()) {
    std::cerr << "switchyard: " << s.message() << "\n";
    return 1;
  }
  std::cout << "deleted collection " << args.name << "\n";
  return 0;
}

}  // namespace

void addRagCommands(CLI::App& app, std::function<int()>& action) {
  auto ingest_args = std::make_shared<IngestArgs>();
  auto* ingest_cmd = app.add_subcommand(
      "ingest",
      "Add files to a RAG collection (text, Markdown, HTML, PDF; directories recursively).\n"
      "Only changed files are re-read; files gone from an ingested directory are removed.");
  ingest_cmd->add_option("PATH", ingest_args->paths, "files or directories")->required();
  ingest_cmd->add_option("-n,--collection", ingest_args->collection, "collection name")
      ->required();
  ingest_cmd
      ->add_option("-c,--config", ingest_args->config_path,
                   "YAML config file (its rag and storage sections; default: embedded defaults)")
      ->envname("SWITCHYARD_CONFIG");
  ingest_cmd->add_flag("--private", ingest_args->is_private,
                       "mark the collection private: requests that use it stay on on-prem "
                       "providers, and only an on-prem embedding model sees its text");
  ingest_cmd->callback([&action, ingest_args] { action = [ingest_args] { return ingest(*ingest_args); }; });

  auto collections_args = std::make_shared<CollectionsArgs>();
  auto* collections_cmd = app.add_subcommand("collections", "List or delete RAG collections");
  collections_cmd->require_subcommand(1);
  auto* list_cmd = collections_cmd->add_subcommand("list", "List collections with their sizes");
  auto* delete_cmd =
      collections_cmd->add_subcommand("delete", "Delete a collection and all of its documents");
  for (CLI::App* sub : {list_cmd, delete_cmd}) {
    sub->add_option("-c,--config", collections_args->config_path,
                    "YAML config file (its rag and storage sections; default: embedded defaults)")
        ->envname("SWITCHYARD_CONFIG");
  }
  list_cmd->callback([&action, collections_args] {
    action = [collections_args] { return listCollections(*collections_args); };
  });
  delete_cmd->add_option("NAME", collections_args->name, "collection name")->required();
  delete_cmd->callback([&action, collections_args] {
    action = [collections_args] { return deleteCollection(*collections_args); };
  });
}

}  // namespace switchyard::cli
