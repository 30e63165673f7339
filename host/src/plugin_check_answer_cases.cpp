// The cases about what comes back from outside: vendors' answers, callbacks, receipt queries; then
// concurrency, a randomized pass, and time.
#include "plugin_check_cases.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

namespace switchboard::host {
namespace json = boost::json;

namespace {

struct canned_answer {
    const char* name;
    core::http_response response;
    bool may_accept;   // whether an answer like this can carry accepted recipients
    bool throttled;    // a passing failure: nothing may be rejected for good
};

std::string huge_body() { return "{\"message\":\"" + std::string(10 * 1024 * 1024, 'a') + "\"}"; }

std::vector<canned_answer> canned_answers() {
    const std::vector<core::http_header> json_type{{"Content-Type", "application/json"}};
    const std::vector<core::http_header> html_type{{"Content-Type", "text/html"}};
    const std::string html = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
    return {
        {"HTTP 200 with an empty JSON object", {200, json_type, "{}"}, true, false},
        {"HTTP 204 without a body", {204, {}, ""}, true, false},
        {"HTTP 400 with a JSON error", {400, json_type, "{\"code\":\"InvalidParameter\",\"message\":\"bad request\"}"}, false, false},
        {"HTTP 401", {401, json_type, "{\"message\":\"unauthorized\"}"}, false, false},
        {"HTTP 403", {403, json_type, "{\"message\":\"forbidden\"}"}, false, false},
        {"HTTP 404 with an HTML page", {404, html_type, "<html><body>Not Found</body></html>"}, false, false},
        {"HTTP 408 without a body", {408, {}, ""}, false, false},
        {"HTTP 429 with Retry-After: 7", {429, {{"Retry-After", "7"}, json_type[0]}, "{\"message\":\"too many requests\"}"}, false, true},
        {"HTTP 500", {500, json_type, "{\"message\":\"internal error\"}"}, false, false},
        {"HTTP 502 with a proxy's HTML page", {502, html_type, html}, false, false},
        {"HTTP 503 with Retry-After: 30", {503, {{"Retry-After", "30"}, html_type[0]}, html}, false, false},
        {"HTTP 200 with an HTML page", {200, html_type, html}, true, false},
        {"HTTP 200 with an empty body", {200, json_type, ""}, true, false},
        {"HTTP 200 with truncated JSON", {200, json_type, "{\"code\":0,\"data\":[{\"id\":\"1\","}, true, false},
        {"HTTP 200 with a 10 MB body", {200, json_type, huge_body()}, true, false},
        {"HTTP 200 with invalid UTF-8", {200, json_type, "{\"message\":\"\xff\xfe\xc3\x28\"}"}, true, false},
    };
}

std::vector<std::string> ids_of(const std::vector<core::recipient>& batch) {
    std::vector<std::string> ids;
    for (const core::recipient& r : batch)
        ids.push_back(std::to_string(r.index));
    return ids;
}

// ---- decode

void decode_canned_answers(check_env& env) {
    env.require(reinterpret_cast<const void*>(env.table().decode), "decode");
    const std::vector<core::recipient> batch =
        env.valid_recipients(std::min<std::size_t>(static_cast<std::size_t>(env.manifest().max_recipients_per_call), 3));
    const std::string document = env.batch_document(batch);
    for (const canned_answer& answer : canned_answers()) {
        const std::string what = std::string("decode() of ") + answer.name;
        const probe_call call = env.probe().decode(env.instance(), document, answer.response);
        expect_outcomes_or_refusal(call, ids_of(batch), answer.may_accept, what);
        if (!answer.throttled)
            continue;
        if (!call.ok() && call.status != SB_STATUS_TRANSIENT)
            fail(what + ": failed with " + status_name(call.status) + "; a throttled call is SB_STATUS_TRANSIENT");
        if (call.ok() && json::parse(call.json).at("outcomes").as_array().size() > 0)
            for (const json::value& o : json::parse(call.json).at("outcomes").as_array())
                if (o.at("result") != "transient")
                    fail(what + ": recipient " + json::serialize(o.at("id")) + " is " + json::serialize(o.at("result")) +
                         "; a throttled call is transient for every recipient");
    }
}

void decode_malformed_batch(check_env& env) {
    env.require(reinterpret_cast<const void*>(env.table().decode), "decode");
    const core::http_response ok{200, {{"Content-Type", "application/json"}}, "{}"};
    for (const char* batch : {"not json", "[]", "{\"id\": \"b\", \"recipients\": {}}"})
        expect_refusal(env.probe().decode(env.instance(), batch, ok), std::string("decode() for the batch ") + batch);
}

// ---- receipts

bool pushes(check_env& env) { return env.table().parse_receipt != nullptr && env.manifest().receipts == "push"; }
bool pulls(check_env& env) {
    return env.table().encode_receipt_query != nullptr && env.table().decode_receipt_query != nullptr &&
           env.manifest().receipts == "pull";
}

core::http_request callback(std::string content_type, std::string body) {
    return {"POST", "https://gateway.example/v1/receipts/check", {{"Content-Type", std::move(content_type)}}, std::move(body)};
}

void require_push(check_env& env) {
    if (!pushes(env))
        skip("the manifest does not say \"receipts\": \"push\"");
}

void receipt_malformed(check_env& env) {
    require_push(env);
    const std::pair<const char*, core::http_request> callbacks[] = {
        {"a body that is not JSON", callback("application/json", "not json")},
        {"truncated JSON", callback("application/json", "{\"status\":\"DELIVERED\",")},
        {"an empty body", callback("application/json", "")},
        {"a JSON array", callback("application/json", "[1,2,3]")},
        {"invalid UTF-8", callback("application/json", "{\"id\":\"\xff\xfe\"}")},
        {"a form body", callback("application/x-www-form-urlencoded", "a=1&b=%ZZ&&=")},
        {"a GET without a body", {"GET", "https://gateway.example/v1/receipts/check?x=%", {}, ""}},
    };
    for (const auto& [name, request] : callbacks)
        expect_receipts_or_refusal(env.probe().parse_receipt(env.instance(), request, check_env::now_ms),
                                   std::string("parse_receipt() of ") + name);
}

void receipt_unsigned(check_env& env) {
    require_push(env);
    const core::http_request forged = callback(
        "application/json", "[{\"message_id\":\"m-1\",\"status\":\"DELIVERED\",\"phone\":\"+85261000000\"}]");
    const probe_call call = env.probe().parse_receipt(env.instance(), forged, check_env::now_ms);
    expect_receipts_or_refusal(call, "parse_receipt() of an unsigned callback");
    if (!call.ok() && call.status != SB_STATUS_AUTHENTICATION && call.status != SB_STATUS_PERMANENT)
        fail("parse_receipt() of an unsigned callback failed with " + status_name(call.status) +
             "; a forged callback is SB_STATUS_AUTHENTICATION, a malformed one SB_STATUS_PERMANENT");
}

void receipt_huge(check_env& env) {
    require_push(env);
    expect_receipts_or_refusal(env.probe().parse_receipt(env.instance(), callback("application/json", huge_body()),
                                                         check_env::now_ms),
                               "parse_receipt() of a 10 MB callback");
}

void receipt_query_encode(check_env& env) {
    if (!pulls(env))
        skip("the manifest does not say \"receipts\": \"pull\"");
    expect_one_request(env.probe().encode_receipt_query(env.instance(), "{\"message_ids\":[\"m-1\",\"m-2\"],\"since_unix_ms\":0}",
                                                        check_env::now_ms),
                       "encode_receipt_query() of two message ids");
    expect_refusal(env.probe().encode_receipt_query(env.instance(), "not json", check_env::now_ms),
                   "encode_receipt_query() of a query that is not JSON");
}

void receipt_query_decode_malformed(check_env& env) {
    if (!pulls(env))
        skip("the manifest does not say \"receipts\": \"pull\"");
    const std::string query = "{\"message_ids\":[\"m-1\"],\"since_unix_ms\":0}";
    for (const canned_answer& answer : canned_answers())
        expect_receipts_or_refusal(env.probe().decode_receipt_query(env.instance(), query, answer.response),
                                   std::string("decode_receipt_query() of ") + answer.name);
}

// ---- concurrency

void thread_safe_concurrent_calls(check_env& env) {
    if (!env.manifest().thread_safe)
        skip("the manifest does not say \"thread_safe\": true, so the host never calls an instance concurrently");
    const std::vector<core::recipient> batch = env.valid_recipients(std::min<std::size_t>(
        static_cast<std::size_t>(env.manifest().max_recipients_per_call), 20));
    const std::string validation = env.validation_document(batch);
    const std::string document = env.batch_document(batch);
    const core::http_response answer{500, {{"Content-Type", "application/json"}}, "{\"message\":\"internal error\"}"};
    const probe_call verdicts = env.probe().validate(env.instance(), validation);
    const probe_call request = env.probe().encode(env.instance(), document, check_env::now_ms);
    const probe_call outcomes = env.probe().decode(env.instance(), document, answer);
    std::atomic<int> differences{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int round = 0; round < 25; ++round) {
                if (env.probe().validate(env.instance(), validation).json != verdicts.json)
                    ++differences;
                const probe_call encoded = env.probe().encode(env.instance(), document, check_env::now_ms);
                if (!encoded.request != !request.request || (encoded.request && encoded.request->body != request.request->body))
                    ++differences;
                const probe_call decoded = env.probe().decode(env.instance(), document, answer);
                if (decoded.status != outcomes.status || decoded.json != outcomes.json)
                    ++differences;
            }
        });
    for (std::thread& t : threads)
        t.join();
    if (differences > 0)
        fail(std::to_string(differences.load()) + " of 300 calls from 4 threads on one instance answered differently "
                                                  "from the same call alone; the manifest says thread_safe");
}

