// The SDK's Twilio-style example, loaded as the shared library the build produced and driven
// through the host's plugin interface: what it sends, how it reads answers, and how it checks the
// signature of a status callback.
#include <switchboard/core/plugin.hpp>
#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>

#include <boost/json.hpp>

#include <catch2/catch.hpp>

namespace core = switchboard::core;
namespace sdk = switchboard::sdk;
namespace json = boost::json;

namespace {

const std::string sid = "AC0123456789abcdef0123456789abcdef";

std::unique_ptr<core::provider_instance> twilio() {
    static const auto plugin = core::plugin::load(std::filesystem::path(SWITCHBOARD_EXAMPLE_PLUGIN_DIR) / "twilio.so");
    return plugin->create_instance("twilio", R"({"account_sid": ")" + sid + R"(", "auth_token": "t0ken",
        "from": "+14155550100", "endpoint": "https://api.example.com", "status_callback": "https://gw.example/cb"})");
}

const std::string batch = R"({"id": "job1-0-7-0", "job_id": "job1", "channel": "sms",
    "step": {"provider": "twilio", "channel": "sms", "body": "Your code is {code}"},
    "recipients": [{"id": "7", "to": "+85255311111", "params": {"code": "123 456"}}]})";

json::object only_outcome(const core::plugin_call_result& result) {
    REQUIRE(result.ok());
    const json::array outcomes = json::parse(result.json).at("outcomes").as_array();
    REQUIRE(outcomes.size() == 1);
    return outcomes.front().as_object();
}

} // namespace

TEST_CASE("twilio example: one message per call, as a form, with Basic credentials and an idempotency token",
          "[twilio]") {
    const auto provider = twilio();
    const core::plugin_call_result encoded = provider->encode(batch, 0);
    REQUIRE(encoded.ok());
    const core::http_request& r = *encoded.request;
    CHECK(r.url == "https://api.example.com/2010-04-01/Accounts/" + sid + "/Messages.json");
    CHECK(*core::find_header(r.headers, "Authorization") == "Basic " + sdk::base64(sid + ":t0ken"));
    CHECK(*core::find_header(r.headers, "Content-Type") == "application/x-www-form-urlencoded");
    CHECK(*core::find_header(r.headers, "I-Twilio-Idempotency-Token") == "job1-0-7-0");
    CHECK(r.body == "To=%2B85255311111&From=%2B14155550100&Body=Your+code+is+123+456&StatusCallback=https%3A%2F%2Fgw.example%2Fcb");
}

TEST_CASE("twilio example: a 201 is accepted under its sid, a 400 refuses the number, a 429 waits", "[twilio]") {
    const auto provider = twilio();
    const json::object accepted = only_outcome(provider->decode(batch, {201, {}, R"({"sid": "SM42", "status": "queued"})"}));
    CHECK(accepted.at("result") == "accepted");
    CHECK(accepted.at("message_id") == "SM42");
    const json::object refused =
        only_outcome(provider->decode(batch, {400, {}, R"({"code": 21211, "message": "The 'To' number is not valid."})"}));
    CHECK(refused.at("result") == "rejected");
    CHECK(refused.at("code") == "21211");
    const core::plugin_call_result throttled = provider->decode(batch, {429, {{"Retry-After", "3"}}, "{}"});
    CHECK(throttled.status == SB_STATUS_TRANSIENT);
    CHECK(throttled.retry_after_ms == 3000);
    CHECK(provider->decode(batch, {401, {}, "{}"}).status == SB_STATUS_AUTHENTICATION);
}

TEST_CASE("twilio example: a status callback is taken only with the signature of its URL and fields", "[twilio]") {
    const auto provider = twilio();
    const std::string url = "https://gw.example/cb";
    const std::string body = "MessageStatus=undelivered&MessageSid=SM42&To=%2B85255311111&ErrorCode=30003";
    // Twilio's scheme: the URL, then each field's name and value sorted by name, HMAC-SHA1, base64.
    const std::string signature = sdk::base64(
        sdk::hmac_sha1("t0ken", url + "ErrorCode30003MessageSidSM42MessageStatusundeliveredTo+85255311111"));
    const core::plugin_call_result taken = provider->parse_receipt(
        {"POST", url, {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", signature}}, body}, 0);
    REQUIRE(taken.ok());
    const json::object receipt = json::parse(taken.json).at("receipts").as_array().at(0).as_object();
    CHECK(receipt.at("message_id") == "SM42");
    CHECK(receipt.at("status") == "undelivered");
    CHECK(receipt.at("code") == "30003");

    const core::plugin_call_result tampered = provider->parse_receipt(
        {"POST", url, {{"X-Twilio-Signature", signature}}, "MessageStatus=delivered&MessageSid=SM42&To=%2B85255311111&ErrorCode=30003"}, 0);
    CHECK(tampered.status == SB_STATUS_AUTHENTICATION);
    const core::plugin_call_result elsewhere = provider->parse_receipt(
        {"POST", "https://attacker.example/cb", {{"X-Twilio-Signature", signature}}, body}, 0);
    CHECK(elsewhere.status == SB_STATUS_AUTHENTICATION);
}
