// The job loop: each running job has a strand of the work executor and a loop there that finds the
// recipients due, takes a call slot and the rate's turn for them, claims them, and starts their
// call (on a strand of its own), again and again while slots are free; calls report back to the
// loop when they end. A job
// with nothing to do sleeps until its next due time, its deadline, or a wake (a call that ended, a
// receipt, a cancel): an idle job costs no CPU.
#include <switchboard/core/dispatcher.hpp>

#include <switchboard/core/cluster.hpp>
#include <switchboard/core/dispatch_observer.hpp>
#include <switchboard/core/http_client.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/plugin_documents.hpp>
#include <switchboard/core/rate_limiter.hpp>
#include <switchboard/core/unix_time.hpp>

#include "call_slots.hpp"
#include "dispatch_status.hpp"
#include "route_progress.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace switchboard::core {

namespace net = boost::asio;

namespace {

constexpr std::size_t waits_closed_at_once = 1000;      // receipt waits ended per look
constexpr std::int64_t longest_sleep_ms = 3600'000;     // a waiting job looks again at least this often
// A call's wait for its turn ends this long before it: the claim and the encoding are done by
// then, and the call goes out on its turn, not as late as they make it.
constexpr std::chrono::milliseconds ahead_of_turn{40};
// On a shared store a job also looks at least this often: other daemons change it (a receipt, a
// share of its work after one of them stopped) without waking it here.
constexpr std::int64_t shared_look_ms = 1000;

void log_failure(const std::string& what, std::exception_ptr error) {
    if (!error)
        return;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        spdlog::error("{}: {}", what, e.what());
    }
}

// Whether any recipient of these counts is not final yet.
bool unfinished(const std::map<recipient_state, std::int64_t>& counts) {
    return std::any_of(counts.begin(), counts.end(), [](const auto& c) { return c.second > 0 && !is_final(c.first); });
}

} // namespace

// A job as its loop and its calls see it: fixed while it runs, shared with calls that may outlive
// the loop (a graceful stop ends the loop while calls are out).
struct dispatcher::job_plan {
    job j;
    route rt;
};

// A job this process sends now: everything about it happens on its strand, one thing at a time.
struct dispatcher::running_job {
    explicit running_job(const net::any_io_executor& work) : strand(net::make_strand(work)), alarm(strand) {}
    net::strand<net::any_io_executor> strand;
    net::steady_timer alarm;   // the loop's sleep; cancelled to wake it
    bool woken = false;        // a wake that came while the loop was not asleep
    int calls_out = 0;

    // On the strand: the loop looks again now.
    void rouse() {
        woken = true;
        alarm.cancel();
    }
};

dispatcher::dispatcher(net::any_io_executor work, job_store& store, const route_map& routes,
                       const provider_map& providers, http_client& http, dispatch_options options)
    : work_(std::move(work)), store_(store), routes_(routes), providers_(providers), http_(http),
      options_(std::move(options)) {
    for (const auto& [name, instance] : providers_) {
        const plugin_manifest& m = instance->owner().manifest();
        double requests = m.requests_per_second;
        double recipients = m.recipients_per_second;
        if (const auto o = options_.rate_overrides.find(name); o != options_.rate_overrides.end()) {
            requests = o->second.requests_per_second.value_or(requests);
            recipients = o->second.recipients_per_second.value_or(recipients);
        }
        limiters_.emplace(name, std::make_unique<rate_limiter>(requests, recipients));
        paces_.emplace(name, std::pair{requests, recipients});
        const auto in_flight = options_.in_flight_limits.find(name);
        slots_.emplace(name, std::make_unique<call_slots>(in_flight == options_.in_flight_limits.end()
                                                              ? options_.calls_in_flight
                                                              : in_flight->second));
        if (const auto b = options_.circuit_breakers.find(name); b != options_.circuit_breakers.end())
            breakers_.emplace(name, std::make_unique<circuit_breaker>(b->second));
    }
}

std::optional<circuit_status> dispatcher::circuit_of(const std::string& provider) const {
    const auto found = breakers_.find(provider);
    if (found == breakers_.end())
        return std::nullopt;
    return found->second->status();
}

dispatcher::~dispatcher() = default;

