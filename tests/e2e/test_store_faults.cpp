// The store under stress from outside: a second daemon pointed at a store in use, and writes that
// fail (EIO) while a vendor call is out. Real daemons, a real SQLite file, real failing syscalls.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

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
