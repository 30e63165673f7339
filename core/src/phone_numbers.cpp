// The one file that includes libphonenumber. The library's PhoneNumberUtil is a process-wide
// singleton created on first use (pthread_once in Debian's build) whose const methods are safe to
// call from several threads at once (its regular-expression cache takes a mutex); nothing here
// keeps state of its own.
#include <switchboard/core/phone_numbers.hpp>

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <list>
#include <set>

namespace switchboard::core {

namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const PhoneNumberUtil& util() {
    static const PhoneNumberUtil& instance = *PhoneNumberUtil::GetInstance();
    return instance;
}

// libphonenumber's region codes are upper case ("HK"); "ZZ" is its unknown region.
std::string region_code(std::string_view region) {
    std::string code(region);
    std::transform(code.begin(), code.end(), code.begin(),
                   [](unsigned char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : static_cast<char>(c); });
    return code;
}

constexpr std::string_view unknown_region = "ZZ";

// Whether the text carries a country code of its own: a plus sign, ASCII or full width (U+FF0B).
bool has_plus(std::string_view text) {
    return text.find('+') != std::string_view::npos || text.find("\xEF\xBC\x8B") != std::string_view::npos;
}

phone_number_verdict refused(std::string reason) { return {{}, std::move(reason)}; }

const char* parse_reason(PhoneNumberUtil::ErrorType error) {
    switch (error) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR: return "invalid country code";
    case PhoneNumberUtil::NOT_A_NUMBER: return "not a number";
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN: return "too short";
    case PhoneNumberUtil::TOO_LONG_NSN: return "too long";
    case PhoneNumberUtil::NO_PARSING_ERROR: break;
    }
    return "not a number";
}

// Why a parsed number is not valid: its length, or else its digits for its region.
std::string invalid_reason(const PhoneNumber& number) {
    switch (util().IsPossibleNumberWithReason(number)) {
    case PhoneNumberUtil::TOO_SHORT: return "too short";
    case PhoneNumberUtil::TOO_LONG: return "too long";
    case PhoneNumberUtil::INVALID_LENGTH: return "invalid length";
    case PhoneNumberUtil::INVALID_COUNTRY_CODE: return "invalid country code";
    case PhoneNumberUtil::IS_POSSIBLE:
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY: break;
    }
    std::string region;
    util().GetRegionCodeForNumber(number, &region);
    // A country code shared by several regions (+1) names none when the number fits none of them.
    if (region.empty() || region == unknown_region)
        return "not a valid number for country code +" + std::to_string(number.country_code());
    return "not a valid number for its region " + region;
}

// A number written exactly as E.164 ("+", a country code, a national number not starting with
// 0; 7 to 15 digits in all) that libphonenumber holds valid, read without its parser: Parse spends
// some 14 µs a number on extracting, extension and prefix patterns that such a text never needs,
// and a job arrives with a million of them. Whatever this does not vouch for (another writing, an
// invalid number, a leading zero) goes through the full parse, which also says why.
bool valid_as_written_in_e164(std::string_view text) {
    const std::string_view digits = text.substr(std::min<std::size_t>(1, text.size()));
    if (text.empty() || text.front() != '+' || digits.size() < 7 || digits.size() > 15 || digits.front() == '0' ||
        digits.find_first_not_of("0123456789") != std::string_view::npos)
        return false;
    for (std::size_t length = 1; length <= 3; ++length) {   // country codes are prefix-free
        const int country_code = std::stoi(std::string(digits.substr(0, length)));
        std::string region;
        util().GetRegionCodeForCountryCode(country_code, &region);
        if (region == unknown_region)
            continue;
        const std::string_view national = digits.substr(length);
        if (national.empty() || national.front() == '0')
            return false;
        PhoneNumber number;
        number.set_country_code(country_code);
        number.set_national_number(std::stoull(std::string(national)));
        return util().IsValidNumber(number);
    }
    return false;
}

} // namespace

phone_number_verdict normalise_phone_number(std::string_view text, std::string_view default_region) {
    // libphonenumber's time grows far faster than the text (64,000 digits held a thread for 90 s,
    // 10 MB for ever); no way of writing a phone number, extension included, needs this much.
    if (text.size() > longest_phone_number_text)
        return refused("too long: " + std::to_string(text.size()) + " characters, more than the " +
                       std::to_string(longest_phone_number_text) + " any phone number takes");
    if (valid_as_written_in_e164(text))
        return {std::string(text), {}};
    const std::string region = default_region.empty() ? std::string(unknown_region) : region_code(default_region);
    PhoneNumber number;
    const PhoneNumberUtil::ErrorType error = util().Parse(std::string(text), region, &number);
    if (error == PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR && !has_plus(text)) {
        // Written without a country code, and the default region cannot supply one.
        if (default_region.empty())
            return refused("has no country code and no default region is configured");
        if (!is_supported_region(region))
            return refused("has no country code and the default region " + region + " is not a supported region");
    }
    if (error != PhoneNumberUtil::NO_PARSING_ERROR)
        return refused(parse_reason(error));
    if (!util().IsValidNumber(number))
        return refused(invalid_reason(number));
    phone_number_verdict verdict;
    util().Format(number, PhoneNumberUtil::E164, &verdict.e164);
    return verdict;
}

std::string country_of_number(std::string_view e164) {
    // Read as E.164 is written, without Parse (some 14 µs a number): its country code names the
    // country, unless several share it (+1, +7, +44), and then the number's digits decide.
    const std::string_view digits = e164.substr(std::min<std::size_t>(1, e164.size()));
    if (e164.empty() || e164.front() != '+' || digits.empty() || digits.size() > 15 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos)
        return {};
    for (std::size_t length = 1; length <= std::min<std::size_t>(3, digits.size() - 1); ++length) {
        const int country_code = std::stoi(std::string(digits.substr(0, length)));
        std::list<std::string> regions;
        util().GetRegionCodesForCountryCallingCode(country_code, &regions);
        if (regions.empty())
            continue;
        if (regions.size() == 1)
            return regions.front() == unknown_region ? std::string() : regions.front();
        PhoneNumber number;
        const std::string_view national = digits.substr(length);
        if (national.front() == '0') {
            // Italy's leading zero (+39 06...) is the parser's to read.
            if (util().Parse(std::string(e164), std::string(unknown_region), &number) != PhoneNumberUtil::NO_PARSING_ERROR)
                return {};
        } else {
            number.set_country_code(country_code);
            number.set_national_number(std::stoull(std::string(national)));
        }
        std::string region;
        util().GetRegionCodeForNumber(number, &region);
        return region == unknown_region ? std::string() : region;
    }
    return {};
}

bool is_supported_region(std::string_view region) {
    static const std::set<std::string> supported = [] {
        std::set<std::string> regions;
        util().GetSupportedRegions(&regions);
        return regions;
    }();
    return supported.count(region_code(region)) != 0;
}

} // namespace switchboard::core
