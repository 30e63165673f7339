#include "route_progress.hpp"

#include <boost/json.hpp>

#include <set>

namespace switchboard::core {

namespace json = boost::json;

namespace {

json::array read_history(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text.empty() ? "[]" : text, ec);
    return !ec && v.is_array() ? std::move(v.get_array()) : json::array{};
}

std::string text_of(const json::object& entry, std::string_view key) {
    const json::value* v = entry.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Providers that may hold the recipient already: a step that was sent, whatever came of it.
std::set<std::string, std::less<>> providers_that_took(const json::array& history) {
    std::set<std::string, std::less<>> took;
    for (const json::value& item : history) {
        const json::object& entry = item.as_object();
        const std::string result = text_of(entry, "result");
        if (result != to_string(step_result::failed) && result != to_string(step_result::invalid) &&
            result != to_string(step_result::suppressed))
            took.insert(text_of(entry, "provider"));
    }
    return took;
}

// "step 1 (uspeedo-hk, sms): failed: phone in the black list; step 2 ...".
std::string every_reason(const json::array& history) {
    std::string out;
    for (const json::value& item : history) {
        const json::object& entry = item.as_object();
        out += (out.empty() ? "" : "; ") + std::string("step ") + std::to_string(entry.at("step").to_number<int>()) +
               " (" + text_of(entry, "provider") + ", " + text_of(entry, "channel") + "): " + text_of(entry, "result");
        if (const std::string reason = text_of(entry, "reason"); !reason.empty())
            out += ": " + reason;
    }
    return out;
}

// Where a recipient ends when no step is left: a vendor that took it and said nothing more makes it
// accepted; one that may have taken it, unknown; no step tried because of the suppression list,
// skipped_suppressed; none that could even take it, skipped_invalid.
// `by` is set to the history entry of the step that decides it (the last that took it, or may have).
recipient_state final_state(const json::array& history, const json::object*& by) {
    const json::object* took = nullptr;
    const json::object* may_have_taken = nullptr;
    bool never_tried = !history.empty();   // each step refused it before a call: invalid or suppressed
    bool suppressed = false;
    for (const json::value& item : history) {
        const std::string result = text_of(item.as_object(), "result");
        if (result == to_string(step_result::accepted) || result == to_string(step_result::no_receipt))
            took = &item.as_object();
        if (result == to_string(step_result::unknown))
            may_have_taken = &item.as_object();
        suppressed = suppressed || result == to_string(step_result::suppressed);
        never_tried = never_tried && (result == to_string(step_result::invalid) || result == to_string(step_result::suppressed));
    }
    by = took != nullptr ? took : may_have_taken;
    if (took != nullptr)
        return recipient_state::accepted;
    if (may_have_taken != nullptr)
        return recipient_state::unknown;
    if (never_tried)
        return suppressed ? recipient_state::skipped_suppressed : recipient_state::skipped_invalid;
    return recipient_state::failed;
}

// Steps the recipient was at already.
std::set<std::size_t> steps_tried(const json::array& history) {
    std::set<std::size_t> tried;
    for (const json::value& item : history)
        tried.insert(item.as_object().at("step").to_number<std::size_t>());
    return tried;
}

std::optional<int> step_after(const recipient_update& u, const route& r, const json::array& history) {
    return next_step(r, static_cast<std::size_t>(u.step), u.to, steps_tried(history), providers_that_took(history));
}

} // namespace

const char* to_string(step_result result) noexcept {
    switch (result) {
    case step_result::accepted: return "accepted";
    case step_result::delivered: return "delivered";
    case step_result::failed: return "failed";
    case step_result::undelivered: return "undelivered";
    case step_result::no_receipt: return "no_receipt";
    case step_result::unknown: return "unknown";
    case step_result::invalid: return "invalid";
    case step_result::suppressed: return "suppressed";
    }
    return "failed";
}

void record_step(recipient_update& u, const route& r, const step_ending& ending, std::int64_t now_ms) {
    const route_step& step = r.steps.at(static_cast<std::size_t>(u.step));
    json::object entry{{"step", u.step},
                       {"provider", step.provider},
                       {"channel", step.channel},
                       {"result", to_string(ending.result)},
                       {"attempts", u.attempts},
                       {"at_ms", now_ms}};
    if (!u.message_id.empty())
        entry["message_id"] = u.message_id;
    if (!ending.code.empty())
        entry["code"] = ending.code;
    if (!ending.reason.empty())
        entry["reason"] = ending.reason;
    if (u.history_json.empty() || u.history_json == "[]") {
        u.history_json = "[" + json::serialize(entry) + "]";  // the first step's end: nothing to read back
        return;
    }
    json::array history = read_history(u.history_json);
    const bool same_step_again = !history.empty() && history.back().as_object().at("step").to_number<int>() == u.step &&
                                 text_of(history.back().as_object(), "provider") == step.provider;
    if (same_step_again)
        history.back() = std::move(entry);
    else
        history.push_back(std::move(entry));
    u.history_json = json::serialize(history);
}

std::optional<int> step_after(const recipient_update& u, const route& r) {
    return step_after(u, r, read_history(u.history_json));
}

void fall_back(recipient_update& u, const route& r, std::int64_t now_ms) {
    const json::array history = read_history(u.history_json);
    if (const std::optional<int> next = step_after(u, r, history)) {
        u.state = recipient_state::queued;
        u.step = *next;
        u.attempts = 0;
        u.next_attempt_at_ms = now_ms;
        u.message_id.clear();
        u.code.clear();
        u.reason.clear();
        return;
    }
    const json::object* decided_by = nullptr;
    u.state = final_state(history, decided_by);
    if (decided_by != nullptr) {
        // The vendor that took it (or may have): not the last one tried, which refused it.
        u.provider = text_of(*decided_by, "provider");
        u.message_id = text_of(*decided_by, "message_id");
    }
    u.code = history.empty() ? "" : text_of(history.back().as_object(), "code");
    // One step tried: its own reason, as the vendor gave it; several: each step's, in order.
    u.reason = history.size() == 1 ? text_of(history.front().as_object(), "reason") : every_reason(history);
}

} // namespace switchboard::core
