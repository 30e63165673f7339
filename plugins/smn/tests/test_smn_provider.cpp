// The SMN provider, loaded as the real shared library the build produced and driven through the
// host's plugin interface exactly as the daemon will drive it.
#include "smn_signature.hpp"

#include <switchboard/core/plugin.hpp>

#include <boost/json.hpp>
#include "plugin_refusal.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

namespace core = switchboard::core;
namespace sdk = switchboard::sdk;
namespace json = boost::json;
namespace smn = switchboard::smn;

namespace {

constexpr std::int64_t now_ms = 1718781186123;  // 2024-06-19T07:13:06.123Z
const std::string template_id = "1dd49958037a47e2bd2313ed04628638";
const std::string sign_id = "5dd49958037a47e2bd2313ed04628638";

const std::string aksk_config = R"({"region": "cn-north-4", "project_id": "0123456789abcdef0123456789abcdef",
    "access_key_id": "AKID", "secret_access_key": "SECRET", "sign_id": ")" + sign_id + R"("})";
const std::string token_config = R"({"endpoint": "https://smn.example.test/", "project_id": "pid", "auth": "token",
    "auth_token": "TOKEN", "sign_id": ")" + sign_id + R"("})";

std::shared_ptr<core::plugin> plugin() {
    static const auto loaded = core::plugin::load(std::filesystem::path(SWITCHBOARD_PLUGIN_DIR) / "smn.so");
    return loaded;
}

std::unique_ptr<core::provider_instance> instance(const std::string& config = aksk_config) {
    return plugin()->create_instance("smn-cn", config);
}

std::string refusal(const std::string& bad_config) {
    INFO("configuration: " << bad_config);
    return switchboard::testing::config_refusal([&] { instance(bad_config); });
}

std::string batch(const std::string& step, const std::string& recipients, const std::string& id = "b1") {
    return R"({"id": ")" + id + R"(", "job_id": "job1", "channel": "sms", "step": )" + step +
           R"(, "recipients": )" + recipients + "}";
}

const std::string step = R"({"template": ")" + template_id + R"("})";
const std::string three = R"([{"id": "r1", "to": "+8615911119348"},
                               {"id": "r2", "to": "+8615921119348"},
                               {"id": "r3", "to": "+8615931119348"}])";
const std::string three_batch = batch(step, three);

std::string numbered_batch(std::size_t count) {
    std::string recipients = "[";
    for (std::size_t i = 0; i < count; ++i)
        recipients += (i ? "," : "") + std::string(R"({"id": "r)") + std::to_string(i) + R"(", "to": "+86139)" +
                      std::to_string(10000000 + i) + R"("})";
    return batch(step, recipients + "]");
}

const std::string* header(const core::http_request& request, const std::string& name) {
    return core::find_header(request.headers, name);
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

core::plugin_call_result decode(const std::string& body, int status = 200, std::vector<core::http_header> headers = {},
                                const std::string& batch_json = three_batch) {
    return instance()->decode(batch_json, {status, std::move(headers), body});
}

json::array verdicts(const std::string& step_json, const std::string& recipients) {
    const auto r =
        instance()->validate(R"({"channel": "sms", "step": )" + step_json + R"(, "recipients": )" + recipients + "}");
    INFO(r.error);
    REQUIRE(r.ok());
    return json::parse(r.json).at("verdicts").as_array();
}

json::object verdict(const std::string& step_json, const std::string& to) {
    const json::array v = verdicts(step_json, R"([{"to": ")" + to + R"("}])");
    REQUIRE(v.size() == 1);
    return v[0].as_object();
}

std::string refusal_reason(const json::object& v, const std::string& field) {
    CHECK(v.at("ok") == false);
    CHECK(v.at("field") == field.c_str());
    return v.contains("reason") ? std::string(v.at("reason").as_string()) : std::string();
}

// The request's path and decoded query, as the signer sees them.
smn::signing_input signing_input_of(const core::http_request& request, const std::vector<std::string>& signed_names) {
    const std::string& url = request.url;
    const std::size_t path_at = url.find('/', url.find("://") + 3);
    const std::size_t query_at = url.find('?');
    smn::signing_input input;
    input.method = request.method;
    input.path = url.substr(path_at, query_at == std::string::npos ? std::string::npos : query_at - path_at);
    if (query_at != std::string::npos) {
        std::string rest = url.substr(query_at + 1);
        while (!rest.empty()) {
            const std::size_t amp = rest.find('&');
            const std::string pair = rest.substr(0, amp);
            input.query.emplace_back(pair.substr(0, pair.find('=')), pair.substr(pair.find('=') + 1));
            rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
        }
    }
    const std::string host = url.substr(url.find("://") + 3, path_at - url.find("://") - 3);
    for (const std::string& name : signed_names)
        input.headers.push_back({name, name == "Host" ? host : *header(request, name)});
    input.body = request.body;
    return input;
}

const std::vector<std::string> signed_names = {"Content-Type", "Host", "X-Project-Id", "X-Sdk-Date"};

core::plugin_call_result receipts(const std::string& body, int status = 200,
                                  const std::string& query = R"({"message_ids": ["m-1", "m-2"]})") {
    return instance()->decode_receipt_query(query, {status, {}, body});
}

json::array receipt_list(const core::plugin_call_result& r) {
    INFO(r.error);
    REQUIRE(r.ok());
    return json::parse(r.json).at("receipts").as_array();
}

} // namespace

