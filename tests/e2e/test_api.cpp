// The HTTP API as a client meets it: every bad request is answered with the field's JSON path and
// a reason, in one error shape, and nothing is accepted half way.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sqlite3.h>

#include <signal.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace json = boost::json;
using namespace switchboard;
using namespace switchboard::testing;

namespace {

struct api_error {
    int status;
    json::object body;
};

api_error call(const uspeedo_sandbox& sandbox, const std::string& method, const std::string& path,
               const std::string& body = {}) {
    const core::http_result r = fetch(method, sandbox.api_url() + path, body);
    REQUIRE(r.ok());
    return {r.response.status, json::parse(r.response.body).as_object()};
}

std::string rfc3339_in(std::chrono::milliseconds from_now) {
    const auto at = std::chrono::system_clock::now() + from_now;
    const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[40];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
    return std::string(text) + "." + std::to_string(1000 + ms).substr(1) + "Z";
}

void check_bad_request(const api_error& e, const std::string& field, const std::string& message) {
    CHECK(e.status == 400);
    CHECK(e.body.at("code") == "invalid_request");
    CHECK(e.body.at("field") == field.c_str());
    CHECK(e.body.at("message") == message.c_str());
}

} // namespace

TEST_CASE("api: a bad job is refused with the path of the bad field", "[e2e][api]") {
    sandbox_options options;
    options.max_request_bytes = 64 * 1024;
    uspeedo_sandbox sandbox(options);

    const api_error not_json = call(sandbox, "POST", "/v1/jobs", "{\"route\": ");
    CHECK(not_json.status == 400);
    CHECK_THAT(std::string(not_json.body.at("message").as_string()), Catch::StartsWith("the body is not valid JSON"));

    check_bad_request(call(sandbox, "POST", "/v1/jobs", R"({"recipients": [{"to": "+85255311111"}]})"), "route",
                      "is required: the name of a configured route, an array of steps, or {\"rules\": [...]}");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", R"({"route": "marketing", "recipients": [{"to": "+1"}]})"),
                      "route", "no route named 'marketing' is configured");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", R"({"route": "otp", "recipients": []})"), "recipients",
                      "must be a non-empty array");
    // A misspelt field is refused, never taken for "not given" (here: send at once).
    check_bad_request(
        call(sandbox, "POST", "/v1/jobs",
             R"({"route": "otp", "sendat": "2030-01-01T00:00:00Z", "recipients": [{"to": "+85255311111"}]})"),
        "sendat",
        "is not a known field (known: route, recipients, params, region, open, idempotency_key, send_at, deadline)");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", R"({"route": "otp", "recipients": [{"phone": "+85255311111"}]})"),
                      "recipients[0].phone", "is not a known field (known: to, ref, params)");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", R"({"route": "otp", "recipients": [{"to": "+85255311111"}, {"ref": "x"}]})"),
                      "recipients[1].to", "is required: the recipient's number or platform id");
    check_bad_request(call(sandbox, "POST", "/v1/jobs",
                           R"({"route": "otp", "recipients": [{"to": "+85255311111", "params": {"code": {"n": 1}}}]})"),
                      "recipients[0].params.code", "must be a string or a number");
}

TEST_CASE("api: a 'to' of a megabyte is skipped at once, and its reason quotes only its start", "[e2e][api]") {
    uspeedo_sandbox sandbox;
    json::array recipients = numbered_recipients(1);
    recipients.push_back({{"to", std::string(1 << 20, '9')}, {"params", {{"code", "1"}}}});
    // Before, libphonenumber held an I/O thread for ever on such a number.
    const std::string job = sandbox.submit(recipients);
    CHECK(fetch_json("GET", sandbox.api_url() + "/healthz").at("status") == "ok");
    sandbox.wait_finished(job);
    const std::vector<json::object> all = sandbox.recipients(job);
    REQUIRE(all.size() == 2);
    CHECK(all[0].at("state") == "accepted");
    CHECK(all[1].at("state") == "skipped_invalid");
    CHECK(all[1].at("reason").as_string() == "'" + std::string(64, '9') + "... (1048576 bytes)' is not a valid phone number: too long: "
                                 "1048576 characters, more than the 64 any phone number takes");
    CHECK(all[1].at("to").as_string().size() == 1u << 20);  // the recipient as given, for the client to find
}

