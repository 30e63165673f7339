// The bytes a client sends, read as the daemon's HTTP server reads a request before the API sees
// it: request line, headers and body bounded, HTTP/1.1 without Host refused.
#include "http_server.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace switchboard::host;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    http_server_limits limits;
    limits.max_body_bytes = 64 * 1024;
    read_http_request(std::string_view(reinterpret_cast<const char*>(data), size), limits);
    return 0;
}
