// smn-simulator as a separate process on loopback, fed with requests the plugin encodes (and some
// crafted by hand, signed with the vector-checked signer, to break one rule each), over the
// product's own HTTP client.
#include "child_process.hpp"
#include "fetch.hpp"
#include "smn_signature.hpp"

#include <switchboard/core/plugin.hpp>
#include <switchboard/sdk/clock.hpp>
#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>

using namespace switchboard;
using namespace switchboard::testing;
namespace json = boost::json;

namespace {

const std::string template_id = "1dd49958037a47e2bd2313ed04628638";

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::shared_ptr<core::plugin> plugin() {
    static const auto loaded = core::plugin::load(std::filesystem::path(SWITCHBOARD_PLUGIN_DIR) / "smn.so");
    return loaded;
}

struct simulator {
    std::unique_ptr<child_process> process;
    std::string url;

    simulator() {
        process = std::make_unique<child_process>(std::vector<std::string>{
            SMN_SIMULATOR, "--listen", "127.0.0.1:0", "--receipt-delay-ms", "0", "--access-key-id", "AKID",
            "--secret-access-key", "SECRET", "--project-id", "pid", "--auth-token", "TOKEN"});
        url = wait_for_listening(*process);
    }

    std::unique_ptr<core::provider_instance> instance(const std::string& secret = "SECRET",
                                                      const std::string& project = "pid") const {
        return plugin()->create_instance("smn-sim", R"({"endpoint": ")" + url + R"(", "project_id": ")" + project +
                                                        R"(", "access_key_id": "AKID", "secret_access_key": ")" +
                                                        secret + R"(", "sign_id": "sign-1"})");
    }

    void faults(const std::string& settings) const { fetch_json("POST", url + "/_simulator/faults", settings); }

    json::object last_record() const {
        const json::value calls = fetch_json("GET", url + "/_simulator/calls");
        return calls.as_array().back().as_object();
    }

    // A request signed by hand: POST or GET `path` with `body`, as of `at_ms`.
    core::http_response signed_call(const std::string& method, const std::string& path, const std::string& body,
                                    std::int64_t at_ms = now_ms(), const std::string& secret = "SECRET") const {
        const std::string host = url.substr(url.find("://") + 3);
        smn::signing_input input{method, path.substr(0, path.find('?')), {},
                                 {{"Content-Type", "application/json"},
                                  {"Host", host},
                                  {"X-Project-Id", "pid"},
                                  {"X-Sdk-Date", sdk::utc_compact(at_ms)}},
                                 body};
        if (path.find('?') != std::string::npos) {
            std::string rest = path.substr(path.find('?') + 1);
            while (!rest.empty()) {
                const std::string pair = rest.substr(0, rest.find('&'));
                input.query.emplace_back(pair.substr(0, pair.find('=')), pair.substr(pair.find('=') + 1));
                rest = rest.find('&') == std::string::npos ? "" : rest.substr(rest.find('&') + 1);
            }
        }
        const core::http_result r = core::fetch({method, url + path,
                                                 {{"Content-Type", "application/json"},
                                                  {"X-Project-Id", "pid"},
                                                  {"X-Sdk-Date", sdk::utc_compact(at_ms)},
                                                  {"Authorization", smn::authorization(input, "AKID", secret)}},
                                                 body});
        REQUIRE(r.ok());
        return r.response;
    }
};

std::string batch(const std::vector<std::string>& numbers) {
    std::string recipients;
    for (std::size_t i = 0; i < numbers.size(); ++i)
        recipients += (i ? "," : "") + std::string(R"({"id": "r)") + std::to_string(i + 1) + R"(", "to": ")" +
                      numbers[i] + R"("})";
    return R"({"id": "b1", "job_id": "j1", "channel": "sms", "step": {"template": ")" + template_id +
           R"("}, "recipients": [)" + recipients + "]}";
}

// Encodes `batch_json` with the plugin, sends it to the simulator, and decodes the answer.
core::plugin_call_result send(const core::provider_instance& p, const std::string& batch_json,
                              std::int64_t at_ms = now_ms()) {
    const core::plugin_call_result encoded = p.encode(batch_json, at_ms);
    INFO(encoded.error);
    REQUIRE(encoded.ok());
    const core::http_result answer = core::fetch(*encoded.request);
    REQUIRE(answer.ok());
    return p.decode(batch_json, answer.response);
}

json::array outcomes(const core::plugin_call_result& r) {
    INFO(r.error);
    REQUIRE(r.ok());
    return json::parse(r.json).at("outcomes").as_array();
}

