// The CAMS provider, loaded as the real shared library the build produced and driven through the
// host's plugin interface exactly as the daemon will drive it.
#include "cams_signature.hpp"

#include <switchboard/core/plugin.hpp>
#include <switchboard/sdk/clock.hpp>
#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>

#include <boost/json.hpp>
#include "plugin_refusal.hpp"

#include <catch2/catch.hpp>

#include <map>

namespace core = switchboard::core;
namespace sdk = switchboard::sdk;
namespace json = boost::json;
namespace cams = switchboard::cams;

namespace {

constexpr std::int64_t now_ms = 1718781186123;

const std::string base_config =
    R"({"access_key_id": "AKID", "access_key_secret": "TOPSECRET", "cust_space_id": "cams-8c8space", "from": "8613800000000")";
// Most cases read the parameters from the URL: "query" puts them there (the default is a form body).
const std::string acs3_config = base_config + R"(, "parameters": "query"})";
const std::string v1_config = base_config + R"(, "parameters": "query", "signature": "v1", "endpoint": "http://127.0.0.1:8080/"})";

std::shared_ptr<core::plugin> plugin() {
    static const auto loaded = core::plugin::load(std::filesystem::path(SWITCHBOARD_PLUGIN_DIR) / "cams.so");
    return loaded;
}

std::unique_ptr<core::provider_instance> instance(const std::string& config = acs3_config) {
    return plugin()->create_instance("cams-sg", config);
}

std::string refusal(const std::string& bad_config) {
    INFO("configuration: " << bad_config);
    return switchboard::testing::config_refusal([&] { instance(bad_config); });
}

std::string batch(const std::string& channel, const std::string& step, const std::string& recipients,
                  const std::string& id = "b1") {
    return R"({"id": ")" + id + R"(", "job_id": "job1", "channel": ")" + channel + R"(", "step": )" + step +
           R"(, "recipients": )" + recipients + "}";
}

const std::string otp_step = R"({"template_code": "744c4b5c79c9432497a075bdfca3d4c3", "language": "en", "params": ["code"]})";
const std::string two = R"([{"id": "r1", "to": "+8613900000001", "params": {"code": "111111"}},
                             {"id": "r2", "to": "+8613900000002", "params": {"code": 222222}}])";
const std::string two_batch = batch("whatsapp", otp_step, two);

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

std::string decode_component(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// The URL's query, decoded, in the order written.
std::vector<cams::parameter> query_of(const core::http_request& request) {
    const std::string& url = request.url;
    std::string_view q = std::string_view(url).substr(url.find('?') + 1);
    std::vector<cams::parameter> out;
    while (!q.empty()) {
        const std::size_t amp = q.find('&');
        const std::string_view pair = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        out.emplace_back(decode_component(pair.substr(0, eq)), decode_component(pair.substr(eq + 1)));
    }
    return out;
}

std::map<std::string, std::string> query_map(const core::http_request& request) {
    std::map<std::string, std::string> out;
    for (auto& [k, v] : query_of(request))
        out[k] = v;
    return out;
}

json::array sender_list(const core::http_request& request) {
    return json::parse(query_map(request).at("SenderList")).as_array();
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
    return instance()->decode(two_batch, {status, std::move(headers), body});
}

json::array verdicts(const std::string& channel, const std::string& step, const std::string& recipients,
                     const std::string& config = acs3_config) {
    const auto r = instance(config)->validate(R"({"channel": ")" + channel + R"(", "step": )" + step +
                                              R"(, "recipients": )" + recipients + "}");
    INFO(r.error);
    REQUIRE(r.ok());
    return json::parse(r.json).at("verdicts").as_array();
}

json::object verdict(const std::string& channel, const std::string& step, const std::string& to,
                     const std::string& params = R"({"code": "1"})", const std::string& config = acs3_config) {
    const json::array v = verdicts(channel, step, R"([{"to": ")" + to + R"(", "params": )" + params + "}]", config);
    REQUIRE(v.size() == 1);
    return v[0].as_object();
}

std::string refusal_reason(const json::object& v, const std::string& field) {
    CHECK(v.at("ok") == false);
    CHECK(v.at("field") == field.c_str());
    return v.contains("reason") ? std::string(v.at("reason").as_string()) : std::string();
}

// `otp_step` with `extra` fields ("\"ttl\": 60") added.
std::string step_with(const std::string& extra) {
    return otp_step.substr(0, otp_step.size() - 1) + ", " + extra + "}";
}

core::plugin_call_result receipts(const std::string& body, const std::string& method = "POST") {
    return instance()->parse_receipt({method, "https://host.example/receipts/cams", {}, body}, now_ms);
}

} // namespace

// ---- manifest and configuration --------------------------------------------------------------

TEST_CASE("manifest: four chat channels, 1000 per call, 10 requests per second, pushed receipts", "[manifest]") {
    const core::plugin_manifest& m = plugin()->manifest();
    CHECK(m.name == "cams");
    CHECK(m.abi == "1.1");
    CHECK(m.channels == std::vector<std::string>{"whatsapp", "messenger", "instagram", "viber"});
    CHECK(m.max_recipients_per_call == 1000);
    CHECK(m.receipts == "push");
    CHECK(m.thread_safe);
    CHECK(m.transient_errors == std::vector<std::string>{"System.LimitControl", "Throttling", "Throttling.User",
                                                         "Throttling.Api", "InternalError", "ServiceUnavailable",
                                                         "SignatureNonceUsed"});
    CHECK(m.requests_per_second == 10);
    CHECK(m.recipients_per_second == 0);
}