void dispatcher::start(const std::string& job_id) {
    std::shared_ptr<running_job> self;
    {
        std::lock_guard lock(running_mutex_);
        if (running_.count(job_id) != 0)
            return;
        self = std::make_shared<running_job>(work_);
        running_.emplace(job_id, self);
    }
    net::co_spawn(self->strand, run(job_id, self), [this, job_id](std::exception_ptr error) {
        {
            std::lock_guard lock(running_mutex_);
            running_.erase(job_id);
        }
        log_failure("job " + job_id + ": dispatch stopped", error);
    });
}

void dispatcher::wake(const std::string& job_id) {
    std::lock_guard lock(running_mutex_);
    if (const auto found = running_.find(job_id); found != running_.end())
        net::post(found->second->strand, [self = found->second] { self->rouse(); });
}

void dispatcher::stop_sending() {
    stopping_ = true;
    std::lock_guard lock(running_mutex_);
    for (const auto& [id, self] : running_)
        net::post(self->strand, [self = self] { self->rouse(); });
}

route dispatcher::route_of(const job& j) const {
    if (!j.route_json.empty())
        return route_from_json(j.route_json);
    const auto configured = routes_.find(j.route);
    if (configured == routes_.end())
        throw std::runtime_error("job " + j.id + " uses route '" + j.route + "', which is not configured");
    return configured->second;
}

std::size_t dispatcher::settle_in_flight_as_unknown(const job& j, job_store::caller whose) {
    std::optional<route> rt;
    try {
        rt = route_of(j);
    } catch (const std::runtime_error& e) {
        spdlog::error("job {}: {}; its recipients in flight become unknown without their step's policy", j.id, e.what());
    }
    std::vector<recipient_update> in_flight;
    for (const recipient& r : store_.orphaned_in_flight(j.id, whose)) {
        recipient_update u = update_of(r);
        const std::string reason = "the daemon stopped while this recipient's call was in flight";
        if (rt) {
            settle(u, *rt, call_outcome::unknown, "outcome_unknown", reason, unix_now_ms());
        } else {
            u.state = recipient_state::unknown;
            u.code = "outcome_unknown";
            u.reason = reason + "; not sent again, to avoid a double send";
        }
        in_flight.push_back(std::move(u));
    }
    // Only those still in a call: another daemon may settle the same orphans at the same time.
    return store_.apply_if(j.id, recipient_state::sending, in_flight).size();
}

std::size_t dispatcher::resume_unfinished() {
    const std::vector<job> unfinished = store_.unfinished_jobs();
    std::size_t resumed = 0;
    for (const job& j : unfinished) {
        if (j.state == job_state::open)
            continue;  // still taking recipients: it starts when its client says so
        ++resumed;
        const std::size_t unknown = settle_in_flight_as_unknown(j);
        spdlog::info("job {}: resumed; {} recipient(s) were in flight when the daemon stopped", j.id, unknown);
        start(j.id);
    }
    return resumed;
}

std::size_t dispatcher::adopt_shared_work() {
    cluster& shared = *store_.shared();
    std::size_t settled = 0;
    // One daemon at a time settles the stopped ones' calls: two reading the same orphan could
    // otherwise both settle it, the second after the first's settlement was claimed again. Its term
    // is a lease: a leader stalled past it (this runs where the lease is renewed) has lost its lease
    // too, and its writes are refused.
    if (shared.lead("settling the calls of stopped daemons", shared.lease()))
        for (const std::string& id : shared.jobs_with_orphans())
            if (const std::optional<job> j = store_.find_job(id)) {
                const std::size_t n = settle_in_flight_as_unknown(*j, job_store::caller::stopped_daemons);
                if (n > 0)
                    spdlog::warn("job {}: {} recipient(s) were in a call of a daemon whose lease ended; settled as "
                                 "after a restart", id, n);
                settled += n;
            }
    if (stopping_)
        return settled;
    for (const job& j : store_.unfinished_jobs()) {
        bool skip = j.state == job_state::open;
        {
            std::lock_guard lock(running_mutex_);
            skip = skip || unroutable_here_.count(j.id) != 0;
        }
        if (!skip)
            start(j.id);
    }
    return settled;
}

std::size_t dispatcher::abandon_in_flight() {
    std::size_t abandoned = 0;
    for (const job& j : store_.unfinished_jobs())
        abandoned += settle_in_flight_as_unknown(j);
    return abandoned;
}

