// vms-simulator as a separate process, fed requests the plugin encoded and sent over real loopback
// HTTP: the plugin's signature must pass the simulator's own check, and the simulator's answers
// must decode to the outcomes the vendor's would.
#include "child_process.hpp"
#include "fetch.hpp"
#include "http_listener.hpp"
#include "vms_signature.hpp"

#include <switchboard/core/plugin.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <thread>

namespace core = switchboard::core;
namespace json = boost::json;
using switchboard::testing::child_process;
using switchboard::testing::fetch_json;
using switchboard::testing::wait_for_listening;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct simulator {
    std::unique_ptr<child_process> process;
    std::string url;

    explicit simulator(const std::vector<std::string>& extra = {}) {
        std::vector<std::string> argv{VMS_SIMULATOR, "--listen", "127.0.0.1:0"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process = std::make_unique<child_process>(argv);
        url = wait_for_listening(*process);
    }

    std::unique_ptr<core::provider_instance> instance(const std::string& secret = "sim-secret-key",
                                                      const std::string& region = "cn-north-1") const {
        static const auto plugin = core::plugin::load(std::filesystem::path(SWITCHBOARD_PLUGIN_DIR) / "vms.so");
        return plugin->create_instance("vms-sim", R"({"endpoint": ")" + url + R"(", "access_key_id": "sim-access-key",
            "secret_access_key": ")" + secret + R"(", "region": ")" + region + R"(", "number_pool_no": "NP1",
            "callback_token": "sim-callback-token"})");
    }

    // Encodes `batch` with the plugin, sends it, and decodes the answer.
    core::plugin_call_result send(const core::provider_instance& p, const std::string& batch, std::int64_t now = now_ms()) const {
        const core::plugin_call_result encoded = p.encode(batch, now);
        INFO(encoded.error);
        REQUIRE(encoded.ok());
        const core::http_result answer = core::fetch(*encoded.request);
        INFO(answer.error);
        REQUIRE(answer.ok());
        return p.decode(batch, answer.response);
    }

    void faults(const std::string& settings) const { fetch_json("POST", url + "/_simulator/faults", settings); }

    json::object last_record() const {
        const json::value calls = fetch_json("GET", url + "/_simulator/calls");
        return calls.as_array().back().as_object();
    }
};

const std::string batch = R"({"id": "b1", "job_id": "job1", "channel": "voice",
    "step": {"type": 1, "resource": "TTS-1", "params": ["code"], "ring_again_times": 1, "ring_again_interval": 5,
             "forbid_time_list": [{"Weekdays": [1], "Times": ["00:00-08:00"]}], "ext": "e"},
    "recipients": [{"id": "r1", "to": "+8613300000001", "params": {"code": "1111"}},
                   {"id": "r2", "to": "+8613300000002", "params": {"code": "2222"}},
                   {"id": "r3", "to": "+85255311111", "params": {"code": "3333"}}]})";

std::string result_of(const core::plugin_call_result& r, const std::string& id) {
    const json::value doc = json::parse(r.json);
    for (const json::value& o : doc.at("outcomes").as_array())
        if (o.at("id") == id.c_str())
            return std::string(o.at("result").as_string()) +
                   (o.as_object().contains("code") ? " " + std::string(o.at("code").as_string()) : std::string());
    return "none";
}

} // namespace

TEST_CASE("simulator: plugin-signed calls are accepted under their SingleOpenIds", "[simulator]") {
    simulator sim;
    const auto p = sim.instance();
    const auto r = sim.send(*p, batch);
    INFO(r.error);
    REQUIRE(r.ok());
    for (const std::string id : {"r1", "r2", "r3"})
        CHECK(result_of(r, id) == "accepted");
    const json::object record = sim.last_record();
    CHECK(record.at("action") == "SingleBatchAppend");
    CHECK(record.at("auth_ok") == true);
    CHECK(record.at("count") == 3);
    CHECK(record.at("numbers") == json::array{"13300000001", "13300000002", "85255311111"});
}

TEST_CASE("simulator: a block-listed number is rejected as INVALID_PHONE_FORMAT", "[simulator]") {
    simulator sim;
    sim.faults(R"({"block_list": ["+8613300000002"]})");
    const auto r = sim.send(*sim.instance(), batch);
    REQUIRE(r.ok());
    CHECK(result_of(r, "r1") == "accepted");
    CHECK(result_of(r, "r2") == "rejected INVALID_PHONE_FORMAT");
    CHECK(result_of(r, "r3") == "accepted");
    CHECK(sim.last_record().at("accepted") == json::array{"13300000001", "85255311111"});
}

