// `switchboard plugins list` and `switchboard plugins inspect`.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <vector>

namespace switchboard::host {

// Prints every plugin in `dirs` with its limits. Returns the exit code: 0 when every file
// loaded, 1 when any did not (each failure is one line on `err`).
int list_plugins(const std::vector<std::filesystem::path>& dirs, bool as_json, std::ostream& out, std::ostream& err);

// Prints the manifest of the plugin at `file`, or one line saying why it cannot load (exit 1),
// with the daemon's load checks. With `config` (a JSON file holding what a provider's "config"
// would), also creates an instance with it, as the daemon would at start.
int inspect_plugin(const std::filesystem::path& file, bool as_json, const std::filesystem::path& config,
                   std::ostream& out, std::ostream& err);

// Where plugins are looked for when none is configured: lib/switchboard/plugins beside the
// directory of the running binary, which holds both in the build tree and in an installation.
std::filesystem::path default_plugin_dir();

} // namespace switchboard::host
