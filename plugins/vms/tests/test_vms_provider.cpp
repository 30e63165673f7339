// The VMS provider, loaded as the real shared library the build produced and driven through the
// host's plugin interface exactly as the daemon will drive it.
#include "vms_signature.hpp"

#include <switchboard/core/plugin.hpp>
#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>

#include <boost/json.hpp>
#include "plugin_refusal.hpp"

#include <catch2/catch.hpp>

namespace core = switchboard::core;
namespace sdk = switchboard::sdk;
namespace json = boost::json;
namespace vms = switchboard::vms;

namespace {

constexpr std::int64_t now_ms = 1718781186123;  // 2024-06-19T07:13:06.123Z

const std::string config =
    R"({"access_key_id": "AKID", "secret_access_key": "SECRET", "number_pool_no": "NP160084061100694433", "callback_token": "8D202AC288"})";

std::shared_ptr<core::plugin> plugin() {
    static const auto loaded = core::plugin::load(std::filesystem::path(SWITCHBOARD_PLUGIN_DIR) / "vms.so");
    return loaded;
}

std::unique_ptr<core::provider_instance> instance(const std::string& c = config) { return plugin()->create_instance("vms-cn", c); }

std::string refusal(const std::string& bad_config) {
    INFO("configuration: " << bad_config);
    return switchboard::testing::config_refusal([&] { instance(bad_config); });
}

std::string batch(const std::string& step, const std::string& recipients, const std::string& extra = "") {
    return R"({"id": "b1", "job_id": "job1", "channel": "voice", "step": )" + step + extra + R"(, "recipients": )" +
           recipients + "}";
}

const std::string tts_step = R"({"type": 1, "resource": "TTS-1", "params": ["code"]})";
const std::string three = R"([{"id": "r1", "to": "+8613344444444", "params": {"code": "1111"}},
                               {"id": "r2", "to": "+8613344445555", "params": {"code": "2222"}},
                               {"id": "r3", "to": "+8613344446666", "params": {"code": "3333"}}])";
const std::string three_batch = batch(tts_step, three);

const std::string* header(const core::http_request& request, const std::string& name) {
    for (const auto& h : request.headers)
        if (h.name == name)
            return &h.value;
    return nullptr;
}

core::http_request encoded(const core::provider_instance& p, const std::string& batch_json, std::int64_t now = now_ms) {
    const core::plugin_call_result r = p.encode(batch_json, now);
    INFO(r.error);
    REQUIRE(r.ok());
    REQUIRE(r.request.has_value());
    return *r.request;
}

json::object first_item(const core::http_request& request) {
    return json::parse(request.body).at("List").at(0).as_object();
}

std::vector<std::string> open_ids(const std::string& batch_json) {
    std::vector<std::string> out;
    const json::value doc = json::parse(encoded(*instance(), batch_json).body);
    for (const json::value& item : doc.at("List").as_array())
        out.emplace_back(item.at("SingleOpenId").as_string());
    return out;
}

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

std::string envelope_error(const std::string& code, int code_n = 0) {
    return R"({"ResponseMetadata": {"RequestId": "x", "Action": "SingleBatchAppend", "Version": "2022-01-01",
              "Service": "vms", "Region": "cn-north-1", "Error": {)" +
           (code_n ? R"("CodeN": )" + std::to_string(code_n) + ", " : std::string()) + R"("Code": ")" + code +
           R"(", "Message": "said so"}}})";
}

json::array verdicts(const std::string& step, const std::string& recipients) {
    const auto r = instance()->validate(R"({"channel": "voice", "step": )" + step + R"(, "recipients": )" + recipients + "}");
    INFO(r.error);
    REQUIRE(r.ok());
    return json::parse(r.json).at("verdicts").as_array();
}

json::object verdict(const std::string& step, const std::string& to = "+8613344445555", const std::string& params = "{}") {
    const json::array v = verdicts(step, R"([{"to": ")" + to + R"(", "params": )" + params + "}]");
    REQUIRE(v.size() == 1);
    return v[0].as_object();
}

std::string refusal_reason(const json::object& v, const std::string& field) {
    CHECK(v.at("ok") == false);
    CHECK(v.at("field") == field.c_str());
    return v.contains("reason") ? std::string(v.at("reason").as_string()) : std::string();
}

// The reason a step is refused with, checked to name `field` (for one valid recipient).
std::string step_refusal(const std::string& step, const std::string& field) {
    return refusal_reason(verdict(step, "+8613344445555", R"({"code": "1"})"), field);
}

core::plugin_call_result callback(const std::string& body, const std::string& query, const std::string& c = config,
                                  std::int64_t at = now_ms) {
    return instance(c)->parse_receipt({"POST", "https://hooks.example/vms/cdr" + query, {}, body}, at);
}

std::string signed_query(const std::string& body, const std::string& timestamp = "1718781186",
                         const std::string& token = "8D202AC288") {
    return "?timestamp=" + timestamp + "&authCode=" + vms::callback_auth_code(timestamp, body, token);
}

} // namespace

// ---- manifest and configuration --------------------------------------------------------------

