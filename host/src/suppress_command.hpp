// `switchboard suppress add | remove | list | import`: a running daemon's suppression list.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

namespace switchboard::host {

struct suppress_options {
    std::string server = "http://127.0.0.1:8080";
    std::string api_key;   // never printed
    std::string address;
    std::string channel = "*";   // every channel
    std::string reason;
    std::filesystem::path file;  // import: a CSV with a `to` column, and optional `channel` and `reason` columns
};

// Each returns the exit code: 0, or 1 with the reason on `err`.
int add_suppression(const suppress_options& options, std::ostream& out, std::ostream& err);
int remove_suppression(const suppress_options& options, std::ostream& out, std::ostream& err);
int list_suppressions(const suppress_options& options, std::ostream& out, std::ostream& err);
int import_suppressions(const suppress_options& options, std::ostream& out, std::ostream& err);

} // namespace switchboard::host
