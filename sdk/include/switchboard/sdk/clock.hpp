// The time formats vendors sign and send. The host passes "now" into every encode call as
// milliseconds since the Unix epoch, so plugins never read a clock and tests are repeatable.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace switchboard::sdk {

// Formats `unix_ms` with strftime `pattern`, shifted by `utc_offset_minutes` (0 for UTC,
// 480 for Beijing time). Sub-second digits are dropped.
inline std::string format_time(std::int64_t unix_ms, const char* pattern, int utc_offset_minutes = 0) {
    const std::time_t seconds =
        static_cast<std::time_t>(unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0)) + utc_offset_minutes * 60;
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char buffer[64];
    const std::size_t size = std::strftime(buffer, sizeof buffer, pattern, &parts);
    return std::string(buffer, size);
}

// "20240619T071306Z": Volcengine's X-Date, Huawei's X-Sdk-Date, AWS SigV4.
inline std::string utc_compact(std::int64_t unix_ms) { return format_time(unix_ms, "%Y%m%dT%H%M%SZ"); }

// "2024-06-19T07:13:06Z": ISO 8601 / RFC 3339 in UTC, Alibaba's x-acs-date.
inline std::string utc_iso8601(std::int64_t unix_ms) { return format_time(unix_ms, "%Y-%m-%dT%H:%M:%SZ"); }

// "1718781186": whole Unix seconds, uSpeedo's X-Timestamp.
inline std::string unix_seconds(std::int64_t unix_ms) {
    return std::to_string(unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0));
}

// Whole Unix seconds a vendor sent, as milliseconds; 0 (no time known) for a value no clock shows:
// before 1970 or past the year 9999 (whose milliseconds would not even fit in 64 bits).
inline std::int64_t unix_ms_of_seconds(std::int64_t seconds) {
    constexpr std::int64_t last_second_of_9999 = 253'402'300'799;
    return seconds < 0 || seconds > last_second_of_9999 ? 0 : seconds * 1000;
}

} // namespace switchboard::sdk
