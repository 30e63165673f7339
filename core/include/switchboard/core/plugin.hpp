// Loading provider plugins: a shared library checked against the ABI, and the instances created
// from it. Boost.DLL stays in the implementation; callers see only this interface.
#pragma once

#include <switchboard/core/http_message.hpp>
#include <switchboard/core/plugin_manifest.hpp>
#include <switchboard/core/provider_library.hpp>
#include <switchboard/extensions/message_ids.h>
#include <switchboard/provider.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

class provider_instance;

// One loaded plugin library. Shared: the library stays loaded while this object or any instance
// created from it lives.
class plugin : public std::enable_shared_from_this<plugin> {
public:
    // Loads the library at `file` and checks its entry symbol, ABI version, function table and
    // manifest. Throws plugin_error.
    static std::shared_ptr<plugin> load(const std::filesystem::path& file);

    ~plugin();
    plugin(const plugin&) = delete;
    plugin& operator=(const plugin&) = delete;

    const std::filesystem::path& file() const noexcept { return file_; }
    const plugin_manifest& manifest() const noexcept { return manifest_; }
    sb_abi_version abi() const noexcept;

    // Creates an instance from its configuration (JSON text, secrets resolved). Throws
    // plugin_error carrying the plugin's own message when it refuses.
    std::unique_ptr<provider_instance> create_instance(std::string instance_name, std::string_view config_json) const;

private:
    plugin(provider_library lib, const sb_provider* table);

    friend class provider_instance;
    std::filesystem::path file_;
    provider_library library_;
    const sb_provider* table_;
    plugin_manifest manifest_;
    const sb_ext_message_ids* message_ids_ = nullptr;   // the extension, when the plugin offers it
};

// The result of one call into a plugin.
struct plugin_call_result {
    sb_status status = SB_STATUS_INTERNAL;
    std::string json;                       // the JSON document written, when any
    std::optional<http_request> request;    // the request written by an encode function
    std::string error;                      // the plugin's message when status is not OK
    std::int64_t retry_after_ms = -1;
    // The output rule the plugin broke in this call, if any: "second_write" (a result, request or
    // error written twice; the last one counts), "unknown_status" (taken as SB_STATUS_INTERNAL) or
    // "no_request" (an encode that succeeded without writing one).
    std::string breach;

    bool ok() const noexcept { return status == SB_STATUS_OK; }
};

// One configured instance of a plugin (one vendor account). Safe to call from any thread: calls
// are serialised unless the plugin's manifest says thread_safe.
class provider_instance {
public:
    ~provider_instance();
    provider_instance(const provider_instance&) = delete;
    provider_instance& operator=(const provider_instance&) = delete;

    const std::string& name() const noexcept { return name_; }
    const plugin& owner() const noexcept { return *plugin_; }

    plugin_call_result validate(std::string_view request_json) const;
    plugin_call_result encode(std::string_view batch_json, std::int64_t now_unix_ms) const;
    plugin_call_result decode(std::string_view batch_json, const http_response& response) const;
    plugin_call_result parse_receipt(const http_request& callback, std::int64_t now_unix_ms) const;
    plugin_call_result encode_receipt_query(std::string_view query_json, std::int64_t now_unix_ms) const;
    plugin_call_result decode_receipt_query(std::string_view query_json, const http_response& response) const;
    // {"message_ids": [{"id", "message_id"}]}: the ids the vendor's receipts will name, for a batch
    // whose answer never came (extension switchboard.message_ids/1); SB_STATUS_UNSUPPORTED without it.
    plugin_call_result message_ids(std::string_view batch_json) const;

private:
    friend class plugin;
    provider_instance(std::shared_ptr<const plugin> owner, std::string name);

    // Serialises calls unless the plugin declares itself thread safe (the ABI's [instance] contract).
    class call_guard;

    std::shared_ptr<const plugin> plugin_;  // keeps the library loaded while this instance lives
    std::string name_;
    mutable std::mutex calls_;
    sb_host host_{};
    sb_instance* instance_ = nullptr;
};

// Loads `file` as the daemon does: besides plugin::load's checks, the manifest's name must be the
// file's name without ".so", since a configuration names a plugin by its file. Throws plugin_error.
std::shared_ptr<plugin> load_named_plugin(const std::filesystem::path& file);

// The plugins found in a set of directories: every regular file ending in ".so", each loaded with
// load_named_plugin.
struct plugin_scan_entry {
    std::filesystem::path file;
    std::shared_ptr<plugin> loaded;  // null when the file could not be loaded
    std::string error;               // why, when it could not
};

std::vector<plugin_scan_entry> scan_plugin_dirs(const std::vector<std::filesystem::path>& dirs);

// Loads the plugin called `name` (file <name>.so) from the first of `dirs` that has it, and
// nowhere else. Throws plugin_error when none has it or it does not load.
std::shared_ptr<plugin> find_plugin(std::string_view name, const std::vector<std::filesystem::path>& dirs);

} // namespace switchboard::core
