#include "send_command.hpp"

#include "daemon_client.hpp"
#include "send_progress.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <ostream>
#include <stdexcept>
#include <thread>

namespace switchboard::host {

namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

// The job's own fields, as the opening of a JSON object without its closing brace:
// {"route":"otp","region":"CN"  (recipients are appended to it).
std::string job_fields(const send_options& o, bool open) {
    json::object fields{{"route", o.route}};
    const auto given = [&fields](const char* name, const std::string& value) {
        if (!value.empty())
            fields[name] = value;
    };
    given("idempotency_key", o.idempotency_key);
    given("region", o.region);
    given("send_at", o.send_at);
    given("deadline", o.deadline);
    if (open)
        fields["open"] = true;
    std::string text = json::serialize(fields);
    text.pop_back();
    return text;
}

// `opening` (an object without its closing brace) with "recipients": items [first, first + n).
std::string with_recipients(const std::string& opening, const recipient_items& items, std::size_t first, std::size_t n) {
    std::size_t size = opening.size() + 20;
    for (std::size_t i = first; i < first + n; ++i)
        size += items[i].size() + 1;
    std::string body;
    body.reserve(size);
    body += opening;
    body += opening.size() > 1 ? ",\"recipients\":[" : "\"recipients\":[";
    for (std::size_t i = first; i < first + n; ++i) {
        if (i != first)
            body += ',';
        body += items[i];
    }
    body += "]}";
    return body;
}

// How many recipients from `first` on go in one request: at most `max_count`, and no more than
// `max_bytes` of them unless a single one is larger (then it goes alone, and the daemon decides).
std::size_t page_from(const recipient_items& items, std::size_t first, std::size_t max_count, std::size_t max_bytes) {
    std::size_t n = 0;
    std::size_t bytes = 256;   // the job's fields
    while (first + n < items.size() && n < max_count) {
        const std::size_t more = items[first + n].size() + 1;
        if (n > 0 && bytes + more > max_bytes)
            break;
        bytes += more;
        ++n;
    }
    return n;
}

// "recipients[3].to" in a page that starts at recipient 20000 is "recipients[20003].to" of the file.
std::string field_in_file(const std::string& field, std::size_t page_start) {
    constexpr std::string_view prefix = "recipients[";
    if (field.rfind(prefix, 0) != 0)
        return field;
    std::size_t index = 0;
    const char* begin = field.data() + prefix.size();
    const auto [end, ec] = std::from_chars(begin, field.data() + field.size(), index);
    if (ec != std::errc() || end == field.data() + field.size() || *end != ']')
        return field;
    return std::string(prefix) + std::to_string(index + page_start) + std::string(end);
}

// Creating a job and taking a page of it can take the daemon a while (validation, duplicates, the
// store), and a request that timed out may still have been carried out: wait long for these.
constexpr std::chrono::milliseconds upload_timeout = std::chrono::minutes(5);

struct submitted_job {
    std::string id;
    std::int64_t recipients = 0;
    int pages = 1;
    bool earlier = false;   // the daemon already had it (the same idempotency key and request)
};

class submitter {
public:
    submitter(const send_options& options, const recipient_items& items, std::ostream& err, steady::time_point started)
        : o_(options), items_(items), err_(err), started_(started), max_count_(std::max<std::size_t>(1, options.page_size)),
          max_bytes_(std::max<std::size_t>(1024, options.page_bytes)) {}

    submitted_job submit() {
        // The whole job in one request when it fits; else an open job, filled page by page.
        for (;;) {
            const std::size_t n = page_from(items_, 0, max_count_, max_bytes_);
            if (n < items_.size())
                return submit_in_pages();
            try {
                int status = 0;
                const json::value job = call_daemon("POST", o_.server + "/v1/jobs", o_.api_key,
                                                    with_recipients(job_fields(o_, false), items_, 0, n), status,
                                                    upload_timeout);
                return {std::string(job.at("id").as_string()), job.at("recipients").as_int64(), 1, status == 200};
            } catch (const daemon_error& e) {
                if (!smaller_pages(e, n))
                    throw;
            }
        }
    }

private:
    // A 413: the daemon takes smaller requests than these pages; halve them and try again.
    bool smaller_pages(const daemon_error& e, std::size_t page) {
        if (e.status != 413 || page <= 1)
            return false;
        max_count_ = std::max<std::size_t>(1, page / 2);
        max_bytes_ = std::max<std::size_t>(1024, max_bytes_ / 2);
        return true;
    }

