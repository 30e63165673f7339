#include "fetch.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace switchboard::testing {

core::http_result fetch(const std::string& method, const std::string& url, const std::string& body,
                        const core::http_client_options& options) {
    return core::fetch({method, url, {{"Content-Type", "application/json"}}, body}, options);
}

boost::json::value fetch_json(const std::string& method, const std::string& url, const std::string& body) {
    const core::http_result r = fetch(method, url, body);
    if (!r.ok())
        throw std::runtime_error(method + " " + url + ": " + r.error);
    if (r.response.status < 200 || r.response.status > 299)
        throw std::runtime_error(method + " " + url + ": HTTP " + std::to_string(r.response.status) + " " + r.response.body);
    return boost::json::parse(r.response.body);
}

} // namespace switchboard::testing
