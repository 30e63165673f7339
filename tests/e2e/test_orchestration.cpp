// Orchestration end to end: routes across three vendors' simulators with per-recipient fallback,
// receipts pushed (CAMS, VMS) and pulled (uSpeedo), faults, and normalisation, all through the
// daemon's API as separate processes.
#include "fetch.hpp"
#include "route_sandbox.hpp"
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <thread>

namespace json = boost::json;
using namespace switchboard::testing;

namespace {

int most_times(const std::map<std::string, int>& accepted) {
    int most = 0;
    for (const auto& [number, times] : accepted)
        most = std::max(most, times);
    return most;
}

} // namespace

TEST_CASE("routes: WhatsApp then SMS then voice, each recipient ends where the vendors' answers send it",
          "[e2e][routes]") {
    route_sandbox_options options;
    // CAMS takes every number and reports a refusal by receipt; uSpeedo and VMS refuse in their answer.
    options.faults["cams"] = R"({"undelivered_list": ["+85255310002", "+85255310003", "+85255310004"]})";
    options.faults["uspeedo"] = R"({"block_list": ["+85255310003", "+85255310004"]})";
    options.faults["vms"] = R"({"block_list": ["+85255310004"]})";
    options.routes["otp"] = json::array{cams_step("20s"), uspeedo_step(), vms_step("20s")};
    route_sandbox box(options);

    const std::string job = box.submit({{"route", "otp"},
                                        {"recipients", json::array{person("+85255310001", "delivered-by-whatsapp"),
                                                                   person("+85255310002", "sms-after-whatsapp"),
                                                                   person("+85255310003", "voice-after-sms"),
                                                                   person("+85255310004", "nowhere")}}});
    const json::object finished = box.wait_finished(job);
    const auto r = by_ref(box.recipients(job));

    CHECK(r.at("delivered-by-whatsapp").at("state") == "delivered");
    CHECK(steps_of(r.at("delivered-by-whatsapp")) == "cams-wa:delivered");
    CHECK(r.at("sms-after-whatsapp").at("state") == "accepted");
    CHECK(steps_of(r.at("sms-after-whatsapp")) == "cams-wa:undelivered,uspeedo-sms:accepted");
    CHECK(r.at("voice-after-sms").at("state") == "delivered");  // VMS's signed call record said so
    CHECK(steps_of(r.at("voice-after-sms")) == "cams-wa:undelivered,uspeedo-sms:failed,vms-voice:delivered");
    CHECK(r.at("nowhere").at("state") == "failed");
    CHECK(steps_of(r.at("nowhere")) == "cams-wa:undelivered,uspeedo-sms:failed,vms-voice:failed");
    // The reason names every step's own reason, in order.
    const std::string reason(r.at("nowhere").at("reason").as_string());
    CHECK(reason.find("step 0 (cams-wa, whatsapp): undelivered") != std::string::npos);
    CHECK(reason.find("step 1 (uspeedo-sms, sms): failed") != std::string::npos);
    CHECK(reason.find("step 2 (vms-voice, voice): failed") != std::string::npos);

    const json::object& counts = finished.at("counts").as_object();
    CHECK(counts.at("delivered") == 2);
    CHECK(counts.at("accepted") == 1);
    CHECK(counts.at("failed") == 1);

    // The vendors' own records: each number reached only the steps it should, and each once.
    CHECK(box.accepted_by("cams") == std::map<std::string, int>{{"85255310001", 1}, {"85255310002", 1},
                                                                 {"85255310003", 1}, {"85255310004", 1}});
    const auto sms = box.accepted_by("uspeedo");
    CHECK(sms == std::map<std::string, int>{{"85255310002", 1}});
    const auto voice = box.accepted_by("vms");
    CHECK(voice.size() == 1);
    CHECK(most_times(voice) == 1);
}

TEST_CASE("routes: a recipient whose receipt never comes moves on when the step's wait is over", "[e2e][routes][receipts]") {
    route_sandbox_options options;
    options.faults["cams"] = R"({"silent_list": ["+85255310011"]})";
    options.routes["otp"] = json::array{cams_step("1500ms"), uspeedo_step()};
    route_sandbox box(options);

    const auto started = std::chrono::steady_clock::now();
    const std::string job = box.submit({{"route", "otp"},
                                        {"recipients", json::array{person("+85255310010", "receipt-came"),
                                                                   person("+85255310011", "receipt-never-came")}}});
    box.wait_finished(job);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto r = by_ref(box.recipients(job));
    CHECK(r.at("receipt-came").at("state") == "delivered");
    CHECK(steps_of(r.at("receipt-came")) == "cams-wa:delivered");
    CHECK(r.at("receipt-never-came").at("state") == "accepted");
    CHECK(steps_of(r.at("receipt-never-came")) == "cams-wa:no_receipt,uspeedo-sms:accepted");
    CHECK(seconds >= 1.5);  // it waited for the receipt first
    std::cout << "receipt wait: job finished after " << seconds << " s (wait 1.5 s)\n";
}