TEST_CASE("manifest: a voice provider of 100 calls per request with pushed receipts", "[manifest]") {
    const core::plugin_manifest& m = plugin()->manifest();
    CHECK(m.name == "vms");
    CHECK(m.version == "1.0.0");
    CHECK(m.abi == "1.1");
    CHECK(m.channels == std::vector<std::string>{"voice"});
    CHECK(m.max_recipients_per_call == 100);
    CHECK(m.grouping == std::vector<std::string>{"type", "resource"});
    CHECK(m.receipts == "push");
    CHECK(m.thread_safe);
    CHECK(m.transient_errors ==
          std::vector<std::string>{"FlowLimitExceeded", "AccountFlowLimitExceeded", "ServiceUnavailableTemp", "InternalError",
                                   "ServiceUnavailable", "InternalServiceTimeout", "FailToConnect", "InternalServiceError"});
    const json::object schema = json::parse(m.config_schema_json).as_object();
    CHECK(schema.at("additionalProperties") == false);
    std::vector<std::string> names;
    for (const auto& p : schema.at("properties").as_object())
        names.emplace_back(p.key());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"access_key_id", "callback_max_age_s", "callback_token", "endpoint",
                                            "items_per_call", "number_pool_no", "region", "secret_access_key"});
    CHECK(schema.at("properties").at("secret_access_key").at("writeOnly") == true);
}

