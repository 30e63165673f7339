// The uSpeedo provider, loaded as the real shared library the build produced and driven through
// the host's plugin interface exactly as the daemon will drive it.
#include "uspeedo_signature.hpp"

#include <switchboard/core/plugin.hpp>
#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>

#include <boost/json.hpp>
#include "plugin_refusal.hpp"

#include <catch2/catch.hpp>

namespace core = switchboard::core;
namespace sdk = switchboard::sdk;
namespace json = boost::json;
namespace uspeedo = switchboard::uspeedo;

namespace {

constexpr std::int64_t now_ms = 1718781186123;

const std::string action_config = R"({"account_id": 1, "access_key_id": "AKID", "access_key_secret": "SECRET"})";
const std::string v1_config =
    R"({"api_style": "v1", "endpoint": "https://sim.example/", "access_key_id": "AKID", "access_key_secret": "SECRET"})";

std::shared_ptr<core::plugin> plugin() {
    static const auto loaded = core::plugin::load(std::filesystem::path(SWITCHBOARD_PLUGIN_DIR) / "uspeedo.so");
    return loaded;
}

std::unique_ptr<core::provider_instance> instance(const std::string& config = action_config) {
    return plugin()->create_instance("uspeedo-hk", config);
}

std::string refusal(const std::string& bad_config) {
    INFO("configuration: " << bad_config);
    return switchboard::testing::config_refusal([&] { instance(bad_config); });
}

std::string batch(const std::string& step, const std::string& recipients, const std::string& id = "b1") {
    return R"({"id": ")" + id + R"(", "job_id": "job1", "channel": "sms", "step": )" + step +
           R"(, "recipients": )" + recipients + "}";
}

const std::string otp_step = R"({"template": "UTA20212831C85C", "sender": "uSpeedo", "params": ["code"]})";
const std::string three = R"([{"id": "r1", "to": "+85255311111", "params": {"code": "111111"}},
                               {"id": "r2", "to": "+85255311112", "params": {"code": "222222"}},
                               {"id": "r3", "to": "+85255311113", "params": {"code": "333333"}}])";
const std::string three_batch = batch(otp_step, three);

// A batch of `count` recipients with ids r0.. and distinct numbers.
std::string numbered_batch(std::size_t count) {
    std::string recipients = "[";
    for (std::size_t i = 0; i < count; ++i)
        recipients += (i ? "," : "") + std::string(R"({"id": "r)") + std::to_string(i) + R"(", "to": "+8525500)" +
                      std::to_string(1000 + i) + R"(", "params": {"code": "1"}})";
    return batch(otp_step, recipients + "]");
}

const std::string* header(const core::http_request& request, const std::string& name) {
    for (const auto& h : request.headers)
        if (h.name == name)
            return &h.value;
    return nullptr;
}

core::http_request encoded(const core::provider_instance& p, const std::string& batch_json) {
    const core::plugin_call_result r = p.encode(batch_json, now_ms);
    INFO(r.error);
    REQUIRE(r.ok());
    REQUIRE(r.request.has_value());
    return *r.request;
}

json::object body_of(const core::http_request& request) { return json::parse(request.body).as_object(); }

json::object outcome_of(const core::plugin_call_result& result, const std::string& id) {
    const json::value doc = json::parse(result.json);
    for (const json::value& o : doc.at("outcomes").as_array())
        if (o.at("id") == id.c_str())
            return o.as_object();
    FAIL("no outcome for " << id);
    return {};
}

core::plugin_call_result decode(const std::string& body, int status = 200, std::vector<core::http_header> headers = {}) {
    return instance()->decode(three_batch, {status, std::move(headers), body});
}

json::array verdicts(const std::string& step, const std::string& recipients) {
    const auto r = instance()->validate(R"({"channel": "sms", "step": )" + step + R"(, "recipients": )" + recipients + "}");
    INFO(r.error);
    REQUIRE(r.ok());
    return json::parse(r.json).at("verdicts").as_array();
}

// The verdict on one recipient `{"to": to, "params": params}` under `step`.
json::object verdict(const std::string& step, const std::string& to, const std::string& params = "{}") {
    const json::array v = verdicts(step, R"([{"to": ")" + to + R"(", "params": )" + params + "}]");
    REQUIRE(v.size() == 1);
    return v[0].as_object();
}

std::string refusal_reason(const json::object& v, const std::string& field) {
    CHECK(v.at("ok") == false);
    CHECK(v.at("field") == field.c_str());
    return v.contains("reason") ? std::string(v.at("reason").as_string()) : std::string();
}

