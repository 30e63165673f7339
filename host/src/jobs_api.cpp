#include "jobs_api.hpp"

#include "api_answers.hpp"
#include "job_request.hpp"
#include "json_body.hpp"

#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/phone_numbers.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/recipient_intake.hpp>
#include <switchboard/core/sqlite_job_store.hpp>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <algorithm>
#include <charconv>
#include <limits>
#include <chrono>
#include <random>

namespace switchboard::host {

namespace json = boost::json;

namespace {

constexpr std::size_t default_page = 100;
constexpr std::size_t largest_page = 1000;

std::string sha256_hex(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0x0f];
    }
    return out;
}

std::string new_job_id() {
    thread_local std::mt19937_64 random(std::random_device{}());
    char id[24];
    std::snprintf(id, sizeof id, "job_%016llx", static_cast<unsigned long long>(random()));
    return id;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

json::object counts_json(const std::map<core::recipient_state, std::int64_t>& counts) {
    json::object out;
    for (const auto& [state, count] : counts)
        out[core::to_string(state)] = count;
    return out;
}

json::object job_json(const core::job& j, const std::map<core::recipient_state, std::int64_t>& counts) {
    return {{"id", j.id},
            {"route", j.route},
            {"state", core::to_string(j.state)},
            {"created_at_ms", j.created_at_ms},
            {"finished_at_ms", j.finished_at_ms},
            {"deadline_ms", j.deadline_ms},
            {"send_at_ms", j.send_at_ms},
            {"is_cancelled", j.cancelled},
            {"recipients", j.recipient_count},
            {"counts", counts_json(counts)}};
}

// The destination rule that chose the recipient's chain, when its route has rules and one did: one
// refused at intake before any step (not a number, no rule took it) has none.
std::optional<std::string> rule_of(const core::recipient& r, const core::route* rt) {
    const bool no_step_tried = r.history_json.empty() || r.history_json == "[]";
    const bool chosen = !(r.state == core::recipient_state::skipped_invalid && no_step_tried);
    if (!chosen || rt == nullptr || !core::has_destination_rules(*rt) || static_cast<std::size_t>(r.step) >= rt->steps.size())
        return std::nullopt;
    return core::chain_of(*rt, static_cast<std::size_t>(r.step)).rule;
}

// `rt`: the job's route, for each recipient's rule; null when it cannot be read.
json::object recipient_json(const core::recipient& r, const core::route* rt) {
    json::object out{{"index", r.index}, {"to", r.to}, {"state", core::to_string(r.state)}, {"step", r.step},
                     {"attempts", r.attempts}};
    if (const std::optional<std::string> rule = rule_of(r, rt))
        out["rule"] = *rule;
    const auto maybe = [&out](const char* key, const std::string& value) {
        if (!value.empty())
            out[key] = value;
    };
    maybe("ref", r.ref);
    maybe("provider", r.provider);
    maybe("message_id", r.message_id);
    maybe("code", r.code);
    maybe("reason", r.reason);
    if (r.history_json != "[]" && !r.history_json.empty())
        out["steps"] = json::parse(r.history_json);
    return out;
}

// The methods the API serves at `path` ("GET, POST"), empty for a path it does not know.
std::string methods_of(const std::string& path) {
    if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/providers" || path == "/v1/routes")
        return "GET";
    if (path == "/v1/jobs")
        return "GET, POST";
    const std::string prefix = "/v1/jobs/";
    if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size())
        return {};
    const std::string rest = path.substr(prefix.size());
    const std::size_t slash = rest.find('/');
    const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
    if (tail.empty())
        return "GET";
    if (tail == "/recipients")
        return "GET, POST";
    if (tail == "/failures")
        return "GET";
    if (tail == "/start" || tail == "/cancel")
        return "POST";
    return {};
}

std::optional<core::job_state> query_job_state(const boost::urls::params_view& params) {
    auto it = params.find("state");
    if (it == params.end())
        return std::nullopt;
    const std::string text = (*it).value;
    for (core::job_state s : {core::job_state::queued, core::job_state::running, core::job_state::finished, core::job_state::open})
        if (text == core::to_string(s))
            return s;
    throw bad_request{"state", "is not a job state (queued, running, finished, open): '" + core::excerpt(text) + "'"};
}

} // namespace