TEST_CASE("simulator: a resent batch comes back REDUPLICATED_ITEM, which counts as accepted", "[simulator]") {
    simulator sim;
    const auto p = sim.instance();
    const auto first = sim.send(*p, batch);
    REQUIRE(first.ok());
    const auto again = sim.send(*p, batch);
    INFO(again.error);
    REQUIRE(again.ok());
    for (const std::string id : {"r1", "r2", "r3"})
        CHECK(result_of(again, id) == "accepted");
    CHECK(sim.last_record().at("accepted").as_array().empty());
    CHECK(json::parse(first.json).at("outcomes") == json::parse(again.json).at("outcomes"));
}

TEST_CASE("simulator: a wrong secret or region is an authentication failure", "[simulator]") {
    simulator sim;
    const auto wrong_secret = sim.send(*sim.instance("another-secret"), batch);
    CHECK(wrong_secret.status == SB_STATUS_AUTHENTICATION);
    CHECK_THAT(wrong_secret.error, Catch::Contains("SignatureDoesNotMatch 100010"));
    CHECK(sim.last_record().at("auth_problem") == "signature mismatch");
    CHECK(sim.last_record().at("status") == 401);

    const auto wrong_region = sim.send(*sim.instance("sim-secret-key", "cn-beijing"), batch);
    CHECK(wrong_region.status == SB_STATUS_AUTHENTICATION);
    CHECK(sim.last_record().at("auth_problem") == "Credential region 'cn-beijing' is not cn-north-1");
}

TEST_CASE("simulator: an X-Date 15 minutes off is InvalidTimestamp, permanent", "[simulator]") {
    simulator sim;
    const auto stale = sim.send(*sim.instance(), batch, now_ms() - 16 * 60 * 1000);
    CHECK(stale.status == SB_STATUS_PERMANENT);
    CHECK_THAT(stale.error, Catch::Contains("InvalidTimestamp 100006"));
    CHECK(sim.last_record().at("auth_problem") == "X-Date is more than 15 minutes off");
    CHECK(sim.send(*sim.instance(), batch, now_ms() - 14 * 60 * 1000).ok());
}

TEST_CASE("simulator: the vendor_error fault is FlowLimitExceeded, transient with Retry-After", "[simulator]") {
    simulator sim;
    sim.faults(R"({"vendor_error": 1})");
    const auto r = sim.send(*sim.instance(), batch);
    CHECK(r.status == SB_STATUS_TRANSIENT);
    CHECK(r.retry_after_ms == 1000);
    CHECK_THAT(r.error, Catch::Contains("FlowLimitExceeded"));
}

TEST_CASE("simulator: a tampered body or missing field is refused", "[simulator]") {
    simulator sim;
    const auto p = sim.instance();
    core::http_request request = *p->encode(batch, now_ms()).request;
    request.body.replace(request.body.find("13300000001"), 11, "13300000009");
    const core::http_result tampered = core::fetch(request);
    REQUIRE(tampered.ok());
    CHECK(tampered.response.status == 401);
    CHECK(sim.last_record().at("auth_problem") == "X-Content-Sha256 does not match the body");

    // A request the plugin would never send, signed correctly: no NumberPoolNo.
    const std::string body = R"({"List":[{"SingleOpenId":"x","Phone":"13300000001","Type":0,"Resource":"R"}]})";
    const std::string x_date = request.headers[1].value;
    const std::string host = sim.url.substr(7);
    switchboard::vms::signing_input in;
    in.query = {{"Action", "SingleBatchAppend"}, {"Version", "2022-01-01"}};
    in.headers = {{"content-type", "application/json"}, {"host", host}, {"x-date", x_date}};
    in.body = body;
    const core::http_result missing = core::fetch(
        {"POST", sim.url + "/?Version=2022-01-01&Action=SingleBatchAppend",
         {{"Content-Type", "application/json"}, {"X-Date", x_date},
          {"Authorization", switchboard::vms::authorization(in, x_date, "sim-access-key", "sim-secret-key", "cn-north-1", "vms")}},
         body});
    REQUIRE(missing.ok());
    CHECK(missing.response.status == 400);
    const json::value answer = json::parse(missing.response.body);
    CHECK(answer.at("ResponseMetadata").at("Error").at("Code") == "MissingParameter");
    CHECK(answer.at("ResponseMetadata").at("Error").at("Message") == "List[0].NumberPoolNo is required");
    CHECK(sim.last_record().at("auth_ok") == true);
}