core::plugin_call_result receipts(const std::string& body, int status = 200) {
    return instance()->decode_receipt_query(R"({"message_ids": ["s-1"]})", {status, {}, body});
}

std::string ids(std::size_t count) {
    std::string out = "[";
    for (std::size_t i = 0; i < count; ++i)
        out += (i ? ",\"s-" : "\"s-") + std::to_string(i) + "\"";
    return out + "]";
}

} // namespace

// ---- manifest and configuration --------------------------------------------------------------

TEST_CASE("manifest: describes an SMS provider of 1000 numbers per call with pulled receipts", "[manifest]") {
    const core::plugin_manifest& m = plugin()->manifest();
    CHECK(m.name == "uspeedo");
    CHECK(m.version == "1.0.0");
    CHECK(m.abi == "1.1");
    CHECK(m.channels == std::vector<std::string>{"sms"});
    CHECK(m.max_recipients_per_call == 1000);
    CHECK(m.grouping == std::vector<std::string>{"template", "sender"});
    CHECK(m.receipts == "pull");
    CHECK(m.thread_safe);
    CHECK(m.transient_errors == std::vector<std::string>{"150", "153"});
    CHECK(m.requests_per_second == 0);
    CHECK(m.recipients_per_second == 0);
}

TEST_CASE("message ids: uSpeedo names its messages only in its answer, so it offers no extension for them", "[manifest]") {
    const core::plugin_call_result named = instance()->message_ids(three_batch);
    CHECK(named.status == SB_STATUS_UNSUPPORTED);
}

TEST_CASE("manifest: the config schema lists exactly the settings and marks the secret", "[manifest]") {
    const json::object schema = json::parse(plugin()->manifest().config_schema_json).as_object();
    CHECK(schema.at("type") == "object");
    CHECK(schema.at("additionalProperties") == false);
    std::vector<std::string> names;
    for (const auto& p : schema.at("properties").as_object())
        names.emplace_back(p.key());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"access_key_id", "access_key_secret", "account_id", "api_style", "endpoint"});
    CHECK_THAT(std::string(schema.at("properties").at("access_key_secret").at("description").as_string()),
               Catch::Contains("secret"));
}

