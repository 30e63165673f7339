#include "callback_url.hpp"

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/algorithm/string/predicate.hpp>
#include <boost/algorithm/string/trim.hpp>

#include <algorithm>

namespace switchboard::host {

namespace {

// A header's first value: proxies in a chain append theirs, so the first is the client's side.
std::string first_value(const http_server_request& request, std::string_view name) {
    for (const auto& [key, value] : request.headers)
        if (boost::algorithm::iequals(key, name))
            return boost::algorithm::trim_copy(value.substr(0, value.find(',')));
    return {};
}

bool trusted(const std::string& peer, const callback_origin& origin) {
    return !peer.empty() &&
           std::find(origin.trusted_proxies.begin(), origin.trusted_proxies.end(), peer) != origin.trusted_proxies.end();
}

} // namespace

std::string callback_url(const http_server_request& request, const callback_origin& origin) {
    if (!origin.public_url.empty())
        return origin.public_url + request.target;
    std::string scheme = "http";
    std::string host = first_value(request, "Host");
    if (trusted(request.peer, origin)) {
        if (const std::string proto = boost::algorithm::to_lower_copy(first_value(request, "X-Forwarded-Proto"));
            proto == "http" || proto == "https")
            scheme = proto;
        if (std::string forwarded = first_value(request, "X-Forwarded-Host"); !forwarded.empty())
            host = std::move(forwarded);
    }
    return scheme + "://" + (host.empty() ? "localhost" : host) + request.target;
}

} // namespace switchboard::host
