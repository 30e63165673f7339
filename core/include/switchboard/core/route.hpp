// Routes: named, ordered fallback chains of provider steps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
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

// One provider instance at one place of a route. A weighted step as configured ("providers": [{"provider":
// "a", "weight": 70}, {"provider": "b", "weight": 30}]) is one route_step per instance, sharing its group.
struct route_step {
    std::string provider;    // the provider instance's name
    std::string channel;
    std::string step_json;   // the step as configured (template, params, sender, ...) with this "provider", handed to the plugin
    std::int64_t receipt_wait_ms = 0;   // how long an accepted recipient waits for a receipt; 0: it does not
    unknown_outcome_policy on_unknown = unknown_outcome_policy::hold;
    bool vendor_schedules = false;   // "schedule": "vendor": a job's send_at goes to the vendor, which holds the call
    int group = 0;             // the configured step it belongs to: the choices of a weighted step share it
    int weight = 1;            // its share of the group's recipients
    std::string step_where;    // the configured step's place in the route: "[1]", ".rules[0].steps[1]"
    std::string where;         // this instance's: step_where, or ".rules[0].steps[1].providers[0]" for a weighted choice
};

// The steps one recipient may take: a route's whole chain, or one destination rule's. A recipient
// takes the first chain whose countries or prefixes hold its number; a chain with neither takes anyone.
struct route_chain {
    std::string rule;                    // the rule's name; empty for a route without rules
    std::vector<std::string> countries;  // ISO 3166-1 alpha-2, upper case ("CN")
    std::vector<std::string> prefixes;   // E.164 beginnings ("+852", "+8613")
    std::size_t first_step = 0;          // its steps are route::steps[first_step, end_step)
    std::size_t end_step = 0;
};

struct route {
    std::string name;
    std::vector<route_step> steps;     // every chain's, one after another
    std::vector<route_chain> chains;   // at least one when read without problems
    std::uint64_t seed = 0;            // a job's own: weighted choices are drawn from it and each recipient's address
    std::string definition_json;       // the steps or rules as configured or given
};

using route_map = std::map<std::string, route, std::less<>>;
using provider_map = std::map<std::string, std::unique_ptr<provider_instance>, std::less<>>;

// Reads a route as configured or given inline by a job: an array of steps, or {"rules": [{"name",
// "countries", "prefixes", "steps"}, ...]}. Each problem is added to `problems` as
// "<path>[i].field: what is wrong".
route read_route(std::string name, const boost::json::value& definition, const std::string& path,
                 std::vector<std::string>& problems);

// Whether the route chooses its chain by destination.
bool has_destination_rules(const route& r);

// The chain a recipient at `address` (E.164, in `country`, e.g. "CN"; empty when unknown) takes;
// nullptr when no rule covers it.
const route_chain* chain_for(const route& r, std::string_view address, std::string_view country);

// Whether a step is one of a weighted step's choices (its group has others).
bool is_weighted_choice(const route& r, std::size_t step);

// The chain a step belongs to.
const route_chain& chain_of(const route& r, std::size_t step);

// The step a recipient at `address` starts at on `chain`: its first step, or the weighted choice of
// it. Choices are drawn from the route's seed and the address: the same recipient of the same job
// always gets the same one.
int first_step(const route& r, const route_chain& chain, std::string_view address);

// Where a recipient goes when step `from` fails it: another choice of the same weighted step, else
// the first later step of its chain; never a step it was at (`tried`) nor a provider that took it
// (`took`); weighted steps chosen by weight. nullopt: nothing is left.
std::optional<int> next_step(const route& r, std::size_t from, std::string_view address,
                             const std::set<std::size_t>& tried, const std::set<std::string, std::less<>>& took);

// The seed of a job's weighted choices, from its id: the same on every daemon and after a restart.
std::uint64_t choice_seed(std::string_view job_id);

// Adds a problem for every step whose provider instance is missing or has no such channel.
void check_route_providers(const route& r, const provider_map& providers, const std::string& path,
                           std::vector<std::string>& problems);

// Why a route cannot be followed with these providers ("step rules[0].steps[1] names provider
// instance 'x', which is not configured"), or empty when every step's provider is there: a job
// outlives the configuration it was accepted under.
std::string missing_provider(const route& r, const provider_map& providers);

// Asks each step's plugin whether it can work with the step as written (its template, sender,
// params...), by validating one sample recipient; adds a problem "<path>[i].<field>: <reason>"
// for each step field the plugin refuses. Steps whose provider or channel is wrong are skipped
// (check_route_providers reports those).
void check_route_steps(const route& r, const provider_map& providers, const std::string& path,
                       std::vector<std::string>& problems);

// A route as stored with a job (its definition and seed), and back. route_from_json throws
// std::runtime_error on bad text.
std::string route_to_json(const route& r);
route route_from_json(std::string_view text);

// When a recipient at its step first comes due in a job that may not send before `send_at_ms`: then,
// unless the step leaves the waiting to its vendor (it is sent now, and the vendor holds the call).
std::int64_t first_due_at(const route& r, const recipient& at_step, std::int64_t send_at_ms);

// Whether recipients on `channel` are phone numbers (normalised to E.164) rather than platform ids.
bool addressed_by_phone_number(std::string_view channel);

} // namespace switchboard::core