jobs_api::jobs_api(core::job_store& store, core::dispatcher& dispatcher, const core::route_map& routes,
                   const core::provider_map& providers, std::string default_region, job_limits limits)
    : store_(store), dispatcher_(dispatcher), routes_(routes), providers_(providers),
      default_region_(std::move(default_region)), limits_(limits) {}

std::optional<http_server_response> jobs_api::over_limits(bool opens, std::size_t recipients) const {
    const std::map<core::job_state, std::int64_t> jobs = store_.jobs_by_state();
    const auto count = [&jobs](core::job_state s) {
        const auto found = jobs.find(s);
        return found == jobs.end() ? std::int64_t{0} : found->second;
    };
    const std::int64_t unfinished = count(core::job_state::queued) + count(core::job_state::running) + count(core::job_state::open);
    if (unfinished >= static_cast<std::int64_t>(limits_.max_unfinished_jobs))
        return error_answer(429, "too_many_jobs", "the daemon holds " + std::to_string(unfinished) +
                                               " unfinished jobs, its limit (limits.max_unfinished_jobs): try again when some have finished");
    if (opens && count(core::job_state::open) >= static_cast<std::int64_t>(limits_.max_open_jobs))
        return error_answer(429, "too_many_open_jobs", "the daemon holds " + std::to_string(count(core::job_state::open)) +
                                                    " jobs still taking pages, its limit (limits.max_open_jobs): start or cancel some first");
    if (static_cast<std::int64_t>(recipients) > limits_.max_recipients_per_job)
        return error_answer(413, "job_too_large", "a job holds at most " + std::to_string(limits_.max_recipients_per_job) +
                                               " recipients (limits.max_recipients_per_job)", "recipients");
    return std::nullopt;
}

core::route jobs_api::route_of(const json::value& route) const {
    const json::value* given = &route;
    if (given->is_string()) {
        const auto named = routes_.find(std::string(given->get_string()));
        if (named == routes_.end())
            throw bad_request{"route", "no route named '" + core::excerpt(given->get_string()) + "' is configured"};
        return named->second;
    }
    std::vector<std::string> problems;
    core::route inline_route = core::read_route("inline", *given, "route", problems);
    core::check_route_providers(inline_route, providers_, "route", problems);
    core::check_route_steps(inline_route, providers_, "route", problems);
    if (!problems.empty()) {
        // "route[1].channel: provider 'x' has no channel 'y'": the path, then what is wrong.
        const std::size_t colon = problems.front().find(": ");
        throw bad_request{problems.front().substr(0, colon), problems.front().substr(colon + 2)};
    }
    return inline_route;
}

http_server_response jobs_api::handle(const http_server_request& request) {
    const auto url = boost::urls::parse_origin_form(request.target);
    if (!url)
        return error_answer(400, "invalid_request", "the request target is not a valid path");
    const std::string path = url->path();
    try {
        if (path == "/readyz" && request.method == "GET") {
            // Ready means able to take a job: the store answers reads and takes a write, with room.
            store_.find_job("");
            if (const std::string problem = store_.write_problem(); !problem.empty()) {
                spdlog::error("not ready: {}", problem);
                return error_answer(503, "store_unavailable", "the job store cannot take writes now; see the daemon's log");
            }
            return json_answer(200, json::object{{"status", "ready"}});
        }
        if (path == "/v1/jobs" && request.method == "GET")
            return list(request.target);
        if (path == "/v1/jobs" && request.method == "POST")
            return submit(request);
        const std::string prefix = "/v1/jobs/";
        if (path.rfind(prefix, 0) == 0) {
            const std::string rest = path.substr(prefix.size());
            const std::size_t slash = rest.find('/');
            const std::string id = rest.substr(0, slash);
            const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
            if (tail.empty() && request.method == "GET")
                return show(id);
            if (tail == "/recipients" && request.method == "GET")
                return list_recipients(id, request.target);
            if (tail == "/failures" && request.method == "GET")
                return list_failures(id, request.target);
            if (tail == "/recipients" && request.method == "POST")
                return append(id, request);
            if (tail == "/start" && request.method == "POST")
                return start(id);
            if (tail == "/cancel" && request.method == "POST")
                return cancel(id, request.client);
        }
    } catch (const bad_request& bad) {
        return error_answer(400, "invalid_request", bad.message, bad.field);
    } catch (const unsupported_media&) {
        return error_answer(415, "unsupported_media_type", "send the body as JSON, with the header Content-Type: application/json");
    } catch (const core::store_full& e) {
        spdlog::error("{} {}: {}", request.method, path, e.what());
        return error_answer(503, "store_full", "the job store is full: nothing was changed; try again once the operator has made room");
    } catch (const core::store_error& e) {
        // The details (file, SQLite's words) are for the operator's log, not for API clients.
        spdlog::error("{} {}: {}", request.method, path, e.what());
        return error_answer(503, "store_unavailable", "the job store is not available; nothing was changed, try again later");
    }
    if (const std::string allowed = methods_of(path); !allowed.empty()) {
        http_server_response refused =
            error_answer(405, "method_not_allowed", core::excerpt(request.method) + " " + path + " is not served: use " + allowed);
        refused.headers.emplace_back("Allow", allowed);
        return refused;
    }
    return error_answer(404, "not_found", "no such endpoint: " + core::excerpt(request.method) + " " + core::excerpt(path));
}

