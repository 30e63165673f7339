// The example webhook provider, loaded as the real shared library the build produced, and driven
// through the host's plugin interface exactly as the daemon will drive it.
#include <switchboard/core/plugin.hpp>
#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>

#include <boost/json.hpp>
#include "plugin_refusal.hpp"

#include <catch2/catch.hpp>

namespace core = switchboard::core;
namespace sdk = switchboard::sdk;
namespace json = boost::json;

namespace {

std::shared_ptr<core::plugin> webhook() {
    static const auto loaded = core::plugin::load(std::filesystem::path(SWITCHBOARD_PLUGIN_DIR) / "webhook.so");
    return loaded;
}

std::unique_ptr<core::provider_instance> instance(const std::string& config) {
    return webhook()->create_instance("hooks", config);
}

const std::string config = R"({"url": "https://hooks.example.com/sb", "token": "tok-123",
                               "signing_secret": "s3cret", "max_recipients_per_call": 2})";

const std::string batch = R"({"id": "job1-b1", "job_id": "job1", "channel": "webhook",
    "step": {"template": "otp"},
    "recipients": [{"id": "r1", "to": "+85255311111", "params": {"code": "123456"}},
                   {"id": "r2", "to": "+85255311112", "params": {"code": "654321"}}]})";

const std::string* header(const core::http_request& request, const std::string& name) {
    for (const auto& h : request.headers)
        if (h.name == name)
            return &h.value;
    return nullptr;
}

json::object outcome_of(const core::plugin_call_result& result, const std::string& id) {
    const json::value doc = json::parse(result.json);
    for (const json::value& o : doc.at("outcomes").as_array())
        if (o.at("id") == id.c_str())
            return o.as_object();
    FAIL("no outcome for " << id);
    return {};
}

std::string refusal(const std::string& bad_config) {
    INFO("configuration: " << bad_config);
    return switchboard::testing::config_refusal([&] { instance(bad_config); });
}

} // namespace

TEST_CASE("webhook: the manifest describes the provider", "[webhook]") {
    const core::plugin_manifest& m = webhook()->manifest();
    CHECK(m.name == "webhook");
    CHECK(m.abi == "1.1");
    CHECK(m.channels == std::vector<std::string>{"webhook"});
    CHECK(m.receipts == "push");
    CHECK(json::parse(m.config_schema_json).at("required").as_array().front() == "url");
}

