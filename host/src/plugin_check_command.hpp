// `switchboard plugins check FILE`: the conformance checker. Every case runs in a process of its
// own under a time limit, so a plugin that crashes or hangs fails that case, not the checker.
#pragma once

#include "plugin_check_env.hpp"

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace switchboard::host {

struct plugin_check_options {
    std::filesystem::path file;
    std::filesystem::path config;   // a provider's "config" as JSON; none: {}
    std::filesystem::path step;     // a route step as JSON (without "provider"); none: the first channel alone
    std::filesystem::path params;   // every sample recipient's params as JSON; none: from the step's "params"
    std::vector<std::string> only;  // case names; empty: all
    bool list = false;
    bool json = false;
    double case_timeout_s = 20;
    double call_budget_ms = 1000;
    unsigned seed = 1;
};

// Runs the cases and prints a report (or, with `list`, the cases). Returns the exit code: 0 when
// every case that ran passed, 1 when any failed, 2 when the options cannot be used.
int check_plugin(const plugin_check_options& options, std::ostream& out, std::ostream& err);

} // namespace switchboard::host
