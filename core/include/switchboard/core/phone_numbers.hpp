// Phone numbers as recipients: any way a person writes one, read into its E.164 form
// ("+85255311111") with libphonenumber, or refused with libphonenumber's reason in plain words.
// libphonenumber's own headers stay in phone_numbers.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::core {

// The result of reading a phone number: its E.164 form, or why it is not a valid number.
struct phone_number_verdict {
    std::string e164;    // "+85255311111"; empty when the number was refused
    std::string reason;  // "too short", "invalid country code"...; empty when accepted
    bool ok() const { return !e164.empty(); }
};

// Texts longer than this are refused unread, however they are written.
inline constexpr std::size_t longest_phone_number_text = 64;

// Reads `text` ("+852 5531 1111", "(852)55311111" with region "HK", "00852 5531 1111" with a region
// whose international prefix is 00) as a phone number, using `default_region` (ISO 3166-1 alpha-2,
// e.g. "HK", either case; may be empty) for numbers written without a country code. A country
// code in the text ("+86...") wins over the default region. Only numbers valid for their region in
// libphonenumber's metadata are accepted. Thread safe.
phone_number_verdict normalise_phone_number(std::string_view text, std::string_view default_region);

// The country (ISO 3166-1 alpha-2, "CN") of a valid number in E.164 ("+8613800138000"), as
// libphonenumber places it; empty when it cannot. Thread safe.
std::string country_of_number(std::string_view e164);

// Whether libphonenumber knows `region` ("HK", "CN", "US"..., either case), so a configured
// default region can be checked once at start-up. Thread safe.
bool is_supported_region(std::string_view region);

} // namespace switchboard::core
