// The daemon's log: human-readable lines by default, JSON lines when configured (each with the
// job id of a line about a job); to stderr, or to a file that SIGHUP reopens (for logrotate).
// Plugins log through the host's callback into the same place.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace switchboard::host {

struct log_settings {
    std::string level = "info";     // trace, debug, info, warn, error, critical, off
    std::string format = "text";    // text | json
    std::filesystem::path file;     // empty: stderr
};

// Logs to stderr as text until the configuration is read (so that its problems can be reported).
void start_early_logging();

// Makes `settings` the daemon's log. Returns what reopens its file (a no-op for stderr). Throws
// std::runtime_error when the file cannot be opened.
std::function<void()> start_logging(const log_settings& settings);

} // namespace switchboard::host