TEST_CASE("config: unknown keys, missing required settings and bad values are refused by name", "[config]") {
    CHECK(refusal(base_config + R"(, "colour": "red"})") == "config.colour: is not a setting of the cams provider");
    CHECK(refusal(R"({"access_key_id": "AKID", "access_key_secret": "S", "from": "8613800000000"})") ==
          "config.cust_space_id: is required");
    CHECK(refusal(R"({"access_key_id": "AKID", "access_key_secret": "S", "cust_space_id": "c"})") ==
          "config.from: is required");
    CHECK(refusal(R"({"access_key_id": "AKID", "cust_space_id": "c", "from": "1"})") ==
          "config.access_key_secret: is required");
    CHECK(refusal(base_config + R"(, "signature": "v3"})") == "config.signature: must be \"acs3\" or \"v1\", got 'v3'");
    CHECK(refusal(base_config + R"(, "endpoint": "ftp://x"})") ==
          "config.endpoint: must start with http:// or https://, got 'ftp://x'");
    CHECK(refusal(base_config + R"(, "endpoint": "https://x/api"})") ==
          "config.endpoint: must not have a path (CAMS's RPC path is '/'), got 'https://x/api'");
    CHECK(refusal(R"({"access_key_id": "AKID", "access_key_secret": "", "cust_space_id": "c", "from": "1"})") ==
          "config.access_key_secret: must not be empty");
}

TEST_CASE("config: the secret never appears in messages", "[config]") {
    CHECK(refusal(base_config + R"(, "signature": 1})").find("TOPSECRET") == std::string::npos);
    const auto r = instance()->encode(batch("whatsapp", R"({"language": "en"})", two), now_ms);
    CHECK(r.error.find("TOPSECRET") == std::string::npos);
    const auto d = decode(R"({"Code": "SignatureDoesNotMatch", "Message": "bad"})", 400);
    CHECK(d.error.find("TOPSECRET") == std::string::npos);
}

// ---- encode ----------------------------------------------------------------------------------

TEST_CASE("encode: a WhatsApp batch is one ACS3-signed POST with every parameter in the query", "[encode]") {
    const std::string step = R"({"template_code": "744c4b5c79c9432497a075bdfca3d4c3", "template_name": "otp_v1",
        "language": "en_GB", "params": ["code", "name"], "payload": ["yes", "no"],
        "flow_action": {"FlowActionData": {"name": "n"}, "FlowToken": "kde1"},
        "product_action": {"ThumbnailProductRetailerId": "skk1", "Sections": [{"Title": "abcd", "ProductItems": [{"ProductRetailerId": "ksi3"}]}]},
        "task_id": "task-1", "fallback_id": "S01", "fallback_content": "Fallback SMS", "fallback_duration": 120,
        "fallback_rule": "sentFailed"})";
    const std::string recipients = R"([{"id": "r1", "to": "+8613900000001", "params": {"code": "111 111", "name": "Zoë & Co"}}])";
    const core::http_request request = encoded(*instance(), batch("whatsapp", step, recipients));
    CHECK(request.method == "POST");
    CHECK(request.url.rfind("https://cams.ap-southeast-1.aliyuncs.com/?", 0) == 0);
    CHECK(request.body.empty());

    const auto q = query_map(request);
    CHECK(q == std::map<std::string, std::string>{{"ChannelType", "whatsapp"},
                                                  {"CustSpaceId", "cams-8c8space"},
                                                  {"FallBackContent", "Fallback SMS"},
                                                  {"FallBackDuration", "120"},
                                                  {"FallBackId", "S01"},
                                                  {"FallBackRule", "sentFailed"},
                                                  {"From", "8613800000000"},
                                                  {"Language", "en_GB"},
                                                  {"SenderList", q.at("SenderList")},
                                                  {"TaskId", "task-1"},
                                                  {"TemplateCode", "744c4b5c79c9432497a075bdfca3d4c3"},
                                                  {"TemplateName", "otp_v1"}});
    const json::value senders = json::parse(q.at("SenderList"));
    CHECK(senders == json::parse(R"([{"To": "8613900000001", "TemplateParams": {"code": "111 111", "name": "Zoë & Co"},
        "Payload": ["yes", "no"], "FlowAction": {"FlowActionData": {"name": "n"}, "FlowToken": "kde1"},
        "ProductAction": {"ThumbnailProductRetailerId": "skk1", "Sections": [{"Title": "abcd", "ProductItems": [{"ProductRetailerId": "ksi3"}]}]}}])"));

    // The URL's query is the canonical one: sorted, RFC 3986 (%20, never '+').
    const std::string query = request.url.substr(request.url.find('?') + 1);
    CHECK(query == cams::canonical_query(query_of(request)));
    CHECK(query.find('+') == std::string::npos);
    CHECK(query.find("%20") != std::string::npos);

    CHECK(header(request, "host") == nullptr);  // the HTTP client writes Host from the URL
    CHECK(*header(request, "x-acs-action") == "SendChatappMassMessage");
    CHECK(*header(request, "x-acs-version") == "2020-06-06");
    CHECK(*header(request, "x-acs-date") == "2024-06-19T07:13:06Z");
    CHECK(*header(request, "x-acs-content-sha256") == sdk::hex(sdk::sha256("")));
    const std::string nonce = *header(request, "x-acs-signature-nonce");
    CHECK(nonce.size() == 32);

    std::vector<cams::parameter> headers{{"host", "cams.ap-southeast-1.aliyuncs.com"}};
    for (const auto& h : request.headers)
        if (h.name != "Authorization")
            headers.emplace_back(h.name, h.value);
    const cams::acs3_parts parts = cams::acs3_sign("POST", "/", query_of(request), headers, sdk::hex(sdk::sha256("")), "TOPSECRET");
    CHECK(*header(request, "Authorization") ==
          "ACS3-HMAC-SHA256 Credential=AKID,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
          "x-acs-signature-nonce;x-acs-version,Signature=" + parts.signature);
}

