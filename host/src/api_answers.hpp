// The shapes every JSON endpoint of the API answers with, and its query parameters read one way.
#pragma once

#include "http_server.hpp"

#include <boost/json/fwd.hpp>
#include <boost/url/params_view.hpp>

#include <cstddef>
#include <string>

namespace switchboard::host {

// `body` as JSON with `status`.
http_server_response json_answer(int status, const boost::json::value& body);

// The API's one error shape: {"code", "message", "field"} (the field when there is one).
http_server_response error_answer(int status, const std::string& code, const std::string& message,
                                  const std::string& field = {});

// The whole number in query parameter `name`, `fallback` when absent. Throws bad_request naming
// it for anything but a whole number up to `max`.
std::size_t query_number(const boost::urls::params_view& params, const char* name, std::size_t fallback, std::size_t max);

} // namespace switchboard::host