TEST_CASE("config: every bad setting is refused naming its field", "[config]") {
    const std::string keys = R"("access_key_id": "AKID", "secret_access_key": "SECRET", "number_pool_no": "NP1")";
    CHECK(refusal(R"({"pool": 1, )" + keys + "}") == "config.pool: is not a setting of the vms provider");
    CHECK(refusal(R"({"endpoint": "ftp://x", )" + keys + "}") == "config.endpoint: must start with http:// or https://, got 'ftp://x'");
    CHECK(refusal(R"({"endpoint": "https://", )" + keys + "}") == "config.endpoint: has no host: 'https://'");
    CHECK(refusal(R"({"endpoint": "https://x/?a=1", )" + keys + "}") ==
          "config.endpoint: must be a base URL without query or fragment, got 'https://x/?a=1'");
    CHECK(refusal(R"({"endpoint": "https://x/vms", )" + keys + "}") ==
          "config.endpoint: must be scheme://host[:port] without a path (VMS signs the path \"/\"), got 'https://x/vms'");
    CHECK(refusal(R"({"region": "", )" + keys + "}") == "config.region: must be a region name such as cn-north-1, got ''");
    CHECK(refusal(R"({"items_per_call": 0, )" + keys + "}") == "config.items_per_call: must be 1 to 100, got 0");
    CHECK(refusal(R"({"items_per_call": 101, )" + keys + "}") == "config.items_per_call: must be 1 to 100, got 101");
    CHECK(refusal(R"({"callback_token": "", )" + keys + "}") ==
          "config.callback_token: must not be empty (leave it out to refuse every callback)");
    CHECK(refusal(R"({"secret_access_key": "S", "number_pool_no": "NP1"})") == "config.access_key_id: is required");
    CHECK(refusal(R"({"access_key_id": "A", "secret_access_key": "", "number_pool_no": "NP1"})") ==
          "config.secret_access_key: must not be empty");
    CHECK(refusal(R"({"access_key_id": "A", "secret_access_key": "S"})") == "config.number_pool_no: is required");
    CHECK(refusal(R"({"access_key_id": "A", "secret_access_key": "S", "number_pool_no": 5})") ==
          "config.number_pool_no: must be a string, not int64");
}

TEST_CASE("config: the secret appears in no message, whatever fails", "[config]") {
    const std::string secret = "TOPSECRET-0123";
    const std::string c = R"({"access_key_id": "AKID", "number_pool_no": "NP1", "secret_access_key": ")" + secret + "\"";
    std::vector<std::string> messages;
    messages.push_back(refusal(c + R"(, "endpoint": "nope"})"));
    const auto p = instance(c + "}");
    messages.push_back(p->decode(three_batch, {401, {}, envelope_error("SignatureDoesNotMatch", 100010)}).error);
    messages.push_back(p->decode(three_batch, {403, {}, ""}).error);
    messages.push_back(p->encode(batch("{}", three), now_ms).error);
    messages.push_back(p->parse_receipt({"POST", "https://h/cb?timestamp=1&authCode=00", {}, "{}"}, now_ms).error);
    for (const std::string& m : messages) {
        CHECK_FALSE(m.empty());
        CHECK_THAT(m, !Catch::Contains(secret));
    }
}

// ---- encode ----------------------------------------------------------------------------------

TEST_CASE("encode: the documented request, every field, V4 signed", "[encode]") {
    // The seed's example (doc 6358/1722083) with its errors corrected as VENDORS.md §1.4 says:
    // SingleOpenId, not OpenId; NumberType an integer; Type present.
    const std::string step = R"({"type": 1, "resource": "123", "params": ["code"], "number_type": 1,
        "number_list": ["0571123455"], "select_number_rule": 1, "ring_again_times": 1, "ring_again_interval": 5,
        "forbid_time_list": [{"Weekdays": [1, 7], "Times": ["00:00-08:00", "22:00-23:59"]}], "ext": "1234"})";
    // TriggerTime 2021-09-23 11:40:05 Beijing is 03:40:05 UTC; the batch is encoded before it.
    const std::int64_t send_at = 1632368405000;
    const std::int64_t now = send_at - 3600 * 1000;
    const std::string b = batch(step, R"([{"id": "r1", "to": "+8613344445555", "params": {"code": "1234"}}])",
                                R"(, "send_at_unix_ms": )" + std::to_string(send_at));
    const core::http_request r = encoded(*instance(R"({"access_key_id": "AKID", "secret_access_key": "SECRET", "number_pool_no": "NP123456"})"),
                                         b, now);
    CHECK(r.method == "POST");
    CHECK(r.url == "https://cloud-vms.volcengineapi.com/?Action=SingleBatchAppend&Version=2022-01-01");
    const std::string id = first_item(r).at("SingleOpenId").as_string().c_str();
    CHECK(r.body == R"({"List":[{"SingleOpenId":")" + id +
                        R"(","Phone":"13344445555","Type":1,"Resource":"123","NumberPoolNo":"NP123456","NumberType":1,)"
                        R"("NumberList":["0571123455"],"SelectNumberRule":1,"PhoneParam":{"code":"1234"},"Ext":"1234",)"
                        R"("TriggerTime":"2021-09-23 11:40:05","RingAgainTimes":1,"RingAgainInterval":5,)"
                        R"("ForbidTimeList":[{"Weekdays":[1,7],"Times":["00:00-08:00","22:00-23:59"]}]}]})");
    CHECK(header(r, "Host") == nullptr);  // the HTTP client writes it from the URL
    CHECK(*header(r, "Content-Type") == "application/json");
    CHECK(*header(r, "X-Date") == "20210923T024005Z");
    CHECK(*header(r, "X-Content-Sha256") == sdk::hex(sdk::sha256(r.body)));

    // The canonical request spelled out by hand, so a signer bug cannot cancel itself.
    const std::string canonical = "POST\n/\nAction=SingleBatchAppend&Version=2022-01-01\n"
                                  "content-type:application/json\nhost:cloud-vms.volcengineapi.com\n"
                                  "x-content-sha256:" + sdk::hex(sdk::sha256(r.body)) + "\nx-date:20210923T024005Z\n\n"
                                  "content-type;host;x-content-sha256;x-date\n" + sdk::hex(sdk::sha256(r.body));
    const std::string key = vms::signing_key("SECRET", {"20210923", "cn-north-1", "vms"});
    const std::string signature = sdk::hex(sdk::hmac_sha256(
        key, "HMAC-SHA256\n20210923T024005Z\n20210923/cn-north-1/vms/request\n" + sdk::hex(sdk::sha256(canonical))));
    CHECK(*header(r, "Authorization") ==
          "HMAC-SHA256 Credential=AKID/20210923/cn-north-1/vms/request, "
          "SignedHeaders=content-type;host;x-content-sha256;x-date, Signature=" + signature);
}

TEST_CASE("encode: region and endpoint are configurable, and a default port is not signed", "[encode]") {
    const auto p = instance(R"({"endpoint": "https://vms.example:443/", "region": "cn-beijing", "access_key_id": "AKID",
                               "secret_access_key": "SECRET", "number_pool_no": "NP1"})");
    const core::http_request r = encoded(*p, three_batch);
    CHECK(r.url == "https://vms.example/?Action=SingleBatchAppend&Version=2022-01-01");
    CHECK_THAT(*header(r, "Authorization"), Catch::StartsWith("HMAC-SHA256 Credential=AKID/20240619/cn-beijing/vms/request, "));
    vms::signing_input in;
    in.query = {{"Action", "SingleBatchAppend"}, {"Version", "2022-01-01"}};
    in.headers = {{"content-type", "application/json"}, {"host", "vms.example"},
                  {"x-content-sha256", sdk::hex(sdk::sha256(r.body))}, {"x-date", "20240619T071306Z"}};
    in.body = r.body;
    CHECK(*header(r, "Authorization") == vms::authorization(in, "20240619T071306Z", "AKID", "SECRET", "cn-beijing", "vms"));

    const auto local = instance(R"({"endpoint": "http://127.0.0.1:8080", "access_key_id": "A", "secret_access_key": "S", "number_pool_no": "NP1"})");
    CHECK(encoded(*local, three_batch).url == "http://127.0.0.1:8080/?Action=SingleBatchAppend&Version=2022-01-01");
}

TEST_CASE("encode: type 3 sends TtsContent and no Resource, and without params no PhoneParam", "[encode]") {
    const json::object item = first_item(encoded(*instance(), batch(R"({"type": 3, "tts_content": "您的验证码已发送"})", three)));
    CHECK(item.at("Type") == 3);
    CHECK(item.at("TtsContent") == "您的验证码已发送");
    CHECK_FALSE(item.contains("Resource"));
    CHECK_FALSE(item.contains("PhoneParam"));
    CHECK_FALSE(item.contains("TriggerTime"));
    CHECK(item.at("NumberPoolNo") == "NP160084061100694433");
}

TEST_CASE("encode: phones, PhoneParam values as text, TriggerTime only in the future", "[encode]") {
    const std::string recipients = R"([{"id": "r1", "to": "+8613344445555", "params": {"code": 42}},
                                       {"id": "r2", "to": "+8657112345678", "params": {"code": 1.5}},
                                       {"id": "r3", "to": "+85255311111", "params": {"code": "x"}}])";
    const json::array list = json::parse(encoded(*instance(), batch(tts_step, recipients)).body).at("List").as_array();
    CHECK(list[0].at("Phone") == "13344445555");
    CHECK(list[1].at("Phone") == "057112345678");
    CHECK(list[2].at("Phone") == "85255311111");
    CHECK(list[0].at("PhoneParam") == json::object{{"code", "42"}});
    CHECK(list[1].at("PhoneParam") == json::object{{"code", "1.5"}});

    CHECK_FALSE(first_item(encoded(*instance(), batch(tts_step, three, R"(, "send_at_unix_ms": )" + std::to_string(now_ms))))
                    .contains("TriggerTime"));
    CHECK(first_item(encoded(*instance(), batch(tts_step, three, R"(, "send_at_unix_ms": )" + std::to_string(now_ms + 60000))))
              .at("TriggerTime") == "2024-06-19 15:14:06");
}