TEST_CASE("routes: an undelivered receipt moves the recipient on also from a step without receipt_wait, after its job ended",
          "[e2e][routes][receipts]") {
    route_sandbox_options options;
    options.faults["cams"] = R"({"undelivered_list": ["+85255310031"]})";
    options.receipt_delay_ms = 1500;   // the receipts come after the job has ended
    options.routes["otp"] = json::array{cams_step(""), uspeedo_step()};
    route_sandbox box(options);

    const std::string job = box.submit({{"route", "otp"},
                                        {"recipients", json::array{person("+85255310030", "whatsapp-delivered"),
                                                                   person("+85255310031", "whatsapp-undelivered")}}});
    // Nothing waits for receipts on this route: the job ends with both accepted by CAMS ...
    const json::object first_end = box.wait_finished(job);
    CHECK(first_end.at("counts").at("accepted") == 2);
    // ... and CAMS's late receipts settle them: one delivered, one sent on to SMS by a job run again.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::map<std::string, json::object> r;
    while (std::chrono::steady_clock::now() < deadline) {
        r = by_ref(box.recipients(job));
        if (steps_of(r.at("whatsapp-undelivered")) == "cams-wa:undelivered,uspeedo-sms:accepted" &&
            r.at("whatsapp-delivered").at("state") == "delivered")
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(steps_of(r.at("whatsapp-delivered")) == "cams-wa:delivered");
    CHECK(r.at("whatsapp-undelivered").at("state") == "accepted");
    CHECK(steps_of(r.at("whatsapp-undelivered")) == "cams-wa:undelivered,uspeedo-sms:accepted");
    const json::object again = box.wait_finished(job);
    CHECK(again.at("counts").at("delivered") == 1);
    CHECK(again.at("counts").at("accepted") == 1);
    CHECK(box.accepted_by("uspeedo") == std::map<std::string, int>{{"85255310031", 1}});
}

TEST_CASE("routes: a recipient one vendor took and the next refused names the vendor that took it", "[e2e][routes]") {
    route_sandbox_options options;
    options.faults["cams"] = R"({"silent_list": ["+85255310031"]})";       // WhatsApp took it; no receipt comes
    options.faults["uspeedo"] = R"({"block_list": ["+85255310031"]})";     // and SMS refuses it
    options.routes["otp"] = json::array{cams_step("1s"), uspeedo_step()};
    route_sandbox box(options);
    const std::string job =
        box.submit({{"route", "otp"}, {"recipients", json::array{person("+85255310031", "taken-then-refused")}}});
    box.wait_finished(job);
    const json::object r = box.recipients(job).front();
    CHECK(r.at("state") == "accepted");
    CHECK(steps_of(r) == "cams-wa:no_receipt,uspeedo-sms:failed");
    CHECK(r.at("provider") == "cams-wa");   // before: uspeedo-sms, which refused it
    CHECK(r.at("message_id").as_string().starts_with(std::string(job)));  // CAMS's TaskId/To, for late receipts
}

TEST_CASE("receipts: a call whose answer was lost is settled by its late receipts, an undelivered one moves on",
          "[e2e][routes][receipts]") {
    // CAMS takes every call, then drops the connection before answering; its receipts still come.
    route_sandbox_options options;
    options.faults["cams"] = R"({"reset": 1, "undelivered_list": ["+85255310041"]})";
    options.routes["otp"] = json::array{cams_step(), uspeedo_step()};
    route_sandbox box(options);

    json::array people;
    for (int i = 0; i < 30; ++i)
        people.push_back(person("+852553100" + std::to_string(40 + i), "p" + std::to_string(i)));
    const std::string job = box.submit({{"route", "otp"}, {"recipients", people}});
    // The job may finish with everyone unknown before the receipts land: wait for them to settle it.
    json::object seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        seen = box.wait_finished(job);
    } while ((seen.at("counts").at("unknown") != 0 || seen.at("counts").at("accepted") != 1) &&
             std::chrono::steady_clock::now() < deadline);
    CHECK(seen.at("counts").at("unknown") == 0);   // before: all 30 stayed unknown, their receipts dropped
    CHECK(seen.at("counts").at("delivered") == 29);
    CHECK(seen.at("counts").at("accepted") == 1);
    const auto r = by_ref(box.recipients(job));
    CHECK(steps_of(r.at("p0")) == "cams-wa:delivered");
    CHECK(steps_of(r.at("p1")) == "cams-wa:undelivered,uspeedo-sms:accepted");
    CHECK(box.accepted_by("uspeedo") == std::map<std::string, int>{{"85255310041", 1}});  // once, as SMS
}