// ---- manifest and configuration --------------------------------------------------------------

TEST_CASE("manifest: describes an SMS provider of 1000 numbers per call with pulled receipts", "[manifest]") {
    const core::plugin_manifest& m = plugin()->manifest();
    CHECK(m.name == "smn");
    CHECK(m.version == "1.0.0");
    CHECK(m.abi == "1.1");
    CHECK(m.channels == std::vector<std::string>{"sms"});
    CHECK(m.max_recipients_per_call == 1000);
    CHECK(m.grouping == std::vector<std::string>{"template", "sign_id", "extend_code", "extend_src_id"});
    CHECK(m.receipts == "pull");
    CHECK(m.thread_safe);
    CHECK(m.transient_errors == std::vector<std::string>{"APIGW.0308", "APIGW.0201"});
}

TEST_CASE("manifest: the config schema lists exactly the settings and marks the secrets", "[manifest]") {
    const json::object schema = json::parse(plugin()->manifest().config_schema_json).as_object();
    CHECK(schema.at("additionalProperties") == false);
    std::vector<std::string> names;
    for (const auto& p : schema.at("properties").as_object())
        names.emplace_back(p.key());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"access_key_id", "auth", "auth_token", "endpoint", "project_id", "region",
                                            "secret_access_key", "sign_id"});
    CHECK(schema.at("properties").at("secret_access_key").at("writeOnly") == true);
    CHECK(schema.at("properties").at("auth_token").at("writeOnly") == true);
}

