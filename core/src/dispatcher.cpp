#include <switchboard/core/dispatcher.hpp>

#include <switchboard/core/dispatch_observer.hpp>
#include <switchboard/core/http_client.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/plugin_documents.hpp>
#include <switchboard/core/rate_limiter.hpp>

#include "route_progress.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <random>
#include <stdexcept>

namespace switchboard::core {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t validation_chunk = 1000;

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string status_name(sb_status status) {
    switch (status) {
    case SB_STATUS_TRANSIENT: return "transient";
    case SB_STATUS_PERMANENT: return "permanent";
    case SB_STATUS_INVALID_CONFIG: return "invalid_config";
    case SB_STATUS_AUTHENTICATION: return "authentication";
    case SB_STATUS_UNSUPPORTED: return "unsupported";
    default: return "internal";
    }
}

constexpr std::chrono::milliseconds receipt_check{200};   // how often a job waiting on receipts looks again
constexpr std::size_t receipt_query_size = 100;            // message ids per pull-receipt query
constexpr std::int64_t early_receipt_ttl_ms = 10 * 60'000; // how long a receipt may wait for its call's outcome
constexpr std::int64_t longest_sleep_ms = 3600'000;         // a waiting job looks again at least this often

} // namespace

namespace {

// The plugin's verdicts on `recipients` at `step`, in their order: nullopt for a recipient it takes,
// else {field, reason}.
std::vector<std::optional<std::pair<std::string, std::string>>>
validate_at_step(const provider_instance& provider, const route_step& step, const std::vector<const recipient*>& recipients) {
    std::vector<std::optional<std::pair<std::string, std::string>>> verdicts_out;
    verdicts_out.reserve(recipients.size());
    for (std::size_t start = 0; start < recipients.size(); start += validation_chunk) {
        const std::size_t end = std::min(recipients.size(), start + validation_chunk);
        const plugin_call_result result =
            provider.validate(validation_document(step, std::span(recipients).subspan(start, end - start)));
        if (!result.ok())
            throw std::runtime_error("provider '" + provider.name() + "' could not validate recipients: " + result.error);
        const json::value doc = json::parse(result.json);
        const json::array& verdicts = doc.at("verdicts").as_array();
        if (verdicts.size() != end - start)
            throw std::runtime_error("provider '" + provider.name() + "' gave " + std::to_string(verdicts.size()) +
                                     " verdicts for " + std::to_string(end - start) + " recipients");
        for (const json::value& item : verdicts) {
            const json::object& v = item.as_object();
            if (v.at("ok").as_bool()) {
                verdicts_out.emplace_back(std::nullopt);
                continue;
            }
            verdicts_out.emplace_back(std::pair{v.contains("field") ? std::string(v.at("field").as_string()) : "",
                                                v.contains("reason") ? std::string(v.at("reason").as_string())
                                                                     : "refused by validation"});
        }
    }
    return verdicts_out;
}

} // namespace

void screen_recipients(const provider_map& providers, const route& r, std::vector<recipient>& recipients,
                       std::int64_t now_ms) {
    // Steps in order: one a step refuses moves to a later one, screened in its turn.
    for (std::size_t s = 0; s < r.steps.size(); ++s) {
        std::vector<recipient*> at_step;
        for (recipient& rec : recipients)
            if (rec.state == recipient_state::queued && rec.step == static_cast<int>(s))
                at_step.push_back(&rec);
        if (at_step.empty())
            continue;
        const provider_instance& provider = *providers.find(r.steps[s].provider)->second;
        const auto verdicts = validate_at_step(provider, r.steps[s], {at_step.begin(), at_step.end()});
        for (std::size_t i = 0; i < at_step.size(); ++i) {
            if (!verdicts[i])
                continue;
            recipient_update u = update_of(*at_step[i]);
            u.provider = provider.name();
            record_step(u, r, {step_result::invalid, verdicts[i]->first, verdicts[i]->second}, now_ms);
            fall_back(u, r, now_ms);
            apply_update(*at_step[i], u);
        }
    }
}

dispatcher::dispatcher(net::any_io_executor executor, job_store& store, const route_map& routes,
                       const provider_map& providers, http_client& http, dispatch_options options)
    : executor_(std::move(executor)), store_(store), routes_(routes), providers_(providers), http_(http),
      options_(options) {
    for (const auto& [name, instance] : providers_) {
        const plugin_manifest& m = instance->owner().manifest();
        double requests = m.requests_per_second;
        double recipients = m.recipients_per_second;
        if (const auto o = options_.rate_overrides.find(name); o != options_.rate_overrides.end()) {
            requests = o->second.requests_per_second.value_or(requests);
            recipients = o->second.recipients_per_second.value_or(recipients);
        }
        limiters_.emplace(name, std::make_unique<rate_limiter>(requests, recipients));
        paces_.emplace(name, std::pair{requests, recipients});
    }
}

