#include "uspeedo_sandbox.hpp"

#include <fstream>
#include <stdexcept>
#include <thread>

#include <unistd.h>

namespace switchboard::testing {

namespace fs = std::filesystem;
namespace json = boost::json;

uspeedo_sandbox::uspeedo_sandbox(const sandbox_options& options) {
    static int counter = 0;
    dir_ = fs::temp_directory_path() / ("switchboard-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_);

    simulator_ = std::make_unique<child_process>(
        std::vector<std::string>{USPEEDO_SIMULATOR, "--listen", "127.0.0.1:0", "--faults", options.faults_json,
                                 "--receipt-delay-ms", "0"},
        (dir_ / "simulator.log").string());
    simulator_url_ = wait_for_listening(*simulator_);

    // The secret reaches the daemon through the environment, as in production.
    ::setenv("SWITCHBOARD_TEST_USPEEDO_SECRET", options.secret_seen_by_daemon.c_str(), 1);
    const json::object config{
        {"listen", "127.0.0.1:0"},
        {"plugin_dirs", json::array{SWITCHBOARD_PLUGIN_DIR}},
        {"providers", {{"sms", {{"plugin", "uspeedo"},
                                {"config", {{"endpoint", simulator_url_},
                                            {"api_style", options.api_style},
                                            {"account_id", 1},
                                            {"access_key_id", "sim-access-key"},
                                            {"access_key_secret", "${env:SWITCHBOARD_TEST_USPEEDO_SECRET}"}}}}}}},
        {"routes", {{"otp", json::array{{{"provider", "sms"}, {"channel", "sms"}, {"template", "UTA20212831C85C"},
                                         {"sender", "Switchboard"}, {"params", json::array{"code"}}}}}}},
        {"dispatch", {{"max_attempts", options.max_attempts}, {"base_backoff_ms", 50}}},
        {"http_client", {{"request_timeout_ms", options.request_timeout_ms}}},
        {"max_request_bytes", options.max_request_bytes}};
    std::ofstream(dir_ / "switchboard.json") << json::serialize(config);

    daemon_ = std::make_unique<child_process>(
        std::vector<std::string>{SWITCHBOARD_BINARY, "serve", "--config", (dir_ / "switchboard.json").string()},
        (dir_ / "daemon.log").string());
    api_url_ = wait_for_listening(*daemon_);
}

uspeedo_sandbox::~uspeedo_sandbox() {
    daemon_.reset();
    simulator_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string uspeedo_sandbox::submit(const json::array& recipients) {
    const json::value answer =
        fetch_json("POST", api_url_ + "/v1/jobs", json::serialize(json::object{{"route", "otp"}, {"recipients", recipients}}));
    return std::string(answer.at("id").as_string());
}

json::object uspeedo_sandbox::wait_finished(const std::string& job_id, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        json::value job = fetch_json("GET", api_url_ + "/v1/jobs/" + job_id);
        if (job.at("state") == "finished")
            return job.as_object();
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("job " + job_id + " not finished in time: " + json::serialize(job));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::vector<json::object> uspeedo_sandbox::recipients(const std::string& job_id, const std::string& state) {
    std::vector<json::object> out;
    json::value next = 0;
    while (!next.is_null()) {
        const json::value page = fetch_json("GET", api_url_ + "/v1/jobs/" + job_id + "/recipients?limit=1000&offset=" +
                                                       std::to_string(next.as_int64()) +
                                                       (state.empty() ? "" : "&state=" + state));
        for (const json::value& r : page.at("recipients").as_array())
            out.push_back(r.as_object());
        next = page.at("next_offset");
    }
    return out;
}

std::vector<json::object> uspeedo_sandbox::send_calls() {
    std::vector<json::object> out;
    const json::value calls = fetch_json("GET", simulator_url_ + "/_simulator/calls");
    for (const json::value& call : calls.as_array())
        if (call.as_object().contains("action") && call.at("action") == "SendBatchUSMSMessage")
            out.push_back(call.as_object());
    return out;
}

json::array numbered_recipients(int n) {
    json::array out;
    for (int i = 0; i < n; ++i) {
        char number[16];
        std::snprintf(number, sizeof number, "+8525%07d", i);
        out.push_back({{"to", number}, {"params", {{"code", std::to_string(100000 + i)}}}, {"ref", "user-" + std::to_string(i)}});
    }
    return out;
}

} // namespace switchboard::testing