TEST_CASE("config: every bad setting is refused naming its field", "[config]") {
    const std::string rest = R"("project_id": "pid", "access_key_id": "AK", "secret_access_key": "SK", "sign_id": "s")";
    CHECK(refusal(R"({"region": "cn-north-4", "regoin": "x", )" + rest + "}") ==
          "config.regoin: is not a setting of the smn provider");
    CHECK(refusal("{" + rest + "}") == "config.region: is required when config.endpoint is not given (e.g. cn-north-4)");
    CHECK(refusal(R"({"region": "CN North", )" + rest + "}") ==
          "config.region: must be a region id such as cn-north-4, got 'CN North'");
    // Beside an endpoint the region is not used, and still a mistake (found by `plugins check`).
    CHECK(refusal(R"({"endpoint": "https://x", "region": 12345, )" + rest + "}") ==
          "config.region: must be a string, not int64");
    CHECK(refusal(R"({"endpoint": "https://x", "region": "CN North", )" + rest + "}") ==
          "config.region: must be a region id such as cn-north-4, got 'CN North'");
    CHECK(refusal(R"({"endpoint": "ftp://x", )" + rest + "}") ==
          "config.endpoint: must start with http:// or https://, got 'ftp://x'");
    CHECK(refusal(R"({"endpoint": "https://", )" + rest + "}") == "config.endpoint: has no host: 'https://'");
    CHECK(refusal(R"({"endpoint": "https://x/?a=1", )" + rest + "}") ==
          "config.endpoint: must be a base URL without query, fragment or spaces, got 'https://x/?a=1'");
    CHECK(refusal(R"({"region": "r", "access_key_id": "AK", "secret_access_key": "SK", "sign_id": "s"})") ==
          "config.project_id: is required");
    CHECK(refusal(R"({"region": "r", "project_id": "a/b", "access_key_id": "AK", "secret_access_key": "SK", "sign_id": "s"})") ==
          "config.project_id: must be the IAM project id (letters and digits), got 'a/b'");
    CHECK(refusal(R"({"region": "r", "auth": "basic", )" + rest + "}") ==
          "config.auth: must be \"aksk\" or \"token\", got 'basic'");
    CHECK(refusal(R"({"region": "r", "project_id": "p", "secret_access_key": "SK", "sign_id": "s"})") ==
          "config.access_key_id: is required when auth is \"aksk\"");
    CHECK(refusal(R"({"region": "r", "project_id": "p", "access_key_id": "AK", "sign_id": "s"})") ==
          "config.secret_access_key: is required when auth is \"aksk\"");
    CHECK(refusal(R"({"region": "r", "project_id": "p", "access_key_id": "AK", "secret_access_key": "", "sign_id": "s"})") ==
          "config.secret_access_key: must not be empty");
    CHECK(refusal(R"({"region": "r", "auth_token": "T", )" + rest + "}") ==
          "config.auth_token: is only used when auth is \"token\"");
    CHECK(refusal(R"({"region": "r", "project_id": "p", "auth": "token", "sign_id": "s"})") ==
          "config.auth_token: is required when auth is \"token\"");
    CHECK(refusal(R"({"region": "r", "auth": "token", "auth_token": "T", )" + rest + "}") ==
          "config.access_key_id: is only used when auth is \"aksk\"");
    CHECK(refusal(R"({"region": "r", "project_id": "p", "access_key_id": "AK", "secret_access_key": "SK"})") ==
          "config.sign_id: is required");
    CHECK(refusal(R"({"region": "r", "project_id": "p", "access_key_id": "AK", "secret_access_key": "SK", "sign_id": ""})") ==
          "config.sign_id: must not be empty");
}

TEST_CASE("config: the secrets appear in no message, whatever fails", "[config]") {
    const std::string secret = "TOPSECRET-0123";
    std::vector<std::string> messages;
    messages.push_back(refusal(R"({"endpoint": "nope", "project_id": "p", "access_key_id": "AK", "secret_access_key": ")" +
                               secret + R"(", "sign_id": "s"})"));
    messages.push_back(refusal(R"({"region": "r", "project_id": "p", "access_key_id": "AK", "secret_access_key": ")" +
                               secret + "\\n\", \"sign_id\": \"s\"}"));
    messages.push_back(refusal(R"({"region": "r", "project_id": "p", "auth": "token", "auth_token": ")" + secret +
                               R"(", "access_key_id": "AK", "sign_id": "s"})"));
    const auto p = instance(R"({"region": "r", "project_id": "p", "access_key_id": "AK", "secret_access_key": ")" +
                            secret + R"(", "sign_id": "s"})");
    messages.push_back(p->decode(three_batch, {401, {}, R"({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information: verify aksk signature fail"})"}).error);
    messages.push_back(p->decode(three_batch, {403, {}, ""}).error);
    messages.push_back(p->encode(batch("{}", three), now_ms).error);
    for (const std::string& m : messages) {
        CHECK_FALSE(m.empty());
        CHECK_THAT(m, !Catch::Contains(secret));
    }
}

// ---- encode ----------------------------------------------------------------------------------

TEST_CASE("encode: the seed's request, signed with SDK-HMAC-SHA256", "[encode]") {
    const core::http_request r = encoded(*instance(), three_batch);
    CHECK(r.method == "POST");
    CHECK(r.url == "https://smn.cn-north-4.myhuaweicloud.com/v2/0123456789abcdef0123456789abcdef/notifications/sms/promotion");
    CHECK(r.body == R"({"sms_template_id":")" + template_id +
                        R"(","endpoints":["+8615911119348","+8615921119348","+8615931119348"],"sign_id":")" + sign_id +
                        R"("})");
    CHECK(*header(r, "Content-Type") == "application/json;charset=UTF-8");
    CHECK(*header(r, "X-Project-Id") == "0123456789abcdef0123456789abcdef");
    CHECK(*header(r, "X-Sdk-Date") == "20240619T071306Z");
    CHECK(header(r, "X-Auth-Token") == nullptr);
    const std::string& authorization = *header(r, "Authorization");
    CHECK_THAT(authorization, Catch::StartsWith("SDK-HMAC-SHA256 Access=AKID, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature="));
    // The signature covers the host and the path with its trailing slash, though the URL has none.
    const smn::signing_input input = signing_input_of(r, signed_names);
    CHECK_THAT(smn::canonical_request(input),
               Catch::StartsWith("POST\n/v2/0123456789abcdef0123456789abcdef/notifications/sms/promotion/\n\n"
                                 "content-type:application/json;charset=UTF-8\nhost:smn.cn-north-4.myhuaweicloud.com\n"));
    CHECK(authorization == smn::authorization(input, "AKID", "SECRET"));
}

