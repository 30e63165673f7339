// The store under stress from outside: a second daemon pointed at a store in use, and writes that
// fail (EIO) while a vendor call is out. Real daemons, a real SQLite file, real failing syscalls.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <sqlite3.h>

#include <signal.h>
#include <sys/wait.h>

namespace json = boost::json;
using namespace switchboard::testing;

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void wait_for_calls(uspeedo_sandbox& sandbox, std::size_t calls) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (sandbox.send_calls().size() < calls && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(sandbox.send_calls().size() >= calls);
}

} // namespace

TEST_CASE("store: a second daemon on a store in use refuses to start and changes nothing", "[e2e][store]") {
    sandbox_options options;
    options.durable = true;
    options.faults_json = R"({"delay": 1, "delay_ms": 1500})";  // a call in flight while the second one starts
    uspeedo_sandbox sandbox(options);
    const std::string job = sandbox.submit(numbered_recipients(2000));
    wait_for_calls(sandbox, 1);

    const std::filesystem::path log = sandbox.config_file().parent_path() / "second.log";
    child_process second({SWITCHBOARD_BINARY, "serve", "--config", sandbox.config_file().string()}, log.string());
    const int status = second.stop(0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK_THAT(read_file(log), Catch::Contains("is in use by another switchboard process"));

    // The first daemon's call in flight was left to it: nothing became unknown, nobody was sent twice.
    const json::object finished = sandbox.wait_finished(job);
    CHECK(finished.at("counts").at("accepted") == 2000);
    CHECK(finished.at("counts").at("unknown") == 0);
    std::size_t numbers = 0;
    for (const json::object& call : sandbox.send_calls())
        numbers += call.at("accepted").as_array().size();
    CHECK(numbers == 2000);
}

TEST_CASE("store: writes that fail while a call is out hold its outcome until the store takes it", "[e2e][store]") {
    const std::filesystem::path flag = std::filesystem::temp_directory_path() /
                                       ("switchboard-fail-writes-" + std::to_string(::getpid()));
    std::filesystem::remove(flag);
    sandbox_options options;
    options.durable = true;
    options.faults_json = R"({"delay": 1, "delay_ms": 2000})";  // the vendor answers while writes fail
    options.daemon_env = {"LD_PRELOAD=" FAIL_WRITES_LIBRARY, "SB_FAIL_WRITES_WHILE=" + flag.string(),
                          "SB_FAIL_WRITES_TO=switchboard.db"};
    uspeedo_sandbox sandbox(options);
    const std::string job = sandbox.submit(numbered_recipients(1000));

    // Once the call is out, the disk fails for 3 s: the vendor's answer comes in the middle of it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + job).at("counts").at("sending") != 1000 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::ofstream(flag) << "fail";
    std::this_thread::sleep_for(std::chrono::seconds(3));
    std::filesystem::remove(flag);

    // Meanwhile the daemon says it is not ready; once the disk works again, it is.
    std::ofstream(flag) << "fail";
    // Past the readiness check's one-second memory; a probe that finds a write under way keeps its
    // last answer, so on a busy machine it may take a few looks.
    switchboard::core::http_result not_ready;
    const auto ready_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        not_ready = fetch("GET", sandbox.api_url() + "/readyz");
        REQUIRE(not_ready.ok());
    } while (not_ready.response.status != 503 && std::chrono::steady_clock::now() < ready_deadline);
    CHECK(not_ready.response.status == 503);
    CHECK(json::parse(not_ready.response.body).at("code") == "store_unavailable");
    std::filesystem::remove(flag);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    CHECK(fetch_json("GET", sandbox.api_url() + "/readyz").at("status") == "ready");

    const json::object finished = sandbox.wait_finished(job);
    CHECK(finished.at("counts").at("accepted") == 1000);
    CHECK(finished.at("counts").at("sending") == 0);
    CHECK(sandbox.send_calls().size() == 1);
    // And it stays so across a restart: nothing was left for a resume to find.
    sandbox.stop_daemon(SIGTERM);
    sandbox.start_daemon();
    CHECK(fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + job).at("counts").at("accepted") == 1000);
}

TEST_CASE("store: a finished job left with recipients 'in a call' is repaired at start", "[e2e][store]") {
    sandbox_options options;
    options.durable = true;
    uspeedo_sandbox sandbox(options);
    const std::string job = sandbox.submit(numbered_recipients(30));
    sandbox.wait_finished(job);
    // As an earlier build left a job whose outcome write failed: finished, ten recipients "sending".
    sandbox.stop_daemon(SIGTERM);
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open((sandbox.config_file().parent_path() / "switchboard.db").c_str(), &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "UPDATE recipients SET state = 1 WHERE idx < 10; "
                               "UPDATE job_counts SET count = count - 10 WHERE state = 2; "
                               "INSERT INTO job_counts (job_id, state, count) SELECT job_id, 1, 10 FROM job_counts WHERE state = 2 "
                               "ON CONFLICT (job_id, state) DO UPDATE SET count = count + 10",
                           nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    sandbox.start_daemon();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json::value shown;
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        shown = fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + job);
    } while (shown.at("counts").at("sending") != 0 && std::chrono::steady_clock::now() < deadline);
    CHECK(shown.at("counts").at("sending") == 0);
    CHECK(shown.at("counts").at("unknown") == 10);   // the vendor may have taken them: never resent
    CHECK(shown.at("counts").at("accepted") == 20);
    CHECK(sandbox.wait_finished(job).at("state") == "finished");
    CHECK(sandbox.send_calls().size() == 1);
}
