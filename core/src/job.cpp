#include <switchboard/core/job.hpp>

namespace switchboard::core {

const char* to_string(recipient_state state) noexcept {
    switch (state) {
    case recipient_state::queued: return "queued";
    case recipient_state::sending: return "sending";
    case recipient_state::accepted: return "accepted";
    case recipient_state::delivered: return "delivered";
    case recipient_state::failed: return "failed";
    case recipient_state::unknown: return "unknown";
    case recipient_state::cancelled: return "cancelled";
    case recipient_state::skipped_invalid: return "skipped_invalid";
    case recipient_state::skipped_duplicate: return "skipped_duplicate";
    case recipient_state::awaiting_receipt: return "awaiting_receipt";
    case recipient_state::skipped_suppressed: return "skipped_suppressed";
    }
    return "unknown";
}

std::optional<recipient_state> parse_recipient_state(std::string_view text) noexcept {
    for (recipient_state s : all_recipient_states)
        if (text == to_string(s))
            return s;
    return std::nullopt;
}

bool is_final(recipient_state state) noexcept {
    return state != recipient_state::queued && state != recipient_state::sending &&
           state != recipient_state::awaiting_receipt;
}

bool is_failure(recipient_state state) noexcept {
    return is_final(state) && state != recipient_state::accepted && state != recipient_state::delivered;
}

void apply_update(recipient& r, const recipient_update& u) {
    r.state = u.state;
    r.step = u.step;
    r.attempts = u.attempts;
    r.next_attempt_at_ms = u.next_attempt_at_ms;
    r.provider = u.provider;
    r.message_id = u.message_id;
    r.code = u.code;
    r.reason = u.reason;
    r.history_json = u.history_json;
}

bool stop_at_cancel(recipient_update& u) {
    switch (u.state) {
    case recipient_state::sending:
        return false;
    case recipient_state::queued:
        u.state = recipient_state::cancelled;
        u.code = "cancelled";
        u.reason = "the job was cancelled before this recipient's next attempt";
        return true;
    case recipient_state::awaiting_receipt:
        u.state = recipient_state::accepted;
        u.reason = "the job was cancelled while this recipient waited for its receipt";
        return true;
    default:
        return true;
    }
}

recipient_update update_of(const recipient& r) {
    recipient_update u;
    u.index = r.index;
    u.to = r.to;
    u.state = r.state;
    u.step = r.step;
    u.attempts = r.attempts;
    u.next_attempt_at_ms = r.next_attempt_at_ms;
    u.provider = r.provider;
    u.message_id = r.message_id;
    u.code = r.code;
    u.reason = r.reason;
    u.history_json = r.history_json;
    return u;
}

const char* to_string(job_state state) noexcept {
    switch (state) {
    case job_state::queued: return "queued";
    case job_state::running: return "running";
    case job_state::finished: return "finished";
    case job_state::open: return "open";
    }
    return "queued";
}

} // namespace switchboard::core
