// Screening: each recipient checked by the plugin of the route step it is at, many per plugin
// call; those a step refuses move on along the route.
#include <switchboard/core/dispatcher.hpp>

#include <switchboard/core/job_store.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/plugin_documents.hpp>
#include <switchboard/core/unix_time.hpp>

#include "route_progress.hpp"

#include "plugin_output.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>
#include <stdexcept>

namespace switchboard::core {

namespace json = boost::json;

namespace {

constexpr std::size_t validation_chunk = 1000;

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
        json::array verdicts;
        try {
            verdicts = plugin_output_array(result.json, "verdicts");
        } catch (const plugin_output_error& e) {
            throw std::runtime_error("provider '" + provider.name() + "' wrote verdicts that cannot be read: " + e.what());
        }
        if (verdicts.size() != end - start)
            throw std::runtime_error("provider '" + provider.name() + "' gave " + std::to_string(verdicts.size()) +
                                     " verdicts for " + std::to_string(end - start) + " recipients");
        for (std::size_t i = 0; i < verdicts.size(); ++i) {
            const json::object* v = verdicts[i].if_object();
            const json::value* ok = v != nullptr ? v->if_contains("ok") : nullptr;
            if (ok == nullptr || !ok->is_bool())
                throw std::runtime_error("provider '" + provider.name() + "' wrote verdict " + std::to_string(i) +
                                         " without \"ok\": true or false");
            if (ok->get_bool()) {
                verdicts_out.emplace_back(std::nullopt);
                continue;
            }
            const auto text = [v](std::string_view key, const char* otherwise) {
                const json::value* t = v->if_contains(key);
                return t != nullptr && t->is_string() ? std::string(t->get_string()) : std::string(otherwise);
            };
            verdicts_out.emplace_back(std::pair{text("field", ""), text("reason", "refused by validation")});
        }
    }
    return verdicts_out;
}

} // namespace

namespace {

// Moves a recipient a step refused (suppressed or invalid there) on along its route.
void refuse_at_step(recipient& rec, const provider_instance& provider, const route& r, step_ending why, std::int64_t now_ms) {
    recipient_update u = update_of(rec);
    u.provider = provider.name();
    record_step(u, r, why, now_ms);
    fall_back(u, r, now_ms);
    apply_update(rec, u);
}

} // namespace

void screen_recipients(const provider_map& providers, const route& r, std::vector<recipient>& recipients,
                       const suppression_index& suppressed, std::int64_t now_ms) {
    // Step by step: one a step refuses moves to another, screened in its turn; passes repeat while
    // some moved back to an earlier step (another choice of a weighted step).
    std::vector<int> passed_at(recipients.size(), -1);
    for (bool moved = true; moved;) {
        moved = false;
        for (std::size_t s = 0; s < r.steps.size(); ++s) {
            const auto found = providers.find(r.steps[s].provider);
            if (found == providers.end())
                throw std::runtime_error("the route's " + missing_provider(r, providers));
            const provider_instance& provider = *found->second;
            std::vector<std::size_t> at_step;
            for (std::size_t i = 0; i < recipients.size(); ++i) {
                recipient& rec = recipients[i];
                if (rec.state != recipient_state::queued || rec.step != static_cast<int>(s) || passed_at[i] == rec.step)
                    continue;
                const suppression* entry = suppressed.empty() ? nullptr : find_suppression(suppressed, rec.to, r.steps[s].channel);
                if (entry == nullptr) {
                    at_step.push_back(i);
                    continue;
                }
                refuse_at_step(rec, provider, r, {step_result::suppressed, "suppressed", suppression_reason(*entry)}, now_ms);
                moved = moved || (rec.state == recipient_state::queued && rec.step < static_cast<int>(s));
            }
            if (at_step.empty())
                continue;
            std::vector<const recipient*> checked;
            for (const std::size_t i : at_step)
                checked.push_back(&recipients[i]);
            const auto verdicts = validate_at_step(provider, r.steps[s], checked);
            for (std::size_t k = 0; k < at_step.size(); ++k) {
                recipient& rec = recipients[at_step[k]];
                if (!verdicts[k]) {
                    passed_at[at_step[k]] = rec.step;
                    continue;
                }
                refuse_at_step(rec, provider, r, {step_result::invalid, verdicts[k]->first, verdicts[k]->second}, now_ms);
                moved = moved || (rec.state == recipient_state::queued && rec.step < static_cast<int>(s));
            }
        }
    }
}

std::vector<recipient> dispatcher::screen_before_call(const std::string& job_id, const route& rt,
                                                     std::vector<recipient> candidates) {
    if (candidates.empty())
        return candidates;
    // The list is read again right before each call: an opt-out that came after the job was
    // accepted still keeps its address from every call not yet made.
    std::vector<std::string> addresses;
    for (const recipient& r : candidates)
        addresses.push_back(r.to);
    const suppression_index suppressed = store_.find_suppressions(addresses);
    const bool at_first_step = std::all_of(candidates.begin(), candidates.end(),
                                           [](const recipient& r) { return r.history_json.empty() || r.history_json == "[]"; });
    if (at_first_step && suppressed.empty())
        return candidates;  // the first step's plugin screened them when the job was accepted
    std::vector<recipient> screened = candidates;
    try {
        screen_recipients(providers_, rt, screened, suppressed, unix_now_ms());
    } catch (const std::runtime_error& e) {
        // A plugin that cannot validate fails its step for these, rather than hold them forever.
        spdlog::error("job {}: {}; its recipients at that step move on", job_id, e.what());
        for (recipient& r : screened) {
            recipient_update u = update_of(r);
            record_step(u, rt, {step_result::invalid, "validation_failed", e.what()}, unix_now_ms());
            fall_back(u, rt, unix_now_ms());
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

} // namespace switchboard::core
