#pragma once
// `switchyard models make-tiny | inspect | quantize` (builds with the in-process engine only).

#include <CLI/CLI.hpp>
#include <functional>

namespace switchyard::cli {

// Adds the subcommand; when one of its commands is parsed, `action` is set to run it.
void addModelsCommand(CLI::App& app, std::function<int()>& action);

}  // namespace switchyard::cli
