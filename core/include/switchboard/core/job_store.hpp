// Where jobs and recipients live. Everything the pipeline knows about a job goes through this
// interface, so the state can be kept in memory or in a durable database alike.
#pragma once

#include <switchboard/core/job.hpp>
#include <switchboard/core/suppression.hpp>

#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

namespace switchboard::core {

class cluster;

// Why the store cannot be used: names the file and what to do.
class store_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The store has no room left: the disk, or the configured largest size, is full. Nothing of the
// change that hit it was written.
class store_full : public store_error {
public:
    using store_error::store_error;
};

// Recipients of one job that ended the same way (see job_store::failure_groups).
struct failure_group {
    recipient_state state = recipient_state::failed;
    std::string code;
    std::string reason;
    std::int64_t count = 0;
};

class job_store {
public:
    virtual ~job_store() = default;

    // Stores a job with all its recipients, at once: when this returns, the job exists whole.
    // Throws std::invalid_argument when its id, or its idempotency key, is taken, and store_full when
    // storing them would leave too little room to record the outcomes of the work already taken.
    virtual void create_job(const job& j, const std::vector<recipient>& recipients) = 0;

    // Adds recipients to a stored job, at once; their indexes continue the job's. The job's
    // recipient_count grows by their number.
    virtual void append_recipients(const std::string& job_id, const std::vector<recipient>& recipients) = 0;

    // Why the store cannot take writes now (a failing disk, no room left for more work), or empty
    // when it can. Checked with a small write at most once a second.
    virtual std::string write_problem() = 0;

    virtual std::optional<job> find_job(const std::string& id) const = 0;
    // The job submitted under a client's idempotency key, if any.
    virtual std::optional<job> find_job_by_idempotency_key(const std::string& key) const = 0;
    // The most recent jobs, newest first, at most `limit` after skipping `offset`; only those in
    // `state` when given.
    virtual std::vector<job> recent_jobs(std::size_t limit, std::size_t offset = 0,
                                         std::optional<job_state> state = std::nullopt) const = 0;
    // Every job with work left, oldest first: not finished (open ones included), or finished with
    // recipients not in a final state (as a failed write could leave one before they were repaired).
    virtual std::vector<job> unfinished_jobs() const = 0;
    virtual void set_job_state(const std::string& id, job_state state) = 0;
    // Marks a job finished at `at_ms`.
    virtual void finish_job(const std::string& id, std::int64_t at_ms) = 0;
    // Deletes the jobs that finished before `before_ms`, with their recipients, and gives the space
    // back. Returns how many jobs it deleted.
    virtual std::size_t delete_finished_before(std::int64_t before_ms) = 0;

    // Recipients with index >= `from_index`, in index order, at most `limit`; only those in
    // `state` when given, and only those whose last attempt went to `provider` when it is not empty.
    virtual std::vector<recipient> recipients(const std::string& job_id, std::int64_t from_index, std::size_t limit,
                                              std::optional<recipient_state> state = std::nullopt,
                                              const std::string& provider = {}) const = 0;

    // The suppression list. Adds each entry, or replaces the one for the same address and channel
    // (its reason and date); returns how many were not there before.
    virtual std::size_t add_suppressions(const std::vector<suppression>& entries) = 0;
    // Removes the entry for `address` on `channel` ("*" for the one of every channel); false when
    // there was none.
    virtual bool remove_suppression(const std::string& address, const std::string& channel) = 0;
    // The entries in address and channel order, at most `limit` after skipping `offset`.
    virtual std::vector<suppression> suppressions(std::size_t offset, std::size_t limit) const = 0;
    // The entries that name any of `addresses`.
    virtual suppression_index find_suppressions(const std::vector<std::string>& addresses) const = 0;

    // Why a job's recipients did not get through: its recipients that ended failed, unknown,
    // cancelled or skipped, grouped by state, code and reason, the largest groups first, at most `limit`.
    virtual std::vector<failure_group> failure_groups(const std::string& job_id, std::size_t limit) const = 0;

    // Recipients in `state` whose next_attempt_at_ms has come at `now_ms`, earliest due first (by
    // index among equals), at most `limit`: queued ones due for a call, or those awaiting a receipt
    // whose wait is over.
    virtual std::vector<recipient> due_recipients(const std::string& job_id, std::int64_t now_ms, std::size_t limit,
                                                  recipient_state state = recipient_state::queued) const = 0;

    // The earliest next_attempt_at_ms among recipients queued or awaiting a receipt, if any are.
    virtual std::optional<std::int64_t> next_due_at(const std::string& job_id) const = 0;

    // For each of `addresses` that the job holds already, the index of its first recipient not
    // skipped (to find duplicates across pages): one look for a whole page.
    virtual std::map<std::string, std::int64_t> first_indexes(const std::string& job_id,
                                                              const std::vector<std::string>& addresses) const = 0;