json::object body_of(const core::http_response& r) { return json::parse(r.body).as_object(); }

std::string publish_body(const json::array& endpoints) {
    return json::serialize(json::object{{"sms_template_id", template_id}, {"endpoints", endpoints}, {"sign_id", "s"}});
}

const std::string promotion = "/v2/pid/notifications/sms/promotion";

} // namespace

TEST_CASE("smn simulator: plugin-encoded requests are accepted with message ids", "[simulator]") {
    simulator sim;
    const json::array o = outcomes(send(*sim.instance(), batch({"+8613900000001", "+8613900000002"})));
    REQUIRE(o.size() == 2);
    for (const json::value& item : o) {
        CHECK(item.at("result") == "accepted");
        CHECK(item.at("message_id").as_string().size() == 32);
    }
    CHECK(o[0].at("message_id") != o[1].at("message_id"));
    const json::object record = sim.last_record();
    CHECK(record.at("action") == "PromotionSmsPublish");
    CHECK(record.at("auth_ok") == true);
    CHECK(record.at("count") == 2);
    CHECK(record.at("numbers") == json::array{"+8613900000001", "+8613900000002"});
    CHECK(record.at("accepted") == json::array{"+8613900000001", "+8613900000002"});
}

TEST_CASE("smn simulator: a block-listed number is refused with SMN.0087, the rest accepted", "[simulator]") {
    simulator sim;
    sim.faults(R"({"block_list": ["+8613900000002"]})");
    const json::array o = outcomes(send(*sim.instance(), batch({"+8613900000001", "+8613900000002"})));
    CHECK(o[0].at("result") == "accepted");
    CHECK(o[1].at("result") == "rejected");
    CHECK(o[1].at("code") == "SMN.0087");
    CHECK(o[1].at("reason") == "Fail send this message.");
    CHECK(sim.last_record().at("accepted") == json::array{"+8613900000001"});
}

TEST_CASE("smn simulator: a signature by the wrong secret is an authentication failure", "[simulator]") {
    simulator sim;
    const core::plugin_call_result r = send(*sim.instance("WRONG"), batch({"+8613900000001"}));
    CHECK(r.status == SB_STATUS_AUTHENTICATION);
    CHECK_THAT(r.error, Catch::StartsWith("SMN answered HTTP 401 APIGW.0301: Incorrect IAM authentication information: "
                                          "signature mismatch"));
    CHECK_THAT(r.error, !Catch::Contains("WRONG"));
    const json::object record = sim.last_record();
    CHECK(record.at("auth_ok") == false);
    CHECK(record.at("auth_problem") == "signature mismatch");
}

TEST_CASE("smn simulator: X-Sdk-Date more than 15 minutes off is refused", "[simulator]") {
    simulator sim;
    CHECK(send(*sim.instance(), batch({"+8613900000001"}), now_ms() - 16 * 60 * 1000).status == SB_STATUS_AUTHENTICATION);
    CHECK(sim.last_record().at("auth_problem") == "X-Sdk-Date is more than 15 minutes off");
    CHECK(send(*sim.instance(), batch({"+8613900000001"}), now_ms() - 14 * 60 * 1000).ok());
}

TEST_CASE("smn simulator: the vendor's throttling is transient for the plugin", "[simulator]") {
    simulator sim;
    sim.faults(R"({"vendor_error": 1})");
    const core::plugin_call_result r = send(*sim.instance(), batch({"+8613900000001"}));
    CHECK(r.status == SB_STATUS_TRANSIENT);
    CHECK(r.error == "SMN answered HTTP 429 APIGW.0308: The throttling threshold has been reached");
}

TEST_CASE("smn simulator: a wrong project id is refused for good", "[simulator]") {
    simulator sim;
    const core::plugin_call_result r = send(*sim.instance("SECRET", "other"), batch({"+8613900000001"}));
    CHECK(r.status == SB_STATUS_PERMANENT);
    CHECK(r.error == "SMN answered HTTP 400 SMN.0001: Parameter: project_id is invalid.");
}