TEST_CASE("api: unfinished jobs, open jobs and recipients per job are bounded, each answered with its limit",
          "[e2e][api][limits]") {
    sandbox_options options;
    options.config = {{"limits", {{"max_unfinished_jobs", 3}, {"max_open_jobs", 2}, {"max_recipients_per_job", 5}}}};
    uspeedo_sandbox sandbox(options);
    const std::string open_job = json::serialize(json::object{{"route", "otp"}, {"open", true}});
    const api_error first = call(sandbox, "POST", "/v1/jobs", open_job);
    CHECK(first.status == 201);
    CHECK(call(sandbox, "POST", "/v1/jobs", open_job).status == 201);
    const api_error third_open = call(sandbox, "POST", "/v1/jobs", open_job);
    CHECK(third_open.status == 429);
    CHECK(third_open.body.at("code") == "too_many_open_jobs");

    const std::string id(first.body.at("id").as_string());
    const api_error too_big = call(sandbox, "POST", "/v1/jobs/" + id + "/recipients",
                                   json::serialize(json::object{{"recipients", numbered_recipients(6)}}));
    CHECK(too_big.status == 413);
    CHECK(too_big.body.at("code") == "job_too_large");
    CHECK(call(sandbox, "POST", "/v1/jobs", json::serialize(json::object{{"route", "otp"}, {"recipients", numbered_recipients(6)}}))
              .body.at("code") == "job_too_large");

    // A job waiting for its send_at is unfinished too: the third fills the daemon's limit.
    CHECK(call(sandbox, "POST", "/v1/jobs", json::serialize(json::object{{"route", "otp"}, {"open", true}})).status == 429);
    const api_error blocked = call(sandbox, "POST", "/v1/jobs", json::serialize(json::object{
                                                                    {"route", "otp"}, {"recipients", numbered_recipients(1)},
                                                                    {"send_at", rfc3339_in(std::chrono::hours(1))}}));
    CHECK(blocked.status == 202);   // the third unfinished job
    const api_error fourth = call(sandbox, "POST", "/v1/jobs", json::serialize(json::object{
                                                                   {"route", "otp"}, {"recipients", numbered_recipients(1)}}));
    CHECK(fourth.status == 429);
    CHECK(fourth.body.at("code") == "too_many_jobs");
    CHECK(sandbox.send_calls().empty());
}