    // Every recipient, of any job, that `provider` accepted under `message_id` and, when `to` is
    // not empty, addressed to `to` (with or without a leading '+'): whom a receipt is about.
    virtual std::vector<std::pair<std::string, recipient>> find_by_message_id(const std::string& provider,
                                                                             const std::string& message_id,
                                                                             const std::string& to) const = 0;

    // Keeps receipts that named no recipient yet: a vendor may report on a message before its call's
    // outcome is written. Kept until taken; those kept since before `forget_before_ms` are dropped,
    // and no more than `most_kept` are kept over all providers. Returns how many of these it kept.
    virtual std::size_t keep_early_receipts(const std::string& provider, const std::vector<delivery_receipt>& receipts,
                                            std::int64_t forget_before_ms, std::size_t most_kept) = 0;
    // Takes (removes and returns) the kept receipts of `provider` under any of `message_ids`.
    virtual std::vector<delivery_receipt> take_early_receipts(const std::string& provider,
                                                              const std::vector<std::string>& message_ids) = 0;

    // Distinct message ids under which `provider` holds recipients awaiting a receipt, in order,
    // those after `after` (empty: from the first), at most `limit`: a poll walks them all in pages.
    virtual std::vector<std::string> awaiting_message_ids(const std::string& provider, const std::string& after,
                                                          std::size_t limit) const = 0;

    virtual std::map<recipient_state, std::int64_t> count_by_state(const std::string& job_id) const = 0;

    // Over every stored job: jobs by state, and recipients by state (for metrics).
    virtual std::map<job_state, std::int64_t> jobs_by_state() const = 0;
    virtual std::map<recipient_state, std::int64_t> recipients_by_state() const = 0;

    // Cancels a job, at once: nothing more is sent for it. Recipients waiting for a call become
    // cancelled, those waiting for a receipt accepted; from then on every update to the job is
    // held to that (stop_at_cancel) and claims take nobody. Returns how many were cancelled.
    virtual std::size_t cancel_job(const std::string& job_id) = 0;

    // Moves every recipient of the job in state `from` to `to` with `code` and `reason` (a cancel or
    // a deadline settles those queued; those inside a call finish as the vendor answers). Returns how many.
    virtual std::size_t settle_all(const std::string& job_id, recipient_state from, recipient_state to,
                                   const std::string& code, const std::string& reason) = 0;

    // Puts the recipients at `indexes` into a call to `provider`: each one still queued (a cancel or
    // a deadline may have settled it meanwhile) becomes sending, with one attempt more. Returns the
    // indexes it took, in the order given: the recipients the call may carry. A cancelled job's
    // recipients are never taken.
    virtual std::vector<std::int64_t> claim(const std::string& job_id, const std::vector<std::int64_t>& indexes,
                                            const std::string& provider) = 0;

    // As claim(), for recipients as they were read (by due_recipients): each is taken only if it is
    // still at the step and attempt it was read at. On a store of one daemon a queued recipient
    // changes only through its own job's loop, so this is claim(); on a shared store another daemon
    // may have sent it meanwhile, and its receipt moved it on.
    virtual std::vector<std::int64_t> claim_as_read(const std::string& job_id, const std::vector<recipient>& candidates,
                                                    const std::string& provider) {
        std::vector<std::int64_t> indexes;
        indexes.reserve(candidates.size());
        for (const recipient& r : candidates)
            indexes.push_back(r.index);
        return claim(job_id, indexes, provider);
    }

    // Applies the updates of one vendor call together.
    virtual void apply(const std::string& job_id, const std::vector<recipient_update>& updates) = 0;

    // Applies each update only to a recipient still in state `expected` (a receipt racing the end of
    // its wait, say); returns the indexes it changed.
    virtual std::vector<std::int64_t> apply_if(const std::string& job_id, recipient_state expected,
                                               const std::vector<recipient_update>& updates) = 0;

    // The daemons that share this store, or nullptr when it belongs to one daemon.
    virtual cluster* shared() noexcept { return nullptr; }

    // Whose recipients in a call orphaned_in_flight gives.
    enum class caller { this_daemon, stopped_daemons };
    // Recipients of the job inside a vendor call that no running daemon will finish: this daemon's
    // own (asked when it has no call out for the job, or stops), or those of daemons whose lease
    // ended. A store of one daemon has only its own: every recipient in a call, either way.
    virtual std::vector<recipient> orphaned_in_flight(const std::string& job_id, caller whose) const {
        (void)whose;
        return recipients(job_id, 0, std::numeric_limits<std::size_t>::max(), recipient_state::sending);
    }
};

// A store that keeps everything in this process's memory (lost on exit).
std::unique_ptr<job_store> make_memory_job_store();

} // namespace switchboard::core