TEST_CASE("encode: token mode sends X-Auth-Token and no signature", "[encode]") {
    const core::http_request r = encoded(*instance(token_config), three_batch);
    CHECK(r.url == "https://smn.example.test/v2/pid/notifications/sms/promotion");
    CHECK(*header(r, "X-Auth-Token") == "TOKEN");
    CHECK(*header(r, "X-Project-Id") == "pid");
    CHECK(header(r, "Authorization") == nullptr);
    CHECK(header(r, "X-Sdk-Date") == nullptr);
}

TEST_CASE("encode: an endpoint with a port and a path prefix is signed as sent", "[encode]") {
    const auto p = instance(R"({"endpoint": "http://127.0.0.1:8080/smn/", "project_id": "pid", "access_key_id": "AKID",
                                "secret_access_key": "SECRET", "sign_id": "s"})");
    const core::http_request r = encoded(*p, three_batch);
    CHECK(r.url == "http://127.0.0.1:8080/smn/v2/pid/notifications/sms/promotion");
    const smn::signing_input input = signing_input_of(r, signed_names);
    CHECK(input.headers[1].value == "127.0.0.1:8080");
    CHECK(*header(r, "Authorization") == smn::authorization(input, "AKID", "SECRET"));
}

TEST_CASE("encode: the step's sign_id and extension fields are sent", "[encode]") {
    const json::object body = body_of(encoded(
        *instance(), batch(R"({"template": ")" + template_id +
                               R"(", "sign_id": "other-sign", "extend_code": "campaign-7", "extend_src_id": "1234"})",
                           three)));
    CHECK(body.at("sign_id") == "other-sign");
    CHECK(body.at("extend_code") == "campaign-7");
    CHECK(body.at("extend_src_id") == "1234");
    const json::object plain = body_of(encoded(*instance(), three_batch));
    CHECK(plain.at("sign_id") == sign_id.c_str());
    CHECK_FALSE(plain.contains("extend_code"));
    CHECK_FALSE(plain.contains("extend_src_id"));
}