TEST_CASE("api: while a submission of 300,000 recipients is read and stored, the API keeps answering", "[e2e][api][big]") {
    uspeedo_sandbox sandbox;
    const std::string small = sandbox.submit(numbered_recipients(1));
    sandbox.wait_finished(small);
    json::array many;
    many.reserve(300'000);
    char number[32];
    for (int i = 0; i < 300'000; ++i) {
        std::snprintf(number, sizeof number, "+8526%07d", 1'000'000 + i);
        many.push_back({{"to", number}, {"params", {{"code", "123456"}}}});
    }
    const std::string body = json::serialize(json::object{{"route", "otp"}, {"recipients", std::move(many)}});
    std::atomic<bool> submitted{false};
    std::thread submitter([&] {
        switchboard::core::http_client_options patient;
        patient.request_timeout = std::chrono::minutes(5);
        fetch("POST", sandbox.api_url() + "/v1/jobs", body, patient);
        submitted = true;
    });
    // Each probe gets two seconds (before, /healthz timed out for minutes behind such a submission).
    switchboard::core::http_client_options impatient;
    impatient.request_timeout = std::chrono::seconds(2);
    int answered = 0;
    int probes = 0;
    while (!submitted && probes < 400) {
        for (const std::string& path : {std::string("/healthz"), std::string("/readyz"), "/v1/jobs/" + small}) {
            const auto r = fetch("GET", sandbox.api_url() + path, {}, impatient);
            ++probes;
            answered += r.ok() && r.response.status == 200 ? 1 : 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    submitter.join();
    CHECK(probes > 0);
    CHECK(answered == probes);
}

TEST_CASE("api: an oversized body is answered 413 before it is read whole", "[e2e][api]") {
    sandbox_options options;
    options.max_request_bytes = 64 * 1024;
    uspeedo_sandbox sandbox(options);
    const std::string huge = R"({"route": "otp", "recipients": [)" + std::string(100 * 1024, ' ') + "]}";
    const core::http_result r = fetch("POST", sandbox.api_url() + "/v1/jobs", huge);
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(r.response.status == 413);
    CHECK(json::parse(r.response.body).at("code") == "too_large");
}

TEST_CASE("api: unknown jobs and paths and methods and query values are refused clearly", "[e2e][api]") {
    uspeedo_sandbox sandbox;
    const api_error missing = call(sandbox, "GET", "/v1/jobs/job_0000000000000000");
    CHECK(missing.status == 404);
    CHECK(missing.body.at("message") == "no job job_0000000000000000");
    CHECK(call(sandbox, "GET", "/v2/anything").status == 404);
    CHECK(call(sandbox, "DELETE", "/v1/jobs").status == 405);

    const std::string job = sandbox.submit(numbered_recipients(1));
    check_bad_request(call(sandbox, "GET", "/v1/jobs/" + job + "/recipients?limit=5000"), "limit",
                      "must be a whole number up to 1000, got '5000'");
    check_bad_request(call(sandbox, "GET", "/v1/jobs/" + job + "/recipients?state=lost"), "state",
                      "is not a recipient state: 'lost'");
}

TEST_CASE("api: recipients are paginated in index order", "[e2e][api]") {
    uspeedo_sandbox sandbox;
    const std::string job = sandbox.submit(numbered_recipients(25));
    sandbox.wait_finished(job);
    const json::value first = fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + job + "/recipients?limit=10");
    CHECK(first.at("recipients").as_array().size() == 10);
    CHECK(first.at("next_offset") == 10);
    const json::value last = fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + job + "/recipients?limit=10&offset=20");
    CHECK(last.at("recipients").as_array().size() == 5);
    CHECK(last.at("recipients").at(0).at("index") == 20);
    CHECK(last.at("next_offset").is_null());
}

TEST_CASE("api: a large job arrives in pages: open, append, start", "[e2e][api]") {
    uspeedo_sandbox sandbox;
    const json::array all = numbered_recipients(2500);
    const auto page = [&all](std::size_t from, std::size_t to) {
        return json::array(all.begin() + static_cast<std::ptrdiff_t>(from), all.begin() + static_cast<std::ptrdiff_t>(to));
    };
    const core::http_result opened = fetch("POST", sandbox.api_url() + "/v1/jobs",
                                           json::serialize(json::object{{"route", "otp"}, {"open", true}, {"recipients", page(0, 1000)}}));
    REQUIRE(opened.ok());
    CHECK(opened.response.status == 201);
    const json::value created = json::parse(opened.response.body);
    CHECK(created.at("state") == "open");
    const std::string job(created.at("id").as_string());
    const std::string base = sandbox.api_url() + "/v1/jobs/" + job;

    CHECK(fetch_json("POST", base + "/recipients", json::serialize(json::object{{"recipients", page(1000, 2000)}}))
              .at("recipients") == 2000);
    // A bad page is refused whole, naming the field by its place in the page.
    check_bad_request(call(sandbox, "POST", "/v1/jobs/" + job + "/recipients", R"({"recipients": [{"to": "+85255311111"}, {}]})"),
                      "recipients[1].to", "is required: the recipient's number or platform id");
    CHECK(fetch_json("POST", base + "/recipients", json::serialize(json::object{{"recipients", page(2000, 2500)}}))
              .at("recipients") == 2500);
    CHECK(sandbox.send_calls().empty());  // nothing goes out before the start

    const core::http_result started = fetch("POST", base + "/start");
    REQUIRE(started.ok());
    CHECK(started.response.status == 202);
    CHECK(sandbox.wait_finished(job).at("counts").at("accepted") == 2500);
    CHECK(sandbox.send_calls().size() == 3);
    const auto recipients = sandbox.recipients(job);
    REQUIRE(recipients.size() == 2500);
    CHECK(recipients[2499].at("to") == "+85261002499");

    const api_error again = call(sandbox, "POST", "/v1/jobs/" + job + "/start");
    CHECK(again.status == 409);
    const api_error late = call(sandbox, "POST", "/v1/jobs/" + job + "/recipients", R"({"recipients": [{"to": "+85255311111"}]})");
    CHECK(late.status == 409);
    CHECK_THAT(std::string(late.body.at("message").as_string()), Catch::Contains("recipients can be added only to a job created with"));
}

TEST_CASE("api: without a valid API key every job endpoint answers 401, health does not ask", "[e2e][api][auth]") {
    sandbox_spec spec;
    spec.simulator = USPEEDO_SIMULATOR;
    spec.plugin = "uspeedo";
    spec.provider_config = {{"account_id", 1}, {"access_key_id", "sim-access-key"}, {"access_key_secret", "sim-access-secret"}};
    spec.route_step = {{"channel", "sms"}, {"template", "UTA1"}, {"params", json::array{"code"}}};
    spec.api_key = "key-0123456789abcdef";
    sandbox box(spec);
    const std::string body = json::serialize(json::object{{"route", "otp"}, {"recipients", numbered_recipients(1)}});
    const auto post = [&](std::vector<core::http_header> headers) {
        headers.push_back({"Content-Type", "application/json"});
        const core::http_result r = core::fetch({"POST", box.api_url() + "/v1/jobs", headers, body});
        REQUIRE(r.ok());
        return r.response;
    };
    CHECK(post({}).status == 401);
    CHECK(post({{"Authorization", "Bearer key-0123456789abcdeX"}}).status == 401);
    CHECK(post({{"Authorization", "Basic key-0123456789abcdef"}}).status == 401);
    const core::http_response refused = post({});
    CHECK(json::parse(refused.body).at("code") == "unauthorized");
    REQUIRE(core::find_header(refused.headers, "WWW-Authenticate") != nullptr);
    CHECK(*core::find_header(refused.headers, "WWW-Authenticate") == "Bearer");
    // A method a path does not serve is named, with the ones it does.
    const core::http_result wrong = core::fetch(
        {"DELETE", box.api_url() + "/v1/jobs/job_x/start", {{"Authorization", "Bearer key-0123456789abcdef"}}, ""});
    REQUIRE(wrong.ok());
    CHECK(wrong.response.status == 405);
    REQUIRE(core::find_header(wrong.response.headers, "Allow") != nullptr);
    CHECK(*core::find_header(wrong.response.headers, "Allow") == "POST");
    CHECK(post({{"Authorization", "Bearer key-0123456789abcdef"}}).status == 202);
    CHECK(fetch("GET", box.api_url() + "/v1/jobs/job_x").response.status == 401);
    CHECK(fetch("GET", box.api_url() + "/metrics").response.status == 401);
    CHECK(fetch("GET", box.api_url() + "/v1/providers").response.status == 401);
    CHECK(fetch("GET", box.api_url() + "/healthz").response.status == 200);
    CHECK(fetch("GET", box.api_url() + "/readyz").response.status == 200);
}

TEST_CASE("api: cancel stops what is not yet sent, and the counts still add up", "[e2e][api]") {
    sandbox_options options;
    options.faults_json = R"({"delay": 1, "delay_ms": 300})";  // slow calls, so the cancel lands mid-job
    // One call at a time: when the first is seen only a call or two has gone out, however slowly
    // this test runs (under TSan, on a loaded machine, four at a time left too little margin).
    options.calls_in_flight = 1;
    uspeedo_sandbox sandbox(options);
    const std::string job = sandbox.submit(numbered_recipients(10'000));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (sandbox.send_calls().empty() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));

    // What is out finishes; the rest is not sent.
    const json::value cancelled = fetch_json("POST", sandbox.api_url() + "/v1/jobs/" + job + "/cancel");
    CHECK(cancelled.at("cancelled").as_int64() >= 5000);
    const json::object finished = sandbox.wait_finished(job);
    const std::int64_t accepted = finished.at("counts").at("accepted").as_int64();
    CHECK(accepted + finished.at("counts").at("cancelled").as_int64() == 10'000);
    CHECK(accepted == static_cast<std::int64_t>(sandbox.send_calls().size()) * 1000);  // only what went out
    CHECK(call(sandbox, "POST", "/v1/jobs/" + job + "/cancel").status == 409);
}

TEST_CASE("api: an idempotency key returns the first job for the same request and refuses another", "[e2e][api]") {
    uspeedo_sandbox sandbox;
    const auto submit = [&](const json::array& recipients) {
        return fetch("POST", sandbox.api_url() + "/v1/jobs",
                     json::serialize(json::object{{"route", "otp"}, {"idempotency_key", "order-7731"}, {"recipients", recipients}}));
    };
    const core::http_result first = submit(numbered_recipients(3));
    REQUIRE(first.ok());
    CHECK(first.response.status == 202);
    const std::string job(json::parse(first.response.body).at("id").as_string());

    const core::http_result again = submit(numbered_recipients(3));  // a client retrying after a lost answer
    REQUIRE(again.ok());
    CHECK(again.response.status == 200);
    CHECK(json::parse(again.response.body).at("id") == job.c_str());

    const core::http_result other = submit(numbered_recipients(4));
    REQUIRE(other.ok());
    CHECK(other.response.status == 409);
    CHECK(json::parse(other.response.body).at("field") == "idempotency_key");

    sandbox.wait_finished(job);
    CHECK(sandbox.send_calls().size() == 1);  // sent once
}

TEST_CASE("api: the same request with its fields in another order is the same request, keys count characters",
          "[e2e][api]") {
    uspeedo_sandbox sandbox;
    std::string accented;
    for (int i = 0; i < 200; ++i)
        accented += "\u00e9";  // é: 200 characters, 400 bytes
    const std::string body_a = R"({"route": "otp", "idempotency_key": ")" + accented +
                               R"(", "recipients": [{"to": "+85261000001", "params": {"code": "1", "x": "2"}}]})";
    const std::string body_b = R"({"recipients": [{"params": {"x": "2", "code": "1"}, "to": "+85261000001"}], )"
                               R"("idempotency_key": ")" + accented + R"(", "route": "otp"})";
    const core::http_result first = fetch("POST", sandbox.api_url() + "/v1/jobs", body_a);
    REQUIRE(first.ok());
    CHECK(first.response.status == 202);
    const core::http_result reordered = fetch("POST", sandbox.api_url() + "/v1/jobs", body_b);
    REQUIRE(reordered.ok());
    CHECK(reordered.response.status == 200);  // before: 409, "used for a different request"
    CHECK(json::parse(reordered.response.body).at("id") == json::parse(first.response.body).at("id"));
}

TEST_CASE("api: a key given twice is refused with its path, a body not declared as JSON is 415", "[e2e][api]") {
    uspeedo_sandbox sandbox;
    check_bad_request(call(sandbox, "POST", "/v1/jobs",
                           R"({"route": "otp", "recipients": [{"to": "+85261000001", "to": "+85261000002"}]})"),
                      "recipients[0].to", "is given twice: each field must appear once");
    for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
        INFO("Content-Type: " << type);
        core::http_request request{"POST", sandbox.api_url() + "/v1/jobs", {}, R"({"route": "otp", "recipients": [{"to": "+85261000001"}]})"};
        if (*type != '\0')
            request.headers.push_back({"Content-Type", type});
        const core::http_result r = core::fetch(request);
        REQUIRE(r.ok());
        CHECK(r.response.status == 415);
        CHECK(json::parse(r.response.body).at("code") == "unsupported_media_type");
    }
    core::http_request charset{"POST", sandbox.api_url() + "/v1/jobs", {{"Content-Type", "application/json; charset=utf-8"}},
                               R"({"route": "otp", "recipients": [{"to": "+85261000001"}]})"};
    CHECK(core::fetch(charset).response.status == 202);
    CHECK(sandbox.send_calls().size() <= 1);
}

