// `switchboard send` as an operator runs it: a CSV or JSON file, a daemon routing through the
// uSpeedo simulator, its stdout (job line, summary table, listing), stderr (progress lines, since
// here it is not a terminal, and errors) and exit code.
#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <ctime>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace switchboard::testing;
using namespace std::chrono_literals;

namespace {

// A file in the temporary directory, removed when the test ends.
class scratch_file {
public:
    scratch_file(const std::string& name, const std::string& content) {
        static int counter = 0;
        path_ = fs::temp_directory_path() /
                ("switchboard-send-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name);
        std::ofstream(path_, std::ios::binary) << content;
    }
    ~scratch_file() {
        std::error_code ignored;
        fs::remove(path_, ignored);
    }
    std::string path() const { return path_.string(); }

private:
    fs::path path_;
};

struct send_run {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs `switchboard ARGS...` to its end.
send_run run_switchboard(const std::vector<std::string>& args) {
    const scratch_file err_file("stderr.txt", "");
    std::vector<std::string> argv{SWITCHBOARD_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process send(argv, err_file.path());
    send_run run;
    try {
        for (;;)
            run.out += send.wait_for_line("", 120s) + "\n";
    } catch (const std::runtime_error&) {
        // stdout closed: the program ended
    }
    const int status = send.stop(0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err_file.path());
    std::stringstream text;
    text << in.rdbuf();
    run.err = text.str();
    return run;
}

// Runs `switchboard send --server URL --route otp ARGS...` to its end.
send_run run_send(const std::string& server, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"send", "--server", server, "--route", "otp"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_switchboard(argv);
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(prefix, 0) == 0)
            out.push_back(line);
    return out;
}

// The recipient rows of the listing: "    0  +85261000000  ...", "  500  ...".
std::size_t recipient_rows(const std::string& text) {
    std::size_t rows = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        const std::size_t first = line.find_first_not_of(' ');
        rows += first != std::string::npos && std::isdigit(static_cast<unsigned char>(line[first])) &&
                        line.find("  +852") != std::string::npos
                    ? 1
                    : 0;
    }
    return rows;
}

// "job_0123abcd" from the first line "job job_0123abcd: 3 recipients on route otp".
std::string job_id_of(const send_run& run) {
    const std::size_t start = run.out.find("job job_");
    REQUIRE(start == 0);
    return run.out.substr(4, run.out.find(':') - 4);
}

// n CSV rows "+85261000000,user-0,100000", ... after the header.
std::string numbered_csv(int n) {
    std::string out = "to,ref,code\n";
    for (int i = 0; i < n; ++i) {
        char number[24];
        std::snprintf(number, sizeof number, "+85261%06d", i);
        out += std::string(number) + ",user-" + std::to_string(i) + "," + std::to_string(100000 + i) + "\n";
    }
    return out;
}

std::string rfc3339_in(std::chrono::seconds from_now) {
    const std::time_t at = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&at));
    return text;
}

} // namespace

