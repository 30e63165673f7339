// Times as the API reads them: RFC 3339 in full ("2026-11-23T17:00:00Z",
// "2026-11-23T17:00:00.250+08:00"), checked field by field, never normalised: month 13, February 31
// or hour 99 are mistakes to report, not dates to roll over into the next month.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::host {

struct rfc3339_time {
    std::int64_t unix_ms = 0;
    std::string problem;   // empty when the text is a valid time; else what is wrong with it
    bool ok() const { return problem.empty(); }
};

// Reads `text` as an RFC 3339 date-time with a zone ("Z" or "+HH:MM"): years 0001 to 9999, a day
// that exists in its month, seconds 00 to 59, up to 9 fraction digits (milliseconds are kept).
rfc3339_time parse_rfc3339(std::string_view text);

} // namespace switchboard::host