TEST_CASE("encode: the nonce is deterministic for a batch and a time, and differs otherwise", "[encode]") {
    const auto p = instance();
    const auto nonce = [&](const std::string& id, std::int64_t now) {
        return *header(encoded(*p, batch("whatsapp", otp_step, two, id), now), "x-acs-signature-nonce");
    };
    CHECK(nonce("b1", now_ms) == nonce("b1", now_ms));
    CHECK(nonce("b1", now_ms) != nonce("b1", now_ms + 1));
    CHECK(nonce("b1", now_ms) != nonce("b2", now_ms));
}

TEST_CASE("encode: signature v1 puts the RPC signature parameters and Signature in the query", "[encode]") {
    const core::http_request request = encoded(*instance(v1_config), two_batch);
    CHECK(request.url.rfind("http://127.0.0.1:8080/?", 0) == 0);
    CHECK(header(request, "Authorization") == nullptr);
    std::vector<cams::parameter> params = query_of(request);
    REQUIRE(params.back().first == "Signature");
    const std::string signature = params.back().second;
    params.pop_back();
    const auto q = query_map(request);
    CHECK(q.at("Format") == "JSON");
    CHECK(q.at("Version") == "2020-06-06");
    CHECK(q.at("Action") == "SendChatappMassMessage");
    CHECK(q.at("AccessKeyId") == "AKID");
    CHECK(q.at("SignatureMethod") == "HMAC-SHA1");
    CHECK(q.at("SignatureVersion") == "1.0");
    CHECK(q.at("Timestamp") == "2024-06-19T07:13:06Z");
    CHECK(q.at("SignatureNonce").size() == 32);
    CHECK(signature == cams::rpc_v1_signature("POST", params, "TOPSECRET"));
    const std::string query = request.url.substr(request.url.find('?') + 1);
    CHECK(query == cams::canonical_query(params) + "&Signature=" + sdk::percent_encode(signature));
}

TEST_CASE("encode: WhatsApp and Viber send numbers as digits, Messenger and Instagram send platform ids", "[encode]") {
    SECTION("whatsapp: a '+' on the configured sender is dropped, params become TemplateParams") {
        const auto p = instance(
            R"({"access_key_id": "AKID", "access_key_secret": "TOPSECRET", "cust_space_id": "cams-8c8space", "from": "+8613800000000",
                "parameters": "query"})");
        const core::http_request request = encoded(*p, two_batch);
        CHECK(query_map(request).at("From") == "8613800000000");
        CHECK(sender_list(request) == json::parse(R"([{"To": "8613900000001", "TemplateParams": {"code": "111111"}},
                                                     {"To": "8613900000002", "TemplateParams": {"code": "222222"}}])"));
    }
    SECTION("viber: Ttl, Label and Tag, and the step's from overrides the configured one") {
        const core::http_request request = encoded(
            *instance(),
            batch("viber", step_with(R"("from": "+6591234567", "ttl": 46, "label": "promotion", "tag": "Tag")"), two));
        const auto q = query_map(request);
        CHECK(q.at("ChannelType") == "viber");
        CHECK(q.at("From") == "6591234567");
        CHECK(q.at("Ttl") == "46");
        CHECK(q.at("Label") == "promotion");
        CHECK(q.at("Tag") == "Tag");
        CHECK(sender_list(request)[0].at("To") == "8613900000001");
    }
    SECTION("messenger: a page-scoped id as is, the Page ID as From") {
        const core::http_request request =
            encoded(*instance(), batch("messenger", R"({"template_name": "welcome", "language": "en", "from": "104857600123"})",
                                       R"([{"id": "r1", "to": "6543210987654321"}])"));
        const auto q = query_map(request);
        CHECK(q.at("ChannelType") == "messenger");
        CHECK(q.at("From") == "104857600123");
        CHECK(q.count("TemplateCode") == 0);
        CHECK(q.at("TemplateName") == "welcome");
        CHECK(sender_list(request) == json::parse(R"([{"To": "6543210987654321"}])"));
    }
    SECTION("instagram: an Instagram-scoped id as is") {
        const core::http_request request =
            encoded(*instance(), batch("instagram", R"({"template_code": "t1", "language": "id", "from": "17841400000000"})",
                                       R"([{"id": "r1", "to": "IGSID9876543210"}])"));
        CHECK(query_map(request).at("ChannelType") == "instagram");
        CHECK(sender_list(request) == json::parse(R"([{"To": "IGSID9876543210"}])"));
    }
}