TEST_CASE("config: every bad setting is refused naming its field", "[config]") {
    const std::string keys = R"("access_key_id": "AKID", "access_key_secret": "SECRET")";
    CHECK(refusal(R"({"account_id": 1, "acount": 2, )" + keys + "}") ==
          "config.acount: is not a setting of the uspeedo provider");
    CHECK(refusal(R"({"endpoint": "ftp://x", "account_id": 1, )" + keys + "}") ==
          "config.endpoint: must start with http:// or https://, got 'ftp://x'");
    CHECK(refusal(R"({"endpoint": "https://", "account_id": 1, )" + keys + "}") == "config.endpoint: has no host: 'https://'");
    CHECK(refusal(R"({"endpoint": "https://x/?a=1", "account_id": 1, )" + keys + "}") ==
          "config.endpoint: must be a base URL without query or fragment, got 'https://x/?a=1'");
    CHECK(refusal(R"({"api_style": "rest", "account_id": 1, )" + keys + "}") ==
          "config.api_style: must be \"action\" or \"v1\", got 'rest'");
    CHECK(refusal("{" + keys + "}") == "config.account_id: is required when api_style is \"action\"");
    CHECK(refusal(R"({"account_id": 0, )" + keys + "}") == "config.account_id: must be at least 1, got 0");
    CHECK(refusal(R"({"account_id": "1", )" + keys + "}") == "config.account_id: must be an integer, not string");
    CHECK(refusal(R"({"account_id": 1, "access_key_secret": "SECRET"})") == "config.access_key_id: is required");
    CHECK(refusal(R"({"account_id": 1, "access_key_id": "", "access_key_secret": "SECRET"})") ==
          "config.access_key_id: must not be empty");
    CHECK(refusal(R"({"account_id": 1, "access_key_id": "AKID"})") == "config.access_key_secret: is required");
    CHECK(refusal(R"({"account_id": 1, "access_key_id": "AKID", "access_key_secret": ""})") ==
          "config.access_key_secret: must not be empty");
}

TEST_CASE("config: v1 needs no account_id, and the default endpoint is the documented one", "[config]") {
    CHECK_NOTHROW(instance(R"({"api_style": "v1", "access_key_id": "AKID", "access_key_secret": "SECRET"})"));
    CHECK(encoded(*instance(), three_batch).url == "https://api.uspeedo.com/api");
}

TEST_CASE("config: the secret appears in no message, whatever fails", "[config]") {
    const std::string secret = "TOPSECRET-0123";
    std::vector<std::string> messages;
    messages.push_back(refusal(R"({"endpoint": "nope", "account_id": 1, "access_key_id": "AKID", "access_key_secret": ")" +
                               secret + "\"}"));
    const auto p = instance(R"({"account_id": 1, "access_key_id": "AKID", "access_key_secret": ")" + secret + "\"}");
    messages.push_back(p->decode(three_batch, {200, {}, R"({"RetCode": 215398, "Message": "Failed to parse token"})"}).error);
    messages.push_back(p->decode(three_batch, {401, {}, ""}).error);
    messages.push_back(p->encode(batch("{}", three), now_ms).error);
    for (const std::string& m : messages) {
        CHECK_FALSE(m.empty());
        CHECK_THAT(m, !Catch::Contains(secret));
    }
}

// ---- encode ----------------------------------------------------------------------------------

TEST_CASE("encode (action): the seed's request, signed in headers", "[encode]") {
    const auto p = instance();
    const std::string seed = batch(R"({"template": "UTA20212831C85C", "sender": "uSpeedo", "params": ["code"], "extend_code": "123"})",
                                   R"([{"id": "456", "to": "+85255311111", "params": {"code": "123456"}}])", "job1-b1");
    const core::http_request r = encoded(*p, seed);
    CHECK(r.method == "POST");
    CHECK(r.url == "https://api.uspeedo.com/api");
    REQUIRE(header(r, "Content-Type") != nullptr);
    CHECK(*header(r, "Content-Type") == "application/json");
    REQUIRE(header(r, "X-Access-Key-Id") != nullptr);
    CHECK(*header(r, "X-Access-Key-Id") == "AKID");
    REQUIRE(header(r, "X-Timestamp") != nullptr);
    CHECK(*header(r, "X-Timestamp") == "1718781186");
    REQUIRE(header(r, "X-Nonce") != nullptr);
    CHECK(*header(r, "X-Nonce") == sdk::hex(sdk::sha1("job1-b1" + std::to_string(now_ms))).substr(0, 16));
    CHECK(header(r, "Authorization") == nullptr);
    // Keys in byte order, the order the signature takes them in.
    CHECK(r.body == R"({"AccountId":1,"Action":"SendBatchUSMSMessage","TaskContent":[{"SenderId":"uSpeedo",)"
                    R"("Target":[{"ExtendCode":"123","Phone":"85255311111","TemplateParams":["123456"],"UserId":"456"}],)"
                    R"("TemplateId":"UTA20212831C85C"}]})");

    // Computed here from the sent bytes, not from the plugin's object: the signature covers what
    // goes on the wire, and the plaintext is spelled out so a signer bug cannot cancel itself.
    REQUIRE(header(r, "X-Signature") != nullptr);
    CHECK(*header(r, "X-Signature") == uspeedo::signature(body_of(r), "SECRET"));
    CHECK(*header(r, "X-Signature") ==
          sdk::hex(sdk::sha1("AccountId1ActionSendBatchUSMSMessageTaskContentSenderIduSpeedoTargetExtendCode123"
                             "Phone85255311111TemplateParams123456UserId456TemplateIdUTA20212831C85CSECRET")));
}

TEST_CASE("encode (action): the signature covers the body as sent, for every shape of call", "[encode]") {
    // Recomputed from the parsed body: the plugin writes the body and the signed text side by side.
    const std::string odd = R"([{"id": "r\"1", "to": "+85255311111", "params": {"code": "a \"quoted\" \\ line\nnext é"}},
                               {"id": "r2", "to": "+85255311112", "params": {"code": 42}}])";
    const auto p = instance();
    for (const std::string step : {R"({"template": "UTA1"})", R"({"template": "UTA1", "params": ["code"]})",
                                   R"({"template": "UTA1", "params": ["code"], "extend_code": "77", "sender": "Sé\"nder"})",
                                   R"({"template": "UTA1", "extend_code": "77"})"})
        for (const std::string& recipients : {three, odd}) {
            CAPTURE(step, recipients);
            const core::http_request r = encoded(*p, batch(step, recipients));
            const json::object body = body_of(r);
            CHECK(body.at("TaskContent").at(0).at("Target").as_array().size() == json::parse(recipients).as_array().size());
            REQUIRE(header(r, "X-Signature") != nullptr);
            CHECK(*header(r, "X-Signature") == uspeedo::signature(body, "SECRET"));
        }
}

