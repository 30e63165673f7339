// Daemons that share one store, and what they agree on through it: who is alive (each holds a
// lease it renews), whose calls in flight nobody will finish (those of a daemon whose lease
// ended), how fast each provider instance is called over all of them, and which one of them runs
// the work that must run once at a time (a provider's receipt polls, retention). A store that
// belongs to one daemon (memory, SQLite) has no cluster: job_store::shared() is null.
#pragma once

#include <switchboard/core/job_store.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace switchboard::core {

// This daemon's lease has ended (it was paused, or cut off from the database, for longer than the
// lease): another daemon has taken over its calls in flight, and the store refuses its writes.
class lease_lost : public store_error {
public:
    using store_error::store_error;
};

class cluster {
public:
    virtual ~cluster() = default;

    // This daemon's lease: stamped on each recipient it puts in a call, checked with each of its writes.
    virtual const std::string& daemon_id() const noexcept = 0;
    // Renews this daemon's lease, and ends those of daemons silent past theirs. Throws lease_lost
    // when this daemon's own lease has ended, store_error when the database cannot be reached.
    virtual void renew() = 0;
    // Whether this daemon's lease still runs by its own clock (no database asked): a call is sent
    // only while it does, so a daemon that wakes from a pause past its lease sends nothing.
    virtual bool lease_current() const noexcept = 0;
    // How long a lease lasts without a renewal.
    virtual std::chrono::milliseconds lease() const noexcept = 0;
    // Daemons holding a lease, as of the last renewal (this one included).
    virtual std::size_t daemons() const noexcept = 0;
    // Jobs with recipients in a call of a daemon whose lease has ended.
    virtual std::vector<std::string> jobs_with_orphans() const = 0;

    // Reserves the next turn for a call of `recipients` to `provider`, calls spaced evenly over all
    // daemons at the rates given (0: no limit); returns how long to wait before sending it.
    virtual std::chrono::milliseconds reserve_turn(const std::string& provider, double requests_per_second,
                                                   double recipients_per_second, std::size_t recipients) = 0;
    // No daemon calls `provider` before `wait` from now (the vendor said it throttles).
    virtual void hold(const std::string& provider, std::chrono::milliseconds wait) = 0;

    // Whether this daemon runs `task` now: true for one daemon at a time, for `term` from now;
    // asking again within the term renews it.
    virtual bool lead(const std::string& task, std::chrono::milliseconds term) = 0;
};

} // namespace switchboard::core
