// VMS end to end: the daemon and vms-simulator as separate processes on loopback; the simulator's
// own records say what the vendor received.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>

namespace json = boost::json;
using namespace switchboard::testing;

TEST_CASE("vms end to end: a job goes out V4-signed, blocked numbers fail with VMS's code", "[e2e][vms]") {
    sandbox_spec spec;
    spec.simulator = VMS_SIMULATOR;
    spec.simulator_args = {"--access-key-id", "e2e-ak", "--secret-access-key", "e2e-sk", "--region", "cn-north-1"};
    spec.faults_json = R"({"block_list": ["+85261000003", "+85261000017"]})";
    spec.plugin = "vms";
    spec.provider_config = {{"access_key_id", "e2e-ak"}, {"region", "cn-north-1"}, {"number_pool_no", "NP-e2e"}};
    spec.secret_field = "secret_access_key";
    spec.secret = "e2e-sk";
    spec.route_step = {{"channel", "voice"}, {"type", 1}, {"resource", "TTS-e2e"}, {"params", json::array{"code"}}};
    sandbox box(spec);

    const std::string job = box.submit(numbered_recipients(25));
    const json::object finished = box.wait_finished(job);
    CHECK(finished.at("counts").at("accepted") == 23);
    CHECK(finished.at("counts").at("failed") == 2);

    const auto calls = box.calls("SingleBatchAppend");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("auth_ok") == true);
    CHECK(calls[0].at("count") == 25);
    for (const json::object& r : box.recipients(job, "failed")) {
        CHECK(r.at("code") == "INVALID_PHONE_FORMAT");
        CHECK(r.at("reason") == "invalid phone number");
    }
    for (const json::object& r : box.recipients(job, "accepted"))
        CHECK(r.at("message_id").as_string().size() == 32);
}

TEST_CASE("vms end to end: a step with \"schedule\": \"vendor\" sends a job held for later at once, VMS holding the calls",
          "[e2e][vms][schedule]") {
    sandbox_spec spec;
    spec.simulator = VMS_SIMULATOR;
    spec.simulator_args = {"--access-key-id", "e2e-ak", "--secret-access-key", "e2e-sk", "--region", "cn-north-1"};
    spec.plugin = "vms";
    spec.provider_config = {{"access_key_id", "e2e-ak"}, {"region", "cn-north-1"}, {"number_pool_no", "NP-e2e"}};
    spec.secret_field = "secret_access_key";
    spec.secret = "e2e-sk";
    spec.route_step = {{"channel", "voice"}, {"type", 1}, {"resource", "TTS-e2e"}, {"params", json::array{"code"}},
                       {"schedule", "vendor"}};
    sandbox box(spec);

    // An hour from now, which VMS is given in Beijing time (UTC+8).
    const auto in_an_hour = std::chrono::system_clock::now() + std::chrono::hours(1);
    const std::time_t at = std::chrono::system_clock::to_time_t(in_an_hour);
    std::tm utc{};
    gmtime_r(&at, &utc);
    char send_at[32];
    std::strftime(send_at, sizeof send_at, "%Y-%m-%dT%H:%M:%SZ", &utc);
    const std::time_t beijing_seconds = at + 8 * 3600;
    std::tm beijing{};
    gmtime_r(&beijing_seconds, &beijing);
    char trigger[32];
    std::strftime(trigger, sizeof trigger, "%Y-%m-%d %H:%M:%S", &beijing);

    const json::value job = fetch_json("POST", box.api_url() + "/v1/jobs",
                                       json::serialize(json::object{{"route", "otp"}, {"send_at", send_at},
                                                                    {"recipients", numbered_recipients(3)}}));
    const json::object finished = box.wait_finished(std::string(job.at("id").as_string()));  // not an hour from now
    CHECK(finished.at("counts").at("accepted") == 3);
    const auto calls = box.calls("SingleBatchAppend");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("trigger_times") == json::array{trigger, trigger, trigger});
}