dispatcher::~dispatcher() = default;

void dispatcher::start(const std::string& job_id) {
    net::co_spawn(executor_, run(job_id), [job_id](std::exception_ptr error) {
        if (!error)
            return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            spdlog::error("job {}: dispatch stopped: {}", job_id, e.what());
        }
    });
}

route dispatcher::route_of(const job& j) const {
    if (!j.route_json.empty())
        return route_from_json(j.route_json);
    const auto configured = routes_.find(j.route);
    if (configured == routes_.end())
        throw std::runtime_error("job " + j.id + " uses route '" + j.route + "', which is not configured");
    return configured->second;
}

std::size_t dispatcher::settle_in_flight_as_unknown(const job& j) {
    std::optional<route> rt;
    try {
        rt = route_of(j);
    } catch (const std::runtime_error& e) {
        spdlog::error("job {}: {}; its recipients in flight become unknown without their step's policy", j.id, e.what());
    }
    std::vector<recipient_update> in_flight;
    for (const recipient& r :
         store_.recipients(j.id, 0, std::numeric_limits<std::size_t>::max(), recipient_state::sending)) {
        recipient_update u = update_of(r);
        const std::string reason = "the daemon stopped while this recipient's call was in flight";
        if (rt) {
            settle(u, *rt, call_outcome::unknown, "outcome_unknown", reason, now_ms());
        } else {
            u.state = recipient_state::unknown;
            u.code = "outcome_unknown";
            u.reason = reason + "; not sent again, to avoid a double send";
        }
        in_flight.push_back(std::move(u));
    }
    store_.apply(j.id, in_flight);
    return in_flight.size();
}

std::size_t dispatcher::resume_unfinished() {
    const std::vector<job> unfinished = store_.unfinished_jobs();
    std::size_t resumed = 0;
    for (const job& j : unfinished) {
        if (j.state == job_state::open)
            continue;  // still taking recipients: it starts when its client says so
        ++resumed;
        const std::size_t unknown = settle_in_flight_as_unknown(j);
        spdlog::info("job {}: resumed; {} recipient(s) were in flight when the daemon stopped", j.id, unknown);
        start(j.id);
    }
    return resumed;
}

std::size_t dispatcher::abandon_in_flight() {
    std::size_t abandoned = 0;
    for (const job& j : store_.unfinished_jobs())
        abandoned += settle_in_flight_as_unknown(j);
    return abandoned;
}

void dispatcher::close_waits(const std::string& job_id, const route& rt) {
    std::vector<recipient_update> closed;
    for (const recipient& r : store_.due_recipients(job_id, now_ms(), validation_chunk, recipient_state::awaiting_receipt)) {
        recipient_update u = update_of(r);
        const bool last_step = static_cast<std::size_t>(r.step) + 1 >= rt.steps.size();
        if (last_step) {
            // Nowhere left to go: the vendor took it, and that is all there is to know.
            u.state = recipient_state::accepted;
            record_step(u, rt, {step_result::accepted, "", "no receipt within the step's receipt_wait"}, now_ms());
        } else {
            record_step(u, rt, {step_result::no_receipt, "no_receipt", "no receipt within the step's receipt_wait"},
                        now_ms());
            fall_back(u, rt, now_ms());
        }
        closed.push_back(std::move(u));
    }
    if (!closed.empty())
        store_.apply_if(job_id, recipient_state::awaiting_receipt, closed);
}

std::vector<recipient> dispatcher::screen_later_step(const std::string& job_id, const route& rt,
                                                     std::vector<recipient> candidates) {
    if (candidates.empty() || candidates.front().step == 0)
        return candidates;  // the first step's recipients were screened when the job was accepted
    std::vector<recipient> screened = candidates;
    try {
        screen_recipients(providers_, rt, screened, now_ms());
    } catch (const std::runtime_error& e) {
        // A plugin that cannot validate fails its step for these, rather than hold them forever.
        spdlog::error("job {}: {}; its recipients at that step move on", job_id, e.what());
        for (recipient& r : screened) {
            recipient_update u = update_of(r);
            record_step(u, rt, {step_result::invalid, "validation_failed", e.what()}, now_ms());
            fall_back(u, rt, now_ms());
            apply_update(r, u);
        }
    }
    std::vector<recipient_update> refused;
    std::vector<recipient> rest;
    for (std::size_t i = 0; i < screened.size(); ++i) {
        if (screened[i].step == candidates[i].step && screened[i].state == recipient_state::queued)
            rest.push_back(std::move(candidates[i]));
        else
            refused.push_back(update_of(screened[i]));
    }
    if (!refused.empty())
        store_.apply_if(job_id, recipient_state::queued, refused);
    return rest;
}

