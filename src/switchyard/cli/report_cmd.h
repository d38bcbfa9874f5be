#pragma once
// `switchyard report usage | cost | tco`: tables (or JSON) over the request log in the store.

#include <CLI/CLI.hpp>
#include <functional>

namespace switchyard::cli {

// Adds the subcommand; when it is parsed, `action` is set to run it.
void addReportCommand(CLI::App& app, std::function<int()>& action);

}  // namespace switchyard::cli
