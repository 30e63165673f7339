#include "sandbox.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <signal.h>
#include <unistd.h>

namespace switchboard::testing {

namespace fs = std::filesystem;
namespace json = boost::json;

sandbox::sandbox(const sandbox_spec& spec) : daemon_env_(spec.daemon_env), daemon_wrapper_(spec.daemon_wrapper) {
    static int counter = 0;
    dir_ = fs::temp_directory_path() / ("switchboard-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_);

    std::vector<std::string> simulator_argv{spec.simulator, "--listen", "127.0.0.1:0", "--faults", spec.faults_json};
    simulator_argv.insert(simulator_argv.end(), spec.simulator_args.begin(), spec.simulator_args.end());
    simulator_ = std::make_unique<child_process>(simulator_argv, (dir_ / "simulator.log").string());
    simulator_url_ = wait_for_listening(*simulator_);

    json::object provider_config = spec.provider_config;
    provider_config["endpoint"] = simulator_url_;
    if (!spec.secret_field.empty()) {
        // The secret reaches the daemon through the environment, as in production.
        ::setenv("SWITCHBOARD_TEST_SECRET", spec.secret.c_str(), 1);
        provider_config[spec.secret_field] = "${env:SWITCHBOARD_TEST_SECRET}";
    }
    json::object step = spec.route_step;
    step["provider"] = "main";
    const json::object config{
        {"listen", "127.0.0.1:0"},
        {"plugin_dirs", json::array{SWITCHBOARD_PLUGIN_DIR}},
        {"providers", {{"main", {{"plugin", spec.plugin}, {"config", std::move(provider_config)}}}}},
        {"routes", {{"otp", json::array{std::move(step)}}}},
        {"dispatch", {{"max_attempts", spec.max_attempts}, {"base_backoff_ms", 50}, {"calls_in_flight", spec.calls_in_flight}}},
        {"http_client", {{"request_timeout_ms", spec.request_timeout_ms}}},
        {"max_request_bytes", spec.max_request_bytes}};
    json::object with_store = config;
    if (spec.api_key.empty())
        with_store["open_api"] = true;
    else
        with_store["api_keys"] = {{"tests", spec.api_key}};
    if (spec.durable) {
        with_store["store"] = {{"sqlite", (dir_ / "switchboard.db").string()}};
        if (spec.store_max_size_mb > 0)
            with_store["store"].as_object()["max_size_mb"] = spec.store_max_size_mb;
    }
    for (const auto& [key, value] : spec.config)
        with_store[key] = value;
    std::ofstream(dir_ / "switchboard.json") << json::serialize(with_store);
    start_daemon();
}

void sandbox::start_daemon() {
    std::vector<std::string> argv = daemon_wrapper_;
    argv.insert(argv.end(), {SWITCHBOARD_BINARY, "serve", "--config", (dir_ / "switchboard.json").string()});
    daemon_ = std::make_unique<child_process>(argv, (dir_ / "daemon.log").string(), daemon_env_);
    api_url_ = wait_for_listening(*daemon_);
}

void sandbox::kill_daemon() { stop_daemon(SIGKILL); }

void sandbox::edit_config(const std::function<void(json::object&)>& change) {
    std::ifstream in(dir_ / "switchboard.json");
    std::stringstream text;
    text << in.rdbuf();
    json::object config = json::parse(text.str()).as_object();
    change(config);
    std::ofstream(dir_ / "switchboard.json") << json::serialize(config);
}

int sandbox::stop_daemon(int signal) {
    const int status = daemon_->stop(signal);
    daemon_.reset();
    return status;
}

sandbox::~sandbox() {
    daemon_.reset();
    simulator_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string sandbox::submit(const json::array& recipients) {
    const json::value answer =
        fetch_json("POST", api_url_ + "/v1/jobs", json::serialize(json::object{{"route", "otp"}, {"recipients", recipients}}));
    return std::string(answer.at("id").as_string());
}

json::object sandbox::wait_finished(const std::string& job_id, std::chrono::seconds timeout) {
    return wait_job_finished(api_url_, job_id, timeout);
}

std::vector<json::object> sandbox::recipients(const std::string& job_id, const std::string& state) {
    return job_recipients(api_url_, job_id, state);
}

std::vector<json::object> sandbox::calls(const std::string& action) { return simulator_calls(simulator_url_, action); }

json::object wait_job_finished(const std::string& api_url, const std::string& job_id, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        json::value job = fetch_json("GET", api_url + "/v1/jobs/" + job_id);
        if (job.at("state") == "finished")
            return job.as_object();
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("job " + job_id + " not finished in time: " + json::serialize(job));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::vector<json::object> job_recipients(const std::string& api_url, const std::string& job_id, const std::string& state) {
    std::vector<json::object> out;
    json::value next = 0;
    while (!next.is_null()) {
        const json::value page = fetch_json("GET", api_url + "/v1/jobs/" + job_id + "/recipients?limit=1000&offset=" +
                                                       std::to_string(next.as_int64()) +
                                                       (state.empty() ? "" : "&state=" + state));
        for (const json::value& r : page.at("recipients").as_array())
            out.push_back(r.as_object());
        next = page.at("next_offset");
    }
    return out;
}

std::vector<json::object> simulator_calls(const std::string& simulator_url, const std::string& action) {
    std::vector<json::object> out;
    // A long run's record is large (one entry per number): read it with a cap to match.
    core::http_client_options large;
    large.max_response_bytes = std::size_t(1) << 30;
    const core::http_result answer = fetch("GET", simulator_url + "/_simulator/calls", {}, large);
    if (!answer.ok())
        throw std::runtime_error("GET " + simulator_url + "/_simulator/calls: " + answer.error);
    const json::value calls = json::parse(answer.response.body);
    for (const json::value& call : calls.as_array())
        if (call.as_object().contains("action") && call.at("action") == action.c_str())
            out.push_back(call.as_object());
    return out;
}

std::size_t busiest_second(const std::vector<json::object>& calls) {
    std::vector<std::int64_t> at;
    for (const json::object& call : calls)
        at.push_back(call.at("at_unix_ms").as_int64());
    std::sort(at.begin(), at.end());
    std::size_t busiest = 0;
    for (std::size_t first = 0, last = 0; last < at.size(); ++last) {
        while (at[first] <= at[last] - 1000)
            ++first;
        busiest = std::max(busiest, last - first + 1);
    }
    return busiest;
}

double calls_per_second(const std::vector<json::object>& calls) {
    std::vector<std::int64_t> at;
    for (const json::object& call : calls)
        at.push_back(call.at("at_unix_ms").as_int64());
    if (at.size() < 2)
        return 0;
    const auto [first, last] = std::minmax_element(at.begin(), at.end());
    return *last == *first ? 0 : static_cast<double>(at.size() - 1) / (static_cast<double>(*last - *first) / 1000.0);
}

namespace {

sandbox_spec uspeedo_spec(const sandbox_options& options) {
    sandbox_spec spec;
    spec.simulator = USPEEDO_SIMULATOR;
    spec.simulator_args = {"--receipt-delay-ms", "0"};
    spec.faults_json = options.faults_json;
    spec.plugin = "uspeedo";
    spec.provider_config = {{"api_style", options.api_style}, {"account_id", 1}, {"access_key_id", "sim-access-key"}};
    spec.secret_field = "access_key_secret";
    spec.secret = options.secret_seen_by_daemon;
    spec.route_step = {{"channel", "sms"}, {"template", "UTA20212831C85C"}, {"sender", "Switchboard"},
                       {"params", json::array{"code"}}};
    spec.max_attempts = options.max_attempts;
    spec.calls_in_flight = options.calls_in_flight;
    spec.request_timeout_ms = options.request_timeout_ms;
    spec.max_request_bytes = options.max_request_bytes;
    spec.durable = options.durable;
    spec.store_max_size_mb = options.store_max_size_mb;
    spec.daemon_env = options.daemon_env;
    spec.daemon_wrapper = options.daemon_wrapper;
    spec.api_key = options.api_key;
    spec.config = options.config;
    return spec;
}

} // namespace

uspeedo_sandbox::uspeedo_sandbox(const sandbox_options& options) : sandbox(uspeedo_spec(options)) {}

json::array numbered_recipients(int n) {
    json::array out;
    for (int i = 0; i < n; ++i) {
        char number[24];
        std::snprintf(number, sizeof number, "+85261%06d", i % 1'000'000);
        out.push_back({{"to", number}, {"params", {{"code", std::to_string(100000 + i)}}}, {"ref", "user-" + std::to_string(i)}});
    }
    return out;
}

} // namespace switchboard::testing
