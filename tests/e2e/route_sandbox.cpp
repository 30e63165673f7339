#include "route_sandbox.hpp"

#include "fetch.hpp"
#include "sandbox.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace switchboard::testing {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// A loopback port free right now: the simulators need the daemon's receipt URL before it starts.
int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
        throw std::runtime_error("cannot find a free loopback port");
    ::close(fd);
    return ntohs(address.sin_port);
}

struct vendor {
    std::string name;       // "cams"
    std::string simulator;  // its binary
    std::string instance;   // the provider instance routes name
    std::string plugin;
    json::object config;    // "endpoint" added
};

std::vector<vendor> vendors() {
    return {
        {"cams", CAMS_SIMULATOR, "cams-wa", "cams",
         {{"access_key_id", "sim-access-key"}, {"access_key_secret", "sim-access-secret"},
          {"cust_space_id", "cams-sim-space"}, {"from", "8613877770000"}}},
        {"uspeedo", USPEEDO_SIMULATOR, "uspeedo-sms", "uspeedo",
         {{"api_style", "action"}, {"account_id", 1}, {"access_key_id", "sim-access-key"},
          {"access_key_secret", "sim-access-secret"}}},
        {"vms", VMS_SIMULATOR, "vms-voice", "vms",
         {{"region", "cn-north-1"}, {"number_pool_no", "NP160084061100694433"}, {"access_key_id", "sim-access-key"},
          {"secret_access_key", "sim-secret-key"}, {"callback_token", "sim-callback-token"}}},
    };
}

} // namespace

json::object person(const std::string& to, const std::string& ref) {
    return {{"to", to}, {"ref", ref}, {"params", {{"code", "123456"}}}};
}

// "cams-wa:undelivered,uspeedo-sms:failed,...": every step a recipient tried, in order.
std::string steps_of(const json::object& recipient) {
    std::string out;
    if (const json::value* steps = recipient.if_contains("steps"))
        for (const json::value& step : steps->as_array())
            out += (out.empty() ? "" : ",") + std::string(step.at("provider").as_string()) + ":" +
                   std::string(step.at("result").as_string());
    return out;
}

std::map<std::string, json::object> by_ref(const std::vector<json::object>& recipients) {
    std::map<std::string, json::object> out;
    for (const json::object& r : recipients)
        out[std::string(r.at("ref").as_string())] = r;
    return out;
}

json::object cams_step(const std::string& receipt_wait) {
    json::object step{{"provider", "cams-wa"}, {"channel", "whatsapp"}, {"template_code", "otp_wa"},
                      {"language", "en"}, {"params", json::array{"code"}}};
    if (!receipt_wait.empty())
        step["receipt_wait"] = receipt_wait;
    return step;
}

json::object uspeedo_step(const std::string& receipt_wait) {
    json::object step{{"provider", "uspeedo-sms"}, {"channel", "sms"}, {"template", "UTA20212831C85C"},
                      {"sender", "Switchboard"}, {"params", json::array{"code"}}};
    if (!receipt_wait.empty())
        step["receipt_wait"] = receipt_wait;
    return step;
}

json::object vms_step(const std::string& receipt_wait) {
    json::object step{{"provider", "vms-voice"}, {"channel", "voice"}, {"type", 1}, {"resource", "res-otp"},
                      {"params", json::array{"code"}}};
    if (!receipt_wait.empty())
        step["receipt_wait"] = receipt_wait;
    return step;
}