TEST_CASE("smn simulator and plugin agree on receipts: accepted numbers come back delivered", "[simulator]") {
    simulator sim;
    const std::int64_t since = now_ms() - 1000;
    const json::array o = outcomes(send(*sim.instance(), batch({"+8613900000001", "+8613900000002"})));
    const std::string id1(o[0].at("message_id").as_string());
    // A message of another batch shows up in the report list and is left out.
    outcomes(send(*sim.instance(), batch({"+8613900000003"})));

    const auto p = sim.instance();
    const std::string query = R"({"message_ids": [")" + id1 + R"("], "since_unix_ms": )" + std::to_string(since) + "}";
    const auto encoded = p->encode_receipt_query(query, now_ms());
    REQUIRE(encoded.ok());
    const core::http_result answer = core::fetch(*encoded.request);
    REQUIRE(answer.ok());
    CHECK(answer.response.status == 200);
    CHECK(body_of(answer.response).at("count") == 3);
    CHECK(sim.last_record().at("auth_ok") == true);
    const auto decoded = p->decode_receipt_query(query, answer.response);
    INFO(decoded.error);
    REQUIRE(decoded.ok());
    const json::array receipts = json::parse(decoded.json).at("receipts").as_array();
    REQUIRE(receipts.size() == 1);
    CHECK(receipts[0].at("message_id") == id1.c_str());
    CHECK(receipts[0].at("status") == "delivered");
    CHECK(receipts[0].at("to") == "+8613900000001");
    CHECK(receipts[0].at("code") == "DELIVRD");
}

TEST_CASE("smn simulator: endpoints are de-duplicated by exact string, as SMN documents", "[simulator]") {
    simulator sim;
    const core::http_response r =
        sim.signed_call("POST", promotion, publish_body({"18888888888", "+8618888888888", "18888888888"}));
    REQUIRE(r.status == 200);
    const json::array result = body_of(r).at("result").as_array();
    REQUIRE(result.size() == 2);
    CHECK(result[0].at("endpoint") == "18888888888");
    CHECK(result[1].at("endpoint") == "8618888888888");
    CHECK(sim.last_record().at("count") == 3);
}

TEST_CASE("smn simulator: required fields and the 1000-endpoint limit are enforced", "[simulator]") {
    simulator sim;
    json::array many;
    for (int i = 0; i < 1001; ++i)
        many.emplace_back("+86139" + std::to_string(10000000 + i));
    const core::http_response too_many = sim.signed_call("POST", promotion, publish_body(many));
    CHECK(too_many.status == 400);
    CHECK(body_of(too_many).at("code") == "SMN.0012");
    many.pop_back();
    CHECK(sim.signed_call("POST", promotion, publish_body(many)).status == 200);

    const core::http_response no_template =
        sim.signed_call("POST", promotion, R"({"endpoints": ["+8613900000001"], "sign_id": "s"})");
    CHECK(no_template.status == 400);
    CHECK(body_of(no_template).at("code") == "SMN.0031");
    CHECK(body_of(no_template).contains("request_id"));
    const core::http_response no_endpoints =
        sim.signed_call("POST", promotion, R"({"sms_template_id": ")" + template_id + R"(", "endpoints": []})");
    CHECK(body_of(no_endpoints).at("code") == "SMN.0012");
    const core::http_response bad_endpoint = sim.signed_call("POST", promotion, publish_body({"phone"}));
    CHECK(body_of(bad_endpoint).at("code") == "SMN.0012");
    const core::http_response long_src = sim.signed_call(
        "POST", promotion,
        R"({"sms_template_id": ")" + template_id + R"(", "endpoints": ["+8613900000001"], "extend_src_id": "123456789"})");
    CHECK(long_src.status == 400);
    // sign_id is optional in the vendor's table: a template with a signature needs none.
    CHECK(sim.signed_call("POST", promotion,
                          R"({"sms_template_id": ")" + template_id + R"(", "endpoints": ["+8613900000001"]})")
              .status == 200);
}

TEST_CASE("smn simulator: the report list checks its signed query and its limit", "[simulator]") {
    simulator sim;
    CHECK(sim.signed_call("GET", "/v2/pid/notifications/sms/report?limit=100&offset=0&start_time=0", "").status == 200);
    const core::http_response big = sim.signed_call("GET", "/v2/pid/notifications/sms/report?limit=101", "");
    CHECK(big.status == 400);
    CHECK(body_of(big).at("code") == "SMN.0015");
    const core::http_response wrong =
        sim.signed_call("GET", "/v2/pid/notifications/sms/report?limit=10", "", now_ms(), "WRONG");
    CHECK(wrong.status == 401);
    CHECK(body_of(wrong).at("error_code") == "APIGW.0301");
}

TEST_CASE("smn simulator: token mode and unknown paths", "[simulator]") {
    simulator sim;
    const auto token = [&](const std::string& value) {
        const core::http_result r = core::fetch({"POST", sim.url + promotion,
                                                 {{"Content-Type", "application/json"}, {"X-Auth-Token", value}},
                                                 publish_body({"+8613900000001"})});
        REQUIRE(r.ok());
        return r.response.status;
    };
    CHECK(token("TOKEN") == 200);
    CHECK(token("nope") == 401);
    const core::http_result unknown = core::fetch({"GET", sim.url + "/v2/pid/notifications/sms/other", {}, ""});
    REQUIRE(unknown.ok());
    CHECK(unknown.response.status == 404);
    CHECK(body_of(unknown.response).at("error_code") == "APIGW.0101");
}