TEST_CASE("webhook: a bad configuration is refused naming the field", "[webhook]") {
    CHECK(refusal("{}") == "config.url: is required");
    CHECK(refusal(R"({"url": "ftp://x"})") == "config.url: must start with http:// or https://, got 'ftp://x'");
    CHECK(refusal(R"({"url": "http://x", "max_recipients_per_call": 0})") ==
          "config.max_recipients_per_call: must be between 1 and 10000, got 0");
    CHECK(refusal(R"({"url": "http://x", "tokn": "a"})") == "config.tokn: is not a setting of the webhook provider");
}

TEST_CASE("webhook: encode posts the batch as JSON with the bearer token", "[webhook]") {
    const auto hooks = instance(config);
    const core::plugin_call_result r = hooks->encode(batch, 1718781186000);
    REQUIRE(r.ok());
    CHECK(r.request->method == "POST");
    CHECK(r.request->url == "https://hooks.example.com/sb");
    REQUIRE(header(*r.request, "Authorization") != nullptr);
    CHECK(*header(*r.request, "Authorization") == "Bearer tok-123");
    CHECK(*header(*r.request, "Idempotency-Key") == "job1-b1");
    const json::value body = json::parse(r.request->body);
    CHECK(body.at("batch_id") == "job1-b1");
    CHECK(body.at("recipients").as_array().size() == 2);
    CHECK(body.at("recipients").at(0).at("params").at("code") == "123456");
}

TEST_CASE("webhook: a batch over the configured size is refused for good", "[webhook]") {
    const auto hooks = instance(config);
    const std::string three = R"({"id": "b", "channel": "webhook", "recipients": [
        {"id": "1", "to": "a"}, {"id": "2", "to": "b"}, {"id": "3", "to": "c"}]})";
    const auto r = hooks->encode(three, 0);
    CHECK(r.status == SB_STATUS_PERMANENT);
    CHECK(r.error == "batch b has 3 recipients; this instance takes at most 2 per call");
}

TEST_CASE("webhook: validate gives one verdict per recipient", "[webhook]") {
    const auto hooks = instance(config);
    const auto r = hooks->validate(R"({"channel": "webhook", "recipients": [{"to": "x"}, {"to": ""}]})");
    REQUIRE(r.ok());
    const json::array verdicts = json::parse(r.json).at("verdicts").as_array();
    REQUIRE(verdicts.size() == 2);
    CHECK(verdicts[0].at("ok") == true);
    CHECK(verdicts[1].at("ok") == false);
    CHECK(verdicts[1].at("field") == "to");
    CHECK(verdicts[1].at("reason") == "is empty");
}

TEST_CASE("webhook: decode classifies each recipient and each HTTP status", "[webhook]") {
    const auto hooks = instance(config);

    SECTION("per-recipient results") {
        const auto r = hooks->decode(batch, {200, {}, R"({"results": [
            {"id": "r1", "status": "accepted", "message_id": "m-1"},
            {"id": "r2", "status": "rejected", "code": "BLOCKED", "reason": "number blocked"}]})"});
        REQUIRE(r.ok());
        CHECK(outcome_of(r, "r1").at("result") == "accepted");
        CHECK(outcome_of(r, "r1").at("message_id") == "m-1");
        CHECK(outcome_of(r, "r2").at("result") == "rejected");
        CHECK(outcome_of(r, "r2").at("code") == "BLOCKED");
    }
    SECTION("a recipient the answer leaves out is unknown, never assumed sent") {
        const auto r = hooks->decode(batch, {200, {}, R"({"results": [{"id": "r1", "status": "accepted"}]})"});
        REQUIRE(r.ok());
        CHECK(outcome_of(r, "r2").at("result") == "unknown");
    }
    SECTION("a 2xx answer that is not JSON leaves every recipient unknown") {
        const auto r = hooks->decode(batch, {200, {}, "<html>ok</html>"});
        REQUIRE(r.ok());
        CHECK(outcome_of(r, "r1").at("result") == "unknown");
        CHECK_THAT(std::string(outcome_of(r, "r1").at("reason").as_string()), Catch::Contains("<html>ok</html>"));
    }
    SECTION("503 with Retry-After is transient with the hint") {
        const auto r = hooks->decode(batch, {503, {{"Retry-After", "7"}}, "busy"});
        CHECK(r.status == SB_STATUS_TRANSIENT);
        CHECK(r.retry_after_ms == 7000);
        CHECK(r.error == "the webhook answered HTTP 503: busy");
    }
    SECTION("401 is an authentication failure") {
        CHECK(hooks->decode(batch, {401, {}, ""}).status == SB_STATUS_AUTHENTICATION);
    }
    SECTION("another 4xx is permanent") {
        const auto r = hooks->decode(batch, {422, {}, "bad"});
        CHECK(r.status == SB_STATUS_PERMANENT);
        CHECK(r.error == "the webhook answered HTTP 422: bad");
    }
}

TEST_CASE("webhook: pushed receipts are applied only with a valid signature", "[webhook]") {
    const auto hooks = instance(config);
    const std::string body = R"({"receipts": [{"message_id": "m-1", "status": "delivered", "at_unix_ms": 5},
                                              {"message_id": "m-2", "status": "undelivered", "reason": "off"}]})";
    const std::string good = "sha256=" + sdk::hex(sdk::hmac_sha256("s3cret", body));

    SECTION("signed correctly") {
        const auto r = hooks->parse_receipt({"POST", "/v1/receipts/hooks", {{"X-Webhook-Signature", good}}, body}, 0);
        REQUIRE(r.ok());
        const json::array receipts = json::parse(r.json).at("receipts").as_array();
        REQUIRE(receipts.size() == 2);
        CHECK(receipts[0].at("status") == "delivered");
        CHECK(receipts[1].at("status") == "undelivered");
        CHECK(receipts[1].at("reason") == "off");
    }
    SECTION("a forged signature is refused") {
        const auto r = hooks->parse_receipt({"POST", "/", {{"X-Webhook-Signature", good}}, body + " "}, 0);
        CHECK(r.status == SB_STATUS_AUTHENTICATION);
        CHECK(r.error == "receipt refused: the signature does not match the body");
    }
    SECTION("an unsigned receipt is refused") {
        CHECK(hooks->parse_receipt({"POST", "/", {}, body}, 0).status == SB_STATUS_AUTHENTICATION);
    }
    SECTION("without a signing secret every receipt is refused") {
        const auto open = instance(R"({"url": "http://x"})");
        const auto r = open->parse_receipt({"POST", "/", {{"X-Webhook-Signature", good}}, body}, 0);
        CHECK(r.status == SB_STATUS_AUTHENTICATION);
        CHECK(r.error == "receipt refused: no signing_secret is configured");
    }
}