TEST_CASE("routes: an undelivered receipt pulled from uSpeedo moves the recipient on to voice", "[e2e][routes][receipts]") {
    route_sandbox_options options;
    options.faults["uspeedo"] = R"({"undelivered_list": ["+85255310021"]})";
    options.routes["otp"] = json::array{uspeedo_step("20s"), vms_step("20s")};
    route_sandbox box(options);

    const std::string job = box.submit({{"route", "otp"},
                                        {"recipients", json::array{person("+85255310020", "sms-delivered"),
                                                                   person("+85255310021", "sms-undelivered")}}});
    box.wait_finished(job);
    const auto r = by_ref(box.recipients(job));
    CHECK(r.at("sms-delivered").at("state") == "delivered");
    CHECK(steps_of(r.at("sms-delivered")) == "uspeedo-sms:delivered");
    CHECK(r.at("sms-undelivered").at("state") == "delivered");
    CHECK(steps_of(r.at("sms-undelivered")) == "uspeedo-sms:undelivered,vms-voice:delivered");
}

TEST_CASE("routes: with 20% of calls failing for a passing reason on every vendor, everyone is accepted once",
          "[e2e][routes][faults]") {
    route_sandbox_options options;
    const std::string faults = R"({"server_error": 0.1, "vendor_error": 0.1})";
    options.faults = {{"cams", faults}, {"uspeedo", faults}, {"vms", faults}};
    options.push_receipts = false;
    options.max_attempts = 12;
    options.routes["wa"] = json::array{cams_step()};
    options.routes["sms"] = json::array{uspeedo_step()};
    options.routes["voice"] = json::array{vms_step()};
    // Small calls, so that each vendor sees many of them and the faults hit often.
    for (const char* instance : {"cams-wa", "uspeedo-sms", "vms-voice"})
        options.providers_extra[instance] = {{"max_recipients_per_call", 10}};
    route_sandbox box(options);

    const json::array people = numbered_recipients(300);
    std::map<std::string, std::string> jobs;
    for (const char* route : {"wa", "sms", "voice"})
        jobs[route] = box.submit({{"route", route}, {"recipients", people}});
    int attempts = 0;
    for (const auto& [route, job] : jobs) {
        const json::object finished = box.wait_finished(job, std::chrono::seconds(120));
        INFO("route " << route);
        CHECK(finished.at("counts").at("accepted") == 300);
        for (const json::object& r : box.recipients(job))
            attempts += static_cast<int>(r.at("attempts").as_int64());
    }
    for (const char* vendor : {"cams", "uspeedo", "vms"}) {
        INFO("vendor " << vendor);
        const auto accepted = box.accepted_by(vendor);
        CHECK(accepted.size() == 300);
        CHECK(most_times(accepted) == 1);
    }
    std::cout << "faults: 900 recipients over 3 vendors, " << attempts
              << " recipient-attempts in all, duplicates accepted by any vendor: 0\n";
}

TEST_CASE("routes: numbers are read into E.164 in the job's region, invalid ones and repeats are skipped",
          "[e2e][routes][numbers]") {
    route_sandbox_options options;
    options.routes["sms"] = json::array{uspeedo_step()};
    options.default_region = "HK";
    route_sandbox box(options);

    const std::string job = box.submit(
        {{"route", "sms"},
         {"recipients", json::array{person("5531 0031", "local"), person("+852 5531 0031", "same-person"),
                                    person("12345", "too-short"), person("+852 5531 0032", "international")}}});
    box.wait_finished(job);
    const auto r = by_ref(box.recipients(job));
    CHECK(r.at("local").at("to") == "+85255310031");
    CHECK(r.at("local").at("state") == "accepted");
    CHECK(r.at("same-person").at("state") == "skipped_duplicate");
    CHECK(std::string(r.at("same-person").at("reason").as_string()).find("recipient 0") != std::string::npos);
    CHECK(r.at("too-short").at("state") == "skipped_invalid");
    CHECK(std::string(r.at("too-short").at("reason").as_string()).find("not a valid phone number") != std::string::npos);
    CHECK(r.at("international").at("to") == "+85255310032");
    CHECK(box.accepted_by("uspeedo") == std::map<std::string, int>{{"85255310031", 1}, {"85255310032", 1}});

    // Across pages too: a number a page repeats from an earlier page is skipped.
    const std::string paged = std::string(
        fetch_json("POST", box.api_url() + "/v1/jobs",
                   json::serialize(json::object{{"route", "sms"}, {"open", true},
                                                {"recipients", json::array{person("+85255310033", "p1")}}}))
            .at("id")
            .as_string());
    fetch_json("POST", box.api_url() + "/v1/jobs/" + paged + "/recipients",
               json::serialize(json::object{{"recipients", json::array{person("5531 0034", "p2"), person("5531 0033", "p3")}}}));
    fetch_json("POST", box.api_url() + "/v1/jobs/" + paged + "/start");
    box.wait_finished(paged);
    const auto p = by_ref(box.recipients(paged));
    CHECK(p.at("p1").at("state") == "accepted");
    CHECK(p.at("p2").at("state") == "accepted");
    CHECK(p.at("p3").at("state") == "skipped_duplicate");
    CHECK(std::string(p.at("p3").at("reason").as_string()).find("recipient 0") != std::string::npos);

    // A job's own region wins over the configured one.
    const std::string china = box.submit({{"route", "sms"}, {"region", "CN"},
                                          {"recipients", json::array{person("138 0013 8000", "cn")}}});
    box.wait_finished(china);
    CHECK(box.recipients(china).front().at("to") == "+8613800138000");
}