TEST_CASE("encode: a batch of more than 1000, or with an invalid recipient or step, is refused whole", "[encode]") {
    std::string recipients = "[";
    for (int i = 0; i < 1001; ++i)
        recipients += (i ? "," : "") + std::string(R"({"id": "r)") + std::to_string(i) + R"(", "to": "+86139)" +
                      std::to_string(10000000 + i) + R"(", "params": {"code": "1"}})";
    auto r = instance()->encode(batch("whatsapp", otp_step, recipients + "]"), now_ms);
    CHECK(r.status == SB_STATUS_PERMANENT);
    CHECK(r.error == "batch b1 has 1001 recipients; CAMS takes at most 1000 per call");

    r = instance()->encode(batch("whatsapp", otp_step, R"([{"id": "r1", "to": "8613900000001", "params": {"code": "1"}}])"), now_ms);
    CHECK(r.status == SB_STATUS_PERMANENT);
    CHECK(r.error == "batch b1: recipients[0].to: must be E.164 and start with '+' and the country code, got '8613900000001'");

    r = instance()->encode(batch("whatsapp", R"({"template_code": "t"})", two), now_ms);
    CHECK(r.status == SB_STATUS_PERMANENT);
    CHECK(r.error == "batch b1: step.language: is required (the template's language code, such as en or en_GB)");
}

// ---- decode ----------------------------------------------------------------------------------

TEST_CASE("decode: Code OK accepts every recipient under TaskId/To, the TaskId being the batch id", "[decode]") {
    const auto r = decode(R"({"AccessDeniedDetail": "None", "RequestId": "90E63D28", "Message": "User not authorized to operate on the specified resource.",
                              "GroupMessageId": "8900000100021234", "Code": "OK"})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1") == json::parse(R"({"id": "r1", "result": "accepted", "message_id": "b1/8613900000001"})"));
    CHECK(outcome_of(r, "r2").at("message_id") == "b1/8613900000002");
}

TEST_CASE("decode: Code OK without GroupMessageId still accepts every recipient: their ids come from the TaskId", "[decode]") {
    const auto r = decode(R"({"RequestId": "x", "Code": "OK"})");
    REQUIRE(r.ok());
    CHECK(outcome_of(r, "r1") == json::parse(R"({"id": "r1", "result": "accepted", "message_id": "b1/8613900000001"})"));
    CHECK(outcome_of(r, "r2").at("result") == "accepted");
}

TEST_CASE("message ids: without an answer the plugin names the ids its outcomes would carry (extension)", "[decode]") {
    const core::plugin_call_result named = instance()->message_ids(two_batch);
    INFO(named.error);
    REQUIRE(named.ok());
    CHECK(json::parse(named.json) == json::parse(R"({"message_ids": [{"id": "r1", "message_id": "b1/8613900000001"},
                                                                     {"id": "r2", "message_id": "b1/8613900000002"}]})"));
}

// ---- correlation: an outcome and the receipt CAMS later pushes for it share one message_id -----

namespace {

// What CAMS pushes for a call it took: one ChatAppStatus per SenderList item, To as the call wrote
// it, the call's TaskId echoed, and a MessageId the send never saw.
std::string receipts_for(const core::http_request& call, const std::string& status) {
    const std::map<std::string, std::string> q = query_map(call);
    const json::value senders = json::parse(q.at("SenderList"));
    json::array out;
    int n = 0;
    for (const json::value& sender : senders.as_array())
        out.push_back({{"MessageId", "cams-msg-" + std::to_string(++n)}, {"To", sender.at("To")}, {"Status", status},
                       {"TaskId", q.at("TaskId")}, {"Timestamp", now_ms}});
    return json::serialize(out);
}

// The message_id of each outcome, and of each receipt, by the recipient's `to` as the host has it.
std::map<std::string, std::string> outcome_ids(const core::plugin_call_result& decoded, const std::string& batch_json) {
    std::map<std::string, std::string> by_id;
    const json::value outcomes_doc = json::parse(decoded.json);
    for (const json::value& o : outcomes_doc.at("outcomes").as_array())
        by_id[std::string(o.at("id").as_string())] = std::string(o.at("message_id").as_string());
    std::map<std::string, std::string> out;
    const json::value batch_doc = json::parse(batch_json);
    for (const json::value& r : batch_doc.at("recipients").as_array())
        out[std::string(r.at("to").as_string())] = by_id.at(std::string(r.at("id").as_string()));
    return out;
}

std::map<std::string, std::string> receipt_ids(const core::plugin_call_result& parsed) {
    std::map<std::string, std::string> out;
    const json::value receipts_doc = json::parse(parsed.json);
    for (const json::value& r : receipts_doc.at("receipts").as_array())
        out[std::string(r.at("to").as_string())] = std::string(r.at("message_id").as_string());
    return out;
}

} // namespace

