// The errors a plugin throws inside its C++ code. The SDK's trampolines catch them at the ABI
// boundary and turn them into an sb_status and a message; nothing escapes into the host.
#pragma once

#include <switchboard/provider.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace switchboard::sdk {

enum class status : sb_status {
    ok = SB_STATUS_OK,
    transient = SB_STATUS_TRANSIENT,
    permanent = SB_STATUS_PERMANENT,
    invalid_config = SB_STATUS_INVALID_CONFIG,
    authentication = SB_STATUS_AUTHENTICATION,
    unsupported = SB_STATUS_UNSUPPORTED,
    internal = SB_STATUS_INTERNAL,
};

inline const char* to_string(status s) noexcept {
    switch (s) {
    case status::ok: return "ok";
    case status::transient: return "transient";
    case status::permanent: return "permanent";
    case status::invalid_config: return "invalid configuration";
    case status::authentication: return "authentication";
    case status::unsupported: return "unsupported";
    case status::internal: return "internal";
    }
    return "unknown status";
}

// A classified failure: `throw sdk::error(sdk::status::transient, "HTTP 503 from ...", 2000);`
class error : public std::runtime_error {
public:
    error(status code, const std::string& message, std::int64_t retry_after_ms = -1)
        : std::runtime_error(message), code_(code), retry_after_ms_(retry_after_ms) {}

    status code() const noexcept { return code_; }
    // The vendor's retry hint in milliseconds, or -1 when it gave none.
    std::int64_t retry_after_ms() const noexcept { return retry_after_ms_; }

private:
    status code_;
    std::int64_t retry_after_ms_;
};

// A field of an input document is missing or malformed. The trampolines report it as
// SB_STATUS_INVALID_CONFIG from create() and as SB_STATUS_PERMANENT everywhere else, so the same
// reading helpers serve configuration and batches.
class field_error : public std::runtime_error {
public:
    field_error(const std::string& path, const std::string& reason)
        : std::runtime_error(path + ": " + reason), path_(path) {}

    const std::string& path() const noexcept { return path_; }
    // The reason alone, without the path: for verdicts, which carry the field separately.
    std::string reason() const { return std::string(what()).substr(path_.size() + 2); }

private:
    std::string path_;
};

} // namespace switchboard::sdk
