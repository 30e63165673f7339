// Phone numbers read into E.164 with libphonenumber, or refused with its reason in plain words.
#include <switchboard/core/phone_numbers.hpp>

#include <phonenumbers/phonenumberutil.h>

#include <catch2/catch.hpp>

#include <set>

#include <string>
#include <thread>
#include <vector>

using namespace switchboard::core;

namespace {

std::string e164(std::string_view text, std::string_view region) {
    const phone_number_verdict verdict = normalise_phone_number(text, region);
    INFO("\"" << text << "\" in region \"" << region << "\" refused: " << verdict.reason);
    REQUIRE(verdict.ok());
    CHECK(verdict.reason.empty());
    return verdict.e164;
}

std::string reason(std::string_view text, std::string_view region) {
    const phone_number_verdict verdict = normalise_phone_number(text, region);
    INFO("\"" << text << "\" in region \"" << region << "\" read as " << verdict.e164);
    REQUIRE_FALSE(verdict.ok());
    CHECK(verdict.e164.empty());
    return verdict.reason;
}

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Calls `check` with libphonenumber's example number of every type in every region it knows;
// returns how many there were.
template <typename Check>
std::size_t for_each_example_number(Check check) {
    const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
    std::set<std::string> regions;
    util.GetSupportedRegions(&regions);
    std::size_t examples = 0;
    for (const std::string& region : regions) {
        std::set<PhoneNumberUtil::PhoneNumberType> types;
        util.GetSupportedTypesForRegion(region, &types);
        for (const PhoneNumberUtil::PhoneNumberType type : types) {
            PhoneNumber example;
            if (!util.GetExampleNumberForType(region, type, &example))
                continue;
            INFO(region << " type " << type);
            check(util, example);
            ++examples;
        }
    }
    return examples;
}

} // namespace

TEST_CASE("phone numbers: written with a country code, in any punctuation", "[core][phone]") {
    CHECK(e164("+85255311111", "") == "+85255311111");
    CHECK(e164("+852 5531 1111", "") == "+85255311111");
    CHECK(e164("+852-5531-1111", "") == "+85255311111");
    CHECK(e164("\xEF\xBC\x8B" "85255311111", "") == "+85255311111");  // full-width plus sign
    CHECK(e164("+86 138 0013 8000", "") == "+8613800138000");
    CHECK(e164("+1 650-253-0000", "") == "+16502530000");
    CHECK(e164("+44 7911 123456", "") == "+447911123456");
}

TEST_CASE("phone numbers: written without a country code, read in the default region", "[core][phone]") {
    CHECK(e164("55311111", "HK") == "+85255311111");
    CHECK(e164("(852)55311111", "HK") == "+85255311111");  // the region's own code, in brackets
    CHECK(e164("13800138000", "CN") == "+8613800138000");
    CHECK(e164("8613800138000", "CN") == "+8613800138000");
    CHECK(e164("650-253-0000", "US") == "+16502530000");
    CHECK(e164("55311111", "hk") == "+85255311111");  // region codes in either case
}

TEST_CASE("phone numbers: an international prefix is the default region's", "[core][phone]") {
    CHECK(e164("00852 5531 1111", "CN") == "+85255311111");
    CHECK(e164("00852 5531 1111", "GB") == "+85255311111");
    CHECK(e164("011 852 5531 1111", "US") == "+85255311111");
    // Hong Kong's international prefixes include 008 (libphonenumber: 00(?:30|5[09]|[126-9]?)), so
    // there "00852..." reads as 008, then Mexico's 52, and is refused rather than misrouted.
    CHECK(reason("00852 5531 1111", "HK") == "not a valid number for its region MX");
    CHECK(reason("00852 5531 1111", "US") == "too long");  // 00 is no prefix in the US
}

TEST_CASE("phone numbers: a country code in the text wins over the default region", "[core][phone]") {
    CHECK(e164("+8613800138000", "US") == "+8613800138000");
    CHECK(e164("+85255311111", "CN") == "+85255311111");
    CHECK(e164("+8613800138000", "XX") == "+8613800138000");  // even over an unknown one
}

TEST_CASE("phone numbers: no country code and no region to supply one", "[core][phone]") {
    CHECK(reason("13800138000", "") == "has no country code and no default region is configured");
    CHECK(reason("(852)55311111", "") == "has no country code and no default region is configured");
    CHECK(reason("12345", "") == "has no country code and no default region is configured");
    CHECK(reason("55311111", "XX") == "has no country code and the default region XX is not a supported region");
}