TEST_CASE("smn simulator: a signature over the path without its trailing slash is refused", "[simulator]") {
    simulator sim;
    const std::string host = sim.url.substr(sim.url.find("://") + 3);
    const std::string date = sdk::utc_compact(now_ms());
    const std::string body = publish_body({"+8613900000001"});
    const auto call = [&](const std::string& canonical_path) {
        const std::string canonical = "POST\n" + canonical_path + "\n\ncontent-type:application/json\nhost:" + host +
                                      "\nx-sdk-date:" + date + "\n\ncontent-type;host;x-sdk-date\n" +
                                      sdk::hex(sdk::sha256(body));
        const std::string signature =
            sdk::hex(sdk::hmac_sha256("SECRET", "SDK-HMAC-SHA256\n" + date + "\n" + sdk::hex(sdk::sha256(canonical))));
        const core::http_result r =
            core::fetch({"POST", sim.url + promotion,
                         {{"Content-Type", "application/json"},
                          {"X-Sdk-Date", date},
                          {"Authorization", "SDK-HMAC-SHA256 Access=AKID, SignedHeaders=content-type;host;x-sdk-date, "
                                            "Signature=" + signature}},
                         body});
        REQUIRE(r.ok());
        return r.response.status;
    };
    CHECK(call(promotion + "/") == 200);
    CHECK(call(promotion) == 401);
    CHECK(sim.last_record().at("auth_problem") == "signature mismatch");
}

TEST_CASE("smn simulator: X-Sdk-Date must be signed and well formed", "[simulator]") {
    simulator sim;
    const auto call = [&](const std::string& authorization, const std::string& date) {
        const core::http_result r = core::fetch({"POST", sim.url + promotion,
                                                 {{"Content-Type", "application/json"},
                                                  {"X-Sdk-Date", date},
                                                  {"Authorization", authorization}},
                                                 publish_body({"+8613900000001"})});
        REQUIRE(r.ok());
        CHECK(r.response.status == 401);
        return std::string(sim.last_record().at("auth_problem").as_string());
    };
    CHECK(call("SDK-HMAC-SHA256 Access=AKID, SignedHeaders=content-type;host, Signature=00", sdk::utc_compact(now_ms())) ==
          "x-sdk-date is not a signed header");
    CHECK(call("SDK-HMAC-SHA256 Access=AKID, SignedHeaders=host;x-sdk-date, Signature=00", "2024-06-19T07:13:06Z") ==
          "X-Sdk-Date is not YYYYMMDDTHHMMSSZ");
    CHECK(call("SDK-HMAC-SHA256 Access=OTHER, SignedHeaders=host;x-sdk-date, Signature=00", sdk::utc_compact(now_ms())) ==
          "unknown access key");
    CHECK(call("HMAC-SHA256 Credential=AKID", sdk::utc_compact(now_ms())) ==
          "Authorization is not 'SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...'");
}

TEST_CASE("seed vs VENDORS.md: sign_id is optional in the seed's table, so the simulator accepts a request without it, "
          "the plugin requires config.sign_id and always sends it as the legacy SDKs do",
          "[simulator]") {
    simulator sim;
    const core::http_response unsigned_template = sim.signed_call(
        "POST", promotion, R"({"sms_template_id": ")" + template_id + R"(", "endpoints": ["+8613900000001"]})");
    REQUIRE(unsigned_template.status == 200);
    CHECK(body_of(unsigned_template).at("result").as_array().at(0).as_object().contains("message_id"));

    CHECK_THROWS_WITH(plugin()->create_instance("smn-sim", R"({"endpoint": ")" + sim.url + R"(", "project_id": "pid",
                                                    "access_key_id": "AKID", "secret_access_key": "SECRET"})"),
                      Catch::Contains("config.sign_id"));
    const std::unique_ptr<core::provider_instance> p = sim.instance();
    const core::plugin_call_result encoded = p->encode(batch({"+8613900000001"}), now_ms());
    REQUIRE(encoded.ok());
    CHECK(json::parse(encoded.request->body).at("sign_id") == "sign-1");
    const json::array o = outcomes(send(*p, batch({"+8613900000001"})));
    REQUIRE(o.size() == 1);
    CHECK(o[0].at("result") == "accepted");
}
