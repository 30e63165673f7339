// Blocking HTTP for tests, over the product's own client.
#pragma once

#include <switchboard/core/http_client.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <string>

namespace switchboard::testing {

core::http_result fetch(const std::string& method, const std::string& url, const std::string& body = {},
                        const core::http_client_options& options = {});

// One client kept for many requests, on a thread of its own: connections are kept alive, and the
// client's set-up (its TLS context, with the system's CA store) is paid once, not per request as
// with fetch(), so a request's time is the server's.
class kept_client {
public:
    explicit kept_client(const core::http_client_options& options = {});
    ~kept_client();
    kept_client(const kept_client&) = delete;
    kept_client& operator=(const kept_client&) = delete;

    core::http_result fetch(const std::string& method, const std::string& url, const std::string& body = {});

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// GET or POST expecting a 2xx JSON answer; throws std::runtime_error with the answer otherwise.
boost::json::value fetch_json(const std::string& method, const std::string& url, const std::string& body = {});

} // namespace switchboard::testing
