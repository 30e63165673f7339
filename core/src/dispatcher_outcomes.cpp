// What a vendor call's answer means for each recipient of its batch: accepted (or waiting for its
// receipt), retried after a backoff, or failed at its step and on to the next.
#include <switchboard/core/dispatcher.hpp>

#include <switchboard/core/dispatch_observer.hpp>
#include <switchboard/core/http_client.hpp>
#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/rate_limiter.hpp>
#include <switchboard/core/unix_time.hpp>

#include "dispatch_status.hpp"
#include "route_progress.hpp"

#include "plugin_output.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <unordered_map>

namespace switchboard::core {

namespace json = boost::json;

void dispatcher::settle(recipient_update& u, const route& rt, call_outcome outcome, const std::string& code,
                        const std::string& reason, std::int64_t retry_at_ms) {
    const route_step& step = rt.steps.at(static_cast<std::size_t>(u.step));
    const std::int64_t now = unix_now_ms();
    // A vendor that drops repeats of an item (VMS) may be sent it again after an unknown outcome.
    const bool resendable = outcome == call_outcome::unknown && step.on_unknown == unknown_outcome_policy::resend;
    // With the provider's circuit open, a passing failure moves on at once instead of waiting to retry.
    const auto breaker = breakers_.find(step.provider);
    const bool circuit_open = breaker != breakers_.end() && breaker->second->state() != circuit_state::closed;
    if ((outcome == call_outcome::transient || resendable) && u.attempts < options_.max_attempts && !circuit_open) {
        u.state = recipient_state::queued;
        u.code = code;
        u.reason = reason;
        u.next_attempt_at_ms = retry_at_ms;
        return;
    }
    const std::string gave_up = circuit_open && u.attempts < options_.max_attempts
                                    ? "not retried, the provider's circuit being open: " + reason
                                    : "gave up after " + std::to_string(u.attempts) + " attempts: " + reason;
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

void dispatcher::apply_outcomes(const std::string& outcomes_json, const route& rt, const provider_instance& provider,
                                const std::vector<recipient>& batch, std::vector<recipient_update>& updates,
                                const std::function<std::int64_t(std::int64_t)>& retry_at) {
    std::unordered_map<std::int64_t, std::size_t> position;   // the recipient's index (its id) -> place in the batch
    position.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i)
        position.emplace(batch[i].index, i);
    std::vector<bool> settled(batch.size(), false);

    for (const json::value& item : plugin_output_array(outcomes_json, "outcomes")) {
        const json::object* outcome = item.if_object();
        if (outcome == nullptr) {
            note_breach(provider.name(), "invalid_result", "an outcome that is not a JSON object: " + excerpt(json::serialize(item)));
            continue;   // says nothing of anyone: whoever it meant stays without an outcome
        }
        const json::object& o = *outcome;
        const auto text = [&o](std::string_view key) {
            const json::value* v = o.if_contains(key);
            return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
        };
        const json::value* id = o.if_contains("id");
        std::int64_t index = -1;
        if (id != nullptr && id->is_string())
            std::from_chars(id->get_string().data(), id->get_string().data() + id->get_string().size(), index);
        const auto it = position.find(index);
        if (it == position.end() || settled[it->second]) {
            const std::string named = id != nullptr ? excerpt(json::serialize(*id)) : "no id";
            if (it == position.end())
                note_breach(provider.name(), "foreign_outcome", "an outcome for " + named + ", not a recipient of the batch");
            else
                note_breach(provider.name(), "duplicate_outcome", "a second outcome for recipient " + named);
            continue;
        }
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
            if (result != "unknown")
                note_breach(provider.name(), "invalid_result", "result '" + excerpt(result) + "' (taken as unknown)");
            settle(updates[i], rt, call_outcome::unknown, text("code"), text("reason"), retry_at(-1));
        }
    }
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (!settled[i]) {
            note_breach(provider.name(), "missing_outcome", "no outcome for recipient " + std::to_string(batch[i].index));
            settle(updates[i], rt, call_outcome::unknown, "no_outcome", "the provider reported no outcome for it",
                   retry_at(-1));
        }
}

