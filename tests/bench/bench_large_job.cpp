// A job of a million recipients, end to end on loopback: how long the daemon takes to accept it
// (in pages of 10,000, each stored before its answer), how long it takes to send it through the
// uSpeedo simulator, and the daemon's peak memory meanwhile. Prints figures; asserts nothing.
//
//   build/bin/bench_large_job [recipients]
#include "sandbox.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

namespace json = boost::json;
using namespace switchboard::testing;
using steady = std::chrono::steady_clock;

namespace {

// The peak resident memory of a process, in MiB (VmHWM).
double peak_rss_mib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

// The simulator's record of a million recipients is large: read it with a cap to match.
std::size_t vendor_calls(const sandbox& box) {
    switchboard::core::http_client_options options;
    options.max_response_bytes = std::size_t(1) << 30;
    const switchboard::core::http_result r = fetch("GET", box.simulator_url() + "/_simulator/calls", {}, options);
    return r.ok() ? json::parse(r.response.body).as_array().size() : 0;
}

double seconds_since(steady::time_point start) { return std::chrono::duration<double>(steady::now() - start).count(); }

json::array page(int from, int count) {
    json::array out;
    out.reserve(static_cast<std::size_t>(count));
    char number[16];
    for (int i = from; i < from + count; ++i) {
        std::snprintf(number, sizeof number, "+85261%06d", i % 1000000);
        out.push_back({{"to", number}, {"params", {{"code", "123456"}}}});
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    const int total = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
    constexpr int page_size = 10'000;
    sandbox_options options;
    options.durable = true;
    uspeedo_sandbox box(options);

    const auto accept_start = steady::now();
    const json::value opened = fetch_json("POST", box.api_url() + "/v1/jobs",
                                          json::serialize(json::object{{"route", "otp"}, {"open", true}}));
    const std::string job(opened.at("id").as_string());
    const std::string base = box.api_url() + "/v1/jobs/" + job;
    for (int from = 0; from < total; from += page_size) {
        fetch_json("POST", base + "/recipients",
                   json::serialize(json::object{{"recipients", page(from, std::min(page_size, total - from))}}));
        if ((from / page_size) % 20 == 19)
            std::cerr << "accepted " << from + page_size << " of " << total << "\n";
    }
    const double accept_s = seconds_since(accept_start);

    const auto send_start = steady::now();
    fetch_json("POST", base + "/start");
    const json::object finished = box.wait_finished(job, std::chrono::seconds(3600));
    const double send_s = seconds_since(send_start);

    std::cout << "recipients:        " << total << "\n"
              << "accept (pages):    " << accept_s << " s (" << total / accept_s << " recipients/s, stored in SQLite)\n"
              << "send:              " << send_s << " s (" << total / send_s << " recipients/s, "
              << vendor_calls(box) << " vendor calls)\n"
              << "accepted:          " << finished.at("counts").at("accepted").as_int64() << "\n"
              << "daemon peak RSS:   " << peak_rss_mib(box.daemon_pid()) << " MiB\n";
    return 0;
}
