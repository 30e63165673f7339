// The recipients of an SQLite store that are inside a vendor call now. Taking a thousand
// recipients into a call writes one row for the call (their indexes, as runs), not a thousand
// recipient rows: their rows keep the state they had, queued, and the store reads them as
// "sending" for as long as their call lasts. The call's outcome, written to each row anyway,
// ends it. A crash leaves the row, and the next start finds its recipients in a call still.
//
// The calls are also kept in memory, where every read of the store looks them up: an SQLite store
// belongs to one daemon (its file is locked), so nothing else changes them. Internal to core.
#pragma once

#include "sqlite_connection.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::core::sqlite {

// Runs of neighbouring indexes, [first, last] each, in order.
using index_runs = std::vector<std::pair<std::int64_t, std::int64_t>>;

// Sorted, distinct indexes as runs of neighbours.
index_runs runs_of(const std::vector<std::int64_t>& sorted);

// Whether `index` is in one of `runs`.
bool among(const index_runs& runs, std::int64_t index);

// One job's recipients in a call, as they were at one moment: a read uses one of these
// throughout, for its query and for what it makes of the rows, so the two agree.
struct job_calls {
    index_runs all;                                  // every one in a call
    std::map<std::string, index_runs> by_provider;   // by the provider of their call

    // The provider of the call `index` is in, if it is in one.
    const std::string* provider_of(std::int64_t index) const;
};

class calls_in_flight {
public:
    // Reads the calls the file holds (at open, and after jobs were deleted).
    void load(const connection& db);

    // The job's recipients in a call now.
    job_calls of_job(const std::string& job_id) const;

    // Writes the row of a call of `provider` taking `sorted` indexes of the job (none in a call),
    // inside the caller's transaction; take() it once that is committed.
    std::int64_t write_call(connection& db, const std::string& job_id, const std::string& provider,
                            const std::vector<std::int64_t>& sorted) const;
    void take(std::int64_t call, const std::string& job_id, const std::string& provider,
              const std::vector<std::int64_t>& sorted);

    // Of `indexes`, those in a call; their calls' rows are rewritten to hold the rest, or deleted
    // when none is left, inside the caller's transaction. release() them once that is committed.
    std::vector<std::int64_t> write_release(connection& db, const std::string& job_id,
                                            const std::vector<std::int64_t>& indexes) const;
    void release(const std::string& job_id, const std::vector<std::int64_t>& indexes);

private:
    struct call {
        std::string job_id;
        std::string provider;
    };
    // Reading and writing both: readers ask from the reader connection's threads.
    mutable std::mutex mutex_;
    std::map<std::int64_t, call> calls_;                                       // by the call's row id
    std::map<std::string, std::map<std::int64_t, std::int64_t>> by_job_;       // job -> index -> call
};

} // namespace switchboard::core::sqlite
