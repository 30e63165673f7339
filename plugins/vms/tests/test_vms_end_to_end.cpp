// VMS end to end: the daemon and vms-simulator as separate processes on loopback; the simulator's
// own records say what the vendor received.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

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