TEST_CASE("correlation: every recipient's outcome and its later receipt carry the same message_id", "[correlation]") {
    const auto p = instance();
    const auto check = [&](const std::string& batch_json, const std::string& expected_task_id) {
        INFO(batch_json);
        const core::http_request call = encoded(*p, batch_json);
        CHECK(query_map(call).at("TaskId") == expected_task_id);
        const core::plugin_call_result decoded =
            p->decode(batch_json, {200, {}, R"({"RequestId": "x", "Code": "OK", "GroupMessageId": "890001"})"});
        REQUIRE(decoded.ok());
        for (const char* status : {"Delivered", "Failed"}) {
            const core::plugin_call_result parsed = receipts(receipts_for(call, status));
            INFO(parsed.error);
            REQUIRE(parsed.ok());
            CHECK(receipt_ids(parsed) == outcome_ids(decoded, batch_json));
        }
    };
    SECTION("whatsapp, the TaskId being the host's batch id") {
        check(batch("whatsapp", otp_step, two, "job_00c0ffee00c0ffee-0-1"), "job_00c0ffee00c0ffee-0-1");
    }
    SECTION("a retry of the same recipients is another batch, so its receipts name another TaskId") {
        check(batch("whatsapp", otp_step, two, "job_00c0ffee00c0ffee-0-2"), "job_00c0ffee00c0ffee-0-2");
    }
    SECTION("messenger, To being the page-scoped id") {
        check(batch("messenger", R"({"template_name": "welcome", "language": "en", "from": "104857600123"})",
                    R"([{"id": "r1", "to": "6543210987654321"}, {"id": "r2", "to": "PSID12345"}])"),
              "b1");
    }
    SECTION("a step's task_id is the TaskId") {
        check(batch("viber", step_with(R"("task_id": "campaign-7")"), two), "campaign-7");
    }
    SECTION("a batch id CAMS might not take is sent as a digest of it") {
        const std::string odd = "batch #1/x";  // a space, '#' and '/'
        check(batch("whatsapp", otp_step, two, odd), "sb-" + sdk::hex(sdk::sha256(odd)).substr(0, 32));
    }
}

TEST_CASE("decode: flow control, throttling and server errors are transient with the vendor's hint", "[decode]") {
    SECTION("System.LimitControl with x-acs-retry-after (milliseconds)") {
        const auto r = decode(R"({"RequestId": "R1", "Code": "System.LimitControl", "Message": "The system is under flow control."})",
                              400, {{"x-acs-retry-after", "1500"}});
        CHECK(r.status == SB_STATUS_TRANSIENT);
        CHECK(r.retry_after_ms == 1500);
        CHECK(r.error == "CAMS answered HTTP 400 Code System.LimitControl: The system is under flow control. (RequestId R1)");
    }
    SECTION("Throttling.User without a hint") {
        const auto r = decode(R"({"Code": "Throttling.User", "Message": "Request was denied due to user flow control."})", 400);
        CHECK(r.status == SB_STATUS_TRANSIENT);
        CHECK(r.retry_after_ms == -1);
    }
    SECTION("any error carrying x-acs-retry-after") {
        const auto r = decode(R"({"Code": "Some.NewCode", "Message": "?"})", 400, {{"X-Acs-Retry-After", "250"}});
        CHECK(r.status == SB_STATUS_TRANSIENT);
        CHECK(r.retry_after_ms == 250);
    }
    SECTION("InternalError and ServiceUnavailable") {
        CHECK(decode(R"({"Code": "InternalError", "Message": "x"})", 500).status == SB_STATUS_TRANSIENT);
        CHECK(decode(R"({"Code": "ServiceUnavailable", "Message": "x"})", 503).status == SB_STATUS_TRANSIENT);
    }
    SECTION("HTTP 429 and 5xx without JSON, with Retry-After in seconds") {
        const auto r = decode("Too Many Requests", 429, {{"Retry-After", "2"}});
        CHECK(r.status == SB_STATUS_TRANSIENT);
        CHECK(r.retry_after_ms == 2000);
        CHECK(decode("<html>bad gateway</html>", 502).status == SB_STATUS_TRANSIENT);
    }
    SECTION("a 200 body that is not JSON") {
        const auto r = decode("<html><body>gateway</body></html>");
        CHECK(r.status == SB_STATUS_TRANSIENT);
        CHECK(r.error == "CAMS answered HTTP 200, and the body is not a JSON object: <html><body>gateway</body></html>");
    }
}

TEST_CASE("decode: refused credentials are an authentication failure", "[decode]") {
    auto r = decode(R"({"RequestId": "R", "Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."})", 400);
    CHECK(r.status == SB_STATUS_AUTHENTICATION);
    CHECK(r.error.find("check access_key_id and access_key_secret") != std::string::npos);
    r = decode(R"({"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."})", 404);
    CHECK(r.status == SB_STATUS_AUTHENTICATION);
}

TEST_CASE("decode: parameter, permission and template errors are permanent", "[decode]") {
    for (const char* code : {"InvalidParameter.PhoneNumberError", "InvalidParameter.FromOnlyNumeric", "Ram.PermissionDeny",
                             "Product.Unsubscript", "Forbidden.RAM", "MissingParameter", "DetailError.TemplateNotExist",
                             "Unknown.ResourceOwnerId"}) {
        INFO(code);
        const auto r = decode(R"({"RequestId": "R", "Code": ")" + std::string(code) + R"(", "Message": "m"})", 400);
        CHECK(r.status == SB_STATUS_PERMANENT);
        CHECK(r.error == "CAMS answered HTTP 400 Code " + std::string(code) + ": m (RequestId R)");
    }
    CHECK(decode("not json", 404).status == SB_STATUS_PERMANENT);
}

// ---- validation ------------------------------------------------------------------------------

