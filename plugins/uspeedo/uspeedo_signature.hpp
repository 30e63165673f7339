// uSpeedo's request signature for the "action" endpoint (POST /api), as the official SDKs compute
// it (Go uspeedo/auth, Python uspeedo/core/auth) and docs/sms/api/signature-1.md publishes it:
//
//   plaintext   = for each top-level key in byte order: key + enc(value), then the secret
//   X-Signature = lower-case hex of SHA-1(plaintext)
//
// The signed map is the JSON body itself, so the caller signs exactly the object it serializes.
// X-Timestamp and X-Nonce are sent beside the signature but are not part of it.
#pragma once

#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>
#include <switchboard/sdk/error.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::uspeedo {

// A double as Go's strconv.FormatFloat(f, 'f', -1, 64) prints it: the shortest digits that read
// back the same, never an exponent (1e21 -> "1000000000000000000000").
inline std::string shortest_decimal(double value) {
    char buffer[400];  // the longest fixed form of a double is under 330 characters
    const auto written = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
    return std::string(buffer, written.ptr);
}

namespace detail {

inline void append_signed(std::string& out, const boost::json::value& value);

// Keys in byte order: std::string_view compares as unsigned bytes, which is what Go's sort does.
inline void append_signed(std::string& out, const boost::json::object& object) {
    // A call's thousand small objects are sorted on the stack; only a large one takes the heap.
    constexpr std::size_t on_stack = 16;
    std::array<const boost::json::key_value_pair*, on_stack> few;
    std::vector<const boost::json::key_value_pair*> many;
    const boost::json::key_value_pair** first = few.data();
    if (object.size() > on_stack) {
        many.resize(object.size());
        first = many.data();
    }
    std::size_t n = 0;
    for (const boost::json::key_value_pair& item : object)
        first[n++] = &item;
    std::sort(first, first + n, [](const auto* a, const auto* b) { return a->key() < b->key(); });
    for (std::size_t i = 0; i < n; ++i) {
        out += first[i]->key();
        append_signed(out, first[i]->value());
    }
}

inline void append_signed(std::string& out, const boost::json::value& value) {
    switch (value.kind()) {
    case boost::json::kind::string: out += value.get_string(); break;
    case boost::json::kind::int64: out += std::to_string(value.get_int64()); break;
    case boost::json::kind::uint64: out += std::to_string(value.get_uint64()); break;
    case boost::json::kind::bool_: out += value.get_bool() ? "true" : "false"; break;
    case boost::json::kind::double_: out += shortest_decimal(value.get_double()); break;
    // An array contributes its items only: no index, no repeated key.
    case boost::json::kind::array:
        for (const boost::json::value& item : value.get_array())
            append_signed(out, item);
        break;
    case boost::json::kind::object: append_signed(out, value.get_object()); break;
    case boost::json::kind::null:
        // The SDKs disagree on nulls (Python signs "None", Go ""), so the vendor's check is
        // unpredictable: a body with a null is a bug in the caller.
        throw sdk::error(sdk::status::internal, "uSpeedo request bodies must not contain null: it cannot be signed");
    }
}

} // namespace detail

// The string uSpeedo hashes. Exposed on its own because the vendor publishes it for one vector.
inline std::string signing_plaintext(const boost::json::object& body, std::string_view secret) {
    std::string out;
    detail::append_signed(out, body);
    out += secret;
    return out;
}

// The X-Signature header value for `body`.
inline std::string signature(const boost::json::object& body, std::string_view secret) {
    return sdk::hex(sdk::sha1(signing_plaintext(body, secret)));
}

} // namespace switchboard::uspeedo
