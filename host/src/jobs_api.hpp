// The job endpoints of the HTTP API:
//   POST /v1/jobs                     submit a job ("route": a configured route's name, or an inline
//                                     array of steps); 202 with its id. With "open": true the job is
//                                     created (201) to take its recipients in pages:
//   POST /v1/jobs/{id}/recipients     add a page of recipients to an open job
//   POST /v1/jobs/{id}/start          start sending an open job; 202
//   POST /v1/jobs/{id}/cancel         cancel every recipient not yet sent; calls in flight finish
//   GET  /v1/jobs?limit=20            the most recent jobs, newest first (?offset=&state=)
//   GET  /v1/jobs/{id}                its state and per-state counts
//   GET  /v1/jobs/{id}/recipients     each recipient's outcome, paginated (?offset=&limit=&state=&provider=)
//   GET  /v1/jobs/{id}/failures       why recipients did not get through: counts by state, code and reason
// Errors have one shape: {"code": "...", "message": "...", "field": "recipients[3].to"}.
#pragma once

#include "http_server.hpp"
#include "job_limits.hpp"

#include <switchboard/core/dispatcher.hpp>

#include <boost/json/fwd.hpp>

#include <mutex>
#include <optional>

namespace switchboard::core {
class job_store;
}

namespace switchboard::host {

class jobs_api {
public:
    // `default_region`: where phone numbers written without a country code are read ("HK"; may be empty).
    jobs_api(core::job_store& store, core::dispatcher& dispatcher, const core::route_map& routes,
             const core::provider_map& providers, std::string default_region, job_limits limits = {});

    // Answers requests under /v1/jobs; anything else is 404.
    http_server_response handle(const http_server_request& request);

private:
    http_server_response submit(const http_server_request& request);
    http_server_response append(const std::string& job_id, const http_server_request& request);
    http_server_response start(const std::string& job_id);
    http_server_response cancel(const std::string& job_id, const std::string& client);
    // Normalises and validates recipients (an answer when a plugin could not validate them).
    // Duplicates are marked afterwards: a refused first occurrence must not make a good repeat one.
    std::optional<http_server_response> prepare(const core::route& r, const std::string& region,
                                                std::vector<core::recipient>& recipients);
    // The answer when a new job (`opens`: one taking pages) of `recipients` would pass a limit.
    std::optional<http_server_response> over_limits(bool opens, std::size_t recipients) const;
    // The route a submission names, or gives inline as an array of steps.
    core::route route_of(const boost::json::value& route) const;
    // The route a stored job follows: the one stored with it, or (jobs from before routes were
    // stored) the configured one.
    core::route stored_route(const core::job& j) const;
    http_server_response list(const std::string& target);
    http_server_response show(const std::string& job_id);
    http_server_response list_recipients(const std::string& job_id, const std::string& target);
    http_server_response list_failures(const std::string& job_id, const std::string& target);

    // Changes that check a job's state and then act on it (submit with a key, append, start,
    // cancel) happen one at a time, so that two of them never act on the same stale state.
    std::mutex submissions_;
    core::job_store& store_;
    core::dispatcher& dispatcher_;
    const core::route_map& routes_;
    const core::provider_map& providers_;
    std::string default_region_;
    job_limits limits_;
};

} // namespace switchboard::host