TEST_CASE("encode (action): the nonce changes with the time and the batch", "[encode]") {
    const auto p = instance();
    const std::string a = *header(*p->encode(three_batch, now_ms).request, "X-Nonce");
    CHECK(a.size() == 16);
    CHECK(a != *header(*p->encode(three_batch, now_ms + 1).request, "X-Nonce"));
    CHECK(a != *header(*p->encode(batch(otp_step, three, "b2"), now_ms).request, "X-Nonce"));
    CHECK(a == *header(*p->encode(three_batch, now_ms).request, "X-Nonce"));
}

TEST_CASE("encode (v1): REST path, Basic credentials, TaskContent only", "[encode]") {
    const core::http_request r = encoded(*instance(v1_config), three_batch);
    CHECK(r.url == "https://sim.example/api/v1/usms/SendBatchUSMSMessage");
    REQUIRE(header(r, "Authorization") != nullptr);
    CHECK(*header(r, "Authorization") == "Basic QUtJRDpTRUNSRVQ=");
    CHECK(*header(r, "Content-Type") == "application/json");
    CHECK(header(r, "X-Signature") == nullptr);
    const json::object body = body_of(r);
    CHECK(body.size() == 1);
    const json::array& targets = body.at("TaskContent").at(0).at("Target").as_array();
    REQUIRE(targets.size() == 3);
    CHECK(targets[2].at("Phone") == "85255311113");
    CHECK(targets[2].at("UserId") == "r3");
}

TEST_CASE("encode (v1): AccountId is sent when configured", "[encode]") {
    const auto p = instance(R"({"api_style": "v1", "account_id": 42, "access_key_id": "AKID", "access_key_secret": "SECRET"})");
    const json::object body = body_of(encoded(*p, three_batch));
    CHECK(body.at("AccountId") == 42);
    CHECK_FALSE(body.contains("Action"));
}

TEST_CASE("encode: SenderId is always sent, as seed 002's table requires though seed 001's does not, and a template without params sends no TemplateParams", "[encode]") {
    const auto p = instance();
    for (const std::string step : {R"({"template": "UTA1"})", R"({"template": "UTA1", "params": []})"}) {
        const json::object body = body_of(encoded(*p, batch(step, three)));
        const json::object& task = body.at("TaskContent").at(0).as_object();
        CHECK(task.at("SenderId") == "");
        const json::object& target = task.at("Target").at(0).as_object();
        CHECK_FALSE(target.contains("TemplateParams"));
        CHECK_FALSE(target.contains("ExtendCode"));
        CHECK(target.at("Phone") == "85255311111");
    }
}

TEST_CASE("encode: TemplateParams follow the step's order, numbers as decimal text", "[encode]") {
    const json::object body = body_of(encoded(
        *instance(), batch(R"({"template": "UTA1", "params": ["code", "minutes", "ratio"]})",
                           R"([{"id": "r1", "to": "+85255311111", "params": {"minutes": 5, "ratio": 0.5, "code": "0042", "x": true}}])")));
    CHECK(body.at("TaskContent").at(0).at("Target").at(0).at("TemplateParams") == json::array{"0042", "5", "0.5"});
}

TEST_CASE("encode: batches uSpeedo cannot take are refused for good", "[encode]") {
    const auto p = instance();
    CHECK(p->encode(numbered_batch(1000), now_ms).ok());
    const auto big = p->encode(numbered_batch(1001), now_ms);
    CHECK(big.status == SB_STATUS_PERMANENT);
    CHECK(big.error == "batch b1 has 1001 recipients; uSpeedo takes at most 1000 per call");

    const auto no_template = p->encode(batch(R"({"sender": "x"})", three), now_ms);
    CHECK(no_template.status == SB_STATUS_PERMANENT);
    CHECK(no_template.error == "batch b1: step.template: is required");

    const std::string long_id(65, 'i');
    const auto id = p->encode(batch(otp_step, R"([{"id": ")" + long_id + R"(", "to": "+85255311111", "params": {"code": "1"}}])"), now_ms);
    CHECK(id.status == SB_STATUS_PERMANENT);
    CHECK(id.error == "batch b1: recipients[0].id is 65 bytes; uSpeedo's UserId takes at most 64");
    CHECK(p->encode(batch(otp_step, R"([{"id": ")" + std::string(64, 'i') + R"(", "to": "+85255311111", "params": {"code": "1"}}])"), now_ms).ok());

    const auto missing = p->encode(batch(otp_step, R"([{"id": "r1", "to": "+85255311111"}])"), now_ms);
    CHECK(missing.status == SB_STATUS_PERMANENT);
    CHECK(missing.error == "batch b1: recipients[0].params.code: is required by the template");

    const auto phone = p->encode(batch(otp_step, R"([{"id": "r1", "to": "85255311111", "params": {"code": "1"}}])"), now_ms);
    CHECK(phone.status == SB_STATUS_PERMANENT);
    CHECK(phone.error == "batch b1: recipients[0].to: must be E.164 and start with '+' and the country code, got '85255311111'");
}