TEST_CASE("encode: a number twice in a batch is sent once", "[encode]") {
    const json::object body = body_of(encoded(
        *instance(), batch(step, R"([{"id": "a", "to": "+8613900000001"}, {"id": "b", "to": "+8613900000002"},
                                     {"id": "c", "to": "+8613900000001"}])")));
    CHECK(body.at("endpoints") == json::array{"+8613900000001", "+8613900000002"});
}

TEST_CASE("encode: batches SMN cannot take are refused for good", "[encode]") {
    const auto big = instance()->encode(numbered_batch(1001), now_ms);
    CHECK(big.status == SB_STATUS_PERMANENT);
    CHECK(big.error == "batch b1 has 1001 recipients; SMN takes at most 1000 per call");
    CHECK(instance()->encode(numbered_batch(1000), now_ms).ok());
    const auto no_template = instance()->encode(batch("{}", three), now_ms);
    CHECK(no_template.status == SB_STATUS_PERMANENT);
    CHECK(no_template.error == "batch b1: step.template: is required");
    const auto phone = instance()->encode(batch(step, R"([{"id": "r1", "to": "15911119348"}])"), now_ms);
    CHECK(phone.status == SB_STATUS_PERMANENT);
    CHECK(phone.error == "batch b1: recipients[0].to: must be E.164 and start with '+' and the country code, got '15911119348'");
}

// ---- validate --------------------------------------------------------------------------------

TEST_CASE("validate: 'to' must be E.164", "[validate]") {
    CHECK(verdict(step, "+8615911119348").at("ok") == true);
    CHECK(refusal_reason(verdict(step, ""), "to") == "is empty; expected E.164 such as +8615911119348");
    CHECK(refusal_reason(verdict(step, "15911119348"), "to") ==
          "must be E.164 and start with '+' and the country code, got '15911119348'");
    CHECK(refusal_reason(verdict(step, "+86 159 1111 9348"), "to") ==
          "must be '+' followed by digits only, got '+86 159 1111 9348'");
    CHECK(refusal_reason(verdict(step, "+861"), "to") == "must have 7 to 15 digits after '+', got 3 in '+861'");
    CHECK(refusal_reason(verdict(step, "+8615911119348123"), "to") ==
          "must have 7 to 15 digits after '+', got 16 in '+8615911119348123'");
    CHECK(refusal_reason(verdict(step, "+0015911119348"), "to") ==
          "must not start with +0 (no country code does), got '+0015911119348'");
}

TEST_CASE("validate: step faults are named for every recipient", "[validate]") {
    const std::string two = R"([{"to": "+8615911119348"}, {"to": "bad"}])";
    const auto all_refused = [&](const std::string& step_json, const std::string& field) {
        const json::array v = verdicts(step_json, two);
        REQUIRE(v.size() == 2);
        const std::string reason = refusal_reason(v[0].as_object(), field);
        CHECK(refusal_reason(v[1].as_object(), field) == reason);
        return reason;
    };
    CHECK(all_refused("{}", "step.template") == "is required");
    CHECK(all_refused(R"({"template": 5})", "step.template") == "must be a string, not int64");
    CHECK(all_refused(R"({"template": "SMS_123"})", "step.template") ==
          "must be SMN's template id, 32 hexadecimal characters, got 'SMS_123'");
    CHECK(all_refused(R"({"template": "1dd49958037a47e2bd2313ed0462863g"})", "step.template") ==
          "must be SMN's template id, 32 hexadecimal characters, got '1dd49958037a47e2bd2313ed0462863g'");
    const std::string t = R"("template": ")" + template_id + R"(")";
    CHECK(all_refused("{" + t + R"(, "extend_code": ")" + std::string(33, 'x') + R"("})", "step.extend_code") ==
          "is 33 bytes; SMN takes at most 32");
    CHECK(all_refused("{" + t + R"(, "extend_code": ""})", "step.extend_code") == "must not be empty when given");
    CHECK(all_refused("{" + t + R"(, "extend_src_id": "123456789"})", "step.extend_src_id") ==
          "is 9 digits; SMN takes at most 8");
    CHECK(all_refused("{" + t + R"(, "extend_src_id": "12a"})", "step.extend_src_id") == "must be digits only, got '12a'");
    CHECK(all_refused("{" + t + R"(, "sign_id": ""})", "step.sign_id") == "must not be empty when given");
    CHECK(all_refused("{" + t + R"(, "sign_id": 7})", "step.sign_id") == "must be a string, not int64");
}

TEST_CASE("validate: limits are accepted at their edge, upper-case hex too", "[validate]") {
    const std::string edge = R"({"template": "1DD49958037A47E2BD2313ED04628638", "extend_code": ")" + std::string(32, 'x') +
                             R"(", "extend_src_id": "12345678"})";
    CHECK(verdict(edge, "+8615911119348").at("ok") == true);
}

TEST_CASE("validate: one verdict per recipient, in order", "[validate]") {
    const json::array v = verdicts(step, R"([{"to": "+8615911119348"}, {"to": "x"}, {"to": "+447700900123"}])");
    REQUIRE(v.size() == 3);
    CHECK(v[0].at("ok") == true);
    CHECK(refusal_reason(v[1].as_object(), "to") == "must be E.164 and start with '+' and the country code, got 'x'");
    CHECK(v[2].at("ok") == true);
}

// ---- decode ----------------------------------------------------------------------------------

TEST_CASE("decode: the seed's answer (as corrected in VENDORS.md): accepted, rejected, unmentioned", "[decode]") {
    const auto r = decode(R"({"request_id":"9974c07f6d554a6d827956acbeb4be5f",
        "result":[{"message_id":"bf94b63a5dfb475994d3ac34664e24f2","endpoint":"8615911119348"},
                  {"code":"SMN.0087","message":"Fail send this message.","endpoint":"8615921119348"}]})");
    INFO(r.error);
    REQUIRE(r.ok());
    const json::object r1 = outcome_of(r, "r1");
    CHECK(r1.at("result") == "accepted");
    CHECK(r1.at("message_id") == "bf94b63a5dfb475994d3ac34664e24f2");
    const json::object r2 = outcome_of(r, "r2");
    CHECK(r2.at("result") == "rejected");
    CHECK(r2.at("code") == "SMN.0087");
    CHECK(r2.at("reason") == "Fail send this message.");
    const json::object r3 = outcome_of(r, "r3");
    CHECK(r3.at("result") == "unknown");
    CHECK(r3.at("reason") == "SMN's answer does not mention this number");
}

