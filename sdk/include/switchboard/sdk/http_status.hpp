// What a vendor's HTTP status says about a whole call when nothing in its body says more. Every
// plugin needs the same table; getting it wrong resends what was refused or drops what was only
// throttled.
#pragma once

#include <switchboard/sdk/error.hpp>
#include <switchboard/sdk/messages.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::sdk {

// nullopt for 2xx; otherwise the error to throw, its message naming the status, `vendor` and the
// start of the body:
//   401, 403                        authentication (check the credentials)
//   408, 425, 429, 500-599           transient, with Retry-After when the vendor gave one
//   any other status                 permanent
inline std::optional<error> http_status_error(const http_response& response, std::string_view vendor) {
    const int s = response.status;
    if (s >= 200 && s < 300)
        return std::nullopt;
    std::string message = "HTTP " + std::to_string(s) + " from " + std::string(vendor);
    if (!response.body.empty())
        message += ": " + excerpt(response.body);
    if (s == 401 || s == 403)
        return error(status::authentication, message + " (check the credentials)");
    if (s == 408 || s == 425 || s == 429 || (s >= 500 && s < 600))
        return error(status::transient, message, response.retry_after_ms());
    return error(status::permanent, message);
}

// Throws http_status_error's error, if any.
inline void throw_for_status(const http_response& response, std::string_view vendor) {
    if (std::optional<error> e = http_status_error(response, vendor))
        throw *e;
}

} // namespace switchboard::sdk
