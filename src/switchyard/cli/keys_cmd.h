#pragma once
// `switchyard keys create | list | revoke | rotate --config FILE`: manages virtual keys in the
// config's store (storage.url), the same store the gateway reads. A running gateway sees the
// change within auth.reload_interval (5 s by default).

#include <CLI/CLI.hpp>
#include <functional>

namespace switchyard::cli {

// Adds the subcommand; when one of its commands is parsed, `action` is set to run it.
void addKeysCommand(CLI::App& app, std::function<int()>& action);

}  // namespace switchyard::cli
