// Text encodings every vendor signature needs: hex, base64 and RFC 3986 percent-encoding.
#pragma once

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace switchboard::sdk {

// Lower-case hex of arbitrary bytes ("\x01\xab" -> "01ab"), as signatures print digests.
inline std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0x0f];
    }
    return out;
}

// Standard base64 with padding (RFC 4648 section 4), as HTTP Basic credentials use it.
inline std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                        reinterpret_cast<const unsigned char*>(bytes.data()),
                                        static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

// RFC 3986 percent-encoding: unreserved characters (A-Z a-z 0-9 - _ . ~) stay, every other byte
// becomes %XX with upper-case hex; a space is %20, never '+'. The form every signing scheme here
// canonicalises query strings and paths with.
inline std::string percent_encode(std::string_view text) {
    return boost::urls::encode(text, boost::urls::unreserved_chars);
}

// percent_encode(text) appended to `out` in one pass, without a string of its own: for the long
// query strings and form bodies of batch calls.
inline void append_percent_encoded(std::string& out, std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    const std::size_t at = out.size();
    out.resize(at + 3 * text.size());  // the most it can take
    char* next = out.data() + at;
    for (const char c : text) {
        if (boost::urls::unreserved_chars(c)) {
            *next++ = c;
            continue;
        }
        const auto byte = static_cast<unsigned char>(c);
        *next++ = '%';
        *next++ = digits[byte >> 4];
        *next++ = digits[byte & 0x0f];
    }
    out.resize(static_cast<std::size_t>(next - out.data()));
}

} // namespace switchboard::sdk