route_sandbox::route_sandbox(const route_sandbox_options& options) {
    static int counter = 0;
    dir_ = fs::temp_directory_path() / ("switchboard-routes-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_);
    const int port = free_loopback_port();
    const std::string daemon_url = "http://127.0.0.1:" + std::to_string(port);

    std::vector<vendor> simulated = vendors();
    for (const auto& [instance, vendor_name] : options.more_instances) {
        const std::string& of = vendor_name;   // clang cannot capture a structured binding
        const auto original = std::find_if(simulated.begin(), simulated.end(), [&of](const vendor& v) { return v.name == of; });
        if (original == simulated.end())
            throw std::invalid_argument("more_instances: no vendor '" + of + "' in the sandbox");
        vendor more = *original;
        more.name = instance;
        more.instance = instance;
        simulated.push_back(std::move(more));
    }
    json::object providers;
    for (const vendor& v : simulated) {
        vendor_of_[v.name] = v.plugin;
        const auto faults = options.faults.find(v.name);
        std::vector<std::string> argv{v.simulator, "--listen", "127.0.0.1:0", "--faults",
                                      faults == options.faults.end() ? "{}" : faults->second};
        if (options.push_receipts) {
            const auto token = options.receipt_tokens.find(v.instance);
            const std::string url = daemon_url + "/v1/receipts/" + v.instance +
                                    (token == options.receipt_tokens.end() ? "" : "?token=" + token->second);
            argv.insert(argv.end(), {"--receipt-url", url, "--receipt-delay-ms", std::to_string(options.receipt_delay_ms)});
        }
        auto simulator = std::make_unique<child_process>(argv, (dir_ / (v.name + ".log")).string());
        simulator_urls_[v.name] = wait_for_listening(*simulator);
        simulators_[v.name] = std::move(simulator);

        json::object config = v.config;
        config["endpoint"] = simulator_urls_[v.name];
        json::object entry{{"plugin", v.plugin}, {"config", std::move(config)}};
        if (const auto token = options.receipt_tokens.find(v.instance); token != options.receipt_tokens.end())
            entry["receipt_token"] = token->second;
        if (const json::value* extra = options.providers_extra.if_contains(v.instance))
            for (const auto& [key, value] : extra->as_object())
                entry[key] = value;
        providers[v.instance] = std::move(entry);
    }
    json::object config{{"listen", "127.0.0.1:" + std::to_string(port)},
                        {"plugin_dirs", json::array{SWITCHBOARD_PLUGIN_DIR}},
                        {"providers", std::move(providers)},
                        {"routes", options.routes},
                        {"dispatch", {{"max_attempts", options.max_attempts}, {"base_backoff_ms", 20},
                                      {"max_backoff_ms", 200}, {"receipt_poll_ms", 100}}}};
    if (!options.default_region.empty())
        config["default_region"] = options.default_region;
    if (options.api_keys.empty())
        config["open_api"] = true;
    else
        config["api_keys"] = options.api_keys;
    if (options.durable)
        config["store"] = {{"sqlite", (dir_ / "switchboard.db").string()}};
    for (const auto& [key, value] : options.config)
        config[key] = value;
    std::ofstream(dir_ / "switchboard.json") << json::serialize(config);
    start_daemon();
}

void route_sandbox::start_daemon() {
    daemon_ = std::make_unique<child_process>(
        std::vector<std::string>{SWITCHBOARD_BINARY, "serve", "--config", (dir_ / "switchboard.json").string()},
        (dir_ / "daemon.log").string());
    api_url_ = wait_for_listening(*daemon_);
}

void route_sandbox::change_config(const std::function<void(json::object&)>& change) {
    const fs::path file = dir_ / "switchboard.json";
    std::ifstream in(file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json::object config = json::parse(text).as_object();
    change(config);
    std::ofstream(file, std::ios::trunc) << json::serialize(config);
}

void route_sandbox::kill_daemon() {
    daemon_->stop(SIGKILL);
    daemon_.reset();
}

route_sandbox::~route_sandbox() {
    daemon_.reset();
    simulators_.clear();
    if (std::getenv("SWITCHBOARD_KEEP_SANDBOX") != nullptr)
        return;  // its logs and configuration, for whoever debugs a failure
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string route_sandbox::submit(const json::object& job) {
    const core::http_result answer = fetch("POST", api_url_ + "/v1/jobs", json::serialize(job));
    if (!answer.ok() || answer.response.status != 202)
        throw std::runtime_error("POST /v1/jobs: " + (answer.ok() ? std::to_string(answer.response.status) + " " +
                                                                        answer.response.body
                                                                  : answer.error));
    return std::string(json::parse(answer.response.body).at("id").as_string());
}

json::object route_sandbox::wait_finished(const std::string& job_id, std::chrono::seconds timeout) {
    return wait_job_finished(api_url_, job_id, timeout);
}

std::vector<json::object> route_sandbox::recipients(const std::string& job_id) { return job_recipients(api_url_, job_id); }

std::map<std::string, int> route_sandbox::accepted_by(const std::string& vendor) {
    std::map<std::string, int> times;
    const std::map<std::string, std::string> action{
        {"cams", "SendChatappMassMessage"}, {"uspeedo", "SendBatchUSMSMessage"}, {"vms", "SingleBatchAppend"}};
    // CAMS takes every number of a call it processed and reports refusals later, by receipt.
    const char* list = vendor_of_.at(vendor) == "cams" ? "numbers" : "accepted";
    for (const json::object& call : simulator_calls(simulator_urls_.at(vendor), action.at(vendor_of_.at(vendor))))
        if (const json::value* numbers = call.if_contains(list))
            for (const json::value& number : numbers->as_array())
                ++times[std::string(number.as_string())];
    return times;
}

} // namespace switchboard::testing
