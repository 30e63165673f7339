// A plugin that breaks the provider contract at run time is named for it: the daemon logs each
// kind of breach once, naming the provider and its plugin, and counts every one in /metrics. A
// real daemon loads a fixture plugin that gets each rule of decode's outcomes wrong.
#include "sandbox.hpp"

#include "http_listener.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <signal.h>
#include <unistd.h>

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace switchboard::testing;

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t count = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++count;
    return count;
}

} // namespace

TEST_CASE("a plugin's breaches of the contract are logged once per kind and counted in /metrics", "[e2e][contract]") {
    http_listener vendor;   // answers every call 200, which the fixture decodes into broken outcomes
    const fs::path dir = fs::temp_directory_path() / ("switchboard-breaches-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const json::object config{
        {"listen", "127.0.0.1:0"},
        {"open_api", true},
        {"plugin_dirs", json::array{SWITCHBOARD_CHECK_FIXTURE_DIR}},
        {"providers", {{"breaker", {{"plugin", "fixture_breaks_outcomes"}, {"config", {{"url", vendor.url() + "/send"}}}}}}},
        {"routes", {{"r", json::array{{{"provider", "breaker"}, {"channel", "sms"}}}}}}};
    std::ofstream(dir / "config.json") << json::serialize(config);
    const fs::path log = dir / "daemon.log";
    {
        child_process daemon({SWITCHBOARD_BINARY, "serve", "--config", (dir / "config.json").string()}, log.string());
        const std::string api = wait_for_listening(daemon);
        // Two jobs of three: each call breaks every rule again, and each breach is counted again.
        for (int job = 0; job < 2; ++job) {
            const json::value answer = fetch_json(
                "POST", api + "/v1/jobs",
                json::serialize(json::object{{"route", "r"}, {"recipients", json::array{{{"to", "+85261000001"}},
                                                                                         {{"to", "+85261000002"}},
                                                                                         {{"to", "+85261000003"}}}}}));
            const json::object finished = wait_job_finished(api, std::string(answer.at("id").as_string()));
            CHECK(finished.at("counts").at("accepted") == 1);   // "0", whose outcome came first
            CHECK(finished.at("counts").at("unknown") == 2);    // "1" (result "sent") and "2" (none)
        }
        const std::string metrics = fetch("GET", api + "/metrics").response.body;
        for (const char* rule : {"second_write", "foreign_outcome", "duplicate_outcome", "invalid_result", "missing_outcome"})
            CHECK_THAT(metrics, Catch::Contains("switchboard_plugin_contract_breaches_total{provider=\"breaker\",rule=\"" +
                                                std::string(rule) + "\"} 2"));
        daemon.stop(SIGTERM);
    }
    const std::string logged = read_file(log);
    for (const char* rule : {"second_write", "foreign_outcome", "duplicate_outcome", "invalid_result", "missing_outcome"})
        CHECK(occurrences(logged, "provider breaker: plugin fixture_breaks_outcomes broke the provider contract (" +
                                      std::string(rule) + ")") == 1);
    CHECK_THAT(logged, Catch::Contains("(foreign_outcome): an outcome for \"999\", not a recipient of the batch"));
    CHECK_THAT(logged, Catch::Contains("(invalid_result): result 'sent' (taken as unknown)"));
    fs::remove_all(dir);
}
