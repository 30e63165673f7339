// HTTP messages as the host holds them: owning copies, independent of Beast and of the ABI.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

struct http_header {
    std::string name;
    std::string value;
};

// The first header named `name` (case-insensitive), or nullptr.
const std::string* find_header(const std::vector<http_header>& headers, std::string_view name);

struct http_request {
    std::string method;
    std::string url;     // absolute: scheme://host[:port]/path?query
    std::vector<http_header> headers;
    std::string body;
};

struct http_response {
    int status = 0;
    std::vector<http_header> headers;
    std::string body;
};

} // namespace switchboard::core