TEST_CASE("encode: SingleOpenId is 32 hex from job, recipient and step, so a resend repeats it", "[encode]") {
    const std::vector<std::string> ids = open_ids(three_batch);
    REQUIRE(ids.size() == 3);
    CHECK(ids[0] == sdk::hex(sdk::sha256(R"(job1/r1/{"params":["code"],"resource":"TTS-1","type":1})")).substr(0, 32));
    CHECK(ids[0] != ids[1]);
    CHECK(open_ids(three_batch) == ids);
    // The same step written in another key order is the same step.
    CHECK(open_ids(batch(R"({"params": ["code"], "type": 1, "resource": "TTS-1"})", three)) == ids);
    CHECK(open_ids(batch(R"({"type": 1, "resource": "TTS-2", "params": ["code"]})", three))[0] != ids[0]);
    std::string other_job = three_batch;
    other_job.replace(other_job.find("job1"), 4, "job2");
    CHECK(open_ids(other_job)[0] != ids[0]);
}

TEST_CASE("encode: batches VMS cannot take are refused for good", "[encode]") {
    const auto small = instance(R"({"items_per_call": 2, "access_key_id": "A", "secret_access_key": "S", "number_pool_no": "NP1"})");
    const auto big = small->encode(three_batch, now_ms);
    CHECK(big.status == SB_STATUS_PERMANENT);
    CHECK(big.error == "batch b1 has 3 recipients; this instance sends at most 2 per call (items_per_call)");

    const auto p = instance();
    const auto no_type = p->encode(batch(R"({"resource": "x"})", three), now_ms);
    CHECK(no_type.status == SB_STATUS_PERMANENT);
    CHECK(no_type.error == "batch b1: step.type: is required");

    const auto missing = p->encode(batch(tts_step, R"([{"id": "r1", "to": "+8613344445555"}])"), now_ms);
    CHECK(missing.status == SB_STATUS_PERMANENT);
    CHECK(missing.error == "batch b1: recipients[0].params.code: is required by step.params");

    const auto phone = p->encode(batch(tts_step, R"([{"id": "r1", "to": "13344445555", "params": {"code": "1"}}])"), now_ms);
    CHECK(phone.status == SB_STATUS_PERMANENT);
    CHECK(phone.error == "batch b1: recipients[0].to: must be E.164 and start with '+' and the country code, got '13344445555'");
}

// ---- validate --------------------------------------------------------------------------------

TEST_CASE("validate: 'to' must be E.164, mainland mobiles 11 digits", "[validate]") {
    const std::string step = R"({"type": 0, "resource": "R"})";
    CHECK(verdict(step, "+8613344445555").at("ok") == true);
    CHECK(verdict(step, "+8657112345678").at("ok") == true);
    CHECK(verdict(step, "+85255311111").at("ok") == true);
    CHECK(refusal_reason(verdict(step, ""), "to") == "is empty; expected E.164 such as +8613344445555");
    CHECK(refusal_reason(verdict(step, "13344445555"), "to") == "must be E.164 and start with '+' and the country code, got '13344445555'");
    CHECK(refusal_reason(verdict(step, "+86 133"), "to") == "must be '+' followed by digits only, got '+86 133'");
    CHECK(refusal_reason(verdict(step, "+123456"), "to") == "must have 7 to 15 digits after '+', got 6 in '+123456'");
    CHECK(refusal_reason(verdict(step, "+0861334444"), "to") == "must not start with +0 (no country code does), got '+0861334444'");
    CHECK(refusal_reason(verdict(step, "+86133444455556"), "to") ==
          "is a mainland mobile number and must have 11 digits after +86, got 12 in '+86133444455556'");
}

TEST_CASE("validate: type and resource", "[validate]") {
    CHECK(step_refusal(R"({"resource": "R"})", "step.type") == "is required");
    CHECK(step_refusal(R"({"type": "1", "resource": "R"})", "step.type") == "must be an integer, not string");
    CHECK(step_refusal(R"({"type": 4, "resource": "R"})", "step.type") ==
          "must be 0 (recording), 1 (TTS template), 2 (IVR) or 3 (TTS text), got 4");
    CHECK(step_refusal(R"({"type": 2})", "step.resource") == "is required for type 2 (the recording, TTS template or IVR flow id)");
    CHECK(step_refusal(R"({"type": 0, "resource": ""})", "step.resource") == "must not be empty");
    CHECK(verdict(R"({"type": 2, "resource": "IVR-1"})").at("ok") == true);
}

TEST_CASE("validate: tts_content belongs to type 3 and holds 250 characters", "[validate]") {
    CHECK(step_refusal(R"({"type": 3})", "step.tts_content") == "is required for type 3 (TTS text)");
    CHECK(step_refusal(R"({"type": 3, "tts_content": ""})", "step.tts_content") == "is required for type 3 (TTS text)");
    CHECK(step_refusal(R"({"type": 1, "resource": "R", "tts_content": "hi"})", "step.tts_content") ==
          "is used only with type 3 (TTS text), not type 1");
    std::string cjk_250;
    for (int i = 0; i < 250; ++i)
        cjk_250 += "话";
    CHECK(verdict(R"({"type": 3, "tts_content": ")" + cjk_250 + "\"}").at("ok") == true);
    CHECK(step_refusal(R"({"type": 3, "tts_content": ")" + cjk_250 + "话\"}", "step.tts_content") ==
          "is 251 characters; VMS takes at most 250");
}