http_server_response jobs_api::submit(const http_server_request& request) {
    const std::int64_t now = now_ms();
    job_request submitted = read_job_request(request, now);
    core::route route = route_of(submitted.route);
    const std::string job_id = new_job_id();
    route.seed = core::choice_seed(job_id);
    const std::string region = submitted.region.empty() ? default_region_ : submitted.region;
    const bool paged = submitted.open;

    // The same key with the same request answers with the job made the first time; the same key
    // with another request is refused, so a client retrying after a lost answer never sends twice.
    // Keys belong to the client that sent them: one client's key never finds another's job. The
    // request is compared in its canonical form: the same fields in another order are the same
    // request (stores written before kept the hash of the text as given, which still matches).
    const std::string& key = submitted.idempotency_key;
    const std::string scoped_key = key.empty() ? "" : request.client + ":" + key;
    const std::string request_hash = key.empty() ? "" : sha256_hex(canonical_json(submitted.document));
    const auto earlier_answer = [&]() -> std::optional<http_server_response> {
        const std::optional<core::job> earlier = store_.find_job_by_idempotency_key(scoped_key);
        if (!earlier)
            return std::nullopt;
        if (earlier->request_hash != request_hash && earlier->request_hash != sha256_hex(json::serialize(submitted.document)))
            return error_answer(409, "conflict", "idempotency_key '" + key + "' was used for a different request (job " +
                                              earlier->id + ")", "idempotency_key");
        return json_answer(200, job_json(*earlier, store_.count_by_state(earlier->id)));
    };
    if (!key.empty())
        if (auto answer = earlier_answer())
            return *answer;

    std::vector<core::recipient> recipients = std::move(submitted.recipients);
    if (auto refused = over_limits(paged, recipients.size()))
        return *refused;
    if (auto refused = prepare(route, region, recipients))
        return *refused;
    core::mark_duplicates(recipients, {});
    for (core::recipient& r : recipients)
        r.next_attempt_at_ms = core::first_due_at(route, r, submitted.send_at_ms);  // a restart keeps it
    core::job j{job_id,
                route.name,
                now,
                paged ? core::job_state::open : core::job_state::queued,
                static_cast<std::int64_t>(recipients.size()),
                0,
                scoped_key,
                request_hash,
                submitted.deadline_ms,
                core::route_to_json(route),
                region,
                false,
                submitted.send_at_ms};
    {
        // Validation ran outside the lock; the key's last look and the creation are one step.
        std::lock_guard one_change_at_a_time(submissions_);
        if (!key.empty())
            if (auto answer = earlier_answer())
                return *answer;
        try {
            store_.create_job(j, recipients);
        } catch (const std::invalid_argument&) {
            // Another daemon on the shared store took the same key a moment ago: its job answers.
            if (auto answer = key.empty() ? std::nullopt : earlier_answer())
                return *answer;
            throw;
        }
    }
    if (!paged)
        dispatcher_.start(j.id);
    spdlog::info("job {}: {} {} recipients for route {} (client {})", j.id, paged ? "opened with" : "accepted",
                 j.recipient_count, j.route, request.client);
    return json_answer(paged ? 201 : 202, job_json(j, store_.count_by_state(j.id)));
}

