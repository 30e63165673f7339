// A vendor simulator and a daemon routing through it, each a separate process on a free loopback
// port, with the daemon's configuration written to a scratch directory. Any vendor: the spec says
// which simulator to start and how to configure the provider and its route step.
#pragma once

#include "child_process.hpp"
#include "fetch.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>

namespace switchboard::testing {

struct sandbox_spec {
    std::string simulator;                      // the simulator's binary
    std::vector<std::string> simulator_args;    // besides --listen and --faults
    std::string faults_json = "{}";
    std::string plugin;                         // the plugin's name
    boost::json::object provider_config;        // "endpoint" is set to the simulator's URL
    std::string secret_field;                   // this config field is passed through ${env:...}
    std::string secret;                         // ... with this value
    boost::json::object route_step;             // "provider" is set; give "channel" and the rest
    int max_attempts = 1;
    int calls_in_flight = 4;                    // the daemon's dispatch.calls_in_flight
    int request_timeout_ms = 5000;
    std::int64_t max_request_bytes = 16 * 1024 * 1024;
    bool durable = false;                       // keep jobs in an SQLite file in the scratch directory
    std::int64_t store_max_size_mb = 0;         // with durable: the store's largest size (0: none)
    std::string api_key;                        // empty: the API is open; else clients need this key
    std::vector<std::string> daemon_env;        // "NAME=value" for the daemon's environment besides ours
    std::vector<std::string> daemon_wrapper;    // runs the daemon, e.g. {"prlimit", "--nofile=100", "--"}
    boost::json::object config;                 // top-level settings of the daemon's configuration besides these
};

class sandbox {
public:
    explicit sandbox(const sandbox_spec& spec);
    ~sandbox();
    sandbox(const sandbox&) = delete;
    sandbox& operator=(const sandbox&) = delete;

    const std::string& simulator_url() const { return simulator_url_; }
    const std::string& api_url() const { return api_url_; }

    // Submits a job on route "otp"; returns its id.
    std::string submit(const boost::json::array& recipients);
    // Polls the job until it is finished (or throws after `timeout`); returns its last state.
    boost::json::object wait_finished(const std::string& job_id, std::chrono::seconds timeout = std::chrono::seconds(60));
    // Every recipient of the job, through the paginated API.
    std::vector<boost::json::object> recipients(const std::string& job_id, const std::string& state = {});
    // The simulator's records of calls whose "action" is `action`.
    std::vector<boost::json::object> calls(const std::string& action);

    pid_t daemon_pid() const { return daemon_->pid(); }
    // Kills the daemon with SIGKILL, as a crash would.
    void kill_daemon();
    // Sends the daemon `signal` and waits for it to exit; returns its status as waitpid gives it.
    int stop_daemon(int signal);
    // Starts the daemon again with the same configuration (and store); the API URL changes.
    void start_daemon();
    // The daemon's configuration file, for a test that starts another daemon on it.
    std::filesystem::path config_file() const { return dir_ / "switchboard.json"; }
    // Changes the daemon's configuration file (takes effect at the next start_daemon()).
    void edit_config(const std::function<void(boost::json::object&)>& change);

private:
    std::filesystem::path dir_;
    std::unique_ptr<child_process> simulator_;
    std::unique_ptr<child_process> daemon_;
    std::string simulator_url_;
    std::string api_url_;
    std::vector<std::string> daemon_env_;
    std::vector<std::string> daemon_wrapper_;
};

// Polls a job through the daemon's API until it is finished (or throws after `timeout`).
boost::json::object wait_job_finished(const std::string& api_url, const std::string& job_id,
                                      std::chrono::seconds timeout = std::chrono::seconds(60));
// Every recipient of the job (only those in `state`, when given), through the paginated API.
std::vector<boost::json::object> job_recipients(const std::string& api_url, const std::string& job_id,
                                                const std::string& state = {});
// A simulator's records of calls whose "action" is `action`.
std::vector<boost::json::object> simulator_calls(const std::string& simulator_url, const std::string& action);
// The most of these calls (their "at_unix_ms") that fall in any one-second window.
std::size_t busiest_second(const std::vector<boost::json::object>& calls);
// The rate these calls (their "at_unix_ms") came at, from the first to the last.
double calls_per_second(const std::vector<boost::json::object>& calls);

// ---- uSpeedo -----------------------------------------------------------------------------------

struct sandbox_options {
    std::string faults_json = "{}";
    std::string secret_seen_by_daemon = "sim-access-secret";
    std::string api_style = "action";
    int max_attempts = 1;
    int calls_in_flight = 4;
    int request_timeout_ms = 5000;
    std::int64_t max_request_bytes = 16 * 1024 * 1024;
    bool durable = false;
    std::int64_t store_max_size_mb = 0;
    std::vector<std::string> daemon_env;
    std::vector<std::string> daemon_wrapper;
    boost::json::object config;
    std::string api_key;   // empty: the API is open
};

// The uSpeedo simulator with an "otp" route of one SMS step through it.
class uspeedo_sandbox : public sandbox {
public:
    explicit uspeedo_sandbox(const sandbox_options& options = {});
    std::vector<boost::json::object> send_calls() { return calls("SendBatchUSMSMessage"); }
};

// n recipients "+85261000000", "+85261000001", ... each with a "code" parameter.
boost::json::array numbered_recipients(int n);

} // namespace switchboard::testing
