// Where vendors push delivery receipts:
//   POST /v1/receipts/{provider-instance}[?token=...]
// Vendors hold no API key, so these requests skip the key check. The provider's plugin verifies
// and parses each callback (a forged one is refused and logged, never applied); an instance
// configured with a receipt_token also requires ?token=<it>, for vendors that sign nothing.
#pragma once

#include "callback_url.hpp"
#include "http_server.hpp"

#include <switchboard/core/route.hpp>

#include <map>
#include <string>

namespace switchboard::core {
class dispatcher;
}

namespace switchboard::host {

inline constexpr std::string_view receipts_path_prefix = "/v1/receipts/";

class receipts_api {
public:
    // `tokens`: provider instance -> the token its callbacks must carry (secrets).
    // `origin`: how the URL the vendor posted to is rebuilt behind a proxy.
    receipts_api(core::dispatcher& dispatcher, const core::provider_map& providers,
                 std::map<std::string, std::string> tokens, callback_origin origin);

    http_server_response handle(const http_server_request& request);

private:
    core::dispatcher& dispatcher_;
    const core::provider_map& providers_;
    std::map<std::string, std::string> tokens_;
    callback_origin origin_;
};

} // namespace switchboard::host
