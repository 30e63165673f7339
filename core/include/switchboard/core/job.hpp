// Jobs and their recipients: the model every part of the pipeline shares.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::core {

enum class recipient_state : std::uint8_t {
    queued,             // waiting for its next vendor call (possibly not before next_attempt_at_ms)
    sending,            // inside a vendor call right now
    accepted,           // a provider took it
    delivered,          // a receipt confirmed delivery
    failed,             // failed for good; `reason` says why
    unknown,            // sent, but the outcome never came back; not resent, to avoid a double send
    cancelled,
    skipped_invalid,    // refused by validation before any send
    skipped_duplicate,
    awaiting_receipt,   // a provider took it; its step waits for a delivery receipt before it is final
    skipped_suppressed, // on the suppression list for every step of its route that was left: never sent
};

inline constexpr recipient_state all_recipient_states[] = {
    recipient_state::queued,   recipient_state::sending,   recipient_state::accepted,
    recipient_state::delivered, recipient_state::failed,   recipient_state::unknown,
    recipient_state::cancelled, recipient_state::skipped_invalid, recipient_state::skipped_duplicate,
    recipient_state::awaiting_receipt, recipient_state::skipped_suppressed,
};

const char* to_string(recipient_state state) noexcept;
std::optional<recipient_state> parse_recipient_state(std::string_view text) noexcept;
bool is_final(recipient_state state) noexcept;
// Final without getting through: failed, unknown, cancelled, skipped (invalid, duplicate, suppressed).
bool is_failure(recipient_state state) noexcept;

// `open`: still receiving recipients in pages; nothing is sent until it is started.
enum class job_state : std::uint8_t { queued, running, finished, open };
const char* to_string(job_state state) noexcept;

struct recipient {
    std::int64_t index = 0;           // position in the job, from 0
    std::string to;                   // E.164 number, or a platform id
    std::string ref;                  // the caller's own reference, echoed back
    std::string params_json = "{}";   // named parameters: a JSON object of strings
    recipient_state state = recipient_state::queued;
    int step = 0;                     // the route step it is at
    int attempts = 0;                 // vendor calls made for it at this step
    std::int64_t next_attempt_at_ms = 0;
    std::string provider;             // the provider instance of its last attempt
    std::string message_id;           // the vendor's id once accepted
    std::string code;                 // the vendor's or the host's code when it failed
    std::string reason;
    std::string history_json = "[]";  // every route step it finished: a JSON array, see route_progress
};

struct job {
    std::string id;
    std::string route;
    std::int64_t created_at_ms = 0;
    job_state state = job_state::queued;
    std::int64_t recipient_count = 0;
    std::int64_t finished_at_ms = 0;   // when every recipient became final; 0 until then
    std::string idempotency_key;       // the client's key for this submission, if it gave one
    std::string request_hash;          // what was submitted under that key (SHA-256 hex)
    std::int64_t deadline_ms = 0;      // recipients not sent by then fail; 0: none
    std::string route_json;            // the route's steps as they were when the job was accepted
    std::string region;                // default region for its phone numbers ("HK"); empty: none
    bool cancelled = false;            // nothing more is sent for it
    std::int64_t send_at_ms = 0;       // nothing goes out before; every page of an open job waits for it
};

// One change to one recipient: what a vendor call's outcome (or validation) decides.
struct recipient_update {
    std::int64_t index = 0;
    std::string to;             // whom it is for: never changed by an update (weighted choices are drawn from it)
    recipient_state state = recipient_state::queued;
    int step = 0;
    int attempts = 0;
    std::int64_t next_attempt_at_ms = 0;
    std::string provider;
    std::string message_id;
    std::string code;
    std::string reason;
    std::string history_json = "[]";
};

// A delivery receipt as a provider's plugin parsed it.
struct delivery_receipt {
    std::string message_id;
    std::string to;
    std::string status;   // "delivered" | "undelivered" | "pending"
    std::string code;
    std::string reason;
    std::int64_t received_at_ms = 0;
};

// The update that leaves `r` as it is; callers change what an event changes.
recipient_update update_of(const recipient& r);
// Writes what `u` says into `r`.
void apply_update(recipient& r, const recipient_update& u);

// What an update becomes for a cancelled job, which sends nothing more: a recipient that would
// wait for another call is cancelled, one that would wait for a receipt is accepted. Returns
// false for an update that would start a call (it must not happen).
bool stop_at_cancel(recipient_update& u);

} // namespace switchboard::core
