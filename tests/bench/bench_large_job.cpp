// A large job end to end on loopback, durable store: how long the daemon takes to accept it (in
// pages of 10,000 from two clients side by side, each page stored before its answer), how long to send it through the uSpeedo
// simulator, how fast the API answers GET /v1/jobs/{id} meanwhile, the daemon's peak memory, and
// how fast the reads of the web console's job page come back once the job is sent.
// Prints `name=value` lines (then a table for people) and, with --series, writes the progress of
// the send as CSV (seconds, recipients done, recipients/s over the last interval). Asserts nothing.
//
// With --postgres, the store is that PostgreSQL database, and with --daemons N as many daemons
// share it (all on this machine), the job accepted through the first.
//
//   bench_large_job [--recipients N] [--calls-in-flight C] [--series FILE] [--postgres URL [--daemons N]]
#include "sandbox.hpp"

#include <algorithm>
#include <iterator>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

namespace json = boost::json;
using namespace switchboard::testing;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    int recipients = 1'000'000;
    int calls_in_flight = 4;
    std::string series_file;
    std::string postgres;   // empty: SQLite
    int daemons = 1;
};

options read_options(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--recipients")
            o.recipients = std::stoi(argv[i + 1]);
        else if (flag == "--calls-in-flight")
            o.calls_in_flight = std::stoi(argv[i + 1]);
        else if (flag == "--series")
            o.series_file = argv[i + 1];
        else if (flag == "--postgres")
            o.postgres = argv[i + 1];
        else if (flag == "--daemons")
            o.daemons = std::stoi(argv[i + 1]);
        else
            throw std::invalid_argument("unknown option " + flag);
    }
    if (argc % 2 == 0)
        throw std::invalid_argument("usage: bench_large_job [--recipients N] [--calls-in-flight C] [--series FILE] "
                                    "[--postgres URL [--daemons N]]");
    return o;
}

// The peak resident memory of a process, in MiB (VmHWM).
double peak_rss_mib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

double seconds_since(steady::time_point start) { return std::chrono::duration<double>(steady::now() - start).count(); }

// The i-th of 25 million distinct valid mobile numbers: a million under each of these prefixes
// (Hong Kong's and Singapore's, where every number of that shape is one in libphonenumber's data).
std::string number_of(int i) {
    static constexpr const char* prefixes[] = {
        "+85261", "+85263", "+85264", "+85265", "+85269", "+85294", "+85296", "+85297", "+6581", "+6582", "+6583",
        "+6584",  "+6585",  "+6586",  "+6587",  "+6588",  "+6590",  "+6591",  "+6592",  "+6593", "+6594", "+6595",
        "+6596",  "+6597",  "+6598"};
    char number[32];
    std::snprintf(number, sizeof number, "%s%06d", prefixes[(i / 1'000'000) % std::size(prefixes)], i % 1'000'000);
    return number;
}

json::array page(int from, int count) {
    json::array out;
    out.reserve(static_cast<std::size_t>(count));
    for (int i = from; i < from + count; ++i)
        out.push_back({{"to", number_of(i)}, {"params", {{"code", "123456"}}}});
    return out;
}

// Sends the job's pages from two clients side by side (the API reads pages of one job in parallel
// and stores them one at a time), each over one kept-alive connection. Throws on a refused page.
void upload(const std::string& job_url, int recipients, int page_size) {
    std::atomic<int> next{0};
    std::atomic<int> sent{0};
    std::string failure;
    std::mutex failure_mutex;
    const auto uploader = [&] {
        kept_client api;
        for (int from; (from = next.fetch_add(page_size)) < recipients && failure.empty();) {
            const auto r = api.fetch("POST", job_url + "/recipients",
                                     json::serialize(json::object{{"recipients", page(from, std::min(page_size, recipients - from))}}));
            if (!r.ok() || r.response.status != 200) {
                std::lock_guard lock(failure_mutex);
                failure = r.ok() ? "HTTP " + std::to_string(r.response.status) + " " + r.response.body : r.error;
                return;
            }
            if (const int done = sent += page_size; (done / page_size) % 20 == 0)
                std::cerr << "accepted " << done << " of " << recipients << "\n";
        }
    };
    std::thread second(uploader);
    uploader();
    second.join();
    if (!failure.empty())
        throw std::runtime_error("a page was refused: " + failure);
}

// Recipients past queued and sending, from a job's counts.
std::int64_t done_of(const json::value& job) {
    const json::object& counts = job.at("counts").as_object();
    return job.at("recipients").as_int64() - counts.at("queued").as_int64() - counts.at("sending").as_int64();
}

// What the API reader saw while the job was sent.
struct watch {
    std::vector<double> latencies_ms;              // of each GET /v1/jobs/{id}
    std::vector<std::pair<double, std::int64_t>> progress;   // seconds since the start, recipients done
};

