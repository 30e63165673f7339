// `switchboard config check FILE`: the daemon's start-up checks, without starting it.
#pragma once

#include <filesystem>
#include <iosfwd>

namespace switchboard::host {

// Reads the configuration, resolves its secrets, loads every plugin and creates every provider
// instance (so each plugin checks its own settings), and checks the routes. Prints one line per
// problem on `err` and returns 1, or a summary on `out` and returns 0. Never prints a secret.
int check_config(const std::filesystem::path& file, std::ostream& out, std::ostream& err);

} // namespace switchboard::host