// ---- validate --------------------------------------------------------------------------------

TEST_CASE("validate: 'to' must be E.164", "[validate]") {
    const std::string step = R"({"template": "UTA1"})";
    CHECK(verdict(step, "+85255311111").at("ok") == true);
    CHECK(verdict(step, "+1234567").at("ok") == true);
    CHECK(verdict(step, "+123456789012345").at("ok") == true);
    CHECK(refusal_reason(verdict(step, ""), "to") == "is empty; expected E.164 such as +85255311111");
    CHECK(refusal_reason(verdict(step, "85255311111"), "to") == "must be E.164 and start with '+' and the country code, got '85255311111'");
    CHECK(refusal_reason(verdict(step, "+852 5531 1111"), "to") == "must be '+' followed by digits only, got '+852 5531 1111'");
    CHECK(refusal_reason(verdict(step, "+123456"), "to") == "must have 7 to 15 digits after '+', got 6 in '+123456'");
    CHECK(refusal_reason(verdict(step, "+1234567890123456"), "to") ==
          "must have 7 to 15 digits after '+', got 16 in '+1234567890123456'");
    CHECK(refusal_reason(verdict(step, "+0852553111"), "to") == "must not start with +0 (no country code does), got '+0852553111'");
}

TEST_CASE("validate: a step without a template refuses every recipient", "[validate]") {
    const json::array v = verdicts(R"({"sender": "x"})", R"([{"to": "+85255311111"}, {"to": "bad"}])");
    REQUIRE(v.size() == 2);
    for (const json::value& one : v)
        CHECK(refusal_reason(one.as_object(), "step.template") == "is required");
    CHECK(refusal_reason(verdict(R"({"template": ""})", "+85255311111"), "step.template") == "must not be empty");
}

TEST_CASE("validate: other step faults are the step's, named for every recipient", "[validate]") {
    CHECK(refusal_reason(verdict(R"({"template": "T", "params": ["code", 3]})", "+85255311111"), "step.params[1]") ==
          "must be a parameter name (a non-empty string)");
    CHECK(refusal_reason(verdict(R"({"template": "T", "extend_code": ")" + std::string(33, '7') + "\"}", "+85255311111"),
                         "step.extend_code") == "is 33 bytes; uSpeedo takes at most 32");
    CHECK(verdict(R"({"template": "T", "extend_code": ")" + std::string(32, '7') + "\"}", "+85255311111").at("ok") == true);
    CHECK(refusal_reason(verdict(R"({"template": "T", "params": ["a"], "template_text": "{1} and {2}"})", "+85255311111",
                                 R"({"a": "x"})"),
                         "step.template_text") == "uses {2} but step.params names 1 parameters");
}

TEST_CASE("validate: the template's params must be present, strings or numbers, and short", "[validate]") {
    const std::string step = R"({"template": "T", "params": ["code", "name"]})";
    CHECK(verdict(step, "+85255311111", R"({"code": "1", "name": "Ann"})").at("ok") == true);
    CHECK(verdict(step, "+85255311111", R"({"code": 1234, "name": "Ann", "extra": [1]})").at("ok") == true);
    CHECK(refusal_reason(verdict(step, "+85255311111", R"({"code": "1"})"), "params.name") == "is required by the template");
    CHECK(refusal_reason(verdict(step, "+85255311111", R"({"code": "1", "name": null})"), "params.name") ==
          "is required by the template");
    CHECK(refusal_reason(verdict(step, "+85255311111", R"({"code": true, "name": "Ann"})"), "params.code") ==
          "must be a string or a number, not bool");
    CHECK(refusal_reason(verdict(step, "+85255311111", R"({"code": {"a": 1}, "name": "Ann"})"), "params.code") ==
          "must be a string or a number, not object");
    CHECK(refusal_reason(verdict(step, "+85255311111", R"({"code": "1", "name": ")" + std::string(501, 'n') + "\"}"),
                         "params.name") == "is 501 characters; a message holds at most 500");
}

