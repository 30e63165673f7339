// Routes: named, ordered fallback chains of provider steps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::json {
class value;
}

namespace switchboard::core {

class provider_instance;
struct recipient;

// What happens to a recipient whose call was sent but whose outcome never came back.
enum class unknown_outcome_policy : std::uint8_t {
    hold,       // it stays `unknown`: never resent, the safe default for vendors without per-item idempotency
    resend,     // retried like a passing failure: only for vendors that drop repeats (VMS's SingleOpenId)
    next_step,  // it moves on along the route (the person may get the message twice, on two channels)
};

struct route_step {
    std::string provider;    // the provider instance's name
    std::string channel;
    std::string step_json;   // the whole step as configured (template, params, sender, ...), handed to the plugin
    std::int64_t receipt_wait_ms = 0;   // how long an accepted recipient waits for a receipt; 0: it does not
    unknown_outcome_policy on_unknown = unknown_outcome_policy::hold;
    bool vendor_schedules = false;   // "schedule": "vendor": a job's send_at goes to the vendor, which holds the call
};

struct route {
    std::string name;
    std::vector<route_step> steps;
};

using route_map = std::map<std::string, route, std::less<>>;
using provider_map = std::map<std::string, std::unique_ptr<provider_instance>, std::less<>>;

// Reads a route's steps, a JSON array, as configured or given inline by a job. Each problem is
// added to `problems` as "<path>[i].field: what is wrong".
route read_route(std::string name, const boost::json::value& steps, const std::string& path,
                 std::vector<std::string>& problems);

// Adds a problem for every step whose provider instance is missing or has no such channel.
void check_route_providers(const route& r, const provider_map& providers, const std::string& path,
                           std::vector<std::string>& problems);

// Asks each step's plugin whether it can work with the step as written (its template, sender,
// params...), by validating one sample recipient; adds a problem "<path>[i].<field>: <reason>"
// for each step field the plugin refuses. Steps whose provider or channel is wrong are skipped
// (check_route_providers reports those).
void check_route_steps(const route& r, const provider_map& providers, const std::string& path,
                       std::vector<std::string>& problems);

// A route as stored with a job, and back. route_from_json throws std::runtime_error on bad text.
std::string route_to_json(const route& r);
route route_from_json(std::string_view text);

// When a recipient at its step first comes due in a job that may not send before `send_at_ms`: then,
// unless the step leaves the waiting to its vendor (it is sent now, and the vendor holds the call).
std::int64_t first_due_at(const route& r, const recipient& at_step, std::int64_t send_at_ms);

// Whether recipients on `channel` are phone numbers (normalised to E.164) rather than platform ids.
bool addressed_by_phone_number(std::string_view channel);

} // namespace switchboard::core