TEST_CASE("decode: endpoints are matched by digits, with or without '+'", "[decode]") {
    const auto r = decode(R"({"request_id":"x","result":[{"message_id":"m1","endpoint":"+8615911119348"},
        {"message_id":"m2","endpoint":"86-159-2111-9348"},{"message_id":"m3","endpoint":"8615931119348"}]})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1").at("message_id") == "m1");
    CHECK(outcome_of(r, "r2").at("message_id") == "m2");
    CHECK(outcome_of(r, "r3").at("message_id") == "m3");
}

TEST_CASE("decode: a later duplicate of a number is rejected as a duplicate", "[decode]") {
    const std::string dup = batch(step, R"([{"id": "a", "to": "+8613900000001"}, {"id": "b", "to": "+8613900000001"}])");
    const auto r = decode(R"({"request_id":"x","result":[{"message_id":"m1","endpoint":"8613900000001"}]})", 200, {}, dup);
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "a").at("result") == "accepted");
    const json::object b = outcome_of(r, "b");
    CHECK(b.at("result") == "rejected");
    CHECK(b.at("code") == "duplicate");
    CHECK(b.at("reason") == "the same number is already in this call");
}

TEST_CASE("decode: of each number only the first recipient is sent, wherever the repeats sit", "[decode]") {
    const std::string dups = batch(step, R"([{"id": "a", "to": "+8613900000002"}, {"id": "b", "to": "+8613900000001"},
        {"id": "c", "to": "+8613900000002"}, {"id": "d", "to": "+8613900000003"}, {"id": "e", "to": "+8613900000001"},
        {"id": "f", "to": "+8613900000002"}])");
    const auto r = decode(R"({"request_id":"x","result":[{"message_id":"m1","endpoint":"8613900000002"},
        {"message_id":"m2","endpoint":"8613900000001"},{"message_id":"m3","endpoint":"8613900000003"}]})", 200, {}, dups);
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "a").at("message_id") == "m1");
    CHECK(outcome_of(r, "b").at("message_id") == "m2");
    CHECK(outcome_of(r, "d").at("message_id") == "m3");
    for (const char* repeat : {"c", "e", "f"}) {
        CAPTURE(repeat);
        CHECK(outcome_of(r, repeat).at("code") == "duplicate");
    }
}

TEST_CASE("decode: an answer in another order is matched by number, and of two items for a number the first wins", "[decode]") {
    const std::string two = batch(step, R"([{"id": "a", "to": "+8613900000001"}, {"id": "b", "to": "+8613900000002"}])");
    const auto r = decode(R"({"request_id":"x","result":[{"message_id":"m1","endpoint":"8613900000002"},
        {"message_id":"m2","endpoint":"8613900000001"},{"code":"E1","message":"late","endpoint":"8613900000002"}]})",
                          200, {}, two);
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "a").at("message_id") == "m2");
    CHECK(outcome_of(r, "b").at("result") == "accepted");
    CHECK(outcome_of(r, "b").at("message_id") == "m1");
}

TEST_CASE("decode: a 200 without a result list leaves every recipient unknown", "[decode]") {
    const auto r = decode(R"({"request_id":"x"})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1").at("result") == "unknown");
    CHECK_THAT(std::string(outcome_of(r, "r1").at("reason").as_string()), Catch::StartsWith("SMN's answer has no result list"));
}

