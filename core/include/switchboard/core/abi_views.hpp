// The ABI's borrowed views (sb_http_request, sb_http_response, sb_header) of HTTP messages the host
// owns: what every call into a plugin with a message hands over. Valid while the message and the
// header vector live.
#pragma once

#include <switchboard/core/http_message.hpp>
#include <switchboard/provider.h>

#include <string_view>
#include <vector>

namespace switchboard::core {

inline std::string_view view(sb_str s) noexcept {
    return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
}
inline sb_str to_sb_str(std::string_view s) noexcept { return sb_str{s.data(), s.size()}; }

std::vector<sb_header> header_views(const std::vector<http_header>& headers);
sb_http_response response_view(const http_response& response, const std::vector<sb_header>& headers);
sb_http_request request_view(const http_request& request, const std::vector<sb_header>& headers);

} // namespace switchboard::core
