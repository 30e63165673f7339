#include "api_access.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <openssl/crypto.h>

namespace switchboard::host {

namespace {

const std::string* header(const http_server_request& request, std::string_view name) {
    for (const auto& [key, value] : request.headers)
        if (boost::algorithm::iequals(key, name))
            return &value;
    return nullptr;
}

// Constant time in the content; keys of another length differ at once, which tells nothing useful.
bool same_key(const std::string& given, const std::string& expected) {
    return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

} // namespace

api_access::api_access(std::map<std::string, std::string> keys, bool open) : keys_(std::move(keys)), open_(open) {}

std::optional<std::string> api_access::client_of(const http_server_request& request) const {
    const std::string* authorization = header(request, "Authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (authorization != nullptr && boost::algorithm::istarts_with(*authorization, bearer)) {
        const std::string given = authorization->substr(bearer.size());
        for (const auto& [name, key] : keys_)
            if (same_key(given, key))
                return name;
    }
    if (open_)
        return std::string("anonymous");
    return std::nullopt;
}

http_handler api_access::guard(http_handler inner) const {
    return [this, inner = std::move(inner)](const http_server_request& request) -> http_server_response {
        const std::string path = request.target.substr(0, request.target.find('?'));
        if (path == "/healthz" || path == "/readyz")
            return inner(request);
        const std::optional<std::string> client = client_of(request);
        if (!client)
            return {401, "application/json",
                    R"({"code":"unauthorized","message":"send an API key as 'Authorization: Bearer KEY'"})",
                    {{"WWW-Authenticate", "Bearer"}}};
        http_server_request named = request;
        named.client = *client;
        return inner(named);
    };
}

} // namespace switchboard::host
