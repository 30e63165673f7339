// CAMS end to end: the daemon and the CAMS simulator as separate processes on loopback; the
// simulator's own records say what the vendor received. CAMS takes a whole batch and reports a
// refused number only in its pushed receipt, so block-listed numbers are accepted here and show
// up in the simulator's record as "blocked".
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include <signal.h>
#include <unistd.h>

namespace json = boost::json;
using namespace switchboard::testing;

namespace {

// The CAMS simulator and a daemon with one WhatsApp step on it.
sandbox_spec whatsapp_spec() {
    sandbox_spec spec;
    spec.simulator = CAMS_SIMULATOR;
    spec.simulator_args = {"--access-key-id", "e2e-ak", "--access-key-secret", "e2e-sk", "--cust-space-id", "cams-e2e"};
    spec.plugin = "cams";
    spec.provider_config = {{"access_key_id", "e2e-ak"}, {"cust_space_id", "cams-e2e"}, {"from", "8613800000000"}};
    spec.secret_field = "access_key_secret";
    spec.secret = "e2e-sk";
    spec.route_step = {{"channel", "whatsapp"}, {"template_code", "tpl-otp"}, {"language", "en"}};
    return spec;
}

} // namespace

TEST_CASE("cams end to end: a WhatsApp job goes out in one signed call, blocked numbers left to receipts",
          "[e2e][cams]") {
    sandbox_spec spec = whatsapp_spec();
    spec.faults_json = R"({"block_list": ["+85261000003", "+85261000017"]})";
    spec.route_step["params"] = json::array{"code"};
    sandbox box(spec);

    const std::string job = box.submit(numbered_recipients(25));
    const json::object finished = box.wait_finished(job);
    CHECK(finished.at("counts").at("accepted") == 25);

    const auto calls = box.calls("SendChatappMassMessage");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("auth_ok") == true);
    CHECK(calls[0].at("count") == 25);
    CHECK(calls[0].at("blocked") == json::parse(R"(["85261000003", "85261000017"])"));
}

TEST_CASE("cams end to end: text in a receipt never forges a log line, even at debug level", "[e2e][cams][logs]") {
    sandbox_spec spec = whatsapp_spec();
    const std::filesystem::path log = std::filesystem::temp_directory_path() /
                                      ("switchboard-forge-" + std::to_string(::getpid()) + ".log");
    spec.config = {{"log", {{"format", "text"}, {"file", log.string()}, {"level", "debug"}}}};
    sandbox box(spec);

    // CAMS signs nothing: whoever reaches the receipt URL writes what the daemon reads.
    const std::string forged = "2026-12-06T00:00:00.000 error FORGED";
    const json::array receipts{{{"MessageId", "m1\n" + forged}, {"To", "85261000001\r\n" + forged},
                                {"Status", "Delivered"}, {"TaskId", "t1"}}};
    const switchboard::core::http_result r =
        fetch("POST", box.api_url() + "/v1/receipts/main", json::serialize(receipts));
    REQUIRE(r.ok());
    CHECK(r.response.status == 200);
    box.stop_daemon(SIGTERM);
    std::ifstream in(log);
    std::size_t lines = 0;
    bool seen = false;
    for (std::string line; std::getline(in, line); ++lines) {
        CHECK(line.rfind(forged, 0) != 0);  // no line of the log starts with the forged text
        seen = seen || line.find("\\n" + forged) != std::string::npos;  // it is there, escaped
    }
    CHECK(lines > 0);
    CHECK(seen);
    std::filesystem::remove(log);
}

TEST_CASE("cams end to end: receipts are bounded per callback and while they wait for their call", "[e2e][cams][receipts]") {
    sandbox_spec spec = whatsapp_spec();
    spec.durable = true;
    spec.config = {{"dispatch", {{"max_attempts", 1}, {"max_receipts_per_callback", 100}, {"max_early_receipts", 50}}}};
    sandbox box(spec);
    const auto receipts = [](int count, int first) {
        json::array out;
        for (int i = first; i < first + count; ++i)
            out.push_back({{"MessageId", "m" + std::to_string(i)}, {"To", "852610" + std::to_string(10000 + i)},
                           {"Status", "Delivered"}, {"TaskId", "unknown-task"}});
        return json::serialize(out);
    };

    const switchboard::core::http_result too_many = fetch("POST", box.api_url() + "/v1/receipts/main", receipts(150, 0));
    REQUIRE(too_many.ok());
    CHECK(too_many.response.status == 413);
    CHECK_THAT(too_many.response.body, Catch::Contains("at most 100"));

    // Receipts that name no message yet wait for their call's outcome, but no more than 50 of them.
    for (int first : {0, 80})
        CHECK(fetch("POST", box.api_url() + "/v1/receipts/main", receipts(80, first)).response.status == 200);
    box.stop_daemon(SIGTERM);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((box.config_file().parent_path() / "switchboard.db").c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* count = nullptr;
    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM early_receipts", -1, &count, nullptr);
    REQUIRE(sqlite3_step(count) == SQLITE_ROW);
    CHECK(sqlite3_column_int64(count, 0) == 50);
    sqlite3_finalize(count);
    sqlite3_close(db);
}
