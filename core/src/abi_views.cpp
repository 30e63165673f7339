#include <switchboard/core/abi_views.hpp>

namespace switchboard::core {

namespace {
constexpr sb_abi_version host_abi{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};
}

std::vector<sb_header> header_views(const std::vector<http_header>& headers) {
    std::vector<sb_header> views;
    views.reserve(headers.size());
    for (const http_header& h : headers)
        views.push_back(sb_header{to_sb_str(h.name), to_sb_str(h.value)});
    return views;
}

sb_http_response response_view(const http_response& response, const std::vector<sb_header>& headers) {
    sb_http_response raw{};
    raw.struct_size = sizeof raw;
    raw.abi = host_abi;
    raw.status = response.status;
    raw.headers = headers.data();
    raw.header_count = headers.size();
    raw.body = to_sb_str(response.body);
    return raw;
}

sb_http_request request_view(const http_request& request, const std::vector<sb_header>& headers) {
    sb_http_request raw{};
    raw.struct_size = sizeof raw;
    raw.abi = host_abi;
    raw.method = to_sb_str(request.method);
    raw.url = to_sb_str(request.url);
    raw.headers = headers.data();
    raw.header_count = headers.size();
    raw.body = to_sb_str(request.body);
    return raw;
}

} // namespace switchboard::core