TEST_CASE("routes: a job may give its route inline, and a bad inline step is refused with its path", "[e2e][routes]") {
    route_sandbox_options options;
    options.push_receipts = false;
    options.routes["sms"] = json::array{uspeedo_step()};
    route_sandbox box(options);

    const std::string job = box.submit({{"route", json::array{vms_step()}},
                                        {"recipients", json::array{person("+85255310041", "inline")}}});
    box.wait_finished(job);
    CHECK(box.recipients(job).front().at("state") == "accepted");
    CHECK(box.accepted_by("vms").size() == 1);

    json::object wrong_channel = uspeedo_step();
    wrong_channel["channel"] = "fax";
    CHECK_THROWS_WITH(box.submit({{"route", json::array{wrong_channel}},
                                  {"recipients", json::array{person("+85255310042", "x")}}}),
                      Catch::Contains("400") && Catch::Contains("route[0].channel") && Catch::Contains("no channel 'fax'"));
}

TEST_CASE("routes: a big campaign does not starve a small job on the same provider", "[e2e][routes][fair]") {
    route_sandbox_options options;
    options.push_receipts = false;
    options.routes["wa"] = json::array{cams_step()};
    options.providers_extra["cams-wa"] = {{"max_recipients_per_call", 10}};  // 40 calls at CAMS's 10 a second
    route_sandbox box(options);

    const json::array campaign = numbered_recipients(400);
    const std::string big = box.submit({{"route", "wa"}, {"recipients", campaign}});
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const std::string small = box.submit({{"route", "wa"}, {"recipients", json::array{person("+85261990001", "urgent")}}});
    // It has arrived once its 202 is back (committed): calls the campaign had sent or begun before
    // then, however slow the intake (TSan makes it several times slower), are not overtaking.
    const auto small_submitted = std::chrono::system_clock::now();
    box.wait_finished(small);
    CHECK(fetch_json("GET", box.api_url() + "/v1/jobs/" + big).at("state") != "finished");

    // The vendor's record: how many campaign calls went out between the small job's arrival and its call.
    const std::int64_t arrived_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(small_submitted.time_since_epoch()).count();
    std::int64_t small_call_ms = 0;
    std::vector<std::int64_t> campaign_calls;
    for (const json::object& call : simulator_calls(box.simulator_url("cams"), "SendChatappMassMessage")) {
        const auto& numbers = call.at("numbers").as_array();
        if (numbers.size() == 1 && numbers.front() == "85261990001")
            small_call_ms = call.at("at_unix_ms").as_int64();
        else
            campaign_calls.push_back(call.at("at_unix_ms").as_int64());
    }
    REQUIRE(small_call_ms > 0);
    const auto overtaking = std::count_if(campaign_calls.begin(), campaign_calls.end(),
                                          [&](std::int64_t t) { return t > arrived_ms && t < small_call_ms; });
    CHECK(overtaking <= 2);
    std::cout << "fairness: the small job's call went out " << small_call_ms - arrived_ms << " ms after it arrived, "
              << overtaking << " campaign call(s) in between, " << campaign_calls.size() << " campaign calls in all\n";
    box.wait_finished(big);
}

