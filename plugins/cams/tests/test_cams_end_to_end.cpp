// CAMS end to end: the daemon and the CAMS simulator as separate processes on loopback; the
// simulator's own records say what the vendor received. CAMS takes a whole batch and reports a
// refused number only in its pushed receipt, so block-listed numbers are accepted here and show
// up in the simulator's record as "blocked".
#include "sandbox.hpp"

#include <catch2/catch.hpp>

namespace json = boost::json;
using namespace switchboard::testing;

TEST_CASE("cams end to end: a WhatsApp job goes out in one signed call, blocked numbers left to receipts",
          "[e2e][cams]") {
    sandbox_spec spec;
    spec.simulator = CAMS_SIMULATOR;
    spec.simulator_args = {"--access-key-id", "e2e-ak", "--access-key-secret", "e2e-sk", "--cust-space-id", "cams-e2e"};
    spec.faults_json = R"({"block_list": ["+85261000003", "+85261000017"]})";
    spec.plugin = "cams";
    spec.provider_config = {{"access_key_id", "e2e-ak"}, {"cust_space_id", "cams-e2e"}, {"from", "8613800000000"}};
    spec.secret_field = "access_key_secret";
    spec.secret = "e2e-sk";
    spec.route_step = {{"channel", "whatsapp"}, {"template_code", "tpl-otp"}, {"language", "en"},
                       {"params", json::array{"code"}}};
    sandbox box(spec);

    const std::string job = box.submit(numbered_recipients(25));
    const json::object finished = box.wait_finished(job);
    CHECK(finished.at("counts").at("accepted") == 25);

    const auto calls = box.calls("SendChatappMassMessage");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("auth_ok") == true);
    CHECK(calls[0].at("count") == 25);
    CHECK(calls[0].at("blocked") == json::parse(R"(["85261000003", "85261000017"])"));
}
