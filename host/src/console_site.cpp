#include "console_site.hpp"

#include "console_assets.hpp"

namespace switchboard::host {

namespace {

// Scripts and styles from this origin only, in files (never inline), and API calls to it alone:
// markup that slipped into a page could neither run nor send anything anywhere.
constexpr const char* content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::vector<std::pair<std::string, std::string>> page_headers() {
    return {{"Content-Security-Policy", content_security_policy},
            {"X-Content-Type-Options", "nosniff"},
            {"Referrer-Policy", "no-referrer"},
            {"X-Frame-Options", "DENY"},
            {"Cache-Control", "no-cache"}};
}

} // namespace

std::optional<http_server_response> serve_console(const http_server_request& request) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (request.method != "GET")
        return std::nullopt;
    if (path == "/console")
        return http_server_response{308, "text/plain; charset=utf-8", "the console is at /console/\n",
                                    {{"Location", "/console/"}}};
    const std::string prefix = "/console/";
    if (path.rfind(prefix, 0) != 0)
        return std::nullopt;
    const std::string name = path.size() == prefix.size() ? "index.html" : path.substr(prefix.size());
    for (const console_asset& asset : console_assets())
        if (asset.name == name)
            return http_server_response{200, std::string(asset.content_type), std::string(asset.body), page_headers()};
    return http_server_response{404, "text/plain; charset=utf-8", "the console has no such page: its pages are under /console/\n", page_headers()};
}

} // namespace switchboard::host
