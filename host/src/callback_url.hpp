// The URL a vendor posted a receipt callback to, as a plugin must see it to check a signature that
// covers the URL (Twilio-style). Behind a TLS proxy the daemon itself is reached over plain HTTP
// on another host name, so the URL is rebuilt from what the operator configured: a fixed public
// URL, or the X-Forwarded-Proto/X-Forwarded-Host headers, believed only from trusted proxies.
#pragma once

#include "http_server.hpp"

#include <string>
#include <vector>

namespace switchboard::host {

struct callback_origin {
    std::string public_url;                    // "https://gw.example.com[/prefix]", no trailing '/'; empty: none
    std::vector<std::string> trusted_proxies;  // IP addresses in canonical form (as inet_ntop writes them)
};

// public_url + the request's target when one is configured; else, from a trusted proxy, the
// forwarded scheme and host; else "http://" + the Host header.
std::string callback_url(const http_server_request& request, const callback_origin& origin);

} // namespace switchboard::host