TEST_CASE("routes: a step that may resend after an unknown outcome (VMS) gets everyone through once",
          "[e2e][routes][faults]") {
    route_sandbox_options options;
    options.faults["vms"] = R"({"reset": 0.3})";  // VMS takes the call, then the connection drops
    options.push_receipts = false;
    options.max_attempts = 12;
    json::object resend = vms_step();
    resend["on_unknown"] = "resend";
    options.routes["voice"] = json::array{resend};
    options.routes["voice-held"] = json::array{vms_step()};
    options.providers_extra["vms-voice"] = {{"max_recipients_per_call", 10}};
    route_sandbox box(options);

    const json::array people = numbered_recipients(100);
    const json::object finished = box.wait_finished(box.submit({{"route", "voice"}, {"recipients", people}}));
    CHECK(finished.at("counts").at("accepted") == 100);
    const auto accepted = box.accepted_by("vms");
    CHECK(accepted.size() == 100);
    CHECK(most_times(accepted) == 1);  // the repeats were answered REDUPLICATED_ITEM, not taken again

    // The default holds them instead: every call's answer lost, each number called once, all unknown.
    fetch_json("POST", box.simulator_url("vms") + "/_simulator/faults", R"({"reset": 1})");
    const std::size_t calls_before = simulator_calls(box.simulator_url("vms"), "SingleBatchAppend").size();
    json::array held;
    for (int i = 0; i < 12; ++i)
        held.push_back(person("+852619900" + std::to_string(10 + i), "h" + std::to_string(i)));
    const json::object finished_held = box.wait_finished(box.submit({{"route", "voice-held"}, {"recipients", held}}));
    CHECK(finished_held.at("counts").at("unknown") == 12);
    const auto calls = simulator_calls(box.simulator_url("vms"), "SingleBatchAppend");
    CHECK(calls.size() - calls_before == 2);  // 12 recipients, 10 a call, each call once
}

TEST_CASE("crash: a daemon killed while receipts arrive resumes, nobody is taken twice and the counts add up",
          "[e2e][crash][receipts]") {
    route_sandbox_options options;
    options.durable = true;
    options.routes["otp"] = json::array{cams_step("4s"), uspeedo_step()};
    route_sandbox box(options);

    constexpr int recipients = 50'000;
    const json::array people = numbered_recipients(recipients);
    const std::string job = box.submit({{"route", "otp"}, {"recipients", people}});
    // CAMS takes 10 calls of 1000 a second and pushes each call's receipts 50 ms later: kill mid-stream.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (simulator_calls(box.simulator_url("cams"), "SendChatappMassMessage").size() < 20 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    box.kill_daemon();
    const std::size_t calls_before = simulator_calls(box.simulator_url("cams"), "SendChatappMassMessage").size();
    REQUIRE(calls_before >= 20);
    REQUIRE(calls_before < 50);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // receipts pushed now find nobody listening
    box.start_daemon();

    const json::object finished = box.wait_finished(job, std::chrono::seconds(120));
    std::int64_t total = 0;
    for (const auto& [state, count] : finished.at("counts").as_object())
        total += count.as_int64();
    CHECK(total == recipients);
    const auto& counts = finished.at("counts").as_object();
    CHECK(counts.at("queued") == 0);
    CHECK(counts.at("sending") == 0);
    CHECK(counts.at("awaiting_receipt") == 0);
    const std::int64_t unknown = counts.at("unknown").as_int64();
    CHECK(unknown <= 4000);  // at most the calls in flight at the kill (calls_in_flight: 4)

    // No vendor took anyone twice; whoever CAMS never took is unknown (claimed for the call the kill
    // cut short); and whoever SMS took is someone whose WhatsApp receipt never reached the daemon
    // (it was down), so the route went on, as configured.
    const auto whatsapp = box.accepted_by("cams");
    const auto sms = box.accepted_by("uspeedo");
    CHECK(most_times(whatsapp) == 1);
    CHECK(most_times(sms) <= 1);
    CHECK(static_cast<std::int64_t>(whatsapp.size()) + unknown >= recipients);
    std::size_t sms_without_lost_receipt = 0;
    for (const json::object& r : box.recipients(job)) {
        const std::string to(r.at("to").as_string());
        if (sms.count(to.substr(1)) != 0 && steps_of(r).rfind("cams-wa:no_receipt,uspeedo-sms:", 0) != 0)
            ++sms_without_lost_receipt;
    }
    CHECK(sms_without_lost_receipt == 0);
    std::cout << "crash while receipts arrive: " << calls_before << " WhatsApp calls before the kill; delivered "
              << counts.at("delivered").as_int64() << ", accepted " << counts.at("accepted").as_int64()
              << " (of them by SMS after a lost receipt: " << sms.size() << "), unknown " << unknown << "\n";
}

