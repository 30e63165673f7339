// The dispatcher: takes a stored job and sends its recipients through their route, batch by batch,
// recording every outcome in the store. Each job runs on a strand of the work executor (a thread
// pool, never the threads that serve the API or drive sockets): store calls and plugin codecs run
// there, and several calls of one job may be out at once, up to each provider's calls_in_flight.
#pragma once

#include <switchboard/core/circuit_breaker.hpp>
#include <switchboard/core/http_message.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/job.hpp>
#include <switchboard/core/route.hpp>
#include <switchboard/core/suppression.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace switchboard::core {

class call_slots;
class dispatch_observer;
class http_client;
struct http_result;
class job_store;
class provider_instance;
class rate_limiter;

// A provider instance's pace when the configuration overrides its manifest's (0: no limit).
struct rate_override {
    std::optional<double> requests_per_second;
    std::optional<double> recipients_per_second;
};

struct dispatch_options {
    int max_attempts = 3;                              // vendor calls per recipient and step
    std::chrono::milliseconds base_backoff{500};       // first retry waits up to this (full jitter)
    std::chrono::milliseconds max_backoff{30'000};
    std::map<std::string, rate_override, std::less<>> rate_overrides;  // by provider instance
    std::map<std::string, std::size_t, std::less<>> batch_limits;     // by instance, under the manifest's
    std::size_t calls_in_flight = 4;                   // calls out at once to one instance, over all jobs
    std::map<std::string, std::size_t, std::less<>> in_flight_limits;  // by instance, instead of calls_in_flight
    std::chrono::milliseconds receipt_poll{30'000};   // how often pull-receipt providers are asked
    std::size_t max_receipts_per_callback = 10'000;    // a callback with more is refused whole
    std::size_t max_early_receipts = 100'000;          // receipts kept waiting for their call's outcome, at most
    // By instance: the codes of its vendor's undelivered receipts that say the person opted out or
    // blocked the sender; such a receipt puts the address on the suppression list for that channel.
    std::map<std::string, std::set<std::string>, std::less<>> suppress_on_codes;
    // By instance: its circuit breaker's settings; an instance without one has none.
    std::map<std::string, circuit_breaker_settings, std::less<>> circuit_breakers;
};

// A receipt callback carries more receipts than one is taken with: refused whole, nothing applied.
class too_many_receipts : public std::length_error {
public:
    using std::length_error::length_error;
};

// Checks queued recipients at the step each is at: first against the suppression list (`suppressed`
// holds the entries that name them) for the step's channel, then by the step's provider, many per
// plugin call. One that a step refuses moves on along the route; one that no step takes ends
// skipped_suppressed (when the list kept it from a step) or skipped_invalid, with every step's
// reason. Throws std::runtime_error when a plugin cannot validate.
void screen_recipients(const provider_map& providers, const route& r, std::vector<recipient>& recipients,
                       const suppression_index& suppressed, std::int64_t now_ms);

// What became of the receipts of one callback or one poll.
struct receipt_tally {
    std::size_t applied = 0;     // moved a recipient on (delivered, or undelivered and onwards)
    std::size_t ignored = 0;     // pending, or about a recipient already past that news
    std::size_t unmatched = 0;   // named no recipient yet: kept, in case its call's outcome is not written yet
};

class dispatcher {
public:
    // Jobs run on `work`; each provider instance is paced at the limits its plugin's manifest
    // declares (or the options override).
    dispatcher(boost::asio::any_io_executor work, job_store& store, const route_map& routes,
               const provider_map& providers, http_client& http, dispatch_options options = {});
    ~dispatcher();

    // Starts sending a stored job in the background (nothing when it runs already).
    void start(const std::string& job_id);

    // Resumes every unfinished job in the store, as after a restart. Recipients that were inside a
    // vendor call when the process stopped become `unknown`: the vendor may have taken them, so
    // they are not sent again. Returns how many jobs it resumed.
    std::size_t resume_unfinished();

    // Something changed for the job outside its loop (a cancel, a receipt): it looks again now
    // instead of at its next due time. Thread safe; nothing when the job does not run here.
    void wake(const std::string& job_id);

    // Graceful stop: no job starts another vendor call; calls already out run to their end.
    void stop_sending();
    // For daemons sharing the store, after each renewal of this one's lease: settles the calls in
    // flight of daemons whose lease ended (by their step's unknown-outcome policy, as after a
    // restart) and sends every unfinished job that does not run here yet. Returns how many
    // recipients it settled.
    std::size_t adopt_shared_work();

    // Vendor calls under way right now.
    int calls_in_flight() const noexcept { return *in_flight_; }
    // Marks every recipient still inside a vendor call as `unknown` (for a stop whose grace
    // period ran out). Returns how many.
    std::size_t abandon_in_flight();

    // Applies delivery receipts a provider instance's plugin parsed ({"receipts": [...]}): a
    // delivered one settles its recipient, an undelivered one moves it on along its route.
    receipt_tally apply_receipts(const std::string& provider, const std::string& receipts_json);

    // Starts asking every provider whose plugin offers pull receipts, every receipt_poll, about the
    // recipients awaiting one.
    void start_receipt_polling();

    // Reports calls, rate-limit waits and receipts to `observer` (which outlives the dispatcher's
    // work), from now on.
    // A breach of the provider contract by the plugin of instance `provider`: logged once per
    // instance and rule (the first `detail` shown), counted every time by the observer. The rules:
    // second_write, unknown_status, no_request (any call, see plugin_call_result::breach); foreign_outcome,
    // duplicate_outcome, missing_outcome, invalid_result (decode's outcomes); invalid_receipt_status.
    void note_breach(const std::string& provider, std::string_view rule, const std::string& detail) const;
    void observe(dispatch_observer& observer) noexcept { observer_ = &observer; }

    // A provider instance's pace as configured: requests and recipients per second (0: no limit).
    std::pair<double, double> pace_of(const std::string& provider) const;
    // The provider instance's circuit breaker as it stands; nothing when it has none.
    std::optional<circuit_status> circuit_of(const std::string& provider) const;

    // How a vendor call ended for one recipient, as the dispatcher sees it.
    enum class call_outcome { accepted, rejected, transient, unknown };

private:
    struct running_job;
    struct job_plan;

    // Sends a stored job until every recipient is final.
    boost::asio::awaitable<void> run(std::string job_id, std::shared_ptr<running_job> self);
    // The recipients due now at one step, up to its provider's batch size, screened for that step.
    std::vector<recipient> next_batch(const job_plan& plan);
    // Takes a slot and the rate's turn for `candidates`, claims them, and starts their call.
    boost::asio::awaitable<void> start_call(std::shared_ptr<const job_plan> plan, std::shared_ptr<running_job> self,
                                            std::vector<recipient> candidates);
    // Sleeps until `wake_at_ms` (at most an hour at a time), or until woken.
    boost::asio::awaitable<void> sleep(running_job& self, std::int64_t wake_at_ms);
    // What the loop does when nothing is due: returns false when the job is over.
    boost::asio::awaitable<bool> wait_for_work(const job_plan& plan, running_job& self);
    boost::asio::awaitable<void> send_batch(std::shared_ptr<const job_plan> plan, const provider_instance& provider,
                                            std::vector<recipient> batch, std::chrono::steady_clock::time_point turn);
    // Fails what was not sent by the job's deadline, and closes its receipt waits.
    void expire(const job& j);
    // Decides one recipient's next state after a call: accepted (or awaiting its receipt), retried
    // at `retry_at_ms` while attempts last, or, failed for good, on to the next step.
    void settle(recipient_update& u, const route& rt, call_outcome outcome, const std::string& code,
                const std::string& reason, std::int64_t retry_at_ms);
    // When a batch's recipients are retried: one time for all of them (full jitter, at least retry-after).
    std::function<std::int64_t(std::int64_t)> batch_retry_clock(const std::vector<recipient>& batch);
    // Settles every recipient of a batch alike.
    std::vector<recipient_update> settle_batch(const route& rt, const std::vector<recipient>& batch, call_outcome outcome,
                                               const std::string& code, const std::string& reason,
                                               std::int64_t retry_after_ms);
    // Settles each recipient of a batch by its own outcome, as the plugin decoded them.
    std::vector<recipient_update> settle_outcomes(const route& rt, const provider_instance& provider,
                                                  const std::vector<recipient>& batch, const std::string& outcomes_json);
    // What the vendor's answer (or its absence) to a batch means for each of its recipients.
    std::vector<recipient_update> settle_answer(const route& rt, const provider_instance& provider,
                                                const std::string& document, const http_result& sent,
                                                const std::vector<recipient>& batch,
                                                std::chrono::steady_clock::duration latency);
    // For a call whose answer never came: records on each recipient left unknown the message id
    // the vendor's receipts will name (when the plugin can tell it), so that a late receipt settles it.
    void name_unknown_messages(const provider_instance& provider, const std::string& document,
                               std::vector<recipient_update>& updates) const;
    void report_call(const provider_instance& provider, std::size_t recipients, std::string_view outcome,
                     std::chrono::steady_clock::duration latency, std::string_view error) const;
    void apply_outcomes(const std::string& outcomes_json, const route& rt, const provider_instance& provider,
                        const std::vector<recipient>& batch, std::vector<recipient_update>& updates,
                        const std::function<std::int64_t(std::int64_t)>& retry_at);
    // The route a job follows: the one stored with it, or (jobs from before routes were stored) the configured one.
    route route_of(const job& j) const;
    // Why the job's route cannot be followed (unreadable, or naming a provider not configured any
    // more), or empty when it can; sets `rt` to the route.
    std::string unusable_route(const job& j, std::optional<route>& rt) const;
    // Fails what is left of a job whose route cannot be followed, and finishes it.
    void end_unroutable(const job& j, const std::string& why);
    // Settles the recipients a stopped process left inside a vendor call by their step's unknown-outcome
    // policy: this daemon's own, or those of daemons whose lease ended.
    std::size_t settle_in_flight_as_unknown(const job& j, job_store::caller whose = job_store::caller::this_daemon);
    // Whether this daemon polls the receipts of `provider` now (on a shared store, one daemon does).
    bool leads_receipt_polls(const std::string& provider);
    // The vendor throttles: no call to `provider` before `wait` from now, from any job (or daemon).
    void hold_provider(const std::string& provider, std::chrono::milliseconds wait);
    // For a job with no call out: settles, as above, any recipient still marked as in one. Returns how many.
    std::size_t settle_orphans(const job& j);
    // Runs `write` until the store takes it, once a second while it fails (a full or failing disk):
    // what a vendor answered is never dropped, nor its recipients left "in a call". `what` names the
    // write in the log.
    boost::asio::awaitable<void> until_stored(const std::string& job_id, std::string_view what,
                                              const std::function<void()>& write);
    // Ends the receipt waits that are over: on to the next step, or accepted at the last.
    void close_waits(const std::string& job_id, const route& rt);
    // Whether the instance's circuit breaker (if it has one) lets a call go out now.
    bool circuit_allows_call(const std::string& provider);
    // Moves recipients due at a step whose provider's circuit is open on along their routes at once.
    void move_past_open_circuit(const std::string& job_id, const route& rt, const std::string& provider,
                                const std::vector<recipient>& due);
    // Right before a call: checks candidates against the suppression list, and validates those at
    // a step past the first; those refused move on. Returns the rest.
    std::vector<recipient> screen_before_call(const std::string& job_id, const route& rt, std::vector<recipient> candidates);
    struct receipt_query {
        std::string query_json;
        http_request request;
        std::string last_message_id;   // where the next query of the same poll starts
        bool more = false;             // whether more message ids may follow
    };
    boost::asio::awaitable<void> poll_receipts(const provider_instance& provider);
    // The pull-receipt query for the provider's next message ids awaiting receipts, after `after`, if any.
    std::optional<receipt_query> next_receipt_query(const provider_instance& provider, const std::string& after);
    void take_receipt_answer(const provider_instance& provider, const receipt_query& query, const http_result& answer);
    receipt_tally apply_receipt_list(const std::string& provider, const std::vector<delivery_receipt>& receipts,
                                     bool keep_unmatched);
    // Applies receipts that came before these outcomes were written.
    void apply_early_receipts(const provider_instance& provider, const std::vector<recipient_update>& updates);
    std::int64_t backoff_ms(int attempts, std::int64_t retry_after_ms);
    // Marks the candidates as in a call, where they are still queued; returns those it took.
    std::vector<recipient> claim(const std::string& job_id, const std::string& provider, std::vector<recipient> candidates);
    // The most recipients one call to this instance carries.
    std::size_t batch_limit(const std::string& name, const provider_instance& provider) const;
    // Takes the next turn of `provider` for a call of `recipients` (0: a receipt query), in the
    // database when the store is shared (the rate is then the total over all daemons); returns how
    // long from now until it comes.
    std::chrono::steady_clock::duration take_turn(const std::string& provider, std::size_t recipients);
    // Takes a turn and waits until `ahead` before it (a call is claimed and encoded meanwhile, and
    // waits the rest in time_to_send); returns when the turn comes.
    boost::asio::awaitable<std::chrono::steady_clock::time_point> pace(const std::string& provider, std::size_t recipients,
                                                                       std::chrono::milliseconds ahead);
    // Right before a call whose turn is `turn`: when the call is to wait for its turn still, or,
    // late for it (claiming and encoding took long), for a new one — so that calls reach the vendor
    // no closer together than their turns. Nothing when it goes now.
    std::optional<std::chrono::steady_clock::time_point> time_to_send(const std::string& provider,
                                                                      std::chrono::steady_clock::time_point turn,
                                                                      std::size_t recipients);

    boost::asio::any_io_executor work_;
    job_store& store_;
    const route_map& routes_;
    const provider_map& providers_;
    http_client& http_;
    dispatch_options options_;
    std::map<std::string, std::unique_ptr<rate_limiter>, std::less<>> limiters_;
    std::map<std::string, std::unique_ptr<call_slots>, std::less<>> slots_;
    std::map<std::string, std::pair<double, double>, std::less<>> paces_;   // requests/s, recipients/s
    std::map<std::string, std::unique_ptr<circuit_breaker>, std::less<>> breakers_;   // instances that have one
    std::mutex running_mutex_;
    std::map<std::string, std::shared_ptr<running_job>, std::less<>> running_;   // jobs this process sends now
    std::set<std::string, std::less<>> unroutable_here_;   // shared jobs whose route this daemon cannot follow
    std::atomic<bool> stopping_{false};
    std::atomic<dispatch_observer*> observer_{nullptr};
    std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
    mutable std::mutex breaches_mutex_;
    mutable std::set<std::pair<std::string, std::string>, std::less<>> breaches_logged_;   // (provider, rule)
};

} // namespace switchboard::core