// ---- a randomized pass

std::string mutated(const std::string& input, std::mt19937& random) {
    std::string out = input;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !out.empty(); ++e) {
        const std::size_t at = random() % out.size();
        switch (random() % 4) {
        case 0: out[at] = static_cast<char>(random() % 256); break;
        case 1: out.resize(at); break;
        case 2: out.insert(at, out.substr(random() % out.size(), 1 + random() % 16)); break;
        case 3: out.erase(at, 1 + random() % 8); break;
        }
    }
    return out;
}

void fuzz_documents(check_env& env) {
    env.instance();
    std::mt19937 random(env.inputs().seed);
    const std::vector<core::recipient> batch = env.valid_recipients(std::min<std::size_t>(
        static_cast<std::size_t>(env.manifest().max_recipients_per_call), 3));
    const std::string validation = env.validation_document(batch);
    const std::string document = env.batch_document(batch);
    std::vector<core::http_response> successes;
    for (const canned_answer& answer : canned_answers())
        if (answer.response.status / 100 == 2 && answer.response.body.size() < 1024 * 1024)
            successes.push_back(answer.response);
    const sb_provider& table = env.table();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    int iteration = 0;
    for (; iteration < 20000 && std::chrono::steady_clock::now() < until; ++iteration) {
        const std::string where = " (iteration " + std::to_string(iteration) + " of seed " + std::to_string(env.inputs().seed) + ")";
        switch (iteration % 4) {
        case 0: {
            if (table.validate == nullptr)
                break;
            const std::string input = mutated(validation, random);
            expect_sound(env.probe().validate(env.instance(), input), "validate() of " + shown(input, 80) + where);
            break;
        }
        case 1: {
            if (table.encode == nullptr)
                break;
            const std::string input = mutated(document, random);
            expect_sound(env.probe().encode(env.instance(), input, check_env::now_ms), "encode() of " + shown(input, 80) + where);
            break;
        }
        case 2: {
            if (table.decode == nullptr)
                break;
            // The successful answers, whose bodies plugins read closely (the decode case has the others).
            core::http_response answer = successes[random() % successes.size()];
            answer.body = mutated(answer.body.empty() ? "{\"code\":0}" : answer.body, random);
            expect_sound(env.probe().decode(env.instance(), document, answer), "decode() of " + shown(answer.body, 80) + where);
            break;
        }
        case 3:
            if (pushes(env)) {
                const core::http_request request = callback("application/json", mutated("{\"status\":\"DELIVERED\",\"id\":\"m-1\"}", random));
                expect_sound(env.probe().parse_receipt(env.instance(), request, check_env::now_ms),
                             "parse_receipt() of " + shown(request.body, 80) + where);
            } else if (pulls(env)) {
                core::http_response answer = successes[random() % successes.size()];
                answer.body = mutated(answer.body.empty() ? "{\"code\":0}" : answer.body, random);
                expect_sound(env.probe().decode_receipt_query(env.instance(), "{\"message_ids\":[\"m-1\"]}", answer),
                             "decode_receipt_query() of " + shown(answer.body, 80) + where);
            }
            break;
        }
    }
}

