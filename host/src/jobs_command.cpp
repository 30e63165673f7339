#include "jobs_command.hpp"

#include "daemon_client.hpp"

#include <fmt/format.h>

#include <ostream>

namespace switchboard::host {

namespace {

void print_job_line(const json::object& j, std::ostream& out) {
    out << fmt::format("{:<22} {:<10} {:<9} {:>10}  {:<20}  {}\n", std::string(j.at("id").as_string()),
                       std::string(j.at("route").as_string()), std::string(j.at("state").as_string()),
                       j.at("recipients").as_int64(), utc_time(j.at("created_at_ms").as_int64()),
                       counts_line(j.at("counts").as_object()));
}

} // namespace

int list_jobs(const jobs_options& options, std::ostream& out, std::ostream& err) {
    return run_command(err, [&] {
        const json::value answer =
            call_daemon("GET", options.server + "/v1/jobs?limit=" + std::to_string(options.limit), options.api_key);
        out << fmt::format("{:<22} {:<10} {:<9} {:>10}  {:<20}  {}\n", "ID", "ROUTE", "STATE", "RECIPIENTS",
                           "CREATED", "COUNTS");
        for (const json::value& j : answer.at("jobs").as_array())
            print_job_line(j.as_object(), out);
    });
}

int show_job(const jobs_options& options, std::ostream& out, std::ostream& err) {
    return run_command(err, [&] {
        const json::value j = call_daemon("GET", options.server + "/v1/jobs/" + options.job_id, options.api_key);
        const json::object& o = j.as_object();
        out << fmt::format("{:<12}{}\n{:<12}{}\n{:<12}{}\n{:<12}{}\n{:<12}{}\n{:<12}{}\n{:<12}{}\n", "id:",
                           std::string(o.at("id").as_string()), "route:", std::string(o.at("route").as_string()),
                           "state:", std::string(o.at("state").as_string()), "recipients:",
                           o.at("recipients").as_int64(), "created:", utc_time(o.at("created_at_ms").as_int64()),
                           "finished:", utc_time(o.at("finished_at_ms").as_int64()), "counts:",
                           counts_line(o.at("counts").as_object()));
    });
}

int show_recipients(const jobs_options& options, std::ostream& out, std::ostream& err) {
    return run_command(err, [&] {
        print_recipients(options.server + "/v1/jobs/" + options.job_id, options.api_key, out, options.state);
    });
}

int cancel_job(const jobs_options& options, std::ostream& out, std::ostream& err) {
    return run_command(err, [&] {
        const json::value j =
            call_daemon("POST", options.server + "/v1/jobs/" + options.job_id + "/cancel", options.api_key);
        out << "job " << options.job_id << ": cancelled " << j.at("cancelled").as_int64()
            << " recipient(s) not yet sent; now " << counts_line(j.at("counts").as_object()) << '\n';
    });
}

} // namespace switchboard::host
