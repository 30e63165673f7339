// The uSpeedo simulator is only useful if it is as strict as the vendor: these requests are
// crafted by hand (signed with the plugin's vector-checked signer) to break one rule each.
#include "child_process.hpp"
#include "fetch.hpp"
#include "http_listener.hpp"
#include "uspeedo_signature.hpp"

#include <switchboard/core/plugin.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <thread>

using namespace switchboard;
using namespace switchboard::testing;
namespace json = boost::json;

namespace {

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct simulator {
    std::unique_ptr<child_process> process;
    std::string url;
    explicit simulator(const std::vector<std::string>& extra = {}) {
        std::vector<std::string> argv{USPEEDO_SIMULATOR, "--listen", "127.0.0.1:0", "--receipt-delay-ms", "0"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process = std::make_unique<child_process>(argv);
        url = wait_for_listening(*process);
    }

    // Posts `body` to /api signed as the action style wants, with the given timestamp.
    json::object post(const json::object& body, std::int64_t timestamp_s = now_s(),
                      const std::string& secret = "sim-access-secret") {
        const core::http_result r = core::fetch(
            {"POST", url + "/api",
             {{"Content-Type", "application/json"},
              {"X-Access-Key-Id", "sim-access-key"},
              {"X-Signature", uspeedo::signature(body, secret)},
              {"X-Timestamp", std::to_string(timestamp_s)},
              {"X-Nonce", "abcdef0123"}},
             json::serialize(body)});
        REQUIRE(r.ok());
        REQUIRE(r.response.status == 200);
        return json::parse(r.response.body).as_object();
    }

    json::object last_record() {
        const json::value calls = fetch_json("GET", url + "/_simulator/calls");
        return calls.as_array().back().as_object();
    }
};

json::object send_body(int numbers) {
    json::array targets;
    for (int i = 0; i < numbers; ++i)
        targets.push_back({{"Phone", "8525" + std::to_string(1000000 + i)}, {"TemplateParams", {"123456"}}});
    return {{"Action", "SendBatchUSMSMessage"},
            {"AccountId", 1},
            {"TaskContent", {{{"TemplateId", "UTA1"}, {"SenderId", ""}, {"Target", std::move(targets)}}}}};
}

} // namespace

TEST_CASE("uspeedo simulator: a correctly signed request is accepted under a SessionNo", "[simulator][uspeedo]") {
    simulator sim;
    const json::object answer = sim.post(send_body(3));
    CHECK(answer.at("RetCode") == 0);
    CHECK(answer.at("SuccessCount") == 3);
    CHECK(answer.at("SessionNo").as_string().starts_with("sim-session-"));
    CHECK(sim.last_record().at("auth_ok") == true);
}

TEST_CASE("uspeedo simulator: a signature by another secret gets the vendor's auth error", "[simulator][uspeedo]") {
    simulator sim;
    const json::object answer = sim.post(send_body(1), now_s(), "another-secret");
    CHECK(answer.at("RetCode") == 215398);
    CHECK(answer.at("Message") == "Failed to parse token");
    CHECK(sim.last_record().at("auth_problem") == "signature mismatch");
}

TEST_CASE("uspeedo simulator: a timestamp outside the 5-minute window is refused", "[simulator][uspeedo]") {
    simulator sim;
    CHECK(sim.post(send_body(1), now_s() - 301).at("RetCode") == 215398);
    CHECK(sim.last_record().at("auth_problem") == "X-Timestamp is more than 5 minutes off");
    CHECK(sim.post(send_body(1), now_s() - 240).at("RetCode") == 0);
}

TEST_CASE("uspeedo simulator: more than 1000 numbers in one request are refused", "[simulator][uspeedo]") {
    simulator sim;
    const json::object answer = sim.post(send_body(1001));
    CHECK(answer.at("RetCode") != 0);
    CHECK(answer.at("Message") == "at most 1000 numbers per request, got 1001");
    CHECK(sim.post(send_body(1000)).at("RetCode") == 0);
}

TEST_CASE("uspeedo simulator: required fields and types are enforced", "[simulator][uspeedo]") {
    simulator sim;
    json::object no_template = send_body(1);
    no_template["TaskContent"].as_array()[0].as_object().erase("TemplateId");
    CHECK(sim.post(no_template).at("Message") == "TemplateId is required");

    json::object numeric_param = send_body(1);
    numeric_param["TaskContent"].as_array()[0].as_object()["Target"].as_array()[0].as_object()["TemplateParams"] =
        json::array{123456};
    CHECK(sim.post(numeric_param).at("Message") == "TemplateParams must be an array of strings");

    json::object wrong_account = send_body(1);
    wrong_account["AccountId"] = 2;
    CHECK(sim.post(wrong_account).at("Message") == "AccountId is missing or not this account's project");
}

namespace {

// The receipts the uSpeedo plugin pulls for `session` from `sim` (GetUSMSSendReceipt), as the
// daemon would pull them.
json::array pull_receipts(const simulator& sim, const std::string& session) {
    const auto plugin = core::plugin::load(std::filesystem::path(SWITCHBOARD_PLUGIN_DIR) / "uspeedo.so");
    const auto instance = plugin->create_instance(
        "uspeedo-hk", R"({"endpoint": ")" + sim.url +
                          R"(", "account_id": 1, "access_key_id": "sim-access-key", "access_key_secret": "sim-access-secret"})");
    const std::string query = R"({"message_ids": [")" + session + R"("]})";
    const auto encoded = instance->encode_receipt_query(query, now_s() * 1000);
    REQUIRE(encoded.ok());
    const core::http_result answer = core::fetch(*encoded.request);
    REQUIRE(answer.ok());
    const auto decoded = instance->decode_receipt_query(query, answer.response);
    INFO(decoded.error);
    REQUIRE(decoded.ok());
    return json::parse(decoded.json).at("receipts").as_array();
}

} // namespace