TEST_CASE("send: a CSV with quotes, a BOM and a parameter column goes out, with a summary table, and a blocked number exits 2",
          "[e2e][cli][send]") {
    sandbox_options options;
    options.faults_json = R"({"block_list": ["+85261000001"]})";
    uspeedo_sandbox sandbox(options);
    // As a spreadsheet saves it: a BOM, CRLF, quotes around a comma, doubled quotes, a line break
    // inside quotes (in a column the template does not use), and one row without its code.
    const scratch_file csv("recipients.csv", "\xEF\xBB\xBFto,ref,code,note\r\n"
                                             "+85261000000,\"Chan, Tai Man\",123456,\r\n"
                                             "+85261000001,\"say \"\"hi\"\"\",234567,\"line one\r\nline two\"\r\n"
                                             "\"+85261000002\",user-2,345678,x\r\n"
                                             "+85261000003,user-3,,\r\n");
    const send_run run = run_send(sandbox.api_url(), {csv.path()});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 2);
    const std::string job = job_id_of(run);
    CHECK_THAT(run.out, Catch::StartsWith("job " + job + ": 4 recipients on route otp\n"));
    CHECK_THAT(run.out, Catch::Contains("job " + job + " finished in "));
    CHECK_THAT(run.out, Catch::Contains("STATE            RECIPIENTS   SHARE\n"
                                        "accepted                  2   50.0%\n"
                                        "failed                    1   25.0%\n"
                                        "skipped_invalid           1   25.0%\n"
                                        "total                     4\n"));
    // A job this small lists every recipient, with the vendor's or the template's reason.
    CHECK(lines_starting(run.out, "    0  +85261000000     Chan, Tai Man accepted").size() == 1);
    CHECK_THAT(lines_starting(run.out, "    1  ").at(0), Catch::Contains("failed") && Catch::Contains("phone in the black list"));
    CHECK_THAT(lines_starting(run.out, "    3  ").at(0),
               Catch::Contains("skipped_invalid") && Catch::Contains("params.code: is required by the template"));

    // The file's values reached the daemon as written, and the numbers the vendor.
    const std::vector<json::object> recipients = sandbox.recipients(job);
    REQUIRE(recipients.size() == 4);
    CHECK(recipients[0].at("ref") == "Chan, Tai Man");
    CHECK(recipients[1].at("ref") == "say \"hi\"");
    CHECK(recipients[2].at("to") == "+85261000002");
    const std::vector<json::object> calls = sandbox.send_calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("numbers") == json::array{"85261000000", "85261000001", "85261000002"});

    // stderr is a pipe here: plain progress lines, the last one with every recipient final.
    const std::vector<std::string> progress = lines_starting(run.err, "progress: ");
    REQUIRE_FALSE(progress.empty());
    CHECK_THAT(progress.back(), Catch::StartsWith("progress: 4/4 final (100%): accepted 2, failed 1, skipped_invalid 1; "));
    CHECK(run.err.find('\r') == std::string::npos);
}

TEST_CASE("send: a CSV with a bad row exits 1 naming the line, and nothing is sent", "[e2e][cli][send]") {
    uspeedo_sandbox sandbox;
    const scratch_file short_row("short.csv", "to,ref,code\n+85261000000,a,1\n+85261000001,b,2\n+85261000002,c\n");
    send_run run = run_send(sandbox.api_url(), {short_row.path()});
    CHECK(run.exit_code == 1);
    CHECK(run.out.empty());
    CHECK(run.err == "error: " + short_row.path() + ": line 4: 2 fields, but the header names 3 columns (to, ref, code)\n");

    const scratch_file open_quote("open.csv", "to,ref\n+85261000000,a\n+85261000001,\"b\n+85261000002,c\n");
    run = run_send(sandbox.api_url(), {open_quote.path()});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Catch::StartsWith("error: " + open_quote.path() +
                                          ": line 3, column 2: the quoted field that starts here is not closed"));

    const scratch_file no_number("empty_to.csv", "to,ref\n+85261000000,a\n,b\n");
    run = run_send(sandbox.api_url(), {no_number.path()});
    CHECK(run.exit_code == 1);
    CHECK(run.err == "error: " + no_number.path() + ": line 3, column 1 (to): is empty; every recipient needs a number or id\n");

    // --format overrides the extension: this CSV is not JSON.
    run = run_send(sandbox.api_url(), {"--format", "json", short_row.path()});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Catch::StartsWith("error: " + short_row.path() + ": line 1, column ") &&
                            Catch::Contains("not valid JSON"));

    CHECK(fetch_json("GET", sandbox.api_url() + "/v1/jobs").at("jobs").as_array().empty());
    CHECK(sandbox.send_calls().empty());
}

