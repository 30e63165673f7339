// Volcengine's V4 request signature ("HMAC-SHA256") and VMS's callback authCode, as VENDORS.md §1.2
// and §1.6 describe them (volc-sdk-golang base/sign.go, volc-sdk-nodejs src/base/sign.ts, docs
// 6369/67269, 6369/67270 and 6358/173362):
//
//   CanonicalRequest = method \n canonical URI \n canonical query \n canonical headers \n
//                      signed headers \n hex(SHA256(body))
//   StringToSign     = "HMAC-SHA256" \n X-Date \n ShortDate/region/service/request \n hex(SHA256(CanonicalRequest))
//   kSigning         = HMAC(HMAC(HMAC(HMAC(SK, ShortDate), region), service), "request")
//   Signature        = hex(HMAC(kSigning, StringToSign))
//   Authorization    = "HMAC-SHA256 Credential=AK/scope, SignedHeaders=a;b, Signature=hex"
//
//   authCode         = hex(SHA256(timestamp + hex(SHA256(rawBody)) + authToken))
//
// Each step is its own function so the vendor's published intermediate values can be tested.
#pragma once

#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::vms {

struct query_param {
    std::string name;
    std::string value;
};

struct signed_header {
    std::string name;   // any case: canonicalised to lower case
    std::string value;  // trimmed when canonicalised
};

// What a signature covers.
struct signing_input {
    std::string method = "POST";
    std::string path = "/";
    std::vector<query_param> query;       // decoded names and values
    std::vector<signed_header> headers;   // exactly the headers to sign, host and x-date among them
    std::string body;
};

struct credential_scope {
    std::string short_date;  // YYYYMMDD, the first 8 characters of X-Date
    std::string region;      // cn-north-1
    std::string service;     // vms

    std::string text() const { return short_date + "/" + region + "/" + service + "/request"; }
};

namespace detail {

inline std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c + ('a' - 'A'));
    return out;
}

inline std::string trim(std::string_view text) {
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    const std::size_t last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

// Canonical headers, sorted by lower-case name.
inline std::vector<std::pair<std::string, std::string>> canonical_header_list(const std::vector<signed_header>& headers) {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(headers.size());
    for (const signed_header& h : headers)
        out.emplace_back(lower(h.name), trim(h.value));
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
}

} // namespace detail

// Each path segment RFC 3986-encoded; "/" stays.
inline std::string canonical_uri(std::string_view path) {
    if (path.empty())
        return "/";
    std::string out;
    std::size_t begin = 0;
    while (true) {
        const std::size_t slash = path.find('/', begin);
        out += sdk::percent_encode(path.substr(begin, slash == std::string_view::npos ? std::string_view::npos : slash - begin));
        if (slash == std::string_view::npos)
            break;
        out += '/';
        begin = slash + 1;
    }
    return out;
}

// name=value pairs, both RFC 3986-encoded, sorted by encoded name (then value), joined by '&'.
inline std::string canonical_query(const std::vector<query_param>& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const query_param& p : query)
        encoded.emplace_back(sdk::percent_encode(p.name), sdk::percent_encode(p.value));
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded)
        out += (out.empty() ? "" : "&") + name + "=" + value;
    return out;
}

// "content-type;host;x-content-sha256;x-date"
inline std::string signed_header_names(const std::vector<signed_header>& headers) {
    std::string out;
    for (const auto& [name, value] : detail::canonical_header_list(headers))
        out += (out.empty() ? "" : ";") + name;
    return out;
}

inline std::string canonical_request(const signing_input& in) {
    std::string headers;
    for (const auto& [name, value] : detail::canonical_header_list(in.headers))
        headers += name + ":" + value + "\n";
    return in.method + "\n" + canonical_uri(in.path) + "\n" + canonical_query(in.query) + "\n" + headers + "\n" +
           signed_header_names(in.headers) + "\n" + sdk::hex(sdk::sha256(in.body));
}

inline std::string string_to_sign(std::string_view x_date, const credential_scope& scope, std::string_view canonical) {
    return "HMAC-SHA256\n" + std::string(x_date) + "\n" + scope.text() + "\n" + sdk::hex(sdk::sha256(canonical));
}

// The raw 32-byte signing key. The secret is used as is, never base64-decoded.
inline std::string signing_key(std::string_view secret, const credential_scope& scope) {
    const std::string k_date = sdk::hmac_sha256(secret, scope.short_date);
    const std::string k_region = sdk::hmac_sha256(k_date, scope.region);
    const std::string k_service = sdk::hmac_sha256(k_region, scope.service);
    return sdk::hmac_sha256(k_service, "request");
}

// The hex Signature for `in`, dated `x_date` ("20240619T071306Z").
inline std::string signature(const signing_input& in, std::string_view x_date, std::string_view secret,
                             std::string_view region, std::string_view service) {
    const credential_scope scope{std::string(x_date.substr(0, 8)), std::string(region), std::string(service)};
    return sdk::hex(sdk::hmac_sha256(signing_key(secret, scope), string_to_sign(x_date, scope, canonical_request(in))));
}

// The Authorization header value.
inline std::string authorization(const signing_input& in, std::string_view x_date, std::string_view access_key_id,
                                 std::string_view secret, std::string_view region, std::string_view service) {
    const credential_scope scope{std::string(x_date.substr(0, 8)), std::string(region), std::string(service)};
    return "HMAC-SHA256 Credential=" + std::string(access_key_id) + "/" + scope.text() +
           ", SignedHeaders=" + signed_header_names(in.headers) +
           ", Signature=" + signature(in, x_date, secret, region, service);
}

// The authCode VMS appends to a callback URL: hex(SHA256(timestamp + hex(SHA256(body)) + token)).
inline std::string callback_auth_code(std::string_view timestamp, std::string_view body, std::string_view token) {
    return sdk::hex(sdk::sha256(std::string(timestamp) + sdk::hex(sdk::sha256(body)) + std::string(token)));
}

} // namespace switchboard::vms