std::string dispatcher::unusable_route(const job& j, std::optional<route>& rt) const {
    try {
        rt = route_of(j);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    for (std::size_t i = 0; i < rt->steps.size(); ++i)
        if (providers_.find(rt->steps[i].provider) == providers_.end())
            return "step " + std::to_string(i) + " of its route names provider instance '" + rt->steps[i].provider +
                   "', which is not configured";
    return {};
}

void dispatcher::end_unroutable(const job& j, const std::string& why) {
    spdlog::error("job {}: cannot be sent: {}; what was not sent fails", j.id, why);
    store_.settle_all(j.id, recipient_state::queued, recipient_state::failed, "unroutable", "the job cannot be sent: " + why);
    store_.settle_all(j.id, recipient_state::awaiting_receipt, recipient_state::accepted, "",
                      "the job's route cannot be followed any further: " + why);
    store_.finish_job(j.id, now_ms());
}

net::awaitable<void> dispatcher::run(std::string job_id) {
    const std::optional<job> found = store_.find_job(job_id);
    if (!found)
        throw std::runtime_error("no job " + job_id);
    const job& j = *found;
    std::optional<route> stored_route;
    if (const std::string why = unusable_route(j, stored_route); !why.empty()) {
        // A configuration changed under a stored job: fail what is left, clearly, rather than crash or stall.
        end_unroutable(j, why);
        co_return;
    }
    const route& rt = *stored_route;
    store_.set_job_state(job_id, job_state::running);
    net::steady_timer timer(executor_);

    for (;;) {
        if (stopping_)
            co_return;  // unfinished: resumed when the daemon starts again
        bool failed = false;
        try {
            if (j.deadline_ms > 0 && now_ms() >= j.deadline_ms) {
                const std::size_t expired = store_.settle_all(job_id, recipient_state::queued, recipient_state::failed,
                                                              "deadline", "the job's deadline passed before it could be sent");
                store_.settle_all(job_id, recipient_state::awaiting_receipt, recipient_state::accepted, "",
                                  "the job's deadline closed its receipt wait");
                if (expired > 0)
                    spdlog::info("job {}: deadline passed; {} recipient(s) not sent", job_id, expired);
            }
            close_waits(job_id, rt);
            // One look at the next due recipient to learn its step, then a batch of that step's size.
            std::vector<recipient> due = store_.due_recipients(job_id, now_ms(), 1);
            if (due.empty()) {
                const std::optional<std::int64_t> next = store_.next_due_at(job_id);
                if (!next && settle_orphans(j) == 0)
                    break;
                if (!next)
                    continue;  // the orphans may have moved on to a later step
                // Wake for the next due recipient or the deadline; sooner while receipts may move
                // recipients on (they are not announced to this loop).
                std::int64_t wake = j.deadline_ms > 0 ? std::min(*next, j.deadline_ms) : *next;
                if (store_.count_by_state(job_id).at(recipient_state::awaiting_receipt) > 0)
                    wake = std::min(wake, now_ms() + receipt_check.count());
                // At most an hour at a time: a wait of centuries (a send_at stored long ago, say)
                // overflows the timer's clock and would fire at once, again and again.
                timer.expires_after(std::chrono::milliseconds(std::clamp<std::int64_t>(wake - now_ms(), 1, longest_sleep_ms)));
                co_await timer.async_wait(net::use_awaitable);
                continue;
            }
            // One call at a time per job, each with recipients of one step, up to the provider's limit.
            const int step_index = due.front().step;
            const route_step& step = rt.steps.at(static_cast<std::size_t>(step_index));
            const provider_instance& provider = *providers_.find(step.provider)->second;
            std::vector<recipient> candidates;
            for (recipient& candidate : store_.due_recipients(job_id, now_ms(), batch_limit(step.provider, provider)))
                if (candidate.step == step_index)
                    candidates.push_back(std::move(candidate));
            candidates = screen_later_step(job_id, rt, std::move(candidates));
            if (candidates.empty())
                continue;

            // Pace first, then claim: the signature carries the sending time, and a stop, a cancel or a
            // deadline during the wait must find these recipients still queued, not "in a call".
            co_await pace(provider.name(), candidates.size());
            if (stopping_)
                co_return;
            std::vector<recipient> batch = claim(job_id, provider.name(), std::move(candidates));
            if (!batch.empty())
                co_await send_batch(j, rt, provider, std::move(batch));
        } catch (const std::exception& e) {
            // The store failed (a full disk, say) or a plugin could not validate: recipients in a
            // call stay so, and become unknown at the next start. Keep the job alive, try again soon.
            spdlog::error("job {}: {}; trying again in a second", job_id, e.what());
            failed = true;
        }
        if (failed) {
            timer.expires_after(std::chrono::seconds(1));
            co_await timer.async_wait(net::use_awaitable);
        }
    }
    const std::function<void()> finish = [&] { store_.finish_job(job_id, now_ms()); };
    co_await until_stored(job_id, "its end", finish);
    spdlog::info("job {}: finished", job_id);
}

std::size_t dispatcher::settle_orphans(const job& j) {
    // This job has no call out now, so whoever is still marked as in one was left so by a write that
    // never happened; the vendor may have taken them.
    if (store_.count_by_state(j.id).at(recipient_state::sending) == 0)
        return 0;
    const std::size_t orphans = settle_in_flight_as_unknown(j);
    spdlog::warn("job {}: {} recipient(s) were marked as in a call that is over; their outcome is unknown", j.id, orphans);
    return orphans;
}

net::awaitable<void> dispatcher::until_stored(const std::string& job_id, std::string_view what,
                                              const std::function<void()>& write) {
    net::steady_timer pause(co_await net::this_coro::executor);
    for (int failures = 0;; ++failures) {
        try {
            write();
            if (failures > 0)
                spdlog::info("job {}: {} is recorded, after {} failed attempt(s)", job_id, what, failures);
            co_return;
        } catch (const store_error& e) {
            if (failures == 0)
                spdlog::error("job {}: cannot record {}: {}; trying again every second", job_id, what, e.what());
        }
        pause.expires_after(std::chrono::seconds(1));
        co_await pause.async_wait(net::use_awaitable);
    }
}

std::vector<recipient> dispatcher::claim(const std::string& job_id, const std::string& provider,
                                         std::vector<recipient> candidates) {
    std::vector<recipient_update> sending;
    sending.reserve(candidates.size());
    for (recipient& r : candidates) {
        r.state = recipient_state::sending;
        ++r.attempts;
        r.provider = provider;
        sending.push_back(update_of(r));
    }
    const std::vector<std::int64_t> claimed = store_.claim(job_id, sending);
    std::vector<recipient> batch;
    batch.reserve(claimed.size());
    std::size_t next = 0;
    for (recipient& r : candidates)
        if (next < claimed.size() && claimed[next] == r.index) {
            batch.push_back(std::move(r));
            ++next;
        }
    return batch;
}

std::size_t dispatcher::batch_limit(const std::string& name, const provider_instance& provider) const {
    const auto limit = static_cast<std::size_t>(provider.owner().manifest().max_recipients_per_call);
    const auto o = options_.batch_limits.find(name);
    return o == options_.batch_limits.end() ? limit : std::min(limit, o->second);
}

void dispatcher::settle(recipient_update& u, const route& rt, call_outcome outcome, const std::string& code,
                        const std::string& reason, std::int64_t retry_at_ms) {
    const route_step& step = rt.steps.at(static_cast<std::size_t>(u.step));
    const std::int64_t now = now_ms();
    // A vendor that drops repeats of an item (VMS) may be sent it again after an unknown outcome.
    const bool resendable = outcome == call_outcome::unknown && step.on_unknown == unknown_outcome_policy::resend;
    if ((outcome == call_outcome::transient || resendable) && u.attempts < options_.max_attempts) {
        u.state = recipient_state::queued;
        u.code = code;
        u.reason = reason;
        u.next_attempt_at_ms = retry_at_ms;
        return;
    }
    const std::string gave_up = "gave up after " + std::to_string(u.attempts) + " attempts: " + reason;
    switch (outcome) {
    case call_outcome::accepted:
        u.code.clear();
        u.reason.clear();
        // Without a message id no receipt can ever be matched to it: there is nothing to wait for.
        if (step.receipt_wait_ms > 0 && !u.message_id.empty()) {
            u.state = recipient_state::awaiting_receipt;
            u.next_attempt_at_ms = now + step.receipt_wait_ms;
        } else {
            u.state = recipient_state::accepted;
            record_step(u, rt, {step_result::accepted, "", ""}, now);
        }
        return;
    case call_outcome::transient:
    case call_outcome::rejected:
        record_step(u, rt, {step_result::failed, code, outcome == call_outcome::transient ? gave_up : reason}, now);
        fall_back(u, rt, now);
        return;
    case call_outcome::unknown:
        record_step(u, rt, {step_result::unknown, code, resendable ? gave_up : reason}, now);
        if (step.on_unknown == unknown_outcome_policy::next_step) {
            fall_back(u, rt, now);
            return;
        }
        u.state = recipient_state::unknown;
        u.code = code;
        u.reason = (resendable ? gave_up : reason) + "; not sent again, to avoid a double send";
        return;
    }
}

void dispatcher::apply_outcomes(const std::string& outcomes_json, const route& rt, const std::vector<recipient>& batch,
                                std::vector<recipient_update>& updates,
                                const std::function<std::int64_t(std::int64_t)>& retry_at) {
    std::map<std::string, std::size_t, std::less<>> position;
    for (std::size_t i = 0; i < batch.size(); ++i)
        position.emplace(std::to_string(batch[i].index), i);
    std::vector<bool> settled(batch.size(), false);

    const json::value doc = json::parse(outcomes_json);
    for (const json::value& item : doc.at("outcomes").as_array()) {
        const json::object& o = item.as_object();
        const auto text = [&o](std::string_view key) {
            const json::value* v = o.if_contains(key);
            return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
        };
        auto it = position.find(text("id"));
        if (it == position.end() || settled[it->second])
            continue;
        const std::size_t i = it->second;
        settled[i] = true;
        const std::string result = text("result");
        const json::value* retry = o.if_contains("retry_after_ms");
        const std::int64_t retry_after = retry != nullptr && retry->is_int64() ? retry->get_int64() : -1;
        if (result == "accepted") {
            updates[i].message_id = text("message_id");
            settle(updates[i], rt, call_outcome::accepted, "", "", 0);
        } else if (result == "rejected") {
            settle(updates[i], rt, call_outcome::rejected, text("code"), text("reason"), 0);
        } else if (result == "transient") {
            settle(updates[i], rt, call_outcome::transient, text("code"), text("reason"), retry_at(retry_after));
        } else {
            settle(updates[i], rt, call_outcome::unknown, text("code"), text("reason"), retry_at(-1));
        }
    }
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (!settled[i])
            settle(updates[i], rt, call_outcome::unknown, "no_outcome", "the provider reported no outcome for it",
                   retry_at(-1));
}

std::pair<double, double> dispatcher::pace_of(const std::string& provider) const {
    const auto found = paces_.find(provider);
    return found == paces_.end() ? std::pair{0.0, 0.0} : found->second;
}

net::awaitable<void> dispatcher::pace(const std::string& provider, std::size_t recipients) {
    const auto wait = limiters_.at(provider)->reserve(recipients);
    if (dispatch_observer* observer = observer_.load(); observer != nullptr && wait.count() > 0)
        observer->rate_wait(provider, wait);
    net::steady_timer pause(executor_, wait);
    co_await pause.async_wait(net::use_awaitable);
}

std::int64_t dispatcher::backoff_ms(int attempts, std::int64_t retry_after_ms) {
    thread_local std::mt19937_64 random(std::random_device{}());
    const std::int64_t ceiling = std::min<std::int64_t>(options_.max_backoff.count(),
                                                        options_.base_backoff.count() << std::min(attempts, 20));
    const std::int64_t jittered = std::uniform_int_distribution<std::int64_t>(0, std::max<std::int64_t>(ceiling, 1))(random);
    return std::max(jittered, retry_after_ms);
}

std::function<std::int64_t(std::int64_t)> dispatcher::batch_retry_clock(const std::vector<recipient>& batch) {
    // One backoff and one time for the whole batch, so that what failed together is retried together.
    int most_attempts = 0;
    for (const recipient& r : batch)
        most_attempts = std::max(most_attempts, r.attempts);
    const std::int64_t jitter_ms = backoff_ms(most_attempts, -1);
    const std::int64_t answered_at = now_ms();
    return [jitter_ms, answered_at](std::int64_t retry_after_ms) { return answered_at + std::max(jitter_ms, retry_after_ms); };
}

std::vector<recipient_update> dispatcher::settle_batch(const route& rt, const std::vector<recipient>& batch,
                                                       call_outcome outcome, const std::string& code,
                                                       const std::string& reason, std::int64_t retry_after_ms) {
    const auto retry_at = batch_retry_clock(batch);
    std::vector<recipient_update> updates;
    for (const recipient& r : batch) {
        updates.push_back(update_of(r));
        settle(updates.back(), rt, outcome, code, reason, retry_at(retry_after_ms));
    }
    return updates;
}

std::vector<recipient_update> dispatcher::settle_outcomes(const route& rt, const std::vector<recipient>& batch,
                                                          const std::string& outcomes_json) {
    std::vector<recipient_update> updates;
    for (const recipient& r : batch)
        updates.push_back(update_of(r));
    try {
        apply_outcomes(outcomes_json, rt, batch, updates, batch_retry_clock(batch));
        return updates;
    } catch (const std::exception& e) {
        return settle_batch(rt, batch, call_outcome::unknown, "bad_decode",
                            std::string("the provider's outcomes cannot be read (") + e.what() +
                                "); the vendor may have taken the batch",
                            -1);
    }
}

void dispatcher::report_call(const provider_instance& provider, std::size_t recipients, std::string_view outcome,
                             std::chrono::steady_clock::duration latency) const {
    if (dispatch_observer* observer = observer_.load())
        observer->vendor_call(provider.name(), recipients, outcome, latency);
}

std::vector<recipient_update> dispatcher::settle_answer(const route& rt, const provider_instance& provider,
                                                        const std::string& document, const http_result& sent,
                                                        const std::vector<recipient>& batch,
                                                        std::chrono::steady_clock::duration latency) {
    if (sent.failure == http_failure::not_sent) {
        report_call(provider, batch.size(), "not_sent", latency);
        return settle_batch(rt, batch, call_outcome::transient, "not_sent", sent.error, -1);
    }
    if (sent.failure == http_failure::outcome_unknown) {
        report_call(provider, batch.size(), "unknown", latency);
        return settle_batch(rt, batch, call_outcome::unknown, "outcome_unknown", sent.error, -1);
    }
    const plugin_call_result decoded = provider.decode(document, sent.response);
    report_call(provider, batch.size(), decoded.ok() ? "ok" : status_name(decoded.status), latency);
    if (decoded.ok())
        return settle_outcomes(rt, batch, decoded.json);
    // A vendor that asks to come back later slows the whole instance down, not just this job.
    if (decoded.status == SB_STATUS_TRANSIENT && decoded.retry_after_ms > 0)
        limiters_.at(provider.name())->hold(std::chrono::milliseconds(decoded.retry_after_ms));
    return settle_batch(rt, batch, decoded.status == SB_STATUS_TRANSIENT ? call_outcome::transient : call_outcome::rejected,
                        status_name(decoded.status), decoded.error, decoded.retry_after_ms);
}

net::awaitable<void> dispatcher::send_batch(const job& j, const route& rt, const provider_instance& provider,
                                            std::vector<recipient> batch) {
    // Shares the counter: a frame destroyed with the io_context may outlive the dispatcher.
    struct counted {
        std::shared_ptr<std::atomic<int>> count;
        explicit counted(std::shared_ptr<std::atomic<int>> c) : count(std::move(c)) { ++*count; }
        ~counted() { --*count; }
    } in_flight(in_flight_);
    const route_step& step = rt.steps.at(static_cast<std::size_t>(batch.front().step));

    std::string document;
    plugin_call_result encoded;
    try {
        document = batch_document(j.id, step, batch);
        encoded = provider.encode(document, now_ms());
    } catch (const std::exception& e) {
        encoded = plugin_call_result{SB_STATUS_INTERNAL, {}, {}, std::string("cannot encode the batch: ") + e.what(), -1};
    }
    if (!encoded.ok()) {
        report_call(provider, batch.size(), "encode_error", {});
        // Never sent: a passing failure is retried, any other fails the step.
        const std::vector<recipient_update> updates =
            settle_batch(rt, batch, encoded.status == SB_STATUS_TRANSIENT ? call_outcome::transient : call_outcome::rejected,
                         "encode_" + status_name(encoded.status), encoded.error, encoded.retry_after_ms);
        const std::function<void()> write = [&] { store_.apply(j.id, updates); };
        co_await until_stored(j.id, "a batch that could not be encoded", write);
        co_return;
    }

    const auto started = std::chrono::steady_clock::now();
    const http_result sent = co_await http_.send(*encoded.request);
    const std::vector<recipient_update> updates =
        settle_answer(rt, provider, document, sent, batch, std::chrono::steady_clock::now() - started);
    // The vendor has answered: a moment's disk failure must not lose that, nor leave these "in a call".
    const std::string what = "the outcome of a call to " + provider.name() + " for " + std::to_string(batch.size()) +
                             " recipient(s)";
    const std::function<void()> write = [&] { store_.apply(j.id, updates); };
    co_await until_stored(j.id, what, write);
    apply_early_receipts(provider, updates);
    spdlog::debug("job {}: {} recipients sent through {}", j.id, batch.size(), provider.name());
}

// ---- receipts --------------------------------------------------------------------------------

namespace {

std::vector<delivery_receipt> read_receipts(const std::string& receipts_json, std::int64_t now) {
    const json::value doc = json::parse(receipts_json);
    std::vector<delivery_receipt> out;
    for (const json::value& item : doc.at("receipts").as_array()) {
        const json::object& o = item.as_object();
        const auto text = [&o](std::string_view key) {
            const json::value* v = o.if_contains(key);
            return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
        };
        out.push_back({text("message_id"), text("to"), text("status"), text("code"), text("reason"), now});
    }
    return out;
}

// What a receipt does to a recipient in its current state; nullopt: nothing.
std::optional<recipient_update> receipt_update(const recipient& r, const route& rt, const delivery_receipt& receipt,
                                               std::int64_t now) {
    const bool delivered = receipt.status == "delivered";
    if (!delivered && receipt.status != "undelivered")
        return std::nullopt;  // pending: news, but no change
    recipient_update u = update_of(r);
    switch (r.state) {
    case recipient_state::awaiting_receipt:
        if (delivered) {
            u.state = recipient_state::delivered;
            record_step(u, rt, {step_result::delivered, "", ""}, now);
        } else {
            record_step(u, rt, {step_result::undelivered, receipt.code, receipt.reason}, now);
            fall_back(u, rt, now);
        }
        return u;
    case recipient_state::accepted:
    case recipient_state::unknown:
        // Final already, and its job may be over: the receipt corrects the record, the route ends here.
        u.state = delivered ? recipient_state::delivered : recipient_state::failed;
        u.code = receipt.code;
        u.reason = delivered ? "" : receipt.reason;
        record_step(u, rt, {delivered ? step_result::delivered : step_result::undelivered, receipt.code, receipt.reason},
                    now);
        return u;
    default:
        return std::nullopt;
    }
}

} // namespace

receipt_tally dispatcher::apply_receipts(const std::string& provider, const std::string& receipts_json) {
    const receipt_tally tally = apply_receipt_list(provider, read_receipts(receipts_json, now_ms()), true);
    if (dispatch_observer* observer = observer_.load())
        observer->receipts(provider, tally.applied, tally.ignored, tally.unmatched);
    return tally;
}

receipt_tally dispatcher::apply_receipt_list(const std::string& provider, const std::vector<delivery_receipt>& receipts,
                                             bool keep_unmatched) {
    receipt_tally tally;
    // Updates per job and per state they expect to find, written together.
    std::map<std::pair<std::string, recipient_state>, std::vector<recipient_update>> updates;
    std::map<std::string, route> routes;
    std::vector<delivery_receipt> unmatched;
    const std::int64_t now = now_ms();
    for (const delivery_receipt& receipt : receipts) {
        if (receipt.message_id.empty()) {
            ++tally.ignored;
            continue;
        }
        auto found = store_.find_by_message_id(provider, receipt.message_id, receipt.to);
        if (found.size() > 1) {
            // A message id reused across jobs (a fixed CAMS task_id): only a recipient still waiting
            // for this news can be the one it is about.
            std::erase_if(found, [](const auto& match) { return match.second.state != recipient_state::awaiting_receipt; });
            if (found.size() != 1) {
                ++tally.ignored;
                continue;
            }
        }
        if (found.empty() && receipt.status != "pending") {
            spdlog::debug("provider {}: a receipt for message {} to {} names no recipient yet", provider,
                          receipt.message_id, receipt.to);
            unmatched.push_back(receipt);
            continue;
        }
        for (const auto& [job_id, r] : found) {
            auto known = routes.find(job_id);
            if (known == routes.end()) {
                const std::optional<job> j = store_.find_job(job_id);
                std::optional<route> rt;
                if (!j || !unusable_route(*j, rt).empty()) {
                    ++tally.ignored;  // its job cannot go on; its run() says why
                    continue;
                }
                known = routes.emplace(job_id, std::move(*rt)).first;
            }
            if (std::optional<recipient_update> u = receipt_update(r, known->second, receipt, now)) {
                updates[{job_id, r.state}].push_back(std::move(*u));
                ++tally.applied;
            } else {
                ++tally.ignored;
            }
        }
    }
    for (const auto& [key, list] : updates)
        store_.apply_if(key.first, key.second, list);
    // A receipt may come before its call's outcome is written: kept, it is applied when it is.
    tally.unmatched = unmatched.size();
    if (keep_unmatched && !unmatched.empty()) {
        store_.keep_early_receipts(provider, unmatched, now - early_receipt_ttl_ms);
        // The outcome may have been written, and its early receipts taken, just before these were
        // kept: look once more. Taking is atomic, so each receipt is applied once, here or there.
        std::vector<std::string> now_known;
        for (const delivery_receipt& receipt : unmatched)
            if (!store_.find_by_message_id(provider, receipt.message_id, receipt.to).empty())
                now_known.push_back(receipt.message_id);
        if (!now_known.empty()) {
            const receipt_tally late = apply_receipt_list(provider, store_.take_early_receipts(provider, now_known), false);
            tally.applied += late.applied;
            tally.ignored += late.ignored;
            tally.unmatched -= std::min(tally.unmatched, late.applied + late.ignored);
        }
    }
    return tally;
}

void dispatcher::apply_early_receipts(const provider_instance& provider, const std::vector<recipient_update>& updates) {
    if (provider.owner().manifest().receipts == "none")
        return;
    std::vector<std::string> ids;
    for (const recipient_update& u : updates)
        if (!u.message_id.empty() && (ids.empty() || ids.back() != u.message_id))
            ids.push_back(u.message_id);
    if (ids.empty())
        return;
    const std::vector<delivery_receipt> early = store_.take_early_receipts(provider.name(), ids);
    if (!early.empty())
        apply_receipt_list(provider.name(), early, false);
}

void dispatcher::start_receipt_polling() {
    for (const auto& [name, instance] : providers_) {
        if (instance->owner().manifest().receipts != "pull")
            continue;
        const provider_instance* provider = instance.get();
        net::co_spawn(executor_, poll_receipts(*provider), [name = name](std::exception_ptr error) {
            if (!error)
                return;
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::error("provider {}: receipt polling stopped: {}", name, e.what());
            }
        });
    }
}

