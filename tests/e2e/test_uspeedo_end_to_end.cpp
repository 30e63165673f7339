// The daemon and the uSpeedo simulator as separate processes on loopback: what the simulator
// received (its own records) and what the API reports must agree, recipient by recipient.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <sys/wait.h>
#include <unistd.h>

namespace json = boost::json;
using namespace switchboard::testing;

namespace {

std::string blocked_numbers_faults() {
    return R"({"block_list": ["+85261000007", "+85261001234", "+85261002499"]})";
}

} // namespace

TEST_CASE("2500 recipients go out as calls of 1000 and 1000 and 500 and blocked numbers fail with the vendor reason",
          "[e2e][uspeedo]") {
    sandbox_options options;
    options.faults_json = blocked_numbers_faults();
    uspeedo_sandbox sandbox(options);

    const auto started = std::chrono::steady_clock::now();
    const std::string job = sandbox.submit(numbered_recipients(2500));
    const json::object finished = sandbox.wait_finished(job);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);

    const std::vector<json::object> calls = sandbox.send_calls();
    REQUIRE(calls.size() == 3);
    std::vector<std::int64_t> sizes;
    for (const json::object& call : calls) {
        sizes.push_back(call.at("count").as_int64());
        CHECK(call.at("auth_ok") == true);
        CHECK(call.at("fault") == "none");
    }
    std::sort(sizes.begin(), sizes.end());
    CHECK(sizes == std::vector<std::int64_t>{500, 1000, 1000});

    CHECK(finished.at("recipients") == 2500);
    CHECK(finished.at("counts").at("accepted") == 2497);
    CHECK(finished.at("counts").at("failed") == 3);

    const std::vector<json::object> failed = sandbox.recipients(job, "failed");
    REQUIRE(failed.size() == 3);
    for (const json::object& r : failed)
        CHECK(r.at("reason") == "phone in the black list");
    CHECK(failed[0].at("to") == "+85261000007");
    CHECK(failed[0].at("ref") == "user-7");

    const std::vector<json::object> all = sandbox.recipients(job);
    CHECK(all.size() == 2500);
    CHECK(all[0].at("state") == "accepted");
    CHECK(all[0].at("message_id").as_string().starts_with("sim-session-"));
    std::cout << "e2e uspeedo: 2500 recipients, " << calls.size() << " calls (" << sizes[2] << "/" << sizes[1] << "/"
              << sizes[0] << "), 2497 accepted, 3 failed, " << elapsed.count() << " ms from submit to finished\n";
}

TEST_CASE("the v1 endpoint style with Basic credentials works end to end", "[e2e][uspeedo]") {
    sandbox_options options;
    options.api_style = "v1";
    uspeedo_sandbox sandbox(options);
    const std::string job = sandbox.submit(numbered_recipients(5));
    CHECK(sandbox.wait_finished(job).at("counts").at("accepted") == 5);
    const auto calls = sandbox.send_calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("style") == "v1");
    CHECK(calls[0].at("auth_ok") == true);
}

TEST_CASE("a wrong secret is refused by the simulator and reported as an authentication failure", "[e2e][uspeedo]") {
    sandbox_options options;
    options.secret_seen_by_daemon = "not-the-secret";
    uspeedo_sandbox sandbox(options);
    const std::string job = sandbox.submit(numbered_recipients(2));
    CHECK(sandbox.wait_finished(job).at("counts").at("failed") == 2);
    const auto calls = sandbox.send_calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("auth_ok") == false);
    CHECK(calls[0].at("auth_problem") == "signature mismatch");
    for (const json::object& r : sandbox.recipients(job)) {
        CHECK(r.at("code") == "authentication");
        CHECK_THAT(std::string(r.at("reason").as_string()), Catch::Contains("215398"));
    }
}

