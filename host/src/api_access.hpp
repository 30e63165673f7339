// Who may use the HTTP API: named API keys sent as "Authorization: Bearer KEY", compared in
// constant time, so that logs can say which client acted. Health endpoints need no key.
#pragma once

#include "http_server.hpp"

#include <map>
#include <optional>
#include <string>

namespace switchboard::host {

class api_access {
public:
    // `keys`: client name -> key. `open`: serve without keys (the configuration must say so).
    api_access(std::map<std::string, std::string> keys, bool open);

    // The name of the client the request's key belongs to ("anonymous" when the API is open), or
    // nothing when it has no valid key.
    std::optional<std::string> client_of(const http_server_request& request) const;

    // Wraps `inner`: requests without a valid key get 401; /healthz and /readyz pass.
    http_handler guard(http_handler inner) const;

private:
    std::map<std::string, std::string> keys_;
    bool open_;
};

} // namespace switchboard::host