std::size_t dispatcher::settle_orphans(const job& j) {
    // This job has no call out now, so whoever is still marked as in one was left so by a write that
    // never happened; the vendor may have taken them.
    if (store_.count_by_state(j.id).at(recipient_state::sending) == 0)
        return 0;
    const std::size_t orphans = settle_in_flight_as_unknown(j);
    if (orphans > 0)   // on a shared store the others in a call may be other daemons', alive
        spdlog::warn("job {}: {} recipient(s) were marked as in a call that is over; their outcome is unknown", j.id,
                     orphans);
    return orphans;
}

net::awaitable<void> dispatcher::until_stored(const std::string& job_id, std::string_view what,
                                              const std::function<void()>& write) {
    net::steady_timer pause(co_await net::this_coro::executor);
    for (int failures = 0;; ++failures) {
        try {
            write();
            if (failures > 0)
                spdlog::info("job {}: {} is recorded, after {} failed attempt(s)", job_id, what, failures);
            co_return;
        } catch (const lease_lost& e) {
            // The other daemons have settled what this one had in flight: nothing to record any more.
            spdlog::error("job {}: {} is not recorded: {}", job_id, what, e.what());
            co_return;
        } catch (const store_error& e) {
            if (failures == 0)
                spdlog::error("job {}: cannot record {}: {}; trying again every second", job_id, what, e.what());
        }
        pause.expires_after(std::chrono::seconds(1));
        co_await pause.async_wait(net::use_awaitable);
    }
}

void dispatcher::close_waits(const std::string& job_id, const route& rt) {
    std::vector<recipient_update> closed;
    const std::int64_t now = unix_now_ms();
    for (const recipient& r : store_.due_recipients(job_id, now, waits_closed_at_once, recipient_state::awaiting_receipt)) {
        recipient_update u = update_of(r);
        if (!step_after(u, rt)) {
            // Nowhere left to go: the vendor took it, and that is all there is to know.
            u.state = recipient_state::accepted;
            record_step(u, rt, {step_result::accepted, "", "no receipt within the step's receipt_wait"}, now);
        } else {
            record_step(u, rt, {step_result::no_receipt, "no_receipt", "no receipt within the step's receipt_wait"}, now);
            fall_back(u, rt, now);
        }
        closed.push_back(std::move(u));
    }
    if (!closed.empty())
        store_.apply_if(job_id, recipient_state::awaiting_receipt, closed);
}

