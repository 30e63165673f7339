// What clients may make the daemon hold: each bound reached is answered with what it is.
#pragma once

#include <cstddef>
#include <cstdint>

namespace switchboard::host {

struct job_limits {
    std::size_t max_unfinished_jobs = 10'000;          // jobs not finished (each holds an idempotency key)
    std::size_t max_open_jobs = 1'000;                 // jobs still taking pages
    std::int64_t max_recipients_per_job = 50'000'000;
};

} // namespace switchboard::host