TEST_CASE("validate: lengths count characters, not bytes", "[validate]") {
    std::string cjk_500;
    for (int i = 0; i < 500; ++i)
        cjk_500 += "开";  // three bytes each
    const std::string step = R"({"template": "T", "params": ["name"]})";
    CHECK(verdict(step, "+85255311111", R"({"name": ")" + cjk_500 + "\"}").at("ok") == true);
    CHECK(refusal_reason(verdict(step, "+85255311111", R"({"name": ")" + cjk_500 + "开\"}"), "params.name") ==
          "is 501 characters; a message holds at most 500");
}

TEST_CASE("validate: a template that takes no params ignores the recipient's", "[validate]") {
    CHECK(verdict(R"({"template": "T"})", "+85255311111", R"({"code": "1"})").at("ok") == true);
    CHECK(verdict(R"({"template": "T", "params": []})", "+85255311111", R"({"code": true})").at("ok") == true);
    CHECK(verdict(R"({"template": "T"})", "+85255311111").at("ok") == true);
}

TEST_CASE("validate: template_text rendered with the params must fit in 500 characters", "[validate]") {
    const std::string step = R"({"template": "T", "params": ["code", "name"], "template_text": "Hi {2}, your code is {1}."})";
    // "Hi , your code is ." is 19 characters around the two values.
    CHECK(verdict(step, "+85255311111", R"({"code": "123456", "name": ")" + std::string(475, 'n') + "\"}").at("ok") == true);
    CHECK(refusal_reason(verdict(step, "+85255311111", R"({"code": "123456", "name": ")" + std::string(476, 'n') + "\"}"),
                         "params") == "make the message 501 characters long with step.template_text; uSpeedo sends at most 500");
}

TEST_CASE("validate: one verdict per recipient, in order", "[validate]") {
    const json::array v = verdicts(otp_step, R"([{"to": "+85255311111", "params": {"code": "1"}},
                                                 {"to": "+85255311112"},
                                                 {"to": "+85255311113", "params": {"code": "3"}}])");
    REQUIRE(v.size() == 3);
    CHECK(v[0].at("ok") == true);
    CHECK(refusal_reason(v[1].as_object(), "params.code") == "is required by the template");
    CHECK(v[2].at("ok") == true);
}

// ---- decode ----------------------------------------------------------------------------------

TEST_CASE("decode: the seed's answer rejects the blacklisted number and accepts the rest", "[decode]") {
    // The seed's example, with its Target's UserId left as the vendor wrote it: it matches no
    // recipient, so the number decides.
    const auto r = decode(R"({"FailContent": [{"SenderId": "UCloud",
        "Target": [{"Phone": "(852)55311111", "UserId": "catch the big fish", "ExtendCode": "123", "TemplateParams": ["23333", "13579"]}],
        "FailureDetails": "phone in the black list", "TemplateId": "UTA20212831C85C"}],
        "RetCode": 0, "SuccessCount": 2, "SessionNo": "abcd-dadd-dafs-dadfa-dafdsa",
        "Action": "SendBatchUSMSMessageResponse", "Message": "submit success", "ReqUuid": "abcd-dadd-dafs-dadfa-dafdsa"})");
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1").at("result") == "rejected");
    CHECK(outcome_of(r, "r1").at("code") == "FailContent");
    CHECK(outcome_of(r, "r1").at("reason") == "phone in the black list");
    for (const std::string id : {"r2", "r3"}) {
        CHECK(outcome_of(r, id).at("result") == "accepted");
        CHECK(outcome_of(r, id).at("message_id") == "abcd-dadd-dafs-dadfa-dafdsa");
    }
}

TEST_CASE("decode: per-target FailureDetails, matched by UserId before the number", "[decode]") {
    const auto r = decode(R"({"RetCode": 0, "SessionNo": "S1", "FailContent": [{"TemplateId": "UTA20212831C85C",
        "FailureDetails": "batch-level",
        "Target": [{"Phone": "85255311111", "UserId": "r3", "FailureDetails": "number unreachable"},
                   {"Phone": "85255311112", "UserId": "r2"}]}]})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r3").at("result") == "rejected");
    CHECK(outcome_of(r, "r3").at("reason") == "number unreachable");
    CHECK(outcome_of(r, "r2").at("reason") == "batch-level");
    CHECK(outcome_of(r, "r1").at("result") == "accepted");
    CHECK(outcome_of(r, "r1").at("message_id") == "S1");
}