std::string dispatcher::unusable_route(const job& j, std::optional<route>& rt) const {
    try {
        rt = route_of(j);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    if (std::string missing = missing_provider(*rt, providers_); !missing.empty())
        return "its route's " + missing;
    return {};
}

void dispatcher::end_unroutable(const job& j, const std::string& why) {
    spdlog::error("job {}: cannot be sent: {}; what was not sent fails", j.id, why);
    store_.settle_all(j.id, recipient_state::queued, recipient_state::failed, "unroutable", "the job cannot be sent: " + why);
    store_.settle_all(j.id, recipient_state::awaiting_receipt, recipient_state::accepted, "",
                      "the job's route cannot be followed any further: " + why);
    store_.finish_job(j.id, unix_now_ms());
}

void dispatcher::expire(const job& j) {
    if (j.deadline_ms <= 0 || unix_now_ms() < j.deadline_ms)
        return;
    const std::size_t expired = store_.settle_all(j.id, recipient_state::queued, recipient_state::failed, "deadline",
                                                  "the job's deadline passed before it could be sent");
    store_.settle_all(j.id, recipient_state::awaiting_receipt, recipient_state::accepted, "",
                      "the job's deadline closed its receipt wait");
    if (expired > 0)
        spdlog::info("job {}: deadline passed; {} recipient(s) not sent", j.id, expired);
}

net::awaitable<void> dispatcher::run(std::string job_id, std::shared_ptr<running_job> self) {
    const std::optional<job> found = store_.find_job(job_id);
    if (!found)
        throw std::runtime_error("no job " + job_id);
    std::optional<route> stored_route;
    if (const std::string why = unusable_route(*found, stored_route); !why.empty()) {
        if (store_.shared()) {
            // Other daemons on the store may have the route and its providers (a configuration
            // rolled out to some hosts first): the job is left to them.
            spdlog::error("job {}: not sent by this daemon: {}; the daemons on the store that have it send it",
                          job_id, why);
            std::lock_guard lock(running_mutex_);
            unroutable_here_.insert(job_id);
            co_return;
        }
        // A configuration changed under a stored job: fail what is left, clearly, rather than crash or stall.
        end_unroutable(*found, why);
        co_return;
    }
    const auto plan = std::make_shared<const job_plan>(job_plan{*found, std::move(*stored_route)});
    store_.set_job_state(job_id, job_state::running);

    for (;;) {
        if (stopping_)
            co_return;  // unfinished: resumed when the daemon starts again; calls out run to their end
        bool failed = false;
        try {
            expire(plan->j);
            close_waits(job_id, plan->rt);
            if (std::vector<recipient> batch = next_batch(*plan); !batch.empty()) {
                co_await start_call(plan, self, std::move(batch));
                continue;
            }
            if (!co_await wait_for_work(*plan, *self))
                break;
        } catch (const std::exception& e) {
            // The store failed (a full disk, say) or a plugin could not validate: keep the job
            // alive and try again soon; calls out record their outcomes on their own.
            spdlog::error("job {}: {}; trying again in a second", job_id, e.what());
            failed = true;
        }
        if (failed)
            co_await sleep(*self, unix_now_ms() + 1000);
    }
    const std::function<void()> finish = [&] { store_.finish_job(job_id, unix_now_ms()); };
    co_await until_stored(job_id, "its end", finish);
    spdlog::info("job {}: finished", job_id);
}

std::vector<recipient> dispatcher::next_batch(const job_plan& plan) {
    // The step of the first recipient due decides the call, which takes those due at that step, up
    // to its provider's size. One look, a call's worth of the first step, usually serves; a call
    // at a later step that takes more looks again (each look walks past the recipients in a call).
    const auto limit_at = [&](std::size_t step) {
        const std::string& name = plan.rt.steps.at(step).provider;
        return batch_limit(name, *providers_.find(name)->second);
    };
    const std::size_t first_limit = limit_at(0);
    std::vector<recipient> due = store_.due_recipients(plan.j.id, unix_now_ms(), first_limit);
    if (due.empty())
        return {};
    const int step_index = due.front().step;
    const route_step& step = plan.rt.steps.at(static_cast<std::size_t>(step_index));
    const std::size_t limit = limit_at(static_cast<std::size_t>(step_index));
    if (limit > first_limit && due.size() == first_limit)
        due = store_.due_recipients(plan.j.id, unix_now_ms(), limit);
    std::vector<recipient> candidates;
    for (recipient& candidate : due)
        if (candidate.step == step_index && candidates.size() < limit)
            candidates.push_back(std::move(candidate));
    if (!circuit_allows_call(step.provider)) {
        move_past_open_circuit(plan.j.id, plan.rt, step.provider, candidates);
        return {};
    }
    return screen_before_call(plan.j.id, plan.rt, std::move(candidates));
}

net::awaitable<void> dispatcher::start_call(std::shared_ptr<const job_plan> plan, std::shared_ptr<running_job> self,
                                            std::vector<recipient> candidates) {
    const route_step& step = plan->rt.steps.at(static_cast<std::size_t>(candidates.front().step));
    const provider_instance& provider = *providers_.find(step.provider)->second;
    call_slots& slots = *slots_.at(provider.name());
    co_await slots.acquire();
    // Pace first, then claim: the signature carries the sending time, and a stop, a cancel or a
    // deadline during the wait must find these recipients still queued, not "in a call".
    std::vector<recipient> batch;
    std::chrono::steady_clock::time_point turn;
    try {
        turn = co_await pace(provider.name(), candidates.size(), ahead_of_turn);
        if (!stopping_)
            batch = claim(plan->j.id, provider.name(), std::move(candidates));
    } catch (...) {
        slots.release();
        throw;
    }
    if (batch.empty()) {
        slots.release();
        co_return;
    }
    ++self->calls_out;
    // The call on a strand of its own: a job's calls encode, decode and record in parallel, and
    // report back to the job's strand when they end.
    net::co_spawn(net::make_strand(work_), send_batch(plan, provider, std::move(batch), turn),
                  net::bind_executor(self->strand, [self, &slots, job_id = plan->j.id](std::exception_ptr error) {
                      slots.release();
                      --self->calls_out;
                      self->rouse();
                      log_failure("job " + job_id + ": a call failed", error);
                  }));
}

net::awaitable<bool> dispatcher::wait_for_work(const job_plan& plan, running_job& self) {
    std::optional<std::int64_t> next = store_.next_due_at(plan.j.id);
    if (self.calls_out == 0 && !next) {
        // Nothing due, nothing waiting, nothing out: over, unless a lost write left some "in a call"
        // or, on a shared store, other daemons still hold some of the job.
        if (settle_orphans(plan.j) > 0)
            co_return true;
        if (!store_.shared() || !unfinished(store_.count_by_state(plan.j.id)))
            co_return false;
    }
    std::int64_t wake_at = next.value_or(INT64_MAX);
    if (plan.j.deadline_ms > 0)
        wake_at = std::min(wake_at, plan.j.deadline_ms);
    if (store_.shared())
        wake_at = std::min(wake_at, unix_now_ms() + shared_look_ms);
    co_await sleep(self, wake_at);
    co_return true;
}

net::awaitable<void> dispatcher::sleep(running_job& self, std::int64_t wake_at_ms) {
    if (self.woken || stopping_) {
        self.woken = false;
        co_return;
    }
    // At most an hour at a time: a wait of centuries (a send_at stored long ago, say) overflows the
    // timer's clock and would fire at once, again and again.
    const std::int64_t wait_ms = std::clamp<std::int64_t>(wake_at_ms - std::min(wake_at_ms, unix_now_ms()), 0, longest_sleep_ms);
    self.alarm.expires_after(std::chrono::milliseconds(wait_ms));
    co_await self.alarm.async_wait(net::as_tuple(net::use_awaitable));
    self.woken = false;
}

std::vector<recipient> dispatcher::claim(const std::string& job_id, const std::string& provider,
                                         std::vector<recipient> candidates) {
    const std::vector<std::int64_t> claimed = store_.claim_as_read(job_id, candidates, provider);
    std::vector<recipient> batch;
    batch.reserve(claimed.size());
    std::size_t next = 0;
    for (recipient& r : candidates)
        if (next < claimed.size() && claimed[next] == r.index) {
            r.state = recipient_state::sending;  // as the store now has it
            ++r.attempts;
            r.provider = provider;
            batch.push_back(std::move(r));
            ++next;
        }
    return batch;
}

std::size_t dispatcher::batch_limit(const std::string& name, const provider_instance& provider) const {
    const auto limit = static_cast<std::size_t>(provider.owner().manifest().max_recipients_per_call);
    const auto o = options_.batch_limits.find(name);
    return o == options_.batch_limits.end() ? limit : std::min(limit, o->second);
}

std::pair<double, double> dispatcher::pace_of(const std::string& provider) const {
    const auto found = paces_.find(provider);
    return found == paces_.end() ? std::pair{0.0, 0.0} : found->second;
}

void dispatcher::hold_provider(const std::string& provider, std::chrono::milliseconds wait) {
    if (cluster* shared = store_.shared())
        shared->hold(provider, wait);
    else
        limiters_.at(provider)->hold(wait);
}

std::chrono::steady_clock::duration dispatcher::take_turn(const std::string& provider, std::size_t recipients) {
    if (cluster* shared = store_.shared()) {
        const auto [requests, per_recipient] = pace_of(provider);
        return shared->reserve_turn(provider, requests, per_recipient, recipients);
    }
    return limiters_.at(provider)->reserve(recipients);
}

net::awaitable<std::chrono::steady_clock::time_point> dispatcher::pace(const std::string& provider, std::size_t recipients,
                                                                       std::chrono::milliseconds ahead) {
    const auto asked = std::chrono::steady_clock::now();
    const auto wait = take_turn(provider, recipients);
    if (wait.count() <= 0)
        co_return asked;
    if (dispatch_observer* observer = observer_.load())
        observer->rate_wait(provider, wait);
    net::steady_timer pause(co_await net::this_coro::executor, asked + wait - ahead);
    co_await pause.async_wait(net::use_awaitable);
    co_return asked + wait;
}

std::optional<std::chrono::steady_clock::time_point>
dispatcher::time_to_send(const std::string& provider, std::chrono::steady_clock::time_point turn, std::size_t recipients) {
    const double requests = pace_of(provider).first;
    if (requests <= 0)
        return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    if (now < turn)
        return turn;
    // Late by a quarter of the spacing: the next turn (maybe another daemon's) may be close behind.
    const auto allowed_lateness =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(0.25 / requests));
    if (now - turn <= allowed_lateness)
        return std::nullopt;
    return now + take_turn(provider, recipients);
}

