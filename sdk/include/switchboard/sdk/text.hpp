// Small readings of text that every vendor plugin makes: phone digits, character counts, and the
// lenient reading of a vendor's answer, where what it says matters more than its JSON type.
#pragma once

#include <switchboard/sdk/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::sdk {

// The digits of a number alone: vendors echo "(852)55311111" or "85255311111" for +85255311111.
inline std::string digits_of(std::string_view phone) {
    std::string out;
    for (char c : phone)
        if (c >= '0' && c <= '9')
            out += c;
    return out;
}

// Why `to` is not an E.164 number ('+', then 7 to 15 digits, the first not 0), or nothing when it
// is. `example`, a number of the vendor's own country, shows the form when `to` is empty.
inline std::optional<std::string> e164_problem(std::string_view to, std::string_view example) {
    const auto quoted = [to] { return "'" + std::string(to) + "'"; };  // only for a problem: most have none
    if (to.empty())
        return "is empty; expected E.164 such as " + std::string(example);
    if (to.front() != '+')
        return "must be E.164 and start with '+' and the country code, got " + quoted();
    const std::string_view digits = to.substr(1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
        return "must be '+' followed by digits only, got " + quoted();
    if (digits.size() < 7 || digits.size() > 15)
        return "must have 7 to 15 digits after '+', got " + std::to_string(digits.size()) + " in " + quoted();
    if (digits.front() == '0')
        return "must not start with +0 (no country code does), got " + quoted();
    return std::nullopt;
}

// Characters as vendors count them: Unicode code points of valid UTF-8 (Boost.JSON guarantees it).
inline std::size_t code_points(std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

namespace detail {

// The length of the valid UTF-8 sequence at the start of `text`, or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF are not).
inline std::size_t utf8_sequence(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80)
        return 1;
    const std::size_t size = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
    if (size == 0 || text.size() < size)
        return 0;
    for (std::size_t i = 1; i < size; ++i)
        if ((byte(i) & 0xC0) != 0x80)
            return 0;
    if ((lead == 0xE0 && byte(1) < 0xA0) || (lead == 0xED && byte(1) > 0x9F) || (lead == 0xF0 && byte(1) < 0x90) ||
        (lead == 0xF4 && byte(1) > 0x8F))
        return 0;
    return size;
}

// Whether the eight bytes of `text` at `at` are all ASCII (false when fewer remain).
inline bool eight_ascii_bytes_at(std::string_view text, std::size_t at) {
    std::uint64_t eight = 0;
    if (at + sizeof eight > text.size())
        return false;
    std::memcpy(&eight, text.data() + at, sizeof eight);
    return (eight & 0x8080808080808080ull) == 0;
}

} // namespace detail

// Whether `text` is valid UTF-8.
inline bool is_valid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        if (detail::eight_ascii_bytes_at(text, i)) {  // documents are mostly ASCII, and this reads all of them
            i += 8;
            continue;
        }
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = detail::utf8_sequence(text.substr(i));
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

// `text` with each byte that is not part of valid UTF-8 replaced by U+FFFD. A vendor's answer may
// hold any bytes, and an excerpt may cut a character in two; what a plugin hands the host (JSON
// documents, error messages) must be UTF-8, or one bad byte makes a whole result unreadable.
inline std::string valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = detail::utf8_sequence(text.substr(i));
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

// A string as is, an integer as its decimal text, anything else as nothing.
inline std::optional<std::string> integer_or_string(const json::value& value) {
    switch (value.kind()) {
    case json::kind::string: return std::string(value.get_string());
    case json::kind::int64: return std::to_string(value.get_int64());
    case json::kind::uint64: return std::to_string(value.get_uint64());
    default: return std::nullopt;
    }
}

// A field of a vendor's answer as text, "" when absent or of another kind.
inline std::string text_field(const json::object& object, std::string_view key) {
    const json::value* v = object.if_contains(key);
    return v != nullptr ? integer_or_string(*v).value_or("") : "";
}

// A field of a vendor's answer as an array, nullptr when absent or of another kind.
inline const json::array* array_field(const json::object& object, std::string_view key) {
    const json::value* v = object.if_contains(key);
    return v != nullptr ? v->if_array() : nullptr;
}

} // namespace switchboard::sdk