TEST_CASE("validate: caller numbers: number_type, number_list, select_number_rule", "[validate]") {
    CHECK(verdict(R"({"type": 0, "resource": "R", "number_type": 1, "number_list": ["0571123455"]})").at("ok") == true);
    CHECK(verdict(R"({"type": 0, "resource": "R", "number_type": 0})").at("ok") == true);
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "number_type": 2})", "step.number_type") ==
          "must be 0 (any number of the pool) or 1 (step.number_list), got 2");
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "number_type": 1})", "step.number_list") ==
          "is required (at least one number) when number_type is 1");
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "number_type": 1, "number_list": []})", "step.number_list") ==
          "is required (at least one number) when number_type is 1");
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "number_list": ["0571123455"]})", "step.number_list") ==
          "is used only when number_type is 1");
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "number_type": 1, "number_list": ["0571", 5]})", "step.number_list[1]") ==
          "must be a caller number (a non-empty string)");
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "number_type": 1, "number_list": ["+86571"]})", "step.number_list[0]") ==
          "must be a caller number of the pool, digits only, got '+86571'");
    CHECK(verdict(R"({"type": 0, "resource": "R", "select_number_rule": 3})").at("ok") == true);
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "select_number_rule": 0})", "step.select_number_rule") ==
          "must be 1 (random), 2 (round robin) or 3 (tail-digit match), got 0");
}

TEST_CASE("validate: params become PhoneParam, at most 2048 characters", "[validate]") {
    const std::string step = R"({"type": 1, "resource": "T", "params": ["code", "name"]})";
    CHECK(verdict(step, "+8613344445555", R"({"code": "1", "name": "王"})").at("ok") == true);
    CHECK(refusal_reason(verdict(step, "+8613344445555", R"({"code": "1"})"), "params.name") == "is required by step.params");
    CHECK(refusal_reason(verdict(step, "+8613344445555", R"({"code": true, "name": "x"})"), "params.code") ==
          "must be a string or a number, not bool");
    // {"code":"1","name":"..."} is 22 characters around the name.
    CHECK(verdict(step, "+8613344445555", R"({"code": "1", "name": ")" + std::string(2026, 'n') + "\"}").at("ok") == true);
    CHECK(refusal_reason(verdict(step, "+8613344445555", R"({"code": "1", "name": ")" + std::string(2027, 'n') + "\"}"), "params") ==
          "make PhoneParam 2049 characters of JSON; VMS takes at most 2048");
    CHECK(step_refusal(R"({"type": 1, "resource": "T", "params": ["code", ""]})", "step.params[1]") ==
          "must be a parameter name (a non-empty string)");
    CHECK(step_refusal(R"({"type": 1, "resource": "T", "params": "code"})", "step.params") == "must be an array, not string");
}

TEST_CASE("validate: redials", "[validate]") {
    CHECK(verdict(R"({"type": 0, "resource": "R", "ring_again_times": 3, "ring_again_interval": 5})").at("ok") == true);
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "ring_again_times": 4})", "step.ring_again_times") ==
          "must be 0 to 3 redials, got 4");
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "ring_again_times": -1})", "step.ring_again_times") ==
          "must be 0 to 3 redials, got -1");
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "ring_again_interval": 4})", "step.ring_again_interval") ==
          "must be at least 5 minutes, got 4");
}

TEST_CASE("validate: forbid_time_list windows", "[validate]") {
    const auto rule = [](const std::string& list) { return R"({"type": 0, "resource": "R", "forbid_time_list": )" + list + "}"; };
    CHECK(verdict(rule(R"([{"Times": ["22:00-08:00"]}, {"Weekdays": [1, 7], "Times": ["00:00-23:59"]}])")).at("ok") == true);
    CHECK(step_refusal(rule(R"({"Times": []})"), "step.forbid_time_list") == "must be an array, not object");
    CHECK(step_refusal(rule(R"([5])"), "step.forbid_time_list[0]") == "must be an object with Weekdays and Times");
    CHECK(step_refusal(rule(R"([{"Weekdays": [1]}])"), "step.forbid_time_list[0].Times") == "is required");
    CHECK(step_refusal(rule(R"([{"Times": []}])"), "step.forbid_time_list[0].Times") ==
          "must name at least one \"HH:MM-HH:MM\" window");
    CHECK(step_refusal(rule(R"([{"Times": ["8:00-9:00"]}])"), "step.forbid_time_list[0].Times[0]") ==
          "must be \"HH:MM-HH:MM\" with hours 00-23 and minutes 00-59, got '8:00-9:00'");
    CHECK(step_refusal(rule(R"([{"Times": ["00:00-24:00"]}])"), "step.forbid_time_list[0].Times[0]") ==
          "must be \"HH:MM-HH:MM\" with hours 00-23 and minutes 00-59, got '00:00-24:00'");
    CHECK(step_refusal(rule(R"([{"Times": [800]}])"), "step.forbid_time_list[0].Times[0]") == "must be a string \"HH:MM-HH:MM\"");
    CHECK(step_refusal(rule(R"([{"Times": ["08:00-08:00"]}])"), "step.forbid_time_list[0].Times[0]") ==
          "starts and ends at the same minute: '08:00-08:00'");
    CHECK(step_refusal(rule(R"([{"Weekdays": [0], "Times": ["08:00-09:00"]}])"), "step.forbid_time_list[0].Weekdays[0]") ==
          "must be a weekday from 1 (Sunday) to 7 (Saturday), got 0");
    CHECK(step_refusal(rule(R"([{"Days": [1], "Times": ["08:00-09:00"]}])"), "step.forbid_time_list[0].Days") ==
          "is not a field of a no-call window (Weekdays, Times)");
}

