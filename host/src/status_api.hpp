// What the daemon tells operators about itself:
//   GET /metrics        Prometheus text exposition: jobs and recipients by state, vendor calls by
//                       provider and outcome, call latency, queue depth, rate-limit waits, receipts
//   GET /v1/providers   each provider instance: plugin, version, channels, its pace, its health
//                       from recent calls, and its last failed calls
//   GET /v1/routes      each configured route: its steps' providers and channels
#pragma once

#include "http_server.hpp"

#include <switchboard/core/route.hpp>

#include <optional>

namespace switchboard::core {
class dispatcher;
}

namespace switchboard::host {

class metrics;

class status_api {
public:
    status_api(metrics& metrics, const core::dispatcher& dispatcher, const core::provider_map& providers,
               const core::route_map& routes);

    // The answer for GET /metrics, /v1/providers and /v1/routes; nothing for any other request.
    std::optional<http_server_response> handle(const http_server_request& request);

private:
    http_server_response providers() const;
    http_server_response routes() const;

    metrics& metrics_;
    const core::dispatcher& dispatcher_;
    const core::provider_map& providers_;
    const core::route_map& routes_;
};

} // namespace switchboard::host