TEST_CASE("api: an error answer quotes the start of a long input, never the whole of it", "[e2e][api]") {
    uspeedo_sandbox sandbox;
    const std::string long_name(10 * 1024 * 1024, 'r');
    const core::http_result r = fetch("POST", sandbox.api_url() + "/v1/jobs",
                                      R"({"route": ")" + long_name + R"(", "recipients": [{"to": "+85261000001"}]})");
    REQUIRE(r.ok());
    CHECK(r.response.status == 400);
    CHECK(r.response.body.size() < 1024);  // before: the whole 10 MB came back
    CHECK_THAT(r.response.body, Catch::Contains("no route named 'rrrr") && Catch::Contains("(10485760 bytes)"));
    const api_error unknown_field = call(sandbox, "POST", "/v1/jobs", "{\"" + std::string(100'000, 'f') + "\": 1}");
    CHECK(unknown_field.status == 400);
    CHECK(unknown_field.body.at("field").as_string().size() < 200);
}


TEST_CASE("api: send_at holds a job until its time", "[e2e][api][schedule]") {
    uspeedo_sandbox sandbox;
    const auto submitted = std::chrono::steady_clock::now();
    const json::value job = fetch_json("POST", sandbox.api_url() + "/v1/jobs",
                                       json::serialize(json::object{{"route", "otp"}, {"send_at", rfc3339_in(1500ms)},
                                                                    {"recipients", numbered_recipients(2)}}));
    std::this_thread::sleep_for(700ms);
    CHECK(sandbox.send_calls().empty());
    sandbox.wait_finished(std::string(job.at("id").as_string()));
    CHECK(std::chrono::steady_clock::now() - submitted >= 1400ms);
    CHECK(sandbox.send_calls().size() == 1);
}

TEST_CASE("api: recipients not sent by the deadline fail with that reason", "[e2e][api][schedule]") {
    sandbox_options options;
    options.max_attempts = 100;
    options.faults_json = R"({"server_error": 1})";  // the vendor never takes it: retries until the deadline
    uspeedo_sandbox sandbox(options);
    const json::value job = fetch_json("POST", sandbox.api_url() + "/v1/jobs",
                                       json::serialize(json::object{{"route", "otp"}, {"deadline", rfc3339_in(800ms)},
                                                                    {"recipients", numbered_recipients(3)}}));
    const json::object finished = sandbox.wait_finished(std::string(job.at("id").as_string()), std::chrono::seconds(10));
    CHECK(finished.at("counts").at("failed") == 3);
    for (const json::object& r : sandbox.recipients(std::string(job.at("id").as_string())))
        CHECK(r.at("reason") == "the job's deadline passed before it could be sent");

    check_bad_request(call(sandbox, "POST", "/v1/jobs",
                           json::serialize(json::object{{"route", "otp"}, {"deadline", "tomorrow"}, {"recipients", numbered_recipients(1)}})),
                      "deadline", "must be an RFC 3339 time such as \"2026-11-23T17:00:00Z\": expected 4 digits for the year");
}

TEST_CASE("api: times that do not exist, in the past where they must not be, or too far ahead are refused",
          "[e2e][api][schedule]") {
    uspeedo_sandbox sandbox;
    const auto with = [](const char* field, const char* time) {
        return json::serialize(json::object{{"route", "otp"}, {field, time}, {"recipients", numbered_recipients(1)}});
    };
    const std::string must_be = "must be an RFC 3339 time such as \"2026-11-23T17:00:00Z\": ";
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("send_at", "2027-13-01T00:00:00Z")), "send_at",
                      must_be + "the month 13 is not 1 to 12");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("send_at", "2027-02-31T00:00:00Z")), "send_at",
                      must_be + "day 31 does not exist in 2027-02");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("send_at", "2027-01-01T99:00:00Z")), "send_at",
                      must_be + "the hour 99 is not 0 to 23");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("send_at", "2027-01-01T00:00:00+99:99")), "send_at",
                      must_be + "the offset hour 99 is not 0 to 23");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("send_at", "2027-01-01 00:00:00Z")), "send_at",
                      must_be + "expected 'T' between the date and the time");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("send_at", "0000-01-01T00:00:00Z")), "send_at",
                      must_be + "the year 0 is not 1 to 9999");
    // A send_at centuries ahead was taken, and its job's wait overflowed the timer (a core spun).
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("send_at", "9999-12-31T23:59:59Z")), "send_at",
                      "must be at most 366 days from now");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("deadline", "9999-12-31T23:59:59Z")), "deadline",
                      "must be at most 366 days from now");
    // A deadline before 1970 was taken for "no deadline", and the job was sent.
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("deadline", "1969-12-31T23:59:59Z")), "deadline",
                      "must be later than now and than send_at");
    check_bad_request(call(sandbox, "POST", "/v1/jobs", with("deadline", "1970-01-01T00:00:00Z")), "deadline",
                      "must be later than now and than send_at");
    CHECK(sandbox.send_calls().empty());
}

