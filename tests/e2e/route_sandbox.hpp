// Three vendor simulators (CAMS, uSpeedo, VMS) and a daemon with routes across them, each a
// separate process on loopback. CAMS and VMS push their receipts to the daemon's receipt URL;
// uSpeedo's are pulled by the daemon.
#pragma once

#include "child_process.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace switchboard::testing {

struct route_sandbox_options {
    std::map<std::string, std::string> faults;   // vendor ("cams", "uspeedo", "vms") -> faults JSON
    boost::json::object routes;                  // route name -> array of steps (see the *_step helpers)
    boost::json::object providers_extra;         // instance -> settings merged into its provider entry
    int max_attempts = 1;
    std::string default_region;
    bool push_receipts = true;
    int receipt_delay_ms = 50;                   // from a call to the receipts its vendor pushes
    std::map<std::string, std::string> receipt_tokens;   // instance -> the token its receipt URL carries
    bool durable = false;                        // jobs in an SQLite file, so the daemon can be killed and restarted
    boost::json::object api_keys;                // client -> key; none: the API is open (no key needed)
    // More instances of a vendor ("uspeedo-b" -> "uspeedo"), each with a simulator of its own, named
    // by the instance wherever a vendor is (faults, simulator_url, accepted_by).
    std::map<std::string, std::string> more_instances;
    boost::json::object config;                  // top-level settings of the daemon's configuration besides these
};

// Route steps through the sandbox's instances "cams-wa", "uspeedo-sms" and "vms-voice".
boost::json::object cams_step(const std::string& receipt_wait = {});
boost::json::object uspeedo_step(const std::string& receipt_wait = {});
boost::json::object vms_step(const std::string& receipt_wait = {});

// A recipient of a job, with a code parameter for the sandbox's steps.
boost::json::object person(const std::string& to, const std::string& ref);
// "cams-wa:undelivered,uspeedo-sms:failed,...": every step a recipient tried, in order.
std::string steps_of(const boost::json::object& recipient);
// A job's recipients by their ref.
std::map<std::string, boost::json::object> by_ref(const std::vector<boost::json::object>& recipients);

class route_sandbox {
public:
    explicit route_sandbox(const route_sandbox_options& options);
    ~route_sandbox();
    route_sandbox(const route_sandbox&) = delete;
    route_sandbox& operator=(const route_sandbox&) = delete;

    const std::string& api_url() const { return api_url_; }
    const std::string& simulator_url(const std::string& vendor) const { return simulator_urls_.at(vendor); }

    // Submits a job document; returns its id. Throws with the answer when it is not 202.
    std::string submit(const boost::json::object& job);
    boost::json::object wait_finished(const std::string& job_id, std::chrono::seconds timeout = std::chrono::seconds(60));
    // Every recipient of the job, by index.
    std::vector<boost::json::object> recipients(const std::string& job_id);
    // Each number a vendor's simulator recorded as accepted, with how many times.
    std::map<std::string, int> accepted_by(const std::string& vendor);

    // Kills the daemon with SIGKILL, as a crash would; start_daemon() starts it again on the same
    // port (the simulators' receipt URL) and store.
    void kill_daemon();
    void start_daemon();
    // The daemon's configuration file, for a test that starts another daemon like it.
    std::filesystem::path config_file() const { return dir_ / "switchboard.json"; }
    // Rewrites the daemon's configuration file (for the next start_daemon()) through `change`.
    void change_config(const std::function<void(boost::json::object&)>& change);

private:
    std::filesystem::path dir_;
    std::map<std::string, std::unique_ptr<child_process>> simulators_;
    std::map<std::string, std::string> simulator_urls_;
    std::map<std::string, std::string> vendor_of_;   // simulator name -> its vendor
    std::unique_ptr<child_process> daemon_;
    std::string api_url_;
};

} // namespace switchboard::testing
