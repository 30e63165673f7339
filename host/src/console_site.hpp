// Serves the web console at /console/: its embedded pages, with headers that keep a job's values
// (recipient refs, vendors' reasons) from ever running as code in an operator's browser. The pages
// carry no secret, so they need no API key; the scripts call the API with the key the operator
// types in.
#pragma once

#include "http_server.hpp"

#include <optional>

namespace switchboard::host {

// The answer for GET under /console (a redirect from /console to /console/); nothing for
// any other request.
std::optional<http_server_response> serve_console(const http_server_request& request);

} // namespace switchboard::host
