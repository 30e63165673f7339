// Delivery receipts: pushed by vendors to the API, or pulled by polling; each moves its recipient
// on (delivered, or undelivered and on along the route), and wakes the job it belongs to.
#include <switchboard/core/dispatcher.hpp>

#include <switchboard/core/cluster.hpp>
#include <switchboard/core/dispatch_observer.hpp>
#include <switchboard/core/http_client.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/unix_time.hpp>

#include "route_progress.hpp"

#include "plugin_output.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace switchboard::core {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t receipt_query_size = 100;            // message ids per pull-receipt query
constexpr std::int64_t early_receipt_ttl_ms = 10 * 60'000; // how long a receipt may wait for its call's outcome

} // namespace

namespace {

std::vector<delivery_receipt> read_receipts(const std::string& receipts_json, std::int64_t now) {
    std::vector<delivery_receipt> out;
    for (const json::value& item : plugin_output_array(receipts_json, "receipts")) {
        const json::object* receipt = item.if_object();
        if (receipt == nullptr)
            continue;   // names no message: nothing to apply
        const json::object& o = *receipt;
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
    const bool taken = r.state == recipient_state::awaiting_receipt || r.state == recipient_state::accepted ||
                       r.state == recipient_state::unknown;
    if (!taken)
        return std::nullopt;
    if (!delivered) {
        // It never reached them: on to the route's next step, whether the step waited for this
        // receipt or not, and whether the call's answer came (accepted) or was lost (unknown). A job
        // already over runs again for it; its deadline, and a cancel, still hold (the run and the
        // store see to both). With no next step it fails.
        record_step(u, rt, {step_result::undelivered, receipt.code, receipt.reason}, now);
        fall_back(u, rt, now);
        return u;
    }
    u.state = recipient_state::delivered;
    u.code.clear();
    u.reason.clear();
    record_step(u, rt, {step_result::delivered, "", ""}, now);
    return u;
}

} // namespace

receipt_tally dispatcher::apply_receipts(const std::string& provider, const std::string& receipts_json) {
    const std::vector<delivery_receipt> receipts = read_receipts(receipts_json, unix_now_ms());
    if (receipts.size() > options_.max_receipts_per_callback)
        throw too_many_receipts("a callback carried " + std::to_string(receipts.size()) + " receipts; at most " +
                                std::to_string(options_.max_receipts_per_callback) +
                                " are taken at once (dispatch.max_receipts_per_callback)");
    const receipt_tally tally = apply_receipt_list(provider, receipts, true);
    if (dispatch_observer* observer = observer_.load())
        observer->receipts(provider, tally.applied, tally.ignored, tally.unmatched);
    return tally;
}

receipt_tally dispatcher::apply_receipt_list(const std::string& provider, const std::vector<delivery_receipt>& receipts,
                                             bool keep_unmatched) {
    receipt_tally tally;
    for (const delivery_receipt& receipt : receipts)
        if (receipt.status != "delivered" && receipt.status != "undelivered" && receipt.status != "pending")
            note_breach(provider, "invalid_receipt_status",
                        "a receipt for '" + excerpt(receipt.message_id) + "' with status '" + excerpt(receipt.status) +
                            "' (taken as pending)");
    // Updates per job and per state they expect to find, written together.
    std::map<std::pair<std::string, recipient_state>, std::vector<recipient_update>> updates;
    std::map<std::string, route> routes;
    std::vector<delivery_receipt> unmatched;
    std::vector<suppression> opted_out;
    const auto opt_out_codes = options_.suppress_on_codes.find(provider);
    const std::int64_t now = unix_now_ms();
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
                if (receipt.status == "undelivered" && opt_out_codes != options_.suppress_on_codes.end() &&
                    opt_out_codes->second.count(receipt.code) != 0)
                    opted_out.push_back({r.to, known->second.steps.at(static_cast<std::size_t>(r.step)).channel,
                                         "reported by " + provider + " in a receipt: " + receipt.code +
                                             (receipt.reason.empty() ? "" : " " + receipt.reason),
                                         now});
            } else {
                ++tally.ignored;
            }
        }
    }
    // On the list before the recipients move on, so that a later step on the same channel sees it.
    if (!opted_out.empty()) {
        const std::size_t added = store_.add_suppressions(opted_out);
        spdlog::info("provider {}: {} address(es) put on the suppression list, their vendor reporting an opt-out or a "
                     "block (dispatch suppress_on_codes); {} were on it already",
                     provider, added, opted_out.size() - added);
    }
    for (const auto& [key, list] : updates) {
        store_.apply_if(key.first, key.second, list);
        // Its loop may have recipients to move on now, or nothing left to wait for; a job that had
        // ended runs again for recipients the receipts sent on to their next step.
        if (std::any_of(list.begin(), list.end(), [](const recipient_update& u) { return u.state == recipient_state::queued; }))
            start(key.first);
        wake(key.first);
    }
    // A receipt may come before its call's outcome is written: kept, it is applied when it is.
    tally.unmatched = unmatched.size();
    if (keep_unmatched && !unmatched.empty()) {
        spdlog::debug("provider {}: {} receipt(s) name no recipient yet, the first message {}", provider, unmatched.size(),
                      unmatched.front().message_id);
        const std::size_t kept =
            store_.keep_early_receipts(provider, unmatched, now - early_receipt_ttl_ms, options_.max_early_receipts);
        if (kept < unmatched.size())
            spdlog::warn("provider {}: {} receipt(s) for messages not known yet are dropped: {} are kept waiting already, "
                         "the most dispatch.max_early_receipts allows",
                         provider, unmatched.size() - kept, options_.max_early_receipts);
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
        net::co_spawn(net::make_strand(work_), poll_receipts(*provider), [name = name](std::exception_ptr error) {
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
        plugin_call_result encoded = provider.encode_receipt_query(query, unix_now_ms());
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
        if (!decoded.breach.empty())
            note_breach(provider.name(), decoded.breach, "in decode_receipt_query");
        if (!decoded.ok()) {
            spdlog::warn("provider {}: receipt answer refused: {}", provider.name(), decoded.error);
            return;
        }
        // Asked about recipients awaiting receipts: an answer naming none of them is not kept.
        const receipt_tally tally = apply_receipt_list(provider.name(), read_receipts(decoded.json, unix_now_ms()), false);
        if (dispatch_observer* observer = observer_.load())
            observer->receipts(provider.name(), tally.applied, tally.ignored, tally.unmatched);
        spdlog::debug("provider {}: pulled receipts: {} applied, {} ignored, {} for no known message", provider.name(),
                      tally.applied, tally.ignored, tally.unmatched);
    } catch (const std::exception& e) {
        spdlog::error("provider {}: receipt polling: {}", provider.name(), plain_reason(e));
    }
}

bool dispatcher::leads_receipt_polls(const std::string& provider) {
    cluster* shared = store_.shared();
    if (shared == nullptr)
        return true;
    try {
        // Two poll intervals: a leader that stops asking hands over after at most that.
        return shared->lead("receipt polls of " + provider, options_.receipt_poll * 2);
    } catch (const store_error& e) {
        spdlog::error("provider {}: receipt polling: {}", provider, e.what());
        return false;
    }
}

net::awaitable<void> dispatcher::poll_receipts(const provider_instance& provider) {
    net::steady_timer timer(co_await net::this_coro::executor);
    while (!stopping_) {
        timer.expires_after(options_.receipt_poll);
        co_await timer.async_wait(net::use_awaitable);
        if (!leads_receipt_polls(provider.name()))
            continue;   // another daemon on the shared store polls this instance
        // Every message id awaiting a receipt, a query's worth at a time, at the provider's pace.
        std::string after;
        for (bool more = true; more && !stopping_;) {
            std::optional<receipt_query> query = next_receipt_query(provider, after);
            if (!query)
                break;
            after = query->last_message_id;
            more = query->more;
            bool paced = true;
            try {
                co_await pace(provider.name(), 0, std::chrono::milliseconds(0));
            } catch (const store_error& e) {
                spdlog::error("provider {}: receipt polling: {}; trying again at the next poll", provider.name(), e.what());
                paced = false;
            }
            if (!paced)
                break;
            const http_result answer = co_await http_.send(std::move(query->request));
            take_receipt_answer(provider, *query, answer);
        }
    }
}

} // namespace switchboard::core