TEST_CASE("receipts: a URL with a receipt_token takes only callbacks that carry it, forged VMS callbacks are refused",
          "[e2e][routes][receipts][auth]") {
    route_sandbox_options options;
    options.receipt_tokens["cams-wa"] = "cams-receipt-token-0123456789";
    options.routes["otp"] = json::array{cams_step("20s"), uspeedo_step()};
    options.routes["voice"] = json::array{vms_step()};
    route_sandbox box(options);

    // The simulator's URL carries the token: its receipts are applied.
    const std::string job = box.submit({{"route", "otp"}, {"recipients", json::array{person("+85255310051", "a")}}});
    box.wait_finished(job);
    CHECK(box.recipients(job).front().at("state") == "delivered");

    const std::string receipt = R"([{"MessageId": "m", "To": "85255310051", "Status": "Failed", "TaskId": "t"}])";
    const auto post = [&](const std::string& path) {
        return fetch("POST", box.api_url() + path, receipt).response.status;
    };
    CHECK(post("/v1/receipts/cams-wa") == 401);
    CHECK(post("/v1/receipts/cams-wa?token=wrong-token-0123456789") == 401);
    CHECK(post("/v1/receipts/cams-wa?token=cams-receipt-token-0123456789") == 200);
    CHECK(post("/v1/receipts/nobody") == 404);
    // VMS signs its callbacks: one without a valid authCode is refused, and changes nothing. The
    // unauthenticated caller is not told what a valid signature needs.
    const switchboard::core::http_result forged =
        fetch("POST", box.api_url() + "/v1/receipts/vms-voice?timestamp=1&authCode=forged", receipt);
    CHECK(forged.response.status == 401);
    CHECK(json::parse(forged.response.body).at("message") == "the callback failed verification");
    CHECK(forged.response.body.find("authCode") == std::string::npos);
    CHECK(box.recipients(job).front().at("state") == "delivered");

    // And VMS's real, signed callbacks are applied: the voice call reports delivered.
    const std::string call = box.submit({{"route", "voice"}, {"recipients", json::array{person("+85255310052", "v")}}});
    box.wait_finished(call);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (box.recipients(call).front().at("state") != "delivered" && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(box.recipients(call).front().at("state") == "delivered");
}

TEST_CASE("routes: a cancel during a receipt wait stops the route: nobody moves on to the next step",
          "[e2e][routes][receipts]") {
    route_sandbox_options options;
    options.faults["cams"] = R"({"silent_list": ["+85255310061"]})";
    options.routes["otp"] = json::array{cams_step("1s"), uspeedo_step()};
    route_sandbox box(options);

    const std::string job = box.submit({{"route", "otp"}, {"recipients", json::array{person("+85255310061", "silent")}}});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (fetch_json("GET", box.api_url() + "/v1/jobs/" + job).at("counts").at("awaiting_receipt") != 1 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    fetch_json("POST", box.api_url() + "/v1/jobs/" + job + "/cancel");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the wait
    const json::object r = box.recipients(job).front();
    CHECK(r.at("state") == "accepted");
    CHECK(std::string(r.at("reason").as_string()).find("cancelled while this recipient waited") != std::string::npos);
    CHECK(box.accepted_by("uspeedo").empty());
    CHECK(box.wait_finished(job).at("state") == "finished");
}

TEST_CASE("routes: the suppression list keeps its addresses from their channels, also in a later page, in another "
          "spelling, and at a step a recipient reaches later",
          "[e2e][routes][suppression]") {
    route_sandbox_options options;
    options.default_region = "HK";
    options.faults["cams"] = R"({"undelivered_list": ["+85255310064"]})";   // it goes on to SMS, then voice
    options.routes["fallback"] = json::array{cams_step(), uspeedo_step(), vms_step()};
    route_sandbox box(options);
    const json::value added = fetch_json(
        "POST", box.api_url() + "/v1/suppressions",
        json::serialize(json::object{{"entries", json::array{
            {{"address", "+852 5531 0061"}, {"reason", "opted out"}},                  // every channel
            {{"address", "55310062"}, {"channel", "whatsapp"}, {"reason", "blocked the business"}},
            {{"address", "+85255310064"}, {"channel", "sms"}, {"reason", "STOP"}},
            {{"address", "+852-5531-0065"}}}}}));
    CHECK(added.at("added") == 4);

    const std::string job(fetch_json("POST", box.api_url() + "/v1/jobs",
                                     json::serialize(json::object{{"route", "fallback"}, {"open", true}}))
                              .at("id").as_string());
    const std::string job_url = box.api_url() + "/v1/jobs/" + job;
    fetch_json("POST", job_url + "/recipients",
               json::serialize(json::object{{"recipients", json::array{person("+85255310061", "everywhere"),
                                                                       person("+85255310062", "no-whatsapp"),
                                                                       person("+85255310063", "free"),
                                                                       person("+85255310064", "no-sms")}}}));
    fetch_json("POST", job_url + "/recipients",
               json::serialize(json::object{{"recipients", json::array{person("5531 0065", "later-page")}}}));
    fetch_json("POST", job_url + "/start");
    // WhatsApp's undelivered receipt for no-sms comes after the job first ends, and sends it on.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::map<std::string, json::object> r;
    do {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        box.wait_finished(job);
        r = by_ref(box.recipients(job));
    } while (steps_of(r.at("no-sms")).find("vms-voice:") == std::string::npos);

    CHECK(r.at("everywhere").at("state") == "skipped_suppressed");
    CHECK(steps_of(r.at("everywhere")) == "cams-wa:suppressed,uspeedo-sms:suppressed,vms-voice:suppressed");
    CHECK(std::string(r.at("everywhere").at("reason").as_string()).find("every channel") != std::string::npos);
    CHECK(r.at("later-page").at("state") == "skipped_suppressed");
    CHECK(r.at("later-page").at("to") == "+85255310065");
    CHECK(r.at("no-whatsapp").at("provider") == "uspeedo-sms");
    CHECK(steps_of(r.at("no-whatsapp")).rfind("cams-wa:suppressed,uspeedo-sms:", 0) == 0);
    CHECK(std::string(r.at("no-whatsapp").at("steps").at(0).at("reason").as_string()).find("blocked the business") !=
          std::string::npos);
    CHECK(r.at("free").at("provider") == "cams-wa");
    // Refused by WhatsApp's receipt, kept from SMS when it got there, called instead.
    CHECK(steps_of(r.at("no-sms")).rfind("cams-wa:undelivered,uspeedo-sms:suppressed,vms-voice:", 0) == 0);

    // What the vendors themselves saw (numbers as they record them, without the +): nobody on the
    // list for a channel reached that channel's vendor.
    CHECK(box.accepted_by("cams") == std::map<std::string, int>{{"85255310063", 1}, {"85255310064", 1}});
    CHECK(box.accepted_by("uspeedo") == std::map<std::string, int>{{"85255310062", 1}});
    const std::map<std::string, int> on_voice = box.accepted_by("vms");
    REQUIRE(on_voice.size() == 1);
    CHECK(on_voice.begin()->first.find("55310064") != std::string::npos);
}

TEST_CASE("routes: an address put on the suppression list while its job waits for its send_at is not sent",
          "[e2e][routes][suppression]") {
    route_sandbox_options options;
    options.routes["sms"] = json::array{uspeedo_step()};
    route_sandbox box(options);
    const std::time_t in_two_seconds = std::time(nullptr) + 2;
    std::tm utc{};
    gmtime_r(&in_two_seconds, &utc);
    char send_at[32];
    std::strftime(send_at, sizeof send_at, "%Y-%m-%dT%H:%M:%SZ", &utc);
    const std::string job = box.submit({{"route", "sms"}, {"send_at", send_at},
                                        {"recipients", json::array{person("+85255310071", "opted-out-since"),
                                                                   person("+85255310072", "still-in")}}});
    fetch_json("POST", box.api_url() + "/v1/suppressions",
               R"({"entries": [{"address": "+85255310071", "channel": "sms", "reason": "replied STOP"}]})");
    box.wait_finished(job);
    const auto r = by_ref(box.recipients(job));
    CHECK(r.at("opted-out-since").at("state") == "skipped_suppressed");
    CHECK(std::string(r.at("opted-out-since").at("reason").as_string()).find("replied STOP") != std::string::npos);
    CHECK(r.at("still-in").at("state") == "accepted");
    CHECK(box.accepted_by("uspeedo") == std::map<std::string, int>{{"85255310072", 1}});
}

TEST_CASE("routes: a receipt whose code the configuration names as an opt-out puts the address on the suppression "
          "list for that channel, and the next job skips it there",
          "[e2e][routes][suppression][receipts]") {
    route_sandbox_options options;
    options.faults["cams"] = R"({"undelivered_list": ["+85255310081"]})";   // undelivered with code 131026
    options.providers_extra["cams-wa"] = {{"suppress_on_codes", json::array{"131026"}}};
    options.routes["fallback"] = json::array{cams_step(), uspeedo_step()};
    route_sandbox box(options);

    const std::string first = box.submit({{"route", "fallback"}, {"recipients", json::array{person("+85255310081", "p")}}});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    json::array listed;
    while ((listed = fetch_json("GET", box.api_url() + "/v1/suppressions").at("suppressions").as_array()).empty()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(listed.size() == 1);
    CHECK(listed.at(0).at("address") == "+85255310081");
    CHECK(listed.at(0).at("channel") == "whatsapp");
    CHECK(std::string(listed.at(0).at("reason").as_string()).find("reported by cams-wa in a receipt: 131026") !=
          std::string::npos);
    box.wait_finished(first);

    const std::string second = box.submit({{"route", "fallback"}, {"recipients", json::array{person("+85255310081", "p")}}});
    box.wait_finished(second);
    CHECK(steps_of(by_ref(box.recipients(second)).at("p")).rfind("cams-wa:suppressed,uspeedo-sms:", 0) == 0);
    CHECK(box.accepted_by("cams") == std::map<std::string, int>{{"85255310081", 1}});   // the first job's only
}

TEST_CASE("routes: a provider failing half its calls opens its circuit, its recipients move on without waiting out "
          "retries, and one probe closes it when the vendor recovers",
          "[e2e][routes][circuit]") {
    route_sandbox_options options;
    options.max_attempts = 5;
    options.faults["cams"] = R"({"server_error": 0.5})";
    options.providers_extra["cams-wa"] = {
        {"max_recipients_per_call", 10},
        {"circuit_breaker", {{"failure_ratio", 0.5}, {"window_calls", 10}, {"min_calls", 4}, {"cool_down_ms", 3000}}}};
    options.routes["fallback"] = json::array{cams_step(), uspeedo_step()};
    route_sandbox box(options);
    const auto circuit = [&box] {
        const json::value providers = fetch_json("GET", box.api_url() + "/v1/providers");
        for (const json::value& p : providers.at("providers").as_array())
            if (p.at("name") == "cams-wa")
                return json::object(p.at("circuit").as_object());
        throw std::runtime_error("no provider cams-wa");
    };
    CHECK(circuit().at("state") == "closed");

    json::array people;
    for (int i = 0; i < 300; ++i)
        people.push_back(person("+852553" + std::to_string(20000 + i), "p" + std::to_string(i)));
    const std::int64_t submitted_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string job = box.submit({{"route", "fallback"}, {"recipients", people}});
    box.wait_finished(job);
    const json::object opened = circuit();
    CHECK(opened.at("state") == "open");
    CHECK(opened.at("recent_failures").as_int64() >= 2);

    // Everyone got through once, most of them by SMS once WhatsApp's circuit opened.
    std::size_t moved_at_once = 0;
    for (const json::object& r : box.recipients(job)) {
        CHECK((r.at("state") == "accepted" || r.at("state") == "delivered"));
        const std::string steps = steps_of(r);
        if (steps.rfind("cams-wa:failed", 0) == 0 &&
            std::string(r.at("steps").at(0).at("code").as_string()) == "circuit_open")
            ++moved_at_once;
    }
    CHECK(moved_at_once > 0);
    const auto on_whatsapp = box.accepted_by("cams");
    const auto on_sms = box.accepted_by("uspeedo");
    CHECK(on_whatsapp.size() + on_sms.size() == 300);
    CHECK(most_times(on_whatsapp) <= 1);
    CHECK(most_times(on_sms) <= 1);
    // Without the breaker each of the 30 calls' worth would have been tried up to 5 times.
    const std::size_t whatsapp_calls =
        fetch_json("GET", box.simulator_url("cams") + "/_simulator/calls").as_array().size();
    CHECK(whatsapp_calls < 30);

    // The vendor recovers; after the cool-down the next call probes it and the circuit closes.
    fetch_json("POST", box.simulator_url("cams") + "/_simulator/faults", "{}");
    const auto now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
    while (now_ms() < opened.at("since_ms").as_int64() + 3100)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::int64_t recovered_ms = now_ms();
    const auto people_from = [](int first, int count) {
        json::array out;
        for (int i = first; i < first + count; ++i)
            out.push_back(person("+852553" + std::to_string(i), "q" + std::to_string(i)));
        return out;
    };
    const std::string probe = box.submit({{"route", "fallback"}, {"recipients", people_from(21000, 10)}});   // one call
    box.wait_finished(probe);
    const json::object closed = circuit();
    CHECK(closed.at("state") == "closed");
    for (const json::object& r : box.recipients(probe))
        CHECK(r.at("provider") == "cams-wa");
    const std::string after = box.submit({{"route", "fallback"}, {"recipients", people_from(22000, 30)}});
    box.wait_finished(after);
    for (const json::object& r : box.recipients(after))
        CHECK(r.at("provider") == "cams-wa");
    const std::string metrics = fetch("GET", box.api_url() + "/metrics").response.body;
    CHECK(metrics.find(R"(switchboard_circuit_changes_total{provider="cams-wa",state="half_open"})") != std::string::npos);
    CHECK(metrics.find(R"(switchboard_circuit_open{provider="cams-wa"} 0)") != std::string::npos);
    std::cout << "circuit: opened " << opened.at("since_ms").as_int64() - submitted_ms << " ms after the job was submitted ("
              << opened.at("recent_failures").as_int64() << " of " << opened.at("recent_calls").as_int64()
              << " calls failed), " << moved_at_once << " of 300 recipients moved on without a call, " << whatsapp_calls
              << " WhatsApp calls in all; closed " << closed.at("since_ms").as_int64() - recovered_ms
              << " ms after the probe's job came, the cool-down over and the vendor recovered\n";
}
