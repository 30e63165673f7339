// The trampolines are the ABI boundary: whatever a provider throws must come out as a status and
// a message, never as an exception, and the contract checks must catch a provider's mistakes.
#include <switchboard/sdk.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <stdexcept>

namespace sdk = switchboard::sdk;

namespace {

// What the trampolines wrote, as a host would collect it.
struct collected {
    std::string json;
    std::string error;
    std::int64_t retry_after_ms = -2;
    std::string request_url;
    std::string request_body;
    sb_output raw{};

    collected() {
        raw.struct_size = sizeof raw;
        raw.abi = {SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};
        raw.context = this;
        raw.write_json = [](void* c, sb_str s) { static_cast<collected*>(c)->json.assign(s.data, s.size); };
        raw.write_request = [](void* c, const sb_http_request* r) {
            static_cast<collected*>(c)->request_url.assign(r->url.data, r->url.size);
            static_cast<collected*>(c)->request_body.assign(r->body.data, r->body.size);
        };
        raw.set_error = [](void* c, sb_str s, std::int64_t retry) {
            static_cast<collected*>(c)->error.assign(s.data, s.size);
            static_cast<collected*>(c)->retry_after_ms = retry;
        };
    }
};

// A provider whose behaviour each test picks through the recipient's "to" field.
class scripted_provider final : public sdk::provider {
public:
    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "scripted";
        m.version = "0.0.1";
        m.channels = {"sms"};
        m.max_recipients_per_call = 5;
        return m;
    }
    scripted_provider(const sdk::host& host, const sdk::object_reader& config) : provider(host) {
        config.required_string("required_setting");
    }

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        if (request.recipients.front().to == "short")
            return {};
        return std::vector<sdk::verdict>(request.recipients.size(), sdk::verdict::valid());
    }
    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t now) override {
        const std::string& to = batch.recipients.front().to;
        if (to == "throw-runtime")
            throw std::runtime_error("boom");
        if (to == "throw-int")
            throw 42;
        sdk::http_request r;
        r.url = "https://vendor.example/send";
        r.body = to + "@" + std::to_string(now);
        return r;
    }
    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response& response) override {
        if (response.status == 503)
            throw sdk::error(sdk::status::transient, "vendor busy", 2500);
        if (response.status == 400)
            throw sdk::error(sdk::status::permanent, "bad batch", 2500);
        if (response.status == 502)
            throw sdk::error(sdk::status::transient, "the vendor answered " + response.body);
        if (response.body.rfind("id:", 0) == 0)
            return {sdk::outcome::accepted(batch.recipients.front().id, response.body.substr(3))};
        if (response.body == "stranger")
            return {sdk::outcome::accepted("stranger", "m1")};
        std::vector<sdk::outcome> out;
        for (const sdk::recipient& r : batch.recipients)
            out.push_back(sdk::outcome::accepted(r.id, "msg-" + r.id));
        return out;
    }
};

using table = sdk::detail::provider_table<scripted_provider>;

struct instance_fixture {
    sb_instance* instance = nullptr;
    instance_fixture() {
        collected out;
        const std::string config = R"({"required_setting": "x"})";
        REQUIRE(table::create(nullptr, {config.data(), config.size()}, &instance, &out.raw) == SB_STATUS_OK);
    }
    ~instance_fixture() { table::destroy(instance); }
};

sb_str str(const std::string& s) { return {s.data(), s.size()}; }

std::string batch_to(const std::string& to) {
    return R"({"id": "b1", "channel": "sms", "recipients": [{"id": "r1", "to": ")" + to + R"("}]})";
}

// `body` is a literal, so the view stays valid.
sb_http_response response(int status, const char* body) {
    sb_http_response r{};
    r.struct_size = sizeof r;
    r.status = status;
    r.body = {body, std::strlen(body)};
    return r;
}

} // namespace

TEST_CASE("the table announces ABI 1.1 and its own size", "[sdk][trampolines]") {
    const sb_provider* t = table::get({SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR});
    REQUIRE(t != nullptr);
    CHECK(t->struct_size == sizeof(sb_provider));
    CHECK(t->abi.major == SB_ABI_VERSION_MAJOR);
    CHECK(t->abi.minor == SB_ABI_VERSION_MINOR);
    CHECK(t->get_extension("switchboard.anything/1") == nullptr);
}

TEST_CASE("the manifest is written as JSON with the ABI version", "[sdk][trampolines]") {
    collected out;
    REQUIRE(table::manifest(&out.raw) == SB_STATUS_OK);
    const sdk::json::object m = sdk::parse_object(out.json, "manifest");
    CHECK(m.at("name") == "scripted");
    CHECK(m.at("abi") == "1.1");
    CHECK(m.at("max_recipients_per_call") == 5);
}

TEST_CASE("a configuration error in create is INVALID_CONFIG naming the field", "[sdk][trampolines]") {
    collected out;
    sb_instance* instance = nullptr;
    const std::string config = R"({"other": 1})";
    CHECK(table::create(nullptr, str(config), &instance, &out.raw) == SB_STATUS_INVALID_CONFIG);
    CHECK(out.error == "config.required_setting: is required");
    CHECK(instance == nullptr);

    const std::string not_json = "{";
    CHECK(table::create(nullptr, str(not_json), &instance, &out.raw) == SB_STATUS_INVALID_CONFIG);
    CHECK_THAT(out.error, Catch::StartsWith("config: not valid JSON"));
}