TEST_CASE("decode: throttling and gateway trouble are transient, with Retry-After", "[decode]") {
    const auto throttled = decode(R"({"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached"})",
                                  429, {{"Retry-After", "2"}});
    CHECK(throttled.status == SB_STATUS_TRANSIENT);
    CHECK(throttled.retry_after_ms == 2000);
    CHECK(throttled.error == "SMN answered HTTP 429 APIGW.0308: The throttling threshold has been reached");
    // The gateway code alone decides, whatever the status.
    CHECK(decode(R"({"error_code":"APIGW.0308","error_msg":"x"})", 400).status == SB_STATUS_TRANSIENT);
    CHECK(decode("", 429).status == SB_STATUS_TRANSIENT);
    const auto backend = decode(R"({"error_code":"APIGW.0201","error_msg":"Backend unavailable"})", 502);
    CHECK(backend.status == SB_STATUS_TRANSIENT);
    CHECK(backend.error == "SMN answered HTTP 502 APIGW.0201: Backend unavailable");
    CHECK(decode(R"({"error_code":"APIGW.0201","error_msg":"Backend timeout"})", 504).status == SB_STATUS_TRANSIENT);
    const auto unavailable = decode("<html>Service Unavailable</html>", 503, {{"Retry-After", "5"}});
    CHECK(unavailable.status == SB_STATUS_TRANSIENT);
    CHECK(unavailable.retry_after_ms == 5000);
    CHECK(unavailable.error == "SMN answered HTTP 503: <html>Service Unavailable</html>");
    CHECK(decode(R"({"request_id":"x","code":"SMN.0019","message":"Producer Exceptions."})", 500).status ==
          SB_STATUS_TRANSIENT);
}

TEST_CASE("decode: bad credentials are an authentication failure", "[decode]") {
    const auto bad = decode(
        R"({"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: verify aksk signature fail"})", 401);
    CHECK(bad.status == SB_STATUS_AUTHENTICATION);
    CHECK_THAT(bad.error, Catch::StartsWith("SMN answered HTTP 401 APIGW.0301: Incorrect IAM authentication information"));
    CHECK(decode(R"({"error_code":"APIGW.0307","error_msg":"The token must be updated"})", 401).status ==
          SB_STATUS_AUTHENTICATION);
    CHECK(decode("", 401).status == SB_STATUS_AUTHENTICATION);
    CHECK(decode(R"({"request_id":"x","code":"SMN.0403","message":"forbidden"})", 403).status == SB_STATUS_AUTHENTICATION);
}

TEST_CASE("decode: SMN's parameter errors and other 4xx are permanent", "[decode]") {
    const auto bad_template = decode(R"({"request_id":"r","code":"SMN.0031","message":"Parameter: template_id is invalid."})", 400);
    CHECK(bad_template.status == SB_STATUS_PERMANENT);
    CHECK(bad_template.error == "SMN answered HTTP 400 SMN.0031: Parameter: template_id is invalid.");
    const auto no_api = decode(R"({"error_code":"APIGW.0101","error_msg":"The API does not exist"})", 404);
    CHECK(no_api.status == SB_STATUS_PERMANENT);
    CHECK(decode("not found", 404).error == "SMN answered HTTP 404: not found");
    // An SMN error in a 200 answer is still an error.
    const auto in_200 = decode(R"({"request_id":"r","code":"SMN.0261","message":"Account balance is insufficient."})");
    CHECK(in_200.status == SB_STATUS_PERMANENT);
    CHECK(in_200.error == "SMN answered HTTP 200 SMN.0261: Account balance is insufficient.");
}

TEST_CASE("decode: a 200 body that is not a JSON object is transient and quoted", "[decode]") {
    const auto html = decode("<html>" + std::string(200, 'x') + "</html>");
    CHECK(html.status == SB_STATUS_TRANSIENT);
    CHECK(html.error == "SMN's answer is not a JSON object: <html>" + std::string(114, 'x') + "...");
    CHECK(decode("[1,2]").status == SB_STATUS_TRANSIENT);
}

// ---- receipts --------------------------------------------------------------------------------

TEST_CASE("receipts: the query asks the report list for the window since the batch, signed", "[receipts]") {
    const auto r = instance()->encode_receipt_query(R"({"message_ids": ["m-1"], "since_unix_ms": 1718780000000})", now_ms);
    INFO(r.error);
    REQUIRE(r.ok());
    const core::http_request& q = *r.request;
    CHECK(q.method == "GET");
    CHECK(q.url == "https://smn.cn-north-4.myhuaweicloud.com/v2/0123456789abcdef0123456789abcdef/notifications/sms/"
                   "report?start_time=1718780000000&end_time=1718781186123&limit=100&offset=0");
    CHECK(q.body.empty());
    const smn::signing_input input = signing_input_of(q, signed_names);
    CHECK_THAT(smn::canonical_request(input),
               Catch::StartsWith("GET\n/v2/0123456789abcdef0123456789abcdef/notifications/sms/report/\n"
                                 "end_time=1718781186123&limit=100&offset=0&start_time=1718780000000\n"));
    CHECK(*header(q, "Authorization") == smn::authorization(input, "AKID", "SECRET"));
}

