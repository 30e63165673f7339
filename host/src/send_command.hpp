// `switchboard send`: submit a job from a CSV or JSON file of recipients to a running daemon (in
// pages when it is large), follow it with a progress line, print a summary and the recipients.
#pragma once

#include "recipients_file.hpp"

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace switchboard::host {

struct send_options {
    std::string server = "http://127.0.0.1:8080";
    std::string route;
    std::filesystem::path recipients_file;          // CSV (header to,ref,<param>...) or a JSON array
    std::optional<recipients_format> format;        // by the file's extension when not given
    int timeout_seconds = 600;                      // to wait for the job to finish; 0: no limit
    std::string api_key;                            // sent as Authorization: Bearer; never printed
    // Job fields, passed as given (the daemon checks them): empty means not sent.
    std::string idempotency_key;
    std::string region;
    std::string send_at;
    std::string deadline;
    // A job of more recipients than this (or of more bytes than page_bytes) goes up in pages.
    std::size_t page_size = 10'000;
    std::size_t page_bytes = 4 * 1024 * 1024;
    bool list_all = false;                          // list every recipient, even of a large job
    bool live_progress = false;                     // stderr is a terminal: redraw one line in place
};

// A job of more recipients than this lists only those not accepted or delivered (unless list_all).
inline constexpr std::int64_t full_listing_limit = 100;

// Returns the exit code: 0 when every recipient ended accepted or delivered, 2 when some did not,
// 1 when the job could not be submitted or followed (the reason on `err`).
int send_job(const send_options& options, std::ostream& out, std::ostream& err);

} // namespace switchboard::host
