// `switchboard plugins new NAME`: an out-of-tree plugin project that builds against the installed
// SDK and passes its own tests (the SDK's harness, and `plugins check`) as generated.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

namespace switchboard::host {

// Writes the project into `dir`/`name` (refusing a directory that exists and is not empty) and
// prints what to run next. Returns the exit code: 0 written, 1 refused (one line on `err`).
int new_plugin_project(const std::string& name, const std::filesystem::path& dir, std::ostream& out, std::ostream& err);

} // namespace switchboard::host