namespace {
// CPU seconds (user + system) a process has used so far.
double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
    std::string field;
    long long utime = 0;
    long long stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14)
            utime = std::stoll(field);
        if (i == 15)
            stime = std::stoll(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}
} // namespace

TEST_CASE("api: a job stored with a send_at centuries ahead waits without spending CPU", "[e2e][api][schedule]") {
    sandbox_options options;
    options.durable = true;
    uspeedo_sandbox sandbox(options);
    const json::value job = fetch_json("POST", sandbox.api_url() + "/v1/jobs",
                                       json::serialize(json::object{{"route", "otp"}, {"send_at", rfc3339_in(24h)},
                                                                    {"recipients", numbered_recipients(3)}}));
    const std::string id(job.at("id").as_string());
    // As a store written before send_at was bounded holds it: the year 9999.
    sandbox.stop_daemon(SIGTERM);
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open((sandbox.config_file().parent_path() / "switchboard.db").c_str(), &db) == SQLITE_OK);
        const std::string far = "253402300799000";
        CHECK(sqlite3_exec(db, ("UPDATE jobs SET send_at_ms = " + far + "; UPDATE recipients SET next_attempt_at_ms = " + far)
                                   .c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    sandbox.start_daemon();
    const double before = cpu_seconds(sandbox.daemon_pid());
    std::this_thread::sleep_for(2s);
    CHECK(cpu_seconds(sandbox.daemon_pid()) - before < 0.3);  // a spinning job burns a whole core
    CHECK(fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + id).at("counts").at("queued") == 3);
    CHECK(sandbox.send_calls().empty());
}

