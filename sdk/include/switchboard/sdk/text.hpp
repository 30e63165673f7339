// Small readings of text that every vendor plugin makes: phone digits, character counts, and the
// lenient reading of a vendor's answer, where what it says matters more than its JSON type.
#pragma once

#include <switchboard/sdk/json.hpp>

#include <algorithm>
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
