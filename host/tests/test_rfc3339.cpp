// The API's times: every valid RFC 3339 form read exactly, every mistake refused with its field.
#include "rfc3339.hpp"

#include <catch2/catch.hpp>

using switchboard::host::parse_rfc3339;

TEST_CASE("rfc3339: valid times are read to the millisecond, in their zone", "[host][time]") {
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z").unix_ms == 0);
    CHECK(parse_rfc3339("2026-11-23T17:00:00Z").unix_ms == 1'795'453'200'000);
    CHECK(parse_rfc3339("2026-11-24T01:00:00+08:00").unix_ms == 1'795'453'200'000);
    CHECK(parse_rfc3339("2026-11-23T12:30:00-04:30").unix_ms == 1'795'453'200'000);
    CHECK(parse_rfc3339("2026-11-23t17:00:00z").unix_ms == 1'795'453'200'000);
    CHECK(parse_rfc3339("2026-11-23T17:00:00.25Z").unix_ms == 1'795'453'200'250);
    CHECK(parse_rfc3339("2026-11-23T17:00:00.123456789Z").unix_ms == 1'795'453'200'123);
    CHECK(parse_rfc3339("2028-02-29T00:00:00Z").ok());   // a leap year
    CHECK(parse_rfc3339("2000-02-29T00:00:00Z").ok());   // divisible by 400
    CHECK(parse_rfc3339("9999-12-31T23:59:59Z").unix_ms == 253'402'300'799'000);
    CHECK(parse_rfc3339("0001-01-01T00:00:00Z").unix_ms == -62'135'596'800'000);
}

TEST_CASE("rfc3339: a time that does not exist is refused, saying which field is wrong", "[host][time]") {
    const auto problem = [](const char* text) { return parse_rfc3339(text).problem; };
    CHECK(problem("2026-13-01T00:00:00Z") == "the month 13 is not 1 to 12");
    CHECK(problem("2026-02-31T00:00:00Z") == "day 31 does not exist in 2026-02");
    CHECK(problem("2027-02-29T00:00:00Z") == "day 29 does not exist in 2027-02");
    CHECK(problem("1900-02-29T00:00:00Z") == "day 29 does not exist in 1900-02");
    CHECK(problem("2026-11-23T99:00:00Z") == "the hour 99 is not 0 to 23");
    CHECK(problem("2026-11-23T17:60:00Z") == "the minute 60 is not 0 to 59");
    CHECK(problem("2026-11-23T17:00:61Z") == "the second 61 is not 0 to 59");
    CHECK(problem("2026-11-23T17:00:00+99:99") == "the offset hour 99 is not 0 to 23");
    CHECK(problem("2026-11-23T17:00:00+08:60") == "the offset minute 60 is not 0 to 59");
    CHECK(problem("0000-01-01T00:00:00Z") == "the year 0 is not 1 to 9999");
    CHECK(problem("2026-11-23 17:00:00Z") == "expected 'T' between the date and the time");
    CHECK(problem(" 2026-11-23T17:00:00Z") == "expected 4 digits for the year");
    CHECK(problem("2026-11-23T17:00:00Z ") == "unexpected text after the zone");
    CHECK(problem("2026-11-23T17:00:00") == "expected a zone: Z or an offset such as +08:00");
    CHECK(problem("2026-11-23T17:00:00.Z") == "expected 1 to 9 digits after the decimal point");
    CHECK(problem("2026-11-23T17:00:00.1234567890Z") == "expected 1 to 9 digits after the decimal point");
    CHECK(problem("2026-1-23T17:00:00Z") == "expected 2 digits for the month");
    CHECK(problem("") == "expected 4 digits for the year");
    CHECK(problem("+2026-11-23T17:00:00Z") == "expected 4 digits for the year");
}