TEST_CASE("decode: RetCode 0 without SessionNo leaves the unlisted recipients unknown", "[decode]") {
    const auto r = decode(R"({"RetCode": 0, "FailContent": [{"FailureDetails": "template not approved",
        "Target": [{"Phone": "85255311111", "UserId": "r1"}]}]})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1").at("result") == "rejected");
    CHECK(outcome_of(r, "r1").at("reason") == "template not approved");
    CHECK(outcome_of(r, "r2").at("result") == "unknown");
    CHECK(outcome_of(r, "r2").at("reason") == "RetCode 0 without SessionNo");
}

TEST_CASE("decode: RetCode classifies the whole batch", "[decode]") {
    SECTION("150 and 153 are passing") {
        const auto busy = decode(R"({"RetCode": 150, "Message": "Service unavailable"})");
        CHECK(busy.status == SB_STATUS_TRANSIENT);
        CHECK(busy.error == "RetCode 150: Service unavailable");
        CHECK(busy.retry_after_ms == -1);
        CHECK(decode(R"({"RetCode": 153, "Message": "throttled"})", 200, {{"Retry-After", "2"}}).retry_after_ms == 2000);
    }
    SECTION("215398 is a refused key") {
        const auto r = decode(R"({"Message": "Failed to parse token", "RetCode": 215398})");
        CHECK(r.status == SB_STATUS_AUTHENTICATION);
        CHECK(r.error == "uSpeedo refused the credentials (RetCode 215398: Failed to parse token): "
                         "check access_key_id and access_key_secret");
    }
    SECTION("any other code is permanent, in the vendor's words") {
        const auto r = decode(R"({"RetCode": 16000, "Message": "template not found"})");
        CHECK(r.status == SB_STATUS_PERMANENT);
        CHECK(r.error == "RetCode 16000: template not found");
        CHECK(decode(R"({"RetCode": 171})").error == "RetCode 171: (no Message)");
    }
}

TEST_CASE("decode: HTTP status classifies the whole batch", "[decode]") {
    const auto throttled = decode("slow down", 429, {{"Retry-After", "3"}});
    CHECK(throttled.status == SB_STATUS_TRANSIENT);
    CHECK(throttled.retry_after_ms == 3000);
    CHECK(throttled.error == "uSpeedo answered HTTP 429: slow down");

    const auto unavailable = decode("<html>503</html>", 503);
    CHECK(unavailable.status == SB_STATUS_TRANSIENT);
    CHECK(unavailable.retry_after_ms == -1);
    CHECK(decode("", 408).status == SB_STATUS_TRANSIENT);
    CHECK(decode("", 503, {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}).retry_after_ms == -1);

    const auto bad = decode("bad request", 400);
    CHECK(bad.status == SB_STATUS_PERMANENT);
    CHECK(bad.error == "uSpeedo answered HTTP 400: bad request");

    CHECK(decode("", 401).status == SB_STATUS_AUTHENTICATION);
    CHECK(decode("", 403).error == "uSpeedo answered HTTP 403: check access_key_id and access_key_secret");
}

TEST_CASE("decode: a body that is not a JSON object is transient and quoted", "[decode]") {
    const auto html = decode("<html><body>Bad Gateway</body></html>");
    CHECK(html.status == SB_STATUS_TRANSIENT);
    CHECK(html.error == "uSpeedo's answer is not JSON: <html><body>Bad Gateway</body></html>");

    const std::string long_body = std::string(200, 'x');
    CHECK(decode(long_body).error == "uSpeedo's answer is not JSON: " + std::string(120, 'x') + "...");
    CHECK(decode("[1]").error == "uSpeedo's answer is not a JSON object: [1]");
    CHECK(decode(R"({"Message": "?"})").error == R"(uSpeedo's answer has no integer RetCode: {"Message": "?"})");
}

// ---- receipts --------------------------------------------------------------------------------

TEST_CASE("receipts: the query is signed like a send (action)", "[receipts]") {
    const core::plugin_call_result r = instance()->encode_receipt_query(R"({"message_ids": ["s-1", "s-2"]})", now_ms);
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(r.request->url == "https://api.uspeedo.com/api");
    CHECK(r.request->body == R"({"Action":"GetUSMSSendReceipt","AccountId":1,"SessionNoSet":["s-1","s-2"]})");
    CHECK(*header(*r.request, "X-Signature") ==
          sdk::hex(sdk::sha1("AccountId1ActionGetUSMSSendReceiptSessionNoSets-1s-2SECRET")));
    CHECK(*header(*r.request, "X-Timestamp") == "1718781186");
    CHECK(header(*r.request, "X-Nonce")->size() == 16);
}