TEST_CASE("validate: ext holds 250 characters", "[validate]") {
    CHECK(verdict(R"({"type": 0, "resource": "R", "ext": ")" + std::string(250, 'e') + "\"}").at("ok") == true);
    CHECK(step_refusal(R"({"type": 0, "resource": "R", "ext": ")" + std::string(251, 'e') + "\"}", "step.ext") ==
          "is 251 characters; VMS takes at most 250");
}

TEST_CASE("validate: a step fault is every recipient's, recipient faults are their own", "[validate]") {
    const json::array bad_step = verdicts(R"({"type": 9})", R"([{"to": "+8613344445555"}, {"to": "bad"}])");
    REQUIRE(bad_step.size() == 2);
    for (const json::value& v : bad_step)
        CHECK(refusal_reason(v.as_object(), "step.type") == "must be 0 (recording), 1 (TTS template), 2 (IVR) or 3 (TTS text), got 9");
    const json::array v = verdicts(tts_step, R"([{"to": "+8613344445555", "params": {"code": "1"}}, {"to": "+8613344445555"}, {"to": "x"}])");
    REQUIRE(v.size() == 3);
    CHECK(v[0].at("ok") == true);
    CHECK(refusal_reason(v[1].as_object(), "params.code") == "is required by step.params");
    CHECK(refusal_reason(v[2].as_object(), "to") == "must be E.164 and start with '+' and the country code, got 'x'");
}

// ---- decode ----------------------------------------------------------------------------------

TEST_CASE("decode: the seed's answer, corrected, matched by phone", "[decode]") {
    // The seed's example with its JSON repaired (VENDORS.md §1.4): a comma after "Phone", FailList
    // items in braces. Its two lists name the same phone; the FailList one is moved to r2's number
    // here so that each recipient is named once. Neither SingleOpenId is ours, so phones decide.
    const auto r = decode(R"({"ResponseMetadata": {"RequestId": "2021052017361001022509205912000B28",
        "Action": "SingleBatchAppend", "Version": "2022-01-01", "Service": "vms", "Region": "cn-north-1"},
        "Result": {"SuccessList": [{"Phone": "13344444444", "SingleOpenId": "1233333", "Ext": "1234"}],
                   "FailList": [{"Phone": "13344445555", "Type": "手机号格式错误"}]}})");
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1").at("result") == "accepted");
    CHECK(outcome_of(r, "r1").at("message_id") == open_ids(three_batch)[0].c_str());
    CHECK(outcome_of(r, "r2").at("result") == "rejected");
    CHECK(outcome_of(r, "r2").at("code") == "手机号格式错误");
    CHECK(outcome_of(r, "r2").at("reason") == "手机号格式错误");
    CHECK(outcome_of(r, "r3").at("result") == "unknown");
    CHECK(outcome_of(r, "r3").at("reason") ==
          ("VMS listed SingleOpenId " + open_ids(three_batch)[2] + " in neither SuccessList nor FailList").c_str());
}

TEST_CASE("decode: items match by SingleOpenId, and REDUPLICATED_ITEM is accepted", "[decode]") {
    const std::vector<std::string> ids = open_ids(three_batch);
    const auto r = decode(R"({"ResponseMetadata": {"RequestId": "x"}, "Result": {
        "SuccessList": [{"Phone": "13300000000", "SingleOpenId": ")" + ids[0] + R"("}],
        "FailList": [{"Phone": "13344445555", "SingleOpenId": ")" + ids[1] + R"(", "Type": "REDUPLICATED_ITEM", "Desc": "重复项目"},
                     {"Phone": "13344446666", "SingleOpenId": ")" + ids[2] + R"(", "Type": "INVALID_PHONE_FORMAT"}]}})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1").at("result") == "accepted");
    CHECK(outcome_of(r, "r1").at("message_id") == ids[0].c_str());
    CHECK(outcome_of(r, "r2").at("result") == "accepted");
    CHECK(outcome_of(r, "r2").at("message_id") == ids[1].c_str());
    CHECK(outcome_of(r, "r3").at("result") == "rejected");
    CHECK(outcome_of(r, "r3").at("code") == "INVALID_PHONE_FORMAT");
    CHECK(outcome_of(r, "r3").at("reason") == "invalid phone number");
}

TEST_CASE("decode: FailList Desc is the reason when given", "[decode]") {
    const auto r = decode(R"({"Result": {"SuccessList": [], "FailList": [
        {"Phone": "13344444444", "Type": "RESOURCE_NOT_FOUND", "Desc": "resource 123 not found"},
        {"Phone": "13344445555", "Type": "SOME_NEW_CODE"}, {"Phone": "13344446666"}]}})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1").at("code") == "RESOURCE_NOT_FOUND");
    CHECK(outcome_of(r, "r1").at("reason") == "resource 123 not found");
    CHECK(outcome_of(r, "r2").at("reason") == "SOME_NEW_CODE");
    CHECK(outcome_of(r, "r3").at("code") == "FailList");
    CHECK(outcome_of(r, "r3").at("reason") == "listed in FailList without Type");
}