TEST_CASE("api: cancelling a job that waits for its send_at ends it at once", "[e2e][api][schedule]") {
    uspeedo_sandbox sandbox;
    const json::value job = fetch_json("POST", sandbox.api_url() + "/v1/jobs",
                                       json::serialize(json::object{{"route", "otp"}, {"send_at", rfc3339_in(60s)},
                                                                    {"recipients", numbered_recipients(4)}}));
    const std::string id(job.at("id").as_string());
    const json::value cancelled = fetch_json("POST", sandbox.api_url() + "/v1/jobs/" + id + "/cancel");
    CHECK(cancelled.at("cancelled") == 4);
    CHECK(cancelled.at("state") == "finished");
    for (const json::object& r : sandbox.recipients(id)) {
        CHECK(r.at("state") == "cancelled");
        CHECK(r.at("code") == "cancelled");
    }
    CHECK(sandbox.send_calls().empty());
}

TEST_CASE("api: after a job, /metrics counts its recipients and calls, and /v1/providers shows the instance's health",
          "[e2e][api][metrics]") {
    sandbox_options options;
    options.faults_json = R"({"block_list": ["+85261000003"]})";
    uspeedo_sandbox sandbox(options);
    sandbox.wait_finished(sandbox.submit(numbered_recipients(40)));

    const core::http_result scraped = fetch("GET", sandbox.api_url() + "/metrics");
    REQUIRE(scraped.ok());
    CHECK(scraped.response.status == 200);
    CHECK(core::find_header(scraped.response.headers, "Content-Type")->rfind("text/plain; version=0.0.4", 0) == 0);
    const std::string& text = scraped.response.body;
    const auto has_line = [&text](const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; };
    CHECK(has_line(R"(switchboard_recipients{state="accepted"} 39)"));
    CHECK(has_line(R"(switchboard_recipients{state="failed"} 1)"));
    CHECK(has_line(R"(switchboard_recipients{state="queued"} 0)"));
    CHECK(has_line(R"(switchboard_jobs{state="finished"} 1)"));
    CHECK(has_line(R"(switchboard_queue_depth 0)"));
    CHECK(has_line(R"(switchboard_vendor_calls_total{outcome="ok",provider="main"} 1)"));
    CHECK(has_line(R"(switchboard_vendor_call_recipients_total{provider="main"} 40)"));
    CHECK(has_line(R"(switchboard_vendor_call_duration_seconds_count{provider="main"} 1)"));
    CHECK(text.find("# TYPE switchboard_vendor_call_duration_seconds histogram") != std::string::npos);

    const json::value providers = fetch_json("GET", sandbox.api_url() + "/v1/providers");
    REQUIRE(providers.at("providers").as_array().size() == 1);
    const json::object& main = providers.at("providers").at(0).as_object();
    CHECK(main.at("name") == "main");
    CHECK(main.at("plugin") == "uspeedo");
    CHECK(main.at("max_recipients_per_call") == 1000);
    CHECK(main.at("health").at("status") == "healthy");
    CHECK(main.at("health").at("recent_calls") == 1);
    CHECK(main.at("health").at("recent_ok") == 1);
    CHECK(main.at("current").at("calls_per_second").to_number<double>() > 0);
}

