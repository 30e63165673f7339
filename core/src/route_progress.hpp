// How a recipient moves along its route: what each step it finished came to (its history), and
// where it goes when a step fails it. Private to the dispatcher and to receipt handling.
#pragma once

#include <switchboard/core/job.hpp>
#include <switchboard/core/route.hpp>

#include <optional>
#include <string>

namespace switchboard::core {

// What one route step came to for one recipient.
enum class step_result { accepted, delivered, failed, undelivered, no_receipt, unknown, invalid, suppressed };
const char* to_string(step_result result) noexcept;

struct step_ending {
    step_result result;
    std::string code;
    std::string reason;
};

// Adds the end of the recipient's current step to u.history_json: {"step", "provider", "channel",
// "result", "attempts", "message_id", "code", "reason", "at_ms"}. When the step's last entry is
// already there (accepted, and a receipt now says more), it is replaced instead.
void record_step(recipient_update& u, const route& r, const step_ending& ending, std::int64_t now_ms);

// The step a recipient whose step failed it (recorded already) would go to next: see next_step.
std::optional<int> step_after(const recipient_update& u, const route& r);

// After the recipient's step failed it (recorded already): queues it at its next step (another
// choice of a weighted step, or a later step of its chain) whose provider has not taken it yet, due at `now_ms`; or, when none is left, makes it final with every
// step's reason: accepted when a vendor took it and never said otherwise, unknown when one may
// have, skipped_suppressed when no step was tried and one was on the suppression list,
// skipped_invalid when no step could even take it, else failed.
void fall_back(recipient_update& u, const route& r, std::int64_t now_ms);

} // namespace switchboard::core