TEST_CASE("validate: a well-formed step and recipients pass on every channel", "[validate]") {
    CHECK(verdict("whatsapp", otp_step, "+8613900000001") == json::parse(R"({"ok": true})"));
    CHECK(verdict("viber", step_with(R"("ttl": 30, "label": "transaction", "tag": "t")"), "+6591234567") ==
          json::parse(R"({"ok": true})"));
    CHECK(verdict("messenger", step_with(R"("from": "104857600123")"), "6543210987654321") == json::parse(R"({"ok": true})"));
    CHECK(verdict("instagram", step_with(R"("from": "17841400000000")"), "IGSID123") == json::parse(R"({"ok": true})"));
}

TEST_CASE("validate: each recipient gets its own verdict on to and params", "[validate]") {
    const json::array v = verdicts("whatsapp", otp_step, R"([{"to": "+8613900000001", "params": {"code": "1"}},
        {"to": "8613900000001", "params": {"code": "1"}}, {"to": "+86139000000x1", "params": {"code": "1"}},
        {"to": "+123", "params": {"code": "1"}}, {"to": "+0613900000001", "params": {"code": "1"}},
        {"to": "", "params": {"code": "1"}},
        {"to": "+8613900000001", "params": {}}, {"to": "+8613900000001", "params": {"code": [1]}},
        {"to": "+8613900000001", "params": {"code": 1.5}}])");
    REQUIRE(v.size() == 9);
    CHECK(v[0] == json::parse(R"({"ok": true})"));
    CHECK(refusal_reason(v[1].as_object(), "to") == "must be E.164 and start with '+' and the country code, got '8613900000001'");
    CHECK(refusal_reason(v[2].as_object(), "to") == "must be '+' followed by digits only, got '+86139000000x1'");
    CHECK(refusal_reason(v[3].as_object(), "to") == "must have 7 to 15 digits after '+', got 3 in '+123'");
    CHECK(refusal_reason(v[4].as_object(), "to") == "must not start with +0 (no country code does), got '+0613900000001'");
    CHECK(refusal_reason(v[5].as_object(), "to") == "is empty; expected E.164 such as +8613900000000");
    CHECK(refusal_reason(v[6].as_object(), "params.code") == "is required by step.params");
    CHECK(refusal_reason(v[7].as_object(), "params.code") == "must be a string or a number, not array");
    CHECK(refusal_reason(v[8].as_object(), "params.code") == "must be a string or an integer; write decimals as strings");
}

TEST_CASE("validate: Messenger and Instagram recipients are platform ids, not phone numbers", "[validate]") {
    const std::string step = step_with(R"("from": "104857600123")");
    CHECK(refusal_reason(verdict("messenger", step, "+8613900000001"), "to") ==
          "is a phone number, but messenger needs a page-scoped user id (PSID), got '+8613900000001'");
    CHECK(refusal_reason(verdict("instagram", step, "ig user"), "to") ==
          "must be an Instagram-scoped user id of letters and digits only, got 'ig user'");
    CHECK(refusal_reason(verdict("messenger", step, ""), "to") == "is empty; messenger needs a page-scoped user id (PSID)");
    CHECK(refusal_reason(verdict("messenger", step, std::string(65, '1')), "to") ==
          "is 65 characters; a page-scoped user id (PSID) has at most 64");
}