TEST_CASE("api: /v1/providers lists an instance's last failed calls, newest first, with what went wrong",
          "[e2e][api][metrics]") {
    sandbox_options options;
    options.faults_json = R"({"server_error": 1})";   // every call answered 5xx
    uspeedo_sandbox sandbox(options);
    sandbox.wait_finished(sandbox.submit(numbered_recipients(3)));

    const json::value providers = fetch_json("GET", sandbox.api_url() + "/v1/providers");
    const json::array& errors = providers.at("providers").at(0).at("last_errors").as_array();
    REQUIRE_FALSE(errors.empty());
    CHECK(errors.size() <= 5);
    CHECK(errors.at(0).at("outcome") == "transient");
    CHECK(errors.at(0).at("at_ms").to_number<std::int64_t>() > 0);
    CHECK_FALSE(errors.at(0).at("error").as_string().empty());
    CHECK(std::string(errors.at(0).at("error").as_string()).find("sim-access-secret") == std::string::npos);
    CHECK(providers.at("providers").at(0).at("health").at("status") == "failing");
}

TEST_CASE("console: the daemon serves the console's embedded pages without a key, with a policy that forbids inline "
          "scripts, and none when the configuration turns it off", "[e2e][api][console]") {
    sandbox_options options;
    options.api_key = "key-console-0123456789";
    uspeedo_sandbox sandbox(options);

    const core::http_result page = fetch("GET", sandbox.api_url() + "/console/");
    REQUIRE(page.ok());
    CHECK(page.response.status == 200);
    CHECK(*core::find_header(page.response.headers, "Content-Type") == "text/html; charset=utf-8");
    const std::string policy = *core::find_header(page.response.headers, "Content-Security-Policy");
    CHECK(policy.find("default-src 'none'") != std::string::npos);
    CHECK(policy.find("script-src 'self'") != std::string::npos);
    CHECK(policy.find("unsafe") == std::string::npos);
    CHECK(*core::find_header(page.response.headers, "X-Content-Type-Options") == "nosniff");
    CHECK(page.response.body.find("<script src=\"console.js\"") != std::string::npos);
    CHECK(page.response.body.find("<script>") == std::string::npos);   // no inline script for the policy to refuse

    const core::http_result script = fetch("GET", sandbox.api_url() + "/console/console.js");
    CHECK(script.response.status == 200);
    CHECK(*core::find_header(script.response.headers, "Content-Type") == "text/javascript; charset=utf-8");
    const core::http_result bare = fetch("GET", sandbox.api_url() + "/console");
    CHECK(bare.response.status == 308);
    CHECK(*core::find_header(bare.response.headers, "Location") == "/console/");
    CHECK(fetch("GET", sandbox.api_url() + "/console/secrets.txt").response.status == 404);
    CHECK(fetch("GET", sandbox.api_url() + "/v1/jobs").response.status == 401);   // the API still wants its key

    sandbox.stop_daemon(SIGTERM);
    sandbox.edit_config([](json::object& config) { config["console"] = false; });
    sandbox.start_daemon();
    CHECK(fetch("GET", sandbox.api_url() + "/console/").response.status == 401);   // just an unknown path of the API
}

