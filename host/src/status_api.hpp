// What the daemon tells operators about itself:
//   GET /metrics        Prometheus text exposition: jobs and recipients by state, vendor calls by
//                       provider and outcome, call latency, queue depth, rate-limit waits, receipts
//   GET /v1/providers   each provider instance: plugin, version, channels, its pace, and its health
//                       from recent calls
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
    status_api(metrics& metrics, const core::dispatcher& dispatcher, const core::provider_map& providers);

    // The answer for GET /metrics and GET /v1/providers; nothing for any other request.
    std::optional<http_server_response> handle(const http_server_request& request);

private:
    http_server_response providers() const;

    metrics& metrics_;
    const core::dispatcher& dispatcher_;
    const core::provider_map& providers_;
};

} // namespace switchboard::host