TEST_CASE("validate: a step error gives every recipient the verdict naming the step's field", "[validate]") {
    const auto step_reason = [](const std::string& channel, const std::string& step, const std::string& field) {
        const json::array v = verdicts(channel, step, R"([{"to": "+8613900000001", "params": {"code": "1"}},
                                                          {"to": "+8613900000002", "params": {"code": "2"}}])");
        REQUIRE(v.size() == 2);
        CHECK(v[0] == v[1]);
        return refusal_reason(v[0].as_object(), field);
    };
    CHECK(step_reason("sms", otp_step, "channel") == "must be whatsapp, messenger, instagram or viber, got 'sms'");
    CHECK(step_reason("whatsapp", R"({"template_code": "t"})", "step.language") ==
          "is required (the template's language code, such as en or en_GB)");
    CHECK(step_reason("whatsapp", R"({"template_code": "t", "language": "en gb"})", "step.language") ==
          "must be a language code such as en, id or en_GB, got 'en gb'");
    CHECK(step_reason("whatsapp", R"({"language": "en"})", "step.template_code") ==
          "is required unless step.template_name is given");
    CHECK(step_reason("whatsapp", R"({"language": "en", "template_name": ""})", "step.template_name") ==
          "must not be empty when given");
    CHECK(step_reason("whatsapp", step_with(R"("params": "code")"), "step.params") == "must be an array, not string");
    CHECK(step_reason("whatsapp", R"({"language": "en", "template_code": "t", "params": ["a", "a"]})", "step.params[1]") ==
          "names 'a' twice");
    CHECK(step_reason("whatsapp", step_with(R"("from": "+86 138")"), "step.from") ==
          "must be the sender's number in digits with its country code (CAMS: InvalidParameter.FromOnlyNumeric), got '+86 138'");
    CHECK(step_reason("whatsapp", step_with(R"("from": "12345")"), "step.from") == "must have 7 to 15 digits, got 5 in '12345'");
    CHECK(step_reason("whatsapp", step_with(R"("payload": ["a", 1])"), "step.payload[1]") ==
          "must be a string (a button's payload), not int64");
    CHECK(step_reason("whatsapp", step_with(R"("flow_action": {"FlowToken": "t", "Other": 1})"), "step.flow_action.Other") ==
          "is not a FlowAction field (FlowActionData, FlowToken)");
    CHECK(step_reason("whatsapp", step_with(R"("flow_action": {"FlowActionData": []})"), "step.flow_action.FlowActionData") ==
          "must be an object, not array");
    CHECK(step_reason("whatsapp", step_with(R"("fallback_duration": 59)"), "step.fallback_duration") ==
          "must be 60 to 43200 seconds, got 59");
    CHECK(step_reason("whatsapp", step_with(R"("fallback_duration": 43201)"), "step.fallback_duration") ==
          "must be 60 to 43200 seconds, got 43201");
    CHECK(step_reason("whatsapp", step_with(R"("fallback_rule": "always")"), "step.fallback_rule") ==
          "must be \"undelivered\" or \"sentFailed\", got 'always'");
    CHECK(step_reason("whatsapp", step_with(R"("ttl": 60)"), "step.ttl") == "applies to viber only, not to whatsapp");
    CHECK(step_reason("whatsapp", step_with(R"("label": "promotion")"), "step.label") == "applies to viber only, not to whatsapp");
    CHECK(step_reason("whatsapp", step_with(R"("tag": "x")"), "step.tag") == "applies to viber only, not to whatsapp");
    CHECK(step_reason("viber", step_with(R"("ttl": 29)"), "step.ttl") == "must be 30 to 1209600 seconds, got 29");
    CHECK(step_reason("viber", step_with(R"("ttl": 1209601)"), "step.ttl") == "must be 30 to 1209600 seconds, got 1209601");
    CHECK(step_reason("viber", step_with(R"("label": "pormotion")"), "step.label") ==
          "must be \"promotion\" or \"transaction\", got 'pormotion'");
    CHECK(step_reason("viber", step_with(R"("product_action": {"Sections": []})"), "step.product_action") ==
          "applies to whatsapp only, not to viber");
    CHECK(step_reason("messenger", step_with(R"("from": "+104857600123")"), "step.from") ==
          "must be the Page ID (letters and digits, at most 64), got '+104857600123'");
    CHECK(step_reason("instagram", step_with(R"("from": "")"), "step.from") == "must not be empty");
    // The configured sender is checked against the channel too, and named as configuration.
    const std::string plus_config =
        R"({"access_key_id": "AKID", "access_key_secret": "S", "cust_space_id": "c", "from": "+8613800000000"})";
    CHECK(refusal_reason(verdict("messenger", otp_step, "6543210987654321", R"({"code": "1"})", plus_config),
                         "config.from") == "must be the Page ID (letters and digits, at most 64), got '+8613800000000'");
}

TEST_CASE("validate: product_action holds at most 10 sections and 30 products", "[validate]") {
    const auto sections = [](int count, int products_each) {
        std::string out = "[";
        for (int s = 0; s < count; ++s) {
            out += (s ? "," : "") + std::string(R"({"Title": "s", "ProductItems": [)");
            for (int p = 0; p < products_each; ++p)
                out += (p ? "," : "") + std::string(R"({"ProductRetailerId": "p)") + std::to_string(p) + "\"}";
            out += "]}";
        }
        return out + "]";
    };
    const auto reason = [](const std::string& product_action, const std::string& field) {
        return refusal_reason(verdict("whatsapp", step_with(R"("product_action": )" + product_action), "+8613900000001"),
                              field);
    };
    CHECK(verdict("whatsapp", step_with(R"("product_action": {"Sections": )" + sections(10, 3) + "}"), "+8613900000001")
              .at("ok") == true);
    CHECK(reason(R"({"Sections": )" + sections(11, 1) + "}", "step.product_action.Sections") ==
          "has 11 sections; CAMS takes at most 10");
    CHECK(reason(R"({"Sections": )" + sections(4, 8) + "}", "step.product_action.Sections") ==
          "hold 32 products in all; CAMS takes at most 30");
    CHECK(reason(R"({"Sections": []})", "step.product_action.Sections") == "must hold at least one section");
    CHECK(reason(R"({"Sections": [{"Title": "", "ProductItems": [{"ProductRetailerId": "p"}]}]})",
                 "step.product_action.Sections[0].Title") == "must not be empty");
    CHECK(reason(R"({"Sections": [{"Title": "t", "ProductItems": [{}]}]})",
                 "step.product_action.Sections[0].ProductItems[0].ProductRetailerId") == "is required");
    CHECK(reason(R"({"Sections": [{"Title": "t", "ProductItems": []}]})",
                 "step.product_action.Sections[0].ProductItems") == "must hold at least one product");
    CHECK(reason(R"({"Catalog": 1, "Sections": []})", "step.product_action.Catalog") ==
          "is not a ProductAction field (ThumbnailProductRetailerId, Sections)");
}

// ---- receipts --------------------------------------------------------------------------------

