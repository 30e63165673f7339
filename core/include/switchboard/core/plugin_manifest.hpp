// What a provider plugin says about itself, read and checked by the host.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

struct plugin_manifest {
    std::string name;
    std::string version;
    std::string abi;                       // "1.0": the ABI the plugin was built against
    std::string description;
    std::vector<std::string> channels;
    int max_recipients_per_call = 1;
    std::vector<std::string> grouping;     // step fields that recipients of one call share
    double requests_per_second = 0;        // 0: the vendor sets no limit
    double recipients_per_second = 0;
    std::string receipts = "none";         // "none" | "push" | "pull"
    bool thread_safe = false;
    bool vendor_scheduling = false;        // encode() has the vendor hold a call until the batch's send_at_unix_ms
    std::vector<std::string> transient_errors;
    std::string config_schema_json;        // JSON Schema of the instance configuration
    std::string step_schema_json;          // JSON Schema of a route step's own keys (ABI 1.1); empty: none
    std::string json;                      // the manifest exactly as the plugin wrote it
};

// Parses and checks a manifest document. Throws std::invalid_argument naming the field:
// "manifest field 'channels' is missing", "manifest is not valid JSON (...)".
plugin_manifest parse_plugin_manifest(std::string_view json);

} // namespace switchboard::core
