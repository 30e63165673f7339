// Talking to a running daemon from the command line: requests with the API key, and the tables
// that `send` and `jobs` print.
#pragma once

#include <boost/json.hpp>

#include <iosfwd>
#include <string>

namespace switchboard::host {

namespace json = boost::json;

// One request to the daemon, answered with its JSON body; throws std::runtime_error with the
// daemon's own message (and the field it names) when the answer is not 2xx.
json::value call_daemon(const std::string& method, const std::string& url, const std::string& api_key,
                        const std::string& body = {});

// "accepted 4, failed 1": the states that have recipients.
std::string counts_line(const json::object& counts);

// Every recipient of the job at `job_url`, as a table, page by page.
void print_recipients(const std::string& job_url, const std::string& api_key, std::ostream& out,
                      const std::string& state = {});

} // namespace switchboard::host