TEST_CASE("simulator: the CDR callback of each accepted call verifies and becomes a delivered receipt", "[simulator]") {
    const simulator sim;
    const auto p = sim.instance();
    const core::plugin_call_result sent = sim.send(*p, batch);
    REQUIRE(sent.ok());
    const json::object record = sim.last_record();
    const json::array& callbacks = record.at("callbacks").as_array();
    REQUIRE(callbacks.size() == 3);
    for (const json::value& callback : callbacks) {
        const std::string url = "https://hooks.example/v1/receipts/vms-sim" + std::string(callback.at("query").as_string());
        const std::string body(callback.at("body").as_string());
        const core::plugin_call_result receipt = p->parse_receipt({"POST", url, {}, body}, now_ms());
        INFO(receipt.error);
        REQUIRE(receipt.ok());
        const json::value parsed = json::parse(receipt.json);
        REQUIRE(parsed.at("receipts").as_array().size() == 1);
        CHECK(parsed.at("receipts").at(0).at("status") == "delivered");

        // The same callback with its body changed no longer verifies.
        const core::plugin_call_result forged = p->parse_receipt({"POST", url, {}, body + " "}, now_ms());
        CHECK(forged.status == SB_STATUS_AUTHENTICATION);
    }
}

TEST_CASE("simulator: CDRs are pushed to --receipt-url, signed: answered for a normal number, not answered for the "
          "undelivered_list, none for the silent_list, each under its outcome's message_id",
          "[simulator][receipts]") {
    const switchboard::testing::http_listener listener;
    const simulator sim({"--receipt-url", listener.url() + "/v1/receipts/vms-sim?src=vms", "--receipt-delay-ms", "100",
                         "--faults", R"({"undelivered_list": ["+8613300000002"], "silent_list": ["+85255311111"]})"});
    const auto p = sim.instance();
    const core::plugin_call_result sent = sim.send(*p, batch);
    INFO(sent.error);
    REQUIRE(sent.ok());
    std::map<std::string, std::string> message_ids;  // recipient id -> the outcome's message_id
    const json::value outcomes_doc = json::parse(sent.json);
    for (const json::value& o : outcomes_doc.at("outcomes").as_array()) {
        CHECK(o.at("result") == "accepted");  // the calls are placed; how they end is for the CDRs to say
        message_ids[std::string(o.at("id").as_string())] = std::string(o.at("message_id").as_string());
    }

    const std::vector<core::http_request> pushed = listener.wait_for(2);
    REQUIRE(pushed.size() == 2);
    std::map<std::string, json::object> by_to;
    for (const core::http_request& push : pushed) {
        CHECK(push.method == "POST");
        // The configured URL, with the signature's timestamp and authCode added to its query.
        CHECK(push.url.rfind(listener.url() + "/v1/receipts/vms-sim?src=vms&timestamp=", 0) == 0);
        CHECK(push.url.find("&authCode=") != std::string::npos);
        const core::plugin_call_result parsed = p->parse_receipt(push, now_ms());
        INFO(parsed.error);
        REQUIRE(parsed.ok());
        const json::array receipts = json::parse(parsed.json).at("receipts").as_array();
        REQUIRE(receipts.size() == 1);  // one CDR per finished call
        by_to[std::string(receipts[0].at("to").as_string())] = receipts[0].as_object();
    }
    REQUIRE(by_to.count("+8613300000001") == 1);
    CHECK(by_to["+8613300000001"].at("status") == "delivered");
    CHECK(by_to["+8613300000001"].at("message_id") == message_ids.at("r1").c_str());
    REQUIRE(by_to.count("+8613300000002") == 1);
    CHECK(by_to["+8613300000002"].at("status") == "undelivered");
    CHECK(by_to["+8613300000002"].at("code") == "7");  // callResult 7: no answer
    CHECK(by_to["+8613300000002"].at("message_id") == message_ids.at("r2").c_str());

    const json::array log = fetch_json("GET", sim.url + "/_simulator/pushes").as_array();
    REQUIRE(log.size() == 2);
    for (const json::value& entry : log) {
        CHECK(entry.at("status") == 200);
        CHECK(entry.at("receipts") == 1);
    }
    // The silent number's CDR never comes.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK(listener.received().size() == 2);
    CHECK(sim.last_record().at("silent") == json::array{"85255311111"});
}
