// The helpers every vendor plugin signs and encodes with, checked against published vectors.
#include <switchboard/sdk.hpp>

#include <catch2/catch.hpp>

namespace sdk = switchboard::sdk;

TEST_CASE("hex and base64 encode bytes as vendors print them", "[sdk][encoding]") {
    CHECK(sdk::hex(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
    CHECK(sdk::hex("") == "");
    // HTTP Basic for AKID:SECRET, as uSpeedo's v1 endpoint expects it (VENDORS.md 2.2).
    CHECK(sdk::base64("AKID:SECRET") == "QUtJRDpTRUNSRVQ=");
    CHECK(sdk::base64("a") == "YQ==");
    CHECK(sdk::base64("") == "");
}

TEST_CASE("percent_encode follows RFC 3986 with upper-case hex and %20 for space", "[sdk][encoding]") {
    CHECK(sdk::percent_encode("AZaz09-_.~") == "AZaz09-_.~");
    CHECK(sdk::percent_encode("a b") == "a%20b");
    CHECK(sdk::percent_encode("!'()*") == "%21%27%28%29%2A");
    CHECK(sdk::percent_encode("a=b&c/d+e") == "a%3Db%26c%2Fd%2Be");
    CHECK(sdk::percent_encode("\xe4\xb8\xad") == "%E4%B8%AD");
}

TEST_CASE("digests and MACs match the published test vectors", "[sdk][crypto]") {
    CHECK(sdk::hex(sdk::sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sdk::hex(sdk::sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    // RFC 4231 test case 2 and RFC 2202 test case 2.
    CHECK(sdk::hex(sdk::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(sdk::hex(sdk::hmac_sha1("Jefe", "what do ya want for nothing?")) ==
          "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST_CASE("Volcengine's key derivation chain reproduces its official signing key", "[sdk][crypto]") {
    // VENDORS.md 1.2, vector A: kSigning for 20240619 / cn-beijing / iam.
    const std::string sk = "WkRZeE1EQmxPVGhsWWpWak5HVmtNbUUxTXpZeU9UVXlOMlE1TmpZeVlqTQ==";
    const std::string k_date = sdk::hmac_sha256(sk, "20240619");
    const std::string k_region = sdk::hmac_sha256(k_date, "cn-beijing");
    const std::string k_service = sdk::hmac_sha256(k_region, "iam");
    CHECK(sdk::hex(sdk::hmac_sha256(k_service, "request")) ==
          "abee62e533a58934c49954459a3c3237d2fccea517c9a7c8a2651d8ea7779826");
}

TEST_CASE("constant_time_equal compares whole strings", "[sdk][crypto]") {
    CHECK(sdk::constant_time_equal("secret", "secret"));
    CHECK_FALSE(sdk::constant_time_equal("secret", "secreT"));
    CHECK_FALSE(sdk::constant_time_equal("secret", "secret2"));
    CHECK_FALSE(sdk::constant_time_equal("", "x"));
    CHECK(sdk::constant_time_equal("", ""));
}

TEST_CASE("time formats render the host's clock in each vendor's form", "[sdk][clock]") {
    const std::int64_t now = 1718781186'789;  // 2024-06-19 07:13:06.789 UTC
    CHECK(sdk::utc_compact(now) == "20240619T071306Z");
    CHECK(sdk::utc_iso8601(now) == "2024-06-19T07:13:06Z");
    CHECK(sdk::unix_seconds(now) == "1718781186");
    CHECK(sdk::format_time(now, "%Y-%m-%d %H:%M:%S", 8 * 60) == "2024-06-19 15:13:06");
    CHECK(sdk::unix_seconds(-1) == "-1");
}

TEST_CASE("object_reader names the full path of a bad field", "[sdk][json]") {
    const sdk::json::object doc = sdk::parse_object(R"({"a": {"b": 5, "s": "x"}, "list": [1]})", "config");
    const sdk::object_reader root(doc, "config");
    const sdk::object_reader a = root.required_object("a");
    CHECK(a.required_int("b") == 5);
    CHECK(a.string_or("missing", "fallback") == "fallback");
    CHECK_THROWS_WITH(a.required_string("b"), "config.a.b: must be a string, not int64");
    CHECK_THROWS_WITH(a.required_string("c"), "config.a.c: is required");
    CHECK_THROWS_WITH(a.required_int("s"), "config.a.s: must be an integer, not string");
    CHECK_THROWS_WITH(root.required_object("list"), "config.list: must be an object, not array");
    CHECK_THROWS_WITH(sdk::parse_object("[1]", "batch"), "batch: must be a JSON object, not array");
    CHECK_THROWS_WITH(sdk::parse_object("{", "batch"), Catch::Contains("batch: not valid JSON"));
}

TEST_CASE("read_base_url splits a vendor endpoint and names the field when it is wrong", "[sdk][endpoint]") {
    const sdk::base_url url = sdk::read_base_url("https://smn.example.com:8443/prefix//", "config.endpoint");
    CHECK(url.https);
    CHECK(url.origin == "https://smn.example.com:8443");
    CHECK(url.host == "smn.example.com:8443");
    CHECK(url.path == "/prefix");
    CHECK(sdk::read_base_url("http://127.0.0.1:9001", "config.endpoint").path.empty());
    CHECK_THROWS_WITH(sdk::read_base_url("ftp://x", "config.endpoint"),
                      "config.endpoint: must start with http:// or https://, got 'ftp://x'");
    CHECK_THROWS_WITH(sdk::read_base_url("https://x/?a=1", "config.endpoint"),
                      "config.endpoint: must be a base URL without query or fragment, got 'https://x/?a=1'");
    CHECK_THROWS_WITH(sdk::read_base_url("https://", "config.endpoint"), "config.endpoint: has no host: 'https://'");
}

TEST_CASE("verdicts_for reads the step once and refuses every recipient when the step is wrong", "[sdk][validate]") {
    sdk::validation_request request;
    request.recipients.resize(3);
    request.recipients[1].to = "bad";
    int reads = 0;
    const auto good = sdk::verdicts_for(
        request, [&] { return ++reads; },
        [](int, const sdk::recipient& r) { return r.to == "bad" ? sdk::verdict::invalid("to", "bad") : sdk::verdict::valid(); });
    CHECK(reads == 1);
    REQUIRE(good.size() == 3);
    CHECK(good[0].ok);
    CHECK_FALSE(good[1].ok);
    const auto refused = sdk::verdicts_for(
        request, []() -> int { throw sdk::field_error("step.template", "must not be empty"); },
        [](int, const sdk::recipient&) { return sdk::verdict::valid(); });
    REQUIRE(refused.size() == 3);
    for (const sdk::verdict& v : refused) {
        CHECK_FALSE(v.ok);
        CHECK(v.field == "step.template");
        CHECK(v.reason == "must not be empty");
    }
}

TEST_CASE("valid_utf8 keeps UTF-8 and replaces each byte that is not part of it", "[sdk][text]") {
    CHECK(sdk::valid_utf8("plain ascii") == "plain ascii");
    CHECK(sdk::valid_utf8("caf\xC3\xA9 \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xF0\x9F\x98\x80");
    CHECK(sdk::is_valid_utf8("caf\xC3\xA9"));
    const std::string replacement = "\xEF\xBF\xBD";
    CHECK(sdk::valid_utf8("a\xFFz") == "a" + replacement + "z");
    CHECK(sdk::valid_utf8("\xC0\xAF") == replacement + replacement);                  // an overlong '/'
    CHECK(sdk::valid_utf8("\xED\xA0\x80") == replacement + replacement + replacement);  // a surrogate
    CHECK(sdk::valid_utf8("\xF4\x90\x80\x80").size() == 4 * replacement.size());      // past U+10FFFF
    CHECK(sdk::valid_utf8("cut \xE2\x82") == "cut " + replacement + replacement);       // an excerpt's end
    CHECK_FALSE(sdk::is_valid_utf8("cut \xE2\x82"));
}

TEST_CASE("form bodies are written and read as HTML forms do", "[sdk][form]") {
    CHECK(sdk::form_encode({{"To", "+85255311111"}, {"Body", "Your code: 1234 & more"}, {"Empty", ""}}) ==
          "To=%2B85255311111&Body=Your+code%3A+1234+%26+more&Empty=");
    const sdk::form read = sdk::form_decode("To=%2B85255311111&Body=Your+code%3A+1234&Flag&MessageStatus=delivered");
    REQUIRE(read.size() == 4);
    CHECK(read[0].value == "+85255311111");
    CHECK(read[1].value == "Your code: 1234");
    CHECK(read[2].name == "Flag");
    CHECK(read[2].value.empty());
    CHECK(*sdk::form_value(read, "MessageStatus") == "delivered");
    CHECK(sdk::form_value(read, "Missing") == nullptr);
    const sdk::form fields{{"a b", "c=d&e"}, {"caf\xC3\xA9", "\xF0\x9F\x98\x80"}};
    const sdk::form back = sdk::form_decode(sdk::form_encode(fields));
    CHECK(back[0].name == "a b");
    CHECK(back[0].value == "c=d&e");
    CHECK(back[1].value == "\xF0\x9F\x98\x80");
    CHECK_THROWS_WITH(sdk::form_decode("a=%ZZ", "callback"), Catch::StartsWith("callback: is not a form body ("));
}

TEST_CASE("templates are filled by number or by name, and a gap names the field", "[sdk][template]") {
    CHECK(sdk::render_numbered("Code {1}, valid {2} min. {{literal}}", {"123456", "5"}) ==
          "Code 123456, valid 5 min. {literal}");
    CHECK_THROWS_WITH(sdk::render_numbered("Code {2}", {"1"}),
                      "step.template_text: uses {2}, but there are 1 values ({1} to {1})");
    CHECK_THROWS_WITH(sdk::render_numbered("Code {1", {"1"}),
                      "step.template_text: has a '{' at character 6 that opens no placeholder (write {{ for a brace)");
    const sdk::json::object params{{"name", "Ada"}, {"count", 3}, {"list", sdk::json::array{1}}};
    CHECK(sdk::render_named("Hi {name}, {count} new", params) == "Hi Ada, 3 new");
    CHECK_THROWS_WITH(sdk::render_named("Hi {nickname}", params), "params.nickname: is required by the template");
    CHECK_THROWS_WITH(sdk::render_named("{list}", params), "params.list: must be a string or a number, not array");
}

TEST_CASE("an HTTP status classifies a whole call, with the vendor's Retry-After", "[sdk][http]") {
    const auto classify = [](int status, std::vector<sdk::header> headers = {}) {
        sdk::http_response r;
        r.status = status;
        r.headers = std::move(headers);
        r.body = "{\"message\":\"no\"}";
        return sdk::http_status_error(r, "Example");
    };
    CHECK_FALSE(classify(200));
    CHECK_FALSE(classify(204));
    CHECK(classify(401)->code() == sdk::status::authentication);
    CHECK(std::string(classify(403)->what()) == "HTTP 403 from Example: {\"message\":\"no\"} (check the credentials)");
    for (int s : {408, 425, 429, 500, 502, 503, 504})
        CHECK(classify(s)->code() == sdk::status::transient);
    CHECK(classify(429, {{"Retry-After", "7"}})->retry_after_ms() == 7000);
    CHECK(classify(503)->retry_after_ms() == -1);
    for (int s : {301, 400, 404, 409, 422})
        CHECK(classify(s)->code() == sdk::status::permanent);
    sdk::http_response throttled;
    throttled.status = 429;
    CHECK_THROWS_AS(sdk::throw_for_status(throttled, "Example"), sdk::error);
}

TEST_CASE("a settings reader names every problem of a configuration at once", "[sdk][settings]") {
    const sdk::json::object config = sdk::json::parse(R"({"token": 5, "retries": 99, "colour": "red", "verbose": "yes"})").as_object();
    sdk::settings_reader settings(config);
    CHECK(settings.required_string("url").empty());
    CHECK(settings.string_or("token", "fallback") == "fallback");
    CHECK(settings.int_or("retries", 3, 0, 10) == 3);
    CHECK_FALSE(settings.bool_or("verbose", false));
    settings.refuse_unknown({"url", "token", "retries", "verbose"});
    CHECK_THROWS_WITH(settings.finish(), "config.url: is required; config.token: must be a string, not int64; "
                                         "config.retries: must be from 0 to 10, got 99; config.verbose: must be true or "
                                         "false; config.colour: is not a setting of this provider");
    try {
        settings.finish();
    } catch (const sdk::field_error& e) {
        CHECK(e.path() == "config.url");
    }
    const sdk::json::object good = sdk::json::parse(R"({"url": "https://x"})").as_object();
    sdk::settings_reader fine(good);
    CHECK(fine.required_string("url") == "https://x");
    CHECK_NOTHROW(fine.finish());
}
