// The daemon's configuration file: one JSON document (comments and trailing commas allowed) with
// secrets given as ${env:NAME} or ${file:PATH} and resolved at load time.
#pragma once

#include "callback_url.hpp"
#include "http_server.hpp"
#include "job_limits.hpp"
#include "logging.hpp"

#include <switchboard/core/dispatcher.hpp>
#include <switchboard/core/http_client.hpp>
#include <switchboard/core/postgres_job_store.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace switchboard::host {

struct provider_config {
    std::string name;          // the instance name routes refer to
    std::string plugin;        // the plugin's name (file <plugin>.so in a plugin directory)
    std::string config_json;   // handed to the plugin's create(), secrets resolved
    std::string receipt_token; // receipt callbacks must carry ?token=<this> (a secret); empty: none asked
};

struct daemon_config {
    std::string listen = "127.0.0.1:8080";
    std::vector<std::filesystem::path> plugin_dirs;
    std::vector<provider_config> providers;
    core::route_map routes;
    core::http_client_options http;
    http_server_limits server;             // max_body_bytes comes from max_request_bytes
    callback_origin receipt_origin;        // the URL vendors post receipts to, behind a proxy
    job_limits jobs;
    core::dispatch_options dispatch;
    std::size_t max_request_bytes = 16 * 1024 * 1024;
    std::filesystem::path sqlite_store;    // empty: jobs live in memory only (or in PostgreSQL)
    std::optional<core::postgres_store_settings> postgres_store;   // store.postgres
    std::int64_t store_max_bytes = 0;      // the store refuses to grow past this (503 store_full); 0: the disk's size
    std::chrono::hours retention{24 * 7};           // finished jobs are deleted this long after they finished
    std::map<std::string, std::string> api_keys;   // client name -> key (a secret)
    bool open_api = false;                          // serve the API without keys
    bool console = true;                            // serve the web console at /console/
    std::string default_region;                     // for phone numbers without a country code ("HK")
    std::chrono::milliseconds shutdown_grace{10'000};
    log_settings log;  // how long calls in flight may finish on SIGTERM
    std::vector<std::pair<std::string, std::string>> secrets;   // values from ${env:}/${file:}, and their references
};

// Every problem found in a configuration file, each with its JSON path.
class config_error : public std::runtime_error {
public:
    explicit config_error(const std::vector<std::string>& problems);
    const std::vector<std::string>& problems() const noexcept { return problems_; }

private:
    std::vector<std::string> problems_;
};

// Reads and checks `file`; relative plugin directories are taken from the file's directory.
// Throws config_error listing every problem at once.
daemon_config load_config(const std::filesystem::path& file);
// The same for the text of a configuration file named `file` (for its messages and its relative paths).
daemon_config read_config(std::string_view text, const std::filesystem::path& file);

// `text` with every secret of the configuration written as the reference it came from
// ("${env:CAMS_SK}"): for messages about the configuration, which may quote a value.
std::string redact(const daemon_config& config, std::string text);

} // namespace switchboard::host
