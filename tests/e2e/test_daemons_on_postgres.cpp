// Several daemons on one PostgreSQL store, as separate processes with the vendors' simulators: a
// daemon killed mid-send, a daemon paused past its lease, the database server killed mid-job, and
// a vendor's rate held over all of them, receipts taken by one daemon for what another sent. What the vendor took comes from the simulators' own
// records; what each daemon did, from its /metrics.
#include "cams_rate_spec.hpp"
#include "route_sandbox.hpp"
#include "sandbox.hpp"

#include <postgres_database.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <signal.h>
#include <sys/wait.h>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace switchboard::testing;

namespace {

constexpr std::int64_t lease_ms = 3000;

// A daemon of the fleet beyond the sandbox's own, on a configuration file of its own.
struct daemon_process {
    std::unique_ptr<child_process> process;
    std::string api_url;
};

daemon_process start_daemon(const fs::path& config, const std::string& name) {
    daemon_process d;
    d.process = std::make_unique<child_process>(
        std::vector<std::string>{SWITCHBOARD_BINARY, "serve", "--config", config.string()},
        (config.parent_path() / (name + ".log")).string());
    d.api_url = wait_for_listening(*d.process);
    return d;
}

// A copy of a daemon's configuration file, changed by `change`, beside it.
fs::path config_like(const fs::path& original, const std::string& name, const std::function<void(json::object&)>& change) {
    std::ifstream in(original);
    std::stringstream text;
    text << in.rdbuf();
    json::object config = json::parse(text.str()).as_object();
    change(config);
    const fs::path file = original.parent_path() / (name + ".json");
    std::ofstream(file) << json::serialize(config);
    return file;
}

json::object on_store(const std::string& url, std::int64_t lease = lease_ms) {
    return {{"store", {{"postgres", url}, {"lease_ms", lease}}}};
}

// The sum of a metric's samples on a daemon's /metrics (those whose labels hold `labels`, when given).
double metric(const std::string& api_url, const std::string& name, const std::string& labels = {}) {
    const std::string text = fetch("GET", api_url + "/metrics").response.body;
    double total = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if ((line.rfind(name + " ", 0) == 0 || line.rfind(name + "{", 0) == 0) &&
            line.find(labels, name.size()) != std::string::npos)
            total += std::stod(line.substr(line.rfind(' ') + 1));
    return total;
}

// Recipients a daemon put into vendor calls.
double recipients_sent_by(const std::string& api_url) { return metric(api_url, "switchboard_vendor_call_recipients_total"); }

// How many numbers the vendors accepted, and how many of them more than once, over simulators.
struct vendor_view {
    std::size_t calls = 0;
    std::size_t accepted = 0;
    std::size_t accepted_twice = 0;
};

vendor_view what_the_vendors_took(const std::vector<std::string>& simulator_urls) {
    std::map<std::string, int> times;
    vendor_view view;
    for (const std::string& url : simulator_urls)
        for (const json::object& call : simulator_calls(url, "SendBatchUSMSMessage")) {
            ++view.calls;
            for (const json::value& number : call.at("accepted").as_array())
                ++times[std::string(number.as_string())];
        }
    for (const auto& [number, n] : times) {
        ++view.accepted;
        view.accepted_twice += n > 1 ? 1 : 0;
    }
    return view;
}

// Every recipient final, none left queued or in a call; returns the job's counts.
json::object check_all_final(const json::object& finished, std::int64_t recipients) {
    const json::object& counts = finished.at("counts").as_object();
    std::int64_t total = 0;
    for (const auto& [state, n] : counts)
        total += n.as_int64();
    CHECK(total == recipients);
    CHECK(counts.at("queued") == 0);
    CHECK(counts.at("sending") == 0);
    CHECK(counts.at("accepted").as_int64() + counts.at("unknown").as_int64() == recipients);
    return counts;
}

// Polls the job until it is finished, through answers of 503 while the store is away.
json::object wait_finished_through_outage(const std::string& api_url, const std::string& job_id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    for (;;) {
        const auto answer = fetch("GET", api_url + "/v1/jobs/" + job_id);
        if (answer.ok() && answer.response.status == 200) {
            json::object job = json::parse(answer.response.body).as_object();
            if (job.at("state") == "finished")
                return job;
        } else if (answer.response.status != 503) {
            throw std::runtime_error("GET job " + job_id + ": " + answer.error + " " + answer.response.body);
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("job " + job_id + " not finished in time");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

template <class F>
void wait_until(F ready, const std::string& what, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ready()) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("gave up waiting for " + what);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

} // namespace

TEST_CASE("daemons: three daemons on one PostgreSQL send a 100,000-recipient job: one killed mid-send, the others "
          "finish it and nobody is sent twice", "[e2e][postgres]") {
    postgres_database db;
    sandbox_options options;
    options.faults_json = R"({"delay": 1, "delay_ms": 200})";   // the kill lands mid-send
    options.config = on_store(db.url());
    uspeedo_sandbox box(options);
    daemon_process second = start_daemon(box.config_file(), "second");
    daemon_process third = start_daemon(box.config_file(), "third");

    constexpr std::int64_t recipients = 100'000;
    const std::string job = box.submit(numbered_recipients(recipients));
    wait_until([&] { return recipients_sent_by(second.api_url) >= 2000; }, "the second daemon's first calls");
    second.process->stop(SIGKILL);
    const std::size_t calls_at_kill = box.send_calls().size();
    REQUIRE(calls_at_kill < 100);   // mid-send

    const json::object finished = wait_job_finished(third.api_url, job, std::chrono::seconds(240));
    const json::object counts = check_all_final(finished, recipients);
    const std::int64_t unknown = counts.at("unknown").as_int64();
    CHECK(unknown <= 4000);   // at most the killed daemon's calls in flight (calls_in_flight: 4 of 1000)
    const vendor_view vendor = what_the_vendors_took({box.simulator_url()});
    CHECK(vendor.accepted_twice == 0);
    CHECK(static_cast<std::int64_t>(vendor.accepted) >= counts.at("accepted").as_int64());
    CHECK(static_cast<std::int64_t>(vendor.accepted) <= counts.at("accepted").as_int64() + unknown);
    std::cout << "daemons (a): " << recipients << " recipients, " << vendor.calls << " calls, " << calls_at_kill
              << " before the kill, busiest second " << busiest_second(box.send_calls()) << " calls; unknown "
              << unknown << "; vendor took " << vendor.accepted
              << " numbers, none twice; sent by the first " << recipients_sent_by(box.api_url()) << ", the third "
              << recipients_sent_by(third.api_url) << "\n";
}

TEST_CASE("daemons: a daemon paused past its lease sends nothing more once it resumes, and stops with status 75",
          "[e2e][postgres]") {
    postgres_database db;
    sandbox_options options;
    options.faults_json = R"({"delay": 1, "delay_ms": 1000})";
    options.config = on_store(db.url());
    uspeedo_sandbox box(options);
    // The paused daemon calls a simulator of its own: its records are what it sent.
    child_process own_simulator({USPEEDO_SIMULATOR, "--listen", "127.0.0.1:0", "--faults", options.faults_json,
                                 "--receipt-delay-ms", "0"},
                                (box.config_file().parent_path() / "paused-simulator.log").string());
    const std::string own_simulator_url = wait_for_listening(own_simulator);
    const fs::path paused_config = config_like(box.config_file(), "paused", [&](json::object& config) {
        config["providers"].as_object()["main"].as_object()["config"].as_object()["endpoint"] = own_simulator_url;
    });
    daemon_process paused = start_daemon(paused_config, "paused");

    constexpr std::int64_t recipients = 40'000;
    const std::string job = box.submit(numbered_recipients(recipients));
    wait_until([&] { return simulator_calls(own_simulator_url, "SendBatchUSMSMessage").size() >= 2; },
               "the paused daemon's first calls");
    ::kill(paused.process->pid(), SIGSTOP);
    // Past its lease, and long enough for the other daemon to notice and take over.
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * lease_ms + 1000));
    const std::size_t sent_while_paused = simulator_calls(own_simulator_url, "SendBatchUSMSMessage").size();
    ::kill(paused.process->pid(), SIGCONT);
    const int status = paused.process->stop(0);   // it stops on its own, finding its lease ended
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 75);
    CHECK(simulator_calls(own_simulator_url, "SendBatchUSMSMessage").size() == sent_while_paused);

