#pragma once
// `switchyard route explain`: the routing decision for a request, without calling a model.

#include <CLI/CLI.hpp>

#include <functional>

namespace switchyard::cli {

void addRouteCommand(CLI::App& app, std::function<int()>& action);

}  // namespace switchyard::cli