TEST_CASE("decode: an answer without Result leaves every recipient unknown", "[decode]") {
    const auto r = decode(R"({"ResponseMetadata": {"RequestId": "x"}})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r2").at("result") == "unknown");
    CHECK(outcome_of(r, "r2").at("reason") == R"(VMS's answer has no Result: {"ResponseMetadata": {"RequestId": "x"}})");
}

TEST_CASE("decode: ResponseMetadata.Error classifies the whole batch", "[decode]") {
    SECTION("credentials") {
        for (const std::string code : {"SignatureDoesNotMatch", "InvalidAccessKey", "MissingSignature", "InvalidCredential", "AccessDenied"}) {
            const auto r = decode(envelope_error(code), 401);
            CHECK(r.status == SB_STATUS_AUTHENTICATION);
        }
        CHECK(decode(envelope_error("SomethingNew"), 401).status == SB_STATUS_AUTHENTICATION);
        CHECK(decode(envelope_error("LackPolicy"), 403).status == SB_STATUS_AUTHENTICATION);
        CHECK(decode(envelope_error("InvalidTimestamp"), 403).status == SB_STATUS_PERMANENT);
        CHECK(decode(envelope_error("SignatureDoesNotMatch", 100010), 401).error ==
              "VMS refused the credentials (HTTP 401 SignatureDoesNotMatch 100010: said so): "
              "check access_key_id, secret_access_key and region");
    }
    SECTION("throttling and outages are transient, with Retry-After") {
        for (const std::string code : {"FlowLimitExceeded", "AccountFlowLimitExceeded", "ServiceUnavailableTemp", "InternalError",
                                       "ServiceUnavailable", "InternalServiceTimeout", "FailToConnect", "InternalServiceError"})
            CHECK(decode(envelope_error(code), 200).status == SB_STATUS_TRANSIENT);
        const auto r = decode(envelope_error("FlowLimitExceeded"), 429, {{"Retry-After", "2"}});
        CHECK(r.status == SB_STATUS_TRANSIENT);
        CHECK(r.retry_after_ms == 2000);
        CHECK(r.error == "VMS is busy or failing (HTTP 429 FlowLimitExceeded: said so)");
        CHECK(decode(envelope_error("SomethingNew"), 502).status == SB_STATUS_TRANSIENT);
    }
    SECTION("a clock or a parameter problem is permanent") {
        const auto clock = decode(envelope_error("InvalidTimestamp", 100006), 400);
        CHECK(clock.status == SB_STATUS_PERMANENT);
        CHECK(clock.error == "VMS refused the request's X-Date (HTTP 400 InvalidTimestamp 100006: said so): check this host's clock");
        for (const std::string code : {"MissingParameter", "InvalidParameter", "OperationDenied", "QuotaExceeded", "InvalidActionOrVersion"})
            CHECK(decode(envelope_error(code), 400).status == SB_STATUS_PERMANENT);
        CHECK(decode(envelope_error("InvalidParameter"), 400).error == "VMS refused the request (HTTP 400 InvalidParameter: said so)");
    }
}

TEST_CASE("decode: HTTP status without an envelope, and bodies that are not JSON", "[decode]") {
    const auto html = decode("<html>503</html>", 503, {{"Retry-After", "3"}});
    CHECK(html.status == SB_STATUS_TRANSIENT);
    CHECK(html.retry_after_ms == 3000);
    CHECK(html.error == "VMS answered HTTP 503: <html>503</html>");
    CHECK(decode("", 429).status == SB_STATUS_TRANSIENT);
    CHECK(decode("", 401).status == SB_STATUS_AUTHENTICATION);
    CHECK(decode("", 403).error == "VMS answered HTTP 403: check access_key_id, secret_access_key and region");
    CHECK(decode("nope", 400).status == SB_STATUS_PERMANENT);
    CHECK(decode("nope", 400).error == "VMS answered HTTP 400: nope");

    const auto garbage = decode("<html><body>Bad Gateway</body></html>");
    CHECK(garbage.status == SB_STATUS_TRANSIENT);
    CHECK(garbage.error == "VMS's answer is not a JSON object: <html><body>Bad Gateway</body></html>");
    CHECK(decode(std::string(200, 'x')).error == "VMS's answer is not a JSON object: " + std::string(120, 'x') + "...");
    CHECK(decode("[1]").status == SB_STATUS_TRANSIENT);
}

// ---- receipts --------------------------------------------------------------------------------