    const json::object finished = box.wait_finished(job, std::chrono::seconds(240));
    const json::object counts = check_all_final(finished, recipients);
    CHECK(counts.at("unknown").as_int64() <= 4000);   // the paused daemon's calls in flight at most
    const vendor_view vendor = what_the_vendors_took({box.simulator_url(), own_simulator_url});
    CHECK(vendor.accepted_twice == 0);
    std::cout << "daemons (b): " << recipients << " recipients; the paused daemon made " << sent_while_paused
              << " calls, none after it resumed; unknown " << counts.at("unknown").as_int64() << "; "
              << vendor.calls << " calls in all (busiest second " << busiest_second(box.send_calls())
              << " at the others' simulator), no number twice\n";
}

TEST_CASE("daemons: PostgreSQL killed mid-job and started again: the daemons answer 503 meanwhile, reconnect, and "
          "finish with nothing lost", "[e2e][postgres]") {
    // A cluster of this test's own: killing the fixture's would break the tests beside it.
    const fs::path cluster = fs::temp_directory_path() / ("switchboard-postmaster-kill-" + std::to_string(::getpid()));
    const auto cluster_script = [&](const std::string& command) {
        const std::string line = "bash " SWITCHBOARD_POSTGRES_CLUSTER_SCRIPT " " + command + " " + cluster.string() +
                                 " >" + cluster.string() + "-" + command + ".log 2>&1";
        REQUIRE(std::system(line.c_str()) == 0);
    };
    cluster_script("start");
    struct stop_at_end {
        fs::path cluster;
        ~stop_at_end() {
            if (std::system(("bash " SWITCHBOARD_POSTGRES_CLUSTER_SCRIPT " stop " + cluster.string()).c_str()) != 0)
                std::cerr << "could not stop the cluster in " << cluster << "\n";
        }
    } stopper{cluster};
    std::string url, data;
    std::getline(std::ifstream(cluster / "url"), url);
    std::getline(std::ifstream(cluster / "cluster"), data);

    sandbox_options options;
    options.faults_json = R"({"delay": 1, "delay_ms": 300})";
    options.config = on_store(url, 20'000);   // a lease longer than the outage
    uspeedo_sandbox box(options);
    daemon_process second = start_daemon(box.config_file(), "second");
    daemon_process third = start_daemon(box.config_file(), "third");

    constexpr std::int64_t recipients = 60'000;
    const std::string job = box.submit(numbered_recipients(recipients));
    wait_until([&] { return box.send_calls().size() >= 5; }, "the first calls");

    std::string postmaster;
    std::getline(std::ifstream(fs::path(data) / "data" / "postmaster.pid"), postmaster);
    REQUIRE(::kill(std::stoi(postmaster), SIGKILL) == 0);
    int unavailable = 0;
    wait_until([&] {
        for (const std::string& api : {box.api_url(), second.api_url, third.api_url})
            unavailable += fetch("GET", api + "/v1/jobs/" + job).response.status == 503 ? 1 : 0;
        return unavailable >= 3;
    }, "503 from the daemons while the database is down", std::chrono::seconds(30));
    const std::size_t calls_in_outage = box.send_calls().size();
    cluster_script("restart");

    const json::object finished = wait_finished_through_outage(second.api_url, job);
    const json::object counts = check_all_final(finished, recipients);
    CHECK(counts.at("unknown").as_int64() <= 12'000);   // at most the calls in flight of three daemons
    const vendor_view vendor = what_the_vendors_took({box.simulator_url()});
    CHECK(vendor.accepted_twice == 0);
    CHECK(static_cast<std::int64_t>(vendor.accepted) >= counts.at("accepted").as_int64());
    std::cout << "daemons (c): " << recipients << " recipients; postmaster killed after " << calls_in_outage
              << " calls; " << unavailable << " answers of 503 while down; accepted "
              << counts.at("accepted").as_int64() << ", unknown " << counts.at("unknown").as_int64() << "; "
              << vendor.calls << " calls (busiest second " << busiest_second(box.send_calls())
              << "), no number twice\n";
}

TEST_CASE("daemons: three daemons calling CAMS never give it more than 10 calls in a second", "[e2e][postgres][rate]") {
    postgres_database db;
    sandbox_spec spec = cams_rate_limit_spec();
    spec.config = on_store(db.url());
    sandbox box(spec);
    daemon_process second = start_daemon(box.config_file(), "second");
    daemon_process third = start_daemon(box.config_file(), "third");
    // Everyone in the fleet before the job: each takes its share from the first call.
    wait_until([&] { return metric(box.api_url(), "switchboard_daemons") == 3; }, "three daemons in the fleet");

    const std::string job = box.submit(numbered_recipients(60'000));   // 60 calls of 1000
    const json::object finished = box.wait_finished(job, std::chrono::seconds(120));
    CHECK(finished.at("counts").at("accepted") == 60'000);

    // 60 calls of 1000, and a few more where a daemon done with its own share helped with another's
    // as the job ended (under load, the slowest daemon's last calls meet the others'): every number
    // once, and no call refused for going over the limit.
    const std::vector<json::object> calls = box.calls("SendChatappMassMessage");
    CHECK(calls.size() >= 60);
    std::set<std::string> numbers;
    std::size_t numbers_sent = 0;
    for (const json::object& call : calls) {
        CHECK_FALSE(call.contains("problem"));
        for (const json::value& number : call.at("numbers").as_array()) {
            numbers.insert(std::string(number.as_string()));
            ++numbers_sent;
        }
    }
    CHECK(numbers_sent == 60'000);
    CHECK(numbers.size() == 60'000);
    const std::size_t busiest = busiest_second(calls);
    CHECK(busiest <= 10);
    const double sent[] = {recipients_sent_by(box.api_url()), recipients_sent_by(second.api_url),
                           recipients_sent_by(third.api_url)};
    std::cout << "daemons (d): " << calls.size() << " calls to CAMS from three daemons (" << sent[0] / 1000 << ", " << sent[1] / 1000
              << ", " << sent[2] / 1000 << "), busiest second " << busiest << " calls, achieved "
              << calls_per_second(calls)
              << " calls/s\n";
}

TEST_CASE("daemons: a cancel through one daemon stops the sending of all, a one-recipient job passes a campaign, and "
          "a key sent to two daemons at once makes one job", "[e2e][postgres]") {
    postgres_database db;
    sandbox_options options;
    options.faults_json = R"({"delay": 1, "delay_ms": 500})";
    options.config = on_store(db.url());
    uspeedo_sandbox box(options);
    daemon_process second = start_daemon(box.config_file(), "second");
    wait_until([&] { return metric(box.api_url(), "switchboard_daemons") == 2; }, "two daemons in the fleet");

    constexpr std::int64_t recipients = 100'000;
    const std::string campaign = box.submit(numbered_recipients(recipients));
    wait_until([&] { return box.send_calls().size() >= 4; }, "the campaign's first calls");

    // One recipient, through the other daemon: done while the campaign still sends.
    json::array one;
    one.push_back({{"to", "+85269999999"}, {"params", {{"code", "424242"}}}});
    const json::value urgent = fetch_json("POST", second.api_url + "/v1/jobs",
                                          json::serialize(json::object{{"route", "otp"}, {"recipients", one}}));
    const json::object urgent_done = wait_job_finished(second.api_url, std::string(urgent.at("id").as_string()));
    CHECK(urgent_done.at("counts").at("accepted") == 1);
    CHECK(fetch_json("GET", box.api_url() + "/v1/jobs/" + campaign).at("state") != "finished");

    // The cancel goes to the second daemon; both stop.
    const json::value cancelled = fetch_json("POST", second.api_url + "/v1/jobs/" + campaign + "/cancel");
    CHECK(cancelled.at("cancelled").as_int64() > 0);
    const json::object finished = box.wait_finished(campaign);
    const json::object& counts = finished.at("counts").as_object();
    CHECK(counts.at("accepted").as_int64() + counts.at("cancelled").as_int64() + counts.at("unknown").as_int64() ==
          recipients);
    // Nobody the job calls cancelled reached the vendor, whichever daemon had their share.
    std::set<std::string> taken;
    for (const json::object& call : box.send_calls())
        for (const json::value& number : call.at("accepted").as_array())
            taken.insert(std::string(number.as_string()));
    std::size_t cancelled_but_sent = 0;
    for (const json::object& r : box.recipients(campaign, "cancelled"))
        cancelled_but_sent += taken.count(std::string(r.at("to").as_string()));
    CHECK(cancelled_but_sent == 0);
    CHECK(static_cast<std::int64_t>(taken.size()) == counts.at("accepted").as_int64() + 1);   // and the urgent one

    // The same request under one key, to both daemons at once: one job, and both answer with it.
    const std::string body =
        json::serialize(json::object{{"route", "otp"}, {"idempotency_key", "order-7731"}, {"recipients", one}});
    const auto submit = [&](const std::string& api, std::string& id) {
        try {
            id = json::serialize(fetch_json("POST", api + "/v1/jobs", body).at("id"));
        } catch (const std::exception& e) {
            id = e.what();
        }
    };
    std::string first_id, second_id;
    {
        std::jthread a([&] { submit(box.api_url(), first_id); });
        std::jthread b([&] { submit(second.api_url, second_id); });
    }
    CHECK(first_id == second_id);
    CHECK(db.value("SELECT COUNT(*) FROM jobs WHERE idempotency_key LIKE '%order-7731'") == "1");
    std::cout << "daemons (cancel): " << counts.at("accepted").as_int64() << " accepted before the cancel, "
              << counts.at("cancelled").as_int64() << " cancelled, none of them sent; the urgent job done mid-campaign\n";
}

TEST_CASE("daemons: receipts pushed to one daemon settle what the other sent, pulled receipts come in, and every "
          "recipient ends where the vendors' answers send it", "[e2e][postgres][receipts]") {
    postgres_database db;
    route_sandbox_options options;
    // CAMS takes every number and reports a refusal by receipt; uSpeedo and VMS refuse in their answer.
    options.faults["cams"] = R"({"undelivered_list": ["+85255310002", "+85255310003", "+85255310004"]})";
    options.faults["uspeedo"] = R"({"block_list": ["+85255310003", "+85255310004"]})";
    options.faults["vms"] = R"({"block_list": ["+85255310004"]})";
    options.routes["otp"] = json::array{cams_step("20s"), uspeedo_step("20s"), vms_step("20s")};
    options.config = on_store(db.url());
    route_sandbox box(options);
    // The vendors push their receipts to the first daemon only; the second listens elsewhere.
    const fs::path second_config =
        config_like(box.config_file(), "second", [](json::object& config) { config["listen"] = "127.0.0.1:0"; });
    daemon_process second = start_daemon(second_config, "second");
    wait_until([&] { return metric(box.api_url(), "switchboard_daemons") == 2; }, "two daemons in the fleet");

    // Through the second daemon, which starts sending at once (the first looks every quarter lease).
    const json::object submitted{{"route", "otp"},
                                 {"recipients", json::array{person("+85255310001", "delivered-by-whatsapp"),
                                                            person("+85255310002", "sms-after-whatsapp"),
                                                            person("+85255310003", "voice-after-sms"),
                                                            person("+85255310004", "nowhere")}}};
    const std::string job(fetch_json("POST", second.api_url + "/v1/jobs", json::serialize(submitted)).at("id").as_string());
    box.wait_finished(job);
    const auto r = by_ref(box.recipients(job));
    CHECK(steps_of(r.at("delivered-by-whatsapp")) == "cams-wa:delivered");
    CHECK(r.at("sms-after-whatsapp").at("state") == "delivered");   // its receipt pulled from uSpeedo
    CHECK(steps_of(r.at("sms-after-whatsapp")) == "cams-wa:undelivered,uspeedo-sms:delivered");
    CHECK(steps_of(r.at("voice-after-sms")) == "cams-wa:undelivered,uspeedo-sms:failed,vms-voice:delivered");
    CHECK(r.at("nowhere").at("state") == "failed");
    CHECK(steps_of(r.at("nowhere")) == "cams-wa:undelivered,uspeedo-sms:failed,vms-voice:failed");
    // The second daemon sent its share, and its recipients' receipts came to the first.
    CHECK(recipients_sent_by(second.api_url) > 0);
    CHECK(metric(second.api_url, "switchboard_receipts_total", R"(provider="cams-wa")") == 0);
    CHECK(metric(box.api_url(), "switchboard_receipts_total", R"(provider="cams-wa")") >= 4);
    for (const auto& [number, times] : box.accepted_by("cams"))
        CHECK(times == 1);
    CHECK(box.accepted_by("uspeedo") == std::map<std::string, int>{{"85255310002", 1}});
}

TEST_CASE("daemons: a daemon whose configuration lacks a job's provider leaves the job to the daemons that have it",
          "[e2e][postgres]") {
    postgres_database db;
    sandbox_options options;
    options.faults_json = R"({"delay": 1, "delay_ms": 100})";
    options.config = on_store(db.url());
    uspeedo_sandbox box(options);
    // A configuration rolled out to one host first: its only instance has another name.
    const fs::path renamed = config_like(box.config_file(), "renamed", [](json::object& config) {
        json::object& providers = config["providers"].as_object();
        providers["other"] = providers["main"];
        providers.erase("main");
        config["routes"].as_object()["otp"].as_array()[0].as_object()["provider"] = "other";
    });
    daemon_process second = start_daemon(renamed, "renamed");
    wait_until([&] { return metric(box.api_url(), "switchboard_daemons") == 2; }, "two daemons in the fleet");

    const std::string job = box.submit(numbered_recipients(10'000));
    const json::object finished = box.wait_finished(job);
    CHECK(finished.at("counts").at("accepted") == 10'000);   // none failed as unroutable by the second
    CHECK(recipients_sent_by(second.api_url) == 0);
    CHECK(what_the_vendors_took({box.simulator_url()}).accepted_twice == 0);
}