// Asks for the job every 50 ms until `done`, timing each answer.
watch watch_job(const std::string& url, steady::time_point start, const std::atomic<bool>& done) {
    watch w;
    kept_client api;  // as a dashboard polls: one kept-alive connection
    while (!done) {
        const auto asked = steady::now();
        const switchboard::core::http_result r = api.fetch("GET", url);
        const double ms = std::chrono::duration<double, std::milli>(steady::now() - asked).count();
        if (r.ok() && r.response.status == 200) {
            w.latencies_ms.push_back(ms);
            w.progress.emplace_back(seconds_since(start), done_of(json::parse(r.response.body)));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return w;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

// The reads the web console makes on a job's page, after the job is sent: the job, its failures by
// reason, and a page of 50 recipients anywhere in it (also filtered by state and by provider), then
// the jobs list. Each timed, `rounds` times over, pages spread across the whole job.
std::vector<double> time_console_reads(const std::string& api_url, const std::string& job, int recipients, int rounds) {
    kept_client api;
    std::vector<double> latencies_ms;
    const std::string base = api_url + "/v1/jobs/" + job;
    for (int i = 0; i < rounds; ++i) {
        const std::string offset = std::to_string((static_cast<long long>(i) * 49'999) % std::max(1, recipients - 50));
        for (const std::string& url : {base, base + "/failures?limit=50", base + "/recipients?limit=50&offset=" + offset,
                                       base + "/recipients?limit=50&state=accepted&offset=" + offset,
                                       base + "/recipients?limit=50&provider=main&offset=" + offset,
                                       api_url + "/v1/jobs?limit=20"}) {
            const auto asked = steady::now();
            const switchboard::core::http_result r = api.fetch("GET", url);
            if (!r.ok() || r.response.status != 200)
                throw std::runtime_error("GET " + url + ": " + (r.ok() ? std::to_string(r.response.status) : r.error));
            latencies_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - asked).count());
        }
    }
    return latencies_ms;
}

void write_series(const std::string& file, const watch& w) {
    std::ofstream out(file);
    out << "seconds,done,recipients_per_second\n";
    for (std::size_t i = 1; i < w.progress.size(); ++i) {
        const auto& [t0, d0] = w.progress[i - 1];
        const auto& [t1, d1] = w.progress[i];
        if (t1 > t0)
            out << t1 << "," << d1 << "," << static_cast<double>(d1 - d0) / (t1 - t0) << "\n";
    }
}

} // namespace

int main(int argc, char** argv) try {
    const options o = read_options(argc, argv);
    constexpr int page_size = 10'000;
    sandbox_options sandbox;
    sandbox.durable = o.postgres.empty();
    sandbox.calls_in_flight = o.calls_in_flight;
    if (!o.postgres.empty())
        sandbox.config = {{"store", {{"postgres", o.postgres}}}};
    uspeedo_sandbox box(sandbox);
    std::vector<std::unique_ptr<child_process>> more_daemons;
    for (int i = 1; i < o.daemons; ++i) {
        more_daemons.push_back(std::make_unique<child_process>(
            std::vector<std::string>{SWITCHBOARD_BINARY, "serve", "--config", box.config_file().string()},
            (box.config_file().parent_path() / ("daemon-" + std::to_string(i + 1) + ".log")).string()));
        wait_for_listening(*more_daemons.back());
    }

    const auto accept_start = steady::now();
    const json::value opened = fetch_json("POST", box.api_url() + "/v1/jobs",
                                          json::serialize(json::object{{"route", "otp"}, {"open", true}}));
    const std::string job(opened.at("id").as_string());
    const std::string base = box.api_url() + "/v1/jobs/" + job;
    upload(base, o.recipients, page_size);
    const double accept_s = seconds_since(accept_start);

    const auto send_start = steady::now();
    std::atomic<bool> finished{false};
    watch seen;
    std::thread watcher([&] { seen = watch_job(base, send_start, finished); });
    fetch_json("POST", base + "/start");
    const json::object last = box.wait_finished(job, std::chrono::seconds(24 * 3600));
    const double send_s = seconds_since(send_start);
    finished = true;
    watcher.join();
    if (!o.series_file.empty())
        write_series(o.series_file, seen);

    const std::vector<double> console_ms = time_console_reads(box.api_url(), job, o.recipients, 50);

    const std::int64_t accepted = last.at("counts").at("accepted").as_int64();
    std::printf("daemons=%d\nrecipients=%d\ncalls_in_flight=%d\naccept_s=%.3f\naccept_per_s=%.0f\nsend_s=%.3f\nsend_per_s=%.0f\n"
                "accepted=%lld\npeak_rss_mib=%.1f\nget_job_p50_ms=%.2f\nget_job_p99_ms=%.2f\nget_job_samples=%zu\n"
                "console_read_p50_ms=%.2f\nconsole_read_p99_ms=%.2f\nconsole_read_samples=%zu\n",
                o.daemons, o.recipients, o.calls_in_flight, accept_s, o.recipients / accept_s, send_s, o.recipients / send_s,
                static_cast<long long>(accepted), peak_rss_mib(box.daemon_pid()), percentile(seen.latencies_ms, 0.5),
                percentile(seen.latencies_ms, 0.99), seen.latencies_ms.size(), percentile(console_ms, 0.5),
                percentile(console_ms, 0.99), console_ms.size());
    return accepted == o.recipients ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "bench_large_job: " << e.what() << "\n";
    return 2;
}