http_server_response jobs_api::append(const std::string& job_id, const http_server_request& request) {
    const auto not_open = [&job_id](const core::job& j) {
        return error_answer(409, "conflict", "job " + job_id + " is " + core::to_string(j.state) +
                                          ": recipients can be added only to a job created with \"open\": true");
    };
    const std::optional<core::job> j = store_.find_job(job_id);
    if (!j)
        return error_answer(404, "not_found", "no job " + core::excerpt(job_id));
    if (j->state != core::job_state::open)
        return not_open(*j);
    std::vector<core::recipient> recipients = read_page_request(request);
    if (static_cast<std::int64_t>(j->recipient_count + recipients.size()) > limits_.max_recipients_per_job)
        return error_answer(413, "job_too_large", "job " + job_id + " holds " + std::to_string(j->recipient_count) +
                                               " recipients: this page would take it past " +
                                               std::to_string(limits_.max_recipients_per_job) + " (limits.max_recipients_per_job)",
                     "recipients");
    const core::route route = stored_route(*j);
    if (const std::string missing = core::missing_provider(route, providers_); !missing.empty())
        return error_answer(409, "conflict", "job " + job_id + " cannot take recipients: its route's " + missing +
                                                 " any more; nothing was accepted (cancel the job, or configure that instance again)");
    // The slow part, before the lock: pages sent side by side are read side by side.
    if (auto refused = prepare(route, j->region, recipients))
        return *refused;

    // Pages of one job must not race each other (their indexes, their duplicates) or its start:
    // look again, number the page after what the job holds now, and store it, as one step.
    std::lock_guard one_change_at_a_time(submissions_);
    const std::optional<core::job> now = store_.find_job(job_id);
    if (!now)
        return error_answer(404, "not_found", "no job " + core::excerpt(job_id));
    if (now->state != core::job_state::open)
        return not_open(*now);
    for (core::recipient& r : recipients) {
        r.index += now->recipient_count;
        r.next_attempt_at_ms = core::first_due_at(route, r, now->send_at_ms);  // every page waits for send_at too
    }
    core::mark_duplicates(recipients, [this, &job_id](const std::vector<std::string>& addresses) {
        return store_.first_indexes(job_id, addresses);
    });
    store_.append_recipients(job_id, recipients);
    return json_answer(200, json::object{{"id", job_id},
                                   {"state", "open"},
                                   {"recipients", now->recipient_count + static_cast<std::int64_t>(recipients.size())}});
}

http_server_response jobs_api::start(const std::string& job_id) {
    // Checking "open" and starting are one step: two starts at once must not send the job twice.
    std::lock_guard one_change_at_a_time(submissions_);
    std::optional<core::job> j = store_.find_job(job_id);
    if (!j)
        return error_answer(404, "not_found", "no job " + core::excerpt(job_id));
    if (j->state != core::job_state::open)
        return error_answer(409, "conflict", "job " + job_id + " is " + core::to_string(j->state) + ": only an open job can be started");
    store_.set_job_state(job_id, core::job_state::queued);
    dispatcher_.start(job_id);
    j->state = core::job_state::queued;
    spdlog::info("job {}: started with {} recipients", job_id, j->recipient_count);
    return json_answer(202, job_json(*j, store_.count_by_state(job_id)));
}

http_server_response jobs_api::cancel(const std::string& job_id, const std::string& client) {
    std::lock_guard one_change_at_a_time(submissions_);
    const std::optional<core::job> j = store_.find_job(job_id);
    if (!j)
        return error_answer(404, "not_found", "no job " + core::excerpt(job_id));
    if (j->state == core::job_state::finished)
        return error_answer(409, "conflict", "job " + job_id + " is finished: there is nothing left to cancel");
    // Whatever calls under way bring back, the job sends nothing more (the store holds it to that).
    const std::size_t cancelled = store_.cancel_job(job_id);
    dispatcher_.wake(job_id);
    // With nothing in a call the job is over now, even if its sender sleeps until a later time.
    if (store_.count_by_state(job_id).at(core::recipient_state::sending) == 0)
        store_.finish_job(job_id, now_ms());
    spdlog::info("job {}: cancelled {} recipient(s) not yet sent (client {})", job_id, cancelled, client);
    json::object body = job_json(*store_.find_job(job_id), store_.count_by_state(job_id));
    body["cancelled"] = cancelled;
    return json_answer(200, body);
}

core::route jobs_api::stored_route(const core::job& j) const {
    const auto configured = routes_.find(j.route);
    return j.route_json.empty() && configured != routes_.end() ? configured->second : core::route_from_json(j.route_json);
}