TEST_CASE("phone numbers: refused with libphonenumber's reason", "[core][phone]") {
    SECTION("not a number") {
        CHECK(reason("hello", "") == "not a number");
        CHECK(reason("hello", "HK") == "not a number");
        CHECK(reason("", "HK") == "not a number");
        CHECK(reason("+", "") == "not a number");
    }
    SECTION("invalid country code") {
        CHECK(reason("+999 1234567", "") == "invalid country code");
        CHECK(reason("+999 1234567", "HK") == "invalid country code");
    }
    SECTION("too short") {
        CHECK(reason("12345", "US") == "too short");
        CHECK(reason("+12345", "") == "too short");
        CHECK(reason("+852 123", "") == "too short");
        CHECK(reason("+1 650 253 000", "") == "too short");
    }
    SECTION("too long") {
        CHECK(reason("+1 650 253 00000", "") == "too long");
        CHECK(reason("+852 5531 1111 1111 1111 1111", "") == "too long");
        CHECK(reason("123456789012345678", "US") == "too long");
    }
    SECTION("invalid length") {
        CHECK(reason("+47 222222", "") == "invalid length");  // Norway: 5 or 8 digits
    }
    SECTION("a possible length, but not a number of its region") {
        CHECK(reason("+852 1234 5678", "") == "not a valid number for its region HK");
        CHECK(reason("12345", "HK") == "not a valid number for its region HK");  // HK has 5-digit numbers
        CHECK(reason("+86 138 0013 800", "") == "not a valid number for its region CN");
        // +1 and +44 are shared by several regions: a number that fits none names its code.
        CHECK(reason("+1 555 555 5555", "") == "not a valid number for country code +1");
        CHECK(reason("+44 12345", "") == "not a valid number for country code +44");
    }
}

TEST_CASE("phone numbers: a text longer than any number is refused unread", "[core][phone]") {
    // libphonenumber's parser held a thread for 90 s on 64,000 digits, and for ever on a megabyte.
    CHECK(reason(std::string(1 << 20, '9'), "HK") == "too long: 1048576 characters, more than the 64 any phone number takes");
    CHECK(reason("+" + std::string(64'000, '9'), "") == "too long: 64001 characters, more than the 64 any phone number takes");
    // The longest way of writing a number that is still read: punctuation and an extension.
    CHECK(e164("+1 (650) 253-0000 ext. 1234" + std::string(64 - 27, ' '), "") == "+16502530000");
}

TEST_CASE("phone numbers: a number written in E.164 reads as libphonenumber's full parse reads it, in every region",
          "[core][phone]") {
    // E.164 texts take a quick path; written with spaces they take libphonenumber's own parser.
    const std::size_t compared = for_each_example_number([](const PhoneNumberUtil& util, const PhoneNumber& example) {
        std::string e164;
        std::string spaced;
        util.Format(example, PhoneNumberUtil::E164, &e164);
        util.Format(example, PhoneNumberUtil::INTERNATIONAL, &spaced);
        const phone_number_verdict quick = normalise_phone_number(e164, "");
        const phone_number_verdict full = normalise_phone_number(spaced, "");
        INFO(e164 << " / " << spaced);
        CHECK(quick.e164 == full.e164);
        CHECK(quick.reason == full.reason);
    });
    CHECK(compared > 1000);
    // Invalid numbers in E.164 form still get libphonenumber's reason.
    CHECK(reason("+85212345678", "") == "not a valid number for its region HK");
    CHECK(reason("+9991234567", "") == "invalid country code");
}

TEST_CASE("phone numbers: a number's country is the one libphonenumber places it in, in every region", "[core][phone]") {
    // Destination rules choose by country: the quick reading must agree with the library's own.
    const std::size_t compared = for_each_example_number([](const PhoneNumberUtil& util, const PhoneNumber& example) {
        std::string e164;
        std::string placed;
        util.Format(example, PhoneNumberUtil::E164, &e164);
        util.GetRegionCodeForNumber(example, &placed);
        INFO(e164);
        CHECK(country_of_number(e164) == (placed == "ZZ" ? "" : placed));
    });
    CHECK(compared > 1000);
    CHECK(country_of_number("+8613800138000") == "CN");
    CHECK(country_of_number("+16135550123") == "CA");   // +1 is shared: the area code decides
    CHECK(country_of_number("+16502530000") == "US");
    for (const char* not_e164 : {"", "+", "85255311111", "+852 5531 1111", "+9991234567", "1234567890123456"})
        CHECK(country_of_number(not_e164).empty());
}

TEST_CASE("phone numbers: supported regions", "[core][phone]") {
    for (const char* region : {"HK", "CN", "US", "GB", "hk"})
        CHECK(is_supported_region(region));
    for (const char* region : {"", "ZZ", "001", "XX", "UK", "HKG"})
        CHECK_FALSE(is_supported_region(region));
}

TEST_CASE("phone numbers: read from several threads at once", "[core][phone]") {
    struct sample { const char* text; const char* region; const char* e164; const char* reason; };
    static constexpr sample samples[] = {
        {"+852 5531 1111", "", "+85255311111", ""},
        {"13800138000", "CN", "+8613800138000", ""},
        {"+1 650-253-0000", "HK", "+16502530000", ""},
        {"12345", "US", "", "too short"},
        {"+999 1234567", "", "", "invalid country code"},
        {"hello", "HK", "", "not a number"},
    };
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < mismatches.size(); ++t)
        threads.emplace_back([&mismatches, t] {
            for (int i = 0; i < 2000; ++i) {
                const sample& s = samples[(i + t) % std::size(samples)];
                const phone_number_verdict verdict = normalise_phone_number(s.text, s.region);
                mismatches[t] += verdict.e164 != s.e164 || verdict.reason != s.reason;
            }
        });
    for (std::thread& thread : threads)
        thread.join();
    CHECK(mismatches == std::vector<int>(mismatches.size(), 0));
}
