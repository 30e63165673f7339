// The job endpoints of the HTTP API:
//   POST /v1/jobs                     submit a job; 202 with its id
//   GET  /v1/jobs/{id}                its state and per-state counts
//   GET  /v1/jobs/{id}/recipients     each recipient's outcome, paginated (?offset=&limit=&state=)
// Errors have one shape: {"code": "...", "message": "...", "field": "recipients[3].to"}.
#pragma once

#include "http_server.hpp"

#include <switchboard/core/dispatcher.hpp>

namespace switchboard::core {
class job_store;
}

namespace switchboard::host {

class jobs_api {
public:
    jobs_api(core::job_store& store, core::dispatcher& dispatcher, const core::route_map& routes,
             const core::provider_map& providers);

    // Answers requests under /v1/jobs; anything else is 404.
    http_server_response handle(const http_server_request& request);

private:
    http_server_response submit(const http_server_request& request);
    http_server_response show(const std::string& job_id);
    http_server_response list_recipients(const std::string& job_id, const std::string& target);

    core::job_store& store_;
    core::dispatcher& dispatcher_;
    const core::route_map& routes_;
    const core::provider_map& providers_;
};

} // namespace switchboard::host