// ---- time

void time_full_call(check_env& env) {
    for (const auto& [function, name] : {std::pair{reinterpret_cast<const void*>(env.table().validate), "validate"},
                                         {reinterpret_cast<const void*>(env.table().encode), "encode"},
                                         {reinterpret_cast<const void*>(env.table().decode), "decode"}})
        env.require(function, name);
    const std::vector<core::recipient> batch =
        env.valid_recipients(static_cast<std::size_t>(std::min(env.manifest().max_recipients_per_call, 1000)));
    const double budget = env.inputs().call_budget_ms;
    const std::string document = env.batch_document(batch);
    const auto within = [&](const probe_call& call, const char* name) {
        if (call.ms > budget)
            fail(std::string(name) + " of a full batch of " + std::to_string(batch.size()) + " took " +
                 std::to_string(static_cast<long>(call.ms)) + " ms; the budget is " + std::to_string(static_cast<long>(budget)) +
                 " ms per call (--call-budget-ms)");
    };
    within(env.probe().validate(env.instance(), env.validation_document(batch)), "validate()");
    within(env.probe().encode(env.instance(), document, check_env::now_ms), "encode()");
    within(env.probe().decode(env.instance(), document, {500, {}, "{\"message\":\"internal error\"}"}), "decode()");
}

} // namespace