TEST_CASE("receipts: the VERIFIED authCode vector is accepted, and an event without singleOpenId settles nothing", "[receipts]") {
    const auto r = callback(R"({"callId":"abcdefg","accountId":"123456789"})",
                            "?timestamp=1622539884&authCode=8090de7b7bab3d9e626280f635a60a8453d2ba75403f13aac3f4d5dccf6c2264",
                            config, 1622539884'000 + 2000);  // received two seconds after it was signed
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(json::parse(r.json).at("receipts").as_array().empty());
    CHECK(json::parse(r.json).at("reply").at("status") == 200);
}

TEST_CASE("receipts: a callback signed long ago is refused as a replay, within callback_max_age_s taken", "[receipts]") {
    const std::string body = R"({"callId":"V1","callResult":1,"singleOpenId":"aaa"})";
    const std::int64_t signed_at = now_ms / 1000;
    const auto query = signed_query(body, std::to_string(signed_at));
    CHECK(callback(body, query, config, now_ms + 599'000).ok());
    const auto replayed = callback(body, query, config, now_ms + 3600'000);
    CHECK(replayed.status == SB_STATUS_AUTHENTICATION);
    CHECK(replayed.error == "callback refused: its timestamp " + std::to_string(signed_at) +
                                " is more than 600 s from now (a replay, or a wrong clock)");
    CHECK(callback(body, query, config, now_ms - 3600'000).status == SB_STATUS_AUTHENTICATION);  // from the future
    const std::string lenient = config.substr(0, config.size() - 1) + R"(, "callback_max_age_s": 7200})";
    CHECK(callback(body, query, lenient, now_ms + 3600'000).ok());
}

TEST_CASE("receipts: a forged, missing or unconfigured authCode is an authentication failure", "[receipts]") {
    const std::string body = R"({"callId":"abcdefg","accountId":"123456789"})";
    const auto forged = callback(body, "?timestamp=1622539884&authCode=8090de7b7bab3d9e626280f635a60a8453d2ba75403f13aac3f4d5dccf6c2265");
    CHECK(forged.status == SB_STATUS_AUTHENTICATION);
    CHECK(forged.error == "callback refused: authCode does not match the body and callback_token");
    // The right code for another body, or another timestamp.
    CHECK(callback(body + " ", "?timestamp=1622539884&authCode=8090de7b7bab3d9e626280f635a60a8453d2ba75403f13aac3f4d5dccf6c2264").status ==
          SB_STATUS_AUTHENTICATION);
    CHECK(callback(body, "?timestamp=1622539885&authCode=8090de7b7bab3d9e626280f635a60a8453d2ba75403f13aac3f4d5dccf6c2264").status ==
          SB_STATUS_AUTHENTICATION);
    const auto missing = callback(body, "?timestamp=1622539884");
    CHECK(missing.status == SB_STATUS_AUTHENTICATION);
    CHECK(missing.error == "callback refused: its URL has no timestamp and authCode");
    CHECK(callback(body, "").status == SB_STATUS_AUTHENTICATION);
    const auto unconfigured = callback(body, signed_query(body),
                                       R"({"access_key_id": "A", "secret_access_key": "S", "number_pool_no": "NP1"})");
    CHECK(unconfigured.status == SB_STATUS_AUTHENTICATION);
    CHECK(unconfigured.error == "callback refused: no callback_token is configured");
    // Upper-case hex is the same code.
    std::string upper = signed_query(body);
    std::transform(upper.begin() + upper.find("authCode=") + 9, upper.end(), upper.begin() + upper.find("authCode=") + 9, ::toupper);
    CHECK(callback(body, upper).ok());
}

TEST_CASE("receipts: CDRs map callResult to delivered or undelivered with the documented reason", "[receipts]") {
    const std::string body = R"([
        {"accountId": "1", "callId": "V1", "serviceType": 100, "subServiceType": 102, "numberPoolNo": "NP1",
         "caller": "0571123455", "callee": "13344445555", "beginCallTime": 1718781186000, "endTime": 1718781216000,
         "callResult": 1, "callDuration": 20, "singleOpenId": "aaa"},
        {"callId": "V2", "callee": "13344446666", "callResult": "7", "singleOpenId": "bbb", "cdrCreateTime": 1718781300000},
        {"callId": "V3", "callee": "057112345678", "callResult": 29, "singleOpenId": "ccc"},
        {"callId": "V4", "callResult": 17, "singleOpenId": "ddd"},
        {"callId": "V5", "taskOpenId": "t1", "callResult": 1}])";
    const auto r = callback(body, signed_query(body));
    INFO(r.error);
    REQUIRE(r.ok());
    const json::array list = json::parse(r.json).at("receipts").as_array();
    REQUIRE(list.size() == 4);
    CHECK(list[0].at("message_id") == "aaa");
    CHECK(list[0].at("status") == "delivered");
    CHECK(list[0].at("to") == "+8613344445555");
    CHECK(list[0].at("code") == "1");
    CHECK(list[0].at("reason") == "answered");
    CHECK(list[0].at("at_unix_ms") == 1718781216000);
    CHECK(list[1].at("status") == "undelivered");
    CHECK(list[1].at("code") == "7");
    CHECK(list[1].at("reason") == "no answer");
    CHECK(list[1].at("at_unix_ms") == 1718781300000);
    CHECK(list[2].at("reason") == "callee on the blacklist");
    CHECK_FALSE(list[2].as_object().contains("to"));
    CHECK(list[3].at("reason") == "call failed (callResult 17)");

    const std::string one = R"({"singleOpenId": "eee", "callee": "13344445555", "callResult": 8})";
    const auto single = callback(one, signed_query(one));
    REQUIRE(single.ok());
    CHECK(json::parse(single.json).at("receipts").at(0).at("reason") == "callee busy");
}

TEST_CASE("receipts: a malformed CDR is permanent and named", "[receipts]") {
    const std::string no_result = R"({"singleOpenId": "aaa"})";
    const auto r = callback(no_result, signed_query(no_result));
    CHECK(r.status == SB_STATUS_PERMANENT);
    CHECK(r.error == "callback.callResult: is required");
    const std::string bad = R"([{"singleOpenId": "aaa", "callResult": "x"}])";
    CHECK(callback(bad, signed_query(bad)).error == "callback[0].callResult: must be an integer");
    CHECK(callback("oops", signed_query("oops")).error == "callback: must be a CDR JSON object or an array of them");
    CHECK(callback("[1]", signed_query("[1]")).error == "callback[0]: must be an object");
}
