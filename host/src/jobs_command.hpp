// `switchboard jobs list | show ID | recipients ID | cancel ID`: a running daemon's jobs.
#pragma once

#include <iosfwd>
#include <string>

namespace switchboard::host {

struct jobs_options {
    std::string server = "http://127.0.0.1:8080";
    std::string api_key;   // never printed
    std::string job_id;
    std::string state;     // recipients: only those in this state
    int limit = 20;        // list: how many of the most recent jobs
};

// Each returns the exit code: 0, or 1 with the reason on `err`.
int list_jobs(const jobs_options& options, std::ostream& out, std::ostream& err);
int show_job(const jobs_options& options, std::ostream& out, std::ostream& err);
int show_recipients(const jobs_options& options, std::ostream& out, std::ostream& err);
int cancel_job(const jobs_options& options, std::ostream& out, std::ostream& err);

} // namespace switchboard::host