void add_answer_cases(std::vector<check_case>& cases) {
    cases.insert(cases.end(), {
        {"decode.canned_answers", "decode() of each canned vendor answer (2xx, 4xx, 429, 5xx, HTML, empty, truncated, "
                                  "10 MB, invalid UTF-8) gives one outcome per recipient, or fails with a reason", decode_canned_answers},
        {"decode.malformed_batch", "decode() refuses a batch that is not the documented JSON, with a reason", decode_malformed_batch},
        {"receipt.malformed", "parse_receipt() of malformed callbacks fails with a reason or gives well-formed receipts", receipt_malformed},
        {"receipt.unsigned", "parse_receipt() of an unsigned callback is refused as forged or gives well-formed receipts", receipt_unsigned},
        {"receipt.huge", "parse_receipt() of a 10 MB callback fails with a reason or gives well-formed receipts", receipt_huge},
        {"receipt_query.encode", "encode_receipt_query() writes one well-formed request, and refuses a malformed query", receipt_query_encode},
        {"receipt_query.decode_malformed", "decode_receipt_query() of each canned answer fails with a reason or gives well-formed receipts", receipt_query_decode_malformed},
        {"thread_safe.concurrent_calls", "with \"thread_safe\": true, 4 threads calling one instance get what one thread gets", thread_safe_concurrent_calls},
        {"fuzz.documents", "2 s of mutated documents, answers, callbacks and receipt answers: every call keeps the output's rules", fuzz_documents},
        {"time.full_call", "validate, encode and decode of a full batch each finish within the call budget", time_full_call},
    });
}

} // namespace switchboard::host
