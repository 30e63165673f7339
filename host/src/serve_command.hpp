// `switchboard serve --config FILE`: the daemon.
#pragma once

#include <filesystem>

namespace switchboard::host {

// Loads the configuration, the plugins and their instances, and serves the HTTP API until SIGINT
// or SIGTERM. Prints "listening on http://HOST:PORT" on stdout once it accepts requests.
// Returns the process exit code (1 with the reasons on stderr when it cannot start).
int serve(const std::filesystem::path& config_file);

} // namespace switchboard::host