TEST_CASE("send: the daemon's refusals and an unreachable daemon exit 1 with the reason", "[e2e][cli][send]") {
    uspeedo_sandbox sandbox;
    const scratch_file json_file("list.json", json::serialize(numbered_recipients(3)));
    send_run run = run_send(sandbox.api_url(), {"--region", "XX", json_file.path()});
    CHECK(run.exit_code == 1);
    CHECK(run.err == "error: the daemon answered HTTP 400: must be a region code such as \"HK\" or \"CN\" "
                     "(ISO 3166-1 alpha-2) (field region)\n");

    run = run_send(sandbox.api_url(), {"--send-at", "tomorrow", json_file.path()});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Catch::Contains("(field send_at)"));

    run = run_send("http://127.0.0.1:1", {json_file.path()});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Catch::StartsWith("error: ") && Catch::Contains("127.0.0.1:1"));

    CHECK(fetch_json("GET", sandbox.api_url() + "/v1/jobs").at("jobs").as_array().empty());
}

TEST_CASE("send: a file of more than one page goes up as an open job in pages, and a large job lists only what failed",
          "[e2e][cli][send]") {
    sandbox_options options;
    options.faults_json = R"({"block_list": ["+85261000500"]})";
    uspeedo_sandbox sandbox(options);
    const scratch_file csv("large.csv", numbered_csv(12'000));   // pages of 10000 by default
    const send_run run = run_send(sandbox.api_url(), {"--idempotency-key", "campaign-7", csv.path()});
    INFO(run.err);
    CHECK(run.exit_code == 2);
    const std::string job = job_id_of(run);
    CHECK_THAT(run.out, Catch::StartsWith("job " + job + ": 12000 recipients on route otp, uploaded in 2 pages\n"));
    CHECK_THAT(run.out, Catch::Contains("accepted       11999  >99.9%\nfailed             1   <0.1%\ntotal          12000\n"));
    // Only the recipient that failed is listed; the others are counted.
    CHECK(recipient_rows(run.out) == 1);
    CHECK_THAT(lines_starting(run.out, "  500  ").at(0), Catch::Contains("phone in the black list"));
    CHECK_THAT(run.out, Catch::EndsWith("11999 accepted or delivered recipients are not listed (--all lists every one)\n"));
    const std::vector<std::string> upload = lines_starting(run.err, "upload: ");
    REQUIRE_FALSE(upload.empty());
    CHECK_THAT(upload.back(), Catch::StartsWith("upload: 12000/12000 recipients (100%), 2 pages; "));

    // The daemon holds one job of every recipient, and the vendor got every number once.
    const json::value shown = fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + job);
    CHECK(shown.at("recipients") == 12000);
    CHECK(shown.at("state") == "finished");
    std::multiset<std::string> numbers;
    for (const json::object& call : sandbox.send_calls())
        for (const json::value& number : call.at("numbers").as_array())
            numbers.insert(std::string(number.as_string()));
    CHECK(numbers.size() == 12000);
    CHECK(std::set<std::string>(numbers.begin(), numbers.end()).size() == 12000);
    CHECK(numbers.count("85261011999") == 1);

    // The same key again: the daemon answers with that job, nothing is uploaded or sent again.
    const send_run again = run_send(sandbox.api_url(), {"--idempotency-key", "campaign-7", "--all", csv.path()});
    CHECK(again.exit_code == 2);
    CHECK_THAT(again.out, Catch::StartsWith("job " + job + ": 12000 recipients on route otp (submitted earlier with this "
                                                           "idempotency key)\n"));
    CHECK(recipient_rows(again.out) == 12000);   // --all lists every one
    CHECK(fetch_json("GET", sandbox.api_url() + "/v1/jobs").at("jobs").as_array().size() == 1);
    std::size_t sent = 0;
    for (const json::object& call : sandbox.send_calls())
        sent += static_cast<std::size_t>(call.at("count").as_int64());
    CHECK(sent == 12000);
}

TEST_CASE("send: a daemon that takes smaller requests gets smaller pages", "[e2e][cli][send]") {
    sandbox_options options;
    options.max_request_bytes = 20'000;   // about 300 recipients of this file
    uspeedo_sandbox sandbox(options);
    const scratch_file json_file("list.json", json::serialize(numbered_recipients(1000)));
    const send_run run = run_send(sandbox.api_url(), {json_file.path()});
    INFO(run.err);
    CHECK(run.exit_code == 0);
    const std::string job = job_id_of(run);
    CHECK_THAT(run.out, Catch::StartsWith("job " + job + ": 1000 recipients on route otp, uploaded in "));
    CHECK(fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + job).at("recipients") == 1000);
    CHECK(fetch_json("GET", sandbox.api_url() + "/v1/jobs/" + job).at("counts").at("accepted") == 1000);
}

