// The contract every job store keeps, written against the interface: the memory, SQLite and
// PostgreSQL stores each run the same cases (check_store_contract), with the same helpers.
#pragma once

#include <switchboard/core/job_store.hpp>

#include <string>
#include <vector>

namespace switchboard::core::testing {

// Recipients 0..n-1 with distinct Hong Kong numbers, queued.
std::vector<recipient> numbered(int n);
// A queued job with `recipients` recipients on route "otp", under an idempotency key when given.
job a_job(const std::string& id, int recipients, const std::string& key = {});
recipient_update to_state(std::int64_t index, recipient_state state, std::int64_t next_attempt_at_ms = 0);

// Every case of the contract, as Catch2 sections, on an empty store (Catch2 runs the calling
// test case once per section: make the store afresh in it).
void check_store_contract(job_store& store);

} // namespace switchboard::core::testing
