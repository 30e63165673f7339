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
    return state != recipient_state::queued && state != recipient_state::sending;
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
