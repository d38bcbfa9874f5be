#pragma once
// `switchyard ingest PATH... --collection NAME` and `switchyard collections list|delete`.

#include <CLI/CLI.hpp>
#include <functional>

namespace switchyard::cli {

// Adds the subcommands; when one of them is parsed, `action` is set to run it.
void addRagCommands(CLI::App& app, std::function<int()>& action);

}  // namespace switchyard::cli