TEST_CASE("send: --send-at holds the job, every page of it, and the plain progress lines show it queued until then",
          "[e2e][cli][send]") {
    uspeedo_sandbox sandbox;
    const scratch_file json_file("list.json", json::serialize(numbered_recipients(3)));
    const auto started = std::chrono::steady_clock::now();
    const send_run run =
        run_send(sandbox.api_url(), {"--send-at", rfc3339_in(4s), "--page-size", "2", json_file.path()});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(std::chrono::steady_clock::now() - started >= 2s);
    const std::vector<std::string> progress = lines_starting(run.err, "progress: ");
    REQUIRE(progress.size() >= 2);
    CHECK_THAT(progress.front(), Catch::StartsWith("progress: 0/3 final (0%): queued 3; "));
    CHECK_THAT(progress.back(), Catch::StartsWith("progress: 3/3 final (100%): accepted 3; "));
    CHECK_THAT(run.out, Catch::Contains("accepted           3  100.0%\ntotal              3\n"));
}

TEST_CASE("suppress: add, import, list and remove through the command line, and a job skips what the list holds",
          "[e2e][cli][suppression]") {
    uspeedo_sandbox sandbox;
    const std::string server = sandbox.api_url();
    const send_run added = run_switchboard({"suppress", "add", "+852 6100 0001", "--channel", "sms", "--reason", "STOP",
                                            "--server", server});
    CHECK(added.exit_code == 0);
    CHECK(added.out == "added: +852 6100 0001 on sms\n");
    const scratch_file opt_outs("opt-outs.csv", "to,channel,reason\n+85261000002,sms,replied STOP\n61000003,*,\n");
    const send_run imported = run_switchboard({"suppress", "import", opt_outs.path(), "--server", server});
    CHECK(imported.exit_code == 0);   // on every channel, what is not a number is kept as a platform's id
    CHECK(imported.out.find(": 2 added, 0 updated") != std::string::npos);
    const scratch_file bad_numbers("bad.csv", "to,channel\n+85261000005,sms\n12,sms\n");
    const send_run refused = run_switchboard({"suppress", "import", bad_numbers.path(), "--server", server});
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("bad.csv: row 2 after the header (12): '12' is not a valid phone number") != std::string::npos);
    const send_run listed = run_switchboard({"suppress", "list", "--server", server});
    CHECK(listed.exit_code == 0);
    CHECK(listed.out.find("+85261000001") != std::string::npos);
    CHECK(listed.out.find("STOP") != std::string::npos);
    const send_run bad_channel = run_switchboard({"suppress", "add", "+85261000009", "--channel", "fax", "--server", server});
    CHECK(bad_channel.exit_code == 1);
    CHECK(bad_channel.err.find("no provider serves channel 'fax'") != std::string::npos);

    const scratch_file csv("suppressed.csv", "to,ref,code\n+85261000001,kept,1\n+85261000004,sent,2\n");
    const send_run sent = run_send(server, {csv.path()});
    CHECK(sent.out.find("skipped_suppressed") != std::string::npos);
    const std::vector<json::object> calls = sandbox.send_calls();
    for (const json::object& call : calls)
        CHECK(json::serialize(call).find("61000001") == std::string::npos);

    const send_run removed = run_switchboard({"suppress", "remove", "+85261000001", "--channel", "sms", "--server", server});
    CHECK(removed.exit_code == 0);
    CHECK(removed.out == "removed: +85261000001 on sms\n");
    const send_run again = run_switchboard({"suppress", "remove", "+85261000001", "--channel", "sms", "--server", server});
    CHECK(again.exit_code == 1);
    CHECK(again.err.find("is not on the suppression list for sms") != std::string::npos);
}
