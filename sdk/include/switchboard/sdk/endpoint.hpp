// A vendor's base URL as a plugin's configuration gives it ("endpoint"): where the plugin's
// requests go, so that the same plugin talks to the vendor or to a simulator.
#pragma once

#include <switchboard/sdk/error.hpp>

#include <string>

namespace switchboard::sdk {

struct base_url {
    std::string origin;   // "https://host[:port]", as written
    std::string host;     // "host[:port]": what the Host header and most signatures name
    std::string path;     // a path prefix, "" or "/prefix", without a trailing slash
    bool https = false;
};

// Reads `given`, the value of configuration field `field` ("config.endpoint"): http or https, a
// host, maybe a path; no query or fragment; trailing slashes dropped. Throws field_error naming
// the field and the value.
inline base_url read_base_url(const std::string& given, const std::string& field) {
    base_url out;
    out.https = given.rfind("https://", 0) == 0;
    const std::size_t scheme = out.https ? 8 : given.rfind("http://", 0) == 0 ? 7 : 0;
    if (scheme == 0)
        throw field_error(field, "must start with http:// or https://, got '" + given + "'");
    if (given.find_first_of("?#") != std::string::npos)
        throw field_error(field, "must be a base URL without query or fragment, got '" + given + "'");
    std::string url = given;
    while (url.size() > scheme && url.back() == '/')
        url.pop_back();
    const std::size_t path = url.find('/', scheme);
    out.origin = url.substr(0, path);
    out.host = out.origin.substr(scheme);
    out.path = path == std::string::npos ? "" : url.substr(path);
    if (out.host.empty())
        throw field_error(field, "has no host: '" + given + "'");
    return out;
}

} // namespace switchboard::sdk
