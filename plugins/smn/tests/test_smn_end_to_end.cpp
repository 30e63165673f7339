// SMN end to end: the daemon and the SMN simulator as separate processes on loopback; the
// simulator's own records say what the vendor received.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

namespace json = boost::json;
using namespace switchboard::testing;

TEST_CASE("smn end to end: a job goes out signed, blocked numbers fail with SMN's reason", "[e2e][smn]") {
    sandbox_spec spec;
    spec.simulator = SMN_SIMULATOR;
    spec.simulator_args = {"--access-key-id", "e2e-ak", "--secret-access-key", "e2e-sk", "--project-id", "e2e-project"};
    spec.faults_json = R"({"block_list": ["+85261000003", "+85261000017"]})";
    spec.plugin = "smn";
    spec.provider_config = {{"region", "cn-north-4"}, {"project_id", "e2e-project"}, {"access_key_id", "e2e-ak"},
                            {"sign_id", "e2e-sign"}};
    spec.secret_field = "secret_access_key";
    spec.secret = "e2e-sk";
    spec.route_step = {{"channel", "sms"}, {"template", "0123456789abcdef0123456789abcdef"}};
    sandbox box(spec);

    const std::string job = box.submit(numbered_recipients(25));
    const json::object finished = box.wait_finished(job);
    CHECK(finished.at("counts").at("accepted") == 23);
    CHECK(finished.at("counts").at("failed") == 2);

    const auto calls = box.calls("PromotionSmsPublish");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("auth_ok") == true);
    CHECK(calls[0].at("count") == 25);
    for (const json::object& r : box.recipients(job, "failed")) {
        CHECK(r.at("code") == "SMN.0087");
        CHECK(r.at("reason") == "Fail send this message.");
    }
}
