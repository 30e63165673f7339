// Huawei Cloud's API-gateway signature "SDK-HMAC-SHA256" (AK/SK), as the official SDKs compute it
// (huaweicloud-sdk-go-v3 core/auth/signer/signer.go; huaweicloud-sdk-nodejs-v3 AKSKSigner.ts) and
// the "API签名指南" publishes it with a vector (VENDORS.md §4.2):
//
//   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
//                      SignedHeaders \n hex(SHA256(body))
//     CanonicalURI      each path segment RFC 3986-encoded, ALWAYS ending in "/" (the URL that is
//                       sent keeps its own form, without the slash)
//     CanonicalQuery    key=value pairs encoded, sorted by key then value, joined by "&"
//     CanonicalHeaders  "name:value\n" per signed header, lower-case names, trimmed values, sorted
//     SignedHeaders     the lower-case names joined by ";"
//   StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(SHA256(CanonicalRequest))
//   Signature        = hex(HMAC-SHA256(SK, StringToSign))          (no key derivation, no scope)
//   Authorization    : SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=...
//
// The body hash is over the exact bytes sent: the caller signs the string it puts on the wire.
#pragma once

#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>
#include <switchboard/sdk/messages.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::smn {

inline constexpr std::string_view algorithm = "SDK-HMAC-SHA256";

// What the signature covers, with every part as it is before encoding.
struct signing_input {
    std::string method;                                        // "GET", "POST"
    std::string path;                                          // "/v2/<pid>/notifications/sms/promotion"
    std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
    std::vector<sdk::header> headers;                          // exactly the headers to sign
    std::string body;                                          // the bytes sent
};

namespace detail {

inline std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

inline std::string trim(std::string_view text) {
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    const std::size_t last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

// Lower-case names with trimmed values, sorted by name.
inline std::vector<std::pair<std::string, std::string>> sorted_headers(const std::vector<sdk::header>& headers) {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(headers.size());
    for (const sdk::header& h : headers)
        out.emplace_back(lower(h.name), trim(h.value));
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace detail

inline std::string canonical_uri(std::string_view path) {
    std::string out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        out += sdk::percent_encode(path.substr(start, end - start));
        if (slash == std::string_view::npos)
            break;
        out += '/';
        start = slash + 1;
    }
    if (out.empty() || out.back() != '/')
        out += '/';
    return out;
}

inline std::string canonical_query(std::vector<std::pair<std::string, std::string>> query) {
    std::sort(query.begin(), query.end());
    std::string out;
    for (const auto& [name, value] : query) {
        if (!out.empty())
            out += '&';
        out += sdk::percent_encode(name) + "=" + sdk::percent_encode(value);
    }
    return out;
}

inline std::string signed_headers(const std::vector<sdk::header>& headers) {
    std::string out;
    for (const auto& [name, value] : detail::sorted_headers(headers))
        out += (out.empty() ? "" : ";") + name;
    return out;
}

inline std::string canonical_request(const signing_input& input) {
    std::string headers;
    for (const auto& [name, value] : detail::sorted_headers(input.headers))
        headers += name + ":" + value + "\n";
    return input.method + "\n" + canonical_uri(input.path) + "\n" + canonical_query(input.query) + "\n" + headers +
           "\n" + signed_headers(input.headers) + "\n" + sdk::hex(sdk::sha256(input.body));
}

inline std::string string_to_sign(std::string_view sdk_date, std::string_view canonical) {
    return std::string(algorithm) + "\n" + std::string(sdk_date) + "\n" + sdk::hex(sdk::sha256(canonical));
}

// hex(HMAC-SHA256(secret, StringToSign)); the X-Sdk-Date comes from the signed headers.
inline std::string signature(const signing_input& input, std::string_view secret) {
    const std::string* date = sdk::detail::find_header(input.headers, "X-Sdk-Date");
    if (date == nullptr)
        throw sdk::error(sdk::status::internal, "SDK-HMAC-SHA256 needs a signed X-Sdk-Date header");
    return sdk::hex(sdk::hmac_sha256(secret, string_to_sign(*date, canonical_request(input))));
}

// The Authorization header value.
inline std::string authorization(const signing_input& input, std::string_view access_key, std::string_view secret) {
    return std::string(algorithm) + " Access=" + std::string(access_key) + ", SignedHeaders=" +
           signed_headers(input.headers) + ", Signature=" + signature(input, secret);
}

} // namespace switchboard::smn
