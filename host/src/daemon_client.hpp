// Talking to a running daemon from the command line: requests with the API key, and the tables
// that `send` and `jobs` print.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <iosfwd>
#include <stdexcept>
#include <string>

namespace switchboard::host {

namespace json = boost::json;

// The daemon answered, but not 2xx: what() says the status, the daemon's message and the field it
// names; the parts are kept for callers that act on them.
struct daemon_error : std::runtime_error {
    daemon_error(int status, std::string code, std::string message, std::string field);
    int status;
    std::string code;      // "invalid_request", "too_large", ... (empty when the body had no shape)
    std::string message;
    std::string field;     // "recipients[3].to", or empty
};

// One request to the daemon, answered with its JSON body; throws daemon_error when the answer is
// not 2xx, std::runtime_error when none came.
json::value call_daemon(const std::string& method, const std::string& url, const std::string& api_key,
                        const std::string& body = {});

// The same, with the answer's HTTP status (201 and 202 tell a new job from an earlier one, 200),
// waiting up to `timeout` for the answer.
json::value call_daemon(const std::string& method, const std::string& url, const std::string& api_key,
                        const std::string& body, int& status,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Runs a command's `body`: 0 when it ends well, else 1 with "error: <what>" on `err`.
int run_command(std::ostream& err, const std::function<void()>& body);

// "2026-12-06T14:38:37Z", or "-" for 0.
std::string utc_time(std::int64_t unix_ms);

// "accepted 4, failed 1": the states that have recipients.
std::string counts_line(const json::object& counts);

// Every recipient of the job at `job_url` (those in `state`, when given), as a table, page by
// page; `header` false leaves out the column names (for a table printed in parts).
void print_recipients(const std::string& job_url, const std::string& api_key, std::ostream& out,
                      const std::string& state = {}, bool header = true);

// The column names of that table.
void print_recipients_header(std::ostream& out);

} // namespace switchboard::host