// GCC 12 takes the coroutine frame's sized operator delete for a mismatch of Asio's frame allocator
// (a false -Wmismatched-new-delete, depending on what it inlines into this frame).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
net::awaitable<void> dispatcher::send_batch(std::shared_ptr<const job_plan> plan, const provider_instance& provider,
                                            std::vector<recipient> batch, std::chrono::steady_clock::time_point turn) {
    // Shares the counter: a frame destroyed with the io_context may outlive the dispatcher.
    struct counted {
        std::shared_ptr<std::atomic<int>> count;
        explicit counted(std::shared_ptr<std::atomic<int>> c) : count(std::move(c)) { ++*count; }
        ~counted() { --*count; }
    } in_flight(in_flight_);
    const job& j = plan->j;
    const route& rt = plan->rt;
    const route_step& step = rt.steps.at(static_cast<std::size_t>(batch.front().step));

    std::string document;
    plugin_call_result encoded;
    try {
        document = batch_document(j.id, step, batch, j.send_at_ms);
        encoded = provider.encode(document, unix_now_ms());
    } catch (const std::exception& e) {
        encoded = plugin_call_result{SB_STATUS_INTERNAL, {}, {}, std::string("cannot encode the batch: ") + e.what(), -1, {}};
    }
    if (!encoded.breach.empty())
        note_breach(provider.name(), encoded.breach, "in encode: " + (encoded.ok() ? std::string("it succeeded") : encoded.error));
    if (!encoded.ok()) {
        report_call(provider, batch.size(), "encode_error", {}, encoded.error);
        // Never sent: a passing failure is retried, any other fails the step.
        const std::vector<recipient_update> updates =
            settle_batch(rt, batch, encoded.status == SB_STATUS_TRANSIENT ? call_outcome::transient : call_outcome::rejected,
                         "encode_" + status_name(encoded.status), encoded.error, encoded.retry_after_ms);
        const std::function<void()> write = [&] { store_.apply(j.id, updates); };
        co_await until_stored(j.id, "a batch that could not be encoded", write);
        co_return;
    }

    std::optional<std::chrono::steady_clock::time_point> send_at;
    std::string not_sent;   // why the call does not go out after all
    try {
        send_at = time_to_send(provider.name(), turn, batch.size());
    } catch (const store_error& e) {
        not_sent = std::string("not sent: no turn could be taken on the shared store: ") + e.what();
    }
    if (send_at) {
        net::steady_timer until_turn(co_await net::this_coro::executor, *send_at);
        co_await until_turn.async_wait(net::use_awaitable);
    }
    if (const cluster* shared = store_.shared(); shared && !shared->lease_current())
        // Paused past this daemon's lease: the others may have taken these recipients over already.
        not_sent = "not sent: this daemon's lease on the shared store lapsed before the call";
    if (!not_sent.empty()) {
        const std::vector<recipient_update> updates = settle_batch(rt, batch, call_outcome::transient, "not_sent", not_sent, 0);
        const std::function<void()> write = [&] { store_.apply(j.id, updates); };
        co_await until_stored(j.id, "a call not sent", write);
        co_return;
    }
    const auto started = std::chrono::steady_clock::now();
    const http_result sent = co_await http_.send(*encoded.request);
    const std::vector<recipient_update> updates =
        settle_answer(rt, provider, document, sent, batch, std::chrono::steady_clock::now() - started);
    // The vendor has answered: a moment's disk failure must not lose that, nor leave these "in a call".
    const std::string what = "the outcome of a call to " + provider.name() + " for " + std::to_string(batch.size()) +
                             " recipient(s)";
    const std::function<void()> write = [&] { store_.apply(j.id, updates); };
    co_await until_stored(j.id, what, write);
    apply_early_receipts(provider, updates);
    spdlog::debug("job {}: {} recipients sent through {}", j.id, batch.size(), provider.name());
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

} // namespace switchboard::core