    submitted_job submit_in_pages() {
        status_line upload(err_, o_.live_progress);
        submitted_job job;
        job.pages = 0;
        std::size_t sent = 0;
        const auto show = [&](bool force) {
            upload.update(live_upload_line(static_cast<std::int64_t>(sent), static_cast<std::int64_t>(items_.size()),
                                           steady::now() - started_),
                          plain_upload_line(static_cast<std::int64_t>(sent), static_cast<std::int64_t>(items_.size()),
                                            job.pages, steady::now() - started_),
                          force);
        };
        if (o_.live_progress)
            show(false);   // the first page takes a moment: show that it is under way
        for (;;) {
            const std::size_t n = page_from(items_, 0, max_count_, max_bytes_);
            try {
                int status = 0;
                const json::value opened = call_daemon("POST", o_.server + "/v1/jobs", o_.api_key,
                                                       with_recipients(job_fields(o_, true), items_, 0, n), status,
                                                       upload_timeout);
                job.id = std::string(opened.at("id").as_string());
                job.earlier = status == 200;
                sent = static_cast<std::size_t>(opened.at("recipients").as_int64());
                if (job.earlier && opened.at("state") != "open") {
                    job.recipients = static_cast<std::int64_t>(sent);
                    return job;   // sent before, and started: follow it
                }
                // An upload under this key that never finished. Not resumed: a page still on its way
                // from the send that was stopped could land after ours, and the job would no longer
                // match the file row for row.
                if (job.earlier)
                    throw std::runtime_error(
                        "job " + job.id + " was opened with this idempotency key by an earlier send whose upload did "
                        "not finish (it holds " + std::to_string(sent) + " of " + std::to_string(items_.size()) +
                        " recipients and was never started): 'switchboard jobs cancel " + job.id +
                        "' discards it; then send with another --idempotency-key");
                job.pages = 1;
                break;
            } catch (const daemon_error& e) {
                if (!smaller_pages(e, n))
                    throw;
            }
        }
        show(false);
        const std::string base = o_.server + "/v1/jobs/" + job.id;
        try {
            while (sent < items_.size()) {
                const std::size_t n = page_from(items_, sent, max_count_, max_bytes_);
                json::value answer;
                try {
                    int status = 0;
                    answer = call_daemon("POST", base + "/recipients", o_.api_key, with_recipients("{", items_, sent, n),
                                         status, upload_timeout);
                } catch (const daemon_error& e) {
                    if (smaller_pages(e, n))
                        continue;
                    throw daemon_error(e.status, e.code, e.message, field_in_file(e.field, sent));
                } catch (const std::runtime_error&) {
                    // No answer: the page may still have been taken (whole); the job's count says.
                    const json::value now = call_daemon("GET", base, o_.api_key);
                    if (now.at("recipients").as_int64() != static_cast<std::int64_t>(sent + n))
                        throw;
                    answer = json::object{{"recipients", now.at("recipients")}};
                }
                sent += n;
                ++job.pages;
                // Pages are taken whole or not at all: the daemon's count must be ours.
                if (answer.at("recipients").as_int64() != static_cast<std::int64_t>(sent))
                    throw std::runtime_error("the daemon holds " + json::serialize(answer.at("recipients")) +
                                             " recipients, " + std::to_string(sent) + " were sent");
                show(false);
            }
            show(true);
            upload.finish();
            json::value started;
            try {
                int status = 0;
                started = call_daemon("POST", base + "/start", o_.api_key, "", status, upload_timeout);
            } catch (const daemon_error&) {
                throw;
            } catch (const std::runtime_error&) {
                // No answer: whether it started, the job's state says.
                started = call_daemon("GET", base, o_.api_key);
                if (started.at("state") == "open")
                    throw;
            }
            job.recipients = started.at("recipients").as_int64();
        } catch (const std::exception& e) {
            upload.finish();
            throw std::runtime_error(std::string(e.what()) + "\nnote: job " + job.id + " is left open, not started, with " +
                                     std::to_string(sent) + " of " + std::to_string(items_.size()) +
                                     " recipients: 'switchboard jobs cancel " + job.id + "' discards it");
        }
        return job;
    }