std::optional<http_server_response> jobs_api::prepare(const core::route& r, const std::string& region,
                                                     std::vector<core::recipient>& recipients) {
    core::normalise_numbers(recipients, r, region);
    core::choose_first_steps(recipients, r);
    std::vector<std::string> addresses;
    for (const core::recipient& rec : recipients)
        if (rec.state == core::recipient_state::queued)
            addresses.push_back(rec.to);
    const core::suppression_index suppressed = store_.find_suppressions(addresses);
    try {
        core::screen_recipients(providers_, r, recipients, suppressed, now_ms());
    } catch (const std::runtime_error& e) {
        return error_answer(502, "provider_error", std::string(e.what()) + "; nothing was accepted");
    }
    return std::nullopt;
}

http_server_response jobs_api::list(const std::string& target) {
    const boost::urls::url_view url = *boost::urls::parse_origin_form(target);
    const std::size_t limit = query_number(url.params(), "limit", 20, largest_page);
    const std::size_t offset = query_number(url.params(), "offset", 0, std::numeric_limits<std::int64_t>::max());
    const std::vector<core::job> page = store_.recent_jobs(limit, offset, query_job_state(url.params()));
    json::array jobs;
    for (const core::job& j : page)
        jobs.push_back(job_json(j, store_.count_by_state(j.id)));
    json::object body{{"jobs", std::move(jobs)}};
    if (page.size() == limit && !page.empty())
        body["next_offset"] = offset + limit;
    else
        body["next_offset"] = nullptr;
    return json_answer(200, body);
}

http_server_response jobs_api::show(const std::string& job_id) {
    const std::optional<core::job> j = store_.find_job(job_id);
    if (!j)
        return error_answer(404, "not_found", "no job " + core::excerpt(job_id));
    return json_answer(200, job_json(*j, store_.count_by_state(job_id)));
}

http_server_response jobs_api::list_recipients(const std::string& job_id, const std::string& target) {
    const std::optional<core::job> j = store_.find_job(job_id);
    if (!j)
        return error_answer(404, "not_found", "no job " + core::excerpt(job_id));
    const boost::urls::url_view url = *boost::urls::parse_origin_form(target);
    const boost::urls::params_view params = url.params();
    const std::size_t offset = query_number(params, "offset", 0, static_cast<std::size_t>(j->recipient_count));
    const std::size_t limit = query_number(params, "limit", default_page, largest_page);
    std::optional<core::recipient_state> state;
    if (auto it = params.find("state"); it != params.end()) {
        state = core::parse_recipient_state((*it).value);
        if (!state)
            throw bad_request{"state", "is not a recipient state: '" + core::excerpt((*it).value) + "'"};
    }
    std::string provider;
    if (auto it = params.find("provider"); it != params.end())
        provider = (*it).value;
    const std::vector<core::recipient> page =
        store_.recipients(job_id, static_cast<std::int64_t>(offset), limit, state, provider);
    // The route only names each recipient's rule: a job whose route cannot be read any more (its
    // configured route removed) still lists its recipients.
    std::optional<core::route> rt;
    try {
        rt = stored_route(*j);
    } catch (const std::runtime_error&) {
    }
    json::array items;
    for (const core::recipient& r : page)
        items.push_back(recipient_json(r, rt ? &*rt : nullptr));
    json::object body{{"job_id", job_id}, {"recipients", std::move(items)}};
    if (page.size() == limit && !page.empty())
        body["next_offset"] = page.back().index + 1;
    else
        body["next_offset"] = nullptr;
    return json_answer(200, body);
}

http_server_response jobs_api::list_failures(const std::string& job_id, const std::string& target) {
    if (!store_.find_job(job_id))
        return error_answer(404, "not_found", "no job " + core::excerpt(job_id));
    const boost::urls::url_view url = *boost::urls::parse_origin_form(target);
    const std::size_t limit = query_number(url.params(), "limit", default_page, largest_page);
    json::array groups;
    for (const core::failure_group& g : store_.failure_groups(job_id, limit))
        groups.push_back({{"state", core::to_string(g.state)}, {"code", g.code}, {"reason", g.reason}, {"count", g.count}});
    return json_answer(200, json::object{{"job_id", job_id}, {"failures", std::move(groups)}});
}

} // namespace switchboard::host
