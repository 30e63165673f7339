// Alibaba Cloud's two request signatures for RPC-style APIs such as CAMS SendChatappMassMessage,
// as the official SDKs compute them (darabonba-openapi doRequest/doRPCRequest, openapi-util
// getAuthorization/getRPCSignature) and the docs publish them (VENDORS.md §3.2):
//
// ACS3-HMAC-SHA256 (the SDK default)
//   CanonicalRequest = METHOD \n PATH \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(body))
//     CanonicalQuery   : keys sorted by byte, pe(key)=pe(value) joined by '&' ("key=" when empty)
//     CanonicalHeaders : "host", "content-type" and "x-acs-*" headers, lower-case names, trimmed
//                        values, sorted; duplicates' values sorted and joined by ','; "name:value\n"
//     SignedHeaders    : those names joined by ';'
//   StringToSign  = "ACS3-HMAC-SHA256\n" + hex(SHA256(CanonicalRequest))
//   Authorization = "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=...,Signature=hex(HMAC-SHA256(secret, StringToSign))"
//
// RPC v1 (HMAC-SHA1)
//   StringToSign = METHOD + "&" + pe("/") + "&" + pe(CanonicalQuery)     (every parameter but Signature)
//   Signature    = base64(HMAC-SHA1(secret + "&", StringToSign))
//
// pe() is RFC 3986 percent-encoding: A-Z a-z 0-9 - _ . ~ stay, everything else is %XX.
#pragma once

#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::cams {

using parameter = std::pair<std::string, std::string>;  // name, value (not encoded)

// pe(name)=pe(value) sorted by name, joined by '&': both the URL's query and the signed one.
inline std::string canonical_query(const std::vector<parameter>& params) {
    std::vector<const parameter*> sorted;
    std::size_t size = 0;
    for (const parameter& p : params) {
        sorted.push_back(&p);
        size += p.first.size() + p.second.size() + 2;
    }
    std::sort(sorted.begin(), sorted.end(), [](const parameter* a, const parameter* b) { return *a < *b; });
    std::string out;
    out.reserve(size + size / 2);  // a JSON value roughly doubles: {, ", : and , are escaped
    for (const parameter* p : sorted) {
        if (!out.empty())
            out += '&';
        sdk::append_percent_encoded(out, p->first);
        out += '=';
        sdk::append_percent_encoded(out, p->second);
    }
    return out;
}

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

inline bool signed_header(const std::string& lower_name) {
    return lower_name == "host" || lower_name == "content-type" || lower_name.rfind("x-acs-", 0) == 0;
}

} // namespace detail

struct acs3_parts {
    std::string canonical_request;
    std::string signed_headers;  // "host;x-acs-action;..."
    std::string string_to_sign;
    std::string signature;       // lower-case hex
};

// Every step of ACS3-HMAC-SHA256 for one request. `headers` are (name, value) in any case and
// order; only host, content-type and x-acs-* ones are signed. `hashed_payload` is hex SHA-256 of
// the body.
inline acs3_parts acs3_sign(std::string_view method, std::string_view path, const std::vector<parameter>& query,
                            const std::vector<parameter>& headers, std::string_view hashed_payload,
                            std::string_view secret) {
    std::vector<parameter> signed_list;
    for (const parameter& h : headers) {
        std::string name = detail::lower(h.first);
        if (detail::signed_header(name))
            signed_list.emplace_back(std::move(name), detail::trim(h.second));
    }
    std::sort(signed_list.begin(), signed_list.end());  // by name, then duplicates' values sorted
    std::string canonical_headers, signed_headers;
    for (std::size_t i = 0; i < signed_list.size();) {
        const std::string& name = signed_list[i].first;
        std::string value = signed_list[i].second;
        std::size_t j = i + 1;
        for (; j < signed_list.size() && signed_list[j].first == name; ++j)
            value += "," + signed_list[j].second;
        canonical_headers += name + ":" + value + "\n";
        if (!signed_headers.empty())
            signed_headers += ';';
        signed_headers += name;
        i = j;
    }
    acs3_parts out;
    out.canonical_request = std::string(method) + "\n" + std::string(path) + "\n" + canonical_query(query) + "\n" +
                            canonical_headers + "\n" + signed_headers + "\n" + std::string(hashed_payload);
    out.signed_headers = signed_headers;
    out.string_to_sign = "ACS3-HMAC-SHA256\n" + sdk::hex(sdk::sha256(out.canonical_request));
    out.signature = sdk::hex(sdk::hmac_sha256(secret, out.string_to_sign));
    return out;
}

// The Authorization header value: commas and no spaces between the parts, as the SDK writes it.
inline std::string acs3_authorization(std::string_view access_key_id, const acs3_parts& parts) {
    return "ACS3-HMAC-SHA256 Credential=" + std::string(access_key_id) + ",SignedHeaders=" + parts.signed_headers +
           ",Signature=" + parts.signature;
}

// RPC v1: the string signed for `method` over every parameter (Signature itself excluded).
inline std::string rpc_v1_string_to_sign(std::string_view method, const std::vector<parameter>& params) {
    return std::string(method) + "&" + sdk::percent_encode("/") + "&" + sdk::percent_encode(canonical_query(params));
}

// RPC v1: the Signature parameter's value.
inline std::string rpc_v1_signature(std::string_view method, const std::vector<parameter>& params,
                                    std::string_view secret) {
    return sdk::base64(sdk::hmac_sha1(std::string(secret) + "&", rpc_v1_string_to_sign(method, params)));
}

} // namespace switchboard::cams