TEST_CASE("each injected fault is classified as the plugin says", "[e2e][uspeedo][faults]") {
    sandbox_options options;
    options.request_timeout_ms = 1000;
    uspeedo_sandbox sandbox(options);

    struct expectation {
        const char* fault;
        const char* state;
        const char* code;
        const char* reason_contains;
    };
    const expectation expectations[] = {
        {"server_error", "failed", "transient", "503"},
        {"throttle", "failed", "transient", "429"},
        {"vendor_error", "failed", "transient", "150"},
        {"malformed", "failed", "transient", "injected: gateway page"},
        {"reset", "unknown", "outcome_unknown", "request sent to"},
        {"delay", "unknown", "outcome_unknown", "no complete answer within 1000 ms"},
    };
    for (const expectation& e : expectations) {
        INFO("fault " << e.fault);
        fetch_json("POST", sandbox.simulator_url() + "/_simulator/faults",
                   std::string(R"({")") + e.fault + R"(": 1, "delay_ms": 3000})");
        const std::string job = sandbox.submit(numbered_recipients(3));
        sandbox.wait_finished(job);
        for (const json::object& r : sandbox.recipients(job)) {
            CHECK(r.at("state") == e.state);
            CHECK(r.at("code") == e.code);
            CHECK_THAT(std::string(r.at("reason").as_string()), Catch::Contains(e.reason_contains));
        }
    }
}

TEST_CASE("a transient fault is retried and the recipients are then accepted", "[e2e][uspeedo][faults]") {
    sandbox_options options;
    // Room for every retry the daemon makes before the test lets the vendor recover: with full
    // jitter a few retries can come within milliseconds, and under TSan the test itself is slow.
    options.max_attempts = 100;
    options.faults_json = R"({"server_error": 1})";
    uspeedo_sandbox sandbox(options);
    const std::string job = sandbox.submit(numbered_recipients(40));

    // Let two attempts fail, then let the vendor recover.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::size_t failed_calls = 0;
    while (failed_calls < 2 && std::chrono::steady_clock::now() < deadline)
        failed_calls = fetch_json("GET", sandbox.simulator_url() + "/_simulator/calls").as_array().size();
    fetch_json("POST", sandbox.simulator_url() + "/_simulator/faults", "{}");
    const json::object finished = sandbox.wait_finished(job);

    CHECK(finished.at("counts").at("accepted") == 40);
    const json::value calls = fetch_json("GET", sandbox.simulator_url() + "/_simulator/calls");
    std::size_t refused = 0;
    for (const json::value& call : calls.as_array())
        refused += call.at("fault") == "server_error" ? 1 : 0;
    CHECK(refused >= 2);
    const auto sends = sandbox.send_calls();
    REQUIRE(sends.size() == 1);  // what failed together is retried together, in one call
    CHECK(sends[0].at("count") == 40);
    for (const json::object& r : sandbox.recipients(job))
        CHECK(r.at("attempts") == static_cast<std::int64_t>(refused + 1));
}

TEST_CASE("switchboard send submits a file, prints a summary table and every recipient, and exits 2 when some failed", "[e2e][cli]") {
    sandbox_options options;
    options.faults_json = R"({"block_list": ["+85261000001"]})";
    uspeedo_sandbox sandbox(options);
    const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("switchboard-send-" + std::to_string(::getpid()) + ".json");
    std::ofstream(file) << json::serialize(numbered_recipients(3));

    child_process send({SWITCHBOARD_BINARY, "send", "--server", sandbox.api_url(), "--route", "otp", file.string()});
    CHECK_THAT(send.wait_for_line("job "), Catch::EndsWith(": 3 recipients on route otp"));
    CHECK(send.wait_for_line("STATE ") == "    RECIPIENTS   SHARE");
    CHECK(send.wait_for_line("accepted ") == "          2   66.7%");
    CHECK(send.wait_for_line("failed ") == "            1   33.3%");
    CHECK(send.wait_for_line("total ") == "             3");
    CHECK_THAT(send.wait_for_line("    0  "), Catch::Contains("accepted") && Catch::Contains("sim-session-"));
    CHECK_THAT(send.wait_for_line("    1  "), Catch::Contains("failed") && Catch::Contains("phone in the black list"));
    const int status = send.stop(0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    std::filesystem::remove(file);
}

TEST_CASE("switchboard jobs list and show and recipients and cancel talk to a running daemon", "[e2e][cli]") {
    sandbox_options options;
    options.faults_json = R"({"block_list": ["+85261000001"]})";
    uspeedo_sandbox sandbox(options);
    const std::string job = sandbox.submit(numbered_recipients(3));
    sandbox.wait_finished(job);
    const auto run = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {SWITCHBOARD_BINARY, "jobs"});
        args.insert(args.end(), {"--server", sandbox.api_url()});
        return std::make_unique<child_process>(args);
    };

    auto list = run({"list"});
    CHECK_THAT(list->wait_for_line(job), Catch::Contains("otp") && Catch::Contains("finished") &&
                                             Catch::Contains("accepted 2, failed 1"));
    auto show = run({"show", job});
    CHECK(show->wait_for_line("state:") == "      finished");
    auto failed = run({"recipients", job, "--state", "failed"});
    CHECK_THAT(failed->wait_for_line("    1  "), Catch::Contains("phone in the black list"));
    auto cancel = std::make_unique<child_process>(
        std::vector<std::string>{SWITCHBOARD_BINARY, "jobs", "cancel", job, "--server", sandbox.api_url()},
        (std::filesystem::temp_directory_path() / ("switchboard-cancel-" + std::to_string(::getpid()) + ".err")).string());
    const int status = cancel->stop(0);
    CHECK(WEXITSTATUS(status) == 1);  // a finished job has nothing to cancel
}

TEST_CASE("switchboard jobs takes its API key from a file, never needing it on the command line", "[e2e][cli]") {
    sandbox_options options;
    options.api_key = "cli-key-0123456789abcdef";
    uspeedo_sandbox sandbox(options);
    const std::filesystem::path dir = std::filesystem::temp_directory_path();
    const std::filesystem::path key_file = dir / ("switchboard-key-" + std::to_string(::getpid()));
    const std::filesystem::path wrong_file = dir / ("switchboard-wrong-key-" + std::to_string(::getpid()));
    std::ofstream(key_file) << options.api_key << "\n";
    std::ofstream(wrong_file) << "not-the-key-at-all-00000\n";
    const auto list = [&](const std::filesystem::path& file) {
        return std::make_unique<child_process>(std::vector<std::string>{SWITCHBOARD_BINARY, "jobs", "list", "--server",
                                                                        sandbox.api_url(), "--api-key-file", file.string()},
                                               (dir / ("switchboard-key-err-" + std::to_string(::getpid()))).string());
    };
    CHECK(WEXITSTATUS(list(key_file)->stop(0)) == 0);
    CHECK(WEXITSTATUS(list(wrong_file)->stop(0)) == 1);   // the daemon answered 401
    std::filesystem::remove(key_file);
    std::filesystem::remove(wrong_file);
}
