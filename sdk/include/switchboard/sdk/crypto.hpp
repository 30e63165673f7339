// Digests and MACs over OpenSSL's EVP interface. Every function returns raw bytes; wrap the
// result in sdk::hex() where the vendor wants hex.
#pragma once

#include <switchboard/sdk/error.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <string_view>

namespace switchboard::sdk {

namespace detail {

inline std::string digest(const EVP_MD* md, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), out, &size, md, nullptr) != 1)
        throw error(status::internal, std::string("OpenSSL digest ") + EVP_MD_get0_name(md) + " failed");
    return std::string(reinterpret_cast<const char*>(out), size);
}

inline std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (HMAC(md, key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size) == nullptr)
        throw error(status::internal, std::string("OpenSSL HMAC ") + EVP_MD_get0_name(md) + " failed");
    return std::string(reinterpret_cast<const char*>(out), size);
}

} // namespace detail

inline std::string sha1(std::string_view data) { return detail::digest(EVP_sha1(), data); }
inline std::string sha256(std::string_view data) { return detail::digest(EVP_sha256(), data); }

inline std::string hmac_sha1(std::string_view key, std::string_view data) {
    return detail::hmac(EVP_sha1(), key, data);
}
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
    return detail::hmac(EVP_sha256(), key, data);
}

// Compares two secrets in time that does not depend on where they differ.
inline bool constant_time_equal(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    const std::string_view& longer = a.size() >= b.size() ? a : b;
    for (std::size_t i = 0; i < longer.size(); ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

} // namespace switchboard::sdk