    const send_options& o_;
    const recipient_items& items_;
    std::ostream& err_;
    steady::time_point started_;
    std::size_t max_count_;
    std::size_t max_bytes_;
};

// The job, asked again while the daemon does not answer for a while (a restart): a daemon that
// comes back resumes the job, and so does the watch.
json::value job_now(const std::string& url, const std::string& api_key, steady::time_point& unreachable_since) {
    constexpr auto patience = std::chrono::seconds(60);
    for (;;) {
        try {
            json::value job = call_daemon("GET", url, api_key);
            unreachable_since = {};
            return job;
        } catch (const daemon_error&) {
            throw;
        } catch (const std::runtime_error& e) {
            const auto now = steady::now();
            if (unreachable_since == steady::time_point{})
                unreachable_since = now;
            if (now - unreachable_since > patience)
                throw std::runtime_error(std::string(e.what()) + " (for " + elapsed_text(now - unreachable_since) + ")");
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
}

// Polls until the job is finished, showing its progress; returns its last state.
json::object follow(const send_options& o, const std::string& id, std::ostream& err, steady::time_point started) {
    const std::string url = o.server + "/v1/jobs/" + id;
    const auto deadline = steady::now() + std::chrono::seconds(o.timeout_seconds);
    status_line status(err, o.live_progress);
    steady::time_point unreachable_since{};
    json::value job = job_now(url, o.api_key, unreachable_since);
    const auto show = [&](bool force) {
        const json::object& counts = job.at("counts").as_object();
        const std::int64_t total = job.at("recipients").as_int64();
        status.update(live_job_line(counts, total, steady::now() - started),
                      plain_job_line(counts, total, steady::now() - started), force);
    };
    while (job.at("state") != "finished") {
        show(false);
        if (o.timeout_seconds > 0 && steady::now() > deadline)
            throw std::runtime_error("job " + id + " is not finished after " + std::to_string(o.timeout_seconds) +
                                     " s (--timeout); it goes on in the daemon: 'switchboard jobs show " + id + "'");
        // Ask about as often as answers come quickly: a large job's counts take the daemon longer.
        const auto asked = steady::now();
        job = job_now(url, o.api_key, unreachable_since);
        const auto took = steady::now() - asked;
        std::this_thread::sleep_for(std::clamp<steady::duration>(took * 5, std::chrono::milliseconds(100), std::chrono::seconds(1)));
    }
    show(true);
    status.finish();
    return std::move(job.as_object());
}

void print_listing(const send_options& o, const std::string& id, const json::object& counts, std::int64_t total,
                   std::ostream& out) {
    const std::string url = o.server + "/v1/jobs/" + id;
    if (o.list_all || total <= full_listing_limit) {
        print_recipients(url, o.api_key, out);
        return;
    }
    // A large job: only those that did not go out, state by state.
    std::int64_t omitted = 0;
    bool header = true;
    for (const auto& [state, count] : counts) {
        if (!count.is_int64() || count.get_int64() == 0)
            continue;
        if (state == "accepted" || state == "delivered") {
            omitted += count.get_int64();
            continue;
        }
        if (header)
            print_recipients_header(out);
        header = false;
        print_recipients(url, o.api_key, out, std::string(state), false);
    }
    out << omitted << " accepted or delivered recipient" << (omitted == 1 ? " is" : "s are")
        << " not listed (--all lists every one)\n";
}

} // namespace

int send_job(const send_options& options, std::ostream& out, std::ostream& err) {
    const auto started = steady::now();
    try {
        const recipient_items items = read_recipients_file(options.recipients_file, options.format);
        const submitted_job job = submitter(options, items, err, started).submit();
        out << "job " << job.id << ": " << job.recipients << " recipients on route " << options.route;
        if (job.pages > 1)
            out << ", uploaded in " << job.pages << " pages";
        if (job.earlier)
            out << " (submitted earlier with this idempotency key)";
        out << std::endl;

        const json::object finished = follow(options, job.id, err, started);
        const json::object& counts = finished.at("counts").as_object();
        const std::int64_t total = finished.at("recipients").as_int64();
        // The job's own time, from its creation (or opening) to its last recipient's outcome.
        const json::value* created = finished.if_contains("created_at_ms");
        const json::value* ended = finished.if_contains("finished_at_ms");
        const auto took = created != nullptr && ended != nullptr && created->is_int64() && ended->is_int64() &&
                                  ended->get_int64() >= created->get_int64()
                              ? std::chrono::duration_cast<steady::duration>(
                                    std::chrono::milliseconds(ended->get_int64() - created->get_int64()))
                              : steady::now() - started;
        out << "job " << job.id << " finished in " << elapsed_text(took) << '\n' << summary_table(counts, total) << '\n';
        print_listing(options, job.id, counts, total, out);

        std::int64_t not_sent = 0;
        for (const auto& [state, count] : counts)
            if (state != "accepted" && state != "delivered")
                not_sent += count.as_int64();
        return not_sent == 0 ? 0 : 2;
    } catch (const daemon_error& e) {
        err << "error: " << e.what() << '\n';
        if (e.status == 401 && options.api_key.empty())
            err << "error: the daemon wants an API key: give --api-key or set SWITCHBOARD_API_KEY\n";
        return 1;
    } catch (const std::exception& e) {
        err << "error: " << e.what() << '\n';
        return 1;
    }
}

} // namespace switchboard::host
