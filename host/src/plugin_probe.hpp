// Calls a plugin's function table exactly as the ABI describes and records everything the plugin
// does with its sb_output: each kind of write counted, what it wrote, how long the call took. The
// host's own wrapper (core::provider_instance) forgives what the conformance checker must see.
#pragma once

#include <switchboard/core/http_message.hpp>
#include <switchboard/provider.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::host {

struct probe_call {
    sb_status status = SB_STATUS_INTERNAL;
    int json_writes = 0;
    int request_writes = 0;
    int error_writes = 0;
    std::string json;
    std::optional<core::http_request> request;
    std::string output_problem;    // a request smaller than ABI 1.0's, headers without an array, a copy that failed
    std::string error;
    std::int64_t retry_after_ms = -1;
    double ms = 0;                 // wall time of the call

    bool ok() const noexcept { return status == SB_STATUS_OK; }
    // Any problem with how the call used its output, in words; empty when none: an unknown status
    // code, a second write of a kind, a failure without a reason, a success with an error.
    std::string contract_problem() const;
};

// The name of a status code ("SB_STATUS_TRANSIENT"), or "unknown status N".
std::string status_name(sb_status status);

class plugin_probe {
public:
    explicit plugin_probe(const sb_provider& table) : table_(table) {}

    probe_call manifest() const;
    // On success *instance holds what create() stored (it may store something and still fail).
    probe_call create(std::string_view config_json, sb_instance** instance) const;
    void destroy(sb_instance* instance) const { table_.destroy(instance); }
    probe_call validate(sb_instance* instance, std::string_view request_json) const;
    probe_call encode(sb_instance* instance, std::string_view batch_json, std::int64_t now_unix_ms) const;
    probe_call decode(sb_instance* instance, std::string_view batch_json, const core::http_response& response) const;
    probe_call parse_receipt(sb_instance* instance, const core::http_request& callback, std::int64_t now_unix_ms) const;
    probe_call encode_receipt_query(sb_instance* instance, std::string_view query_json, std::int64_t now_unix_ms) const;
    probe_call decode_receipt_query(sb_instance* instance, std::string_view query_json,
                                    const core::http_response& response) const;

private:
    const sb_provider& table_;
};

} // namespace switchboard::host
