#include <switchboard/core/dispatcher.hpp>

#include <switchboard/core/http_client.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/rate_limiter.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
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

json::object parse_object(const std::string& text) {
    json::value v = json::parse(text);
    return v.is_object() ? std::move(v.get_object()) : json::object{};
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

std::string batch_document(const job& j, const route_step& step, const std::vector<recipient>& batch) {
    json::array recipients;
    recipients.reserve(batch.size());
    for (const recipient& r : batch)
        recipients.push_back({{"id", std::to_string(r.index)}, {"to", r.to}, {"params", parse_object(r.params_json)}});
    return json::serialize(json::object{{"id", j.id + "-" + std::to_string(batch.front().index) + "-" +
                                                   std::to_string(batch.front().attempts + 1)},
                                        {"job_id", j.id},
                                        {"channel", step.channel},
                                        {"step", parse_object(step.step_json)},
                                        {"recipients", std::move(recipients)}});
}

recipient_update update_of(const recipient& r, const std::string& provider) {
    recipient_update u;
    u.index = r.index;
    u.state = r.state;
    u.attempts = r.attempts;
    u.next_attempt_at_ms = r.next_attempt_at_ms;
    u.provider = provider;
    u.message_id = r.message_id;
    return u;
}

} // namespace

void validate_recipients(const provider_instance& provider, const route_step& step, std::vector<recipient>& recipients) {
    const json::object step_object = parse_object(step.step_json);
    for (std::size_t start = 0; start < recipients.size(); start += validation_chunk) {
        const std::size_t end = std::min(recipients.size(), start + validation_chunk);
        json::array items;
        for (std::size_t i = start; i < end; ++i)
            items.push_back({{"to", recipients[i].to}, {"params", parse_object(recipients[i].params_json)}});
        const plugin_call_result result = provider.validate(json::serialize(
            json::object{{"channel", step.channel}, {"step", step_object}, {"recipients", std::move(items)}}));
        if (!result.ok())
            throw std::runtime_error("provider '" + provider.name() + "' could not validate recipients: " + result.error);
        const json::value doc = json::parse(result.json);
        const json::array& verdicts = doc.at("verdicts").as_array();
        if (verdicts.size() != end - start)
            throw std::runtime_error("provider '" + provider.name() + "' gave " + std::to_string(verdicts.size()) +
                                     " verdicts for " + std::to_string(end - start) + " recipients");
        for (std::size_t i = start; i < end; ++i) {
            const json::object& v = verdicts[i - start].as_object();
            if (v.at("ok").as_bool())
                continue;
            recipient& r = recipients[i];
            r.state = recipient_state::skipped_invalid;
            r.provider = provider.name();
            r.code = v.contains("field") ? std::string(v.at("field").as_string()) : "";
            r.reason = v.contains("reason") ? std::string(v.at("reason").as_string()) : "refused by validation";
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

namespace {

// Recipients left inside a vendor call by a stopped process: the vendor may have taken them.
std::size_t settle_in_flight_as_unknown(job_store& store, const std::string& job_id) {
    std::vector<recipient_update> in_flight;
    for (const recipient& r : store.recipients(job_id, 0, std::numeric_limits<std::size_t>::max(), recipient_state::sending)) {
        recipient_update u = update_of(r, r.provider);
        u.state = recipient_state::unknown;
        u.code = "outcome_unknown";
        u.reason = "the daemon stopped while this recipient's call was in flight; not sent again, to avoid a double send";
        in_flight.push_back(std::move(u));
    }
    store.apply(job_id, in_flight);
    return in_flight.size();
}

} // namespace

std::size_t dispatcher::resume_unfinished() {
    const std::vector<job> unfinished = store_.unfinished_jobs();
    std::size_t resumed = 0;
    for (const job& j : unfinished) {
        if (j.state == job_state::open)
            continue;  // still taking recipients: it starts when its client says so
        ++resumed;
        const std::size_t unknown = settle_in_flight_as_unknown(store_, j.id);
        spdlog::info("job {}: resumed; {} recipient(s) were in flight when the daemon stopped and are now unknown",
                     j.id, unknown);
        start(j.id);
    }
    return resumed;
}

std::size_t dispatcher::abandon_in_flight() {
    std::size_t abandoned = 0;
    for (const job& j : store_.unfinished_jobs())
        abandoned += settle_in_flight_as_unknown(store_, j.id);
    return abandoned;
}

net::awaitable<void> dispatcher::run(std::string job_id) {
    const std::optional<job> found = store_.find_job(job_id);
    if (!found)
        throw std::runtime_error("no job " + job_id);
    const job& j = *found;
    const auto configured = routes_.find(j.route);
    if (configured == routes_.end())
        throw std::runtime_error("job " + job_id + " uses route '" + j.route + "', which is not configured");
    const route& r = configured->second;
    store_.set_job_state(job_id, job_state::running);
    net::steady_timer timer(executor_);

    for (;;) {
        if (stopping_)
            co_return;  // unfinished: resumed when the daemon starts again
        if (j.deadline_ms > 0 && now_ms() >= j.deadline_ms) {
            const std::size_t expired = store_.settle_queued(job_id, recipient_state::failed, "deadline",
                                                             "the job's deadline passed before it could be sent");
            if (expired > 0)
                spdlog::info("job {}: deadline passed; {} recipient(s) not sent", job_id, expired);
        }
        // One look at the next due recipient to learn its step, then a batch of that step's size.
        std::vector<recipient> due = store_.due_recipients(job_id, now_ms(), 1);
        if (due.empty()) {
            const std::optional<std::int64_t> next = store_.next_due_at(job_id);
            if (!next)
                break;
            // Wake for the next due recipient, or at the deadline, whichever comes first.
            const std::int64_t wake = j.deadline_ms > 0 ? std::min(*next, j.deadline_ms) : *next;
            timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(wake - now_ms(), 1)));
            co_await timer.async_wait(net::use_awaitable);
            continue;
        }
        // One call at a time per job, each with recipients of one step, up to the provider's limit.
        const int step_index = due.front().step;
        const route_step& step = r.steps.at(static_cast<std::size_t>(step_index));
        const provider_instance& provider = *providers_.find(step.provider)->second;
        std::vector<recipient> candidates;
        for (recipient& candidate : store_.due_recipients(job_id, now_ms(), batch_limit(step.provider, provider)))
            if (candidate.step == step_index)
                candidates.push_back(std::move(candidate));

        // Pace first, then claim: the signature carries the sending time, and a stop, a cancel or a
        // deadline during the wait must find these recipients still queued, not "in a call".
        co_await pace(provider.name(), candidates.size());
        if (stopping_)
            co_return;
        std::vector<recipient> batch = claim(job_id, provider.name(), std::move(candidates));
        if (batch.empty())
            continue;

        bool failed = false;
        try {
            co_await send_batch(j, step, provider, std::move(batch));
        } catch (const std::exception& e) {
            // The store failed (a full disk, say): the batch stays "in a call", and becomes unknown
            // at the next start. Keep the job alive, and try the rest again in a moment.
            spdlog::error("job {}: recording a vendor call failed: {}", job_id, e.what());
            failed = true;
        }
        if (failed) {
            timer.expires_after(std::chrono::seconds(1));
            co_await timer.async_wait(net::use_awaitable);
        }
    }
    store_.finish_job(job_id, now_ms());
    spdlog::info("job {}: finished", job_id);
}

std::vector<recipient> dispatcher::claim(const std::string& job_id, const std::string& provider,
                                         std::vector<recipient> candidates) {
    std::vector<recipient_update> sending;
    sending.reserve(candidates.size());
    for (recipient& r : candidates) {
        r.state = recipient_state::sending;
        ++r.attempts;
        sending.push_back(update_of(r, provider));
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

void dispatcher::settle(recipient_update& u, const recipient& r, recipient_state state, const std::string& code,
                        const std::string& reason, std::int64_t retry_at_ms) {
    u.state = state;
    u.code = code;
    u.reason = reason;
    if (state != recipient_state::queued)
        return;
    if (r.attempts >= options_.max_attempts) {
        u.state = recipient_state::failed;
        u.reason = "gave up after " + std::to_string(r.attempts) + " attempts: " + reason;
    } else {
        u.next_attempt_at_ms = retry_at_ms;
    }
}

void dispatcher::apply_outcomes(const std::string& outcomes_json, const std::vector<recipient>& batch,
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
            settle(updates[i], batch[i], recipient_state::accepted, "", "", 0);
            updates[i].message_id = text("message_id");
        } else if (result == "rejected") {
            settle(updates[i], batch[i], recipient_state::failed, text("code"), text("reason"), 0);
        } else if (result == "transient") {
            settle(updates[i], batch[i], recipient_state::queued, text("code"), text("reason"), retry_at(retry_after));
        } else {
            settle(updates[i], batch[i], recipient_state::unknown, text("code"), text("reason"), 0);
        }
    }
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (!settled[i])
            settle(updates[i], batch[i], recipient_state::unknown, "no_outcome", "the provider reported no outcome for it", 0);
}

net::awaitable<void> dispatcher::pace(const std::string& provider, std::size_t recipients) {
    net::steady_timer pause(executor_, limiters_.at(provider)->reserve(recipients));
    co_await pause.async_wait(net::use_awaitable);
}

std::int64_t dispatcher::backoff_ms(int attempts, std::int64_t retry_after_ms) {
    thread_local std::mt19937_64 random(std::random_device{}());
    const std::int64_t ceiling = std::min<std::int64_t>(options_.max_backoff.count(),
                                                        options_.base_backoff.count() << std::min(attempts, 20));
    const std::int64_t jittered = std::uniform_int_distribution<std::int64_t>(0, std::max<std::int64_t>(ceiling, 1))(random);
    return std::max(jittered, retry_after_ms);
}

net::awaitable<void> dispatcher::send_batch(const job& j, const route_step& step, const provider_instance& provider,
                                            std::vector<recipient> batch) {
    // Shares the counter: a frame destroyed with the io_context may outlive the dispatcher.
    struct counted {
        std::shared_ptr<std::atomic<int>> count;
        explicit counted(std::shared_ptr<std::atomic<int>> c) : count(std::move(c)) { ++*count; }
        ~counted() { --*count; }
    } in_flight(in_flight_);
    std::vector<recipient_update> updates;
    updates.reserve(batch.size());
    for (const recipient& r : batch)
        updates.push_back(update_of(r, provider.name()));

    // One backoff for the whole batch, so that what failed together is retried together.
    int most_attempts = 0;
    for (const recipient& r : batch)
        most_attempts = std::max(most_attempts, r.attempts);
    const std::int64_t jitter_ms = backoff_ms(most_attempts, -1);
    const auto retry_at = [jitter_ms](std::int64_t retry_after_ms) { return now_ms() + std::max(jitter_ms, retry_after_ms); };

    const auto settle_all = [&](recipient_state state, const std::string& code, const std::string& reason,
                                std::int64_t retry_after_ms) {
        for (std::size_t i = 0; i < batch.size(); ++i)
            settle(updates[i], batch[i], state, code, reason, retry_at(retry_after_ms));
    };

    std::string document;
    plugin_call_result encoded;
    try {
        document = batch_document(j, step, batch);
        encoded = provider.encode(document, now_ms());
    } catch (const std::exception& e) {
        encoded = plugin_call_result{SB_STATUS_INTERNAL, {}, {}, std::string("cannot encode the batch: ") + e.what(), -1};
    }
    if (!encoded.ok()) {
        settle_all(encoded.status == SB_STATUS_TRANSIENT ? recipient_state::queued : recipient_state::failed,
                   "encode_" + status_name(encoded.status), encoded.error, encoded.retry_after_ms);
        store_.apply(j.id, updates);
        co_return;
    }

    const http_result sent = co_await http_.send(*encoded.request);
    if (sent.failure == http_failure::not_sent) {
        settle_all(recipient_state::queued, "not_sent", sent.error, -1);
    } else if (sent.failure == http_failure::outcome_unknown) {
        settle_all(recipient_state::unknown, "outcome_unknown", sent.error, -1);
    } else {
        const plugin_call_result decoded = provider.decode(document, sent.response);
        if (!decoded.ok()) {
            // A vendor that asks to come back later slows the whole instance down, not just this job.
            if (decoded.status == SB_STATUS_TRANSIENT && decoded.retry_after_ms > 0)
                limiters_.at(provider.name())->hold(std::chrono::milliseconds(decoded.retry_after_ms));
            settle_all(decoded.status == SB_STATUS_TRANSIENT ? recipient_state::queued : recipient_state::failed,
                       status_name(decoded.status), decoded.error, decoded.retry_after_ms);
        } else {
            try {
                apply_outcomes(decoded.json, batch, updates, retry_at);
            } catch (const std::exception& e) {
                settle_all(recipient_state::unknown, "bad_decode",
                           std::string("the provider's outcomes cannot be read (") + e.what() +
                               "); the vendor may have taken the batch",
                           -1);
            }
        }
    }
    store_.apply(j.id, updates);
    spdlog::debug("job {}: {} recipients sent through {}", j.id, batch.size(), provider.name());
}

} // namespace switchboard::core