std::optional<dispatcher::receipt_query> dispatcher::next_receipt_query(const provider_instance& provider,
                                                                        const std::string& after) {
    try {
        const std::vector<std::string> ids = store_.awaiting_message_ids(provider.name(), after, receipt_query_size);
        if (ids.empty())
            return std::nullopt;
        json::array message_ids;
        for (const std::string& id : ids)
            message_ids.emplace_back(id);
        std::string query = json::serialize(json::object{{"message_ids", std::move(message_ids)}, {"since_unix_ms", 0}});
        plugin_call_result encoded = provider.encode_receipt_query(query, now_ms());
        if (!encoded.ok()) {
            spdlog::warn("provider {}: cannot ask for receipts: {}", provider.name(), encoded.error);
            return std::nullopt;
        }
        return receipt_query{std::move(query), std::move(*encoded.request), ids.back(), ids.size() == receipt_query_size};
    } catch (const std::exception& e) {
        spdlog::error("provider {}: receipt polling: {}", provider.name(), e.what());
        return std::nullopt;
    }
}

void dispatcher::take_receipt_answer(const provider_instance& provider, const receipt_query& query,
                                     const http_result& answer) {
    if (!answer.ok()) {
        spdlog::warn("provider {}: receipt query failed: {}", provider.name(), answer.error);
        return;
    }
    try {
        const plugin_call_result decoded = provider.decode_receipt_query(query.query_json, answer.response);
        if (!decoded.ok()) {
            spdlog::warn("provider {}: receipt answer refused: {}", provider.name(), decoded.error);
            return;
        }
        // Asked about recipients awaiting receipts: an answer naming none of them is not kept.
        const receipt_tally tally = apply_receipt_list(provider.name(), read_receipts(decoded.json, now_ms()), false);
        if (dispatch_observer* observer = observer_.load())
            observer->receipts(provider.name(), tally.applied, tally.ignored, tally.unmatched);
        spdlog::debug("provider {}: pulled receipts: {} applied, {} ignored, {} for no known message", provider.name(),
                      tally.applied, tally.ignored, tally.unmatched);
    } catch (const std::exception& e) {
        spdlog::error("provider {}: receipt polling: {}", provider.name(), e.what());
    }
}

net::awaitable<void> dispatcher::poll_receipts(const provider_instance& provider) {
    net::steady_timer timer(executor_);
    while (!stopping_) {
        timer.expires_after(options_.receipt_poll);
        co_await timer.async_wait(net::use_awaitable);
        // Every message id awaiting a receipt, a query's worth at a time, at the provider's pace.
        std::string after;
        for (bool more = true; more && !stopping_;) {
            std::optional<receipt_query> query = next_receipt_query(provider, after);
            if (!query)
                break;
            after = query->last_message_id;
            more = query->more;
            co_await pace(provider.name(), 0);
            const http_result answer = co_await http_.send(std::move(query->request));
            take_receipt_answer(provider, *query, answer);
        }
    }
}

} // namespace switchboard::core