TEST_CASE("encode writes the provider's request, signed with the host's time", "[sdk][trampolines]") {
    instance_fixture f;
    collected out;
    const std::string batch = batch_to("+85255311111");
    REQUIRE(table::encode(f.instance, str(batch), 1234, &out.raw) == SB_STATUS_OK);
    CHECK(out.request_url == "https://vendor.example/send");
    CHECK(out.request_body == "+85255311111@1234");
}

TEST_CASE("no exception crosses the boundary and each becomes a status and a message", "[sdk][trampolines]") {
    instance_fixture f;

    SECTION("std::exception -> INTERNAL with its message") {
        collected out;
        const std::string batch = batch_to("throw-runtime");
        CHECK(table::encode(f.instance, str(batch), 0, &out.raw) == SB_STATUS_INTERNAL);
        CHECK(out.error == "internal error: boom");
    }
    SECTION("an exception of any other type -> INTERNAL") {
        collected out;
        const std::string batch = batch_to("throw-int");
        CHECK(table::encode(f.instance, str(batch), 0, &out.raw) == SB_STATUS_INTERNAL);
        CHECK(out.error == "internal error: an exception of unknown type");
    }
    SECTION("sdk::error keeps its status and, for transient ones only, the retry hint") {
        collected busy;
        const std::string batch = batch_to("x");
        const sb_http_response r503 = response(503, "");
        CHECK(table::decode(f.instance, str(batch), &r503, &busy.raw) == SB_STATUS_TRANSIENT);
        CHECK(busy.error == "vendor busy");
        CHECK(busy.retry_after_ms == 2500);

        collected bad;
        const sb_http_response r400 = response(400, "");
        CHECK(table::decode(f.instance, str(batch), &r400, &bad.raw) == SB_STATUS_PERMANENT);
        CHECK(bad.retry_after_ms == -1);
    }
    SECTION("a malformed batch document -> PERMANENT naming the field") {
        collected out;
        const std::string batch = R"({"id": "b1", "channel": "sms", "recipients": [{"id": "r1"}]})";
        CHECK(table::encode(f.instance, str(batch), 0, &out.raw) == SB_STATUS_PERMANENT);
        CHECK(out.error == "recipients[0].to: is required");
    }
    SECTION("an empty batch is refused before the provider sees it") {
        collected out;
        const std::string batch = R"({"id": "b9", "channel": "sms", "recipients": []})";
        CHECK(table::encode(f.instance, str(batch), 0, &out.raw) == SB_STATUS_PERMANENT);
        CHECK(out.error == "batch b9 has no recipients");
    }
}

TEST_CASE("the contract checks catch a provider's miscounted results", "[sdk][trampolines]") {
    instance_fixture f;

    SECTION("validate must give one verdict per recipient") {
        collected out;
        const std::string request = R"({"channel": "sms", "recipients": [{"to": "short"}]})";
        CHECK(table::validate(f.instance, str(request), &out.raw) == SB_STATUS_INTERNAL);
        CHECK(out.error == "validate produced 0 verdicts for 1 recipients");
    }
    SECTION("decode must not invent recipients") {
        collected out;
        const std::string batch = batch_to("x");
        const sb_http_response r = response(200, "stranger");
        CHECK(table::decode(f.instance, str(batch), &r, &out.raw) == SB_STATUS_INTERNAL);
        CHECK(out.error == "decode produced an outcome for 'stranger', not in batch b1");
    }
    SECTION("a correct decode writes one outcome per recipient") {
        collected out;
        const std::string batch = batch_to("x");
        const sb_http_response r = response(200, "");
        REQUIRE(table::decode(f.instance, str(batch), &r, &out.raw) == SB_STATUS_OK);
        const sdk::json::object doc = sdk::parse_object(out.json, "outcomes");
        const sdk::json::array& outcomes = doc.at("outcomes").as_array();
        REQUIRE(outcomes.size() == 1);
        CHECK(outcomes[0].at("id") == "r1");
        CHECK(outcomes[0].at("result") == "accepted");
        CHECK(outcomes[0].at("message_id") == "msg-r1");
    }
}

TEST_CASE("receipts are unsupported unless the provider implements them", "[sdk][trampolines]") {
    instance_fixture f;
    collected out;
    sb_http_request callback{};
    callback.struct_size = sizeof callback;
    CHECK(table::parse_receipt(f.instance, &callback, 0, &out.raw) == SB_STATUS_UNSUPPORTED);
    CHECK(out.error == "this provider does not take pushed receipts");
}

TEST_CASE("what a plugin hands the host is UTF-8 even when the vendor's bytes are not", "[sdk][trampolines]") {
    instance_fixture f;
    const std::string batch = batch_to("x");

    SECTION("an error message quoting the vendor") {
        collected out;
        const sb_http_response r502 = response(502, "\xff\xfe busy");
        CHECK(table::decode(f.instance, str(batch), &r502, &out.raw) == SB_STATUS_TRANSIENT);
        CHECK(out.error == "the vendor answered \xEF\xBF\xBD\xEF\xBF\xBD busy");
    }
    SECTION("a result document carrying the vendor's text") {
        collected out;
        const sb_http_response r200 = response(200, "id:m-\xc3");
        CHECK(table::decode(f.instance, str(batch), &r200, &out.raw) == SB_STATUS_OK);
        CHECK(out.json == "{\"outcomes\":[{\"id\":\"r1\",\"result\":\"accepted\",\"message_id\":\"m-\xEF\xBF\xBD\"}]}");
    }
}