TEST_CASE("receipts: the query uses Basic credentials (v1)", "[receipts]") {
    const core::plugin_call_result r = instance(v1_config)->encode_receipt_query(R"({"message_ids": ["s-1"]})", now_ms);
    REQUIRE(r.ok());
    CHECK(r.request->url == "https://sim.example/api/v1/usms/GetUSMSSendReceipt");
    CHECK(r.request->body == R"({"SessionNoSet":["s-1"]})");
    CHECK(*header(*r.request, "Authorization") == "Basic QUtJRDpTRUNSRVQ=");
}

TEST_CASE("receipts: a query holds 1 to 100 SessionNos", "[receipts]") {
    const auto p = instance();
    CHECK(p->encode_receipt_query(R"({"message_ids": )" + ids(100) + "}", now_ms).ok());
    const auto over = p->encode_receipt_query(R"({"message_ids": )" + ids(101) + "}", now_ms);
    CHECK(over.status == SB_STATUS_PERMANENT);
    CHECK(over.error == "a receipt query has 101 SessionNos; GetUSMSSendReceipt takes at most 100");
    const auto none = p->encode_receipt_query(R"({"message_ids": []})", now_ms);
    CHECK(none.status == SB_STATUS_PERMANENT);
    CHECK(none.error == "a receipt query needs at least one SessionNo");
}

TEST_CASE("receipts: every ReceiptResult maps to a delivery status", "[receipts]") {
    const auto r = receipts(R"({"RetCode": 0, "Action": "GetUSMSSendReceiptResponse", "Data": [
        {"SessionNo": "s-1", "ReceiptSet": [
            {"Phone": "85255311111", "CostCount": 1, "ReceiptResult": "Success", "ReceiptCode": "DELIVRD", "ReceiptDesc": "delivered", "ReceiptTime": 1718781200, "UserId": "r1"},
            {"Phone": "85255311112", "ReceiptResult": "Fail", "ReceiptCode": "UNDELIV", "ReceiptDesc": "absent subscriber", "ReceiptTime": 1718781201},
            {"Phone": "(852)55311113", "ReceiptResult": "SubmitFail", "ReceiptCode": "E01", "ReceiptDesc": "rejected by carrier"},
            {"Phone": "85255311114", "ReceiptResult": "Unknow"}]},
        {"SessionNo": "s-2", "ReceiptSet": [{"Phone": "85255311115", "ReceiptResult": "Expired"}]}]})");
    INFO(r.error);
    REQUIRE(r.ok());
    const json::array list = json::parse(r.json).at("receipts").as_array();
    REQUIRE(list.size() == 5);
    CHECK(list[0].at("message_id") == "s-1");
    CHECK(list[0].at("to") == "+85255311111");
    CHECK(list[0].at("status") == "delivered");
    CHECK(list[0].at("code") == "DELIVRD");
    CHECK(list[0].at("reason") == "delivered");
    CHECK(list[0].at("at_unix_ms") == 1718781200000);
    CHECK(list[1].at("status") == "undelivered");
    CHECK(list[1].at("reason") == "absent subscriber");
    CHECK(list[2].at("status") == "undelivered");
    CHECK(list[2].at("to") == "+85255311113");
    CHECK(list[3].at("status") == "pending");
    CHECK_FALSE(list[3].as_object().contains("reason"));
    CHECK(list[4].at("message_id") == "s-2");
    CHECK(list[4].at("status") == "pending");
    CHECK(list[4].at("reason") == "unrecognised ReceiptResult 'Expired'");
}

TEST_CASE("receipts: the answer is classified like a send's", "[receipts]") {
    CHECK(receipts(R"({"RetCode": 0})").json == R"({"receipts":[],"reply":{"status":200,"content_type":"","body":""}})");
    CHECK(receipts(R"({"RetCode": 215398, "Message": "Failed to parse token"})").status == SB_STATUS_AUTHENTICATION);
    CHECK(receipts(R"({"RetCode": 153, "Message": "throttled"})").status == SB_STATUS_TRANSIENT);
    CHECK(receipts("", 503).status == SB_STATUS_TRANSIENT);
    CHECK(receipts("oops").error == "uSpeedo's answer is not JSON: oops");
    const auto broken = receipts(R"({"RetCode": 0, "Data": [{"SessionNo": "s-1", "ReceiptSet": [{"ReceiptResult": "Success"}]}]})");
    CHECK(broken.status == SB_STATUS_PERMANENT);
    CHECK(broken.error == "answer.Data[0].ReceiptSet[0].Phone: is required");
}
