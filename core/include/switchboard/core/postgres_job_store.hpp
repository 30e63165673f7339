// The shared durable store: PostgreSQL through libpq, for one daemon or many on one database. Durable at commit (synchronous_commit as the
// server sets it), so a job the API answered 202 for survives a crash of the daemon, and of the
// database server when it keeps its WAL safe. The schema is made and brought up to date by
// numbered migrations under an advisory lock, so daemons starting together never race.
#pragma once

#include <switchboard/core/job_store.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace switchboard::core {

// The schema version this build reads and writes.
inline constexpr int postgres_schema_version = 2;

struct postgres_store_settings {
    std::string conninfo;          // for libpq: a postgresql:// URL or key=value pairs, secrets resolved
    std::string where;             // the server as messages name it: the URL without its password
    std::size_t connections = 4;   // opened at start; store calls from more threads wait for one
    // A daemon silent for this long is taken for dead: its calls in flight become unknown and the
    // others take its work over. Renewed four times a lease.
    std::chrono::milliseconds lease{10'000};
};

// Connects, makes or migrates the schema, and joins the daemons on this database with a lease of
// its own (job_store::shared()). Throws store_error when the server cannot be reached, refuses the
// login, or holds a schema newer than this build's.
std::unique_ptr<job_store> open_postgres_job_store(const postgres_store_settings& settings);

} // namespace switchboard::core
