// `switchboard send`: submit a job to a running daemon, wait for it, print every recipient.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

namespace switchboard::host {

struct send_options {
    std::string server = "http://127.0.0.1:8080";
    std::string route;
    std::filesystem::path recipients_file;   // a JSON array of {"to", "params", "ref"}
    int timeout_seconds = 600;
    std::string api_key;                     // sent as Authorization: Bearer; never printed
};

// Returns the exit code: 0 when every recipient ended accepted or delivered, 2 when some did not,
// 1 when the job could not be submitted or followed (the reason on `err`).
int send_job(const send_options& options, std::ostream& out, std::ostream& err);

} // namespace switchboard::host