TEST_CASE("receipts: without since_unix_ms the window is the last day", "[receipts]") {
    const auto r = instance()->encode_receipt_query(R"({"message_ids": ["m-1"]})", now_ms);
    REQUIRE(r.ok());
    CHECK_THAT(r.request->url, Catch::EndsWith("?start_time=1718694786123&end_time=1718781186123&limit=100&offset=0"));
    CHECK(instance()->encode_receipt_query(R"({"message_ids": []})", now_ms).status == SB_STATUS_PERMANENT);
}

TEST_CASE("receipts: each CMPP state maps to a delivery status", "[receipts]") {
    const std::pair<const char*, const char*> states[] = {
        {"DELIVRD", "delivered"},   {"UNDELIV", "undelivered"}, {"EXPIRED", "undelivered"}, {"DELETED", "undelivered"},
        {"REJECTD", "undelivered"}, {"ACCEPTD", "pending"},     {"UNKNOWN", "pending"},     {"NEWSTATE", "pending"}};
    for (const auto& [state, expected] : states) {
        INFO(state);
        const json::array list = receipt_list(receipts(
            std::string(R"({"count":1,"data":[{"message_id":"m-1","status":1,"sign_id":"s","status_desc":")") + state +
            R"(","fee_num":1,"extend_code":"","nation_code":"","mobile":"+8615911119348","submit_time":"1718781000000","deliver_time":"1718781005000"}]})"));
        REQUIRE(list.size() == 1);
        const json::object& r = list[0].as_object();
        CHECK(r.at("message_id") == "m-1");
        CHECK(r.at("status") == expected);
        CHECK(r.at("to") == "+8615911119348");
        CHECK(r.at("code") == state);
        CHECK(r.at("at_unix_ms") == 1718781005000);
    }
    const json::array undeliv = receipt_list(receipts(R"({"count":1,"data":[{"message_id":"m-1","status_desc":"UNDELIV","mobile":"8615911119348"}]})"));
    CHECK(undeliv[0].at("reason") == "UNDELIV: could not be delivered");
    const json::array expired = receipt_list(receipts(R"({"count":1,"data":[{"message_id":"m-2","status_desc":"EXPIRED","mobile":"8615911119348"}]})"));
    CHECK(expired[0].at("reason") == "EXPIRED: expired before it could be delivered");
    const json::array odd = receipt_list(receipts(R"({"count":1,"data":[{"message_id":"m-1","status":9,"status_desc":"NEWSTATE"}]})"));
    CHECK(odd[0].at("reason") == "unrecognised status_desc 'NEWSTATE' (status 9)");
}

TEST_CASE("receipts: only the requested message ids come back, numbers in E.164", "[receipts]") {
    const json::array list = receipt_list(receipts(R"({"count":3,"data":[
        {"message_id":"m-1","status_desc":"DELIVRD","mobile":"15911119348","nation_code":"+86","deliver_time":"1718781005"},
        {"message_id":"other","status_desc":"DELIVRD","mobile":"+8615921119348"},
        {"message_id":"m-2","status_desc":"REJECTD","mobile":"+447700900123"}]})"));
    REQUIRE(list.size() == 2);
    CHECK(list[0].at("message_id") == "m-1");
    CHECK(list[0].at("to") == "+8615911119348");
    CHECK(list[0].at("at_unix_ms") == 1718781005000);
    CHECK(list[1].at("message_id") == "m-2");
    CHECK(list[1].at("status") == "undelivered");
    CHECK(receipt_list(receipts(R"({"count":0,"data":[]})")).empty());
}

TEST_CASE("receipts: failed report queries are classified like sends", "[receipts]") {
    CHECK(receipts(R"({"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"})", 401).status ==
          SB_STATUS_AUTHENTICATION);
    CHECK(receipts(R"({"error_code":"APIGW.0308","error_msg":"throttled"})", 429).status == SB_STATUS_TRANSIENT);
    CHECK(receipts(R"({"request_id":"r","code":"SMN.0015","message":"Parameter: Offset or limit is invalid."})", 400).status ==
          SB_STATUS_PERMANENT);
    CHECK(receipts("oops").status == SB_STATUS_TRANSIENT);
    CHECK(receipts(R"({"count":1})").status == SB_STATUS_TRANSIENT);
    CHECK(receipts(R"({"count":1,"data":[5]})").status == SB_STATUS_PERMANENT);
}