TEST_CASE("uspeedo simulator and plugin agree on receipts: accepted numbers come back delivered", "[simulator][uspeedo]") {
    simulator sim;
    const json::object sent = sim.post(send_body(2));
    const std::string session(sent.at("SessionNo").as_string());
    const json::array receipts = pull_receipts(sim, session);
    REQUIRE(receipts.size() == 2);
    for (const json::value& r : receipts) {
        CHECK(r.at("message_id") == session.c_str());
        CHECK(r.at("status") == "delivered");
        CHECK(r.at("to").as_string().starts_with("+8525"));
    }
}

TEST_CASE("uspeedo simulator: a pulled receipt says Fail for the undelivered_list, none comes for the silent_list, "
          "and nothing is pushed (uSpeedo documents no push)",
          "[simulator][uspeedo][receipts]") {
    const http_listener listener;
    simulator sim({"--receipt-url", listener.url() + "/v1/receipts/uspeedo-hk", "--faults",
                   R"({"undelivered_list": ["+85251000001"], "silent_list": ["85251000002"]})"});
    const json::object sent = sim.post(send_body(3));  // 85251000000, 85251000001, 85251000002
    CHECK(sent.at("SuccessCount") == 3);               // all three accepted: their fate is for the receipts
    const std::string session(sent.at("SessionNo").as_string());

    std::map<std::string, json::object> by_to;
    for (const json::value& r : pull_receipts(sim, session))
        by_to[std::string(r.at("to").as_string())] = r.as_object();
    REQUIRE(by_to.size() == 2);
    REQUIRE(by_to.count("+85251000000") == 1);
    CHECK(by_to["+85251000000"].at("status") == "delivered");
    CHECK(by_to["+85251000000"].at("message_id") == session.c_str());
    REQUIRE(by_to.count("+85251000001") == 1);
    CHECK(by_to["+85251000001"].at("status") == "undelivered");
    CHECK(by_to["+85251000001"].at("code") == "UNDELIV");
    CHECK(by_to["+85251000001"].at("message_id") == session.c_str());
    CHECK(by_to.count("+85251000002") == 0);

    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // time for a push (delay 0), were there one
    CHECK(listener.received().empty());
    CHECK(fetch_json("GET", sim.url + "/_simulator/pushes").as_array().empty());
}