TEST_CASE("receipts: each Status maps to a delivery state, and CAMS gets 200 {\"code\":\"ok\"}", "[receipts]") {
    const auto r = receipts(R"J([
        {"MessageId": "m1", "To": "8613900000001", "Status": "Sent", "Timestamp": 1691043638000, "TaskId": "t-1"},
        {"MessageId": "m2", "To": "8613900000002", "Status": "Delivered", "Timestamp": 1691043639000},
        {"MessageId": "m3", "To": "8613900000003", "Status": "Read", "Timestamp": 1691043640000},
        {"MessageId": "m4", "To": "8613900000004", "Status": "Failed", "ErrorCode": "131026",
         "ErrorDescription": "131026:Receiver is incapable of receiving this message(Message Undeliverable.)", "Timestamp": 1691043641000},
        {"MessageId": "m5", "To": "6543210987654321", "Status": "unsubscribe"},
        {"MessageId": "m6", "To": "6543210987654321", "Status": "Deleted"}])J");
    INFO(r.error);
    REQUIRE(r.ok());
    const json::value doc = json::parse(r.json);
    CHECK(doc.at("reply") == json::parse(R"({"status": 200, "content_type": "application/json", "body": "{\"code\":\"ok\"}"})"));
    const json::array& items = doc.at("receipts").as_array();
    REQUIRE(items.size() == 5);
    // With a TaskId the message_id is "<TaskId>/<To as CAMS wrote it>", as the send's outcomes name it;
    // without one (CAMS always sends one), the MessageId.
    CHECK(items[0] == json::parse(R"({"message_id": "t-1/8613900000001", "status": "pending", "to": "+8613900000001", "at_unix_ms": 1691043638000})"));
    CHECK(items[1].at("status") == "delivered");
    CHECK(items[2].at("status") == "delivered");
    CHECK(items[3] == json::parse(R"J({"message_id": "m4", "status": "undelivered", "to": "+8613900000004", "code": "131026",
        "reason": "131026:Receiver is incapable of receiving this message(Message Undeliverable.)", "at_unix_ms": 1691043641000})J"));
    CHECK(items[4] == json::parse(R"({"message_id": "m6", "status": "pending", "to": "6543210987654321",
                                      "reason": "unrecognised Status 'Deleted'"})"));
}

TEST_CASE("receipts: a body that is not a JSON array, or an item without Status, is refused", "[receipts]") {
    auto r = receipts(R"({"MessageId": "m1", "Status": "Delivered"})");
    CHECK(r.status == SB_STATUS_PERMANENT);
    CHECK(r.error == R"(a CAMS receipt callback is a JSON array of status reports; got {"MessageId": "m1", "Status": "Delivered"})");
    CHECK(receipts("not json").status == SB_STATUS_PERMANENT);
    r = receipts(R"([{"MessageId": "m1"}])");
    CHECK(r.status == SB_STATUS_PERMANENT);
    CHECK(r.error == "receipts[0].Status: is required");
    CHECK(receipts("[]", "GET").status == SB_STATUS_PERMANENT);
    CHECK(receipts("[]").ok());
}

TEST_CASE("encode: parameters \"form\" moves the business parameters into a signed form body", "[encode]") {
    SECTION("acs3: content-type and the body's hash are signed, the URL has no query") {
        const core::http_request request = encoded(*instance(base_config + R"(, "parameters": "form"})"), two_batch);
        CHECK(request.url == "https://cams.ap-southeast-1.aliyuncs.com/");
        CHECK(*header(request, "content-type") == "application/x-www-form-urlencoded");
        CHECK(*header(request, "x-acs-content-sha256") == sdk::hex(sdk::sha256(request.body)));
        CHECK(request.body.rfind("ChannelType=whatsapp&CustSpaceId=cams-8c8space&From=8613800000000&Language=en&SenderList=%5B", 0) == 0);
        CHECK(header(request, "Authorization")->find("SignedHeaders=content-type;host;x-acs-action;") != std::string::npos);
    }
    SECTION("v1: the signature parameters stay in the query and sign the form's parameters too") {
        const core::http_request request =
            encoded(*instance(base_config + R"(, "parameters": "form", "signature": "v1"})"), two_batch);
        std::vector<cams::parameter> params = query_of(request);
        REQUIRE(params.back().first == "Signature");
        const std::string signature = params.back().second;
        params.pop_back();
        CHECK(query_map(request).count("SenderList") == 0);
        CHECK(request.body.find("SenderList=") != std::string::npos);
        params.insert(params.end(), {{"ChannelType", "whatsapp"}, {"CustSpaceId", "cams-8c8space"}, {"From", "8613800000000"},
                                     {"Language", "en"}, {"TemplateCode", "744c4b5c79c9432497a075bdfca3d4c3"}, {"TaskId", "b1"},
                                     {"SenderList", R"([{"To":"8613900000001","TemplateParams":{"code":"111111"}},{"To":"8613900000002","TemplateParams":{"code":"222222"}}])"}});
        CHECK(signature == cams::rpc_v1_signature("POST", params, "TOPSECRET"));
    }
    CHECK(refusal(base_config + R"(, "parameters": "json"})") == "config.parameters: must be \"query\" or \"form\", got 'json'");
}

TEST_CASE("encode: by default a full batch of 1000 goes in a form body, under a request line any server takes",
          "[encode]") {
    std::string recipients = "[";
    for (int i = 0; i < 1000; ++i)
        recipients += (i ? "," : "") + std::string(R"({"id": "r)") + std::to_string(i) + R"(", "to": "+86139)" +
                      std::to_string(10000000 + i) + R"(", "params": {"code": "123456"}})";
    recipients += "]";
    const core::http_request request = encoded(*instance(base_config + "}"), batch("whatsapp", otp_step, recipients));
    // With every parameter in the URL it was a 94 KB request line: 414 from a standard server.
    CHECK(request.url == "https://cams.ap-southeast-1.aliyuncs.com/");
    CHECK(*header(request, "content-type") == "application/x-www-form-urlencoded");
    CHECK(request.body.find("SenderList=") != std::string::npos);
    CHECK(request.body.size() > 50'000);
}