TEST_CASE("logs: JSON lines with the job id, no secret in them, and a new file after logrotate's SIGHUP",
          "[e2e][api][logs]") {
    uspeedo_sandbox sandbox;
    const std::filesystem::path log = std::filesystem::temp_directory_path() /
                                      ("switchboard-log-" + std::to_string(::getpid()) + ".jsonl");
    const std::filesystem::path rotated = log.string() + ".1";
    sandbox.stop_daemon(SIGTERM);
    sandbox.edit_config([&](json::object& config) {
        config["log"] = {{"format", "json"}, {"file", log.string()}, {"level", "debug"}};
    });
    sandbox.start_daemon();

    const auto read_lines = [](const std::filesystem::path& file) {
        std::vector<json::object> lines;
        std::ifstream in(file);
        for (std::string line; std::getline(in, line);) {
            const json::value v = json::parse(line);  // every line is one JSON object
            lines.push_back(v.as_object());
        }
        return lines;
    };
    const auto mentions = [](const std::vector<json::object>& lines, const std::string& job) {
        return std::count_if(lines.begin(), lines.end(), [&](const json::object& l) {
            return l.contains("job_id") && l.at("job_id") == job.c_str();
        });
    };
    const std::string first = sandbox.submit(numbered_recipients(3));
    sandbox.wait_finished(first);
    const std::vector<json::object> before = read_lines(log);
    REQUIRE(!before.empty());
    for (const json::object& line : before) {
        CHECK(line.contains("time"));
        CHECK(line.contains("level"));
        CHECK(line.contains("message"));
    }
    CHECK(mentions(before, first) >= 2);  // accepted, finished
    std::ifstream whole(log);
    const std::string text((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
    CHECK(text.find("sim-access-secret") == std::string::npos);  // the vendor secret the daemon signs with
    for (const char* path : {"/v1/providers", "/metrics", "/v1/jobs", "/v1/jobs/x"})  // nor in any answer
        CHECK(fetch("GET", sandbox.api_url() + path).response.body.find("sim-access-secret") == std::string::npos);

    std::filesystem::rename(log, rotated);
    ::kill(sandbox.daemon_pid(), SIGHUP);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!std::filesystem::exists(log) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::string second = sandbox.submit(numbered_recipients(2));
    sandbox.wait_finished(second);
    const std::vector<json::object> after = read_lines(log);
    CHECK(mentions(after, second) >= 2);
    CHECK(mentions(after, first) == 0);
    CHECK(mentions(read_lines(rotated), second) == 0);
    std::filesystem::remove(log);
    std::filesystem::remove(rotated);
}
