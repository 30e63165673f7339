// Blocking HTTP for tests, over the product's own client.
#pragma once

#include <switchboard/core/http_client.hpp>

#include <boost/json/value.hpp>

namespace switchboard::testing {

core::http_result fetch(const std::string& method, const std::string& url, const std::string& body = {},
                        const core::http_client_options& options = {});

// GET or POST expecting a 2xx JSON answer; throws std::runtime_error with the answer otherwise.
boost::json::value fetch_json(const std::string& method, const std::string& url, const std::string& body = {});

} // namespace switchboard::testing