void dispatcher::note_breach(const std::string& provider, std::string_view rule, const std::string& detail) const {
    if (dispatch_observer* observer = observer_.load())
        observer->contract_breach(provider, rule);
    {
        const std::lock_guard lock(breaches_mutex_);
        if (!breaches_logged_.emplace(provider, std::string(rule)).second)
            return;
    }
    const auto found = providers_.find(provider);
    const std::string plugin = found != providers_.end() ? found->second->owner().manifest().name : "?";
    spdlog::warn("provider {}: plugin {} broke the provider contract ({}): {}; logged once, every breach is counted in "
                 "switchboard_plugin_contract_breaches_total",
                 provider, plugin, rule, detail);
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
    const std::int64_t answered_at = unix_now_ms();
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

std::vector<recipient_update> dispatcher::settle_outcomes(const route& rt, const provider_instance& provider,
                                                          const std::vector<recipient>& batch,
                                                          const std::string& outcomes_json) {
    std::vector<recipient_update> updates;
    for (const recipient& r : batch)
        updates.push_back(update_of(r));
    try {
        apply_outcomes(outcomes_json, rt, provider, batch, updates, batch_retry_clock(batch));
        return updates;
    } catch (const std::exception& e) {
        return settle_batch(rt, batch, call_outcome::unknown, "bad_decode",
                            "the provider's outcomes cannot be read (" + plain_reason(e) +
                                "); the vendor may have taken the batch",
                            -1);
    }
}

void dispatcher::report_call(const provider_instance& provider, std::size_t recipients, std::string_view outcome,
                             std::chrono::steady_clock::duration latency, std::string_view error) const {
    dispatch_observer* observer = observer_.load();
    if (observer != nullptr)
        observer->vendor_call(provider.name(), recipients, outcome, latency, error);
    const auto breaker = breakers_.find(provider.name());
    if (breaker == breakers_.end())
        return;
    const std::optional<circuit_state> changed = breaker->second->record(outcome, unix_now_ms());
    if (!changed)
        return;
    const circuit_status now = breaker->second->status();
    if (*changed == circuit_state::open)
        spdlog::warn("provider {}: circuit open after a call that ended {} ({} of its last {} calls failed): its recipients "
                     "move on along their routes; one call in {} ms will probe it",
                     provider.name(), outcome, now.recent_failures, now.recent_calls,
                     breaker->second->settings().cool_down.count());
    else
        spdlog::info("provider {}: circuit closed, the probe call having ended {}", provider.name(), outcome);
    if (observer != nullptr)
        observer->circuit_changed(provider.name(), to_string(*changed));
}

bool dispatcher::circuit_allows_call(const std::string& provider) {
    const auto breaker = breakers_.find(provider);
    if (breaker == breakers_.end())
        return true;
    bool probing = false;
    const bool allowed = breaker->second->allows_call(unix_now_ms(), probing);
    if (probing) {
        spdlog::info("provider {}: circuit half open: one call probes it", provider);
        if (dispatch_observer* observer = observer_.load())
            observer->circuit_changed(provider, to_string(circuit_state::half_open));
    }
    return allowed;
}

void dispatcher::move_past_open_circuit(const std::string& job_id, const route& rt, const std::string& provider,
                                        const std::vector<recipient>& due) {
    const circuit_status status = breakers_.at(provider)->status();
    const std::string reason = "not tried: provider " + provider + "'s circuit is " + to_string(status.state) + " (" +
                               std::to_string(status.recent_failures) + " of its last " +
                               std::to_string(status.recent_calls) + " calls failed)";
    const std::int64_t now = unix_now_ms();
    std::vector<recipient_update> updates;
    for (const recipient& r : due) {
        recipient_update u = update_of(r);
        u.provider = provider;
        record_step(u, rt, {step_result::failed, "circuit_open", reason}, now);
        fall_back(u, rt, now);
        updates.push_back(std::move(u));
    }
    store_.apply_if(job_id, recipient_state::queued, updates);
}

std::vector<recipient_update> dispatcher::settle_answer(const route& rt, const provider_instance& provider,
                                                        const std::string& document, const http_result& sent,
                                                        const std::vector<recipient>& batch,
                                                        std::chrono::steady_clock::duration latency) {
    if (sent.failure == http_failure::not_sent) {
        report_call(provider, batch.size(), "not_sent", latency, sent.error);
        return settle_batch(rt, batch, call_outcome::transient, "not_sent", sent.error, -1);
    }
    if (sent.failure == http_failure::outcome_unknown) {
        report_call(provider, batch.size(), "unknown", latency, sent.error);
        std::vector<recipient_update> updates = settle_batch(rt, batch, call_outcome::unknown, "outcome_unknown", sent.error, -1);
        name_unknown_messages(provider, document, updates);
        return updates;
    }
    const plugin_call_result decoded = provider.decode(document, sent.response);
    report_call(provider, batch.size(), decoded.ok() ? "ok" : status_name(decoded.status), latency, decoded.error);
    if (!decoded.breach.empty())
        note_breach(provider.name(), decoded.breach, "in decode: " + (decoded.ok() ? std::string("it succeeded") : decoded.error));
    if (decoded.ok())
        return settle_outcomes(rt, provider, batch, decoded.json);
    // A vendor that asks to come back later slows the whole instance down, not just this job.
    if (decoded.status == SB_STATUS_TRANSIENT && decoded.retry_after_ms > 0)
        try {
            hold_provider(provider.name(), std::chrono::milliseconds(decoded.retry_after_ms));
        } catch (const store_error& e) {
            // The vendor's answer is recorded all the same; only the other daemons miss the hold.
            spdlog::warn("provider {}: its throttle could not be shared with the other daemons: {}", provider.name(),
                         e.what());
        }
    return settle_batch(rt, batch, decoded.status == SB_STATUS_TRANSIENT ? call_outcome::transient : call_outcome::rejected,
                        status_name(decoded.status), decoded.error, decoded.retry_after_ms);
}

void dispatcher::name_unknown_messages(const provider_instance& provider, const std::string& document,
                                       std::vector<recipient_update>& updates) const {
    const plugin_call_result named = provider.message_ids(document);
    if (!named.ok())
        return;  // the plugin cannot tell: they stay unknown, and their receipts find nobody
    std::unordered_map<std::int64_t, std::string> by_index;
    try {
        for (const json::value& item : plugin_output_array(named.json, "message_ids")) {
            const json::object& o = item.as_object();
            const json::string& id = o.at("id").as_string();
            std::int64_t index = -1;
            std::from_chars(id.data(), id.data() + id.size(), index);
            by_index.emplace(index, std::string(o.at("message_id").as_string()));
        }
    } catch (const std::exception& e) {
        spdlog::warn("provider {}: its message ids for a call without an answer cannot be read: {}", provider.name(),
                     plain_reason(e));
        return;
    }
    for (recipient_update& u : updates)
        if (u.state == recipient_state::unknown)
            if (const auto found = by_index.find(u.index); found != by_index.end())
                u.message_id = found->second;
}

} // namespace switchboard::core
