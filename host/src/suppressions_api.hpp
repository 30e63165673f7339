// The suppression list over HTTP: addresses that must never be messaged, on one channel or all.
//   GET    /v1/suppressions?offset=&limit=          the entries, in address order
//   POST   /v1/suppressions {"entries": [...]}       adds entries (or replaces their reason)
//   DELETE /v1/suppressions/{address}?channel=sms    removes one ("*", the default: every channel's)
// Phone numbers are read into E.164 as recipients are (the default region for numbers without a
// country code), so "+852 5531 1111" and "55311111" name the same entry.
#pragma once

#include "http_server.hpp"

#include <switchboard/core/route.hpp>

#include <set>
#include <string>

namespace switchboard::core {
class job_store;
}

namespace switchboard::host {

class suppressions_api {
public:
    // `channels`: every channel the configured providers serve, for checking an entry's channel.
    suppressions_api(core::job_store& store, const core::provider_map& providers, std::string default_region);

    // The answer for a request under /v1/suppressions; nothing for any other path.
    std::optional<http_server_response> handle(const http_server_request& request);

private:
    http_server_response list(const std::string& target) const;
    http_server_response add(const http_server_request& request);
    http_server_response remove(const std::string& address, const std::string& target);
    // `address` as the list keeps it for `channel`: E.164 for a phone number. Throws bad_request
    // (naming `field`) for a channel of phone numbers that `address` is not one of.
    std::string stored_address(const std::string& address, const std::string& channel, const std::string& field) const;
    void check_channel(const std::string& channel, const std::string& field) const;

    core::job_store& store_;
    std::set<std::string> channels_;
    std::string default_region_;
};

} // namespace switchboard::host
